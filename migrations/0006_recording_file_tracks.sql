-- The tracks an MP4 file holds (310's TrackType): a user's tracks can change between files.
ALTER TABLE recording_files ADD COLUMN track_type TEXT NOT NULL DEFAULT '';
