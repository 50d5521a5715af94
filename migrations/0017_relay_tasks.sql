-- Relay to CDN tasks (issue 13): StartPublishCdnStream relays a room's streams to RTMP
-- URLs; each task is run by a durable job (jobs, kind 'relay'), its robot a room member.
CREATE TABLE relay_tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id         TEXT    NOT NULL UNIQUE,
    sdk_app_id      INTEGER NOT NULL,
    room_id         TEXT    NOT NULL,
    room_id_type    INTEGER NOT NULL,          -- the store's kinds (1 int, 0 string)
    user_id         TEXT    NOT NULL,          -- the relay robot (AgentParams.UserId)
    spec            BLOB    NOT NULL,          -- RelaySpec, JSON: the parameters now
    spec_version    INTEGER NOT NULL DEFAULT 1,
    sequence_number INTEGER NOT NULL DEFAULT 0,-- the last UpdatePublishCdnStream's
    state           TEXT    NOT NULL,          -- running, stopping, ended
    member_ref      INTEGER,                   -- the robot's membership
    job_ref         INTEGER,
    idle_since_ms   INTEGER,                   -- no anchor in the room since
    takeovers       INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL,
    ended_at_ms     INTEGER,
    end_reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX relay_tasks_live ON relay_tasks (sdk_app_id, room_id_type, room_id) WHERE state != 'ended';

-- One row per destination URL of a task; Update removes (removed = 1, then DISCONNECTING
-- and IDLE) and adds rows, leaving the others alone.
CREATE TABLE relay_urls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_ref        INTEGER NOT NULL REFERENCES relay_tasks (id),
    url             TEXT    NOT NULL,
    is_tencent_cdn  INTEGER NOT NULL DEFAULT 1,
    status          INTEGER NOT NULL DEFAULT 0,-- the 401 state: 0 IDLE … 5 DISCONNECTING
    spell_since_ms  INTEGER NOT NULL DEFAULT 0,-- when CONNECTING or RECOVERING began
    reported_at_ms  INTEGER NOT NULL DEFAULT 0,-- the last 401 written
    error_code      INTEGER NOT NULL DEFAULT 0,
    error_msg       TEXT    NOT NULL DEFAULT '',
    removed         INTEGER NOT NULL DEFAULT 0,
    done            INTEGER NOT NULL DEFAULT 0,-- IDLE after the end: nothing more to do
    added_at_ms     INTEGER NOT NULL
);
CREATE INDEX relay_urls_task ON relay_urls (task_ref, id);
