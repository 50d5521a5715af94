-- What a presence did while in its room, for the call history actions (DescribeUserEvent,
-- DescribeCallDetailInfo): each change of what it publishes, numbered as the media callbacks
-- (201..206, seed "Event Callbacks"), and each SetUserBlocked change (event_type 0, is_mute
-- holds the IsMute set). Entry and exit are in members (joined_at_ms, left_at_ms).
CREATE TABLE member_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    member_ref INTEGER NOT NULL REFERENCES members (id),
    event_type INTEGER NOT NULL,
    is_mute    INTEGER NOT NULL DEFAULT 0,
    at_ms      INTEGER NOT NULL
);

CREATE INDEX member_events_by_member ON member_events (member_ref, at_ms, id);
