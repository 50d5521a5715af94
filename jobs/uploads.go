package jobs

import (
	"context"
	"errors"
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

// uploadLoop uploads the task's spooled files as they come, retrying failures, and settles
// the task (305) once its writer is done. It reports whether the task ended.
// It runs beside the writer loop, which owns t.task: it keeps to the task's id and its
// storage target, which never change.
func (t *taskRun) uploadLoop(ctx context.Context, taskRef int64, target models.StorageTarget) bool {
	store := t.r.cfg.Store
	up := t.r.cfg.Uploaders.Open(target)
	for {
		files, err := store.DueUploads(ctx, taskRef, 16)
		if err != nil && ctx.Err() == nil {
			t.log.Error("due uploads", "err", err)
		}
		for i := range files {
			if ctx.Err() != nil {
				return false
			}
			t.upload(ctx, up, target.Bucket, &files[i])
		}
		ended, err := store.SettleUploads(ctx, taskRef)
		if err != nil && ctx.Err() == nil {
			t.log.Error("settle uploads", "err", err)
		}
		if len(files) > 0 || ended {
			t.r.notify()
		}
		if ended {
			return true
		}
		if len(files) == 16 {
			continue
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.r.cfg.Clock.After(t.r.cfg.Tick):
		}
	}
}

func (t *taskRun) upload(ctx context.Context, up storage.Store, bucket string, f *models.RecordingFile) {
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
		return // shutting down: the file stays spooled
	}
	if err == nil {
		if err := store.Uploaded(ctx, f); err != nil {
			t.log.Error("record upload", "key", f.ObjectKey, "err", err)
			return
		}
		if f.Kind != "m3u8" {
			t.spool.Remove(f.Spool) // written once; a playlist may be rewritten, it stays
		}
		return
	}
	code, message := storage.CodeNetworkError, err.Error()
	var se *storage.Error
	if errors.As(err, &se) {
		code, message = se.Code, se.Message
	}
	delay := min(uploadFirstRetry<<min(f.Attempts, 8), uploadMaxRetry)
	t.log.Warn("upload failed; retrying", "key", path.Base(f.ObjectKey), "code", code, "message", message, "retry_in", delay)
	if err := store.UploadFailed(ctx, f, code, message, t.r.cfg.Clock.Now().Add(delay)); err != nil {
		t.log.Error("record upload failure", "key", f.ObjectKey, "err", err)
	}
}
