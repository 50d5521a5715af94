-- DescribeRoomInfo reads a page from the index alone (issue 9): rooms_by_end also holds
-- the columns the answer shows, so no row is looked up in the table, and id after the
-- creation time, so the open rooms come out in the page's order (created_at_ms, id).
DROP INDEX rooms_by_end;
CREATE INDEX rooms_by_end ON rooms (sdk_app_id, destroyed_at_ms, created_at_ms, id, room_id, creator_user_id);
