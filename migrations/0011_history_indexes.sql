-- Window queries bounded by the window, not by history (issue 9): a room (a member) that
-- overlaps a window is either still open (present) or ended at or after the window's start,
-- so each query reads the open ones and those ended since the start, by these indexes,
-- never the rows that ended before it. They also serve the retention sweep.
CREATE INDEX rooms_by_end ON rooms (sdk_app_id, destroyed_at_ms, created_at_ms);
CREATE INDEX members_by_end ON members (room_ref, left_at_ms, joined_at_ms);
-- Deleting a member checks the tasks whose robot it was (a foreign key).
CREATE INDEX recording_tasks_by_robot ON recording_tasks (robot_member_ref);
