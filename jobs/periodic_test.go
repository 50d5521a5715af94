package jobs

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// TestPeriodicRunsOnTheInjectedClock: sweeps run at the start (Add) or not (AddScheduled),
// then at each time their robfig/cron schedule names, as the fake clock reaches it and
// never before; a failing or panicking sweep keeps its schedule; Run returns once
// cancelled. (A clock that jumps past several due times runs a sweep once, at the jump.)
func TestPeriodicRunsOnTheInjectedClock(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	p := NewPeriodic(clk, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	runs := map[string][]time.Time{}
	record := func(name string, fail error) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			runs[name] = append(runs[name], clk.Now())
			mu.Unlock()
			if name == "panics" {
				panic("boom")
			}
			return fail
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Add("hourly", "@hourly", record("hourly", nil)))
	must(p.AddScheduled("later", "@every 20m", record("later", nil)))
	must(p.Add("fails", "0 * * * *", record("fails", errors.New("disk full"))))
	must(p.Add("panics", "@hourly", record("panics", nil)))
	if err := p.Add("bad", "every hour", nil); err == nil {
		t.Fatal("a bad schedule was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	step := func(d time.Duration) {
		clk.BlockUntil(4) // every loop waits on the clock
		clk.Advance(d)
	}
	for range 9 { // to 12:00, ten minutes at a time
		step(10 * time.Minute)
	}
	clk.BlockUntil(4)
	cancel()
	<-done
	at := func(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, time.UTC) }
	want := map[string][]time.Time{
		"hourly": {t0, at(11, 0), at(12, 0)},
		"fails":  {t0, at(11, 0), at(12, 0)},
		"panics": {t0, at(11, 0), at(12, 0)},
		"later":  {at(10, 50), at(11, 10), at(11, 30), at(11, 50)},
	}
	mu.Lock()
	defer mu.Unlock()
	for name, w := range want {
		if got := runs[name]; !slices.EqualFunc(got, w, time.Time.Equal) {
			t.Errorf("%s ran at %v, want %v", name, got, w)
		}
	}
}

// TestPeriodicSettlesOnAVirtualClock: an advance of a virtual clock steps through every due
// time of a schedule (a sweep runs at each, with the clock at that time, not once at the
// end as after a plain jump), and has run them all when it returns.
func TestPeriodicSettlesOnAVirtualClock(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(t0, 0)
	p := NewPeriodic(clk, slog.New(slog.DiscardHandler))
	clk.OnSettle(p.Settle)
	var mu sync.Mutex
	var runs []time.Time
	if err := p.AddScheduled("tick", "@every 10m", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, clk.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for !p.running.Load() { // once Run is up, Advance's settles wait for its loop
		runtime.Gosched()
	}
	if err := clk.Advance(ctx, 35*time.Minute); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(runs)
	mu.Unlock()
	want := []time.Time{t0.Add(10 * time.Minute), t0.Add(20 * time.Minute), t0.Add(30 * time.Minute)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("runs at %v, want %v", got, want)
	}
}
