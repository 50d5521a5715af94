package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

// ticker is a component that wakes every period on clk and notes the time it saw; its
// settle returns once it has handled every wake-up that has fired.
type ticker struct {
	clk    *Virtual
	period time.Duration
	seen   []time.Time
	req    chan chan struct{}
}

func newTicker(clk *Virtual, period time.Duration) *ticker {
	tk := &ticker{clk: clk, period: period, req: make(chan chan struct{})}
	clk.OnSettle(tk.settle)
	return tk
}

func (tk *ticker) run(ctx context.Context) {
	wake := tk.clk.After(tk.period)
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			tk.seen = append(tk.seen, tk.clk.Now())
			wake = tk.clk.After(tk.period)
		case done := <-tk.req:
			// A wake-up that fired before the request is handled first.
			select {
			case <-wake:
				tk.seen = append(tk.seen, tk.clk.Now())
				wake = tk.clk.After(tk.period)
			default:
			}
			close(done)
		}
	}
}

func (tk *ticker) settle(ctx context.Context) { AskSettled(ctx, tk.req, nil) }

func TestVirtualMovesOnlyWhenTold(t *testing.T) {
	ctx := context.Background()
	v := NewVirtual(t0, 0)
	ch := v.After(time.Minute)
	if !v.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", v.Now(), t0)
	}
	if _, ok := fired(ch); ok {
		t.Fatal("a waiter fired before the clock moved")
	}
	if err := v.Advance(ctx, 59*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := fired(ch); ok {
		t.Fatal("fired a second early")
	}
	if err := v.Set(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if at, ok := fired(ch); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("fired = %v %v, want at %v", at, ok, t0.Add(time.Minute))
	}
	if err := v.Set(ctx, t0); err == nil {
		t.Fatal("Set moved the clock back")
	}
	if err := v.Advance(ctx, -time.Second); err == nil {
		t.Fatal("a negative Advance was accepted")
	}
	if want := t0.Add(time.Minute); !v.Now().Equal(want) {
		t.Fatalf("Now = %v, want %v", v.Now(), want)
	}
}

// TestVirtualAdvanceSteps: a component that sleeps 10 s at a time wakes at each of its
// deadlines within one Advance, sees the clock at that deadline, and has handled the last
// one when Advance returns.
func TestVirtualAdvanceSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	v := NewVirtual(t0, 0)
	tk := newTicker(v, 10*time.Second)
	var steps []time.Time
	v.OnSettle(func(context.Context) { steps = append(steps, v.Now()) })
	done := make(chan struct{})
	go func() { defer close(done); tk.run(ctx) }()
	tk.settle(ctx) // running, its first wake-up registered
	if err := v.Advance(ctx, 35*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{t0.Add(10 * time.Second), t0.Add(20 * time.Second), t0.Add(30 * time.Second)}
	seen := slices.Clone(tk.seen) // the ticker is in its select: settled
	if !slices.EqualFunc(seen, want, time.Time.Equal) {
		t.Fatalf("the ticker saw %v, want %v", seen, want)
	}
	// First a settle where the clock stands, then one per deadline and at the target.
	if wantSteps := append([]time.Time{t0}, append(want, t0.Add(35*time.Second))...); !slices.EqualFunc(steps, wantSteps, time.Time.Equal) {
		t.Fatalf("steps at %v, want %v", steps, wantSteps)
	}
	if !v.Now().Equal(t0.Add(35 * time.Second)) {
		t.Fatalf("Now = %v", v.Now())
	}
	cancel()
	<-done
}

// TestVirtualStepsInDeadlineOrder: waiters registered out of order fire in deadline order,
// each with the clock at its own deadline.
func TestVirtualStepsInDeadlineOrder(t *testing.T) {
	ctx := context.Background()
	v := NewVirtual(t0, 0)
	late, early := v.After(20*time.Second), v.After(5*time.Second)
	var order []string
	v.OnSettle(func(context.Context) {
		if _, ok := fired(early); ok {
			order = append(order, "early@"+v.Now().Sub(t0).String())
		}
		if _, ok := fired(late); ok {
			order = append(order, "late@"+v.Now().Sub(t0).String())
		}
	})
	if err := v.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := []string{"early@5s", "late@20s"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// TestVirtualScaleFlows: with a scale, time passes on its own, scale times faster than
// real time, and waiters fire without an Advance.
func TestVirtualScaleFlows(t *testing.T) {
	v := NewVirtual(t0, 3600) // an hour a second
	ch := v.After(30 * time.Minute)
	select {
	case at := <-ch:
		if at.Before(t0.Add(30 * time.Minute)) { // registered a moment after t0
			t.Fatalf("fired with %v", at)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a waiter 30 virtual minutes away did not fire in 20 real seconds at scale 3600")
	}
	if now := v.Now(); now.Before(t0.Add(30 * time.Minute)) {
		t.Fatalf("Now = %v after the waiter fired", now)
	}
	// An Advance adds to the flowing time.
	before := v.Now()
	if err := v.Advance(context.Background(), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if v.Now().Sub(before) < 24*time.Hour {
		t.Fatalf("Advance of 24 h moved %v", v.Now().Sub(before))
	}
}

func TestVirtualAdvanceStopsWithContext(t *testing.T) {
	v := NewVirtual(t0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	settles := 0
	v.OnSettle(func(context.Context) {
		if settles++; settles == 2 { // the settle where the clock stood, then the first step
			cancel()
		}
	})
	v.After(time.Second)
	v.After(2 * time.Second)
	if err := v.Advance(ctx, time.Minute); err == nil {
		t.Fatal("Advance went on after its context ended")
	}
	if want := t0.Add(time.Second); !v.Now().Equal(want) {
		t.Fatalf("Now = %v, want the first step %v", v.Now(), want)
	}
}
