package models

import (
	"context"
	"database/sql"
	"errors"
)

// DescribeRecording's statements, prepared once on the read pool and scanned without
// gorm's reflection (the action is polled by every recording client).
const (
	taskColumns = `id, task_id, sdk_app_id, room_id, room_id_type, robot_user_id, robot_member_ref, spec, spec_version,
		state, leave_code, created_at_ms, expires_at_ms, stopped_at_ms, ended_at_ms, idle_since_ms, upload_started,
		file_info_sent, upload_failing, writer_done, upload_stop_status, failovers, lease_owner, lease_until_ms, failure`
	taskOfAppSQL  = `SELECT ` + taskColumns + ` FROM recording_tasks WHERE task_id = ? AND sdk_app_id = ?`
	memberColumns = `id, room_ref, user_id, role, terminal_type, user_type, robot, pub_video, pub_audio, pub_substream,
		video_width, video_height, video_fps, blocked, joined_at_ms, left_at_ms, leave_reason`
	robotRoomMembersSQL = `SELECT ` + memberColumns + ` FROM members
		WHERE room_ref = (SELECT room_ref FROM members WHERE id = ?) AND left_at_ms IS NULL ORDER BY joined_at_ms, id`
	taskPlaylistsSQL = `SELECT id, task_ref, generation, user_id, media_id, track_type, playlist, begin_at_ms, width, height
		FROM recording_streams WHERE task_ref = ? AND length(segments) > 2 AND playlist LIKE '%.m3u8'
		ORDER BY begin_at_ms, id`
)

// taskOfApp reads the task taskId of sdkAppId; nil if there is none.
func (s *Store) taskOfApp(ctx context.Context, sdkAppId uint64, taskId string) (*RecordingTask, error) {
	st, err := s.readStmt(ctx, taskOfAppSQL)
	if err != nil {
		return nil, err
	}
	var t RecordingTask
	err = st.QueryRowContext(statementContext(ctx), taskId, sdkAppId).Scan(&t.ID, &t.TaskId, &t.SdkAppId, &t.RoomId,
		&t.RoomIdType, &t.RobotUserId, &t.RobotMemberRef, &t.Spec, &t.SpecVersion, &t.State, &t.LeaveCode, &t.CreatedAtMs,
		&t.ExpiresAtMs, &t.StoppedAtMs, &t.EndedAtMs, &t.IdleSinceMs, &t.UploadStarted, &t.FileInfoSent, &t.UploadFailing,
		&t.WriterDone, &t.UploadStopStatus, &t.Failovers, &t.LeaseOwner, &t.LeaseUntilMs, &t.Failure)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// robotRoomMembers are the members present in the room of the member robotRef, in entry order.
func (s *Store) robotRoomMembers(ctx context.Context, robotRef int64) ([]Member, error) {
	st, err := s.readStmt(ctx, robotRoomMembersSQL)
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
		if err := rows.Scan(&m.ID, &m.RoomRef, &m.UserId, &m.Role, &m.TerminalType, &m.UserType, &m.Robot, &m.PubVideo,
			&m.PubAudio, &m.PubSubstream, &m.VideoWidth, &m.VideoHeight, &m.VideoFps, &m.Blocked, &m.JoinedAtMs,
			&m.LeftAtMs, &m.LeaveReason); err != nil {
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
