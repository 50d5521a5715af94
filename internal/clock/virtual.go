package clock

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Virtual is the emulator's clock when a user drives time (TRTC_EMULATOR_CLOCK=virtual): it
// starts at a given time and moves when told (Advance, Set) and, with a scale above 0, by
// scale times the real time that passes. It is safe for concurrent use.
//
// An Advance moves time in steps, from one waiter's deadline to the next, and after each
// step runs the settlers (OnSettle): each returns once its component has done everything
// due at the step's time. So when Advance returns, whatever was due up to the new time has
// happened in deadline order, as if the time had passed for real.
type Virtual struct {
	mu       sync.Mutex
	at       time.Time // virtual time at realAt
	realAt   time.Time
	scale    float64
	waiters  []waiter
	seq      uint64
	timer    *time.Timer // fires the earliest waiter when time flows (scale > 0)
	settlers []func(context.Context)

	moving sync.Mutex // one Advance or Set at a time
}

var _ Clock = (*Virtual)(nil)

// MaxSteps bounds the steps of one Advance: a component that asks to be woken again and
// again at the same time cannot hang it.
const MaxSteps = 10_000_000

// NewVirtual returns a virtual clock at start that flows at scale (0: only when told).
func NewVirtual(start time.Time, scale float64) *Virtual {
	return &Virtual{at: start, realAt: time.Now(), scale: max(scale, 0)}
}

// Scale is how many virtual seconds pass per real second without an Advance.
func (v *Virtual) Scale() float64 { return v.scale }

// OnSettle adds a settler, run after each step of an Advance or Set with the clock at the
// step's time. It must return once its component has done what was due at that time.
func (v *Virtual) OnSettle(settle func(context.Context)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settlers = append(v.settlers, settle)
}

// AskSettled is a settler's half of the handshake with the loop it settles: it sends a
// request on req and waits until the loop closes it (once what was due is done). It gives
// up when gone is closed (the loop ended) or ctx ends.
func AskSettled(ctx context.Context, req chan<- chan struct{}, gone <-chan struct{}) {
	done := make(chan struct{})
	select {
	case req <- done:
	case <-gone:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-gone:
	case <-ctx.Done():
	}
}

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.nowLocked()
}

func (v *Virtual) nowLocked() time.Time {
	if v.scale == 0 {
		return v.at
	}
	return v.at.Add(time.Duration(float64(time.Since(v.realAt)) * v.scale))
}

// After returns a channel that receives the time once the clock has reached Now()+d.
func (v *Virtual) After(d time.Duration) <-chan time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := make(chan time.Time, 1)
	now := v.nowLocked()
	if d <= 0 {
		ch <- now
		return ch
	}
	v.seq++
	v.waiters = append(v.waiters, waiter{deadline: now.Add(d), seq: v.seq, ch: ch})
	v.armLocked()
	return ch
}

// Advance moves the clock forward by d, step by step (see Virtual), and returns when what
// was due up to the new time has happened, or when ctx ends.
func (v *Virtual) Advance(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return errors.New("clock: a negative advance")
	}
	v.moving.Lock()
	defer v.moving.Unlock()
	return v.moveTo(ctx, v.Now().Add(d))
}

// Set moves the clock to t, which must not be before Now(), as Advance does.
func (v *Virtual) Set(ctx context.Context, t time.Time) error {
	v.moving.Lock()
	defer v.moving.Unlock()
	if t.Before(v.Now()) {
		return errors.New("clock: virtual time cannot go back")
	}
	return v.moveTo(ctx, t)
}

func (v *Virtual) moveTo(ctx context.Context, target time.Time) error {
	// First what is under way now, so that its next waiters are known.
	v.mu.Lock()
	settlers := v.settlers
	v.mu.Unlock()
	for _, settle := range settlers {
		settle(ctx)
	}
	for range MaxSteps {
		if err := ctx.Err(); err != nil {
			return err
		}
		v.mu.Lock()
		step, last := target, true
		for _, w := range v.waiters {
			if w.deadline.Before(step) {
				step, last = w.deadline, false
			}
		}
		// With time flowing, the step (the target too) may already be behind: time never
		// goes back, the waiters due by now fire now.
		if now := v.nowLocked(); now.After(step) {
			step = now
		}
		v.rebaseLocked(step)
		due := v.popDueLocked(step)
		settlers := v.settlers
		v.armLocked()
		v.mu.Unlock()
		for _, w := range due {
			w.ch <- w.deadline // buffered, never blocks
		}
		for _, settle := range settlers {
			settle(ctx)
		}
		if last {
			return ctx.Err()
		}
	}
	return errors.New("clock: an advance took more than MaxSteps steps")
}

// rebaseLocked makes t the virtual time now.
func (v *Virtual) rebaseLocked(t time.Time) {
	v.at, v.realAt = t, time.Now()
}

// popDueLocked removes and returns the waiters due at t (see splitDue).
func (v *Virtual) popDueLocked(t time.Time) []waiter {
	due, keep := splitDue(v.waiters, t)
	v.waiters = keep
	return due
}

// armLocked sets the real timer for the earliest waiter when time flows on its own.
func (v *Virtual) armLocked() {
	if v.scale == 0 || len(v.waiters) == 0 {
		return
	}
	earliest := v.waiters[0].deadline
	for _, w := range v.waiters[1:] {
		if w.deadline.Before(earliest) {
			earliest = w.deadline
		}
	}
	wait := time.Duration(float64(earliest.Sub(v.nowLocked())) / v.scale)
	if v.timer == nil {
		v.timer = time.AfterFunc(wait, v.fireFlowing)
		return
	}
	v.timer.Reset(wait)
}

// fireFlowing fires the waiters that flowing time has reached.
func (v *Virtual) fireFlowing() {
	v.mu.Lock()
	due := v.popDueLocked(v.nowLocked())
	v.armLocked()
	v.mu.Unlock()
	for _, w := range due {
		w.ch <- w.deadline
	}
}
