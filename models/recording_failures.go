package models

import (
	"context"

	"gorm.io/gorm"
)

// uploadStopPayload is 305's payload: the older seed page names the field Status, the
// newer one LeaveCode (same values 0, 1, 2); both are sent, with the same value.
func uploadStopPayload(status int) map[string]int {
	return map[string]int{"Status": status, "LeaveCode": status}
}

// FailRecording ends a task the recorder gave up on (a recovered panic, storage refusing
// the uploads for good), with reason kept in the task's Failure. A task still recording
// stops as the server removing its robot (302 LeaveCode 3, the robot leaves the room);
// its files not uploaded stay in the spool as kept (listed by TaskFiles, never swept);
// 305 reports Status 1 ("at least one file is still on the server"), unless it already
// did; the task ends and is never claimed again.
func (s *Store) FailRecording(ctx context.Context, taskRef int64, reason string) error {
	return s.taskChange(ctx, taskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		if t.State == TaskEnded {
			return nil
		}
		reported := t.UploadStopStatus != nil && *t.UploadStopStatus == 1
		if t.State == TaskRecording {
			if err := s.stopRecording(tx, emit, t, LeaveServerRemove, ExitRemoved); err != nil {
				return err
			}
		}
		if err := tx.Model(&RecordingFile{}).Where("task_ref = ? AND state IN ?", t.ID, []string{FileSpooled, FileInternal, FileWriting}).
			Update("state", FileKept).Error; err != nil {
			return err
		}
		if len(reason) > 2000 {
			reason = reason[:2000]
		}
		updates := map[string]any{"state": TaskEnded, "ended_at_ms": emit.nowMs, "writer_done": true, "failure": reason,
			"upload_stop_status": 1}
		if err := tx.Model(t).Updates(updates).Error; err != nil {
			return err
		}
		if reported {
			return nil // 305 Status 1 was sent: the files stayed on the server, as it said
		}
		return emit.task(t, EventUploadStop, uploadStopPayload(1))
	})
}

// UploadRefused records that the storage refused a file for good (a 4xx answer other
// than throttling) and returns since when it has, in Unix ms: the first such refusal of
// the file not followed by a transient failure.
func (s *Store) UploadRefused(ctx context.Context, f *RecordingFile) (int64, error) {
	db := s.writer(ctx)
	nowMs := s.now().UnixMilli()
	if err := db.Model(&RecordingFile{}).Where("id = ? AND refused_since_ms IS NULL", f.ID).
		Update("refused_since_ms", nowMs).Error; err != nil {
		return 0, err
	}
	var row RecordingFile
	if err := db.Select("refused_since_ms").Where("id = ?", f.ID).Take(&row).Error; err != nil {
		return 0, err
	}
	if row.RefusedSinceMs == nil {
		return nowMs, nil
	}
	return *row.RefusedSinceMs, nil
}

// UploadNotRefused clears a file's refusal streak (a transient failure: the storage may
// be back).
func (s *Store) UploadNotRefused(ctx context.Context, f *RecordingFile) error {
	return s.writer(ctx).Model(&RecordingFile{}).Where("id = ? AND refused_since_ms IS NOT NULL", f.ID).
		Update("refused_since_ms", nil).Error
}

// KeepsFiles reports whether a task has files kept in its spool (FailRecording).
func (s *Store) KeepsFiles(ctx context.Context, taskRef int64) (bool, error) {
	var n int64
	err := s.writer(ctx).Model(&RecordingFile{}).Where("task_ref = ? AND state = ?", taskRef, FileKept).Count(&n).Error
	return n > 0, err
}
