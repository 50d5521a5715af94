-- The delivery log's retention sweep (issue 10) reads only the events it deletes: those
-- finished before the cutoff.
CREATE INDEX callback_events_finished ON callback_events (finished_at_ms) WHERE state <> 'pending';
