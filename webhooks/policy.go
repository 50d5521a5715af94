package webhooks

import "time"

// TRTC's delivery policy, seed: "Event Callbacks", "Timeout and Retry": "A notification will
// be considered failed if the callback server does not receive a response from your server
// within five seconds of message sending. It will try again immediately after the first
// failure and retry 10 seconds after every subsequent failure. The retries will stop one
// minute after the first try."
const (
	DefaultTimeout = 5 * time.Second  // an attempt without an answer within this fails
	RetryInterval  = 10 * time.Second // gap after every failure but the first
	RetryWindow    = time.Minute      // no attempt starts later than this after the first
)

// NextAttempt says when to try again after a failed attempt: first is when the event's
// first attempt started, failedAt when the latest attempt failed (its answer or timeout),
// attempts how many have been made, the failed one included (< 1 counts as 1).
//
// After the first failure the retry is immediate (next = failedAt); after each later one
// it is RetryInterval after that failure. Gaps are measured from each failure, not on a
// 10 s grid from the first attempt: the seed says "10 seconds after every subsequent
// failure", so a receiver that hangs until the 5 s timeout gets attempts 15 s apart.
// ok is false, and the event has failed for good, when next would be later than
// first+RetryWindow; an attempt exactly at the end of the window is still made.
//
// Against a receiver that fails at once, the attempts are at 0, 0, 10, 20, 30, 40, 50 and
// 60 s after the first: 8 attempts.
func NextAttempt(first, failedAt time.Time, attempts int) (next time.Time, ok bool) {
	next = failedAt
	if attempts > 1 {
		next = failedAt.Add(RetryInterval)
	}
	if next.After(first.Add(RetryWindow)) {
		return time.Time{}, false
	}
	return next, true
}
