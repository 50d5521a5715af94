package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// sentRequest is what a test receiver got.
type sentRequest struct {
	body []byte
	sign string
}

// recordingReceiver answers 503 while fail(body) is true, else 200, and keeps every
// request it got.
type recordingReceiver struct {
	mu   sync.Mutex
	reqs []sentRequest
}

func (r *recordingReceiver) start(t *testing.T, fail func(body []byte) bool, during func()) string {
	return receiver(t, func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, sentRequest{body, req.Header.Get("Sign")})
		r.mu.Unlock()
		if during != nil {
			during()
		}
		if fail(body) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
}

func (r *recordingReceiver) got() []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// Events without a lane (TRTC's way) do not wait for each other: a receiver failing event
// A of a room does not delay event B of the same room, with the clock stopped at t0.
func TestNoHeadOfLineBlocking(t *testing.T) {
	var rcv recordingReceiver
	url := rcv.start(t, func(body []byte) bool { return string(body) == `{"Seq":"A","CallbackTs":0}` }, nil)
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	d, _ := start(t, Config{Outbox: ob, Clock: clk})
	a := ob.add(t0, Event{SdkAppId: 1, URL: url, Body: []byte(`{"Seq":"A","CallbackTs":0}`)})
	b := ob.add(t0, Event{SdkAppId: 1, URL: url, Body: []byte(`{"Seq":"B","CallbackTs":0}`)})
	d.Notify()
	ob.waitAttempts(3) // A, A's immediate retry, B
	if e := ob.event(b); e.state != Delivered || !e.FirstAttemptAt.Equal(t0) {
		t.Fatalf("B: %s, first attempt at %v; want delivered at t0 while A fails", e.state, e.FirstAttemptAt.Sub(t0))
	}
	if e := ob.event(a); e.state != Pending || e.Attempts != 2 || !e.next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("A: %s after %d attempts, next %v; want pending until +10s", e.state, e.Attempts, e.next.Sub(t0))
	}
}

// Each attempt sends the body stamped with its own send time (CallbackTs = the clock at the
// attempt, ms) and a Sign over exactly those bytes; the outcome keeps both.
func TestCallbackTsAndSignPerAttempt(t *testing.T) {
	var rcv recordingReceiver
	fails := 3
	url := rcv.start(t, func([]byte) bool { fails--; return fails >= 0 }, nil)
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	d, stop := start(t, Config{Outbox: ob, Clock: clk})
	template := []byte(`{"EventGroupId":1,"EventType":103,"CallbackTs":1000,"EventInfo":{"RoomId":1,"EventMsTs":1000}}`)
	ob.add(t0, Event{SdkAppId: 1, URL: url, Key: testKey, Body: template, TimestampField: "CallbackTs"})
	d.Notify()
	at := secs(0, 0, 10, 20)
	stepTo(t, clk, ob, t0, 25, func(s int) int { return countUpTo(s, at) }, nil)
	stop()

	reqs, outcomes := rcv.got(), ob.attempts()
	if len(reqs) != 4 || len(outcomes) != 4 {
		t.Fatalf("%d requests, %d outcomes; want 4", len(reqs), len(outcomes))
	}
	seen := map[int64]bool{}
	for i, r := range reqs {
		var b struct {
			CallbackTs int64
			EventInfo  struct{ EventMsTs int64 }
		}
		if err := json.Unmarshal(r.body, &b); err != nil {
			t.Fatal(err)
		}
		o := outcomes[i]
		if want := t0.Add(at[i]).UnixMilli(); b.CallbackTs != want || o.At.UnixMilli() != want {
			t.Errorf("attempt %d: CallbackTs %d, outcome at %d; want the send time %d", i+1, b.CallbackTs, o.At.UnixMilli(), want)
		}
		if i >= 2 && seen[b.CallbackTs] {
			t.Errorf("attempt %d repeats CallbackTs %d", i+1, b.CallbackTs)
		}
		seen[b.CallbackTs] = true
		if b.EventInfo.EventMsTs != 1000 {
			t.Errorf("attempt %d changed EventMsTs: %s", i+1, r.body)
		}
		if !Verify(testKey, r.body, r.sign) {
			t.Errorf("attempt %d: Sign %q does not verify over %s", i+1, r.sign, r.body)
		}
		if string(o.Body) != string(r.body) || o.Sign != r.sign {
			t.Errorf("attempt %d: outcome keeps %s / %s, receiver got %s / %s", i+1, o.Body, o.Sign, r.body, r.sign)
		}
	}
	if reqs[2].sign == reqs[3].sign {
		t.Error("two attempts with different CallbackTs share a Sign")
	}
}

