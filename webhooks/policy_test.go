package webhooks

import (
	"testing"
	"time"
)

func TestNextAttempt(t *testing.T) {
	s := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	for _, tc := range []struct {
		name     string
		failedAt time.Time
		attempts int
		next     time.Time
		ok       bool
	}{
		{"1st failure: immediately", s(0), 1, s(0), true},
		{"1st failure after a 5 s timeout: immediately", s(5), 1, s(5), true},
		{"2nd failure: 10 s later", s(0), 2, s(10), true},
		{"2nd failure after a timeout: 10 s after it, not on a grid", s(10), 2, s(20), true},
		{"3rd failure", s(10), 3, s(20), true},
		{"7th failure at 50 s: the attempt at 60 s is still made", s(50), 7, s(60), true},
		{"8th failure at 60 s: done", s(60), 8, time.Time{}, false},
		{"a retry 1 ms past the minute is not made", s(50.001), 7, time.Time{}, false},
		{"first failure after the minute (hung receiver, long timeout)", s(61), 1, time.Time{}, false},
		{"first failure exactly at the minute: immediate retry still inside", s(60), 1, s(60), true},
		{"hung receiver: 5 s timeouts", s(40), 4, s(50), true},
		{"hung receiver: last gap would pass the minute", s(55), 5, time.Time{}, false},
		{"attempts < 1 counts as the first", s(3), 0, s(3), true},
	} {
		next, ok := NextAttempt(t0, tc.failedAt, tc.attempts)
		if ok != tc.ok || !next.Equal(tc.next) {
			t.Errorf("%s: NextAttempt(+0, +%v, %d) = +%v, %v; want +%v, %v", tc.name,
				tc.failedAt.Sub(t0), tc.attempts, next.Sub(t0), ok, tc.next.Sub(t0), tc.ok)
		}
	}
}

// Against a receiver that hangs until a 5 s timeout, attempts start at 0, 5, 20, 35, 50 s.
func TestNextAttemptHungReceiver(t *testing.T) {
	var starts []time.Duration
	at := t0
	for n := 1; ; n++ {
		starts = append(starts, at.Sub(t0))
		next, ok := NextAttempt(t0, at.Add(DefaultTimeout), n)
		if !ok {
			break
		}
		at = next
	}
	want := secs(0, 5, 20, 35, 50)
	if len(starts) != len(want) {
		t.Fatalf("starts %v, want %v", starts, want)
	}
	for i := range want {
		if starts[i] != want[i] {
			t.Fatalf("starts %v, want %v", starts, want)
		}
	}
}
