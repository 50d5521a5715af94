package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// receiver is a real HTTP callback receiver that verifies what TRTC promises: the Sign
// header over the exact body, Content-Type and SdkAppId.
type receiver struct {
	t    testing.TB
	srv  *httptest.Server
	key  string
	down atomic.Bool
	// failIf, when set, answers 503 to the bodies it accepts (set before the first event).
	failIf func(body []byte) bool
	mu     sync.Mutex
	bodies [][]byte
	hits   atomic.Int64
}

func newReceiver(t testing.TB, key string) *receiver {
	r := &receiver{t: t, key: key}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		body, _ := io.ReadAll(req.Body)
		if r.down.Load() || r.failIf != nil && r.failIf(body) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		switch {
		case req.Method != "POST":
			r.t.Errorf("callback method %s", req.Method)
		case req.Header.Get("Content-Type") != "application/json":
			r.t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
		case req.Header.Get("SdkAppId") != strconv.Itoa(testSdkAppId):
			r.t.Errorf("SdkAppId header %q", req.Header.Get("SdkAppId"))
		case r.key != "" && !webhooks.Verify(r.key, body, req.Header.Get("Sign")):
			r.t.Errorf("bad Sign %q for %s", req.Header.Get("Sign"), body)
		case r.key == "" && req.Header.Get("Sign") != "":
			r.t.Errorf("Sign sent without a key")
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		w.Write([]byte(`{"code":0}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// waitFor polls the delivery log until cond holds (real time, for the dispatcher's work).
func waitFor(t *testing.T, e *emulator, what string, cond func([]loggedEvent) bool) []loggedEvent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		events := callbackLog(t, e, "")
		if cond(events) {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log: %+v", what, events)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func allDelivered(n int) func([]loggedEvent) bool {
	return func(events []loggedEvent) bool {
		if len(events) != n {
			return false
		}
		for _, ev := range events {
			if ev.State != "delivered" {
				return false
			}
		}
		return true
	}
}

// roomScenario makes one room go through all 11 event types.
func roomScenario(t *testing.T, e *emulator, roomId string, idType int) {
	t.Helper()
	steps := []struct{ method, path, body string }{
		{"POST", "/_emulator/v1/participants", `{"UserId":"alice","Publish":{"Video":true,"Audio":true}}`},    // 101 103 201 203
		{"POST", "/_emulator/v1/participants", `{"UserId":"bob","Role":21}`},                                  // 103
		{"PATCH", "/_emulator/v1/participants", `{"UserId":"bob","Role":20,"Publish":{"Substream":true}}`},    // 105 205
		{"PATCH", "/_emulator/v1/participants", `{"UserId":"bob","Publish":{"Substream":false}}`},             // 206
		{"PATCH", "/_emulator/v1/participants", `{"UserId":"alice","Publish":{"Video":false,"Audio":false}}`}, // 202 204
		{"POST", "/_emulator/v1/participants/leave", `{"UserId":"alice"}`},                                    // 104
		{"POST", "/_emulator/v1/participants/leave", `{"UserId":"bob","Reason":2}`},                           // 104 102
	}
	for _, s := range steps {
		var obj map[string]any
		json.Unmarshal([]byte(s.body), &obj)
		obj["RoomId"], obj["RoomIdType"] = roomId, idType
		body, _ := json.Marshal(obj)
		if status, resp := controlDo(t, e, s.method, s.path, string(body)); status != 200 {
			t.Fatalf("%s %s %s: %d %v", s.method, s.path, body, status, resp)
		}
	}
}

var scenarioTypes = []int{101, 103, 201, 203, 103, 105, 205, 206, 202, 204, 104, 104, 102}

// Every room event arrives signed, byte for byte as the log shows it; by default in any
// order (receivers reorder by EventMsTs), with CallbackOrder strict in the room's order.
func TestCallbacksDeliveredSigned(t *testing.T) {
	for _, order := range []string{"", "strict"} {
		t.Run("order="+order, func(t *testing.T) {
			rcv := newReceiver(t, "abcXYZ123")
			e := startDelivering(t, clock.System)
			configureCallbacksOrdered(t, e, rcv.srv.URL+"/trtc/callback", "abcXYZ123", order)
			roomScenario(t, e, "4321", 1)
			roomScenario(t, e, "room-b", 0)
			events := waitFor(t, e, "26 deliveries", allDelivered(2*len(scenarioTypes)))

			got := rcv.received()
			if len(got) != len(events) {
				t.Fatalf("receiver got %d callbacks, log has %d", len(got), len(events))
			}
			roomOf := func(b []byte) string {
				var env struct {
					EventInfo struct{ RoomId json.RawMessage }
				}
				json.Unmarshal(b, &env)
				return string(env.EventInfo.RoomId)
			}
			byRoom := map[string][]string{}
			for _, b := range got {
				byRoom[roomOf(b)] = append(byRoom[roomOf(b)], string(b))
			}
			logged := map[string][]string{}
			types := map[string][]int{}
			for _, ev := range events {
				id := roomOf(ev.Body)
				logged[id] = append(logged[id], string(ev.Body))
				types[id] = append(types[id], ev.EventType)
				if len(ev.Attempts) != 1 || ev.Attempts[0].StatusCode != 200 || string(ev.Attempts[0].Body) != string(ev.Body) {
					t.Fatalf("event %d attempts %+v", ev.Id, ev.Attempts)
				}
			}
			for _, id := range []string{"4321", `"room-b"`} {
				received := byRoom[id]
				if order == "" { // any order: compare as sets
					received, logged[id] = slices.Sorted(slices.Values(received)), slices.Sorted(slices.Values(logged[id]))
				}
				if fmt.Sprint(received) != fmt.Sprint(logged[id]) {
					t.Fatalf("room %s: received\n%v\nlogged\n%v", id, received, logged[id])
				}
				if !sameInts(types[id], scenarioTypes) {
					t.Fatalf("room %s: types %v", id, types[id])
				}
			}
			if last := eventInfo(t, events[len(events)-2]); last["Reason"] != json.Number("2") {
				t.Fatalf("bob's exit reason %v, want 2", last["Reason"])
			}
		})
	}
}

func TestCallbackRetryScheduleAndRedelivery(t *testing.T) {
	rcv := newReceiver(t, "k")
	// The outbox keeps milliseconds: a whole-millisecond start keeps the 60 s edge exact.
	fake := clock.NewFake(time.Now().Truncate(time.Millisecond))
	e := startDelivering(t, fake)
	configureCallbacks(t, e, rcv.srv.URL, "k")
	rcv.down.Store(true)
	t0 := fake.Now()
	if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":1,"UserId":"u"}`); status != 200 {
		t.Fatal(body)
	}
	attemptsOfFirst := func(n int) func([]loggedEvent) bool {
		return func(events []loggedEvent) bool { return len(events) == 2 && len(events[0].Attempts) == n }
	}
	// Down for 30 s: attempts at 0, 0 (immediate retry), 10, 20; up at 30 → delivered.
	waitFor(t, e, "two attempts", attemptsOfFirst(2))
	for _, n := range []int{3, 4} {
		fake.Advance(10 * time.Second)
		waitFor(t, e, fmt.Sprintf("attempt %d", n), attemptsOfFirst(n))
	}
	rcv.down.Store(false)
	fake.Advance(10 * time.Second)
	events := waitFor(t, e, "delivery after recovery", allDelivered(2))
	var offsets []time.Duration
	for _, a := range events[0].Attempts {
		offsets = append(offsets, a.At.Sub(t0).Round(time.Second))
	}
	if fmt.Sprint(offsets) != "[0s 0s 10s 20s 30s]" {
		t.Fatalf("attempt times %v, want [0s 0s 10s 20s 30s]", offsets)
	}
	// The room's second event (103) does not wait for the first (101): its own schedule
	// from t0, the same attempts.
	if a := events[1].Attempts; len(a) != 5 || a[0].At.Sub(t0) != 0 || a[4].StatusCode != 200 {
		t.Fatalf("the room's second event did not go on its own schedule from t0: %+v", a)
	}

	// Down past 60 s: attempts at 0, 0, 10 … 60 s (a receiver that fails at once), then
	// the window is closed: failed.
	rcv.down.Store(true)
	t1 := fake.Now()
	if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":2,"UserId":"u"}`); status != 200 {
		t.Fatal(body)
	}
	second := func(events []loggedEvent) loggedEvent { return events[2] }
	waitFor(t, e, "immediate retry", func(ev []loggedEvent) bool { return len(ev) == 4 && len(second(ev).Attempts) == 2 })
	for i := 0; i < 6; i++ {
		fake.Advance(10 * time.Second)
		n := 3 + i
		waitFor(t, e, fmt.Sprintf("attempt %d", n), func(ev []loggedEvent) bool { return len(second(ev).Attempts) == n })
	}
	events = waitFor(t, e, "failed", func(ev []loggedEvent) bool { return second(ev).State == "failed" })
	failed := second(events)
	if got := failed.Attempts[len(failed.Attempts)-1].At.Sub(t1).Round(time.Second); got != 60*time.Second || len(failed.Attempts) != 8 {
		t.Fatalf("%d attempts, last at %v; want 8, last at 60s", len(failed.Attempts), got)
	}
	fake.Advance(30 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(second(callbackLog(t, e, "")).Attempts); n != 8 {
		t.Fatalf("attempts after the window closed: %d", n)
	}
	// Both events of room 2 (101, 103) failed, each on its own schedule.
	if failedList := callbackLog(t, e, "?State=failed"); len(failedList) != 2 || failedList[0].Id != failed.Id {
		t.Fatalf("failed filter: %d events, want room 2's 101 and 103", len(failedList))
	}

	// Redeliver once the receiver is back.
	rcv.down.Store(false)
	if status, body := controlDo(t, e, "POST", fmt.Sprintf("/_emulator/v1/callbacks/%d/redeliver", failed.Id), ""); status != 200 || body["State"] != "pending" {
		t.Fatalf("redeliver: %d %v", status, body)
	}
	waitFor(t, e, "redelivered", func(ev []loggedEvent) bool { return second(ev).State == "delivered" })
	if status, _ := controlDo(t, e, "POST", "/_emulator/v1/callbacks/999999/redeliver", ""); status != 404 {
		t.Fatalf("redeliver of a missing event: %d", status)
	}
}