// Attempts that each take a little time (here 7 ms of the fake clock, as a real receiver
// does) stay on the 10 s grid from the first: 0, immediately, +10 … +60 s, 8 attempts,
// the last inside the minute. Gaps measured from each failure drifted the last past +60 s.
func TestRetryGridWithSlowReceiver(t *testing.T) {
	var rcv recordingReceiver
	clk := clock.NewFake(t0)
	url := rcv.start(t, func([]byte) bool { return true }, func() { clk.Advance(7 * time.Millisecond) })
	ob := newMemOutbox(t)
	d, stop := start(t, Config{Outbox: ob, Clock: clk})
	id := ob.add(t0, Event{SdkAppId: 1, URL: url, Body: []byte(`{}`)})
	d.Notify()
	ob.waitAttempts(2)
	for s := 10; s <= 90; s += 10 {
		clk.Set(t0.Add(time.Duration(s) * time.Second))
		if s <= 60 {
			ob.waitAttempts(2 + s/10)
		}
	}
	clk.BlockUntil(1) // the loop looked at t0+90 s and waits again; stop waits for any attempt it began
	stop()
	var got []time.Duration
	for _, o := range ob.attempts() {
		got = append(got, o.At.Sub(t0))
	}
	want := []time.Duration{0, 7 * time.Millisecond, 10 * time.Second, 20 * time.Second, 30 * time.Second,
		40 * time.Second, 50 * time.Second, 60 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("attempts at %v, want %v", got, want)
	}
	if e := ob.event(id); e.state != Failed {
		t.Fatalf("event %s, want failed after the last attempt", e.state)
	}
}

// Outcomes finishing together are recorded in one outbox call (one transaction).
func TestOutcomesRecordedInBatches(t *testing.T) {
	release := make(chan struct{})
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	ob := newMemOutbox(t)
	const n = 8
	for range n {
		ob.add(t0, Event{SdkAppId: 1, URL: url, Body: []byte(`{}`)})
	}
	// The first record blocks until every attempt has finished, so the rest queue up.
	blocking := &blockingOutbox{memOutbox: ob, gate: make(chan struct{})}
	d, stop := start(t, Config{Outbox: blocking, Clock: clock.NewFake(t0)})
	d.Notify()
	close(release)
	// Every attempt finishes and its outcome queues behind the first record.
	for giveUp := time.Now().Add(10 * time.Second); d.unrecorded.Load() < n; runtime.Gosched() {
		if time.Now().After(giveUp) {
			t.Fatalf("%d of %d outcomes reached the recorder", d.unrecorded.Load(), n)
		}
	}
	close(blocking.gate)
	ob.waitAttempts(n)
	stop()
	ob.mu.Lock()
	batches := ob.batches
	ob.mu.Unlock()
	if batches > 2 {
		t.Fatalf("%d outcomes recorded in %d calls, want at most 2", n, batches)
	}
}

// blockingOutbox holds its first Record until gate is closed.
type blockingOutbox struct {
	*memOutbox
	gate chan struct{}
	once sync.Once
}

func (b *blockingOutbox) Record(ctx context.Context, batch []Outcome) error {
	b.once.Do(func() { <-b.gate })
	return b.memOutbox.Record(ctx, batch)
}
