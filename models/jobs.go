package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// JobRecording is the kind of a cloud recording task's job; its Args are RecordingJobArgs.
const JobRecording = "recording"

// RecordingJobAttempts is how many runs a recording job gets (each failed run is retried
// where it stopped) before the task fails (FailRecording).
const RecordingJobAttempts = 20

// RecordingJobArgs are a recording job's arguments: the task it runs.
type RecordingJobArgs struct {
	TaskRef int64
}

// JobState is where a durable job stands.
type JobState string

const (
	JobAvailable JobState = "available" // waiting for its scheduled time and a runner
	JobRunning   JobState = "running"   // leased by a runner (or by one that died: its lease runs out)
	JobDone      JobState = "done"
	JobFailed    JobState = "failed" // its last attempt failed, or it panicked
	JobCancelled JobState = "cancelled"
)

// Job is a durable job: a row of jobs.
type Job struct {
	ID            int64 `gorm:"primaryKey"`
	Kind          string
	Args          []byte
	State         JobState
	Attempts      int
	MaxAttempts   int
	Takeovers     int
	ScheduledAtMs int64
	LeaseOwner    string
	LeaseUntilMs  int64
	Cancel        bool
	LastError     string
	CreatedAtMs   int64
	FinishedAtMs  *int64
}

// NewJob is what EnqueueJob stores.
type NewJob struct {
	Kind        string
	Args        []byte    // JSON
	At          time.Time // not run before; zero: now
	MaxAttempts int       // runs before the job fails; 1 when 0
}

// EnqueueJob stores a job in tx, the transaction of the change that asks for it, so that
// the job exists exactly when the change does.
func (s *Store) EnqueueJob(tx *gorm.DB, j NewJob) (*Job, error) {
	now := s.now()
	if j.At.IsZero() {
		j.At = now
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = 1
	}
	if j.Kind == "" {
		return nil, errors.New("models: a job needs a kind")
	}
	if j.Args == nil {
		j.Args = []byte("{}")
	}
	row := &Job{Kind: j.Kind, Args: j.Args, State: JobAvailable, MaxAttempts: j.MaxAttempts, ScheduledAtMs: j.At.UnixMilli(),
		CreatedAtMs: now.UnixMilli()}
	markChange(tx, ChangeJobs)
	return row, tx.Create(row).Error
}

// Enqueue is EnqueueJob in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, j NewJob) (*Job, error) {
	var row *Job
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		row, err = s.EnqueueJob(tx, j)
		return err
	})
	return row, err
}

// ClaimedJob is a job a runner leased; TakenOver when its previous runner died holding it.
type ClaimedJob struct {
	Job
	TakenOver bool
}

// ClaimJobs leases to owner until until at most limit jobs of kinds that are due at now:
// available ones whose time has come (a new attempt), and running ones of another owner
// whose lease ran out (a takeover, the same attempt going on; owner's own are running
// here, their renewal late). Cancelled-while-available jobs are not claimed.
func (s *Store) ClaimJobs(ctx context.Context, owner string, kinds []string, now, until time.Time, limit int) ([]ClaimedJob, error) {
	var out []ClaimedJob
	nowMs := now.UnixMilli()
	err := s.write(ctx, func(tx *gorm.DB) error {
		var due []Job
		err := tx.Where("kind IN ? AND ((state = ? AND scheduled_at_ms <= ? AND cancel = 0) OR (state = ? AND lease_until_ms < ? AND lease_owner <> ?))",
			kinds, JobAvailable, nowMs, JobRunning, nowMs, owner).Order("scheduled_at_ms, id").Limit(limit).Find(&due).Error
		if err != nil {
			return err
		}
		for _, j := range due {
			c := ClaimedJob{Job: j, TakenOver: j.State == JobRunning}
			if c.TakenOver {
				c.Takeovers++
			} else {
				c.Attempts++
			}
			c.State, c.LeaseOwner, c.LeaseUntilMs = JobRunning, owner, until.UnixMilli()
			res := tx.Model(&Job{}).Where("id = ? AND state = ?", j.ID, j.State).Updates(map[string]any{
				"state": c.State, "lease_owner": owner, "lease_until_ms": c.LeaseUntilMs, "attempts": c.Attempts, "takeovers": c.Takeovers})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// ErrLeaseLost: the job's lease is not owner's any more (it ran out and another runner took
// the job over, or the job finished).
var ErrLeaseLost = errors.New("models: job lease lost")

// RenewJob extends owner's lease of job id until until and reports whether cancellation
// was asked; ErrLeaseLost when owner no longer holds it.
func (s *Store) RenewJob(ctx context.Context, id int64, owner string, until time.Time) (cancel bool, err error) {
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Job{}).Where("id = ? AND state = ? AND lease_owner = ?", id, JobRunning, owner).
			Update("lease_until_ms", until.UnixMilli())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrLeaseLost
		}
		return tx.Raw(`SELECT cancel FROM jobs WHERE id = ?`, id).Scan(&cancel).Error
	})
	return cancel, err
}

// FinishJob ends owner's run of job id: done, cancelled, failed, or (state available,
// with retryAt) a new attempt later. ErrLeaseLost when owner no longer holds it.
func (s *Store) FinishJob(ctx context.Context, id int64, owner string, state JobState, retryAt time.Time, runErr string) error {
	updates := map[string]any{"state": state, "lease_owner": "", "lease_until_ms": 0, "last_error": runErr}
	if state == JobAvailable {
		updates["scheduled_at_ms"] = retryAt.UnixMilli()
	} else {
		updates["finished_at_ms"] = s.now().UnixMilli()
	}
	res := s.writer(ctx).Model(&Job{}).Where("id = ? AND state = ? AND lease_owner = ?", id, JobRunning, owner).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrLeaseLost
	}
	return nil
}

// ReleaseJob gives owner's running job id back without counting its attempt (a graceful
// stop: the next runner goes on with it at once). ErrLeaseLost when owner no longer holds it.
func (s *Store) ReleaseJob(ctx context.Context, id int64, owner string) error {
	res := s.writer(ctx).Model(&Job{}).Where("id = ? AND state = ? AND lease_owner = ?", id, JobRunning, owner).
		Updates(map[string]any{"state": JobAvailable, "lease_owner": "", "lease_until_ms": 0,
			"attempts": gorm.Expr("attempts - 1"), "scheduled_at_ms": s.now().UnixMilli()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrLeaseLost
	}
	return nil
}

// CancelJob asks job id to stop: an available job is cancelled at once, a running one at
// its runner's next renewal. It reports false when the job is unknown or already over.
func (s *Store) CancelJob(ctx context.Context, id int64) (bool, error) {
	var ok bool
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Job{}).Where("id = ? AND state = ?", id, JobAvailable).
			Updates(map[string]any{"state": JobCancelled, "cancel": true, "finished_at_ms": s.now().UnixMilli()})
		if res.Error != nil || res.RowsAffected == 1 {
			ok = res.Error == nil
			return res.Error
		}
		res = tx.Model(&Job{}).Where("id = ? AND state = ?", id, JobRunning).Update("cancel", true)
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok, err
}

// JobByID reads a job.
func (s *Store) JobByID(ctx context.Context, id int64) (*Job, error) {
	var j Job
	if err := s.reader(ctx).Take(&j, id).Error; err != nil {
		return nil, err
	}
	return &j, nil
}
