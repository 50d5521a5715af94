package webhooks

import (
	"context"
	"time"
)

// Event is one callback to deliver, as the outbox stores it.
type Event struct {
	ID int64
	// Lane is "" for an event delivered on its own (TRTC's way: receivers reorder by
	// EventMsTs). Events sharing a non-empty lane are delivered one at a time, in order
	// (the strict ordering an application may ask for).
	Lane     string
	SdkAppId uint64
	URL, Key string // target and signing key ("" = send unsigned, no Sign header)
	// Body is the template of what is sent: each attempt sends it with TimestampField set
	// to the attempt's send time (ms), and signs those exact bytes.
	Body []byte
	// TimestampField is the top-level body field stamped per attempt ("CallbackTs";
	// "CallbackMsTs" for stream ingest); "" sends Body as it is.
	TimestampField string
	// FirstAttemptAt is zero before the first attempt; the one-minute retry window and
	// the retry grid are measured from it.
	FirstAttemptAt time.Time
	Attempts       int       // attempts made so far
	DueAt          time.Time // when the next attempt is due
}

// Outcome is the result of one attempt and the event's state after it.
type Outcome struct {
	EventID  int64
	At       time.Time     // when the attempt started, by the Dispatcher's clock: its CallbackTs
	Duration time.Duration // wall time of the HTTP exchange
	Body     []byte        // the exact bytes sent
	Sign     string        // the Sign header sent ("" when unsigned)
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
	// Due returns pending events whose next attempt time is <= now, earliest due first, at
	// most limit, leaving out the events in inFlight (handed out, outcome not recorded
	// yet) and every event of a lane but the lane's first pending one in order: later
	// events of a lane never overtake earlier ones. Due must not keep or change inFlight.
	Due(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]Event, error)
	// Record stores a batch of attempts and their events' new states in one transaction:
	// for each it appends the attempt, increments Attempts, sets FirstAttemptAt to o.At if
	// it was zero, and sets the state and next-attempt time from o. An outcome whose event
	// is no longer pending is skipped. An error means none was recorded.
	Record(ctx context.Context, batch []Outcome) error
	// NextDue is the earliest next-attempt time later than after of an event Due could
	// return then (ok=false if none).
	NextDue(ctx context.Context, after time.Time) (t time.Time, ok bool, err error)
}

// NewEventsOutbox is an Outbox that can also list its new events by id. Due has to skip
// the events in flight, which under load are most of the earliest due; asking it after
// every new event costs as much as the events in flight. An outbox whose event ids grow
// in commit order lets the Dispatcher find each new event once, past the last id it saw,
// and ask Due only for the rest: on start, on its timer, and after retries or strict-lane
// outcomes.
type NewEventsOutbox interface {
	Outbox
	// LastID is the highest event id stored, 0 if none.
	LastID(ctx context.Context) (int64, error)
	// New returns the pending events with ids above after that were never attempted, in
	// id order, at most limit, whatever their lane or due time. An event committed after
	// another has the higher id.
	New(ctx context.Context, after int64, limit int) ([]Event, error)
}
