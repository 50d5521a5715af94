package webhooks

import "time"

// TRTC's delivery policy, seed: "Event Callbacks", "Timeout and Retry": "A notification will
// be considered failed if the callback server does not receive a response from your server
// within five seconds of message sending. It will try again immediately after the first
// failure and retry 10 seconds after every subsequent failure. The retries will stop one
// minute after the first try."
const (
	DefaultTimeout = 5 * time.Second  // an attempt without an answer within this fails
	RetryInterval  = 10 * time.Second // the grid of retries after the immediate one
	RetryWindow    = time.Minute      // no attempt is scheduled later than this after the first
)

// NextAttempt says when to try again after a failed attempt: first is when the event's
// first attempt started, startedAt and failedAt when the latest attempt started and failed
// (its answer or timeout), attempts how many have been made, the failed one included (< 1
// counts as 1).
//
// After the first failure the retry is immediate (next = failedAt). After each later one
// it is the next point of a RetryInterval grid counted from the first attempt: first+10 s,
// +20 s, … (the first grid point after startedAt and not before failedAt). Measuring each gap from its failure
// instead would let the few milliseconds every attempt takes push the last retry past the
// minute (7 attempts, the last at +50 s); on the grid the schedule is exact. ok is false,
// and the event has failed for good, when next would be later than first+RetryWindow; the
// attempt scheduled exactly at the end of the window is still made.
//
// Against a receiver that fails at once the attempts start at 0, 0, 10, 20, 30, 40, 50 and
// 60 s after the first: 8 attempts. Against one that hangs until the 5 s timeout: 0, 5,
// 10, 20, 30, 40, 50, 60 s.
func NextAttempt(first, startedAt, failedAt time.Time, attempts int) (next time.Time, ok bool) {
	if attempts <= 1 {
		next = failedAt
	} else {
		k := max(1,
			startedAt.Sub(first)/RetryInterval+1,                // after the attempt that failed
			(failedAt.Sub(first)+RetryInterval-1)/RetryInterval) // not before its failure
		next = first.Add(k * RetryInterval)
	}
	if next.After(first.Add(RetryWindow)) {
		return time.Time{}, false
	}
	return next, true
}

// Schedule lists the offsets from the first attempt at which an event is attempted when
// every attempt fails at once: the documented schedule.
func Schedule() []time.Duration {
	out := []time.Duration{0}
	first := time.Unix(0, 0)
	at := first
	for n := 1; ; n++ {
		next, ok := NextAttempt(first, at, at, n)
		if !ok {
			return out
		}
		out = append(out, next.Sub(first))
		at = next
	}
}
