package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// Periodic runs sweeps on cron schedules (robfig/cron/v3's syntax: "@hourly",
// "@every 10m", "30 3 * * *") on the injected clock: robfig's parser says when each run is
// due, and the clock says when that time has come, so that a fake or virtual clock moves
// the sweeps with everything else (robfig's own runner waits on the wall clock). Each
// sweep added with Add also runs once at the start (a restart catches up at once), none
// overlaps itself,
// and a sweep's error or panic is logged and the next run comes as scheduled.
type Periodic struct {
	clock   clock.Clock
	log     *slog.Logger
	entries []periodicEntry
	running atomic.Bool
	stopped chan struct{} // closed when Run returns
}

type periodicEntry struct {
	name     string
	schedule cron.Schedule
	atStart  bool
	run      func(ctx context.Context) error
	settle   chan chan struct{} // Settle's requests to the entry's loop
}

// NewPeriodic returns an empty set of sweeps on clk (clock.System when nil).
func NewPeriodic(clk clock.Clock, log *slog.Logger) *Periodic {
	if clk == nil {
		clk = clock.System
	}
	if log == nil {
		log = slog.Default()
	}
	return &Periodic{clock: clk, log: log, stopped: make(chan struct{})}
}

// Add schedules run as name on spec, and to run once when Run starts. It must be called
// before Run.
func (p *Periodic) Add(name, spec string, run func(ctx context.Context) error) error {
	return p.add(name, spec, true, run)
}

// AddScheduled is Add without the run at the start.
func (p *Periodic) AddScheduled(name, spec string, run func(ctx context.Context) error) error {
	return p.add(name, spec, false, run)
}

func (p *Periodic) add(name, spec string, atStart bool, run func(ctx context.Context) error) error {
	schedule, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("sweep %s: schedule %q: %w", name, spec, err)
	}
	p.entries = append(p.entries, periodicEntry{name: name, schedule: schedule, atStart: atStart, run: run,
		settle: make(chan chan struct{})})
	return nil
}

// Run runs every sweep now and then on its schedule until ctx ends, and returns once the
// runs under way have finished.
func (p *Periodic) Run(ctx context.Context) {
	p.running.Store(true)
	defer close(p.stopped)
	var wg sync.WaitGroup
	for _, e := range p.entries {
		wg.Go(func() { p.loop(ctx, e) })
	}
	wg.Wait()
}

// Settle returns once every sweep due at the clock's time has run (a virtual clock calls
// it after each step); at once when Run is not running.
func (p *Periodic) Settle(ctx context.Context) {
	if !p.running.Load() {
		return
	}
	for _, e := range p.entries {
		clock.AskSettled(ctx, e.settle, p.stopped)
	}
}

func (p *Periodic) loop(ctx context.Context, e periodicEntry) {
	if e.atStart {
		p.once(ctx, e)
	}
	var settled []chan struct{} // answered once the run they waited for is over
	for {
		now := p.clock.Now()
		wake := p.clock.After(e.schedule.Next(now).Sub(now))
		for _, done := range settled {
			close(done)
		}
		settled = settled[:0]
	wait:
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case done := <-e.settle:
			select {
			case <-wake: // due: answered after this run
				settled = append(settled, done)
			default: // nothing due
				close(done)
				goto wait
			}
		}
		p.once(ctx, e)
	}
}

func (p *Periodic) once(ctx context.Context, e periodicEntry) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	err := contain(func() error { return e.run(ctx) })
	if err != nil && ctx.Err() == nil {
		p.log.Error("sweep", "name", e.name, "err", err)
		return
	}
	p.log.Debug("sweep", "name", e.name, "took", time.Since(start))
}
