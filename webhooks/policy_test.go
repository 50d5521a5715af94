package webhooks

import (
	"slices"
	"testing"
	"time"
)

func TestNextAttempt(t *testing.T) {
	s := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	for _, tc := range []struct {
		name     string
		started  time.Time
		failedAt time.Time
		attempts int
		next     time.Time
		ok       bool
	}{
		{"1st failure: immediately", s(0), s(0), 1, s(0), true},
		{"1st failure after a 5 s timeout: immediately", s(0), s(5), 1, s(5), true},
		{"2nd failure: the first grid point", s(0), s(0), 2, s(10), true},
		{"2nd failure a few ms late: still the grid point", s(0.002), s(0.004), 2, s(10), true},
		{"2nd failure after two timeouts, exactly on the grid", s(5), s(10), 2, s(10), true},
		{"2nd failure just past a grid point: the next one", s(5.001), s(10.001), 2, s(20), true},
		{"3rd failure at +10.003 (drift does not accumulate)", s(10.001), s(10.003), 3, s(20), true},
		{"a fast failure on a grid point: the next one", s(10), s(10), 3, s(20), true},
		{"7th failure at +50.009: the attempt at +60 s is still made", s(50.001), s(50.009), 7, s(60), true},
		{"8th failure at +60.002: done", s(60.001), s(60.002), 8, time.Time{}, false},
		{"8th attempt at +60 failing at once: done (no second attempt on one grid point)", s(60), s(60), 8, time.Time{}, false},
		{"first failure after the minute (hung receiver, long timeout)", s(0), s(61), 1, time.Time{}, false},
		{"first failure exactly at the minute: immediate retry still inside", s(0), s(60), 1, s(60), true},
		{"hung receiver: 5 s timeouts stay on the grid", s(40), s(45), 6, s(50), true},
		{"hung receiver: the attempt at 60 is made", s(50), s(55), 7, s(60), true},
		{"hung receiver: past the minute", s(60), s(65), 8, time.Time{}, false},
		{"attempts < 1 counts as the first", s(3), s(3), 0, s(3), true},
		{"a clock that went backwards: the first grid point", s(-1), s(-1), 2, s(10), true},
	} {
		next, ok := NextAttempt(t0, tc.started, tc.failedAt, tc.attempts)
		if ok != tc.ok || !next.Equal(tc.next) {
			t.Errorf("%s: NextAttempt(+0, +%v, +%v, %d) = +%v, %v; want +%v, %v", tc.name,
				tc.started.Sub(t0), tc.failedAt.Sub(t0), tc.attempts, next.Sub(t0), ok, tc.next.Sub(t0), tc.ok)
		}
	}
}

// The documented schedule (README "Event callbacks").
func TestSchedule(t *testing.T) {
	if got, want := Schedule(), secs(0, 0, 10, 20, 30, 40, 50, 60); !slices.Equal(got, want) {
		t.Fatalf("Schedule() = %v, want %v", got, want)
	}
}

// Against a receiver that hangs until a 5 s timeout, attempts start at 0, 5, 10, 20 … 60 s.
func TestNextAttemptHungReceiver(t *testing.T) {
	var starts []time.Duration
	at := t0
	for n := 1; ; n++ {
		starts = append(starts, at.Sub(t0))
		next, ok := NextAttempt(t0, at, at.Add(DefaultTimeout), n)
		if !ok {
			break
		}
		at = next
	}
	if want := secs(0, 5, 10, 20, 30, 40, 50, 60); !slices.Equal(starts, want) {
		t.Fatalf("starts %v, want %v", starts, want)
	}
}

// Every attempt taking a few milliseconds (a real receiver) does not lose the last one.
func TestNextAttemptWithSlowFailures(t *testing.T) {
	var starts []time.Duration
	at := t0
	for n := 1; ; n++ {
		starts = append(starts, at.Sub(t0).Truncate(time.Second))
		next, ok := NextAttempt(t0, at, at.Add(7*time.Millisecond), n)
		if !ok {
			break
		}
		at = next
	}
	if want := secs(0, 0, 10, 20, 30, 40, 50, 60); !slices.Equal(starts, want) {
		t.Fatalf("starts %v, want %v", starts, want)
	}
}
