-- Online media stream ingest tasks (issue 11): StartStreamIngest pulls a URL into a room as
-- a virtual anchor; each task is run by a durable job (jobs, kind 'ingest').
CREATE TABLE ingest_tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id         TEXT    NOT NULL UNIQUE,
    sdk_app_id      INTEGER NOT NULL,
    room_id         TEXT    NOT NULL,
    room_id_type    INTEGER NOT NULL,
    user_id         TEXT    NOT NULL,          -- the virtual anchor's user id
    spec            BLOB    NOT NULL,          -- IngestSpec, JSON: the parameters as started
    stream_url      TEXT    NOT NULL,          -- the source now (UpdateStreamIngest changes it)
    url_version     INTEGER NOT NULL DEFAULT 1,
    volume          INTEGER NOT NULL,
    paused          INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,          -- starting, running, ended
    member_ref      INTEGER,                   -- the anchor's membership once it entered
    loops_done      INTEGER NOT NULL DEFAULT 0,-- plays of the source finished
    position_ms     INTEGER NOT NULL DEFAULT 0,-- how far into the current play (saved every few seconds)
    job_ref         INTEGER,
    created_at_ms   INTEGER NOT NULL,
    started_at_ms   INTEGER,
    ended_at_ms     INTEGER,
    end_reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ingest_tasks_live ON ingest_tasks (sdk_app_id, room_id_type, room_id, user_id) WHERE state != 'ended';
CREATE INDEX ingest_tasks_member ON ingest_tasks (member_ref) WHERE state != 'ended';
