-- CAM identities and policies (seed: "Access Management"; api-protocol §6). A sub-user is an
-- account of its own (its API keys reference it) owned by a root account.

ALTER TABLE accounts ADD COLUMN owner_uin TEXT REFERENCES accounts (uin); -- NULL: a root account
ALTER TABLE api_keys ADD COLUMN description TEXT NOT NULL DEFAULT '';

CREATE TABLE sub_users (
    uin           TEXT    PRIMARY KEY REFERENCES accounts (uin),
    owner_uin     TEXT    NOT NULL REFERENCES accounts (uin),
    name          TEXT    NOT NULL,
    remark        TEXT    NOT NULL DEFAULT '',
    console_login INTEGER NOT NULL DEFAULT 0,
    phone_num     TEXT    NOT NULL DEFAULT '',
    country_code  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    UNIQUE (owner_uin, name)
);

-- Policies: presets (type 2, owner_uin '') visible to every account, custom ones (type 1)
-- per root account. document is the JSON text as given.
CREATE TABLE policies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_uin     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    document      TEXT    NOT NULL,
    type          INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (owner_uin, name)
);

CREATE TABLE policy_attachments (
    policy_id      INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    uin            TEXT    NOT NULL REFERENCES accounts (uin),
    attached_at_ms INTEGER NOT NULL,
    PRIMARY KEY (policy_id, uin)
);

CREATE INDEX policy_attachments_by_uin ON policy_attachments (uin);
