package models

import (
	"context"
	"database/sql"
	"errors"
)

// DescribeRecording's statements, prepared once on the read pool and scanned without
// gorm's reflection (the action is polled by every recording client).
const (
	// Only what DescribeCloudRecording needs: each value read costs a driver call.
	taskStatusSQL = `SELECT id, task_id, state, expires_at_ms, robot_member_ref, spec FROM recording_tasks
		WHERE task_id = ? AND sdk_app_id = ?`
	robotRoomPresenceSQL = `SELECT user_id, role, robot, pub_video, pub_audio, pub_substream, blocked FROM members
		WHERE room_ref = (SELECT room_ref FROM members WHERE id = ?) AND left_at_ms IS NULL ORDER BY joined_at_ms, id`
	taskPlaylistsSQL = `SELECT id, task_ref, generation, user_id, media_id, track_type, playlist, begin_at_ms, width, height
		FROM recording_streams WHERE task_ref = ? AND length(segments) > 2 AND playlist LIKE '%.m3u8'
		ORDER BY begin_at_ms, id`
)

// taskStatus reads the task taskId of sdkAppId with the fields DescribeCloudRecording
// needs (ID, TaskId, State, ExpiresAtMs, RobotMemberRef, Spec); nil if there is none.
func (s *Store) taskStatus(ctx context.Context, sdkAppId uint64, taskId string) (*RecordingTask, error) {
	st, err := s.readStmt(ctx, taskStatusSQL)
	if err != nil {
		return nil, err
	}
	var t RecordingTask
	err = st.QueryRowContext(statementContext(ctx), taskId, sdkAppId).Scan(&t.ID, &t.TaskId, &t.State, &t.ExpiresAtMs,
		&t.RobotMemberRef, &t.Spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// robotRoomPresence are the members present in the room of the member robotRef, in entry
// order, with the fields that decide what a task records (UserId, Role, Robot, what they
// publish, Blocked).
func (s *Store) robotRoomPresence(ctx context.Context, robotRef int64) ([]Member, error) {
	st, err := s.readStmt(ctx, robotRoomPresenceSQL)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(statementContext(ctx), robotRef)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var members []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.UserId, &m.Role, &m.Robot, &m.PubVideo, &m.PubAudio, &m.PubSubstream, &m.Blocked); err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	return members, rows.Err()
}

// taskPlaylists are the task's streams with segments written to a playlist, without the
// segments.
func (s *Store) taskPlaylists(ctx context.Context, taskRef int64) ([]RecordingStream, error) {
	st, err := s.readStmt(ctx, taskPlaylistsSQL)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(statementContext(ctx), taskRef)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var streams []RecordingStream
	for rows.Next() {
		var r RecordingStream
		if err := rows.Scan(&r.ID, &r.TaskRef, &r.Generation, &r.UserId, &r.MediaId, &r.TrackType, &r.Playlist,
			&r.BeginAtMs, &r.Width, &r.Height); err != nil {
			return nil, err
		}
		streams = append(streams, r)
	}
	return streams, rows.Err()
}
