package webhooks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// memOutbox is an in-memory Outbox that honours the interface exactly and checks that the
// Dispatcher honours it too: no lane handed out twice before its attempt is recorded, no
// record of an event that is not pending or was not handed out.
type memOutbox struct {
	t testing.TB

	mu       sync.Mutex
	lanes    map[string]*memLane
	byID     map[int64]*memEvent
	nextID   int64
	out      map[string]int64 // lane → event handed out by Due and not recorded yet
	outcomes []Outcome
	changed  chan struct{} // closed and replaced on every Record
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
		out: map[string]int64{}, changed: make(chan struct{})}
}

// add stores a new pending event due at at and returns its id.
func (m *memOutbox) add(at time.Time, ev Event) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	ev.ID = m.nextID
	e := &memEvent{Event: ev, state: Pending, next: at}
	l := m.lanes[ev.Lane]
	if l == nil {
		l = &memLane{}
		m.lanes[ev.Lane] = l
	}
	l.events = append(l.events, e)
	m.byID[ev.ID] = e
	return ev.ID
}

func (m *memOutbox) Due(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var heads []*memEvent
	for name, l := range m.lanes {
		if busy[name] || l.head == len(l.events) {
			continue
		}
		if h := l.events[l.head]; !h.next.After(now) {
			heads = append(heads, h)
		}
	}
	slices.SortFunc(heads, func(a, b *memEvent) int {
		if c := a.next.Compare(b.next); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var evs []Event
	for _, h := range heads[:min(limit, len(heads))] {
		if id, ok := m.out[h.Lane]; ok {
			m.t.Errorf("Due: lane %s not in busy while event %d is in flight", h.Lane, id)
		}
		m.out[h.Lane] = h.ID
		evs = append(evs, h.Event)
	}
	return evs, nil
}

func (m *memOutbox) Record(ctx context.Context, o Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[o.EventID]
	switch {
	case e == nil:
		m.t.Errorf("Record: unknown event %d", o.EventID)
		return fmt.Errorf("unknown event %d", o.EventID)
	case e.state != Pending:
		m.t.Errorf("Record: event %d is %s", o.EventID, e.state)
	case m.out[e.Lane] != e.ID:
		m.t.Errorf("Record: event %d was not handed out", o.EventID)
	}
	delete(m.out, e.Lane)
	e.Attempts++
	if e.FirstAttemptAt.IsZero() {
		e.FirstAttemptAt = o.At
	}
	e.state, e.next = o.State, o.NextAttemptAt
	l := m.lanes[e.Lane]
	for l.head < len(l.events) && l.events[l.head].state != Pending {
		l.head++
	}
	m.outcomes = append(m.outcomes, o)
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

func (m *memOutbox) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	found := false
	for _, l := range m.lanes {
		if l.head < len(l.events) {
			if h := l.events[l.head]; !found || h.next.Before(next) {
				next, found = h.next, true
			}
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

var _ Outbox = (*memOutbox)(nil)
