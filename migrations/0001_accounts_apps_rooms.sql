-- Accounts, their API keys, TRTC applications and the rooms seen in them.

CREATE TABLE accounts (
    uin        TEXT PRIMARY KEY,
    created_at DATETIME NOT NULL
);

CREATE TABLE api_keys (
    secret_id  TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    uin        TEXT NOT NULL REFERENCES accounts (uin),
    status     TEXT NOT NULL DEFAULT 'Active',
    created_at DATETIME NOT NULL
);

CREATE TABLE apps (
    sdk_app_id                  INTEGER PRIMARY KEY,
    uin                         TEXT    NOT NULL REFERENCES accounts (uin),
    name                        TEXT    NOT NULL,
    sdk_secret_key              TEXT    NOT NULL,
    advanced_permission_control INTEGER NOT NULL DEFAULT 0,
    created_at                  DATETIME NOT NULL,
    updated_at                  DATETIME NOT NULL
);

-- One callback target per application and event group (1 room, 2 media, 3 recording,
-- 4 relay to CDN, 7 stream ingest).
CREATE TABLE app_callbacks (
    sdk_app_id     INTEGER NOT NULL REFERENCES apps (sdk_app_id) ON DELETE CASCADE,
    event_group_id INTEGER NOT NULL,
    url            TEXT    NOT NULL,
    key            TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (sdk_app_id, event_group_id)
);

-- A room lives from its first entry to its last exit or dismissal. Integer and string
-- room ids are separate namespaces (room_id_type 1 integer, 0 string).
CREATE TABLE rooms (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sdk_app_id      INTEGER NOT NULL REFERENCES apps (sdk_app_id),
    room_id         TEXT    NOT NULL,
    room_id_type    INTEGER NOT NULL,
    creator_user_id TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    destroyed_at_ms INTEGER
);

CREATE UNIQUE INDEX rooms_open ON rooms (sdk_app_id, room_id_type, room_id) WHERE destroyed_at_ms IS NULL;
CREATE INDEX rooms_by_time ON rooms (sdk_app_id, created_at_ms);
