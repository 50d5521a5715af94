package webhooks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// sequenced is a receiver keeping the Seq of every body per Lane, failing the first
// attempt of the bodies fail says, and counting requests per Seq and Lane.
type sequenced struct {
	mu        sync.Mutex
	delivered map[string][]int // lane → seqs answered 200, in arrival order
	requests  map[string]int   // "lane/seq" → requests
}

func (s *sequenced) start(t *testing.T, fail func(lane string, seq int) bool) string {
	s.delivered, s.requests = map[string][]int{}, map[string]int{}
	return receiver(t, func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Lane string
			Seq  int
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Errorf("receiver: %v", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		id := fmt.Sprint(b.Lane, "/", b.Seq)
		s.requests[id]++
		if s.requests[id] == 1 && fail(b.Lane, b.Seq) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.delivered[b.Lane] = append(s.delivered[b.Lane], b.Seq)
	})
}

func seqBody(lane string, seq int) []byte { return fmt.Appendf(nil, `{"Lane":%q,"Seq":%d}`, lane, seq) }

// Events committed while the Dispatcher runs are found past the last id it saw: a burst
// notified one by one asks Due only once, at the start (before, Due was asked after every
// event and scanned every event in flight each time). Each is delivered exactly once.
func TestNewEventsFoundWithoutDue(t *testing.T) {
	var rcv sequenced
	url := rcv.start(t, func(string, int) bool { return false })
	ob := newMemOutbox(t)
	ob.add(t0, Event{URL: url, Body: seqBody("", 0)}) // stored before the start: Due's
	clk := clock.NewFake(t0)                          // stopped: no timer fires
	d, stop := start(t, Config{Outbox: ob, Clock: clk})
	ob.waitAttempts(1)
	const burst = 300
	for seq := 1; seq <= burst; seq++ {
		ob.add(t0, Event{URL: url, Body: seqBody("", seq)})
		d.Notify()
	}
	ob.waitAttempts(1 + burst)
	stop()
	due, fresh := ob.calls()
	if due != 1 || fresh == 0 {
		t.Fatalf("Due asked %d times, New %d times; want Due once (the start) and New for the burst", due, fresh)
	}
	for id, n := range rcv.requests {
		if n != 1 {
			t.Errorf("event %s sent %d times", id, n)
		}
	}
	if got := len(rcv.delivered[""]); got != 1+burst {
		t.Fatalf("%d delivered, want %d", got, 1+burst)
	}
}

// New events that need Due go to it: strict-lane events keep their order, a failed first
// attempt is retried at once (the clock is stopped: no timer finds them), and an event
// due later waits for its time. The same with an outbox that has only Due.
func TestNewEventsLanesRetriesAndLaterEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*memOutbox) Outbox
	}{
		{"new events", func(m *memOutbox) Outbox { return m }},
		{"due only", func(m *memOutbox) Outbox { return dueOnly{m} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const lanes, perLane, free = 3, 20, 30
			var rcv sequenced
			url := rcv.start(t, func(lane string, seq int) bool { return seq%4 == 1 })
			ob := newMemOutbox(t)
			clk := clock.NewFake(t0)
			d, stop := start(t, Config{Outbox: tc.wrap(ob), Clock: clk})
			clk.BlockUntil(1) // the loop waits
			for seq := range perLane {
				for l := range lanes {
					ob.add(t0, Event{Lane: fmt.Sprint("room/", l), URL: url, Body: seqBody(fmt.Sprint("room/", l), seq)})
					d.Notify()
				}
			}
			for seq := range free {
				ob.add(t0, Event{URL: url, Body: seqBody("", seq)})
				d.Notify()
			}
			later := ob.add(t0.Add(PollInterval/2), Event{URL: url, Body: seqBody("later", 0)})
			d.Notify()
			failures := 0
			for seq := range max(perLane, free) {
				if seq%4 == 1 {
					failures += lanes*b2i(seq < perLane) + b2i(seq < free)
				}
			}
			ob.waitAttempts(lanes*perLane + free + failures)
			if e := ob.event(later); e.Attempts != 0 {
				t.Fatalf("the event due later was attempted %d times before its time", e.Attempts)
			}
			clk.Advance(PollInterval / 2)
			ob.waitAttempts(lanes*perLane + free + failures + 1)
			stop()
			for l := range lanes {
				lane := fmt.Sprint("room/", l)
				if got := rcv.delivered[lane]; len(got) != perLane || !slices.IsSorted(got) {
					t.Errorf("lane %s delivered %v, want 0..%d in order", lane, got, perLane-1)
				}
			}
			if got := len(rcv.delivered[""]); got != free {
				t.Errorf("%d events without a lane delivered, want %d", got, free)
			}
			if o := ob.attempts(); !o[len(o)-1].At.Equal(t0.Add(PollInterval / 2)) {
				t.Errorf("the later event was attempted at %v, want at its time", o[len(o)-1].At.Sub(t0))
			}
		})
	}
}

// A stored event made due again (a redelivery) is found on Rescan, though its id is
// below the last one seen and the clock does not move.
func TestRescanFindsRedeliveredEvent(t *testing.T) {
	var rcv sequenced
	url := rcv.start(t, func(string, int) bool { return false })
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	d, stop := start(t, Config{Outbox: ob, Clock: clk})
	id := ob.add(t0, Event{URL: url, Body: seqBody("", 7)})
	d.Notify()
	ob.waitAttempts(1)
	ob.mu.Lock()
	e := ob.byID[id]
	e.state, e.Attempts, e.FirstAttemptAt = Pending, 0, time.Time{}
	ob.mu.Unlock()
	d.Rescan()
	ob.waitAttempts(2)
	stop()
	if n := rcv.requests["/7"]; n != 2 {
		t.Fatalf("the redelivered event was sent %d times, want 2", n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
