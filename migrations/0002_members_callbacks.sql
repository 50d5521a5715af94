-- Room members, custom messages and the callback outbox.

-- One presence of a user in a room lifetime: from entry to exit.
CREATE TABLE members (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    room_ref      INTEGER NOT NULL REFERENCES rooms (id),
    user_id       TEXT    NOT NULL,
    role          INTEGER NOT NULL,            -- 20 anchor, 21 audience
    terminal_type INTEGER NOT NULL,
    user_type     INTEGER NOT NULL,
    robot         INTEGER NOT NULL DEFAULT 0,  -- recorders, relays, ingest robots
    pub_video     INTEGER NOT NULL DEFAULT 0,
    pub_audio     INTEGER NOT NULL DEFAULT 0,
    pub_substream INTEGER NOT NULL DEFAULT 0,
    video_width   INTEGER NOT NULL DEFAULT 0,
    video_height  INTEGER NOT NULL DEFAULT 0,
    video_fps     INTEGER NOT NULL DEFAULT 0,
    blocked       INTEGER NOT NULL DEFAULT 0,  -- SetUserBlocked IsMute: 1 all, 2 audio, 3 video
    joined_at_ms  INTEGER NOT NULL,
    left_at_ms    INTEGER,
    leave_reason  INTEGER
);

CREATE UNIQUE INDEX members_present ON members (room_ref, user_id) WHERE left_at_ms IS NULL;
CREATE INDEX members_by_room ON members (room_ref, joined_at_ms);

-- Custom messages an anchor broadcast to its room (seed: "Sending and Receiving Messages").
CREATE TABLE room_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_ref    INTEGER NOT NULL REFERENCES rooms (id),
    sender      TEXT    NOT NULL,
    cmd_id      INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    reliable    INTEGER NOT NULL,
    ordered     INTEGER NOT NULL,
    sent_at_ms  INTEGER NOT NULL
);

CREATE INDEX room_messages_by_room ON room_messages (room_ref, id);

-- The callback outbox: written in the transaction of the state change that caused it,
-- delivered by the webhooks dispatcher. body is the exact bytes sent; lane orders the
-- events of one room.
CREATE TABLE callback_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    sdk_app_id          INTEGER NOT NULL,
    event_group_id      INTEGER NOT NULL,
    event_type          INTEGER NOT NULL,
    lane                TEXT    NOT NULL,
    room_id             TEXT    NOT NULL DEFAULT '',
    task_id             TEXT    NOT NULL DEFAULT '',
    url                 TEXT    NOT NULL,
    key                 TEXT    NOT NULL DEFAULT '',
    body                BLOB    NOT NULL,
    event_ms_ts         INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts            INTEGER NOT NULL DEFAULT 0,
    first_attempt_at_ms INTEGER,
    next_attempt_at_ms  INTEGER NOT NULL,
    finished_at_ms      INTEGER
);

CREATE INDEX callback_events_pending ON callback_events (lane, event_ms_ts, id) WHERE state = 'pending';
CREATE INDEX callback_events_next ON callback_events (next_attempt_at_ms) WHERE state = 'pending';
CREATE INDEX callback_events_by_app ON callback_events (sdk_app_id, id);

CREATE TABLE callback_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    INTEGER NOT NULL REFERENCES callback_events (id),
    at_ms       INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX callback_attempts_by_event ON callback_attempts (event_id, id);
