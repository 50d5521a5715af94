-- Recording tasks run as durable jobs (issue 10): the lease moves from recording_tasks to
-- the task's job. A task still unfinished gets its job here, holding the lease the task
-- held, so that a task whose recorder died before the upgrade is taken over (306, ha<n>_)
-- exactly as it would have been.
ALTER TABLE recording_tasks ADD COLUMN job_ref INTEGER REFERENCES jobs (id);

INSERT INTO jobs (kind, args, state, attempts, max_attempts, scheduled_at_ms, lease_owner, lease_until_ms, created_at_ms)
SELECT 'recording', json_object('TaskRef', id),
       CASE WHEN lease_owner <> '' THEN 'running' ELSE 'available' END,
       CASE WHEN lease_owner <> '' THEN 1 ELSE 0 END, 20, created_at_ms, lease_owner, lease_until_ms, created_at_ms
FROM recording_tasks WHERE state <> 'ended' ORDER BY id;

UPDATE recording_tasks SET job_ref = (
    SELECT j.id FROM jobs j WHERE j.kind = 'recording' AND json_extract(j.args, '$.TaskRef') = recording_tasks.id)
WHERE state <> 'ended';

DROP INDEX recording_tasks_active;
ALTER TABLE recording_tasks DROP COLUMN lease_owner;
ALTER TABLE recording_tasks DROP COLUMN lease_until_ms;
-- Unfinished tasks by state and expiry: the recorder's reads and the expired-task sweep.
CREATE INDEX recording_tasks_active ON recording_tasks (state, expires_at_ms) WHERE state <> 'ended';
