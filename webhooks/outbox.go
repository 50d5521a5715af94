package webhooks

import (
	"context"
	"time"
)

// Event is one callback to deliver, as the outbox stores it.
type Event struct {
	ID       int64
	Lane     string // events of one lane (one room) are delivered one at a time, in order
	SdkAppId uint64
	URL, Key string // target and signing key ("" = send unsigned, no Sign header)
	Body     []byte // the exact bytes to send
	// FirstAttemptAt is zero before the first attempt; the one-minute retry window is
	// measured from it.
	FirstAttemptAt time.Time
	Attempts       int // attempts made so far
}

// Outcome is the result of one attempt and the event's state after it.
type Outcome struct {
	EventID  int64
	At       time.Time     // when the attempt started, by the Dispatcher's clock
	Duration time.Duration // wall time of the HTTP exchange
	// StatusCode is the receiver's HTTP status, 0 when there was no HTTP answer.
	StatusCode int
	// Error is "" on success; else why the attempt failed: the status, a timeout, a
	// refused address, a transport error.
	Error         string
	State         State     // Delivered, Pending (retry at NextAttemptAt) or Failed
	NextAttemptAt time.Time // for Pending; zero otherwise
}

// State is where an event stands in its delivery.
type State string

const (
	Pending   State = "pending"   // not delivered yet; attempted again at its next-attempt time
	Delivered State = "delivered" // a receiver answered 200
	Failed    State = "failed"    // the retry window closed without a 200
)

// Outbox is where the Dispatcher finds events and records attempts. models implements it
// over the table its operations write events into, in the transaction of the state change.
//
// A new event is Pending with its next-attempt time at its creation, Attempts 0 and a zero
// FirstAttemptAt.
type Outbox interface {
	// Due returns, for each lane not in busy, the lane's first undelivered (pending) event
	// in order if its next attempt time is <= now; at most limit events, earliest due
	// first. A lane whose first pending event is not due yet returns nothing: later events
	// of a lane never overtake earlier ones. Due must not keep or change busy.
	Due(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]Event, error)
	// Record stores an attempt and the event's new state, atomically: it appends the
	// attempt, increments Attempts, sets FirstAttemptAt to o.At if it was zero, and sets
	// the state and next-attempt time from o.
	Record(ctx context.Context, o Outcome) error
	// NextDue is the earliest next-attempt time of any pending event (ok=false if none).
	// An implementation may consider only the first pending event of each lane. A time
	// already past while Due returns nothing is not an error: the Dispatcher then waits
	// for a lane to finish, Notify or its poll interval.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
}
