package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// runnerRig is a store and a job runner on a fake clock.
type runnerRig struct {
	store *models.Store
	clock *clock.Fake
	r     *Runner
	stop  context.CancelFunc
	done  chan struct{}
	// claimed and finished are signalled (coalesced) after each claim pass and each job
	// outcome the runner records.
	claimed, finished chan struct{}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func newRunnerRig(t *testing.T, store *models.Store, clk *clock.Fake, handlers map[string]Kind) *runnerRig {
	t.Helper()
	if clk == nil {
		clk = clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	}
	if store == nil {
		var err error
		store, err = models.Open(context.Background(), models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "e.db"), Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
	}
	rig := &runnerRig{store: store, clock: clk, done: make(chan struct{}),
		claimed: make(chan struct{}, 1), finished: make(chan struct{}, 1)}
	r, err := NewRunner(RunnerConfig{Store: store, Clock: clk, Kinds: handlers, LeaseTTL: 3 * time.Second,
		hooks: &runnerHooks{claimed: func() { signal(rig.claimed) }, finished: func(int64) { signal(rig.finished) }}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	rig.r, rig.stop = r, stop
	go func() { r.Run(ctx); close(rig.done) }()
	t.Cleanup(func() { rig.shutdown() })
	return rig
}

func (g *runnerRig) shutdown() {
	g.stop()
	<-g.done
}

// waitJob waits, the clock still, until job id is in state: it looks again after each
// outcome the runner records (10 s of wall time at most, in case it never comes).
func (g *runnerRig) waitJob(t *testing.T, id int64, state models.JobState) *models.Job {
	t.Helper()
	giveUp := time.After(10 * time.Second)
	for {
		j, err := g.store.JobByID(context.Background(), id)
		if err == nil && j.State == state {
			return j
		}
		select {
		case <-g.finished:
		case <-giveUp:
			t.Fatalf("job %d is %+v (%v), want %s", id, j, err, state)
		}
	}
}

// stepUntil moves the clock a second at a time until done holds (at most ten minutes of
// clock): each step wakes the runner and waits for its claim pass.
func (g *runnerRig) stepUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	for range 600 {
		if done() {
			return
		}
		select {
		case <-g.claimed: // an earlier pass's signal
		default:
		}
		g.clock.Advance(time.Second)
		g.r.Wake()
		select {
		case <-g.claimed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the runner made no claim pass", what)
		}
	}
	t.Fatalf("%s: not after ten minutes of clock", what)
}

// is reports whether job id is in state.
func (g *runnerRig) is(id int64, state models.JobState) bool {
	j, err := g.store.JobByID(context.Background(), id)
	return err == nil && j.State == state
}

func enqueue(t *testing.T, s *models.Store, j models.NewJob) *models.Job {
	t.Helper()
	row, err := s.Enqueue(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// A job runs once and is done; one scheduled later runs when the clock reaches its time
// and not before; a failing attempt is retried after RetryAfter on the clock, up to
// MaxAttempts; a panic fails its job and the runner goes on.
func TestRunnerRunsRetriesAndContains(t *testing.T) {
	var mu sync.Mutex
	runs := map[string][]time.Time{}
	var clk *clock.Fake
	clk = clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	t0 := clk.Now()
	handlers := map[string]Kind{
		"ok": {Handle: func(ctx context.Context, j *Job) error {
			mu.Lock()
			runs[string(j.Args)] = append(runs[string(j.Args)], clk.Now())
			mu.Unlock()
			return nil
		}},
		"flaky": {Handle: func(ctx context.Context, j *Job) error {
			mu.Lock()
			runs["flaky"] = append(runs["flaky"], clk.Now())
			mu.Unlock()
			if j.Attempts < 3 {
				return errors.New("storage unavailable")
			}
			return nil
		}},
		"panics": {Handle: func(ctx context.Context, j *Job) error { panic("boom") }},
	}
	g := newRunnerRig(t, nil, clk, handlers)
	now := enqueue(t, g.store, models.NewJob{Kind: "ok", Args: []byte(`"now"`)})
	later := enqueue(t, g.store, models.NewJob{Kind: "ok", Args: []byte(`"later"`), At: t0.Add(time.Minute)})
	flaky := enqueue(t, g.store, models.NewJob{Kind: "flaky", MaxAttempts: 3})
	boom := enqueue(t, g.store, models.NewJob{Kind: "panics", MaxAttempts: 5})
	g.r.Wake()
	g.waitJob(t, now.ID, models.JobDone)
	if j := g.waitJob(t, boom.ID, models.JobFailed); j.Attempts != 1 || j.LastError == "" {
		t.Fatalf("the panicking job: %+v, want failed after one attempt", j)
	}
	g.stepUntil(t, "the later and the flaky job", func() bool { return g.is(later.ID, models.JobDone) && g.is(flaky.ID, models.JobDone) })
	j := g.waitJob(t, flaky.ID, models.JobDone)
	mu.Lock()
	defer mu.Unlock()
	if got := runs[`"later"`]; len(got) != 1 || got[0].Before(t0.Add(time.Minute)) {
		t.Fatalf("the later job ran at %v, want once at +1m", got)
	}
	if got := runs["flaky"]; len(got) != 3 || got[1].Sub(got[0]) < 10*time.Second || got[2].Sub(got[1]) < 20*time.Second || j.Attempts != 3 {
		t.Fatalf("the flaky job ran at %v (%d attempts), want 3 runs 10 s then 20 s apart", got, j.Attempts)
	}
	if len(runs[`"now"`]) != 1 {
		t.Fatalf("the job ran %d times", len(runs[`"now"`]))
	}
}

// A job whose runner died (its lease ran out) is taken over by another: the same attempt
// goes on, TakenOver and Takeovers say so. A runner that loses its lease stops the
// handler and leaves the job to the new owner.
func TestRunnerTakeoverAndLostLease(t *testing.T) {
	started := make(chan *Job, 4)
	block := func(ctx context.Context, j *Job) error {
		started <- j
		<-ctx.Done()
		return ctx.Err()
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	dbPath := filepath.Join(t.TempDir(), "e.db")
	store, err := models.Open(context.Background(), models.Options{Database: "sqlite://" + dbPath, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	job := enqueue(t, store, models.NewJob{Kind: "rec"})
	// A dead runner holds it: claimed by "dead", its lease already out.
	if _, err := store.ClaimJobs(ctx, "dead", []string{"rec"}, clk.Now(), clk.Now().Add(-time.Millisecond), 1); err != nil {
		t.Fatal(err)
	}
	g := newRunnerRig(t, store, clk, map[string]Kind{"rec": {Handle: block}})
	got := <-started
	if !got.TakenOver || got.Takeovers != 1 || got.Attempts != 1 || got.LeaseOwner != g.r.Owner() {
		t.Fatalf("claimed %+v, want a takeover of attempt 1", got)
	}
	// Another runner took it in turn (as after this one stalled past its lease): this
	// runner's next renewal finds the lease gone.
	other, err := gorm.Open(sqlite.Open("file:"+dbPath+"?_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := other.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	if err := other.Exec(`UPDATE jobs SET lease_owner = 'other', lease_until_ms = ? WHERE id = ?`,
		clk.Now().Add(time.Hour).UnixMilli(), job.ID).Error; err != nil {
		t.Fatal(err)
	}
	g.stepUntil(t, "the handler of the lost job stops", func() bool {
		g.r.mu.Lock()
		defer g.r.mu.Unlock()
		return g.r.running[job.ID] == nil
	})
	if j, _ := store.JobByID(ctx, job.ID); j.State != models.JobRunning || j.LeaseOwner != "other" {
		t.Fatalf("after losing the lease: %+v, want the job left running to its new owner", j)
	}
}

// Cancelling: an available job is cancelled at once and never runs; a running one stops
// at its next renewal and ends cancelled. A runner that stops gives its job back without
// counting the attempt.
func TestRunnerCancelAndGracefulStop(t *testing.T) {
	started := make(chan int64, 4)
	block := func(ctx context.Context, j *Job) error {
		started <- j.ID
		<-ctx.Done()
		return ctx.Err()
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	g := newRunnerRig(t, nil, clk, map[string]Kind{"rec": {Handle: block}})
	ctx := context.Background()
	waiting := enqueue(t, g.store, models.NewJob{Kind: "rec", At: clk.Now().Add(time.Hour)})
	if ok, err := g.store.CancelJob(ctx, waiting.ID); !ok || err != nil {
		t.Fatalf("cancel an available job: %v %v", ok, err)
	}
	g.waitJob(t, waiting.ID, models.JobCancelled)
	running := enqueue(t, g.store, models.NewJob{Kind: "rec"})
	g.r.Wake()
	<-started
	if ok, err := g.store.CancelJob(ctx, running.ID); !ok || err != nil {
		t.Fatalf("cancel a running job: %v %v", ok, err)
	}
	g.stepUntil(t, "the running job cancelled", func() bool { return g.is(running.ID, models.JobCancelled) })
	if ok, _ := g.store.CancelJob(ctx, running.ID); ok {
		t.Fatal("a cancelled job was cancelled again")
	}

	kept := enqueue(t, g.store, models.NewJob{Kind: "rec"})
	g.r.Wake()
	<-started
	g.shutdown()
	if j := g.waitJob(t, kept.ID, models.JobAvailable); j.Attempts != 0 || j.LeaseOwner != "" {
		t.Fatalf("given back: %+v, want available with its attempt not counted", j)
	}
	// The next runner (a restart) goes on with it.
	next := newRunnerRig(t, g.store, clk, map[string]Kind{"rec": {Handle: block}})
	next.r.Wake()
	if id := <-started; id != kept.ID {
		t.Fatalf("the restarted runner ran job %d, want %d", id, kept.ID)
	}
}
