-- Durable jobs (issue 10): every long-running task kind (recording, and next ingest, relay,
-- mixed recording, VOD conversion) is a row here, run by one runner at a time under a lease
-- on the injected clock and taken over by another (or after a restart) once the lease runs
-- out.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    args            BLOB    NOT NULL,           -- the kind's arguments, JSON
    state           TEXT    NOT NULL,           -- available, running, done, failed, cancelled
    attempts        INTEGER NOT NULL DEFAULT 0, -- runs started
    max_attempts    INTEGER NOT NULL,
    takeovers       INTEGER NOT NULL DEFAULT 0, -- runs taken from a runner whose lease ran out
    scheduled_at_ms INTEGER NOT NULL,           -- not run before then
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until_ms  INTEGER NOT NULL DEFAULT 0,
    cancel          INTEGER NOT NULL DEFAULT 0, -- cancellation asked; the run stops at its next renewal
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at_ms   INTEGER NOT NULL,
    finished_at_ms  INTEGER
);
CREATE INDEX jobs_due ON jobs (kind, scheduled_at_ms) WHERE state = 'available';
CREATE INDEX jobs_leased ON jobs (lease_until_ms) WHERE state = 'running';
