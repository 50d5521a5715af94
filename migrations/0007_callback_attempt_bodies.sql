-- Callbacks delivered each on its own (issue 9): the per-group strict order option, the
-- exact body and Sign of every attempt (CallbackTs is stamped per attempt). The due queue
-- is read through callback_events_next (0002), in its order.

-- '' delivers each event on its own (TRTC's way); 'strict' delivers the events of one room
-- (groups 1 and 2) or one recording task (group 3) one at a time, in order.
ALTER TABLE app_callbacks ADD COLUMN callback_order TEXT NOT NULL DEFAULT '';

ALTER TABLE callback_attempts ADD COLUMN body BLOB;
ALTER TABLE callback_attempts ADD COLUMN sign TEXT NOT NULL DEFAULT '';

-- lane '' = delivered on its own. Events pending at the upgrade were written under the old
-- one-at-a-time rule; they now go on their own like every new event.
UPDATE callback_events SET lane = '' WHERE state = 'pending';
