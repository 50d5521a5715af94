-- Cloud recording tasks (seed: "On-Cloud Recording"), their recorded streams and the files
-- they produce. A task is run by one recorder at a time: lease_owner holds it until
-- lease_until_ms, after which any recorder (a restarted emulator) may take it over.

CREATE TABLE recording_tasks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id            TEXT    NOT NULL UNIQUE,
    sdk_app_id         INTEGER NOT NULL,
    room_id            TEXT    NOT NULL,
    room_id_type       INTEGER NOT NULL,           -- models.RoomIdString / RoomIdInt
    robot_user_id      TEXT    NOT NULL,
    robot_member_ref   INTEGER REFERENCES members (id),
    spec               BLOB    NOT NULL,           -- models.RecordingSpec as JSON; Modify replaces it
    spec_version       INTEGER NOT NULL DEFAULT 1,
    state              TEXT    NOT NULL,           -- recording, exiting, ended
    leave_code         INTEGER,                    -- 302 LeaveCode once the task stopped
    created_at_ms      INTEGER NOT NULL,
    expires_at_ms      INTEGER NOT NULL,           -- ResourceExpiredHour: the TaskId answers until then
    stopped_at_ms      INTEGER,
    ended_at_ms        INTEGER,
    idle_since_ms      INTEGER,                    -- no anchor in the room since then (MaxIdleTime)
    upload_started     INTEGER NOT NULL DEFAULT 0, -- 303 sent
    file_info_sent     INTEGER NOT NULL DEFAULT 0, -- 304 sent
    upload_failing     INTEGER NOT NULL DEFAULT 0, -- a 308 was sent and no upload succeeded since
    writer_done        INTEGER NOT NULL DEFAULT 0, -- every playlist ended, MP4s written
    upload_stop_status INTEGER,                    -- last 305 Status sent
    failovers          INTEGER NOT NULL DEFAULT 0, -- takeovers after a recorder died (306; files named ha<n>_)
    lease_owner        TEXT    NOT NULL DEFAULT '',
    lease_until_ms     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX recording_tasks_active ON recording_tasks (state, lease_until_ms) WHERE state <> 'ended';
CREATE INDEX recording_tasks_by_app ON recording_tasks (sdk_app_id, state);

-- One recorded stream of a task: a user's main or aux stream, audio, video or both (AvMerge),
-- with the segments already written (JSON of media/hls segments) so a later run appends to
-- the same playlist. generation counts failovers: a recorder that takes over a task after a
-- crash writes new playlists (ha<n>_ names, seed "Naming of recovered files").
CREATE TABLE recording_streams (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_ref      INTEGER NOT NULL REFERENCES recording_tasks (id),
    generation    INTEGER NOT NULL DEFAULT 0,
    user_id       TEXT    NOT NULL,
    media_id      TEXT    NOT NULL,               -- main, aux
    track_type    TEXT    NOT NULL,               -- audio, video, audio_video
    playlist      TEXT    NOT NULL,               -- object key of the M3U8
    begin_at_ms   INTEGER NOT NULL,               -- first unit of the first run
    width         INTEGER NOT NULL DEFAULT 0,     -- video size the playlist announces
    height        INTEGER NOT NULL DEFAULT 0,
    segments      BLOB    NOT NULL DEFAULT '[]',
    UNIQUE (task_ref, generation, user_id, media_id, track_type)
);

-- A file of a task: spooled in the data dir until uploaded. A playlist is rewritten after
-- every segment: version counts the rewrites so an upload of an older copy does not mark
-- a newer one uploaded.
CREATE TABLE recording_files (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    task_ref           INTEGER NOT NULL REFERENCES recording_tasks (id),
    stream_ref         INTEGER REFERENCES recording_streams (id),
    object_key         TEXT    NOT NULL,
    kind               TEXT    NOT NULL,          -- m3u8, ts, mp4, aac
    spool              TEXT    NOT NULL,          -- path under the task's spool directory
    bytes              INTEGER NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    state              TEXT    NOT NULL,          -- spooled, uploaded
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    next_attempt_at_ms INTEGER NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    uploaded_at_ms     INTEGER,
    start_ms           INTEGER,                   -- MP4: StartTimeStamp / EndTimeStamp of 310
    end_ms             INTEGER,
    UNIQUE (task_ref, object_key)
);

CREATE INDEX recording_files_spooled ON recording_files (task_ref, next_attempt_at_ms) WHERE state = 'spooled';
