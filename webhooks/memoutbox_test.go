package webhooks

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// memOutbox is an in-memory Outbox that honours the interface exactly and checks that the
// Dispatcher honours it too: no record of an event that is not pending or was not handed
// out.
type memOutbox struct {
	t testing.TB

	mu       sync.Mutex
	events   []*memEvent // in id order
	lanes    map[string]*memLane
	byID     map[int64]*memEvent
	nextID   int64
	out      map[int64]bool // handed out by Due and not recorded yet
	outcomes []Outcome
	batches  int
	// calls of Due, New and LastID
	dueCalls, newCalls, lastIDCalls int
	changed                         chan struct{} // closed and replaced on every Record
}

type memLane struct {
	events []*memEvent
	head   int // first event not delivered or failed
}

type memEvent struct {
	Event
	state State
	next  time.Time
}

func newMemOutbox(t testing.TB) *memOutbox {
	return &memOutbox{t: t, lanes: map[string]*memLane{}, byID: map[int64]*memEvent{},
		out: map[int64]bool{}, changed: make(chan struct{})}
}

// add stores a new pending event due at at and returns its id.
func (m *memOutbox) add(at time.Time, ev Event) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	ev.ID = m.nextID
	e := &memEvent{Event: ev, state: Pending, next: at}
	m.events = append(m.events, e)
	if ev.Lane != "" {
		l := m.lanes[ev.Lane]
		if l == nil {
			l = &memLane{}
			m.lanes[ev.Lane] = l
		}
		l.events = append(l.events, e)
	}
	m.byID[ev.ID] = e
	return ev.ID
}

// eligible says whether e may be handed out: pending, and its lane's head if it has one.
func (m *memOutbox) eligible(e *memEvent) bool {
	if e.state != Pending {
		return false
	}
	if e.Lane == "" {
		return true
	}
	l := m.lanes[e.Lane]
	return l.events[l.head] == e
}

func (m *memOutbox) Due(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dueCalls++
	var due []*memEvent
	for _, e := range m.events {
		if m.eligible(e) && !inFlight[e.ID] && !e.next.After(now) {
			due = append(due, e)
		}
	}
	slices.SortStableFunc(due, func(a, b *memEvent) int {
		if c := a.next.Compare(b.next); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var evs []Event
	for _, e := range due[:min(limit, len(due))] {
		// An event handed out again before the Dispatcher released it is refused by the
		// Dispatcher (a lane still busy in its books); the receivers' exactly-once checks
		// catch a double attempt.
		m.out[e.ID] = true
		ev := e.Event
		ev.DueAt = e.next
		evs = append(evs, ev)
	}
	return evs, nil
}

func (m *memOutbox) LastID(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastIDCalls++
	return m.nextID, nil
}

func (m *memOutbox) New(ctx context.Context, after int64, limit int) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.newCalls++
	var evs []Event
	for _, e := range m.events {
		if e.ID > after && e.state == Pending && e.Attempts == 0 && len(evs) < limit {
			m.out[e.ID] = true
			ev := e.Event
			ev.DueAt = e.next
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

func (m *memOutbox) Record(ctx context.Context, batch []Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches++
	for _, o := range batch {
		e := m.byID[o.EventID]
		switch {
		case e == nil:
			m.t.Errorf("Record: unknown event %d", o.EventID)
			continue
		case e.state != Pending:
			m.t.Errorf("Record: event %d is %s", o.EventID, e.state)
		case !m.out[e.ID]:
			m.t.Errorf("Record: event %d was not handed out", o.EventID)
		}
		delete(m.out, e.ID)
		e.Attempts++
		if e.FirstAttemptAt.IsZero() {
			e.FirstAttemptAt = o.At
		}
		e.state, e.next = o.State, o.NextAttemptAt
		if l := m.lanes[e.Lane]; l != nil {
			for l.head < len(l.events)-1 && l.events[l.head].state != Pending {
				l.head++
			}
		}
		m.outcomes = append(m.outcomes, o)
	}
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

func (m *memOutbox) NextDue(ctx context.Context, after time.Time) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	found := false
	for _, e := range m.events {
		if m.eligible(e) && e.next.After(after) && (!found || e.next.Before(next)) {
			next, found = e.next, true
		}
	}
	return next, found, nil
}

// attempts returns a copy of every recorded outcome, in recording order.
func (m *memOutbox) attempts() []Outcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.outcomes)
}

// event returns the stored state of event id.
func (m *memOutbox) event(id int64) memEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.byID[id]
}

// waitAttempts waits (in wall time) until n attempts are recorded.
func (m *memOutbox) waitAttempts(n int) {
	m.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		got, ch := len(m.outcomes), m.changed
		m.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			m.t.Fatalf("%d attempts recorded after 10 s, want %d", got, n)
		}
	}
}

// calls returns how many times Due and New were called.
func (m *memOutbox) calls() (due, new int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dueCalls, m.newCalls
}

// dueOnly hides an outbox's New: the Dispatcher asks Due for everything.
type dueOnly struct{ Outbox }

var (
	_ NewEventsOutbox = (*memOutbox)(nil)
	_ Outbox          = dueOnly{}
)
