package clock

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-ch:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestFakeNowAdvanceSet(t *testing.T) {
	f := NewFake(t0)
	if !f.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", f.Now(), t0)
	}
	f.Advance(90 * time.Second)
	if want := t0.Add(90 * time.Second); !f.Now().Equal(want) {
		t.Fatalf("after Advance Now = %v, want %v", f.Now(), want)
	}
	f.Set(t0)
	if !f.Now().Equal(t0) {
		t.Fatalf("after Set Now = %v, want %v", f.Now(), t0)
	}
}

func TestFakeAfterFiresAtDeadline(t *testing.T) {
	f := NewFake(t0)
	ch := f.After(10 * time.Second)
	f.Advance(9 * time.Second)
	if _, ok := fired(ch); ok {
		t.Fatal("fired 1 s early")
	}
	f.Advance(time.Second)
	got, ok := fired(ch)
	if !ok {
		t.Fatal("did not fire at its deadline")
	}
	if want := t0.Add(10 * time.Second); !got.Equal(want) {
		t.Fatalf("fired with %v, want %v", got, want)
	}
	f.Advance(time.Hour)
	if _, ok := fired(ch); ok {
		t.Fatal("fired twice")
	}
}

func TestFakeAfterNonPositiveFiresAtOnce(t *testing.T) {
	f := NewFake(t0)
	for _, d := range []time.Duration{0, -time.Second} {
		if got, ok := fired(f.After(d)); !ok || !got.Equal(t0) {
			t.Fatalf("After(%v): fired=%v with %v, want at once with %v", d, ok, got, t0)
		}
	}
	if n := f.Waiters(); n != 0 {
		t.Fatalf("Waiters = %d, want 0", n)
	}
}

func TestFakeFiresDueWaitersInDeadlineOrder(t *testing.T) {
	f := NewFake(t0)
	// Registered out of order; two share a deadline and keep registration order.
	ds := []time.Duration{5 * time.Second, time.Second, 3 * time.Second, time.Second, 20 * time.Second}
	for _, d := range ds {
		f.After(d)
	}
	f.mu.Lock()
	due := f.popDue(t0.Add(10 * time.Second))
	f.mu.Unlock()
	var got []time.Duration
	for _, w := range due {
		got = append(got, w.deadline.Sub(t0))
	}
	want := []time.Duration{time.Second, time.Second, 3 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("due order %v, want %v", got, want)
	}
	if due[0].seq > due[1].seq {
		t.Fatal("equal deadlines not in registration order")
	}
	if n := f.Waiters(); n != 1 {
		t.Fatalf("Waiters = %d, want 1 (the 20 s one)", n)
	}
}

func TestFakeAdvanceFiresEveryDueWaiter(t *testing.T) {
	f := NewFake(t0)
	ds := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, time.Minute}
	chans := make([]<-chan time.Time, len(ds))
	for i, d := range ds {
		chans[i] = f.After(d)
	}
	f.Advance(10 * time.Second)
	for i, ch := range chans[:3] {
		got, ok := fired(ch)
		if !ok || !got.Equal(t0.Add(ds[i])) {
			t.Fatalf("waiter %d: fired=%v with %v, want its deadline %v", i, ok, got, t0.Add(ds[i]))
		}
	}
	if _, ok := fired(chans[3]); ok {
		t.Fatal("the 1 min waiter fired after 10 s")
	}
	f.Set(t0.Add(time.Minute))
	if _, ok := fired(chans[3]); !ok {
		t.Fatal("Set did not fire the 1 min waiter")
	}
}

func TestFakeSetBackwardsFiresNothing(t *testing.T) {
	f := NewFake(t0)
	ch := f.After(time.Second)
	f.Set(t0.Add(-time.Hour))
	if _, ok := fired(ch); ok {
		t.Fatal("moving backwards fired a waiter")
	}
	f.Set(t0.Add(time.Second))
	if _, ok := fired(ch); !ok {
		t.Fatal("waiter did not fire at its deadline after moving back and forth")
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(t0)
	woke := make(chan time.Time)
	go func() { woke <- <-f.After(time.Second) }()
	f.BlockUntil(1) // returns only once the goroutine is waiting
	f.Advance(time.Second)
	select {
	case got := <-woke:
		if want := t0.Add(time.Second); !got.Equal(want) {
			t.Fatalf("woke with %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sleeper did not wake")
	}
}

func TestFakeConcurrentUse(t *testing.T) {
	f := NewFake(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				<-f.After(time.Millisecond)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		default:
			f.Advance(time.Millisecond)
			_ = f.Now()
			_ = f.Waiters()
			runtime.Gosched()
		}
	}
}

func TestSystem(t *testing.T) {
	before := time.Now()
	got := <-System.After(time.Millisecond)
	if got.Before(before) || System.Now().Before(got) {
		t.Fatalf("System times out of order: %v, %v", before, got)
	}
}
