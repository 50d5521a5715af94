package models

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
)

// DefaultHistoryRetention is how long the records of a closed room are kept.
const DefaultHistoryRetention = 30 * 24 * time.Hour

// sweepBatch bounds the rooms one sweep transaction deletes, so that API writes wait at
// most one short transaction for the writer.
const sweepBatch = 500

// SweepHistory deletes the records of the rooms that closed more than retention ago (by
// the store's clock): the room lifetimes, their members, the members' events, the room
// messages, and the ended recording tasks whose robot was one of those members (with
// their streams and files). A room whose recording task has not ended is kept until it
// has. It returns the number of rooms deleted. The callback outbox is not swept here.
func (s *Store) SweepHistory(ctx context.Context, retention time.Duration) (int64, error) {
	cutoff := s.now().Add(-retention).UnixMilli()
	var apps []uint64
	if err := s.reader(ctx).Model(&App{}).Order("sdk_app_id").Pluck("sdk_app_id", &apps).Error; err != nil {
		return 0, err
	}
	var deleted int64
	for _, app := range apps {
		for {
			n, err := s.sweepRooms(ctx, app, cutoff)
			deleted += n
			if err != nil {
				return deleted, err
			}
			if n < sweepBatch {
				break
			}
		}
	}
	return deleted, nil
}

// sweepRooms deletes up to sweepBatch rooms of an application closed before cutoff.
func (s *Store) sweepRooms(ctx context.Context, app uint64, cutoff int64) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		// By rooms_by_end: only the rooms to delete are read.
		var ids []int64
		err := tx.Raw(`SELECT id FROM rooms WHERE sdk_app_id = ? AND destroyed_at_ms < ?
			AND NOT EXISTS (SELECT 1 FROM members m JOIN recording_tasks t ON t.robot_member_ref = m.id
				WHERE m.room_ref = rooms.id AND t.state <> ?)
			ORDER BY destroyed_at_ms LIMIT ?`, app, cutoff, TaskEnded, sweepBatch).Scan(&ids).Error
		if err != nil || len(ids) == 0 {
			return err
		}
		list, _ := json.Marshal(ids)
		inRooms := `(SELECT value FROM json_each(?))`
		inMembers := `(SELECT id FROM members WHERE room_ref IN ` + inRooms + `)`
		inTasks := `(SELECT id FROM recording_tasks WHERE robot_member_ref IN ` + inMembers + `)`
		for _, stmt := range []string{
			`DELETE FROM recording_files WHERE task_ref IN ` + inTasks,
			`DELETE FROM recording_streams WHERE task_ref IN ` + inTasks,
			`DELETE FROM recording_tasks WHERE robot_member_ref IN ` + inMembers,
			`DELETE FROM member_events WHERE member_ref IN ` + inMembers,
			`DELETE FROM room_messages WHERE room_ref IN ` + inRooms,
			`DELETE FROM members WHERE room_ref IN ` + inRooms,
		} {
			if err := tx.Exec(stmt, string(list)).Error; err != nil {
				return err
			}
		}
		res := tx.Exec(`DELETE FROM rooms WHERE id IN `+inRooms, string(list))
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// SweepCallbackLog deletes the delivery log of callback events finished (delivered or
// failed) more than retention ago, with their attempts, and returns how many events went.
// Pending events stay whatever their age.
func (s *Store) SweepCallbackLog(ctx context.Context, retention time.Duration) (int64, error) {
	cutoff := s.now().Add(-retention).UnixMilli()
	var deleted int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			var ids []int64
			// 'pending' literal: the partial index callback_events_finished applies.
			err := tx.Raw(`SELECT id FROM callback_events WHERE state <> 'pending' AND finished_at_ms < ?
				ORDER BY finished_at_ms LIMIT ?`, cutoff, sweepBatch).Scan(&ids).Error
			if err != nil || len(ids) == 0 {
				return err
			}
			list, _ := json.Marshal(ids)
			if err := tx.Exec(`DELETE FROM callback_attempts WHERE event_id IN (SELECT value FROM json_each(?))`, string(list)).Error; err != nil {
				return err
			}
			res := tx.Exec(`DELETE FROM callback_events WHERE id IN (SELECT value FROM json_each(?))`, string(list))
			n = res.RowsAffected
			return res.Error
		})
		deleted += n
		if err != nil || n < sweepBatch {
			return deleted, err
		}
	}
}
