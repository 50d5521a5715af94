// Package clock is the time source of everything in the emulator that waits: callback
// retries, idle timers, periodic sweeps. Production code uses System; tests use a Fake and
// move time by hand. It imports nothing of ours.
package clock

import "time"

// Clock tells the time and wakes waiters.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has elapsed. A waiter that stops
	// listening need not do anything: the channel is buffered and never blocks the clock.
	After(d time.Duration) <-chan time.Time
}

// System is the wall clock.
var System Clock = wallClock{}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Poll is After for a safety poll, one that looks for work a missed notification left
// behind: on a Virtual clock it waits d of real time, so that an advance does not step
// through every poll (an idle day would be 86,400 steps); on any other clock it is
// c.After(d).
func Poll(c Clock, d time.Duration) <-chan time.Time {
	if _, ok := c.(*Virtual); ok {
		return time.After(d)
	}
	return c.After(d)
}
