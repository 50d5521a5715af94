package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// JobHandler runs one job. ctx ends when the job is cancelled, when the runner loses the
// job's lease (another runner took it over) or when the runner stops; the handler then
// returns soon. A nil error finishes the job; an error fails this attempt.
type JobHandler func(ctx context.Context, job *models.ClaimedJob) error

// RunnerConfig configures a Runner. Store and Handlers are required.
type RunnerConfig struct {
	Store    *models.Store
	Handlers map[string]JobHandler // by job kind
	Clock    clock.Clock           // clock.System when nil: leases, schedules and retries follow it
	// LeaseTTL is how long a job stays with a runner that stopped renewing (one that
	// crashed); the lease is renewed every third of it. 5 s when 0.
	LeaseTTL time.Duration
	// Poll is how often due jobs are looked for without Wake; 1 s when 0.
	Poll time.Duration
	// RetryAfter is the wait before attempt n+1 after attempt n failed; 10 s × n when nil.
	RetryAfter func(attempt int) time.Duration
	Logger     *slog.Logger

	hooks *runnerHooks // tests: told when a claim pass or a job's outcome is done
}

// runnerHooks are called after each claim pass and after each job's outcome is recorded.
type runnerHooks struct {
	claimed  func()
	finished func(jobID int64)
}

// Runner runs durable jobs (models.Job) of the kinds it has handlers for: it claims due
// jobs under a lease on the injected clock, renews the lease while a handler runs, lets a
// job go when its lease is lost (another runner took it over after this one stalled),
// retries failed attempts up to the job's MaxAttempts, stops a handler whose job is
// cancelled, and gives its jobs back when it stops. A handler's panic fails its job and
// nothing else.
type Runner struct {
	cfg   RunnerConfig
	owner string
	kinds []string
	log   *slog.Logger
	wake  chan struct{}

	mu      sync.Mutex
	running map[int64]bool
	wg      sync.WaitGroup
}

// NewRunner checks cfg and returns a runner; Run starts it.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Store == nil || len(cfg.Handlers) == 0 {
		return nil, errors.New("jobs: a runner needs a Store and Handlers")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.RetryAfter == nil {
		cfg.RetryAfter = func(n int) time.Duration { return time.Duration(n) * 10 * time.Second }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	id := make([]byte, 8)
	rand.Read(id)
	r := &Runner{cfg: cfg, owner: "runner-" + hex.EncodeToString(id), log: cfg.Logger.With("component", "jobs"),
		wake: make(chan struct{}, 1), running: map[int64]bool{}}
	for kind := range cfg.Handlers {
		r.kinds = append(r.kinds, kind)
	}
	slices.Sort(r.kinds)
	return r, nil
}

// Owner is the runner's lease owner name.
func (r *Runner) Owner() string { return r.owner }

// Wake makes the runner look for due jobs now (after an Enqueue).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends; then every handler is stopped, its job given
// back (ReleaseJob) and Run returns.
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	for {
		if err := contain(func() error { return r.claim(ctx) }); err != nil && ctx.Err() == nil {
			r.log.Error("claim jobs", "err", err)
		}
		if h := r.cfg.hooks; h != nil && h.claimed != nil {
			h.claimed()
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-r.cfg.Clock.After(r.cfg.Poll):
		}
	}
}

func (r *Runner) claim(ctx context.Context) error {
	now := r.cfg.Clock.Now()
	claimed, err := r.cfg.Store.ClaimJobs(ctx, r.owner, r.kinds, now, now.Add(r.cfg.LeaseTTL), 100)
	if err != nil {
		return err
	}
	for i := range claimed {
		job := &claimed[i]
		r.mu.Lock()
		busy := r.running[job.ID]
		r.running[job.ID] = true
		r.mu.Unlock()
		if busy {
			continue
		}
		r.wg.Go(func() {
			defer func() {
				r.mu.Lock()
				delete(r.running, job.ID)
				r.mu.Unlock()
			}()
			r.run(ctx, job)
		})
	}
	return nil
}

// run runs one claimed job to its outcome.
func (r *Runner) run(ctx context.Context, job *models.ClaimedJob) {
	log := r.log.With("job", job.ID, "kind", job.Kind)
	jobCtx, stop := context.WithCancel(ctx)
	defer stop()
	var lost, cancelled bool
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-r.cfg.Clock.After(r.cfg.LeaseTTL / 3):
			}
			cancel, err := r.cfg.Store.RenewJob(context.WithoutCancel(jobCtx), job.ID, r.owner, r.cfg.Clock.Now().Add(r.cfg.LeaseTTL))
			switch {
			case errors.Is(err, models.ErrLeaseLost):
				lost = true
				stop()
				return
			case err != nil:
				log.Error("renew the job's lease", "err", err)
			case cancel:
				cancelled = true
				stop()
				return
			}
		}
	}()
	err := contain(func() error { return r.cfg.Handlers[job.Kind](jobCtx, job) })
	stop()
	<-renewed
	store, bg := r.cfg.Store, context.Background()
	var perr *panicError
	var ferr error
	switch {
	case lost:
		log.Warn("the job's lease was lost: another runner has it")
		return
	case cancelled:
		ferr = store.FinishJob(bg, job.ID, r.owner, models.JobCancelled, time.Time{}, "")
	case ctx.Err() != nil:
		ferr = store.ReleaseJob(bg, job.ID, r.owner) // a graceful stop: the next runner goes on
	case err == nil:
		ferr = store.FinishJob(bg, job.ID, r.owner, models.JobDone, time.Time{}, "")
	case errors.As(err, &perr) || job.Attempts >= job.MaxAttempts:
		log.Error("job failed", "attempts", job.Attempts, "err", err)
		ferr = store.FinishJob(bg, job.ID, r.owner, models.JobFailed, time.Time{}, err.Error())
	default:
		at := r.cfg.Clock.Now().Add(r.cfg.RetryAfter(job.Attempts))
		log.Warn("job attempt failed; retrying", "attempt", job.Attempts, "at", at, "err", err)
		ferr = store.FinishJob(bg, job.ID, r.owner, models.JobAvailable, at, err.Error())
	}
	if ferr != nil {
		log.Error("record the job's outcome", "err", ferr)
	}
	if h := r.cfg.hooks; h != nil && h.finished != nil {
		h.finished(job.ID)
	}
}
