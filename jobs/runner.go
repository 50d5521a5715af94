package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
type JobHandler func(ctx context.Context, job *Job) error

// Kind is how a runner runs the jobs of one kind.
type Kind struct {
	Handle JobHandler
	// RetryAfter is the wait before attempt n+1 after attempt n failed; the runner's when nil.
	RetryAfter func(attempt int) time.Duration
	// Settles: the handler answers Job.Settle's requests while it waits, so that an advance
	// of a virtual clock returns once the job has done what was due (Runner.Settle).
	Settles bool
}

// Job is a claimed job as its handler runs it.
type Job struct {
	models.ClaimedJob
	settle chan chan struct{}
	exited chan struct{} // closed when the handler returned

	// mu guards the lease as the runner last renewed it and why the run must stop.
	mu              sync.Mutex
	leaseUntil      time.Time
	lost, cancelled bool
	ctx             context.Context    // the handler's
	stop            context.CancelFunc // ends ctx
}

// Settle carries Runner.Settle's requests to a handler of a kind that Settles: it closes
// each request once what was due at the clock's time is done.
func (j *Job) Settle() <-chan chan struct{} { return j.settle }

// RunnerConfig configures a Runner. Store and at least one kind are required.
type RunnerConfig struct {
	Store JobStore
	Kinds map[string]Kind // by job kind
	Clock clock.Clock     // clock.System when nil: leases, schedules and retries follow it
	// LeaseTTL is how long a job stays with a runner that stopped renewing (one that
	// crashed); the lease is renewed every third of it. 5 s when 0.
	LeaseTTL time.Duration
	// Poll is how often due jobs are looked for without Wake (in real time on a virtual
	// clock, whose Settle claims); 1 s when 0.
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

	// claimMu makes claims one at a time: a Settle's claim finds the jobs Run's claim in
	// flight took already listed as running, and waits for them.
	claimMu sync.Mutex
	mu      sync.Mutex
	running map[int64]*Job
	wg      sync.WaitGroup
	// woken: Wake was called since Settle last claimed, at settleClaimed.
	woken         bool
	settleClaimed time.Time
	// runCtx is the jobs' context, made with the runner and ended when Run's ends: a Settle
	// claims under it (before Run is scheduled, too), not under its caller's (an HTTP
	// request that moves the clock ends long before the jobs).
	runCtx  context.Context
	stopRun context.CancelFunc
}

// NewRunner checks cfg and returns a runner; Run starts it.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Store == nil || len(cfg.Kinds) == 0 {
		return nil, errors.New("jobs: a runner needs a Store and Kinds")
	}
	for kind, k := range cfg.Kinds {
		if k.Handle == nil {
			return nil, fmt.Errorf("jobs: kind %q has no handler", kind)
		}
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
		wake: make(chan struct{}, 1), running: map[int64]*Job{}}
	r.runCtx, r.stopRun = context.WithCancel(context.Background())
	for kind := range cfg.Kinds {
		r.kinds = append(r.kinds, kind)
	}
	slices.Sort(r.kinds)
	return r, nil
}

// Owner is the runner's lease owner name.
func (r *Runner) Owner() string { return r.owner }

// Wake makes the runner look for due jobs now (after an Enqueue).
func (r *Runner) Wake() {
	r.mu.Lock()
	r.woken = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends; then every handler is stopped, its job given
// back (ReleaseJob) and Run returns.
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	defer context.AfterFunc(ctx, r.stopRun)()
	ctx = r.runCtx
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
		case <-clock.Poll(r.cfg.Clock, r.cfg.Poll):
		}
	}
}

// Settle returns once the runner has done what was due at the clock's time: the jobs due by
// then are claimed (after a Wake, and a Poll after the last claim for retries and leases
// that ran out), and each running job of a kind that Settles has answered. A virtual clock
// calls it after each step.
func (r *Runner) Settle(ctx context.Context) {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	runCtx := r.runCtx
	claim := r.woken || !now.Before(r.settleClaimed.Add(r.cfg.Poll))
	if claim {
		r.woken, r.settleClaimed = false, now
	}
	r.mu.Unlock()
	if claim && runCtx.Err() == nil {
		if err := contain(func() error { return r.claim(runCtx) }); err != nil && runCtx.Err() == nil {
			r.log.Error("claim jobs", "err", err)
		}
	}
	r.mu.Lock()
	jobs := make([]*Job, 0, len(r.running))
	for _, j := range r.running {
		jobs = append(jobs, j)
	}
	r.mu.Unlock()
	for _, j := range jobs {
		// The leases due are renewed here, not by a waiter on the clock: a virtual clock
		// steps only to the deadlines of the work itself.
		r.renew(j)
		if r.cfg.Kinds[j.Kind].Settles {
			clock.AskSettled(ctx, j.settle, j.exited)
		}
	}
}

