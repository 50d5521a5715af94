-- A task the recorder gave up on (a recovered panic, storage refusing its uploads for
-- good): why. Its files that were not uploaded stay in the spool (state 'kept').
ALTER TABLE recording_tasks ADD COLUMN failure TEXT NOT NULL DEFAULT '';
-- Since when the storage refuses a file for good (AccessDenied, NoSuchBucket, …): the
-- uploader gives up once that lasted the configured time.
ALTER TABLE recording_files ADD COLUMN refused_since_ms INTEGER;
