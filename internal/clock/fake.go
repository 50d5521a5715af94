package clock

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to, for tests. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	changed *sync.Cond // broadcast when waiters are added
	now     time.Time
	waiters []waiter
	seq     uint64
}

type waiter struct {
	deadline time.Time
	seq      uint64 // registration order, to fire equal deadlines in order
	ch       chan time.Time
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake {
	f := &Fake{now: start}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns a channel that receives its deadline, Now()+d, once the clock has been
// moved to or past it, as if time had stepped through each deadline in turn. A d <= 0
// fires at once with Now().
func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.seq++
	f.waiters = append(f.waiters, waiter{deadline: f.now.Add(d), seq: f.seq, ch: ch})
	f.changed.Broadcast()
	return ch
}

// Advance moves the clock by d and fires, in deadline order, every waiter whose deadline
// has been reached.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves the clock to t (backwards too) and fires, in deadline order, every waiter whose
// deadline is at or before t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(t)
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	for _, w := range f.popDue(t) {
		w.ch <- w.deadline // buffered, never blocks
	}
}

// popDue removes and returns the waiters due at t (see splitDue).
func (f *Fake) popDue(t time.Time) []waiter {
	due, keep := splitDue(f.waiters, t)
	f.waiters = keep
	return due
}

// splitDue splits waiters into those due at t, earliest deadline first and equal deadlines
// in registration order, and the others.
func splitDue(ws []waiter, t time.Time) (due, keep []waiter) {
	for _, w := range ws {
		if w.deadline.After(t) {
			keep = append(keep, w)
		} else {
			due = append(due, w)
		}
	}
	slices.SortFunc(due, func(a, b waiter) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return due, keep
}

// Waiters is the number of After channels that have not fired yet, including those whose
// receiver has stopped listening.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil returns once at least n After channels are waiting to fire: a test calls it to
// know the code under test has gone to sleep before it moves the clock.
func (f *Fake) BlockUntil(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.waiters) < n {
		f.changed.Wait()
	}
}
