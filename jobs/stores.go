package jobs

import (
	"context"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
)

// What jobs needs of the store, each consumer its own part (*models.Store has them all).

// JobStore is what a Runner needs: leases of durable jobs.
type JobStore interface {
	ClaimJobs(ctx context.Context, owner string, kinds []string, now, until time.Time, limit int) ([]models.ClaimedJob, error)
	RenewJob(ctx context.Context, id int64, owner string, until time.Time) (cancel bool, err error)
	FinishJob(ctx context.Context, id int64, owner string, state models.JobState, retryAt time.Time, runErr string) error
	ReleaseJob(ctx context.Context, id int64, owner string) error
}

// RecordingStore is what the recorder needs: its tasks' jobs, state, streams and files.
type RecordingStore interface {
	JobStore
	Recording(ctx context.Context, taskId string) (*models.RecordingTask, error)
	RecordingByRef(ctx context.Context, taskRef int64) (*models.RecordingTask, error)
	RecordingTick(ctx context.Context, taskRef int64) (*models.RecordingView, error)
	TakeOver(ctx context.Context, taskRef int64) (int, error)
	StartUpload(ctx context.Context, taskRef int64) error
	FailRecording(ctx context.Context, taskRef int64, reason string) error
	KeepsFiles(ctx context.Context, taskRef int64) (bool, error)
	ImageFailed(ctx context.Context, taskRef int64, url string) error

	OpenStream(ctx context.Context, st models.RecordingStream) (*models.RecordingStream, error)
	TaskStreams(ctx context.Context, taskRef int64) ([]models.RecordingStream, error)
	CountStreamFiles(ctx context.Context, streamRef int64, kinds ...string) (int, error)
	SpoolFile(ctx context.Context, f models.SpooledFile) error
	WritingFiles(ctx context.Context, taskRef int64) ([]models.RecordingFile, error)
	LoseFile(ctx context.Context, fileRef int64, why string) error
	FinishWriting(ctx context.Context, taskRef int64) error

	DueUploads(ctx context.Context, taskRef int64, limit int) ([]models.RecordingFile, error)
	Uploaded(ctx context.Context, f *models.RecordingFile) error
	UploadFailed(ctx context.Context, f *models.RecordingFile, code, message string, next time.Time) error
	UploadRefused(ctx context.Context, f *models.RecordingFile) (int64, error)
	UploadNotRefused(ctx context.Context, f *models.RecordingFile) error
	SettleUploads(ctx context.Context, taskRef int64) (bool, error)
}

// CallbackStore is the callback outbox as CallbackOutbox reads and updates it.
type CallbackStore interface {
	DueCallbacks(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]models.CallbackEvent, error)
	LastCallbackID(ctx context.Context) (int64, error)
	NewCallbacks(ctx context.Context, after int64, limit int) ([]models.CallbackEvent, error)
	NextCallbackDue(ctx context.Context, after time.Time) (time.Time, bool, error)
	RecordCallbackAttempts(ctx context.Context, batch []models.CallbackOutcome) error
}

var (
	_ RecordingStore = (*models.Store)(nil)
	_ CallbackStore  = (*models.Store)(nil)
)
