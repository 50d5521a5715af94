package jobs

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/cosup"
	"github.com/trtc-emulator/trtc-emulator/storage/s3up"
)

// Uploaders opens the object store a task's CloudStorage names: Vendor 0 through
// cos-go-sdk-v5, Vendor 1 through aws-sdk-go-v2, each against its endpoint (path-style;
// the emulator's own /storage by default, "" for the real cloud).
type Uploaders struct {
	COSEndpoint, S3Endpoint string
}

// Open returns the uploader of a storage target.
func (u Uploaders) Open(target models.StorageTarget) storage.Store {
	if target.Vendor == 1 {
		return s3up.NewS3(s3up.Config{Endpoint: u.S3Endpoint, Region: target.Region, Bucket: target.Bucket,
			AccessKey: target.AccessKey, SecretKey: target.SecretKey, MaxAttempts: 1})
	}
	return cosup.NewCOS(cosup.Config{Endpoint: u.COSEndpoint, Region: target.Region, Bucket: target.Bucket,
		SecretId: target.AccessKey, SecretKey: target.SecretKey, MaxAttempts: 1})
}

// Upload retry: 1 s after the first failure, doubling up to every 10 s, as long as it takes.
const (
	uploadFirstRetry = time.Second
	uploadMaxRetry   = 10 * time.Second
	uploadTimeout    = time.Minute
)

var contentTypes = map[string]string{
	"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "mp4": "video/mp4", "aac": "audio/aac",
}

// uploadResult is how a task's upload loop ended: the task ended (settled, or failed
// because the storage refused its files for good), or the loop panicked (err).
type uploadResult struct {
	ended, failed bool
	err           error
}

// uploadLoop uploads the task's spooled files as they come, retrying failures, and settles
// the task (305) once its writer is done. A file the storage refuses for good (see
// storage.Error.Permanent) for UploadGiveUp fails the task (FailRecording).
// It runs beside the writer loop, which owns t.task: it keeps to the task's id and its
// storage target, which never change.
func (t *taskRun) uploadLoop(ctx context.Context, taskRef int64, taskId string, target models.StorageTarget) uploadResult {
	store := t.r.cfg.Store
	up := t.r.cfg.Uploaders.Open(target)
	for {
		if h := t.r.cfg.hooks; h != nil && h.upload != nil {
			h.upload(taskId)
		}
		files, err := store.DueUploads(ctx, taskRef, 16)
		if err != nil && ctx.Err() == nil {
			t.log.Error("due uploads", "err", err)
		}
		for i := range files {
			if ctx.Err() != nil {
				return uploadResult{}
			}
			if reason := t.upload(ctx, up, target.Bucket, &files[i]); reason != "" {
				if err := store.FailRecording(ctx, taskRef, reason); err != nil {
					t.log.Error("mark the recording task failed", "err", err)
					break
				}
				t.log.Error("recording task failed: the storage refuses its files", "reason", reason)
				t.r.notify()
				return uploadResult{ended: true, failed: true}
			}
		}
		ended, err := store.SettleUploads(ctx, taskRef)
		if err != nil && ctx.Err() == nil {
			t.log.Error("settle uploads", "err", err)
		}
		if len(files) > 0 || ended {
			t.r.notify()
		}
		if ended {
			return uploadResult{ended: true}
		}
		if len(files) == 16 {
			continue
		}
		select {
		case <-ctx.Done():
			return uploadResult{}
		case <-t.r.cfg.Clock.After(t.r.cfg.Tick):
		case <-t.filesReady:
		}
	}
}

// upload puts one file; after a failure it schedules the next attempt, and returns why the
// task must fail when the storage has refused the file for good for UploadGiveUp.
func (t *taskRun) upload(ctx context.Context, up storage.Store, bucket string, f *models.RecordingFile) (giveUp string) {
	store := t.r.cfg.Store
	err := func() error {
		src, err := t.spool.Open(f.Spool)
		if err != nil {
			return err
		}
		defer src.Close()
		info, err := src.Stat()
		if err != nil {
			return err
		}
		putCtx, cancel := context.WithTimeout(ctx, uploadTimeout)
		defer cancel()
		return up.Put(putCtx, bucket, f.ObjectKey, src, info.Size(), contentTypes[f.Kind])
	}()
	if ctx.Err() != nil {
		return "" // shutting down: the file stays spooled
	}
	if err == nil {
		if err := store.Uploaded(ctx, f); err != nil {
			t.log.Error("record upload", "key", f.ObjectKey, "err", err)
			return ""
		}
		if f.Kind != "m3u8" {
			t.spool.Remove(f.Spool) // written once; a playlist may be rewritten, it stays
		}
		return ""
	}
	code, message := storage.CodeNetworkError, err.Error()
	var se *storage.Error
	if errors.As(err, &se) {
		code, message = se.Code, se.Message
	}
	now := t.r.cfg.Clock.Now()
	if se != nil && se.Permanent() {
		since, err := store.UploadRefused(ctx, f)
		if err != nil {
			t.log.Error("record upload refusal", "key", f.ObjectKey, "err", err)
		} else if refused := now.Sub(time.UnixMilli(since)); refused >= t.r.cfg.UploadGiveUp {
			if err := store.UploadFailed(ctx, f, code, message, now); err != nil {
				t.log.Error("record upload failure", "key", f.ObjectKey, "err", err)
			}
			return fmt.Sprintf("the storage refused %s for %s: %s: %s", path.Base(f.ObjectKey), refused.Round(time.Second), code, message)
		}
	} else if f.RefusedSinceMs != nil {
		if err := store.UploadNotRefused(ctx, f); err != nil {
			t.log.Error("record upload failure", "key", f.ObjectKey, "err", err)
		}
	}
	delay := min(uploadFirstRetry<<min(f.Attempts, 8), uploadMaxRetry)
	t.log.Warn("upload failed; retrying", "key", path.Base(f.ObjectKey), "code", code, "message", message, "retry_in", delay)
	if err := store.UploadFailed(ctx, f, code, message, now.Add(delay)); err != nil {
		t.log.Error("record upload failure", "key", f.ObjectKey, "err", err)
	}
	return ""
}