// renew extends a running job's lease once a third of it has passed since the last
// renewal; a lost lease or a cancellation stops the job's handler.
func (r *Runner) renew(job *Job) {
	job.mu.Lock()
	defer job.mu.Unlock()
	now := r.cfg.Clock.Now()
	if job.lost || job.cancelled || now.Before(job.leaseUntil.Add(-r.cfg.LeaseTTL*2/3)) {
		return
	}
	until := now.Add(r.cfg.LeaseTTL)
	cancel, err := r.cfg.Store.RenewJob(context.Background(), job.ID, r.owner, until)
	switch {
	case errors.Is(err, models.ErrLeaseLost):
		job.lost = true
		job.stop()
	case err != nil:
		r.log.Error("renew the job's lease", "job", job.ID, "err", err)
	case cancel:
		job.cancelled = true
		job.stop()
	default:
		job.leaseUntil = until
	}
}

func (r *Runner) claim(ctx context.Context) error {
	r.claimMu.Lock()
	defer r.claimMu.Unlock()
	now := r.cfg.Clock.Now()
	claimed, err := r.cfg.Store.ClaimJobs(ctx, r.owner, r.kinds, now, now.Add(r.cfg.LeaseTTL), 100)
	if err != nil {
		return err
	}
	for i := range claimed {
		job := &Job{ClaimedJob: claimed[i], settle: make(chan chan struct{}), exited: make(chan struct{}),
			leaseUntil: time.UnixMilli(claimed[i].LeaseUntilMs)}
		// Made here, before the job is listed as running: Settle may renew (and stop) it
		// before its goroutine starts.
		job.ctx, job.stop = context.WithCancel(ctx)
		r.mu.Lock()
		busy := r.running[job.ID] != nil
		if !busy {
			r.running[job.ID] = job
		}
		r.mu.Unlock()
		if busy {
			job.stop()
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
func (r *Runner) run(ctx context.Context, job *Job) {
	log := r.log.With("job", job.ID, "kind", job.Kind)
	jobCtx, stop := job.ctx, job.stop
	defer stop()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for {
			// In real time on a virtual clock, whose Settle renews as time moves.
			select {
			case <-jobCtx.Done():
				return
			case <-clock.Poll(r.cfg.Clock, r.cfg.LeaseTTL/3):
			}
			r.renew(job)
		}
	}()
	kind := r.cfg.Kinds[job.Kind]
	err := contain(func() error { return kind.Handle(jobCtx, job) })
	close(job.exited)
	stop()
	<-renewed
	job.mu.Lock()
	lost, cancelled := job.lost, job.cancelled
	job.mu.Unlock()
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
		retryAfter := kind.RetryAfter
		if retryAfter == nil {
			retryAfter = r.cfg.RetryAfter
		}
		wait := retryAfter(job.Attempts)
		at := r.cfg.Clock.Now().Add(wait)
		log.Warn("job attempt failed; retrying", "attempt", job.Attempts, "at", at, "err", err)
		ferr = store.FinishJob(bg, job.ID, r.owner, models.JobAvailable, at, err.Error())
		if ferr == nil {
			// A waiter on the clock for the retry: a virtual clock steps to it and Settle
			// claims it then, not only at the end of the advance.
			r.wg.Go(func() {
				select {
				case <-ctx.Done():
				case <-r.cfg.Clock.After(wait):
					r.Wake()
				}
			})
		}
	}
	if ferr != nil {
		log.Error("record the job's outcome", "err", ferr)
	}
	if h := r.cfg.hooks; h != nil && h.finished != nil {
		h.finished(job.ID)
	}
}
