package handlers_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// eventOf finds the logged event of a type.
func eventOf(events []loggedEvent, eventType int) (loggedEvent, bool) {
	for _, ev := range events {
		if ev.EventType == eventType {
			return ev, true
		}
	}
	return loggedEvent{}, false
}

// A receiver failing a room's 101 does not hold back the room's 103 (issue 9, defect 3):
// by default the 103 is delivered at once while the 101 retries; with CallbackOrder
// strict it waits until the 101 has failed for good, one minute later.
func TestFailingCallbackDoesNotHoldBackTheRoom(t *testing.T) {
	for _, order := range []string{"", "strict"} {
		t.Run("order="+order, func(t *testing.T) {
			rcv := newReceiver(t, "k1")
			rcv.failIf = func(body []byte) bool {
				var b struct{ EventType int }
				json.Unmarshal(body, &b)
				return b.EventType == 101
			}
			fake := clock.NewFake(time.Now().Truncate(time.Millisecond))
			e := startDelivering(t, fake)
			configureCallbacksOrdered(t, e, rcv.srv.URL, "k1", order)
			t0 := fake.Now()
			if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":7,"UserId":"u"}`); status != 200 {
				t.Fatal(body)
			}
			attempts := func(eventType, n int) func([]loggedEvent) bool {
				return func(events []loggedEvent) bool {
					ev, ok := eventOf(events, eventType)
					return ok && len(ev.Attempts) >= n
				}
			}
			events := waitFor(t, e, "the 101's immediate retry", attempts(101, 2))
			if order == "" {
				events = waitFor(t, e, "the 103 delivered", func(ev []loggedEvent) bool {
					e103, _ := eventOf(ev, 103)
					return e103.State == "delivered"
				})
				e103, _ := eventOf(events, 103)
				if len(e103.Attempts) != 1 || !e103.Attempts[0].At.Equal(t0) {
					t.Fatalf("103 attempts %+v, want one at t0 (the clock has not moved)", e103.Attempts)
				}
				if e101, _ := eventOf(events, 101); e101.State != "pending" {
					t.Fatalf("101 is %s, want pending (retrying)", e101.State)
				}
				return
			}
			if e103, _ := eventOf(events, 103); len(e103.Attempts) != 0 {
				t.Fatalf("strict order: the 103 was attempted while the 101 was pending: %+v", e103.Attempts)
			}
			for n := 3; n <= 8; n++ {
				fake.Advance(10 * time.Second)
				waitFor(t, e, fmt.Sprintf("101 attempt %d", n), attempts(101, n))
			}
			events = waitFor(t, e, "the 103 delivered after the 101 failed", func(ev []loggedEvent) bool {
				e103, _ := eventOf(ev, 103)
				return e103.State == "delivered"
			})
			e101, _ := eventOf(events, 101)
			e103, _ := eventOf(events, 103)
			if e101.State != "failed" || len(e101.Attempts) != 8 {
				t.Fatalf("101 %s after %d attempts, want failed after 8", e101.State, len(e101.Attempts))
			}
			if got := e103.Attempts[0].At.Sub(t0); got != 60*time.Second {
				t.Fatalf("strict order: the 103 first went at +%v, want +60s (after the 101's last attempt)", got)
			}
		})
	}
}

// The delivery log keeps every attempt: its time, the exact body sent (CallbackTs = that
// time, so it differs between attempts), a Sign that verifies over that body, the status
// and the latency. The attempts follow the documented schedule: 0, immediately, +10, +20.
func TestCallbackAttemptsInTheLog(t *testing.T) {
	rcv := newReceiver(t, "logKey9")
	fake := clock.NewFake(time.Now().Truncate(time.Millisecond))
	e := startDelivering(t, fake)
	configureCallbacks(t, e, rcv.srv.URL, "logKey9")
	rcv.down.Store(true)
	t0 := fake.Now()
	if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":"logged","RoomIdType":0,"UserId":"u"}`); status != 200 {
		t.Fatal(body)
	}
	has := func(n int) func([]loggedEvent) bool {
		return func(events []loggedEvent) bool {
			ev, ok := eventOf(events, 103)
			return ok && len(ev.Attempts) == n
		}
	}
	waitFor(t, e, "two attempts", has(2))
	fake.Advance(10 * time.Second)
	waitFor(t, e, "three attempts", has(3))
	rcv.down.Store(false)
	fake.Advance(10 * time.Second)
	events := waitFor(t, e, "the 103 delivered", func(ev []loggedEvent) bool {
		e103, _ := eventOf(ev, 103)
		return e103.State == "delivered"
	})
	ev, _ := eventOf(events, 103)
	wantAt := []time.Duration{0, 0, 10 * time.Second, 20 * time.Second}
	wantStatus := []int{503, 503, 503, 200}
	if len(ev.Attempts) != len(wantAt) {
		t.Fatalf("%d attempts, want %d", len(ev.Attempts), len(wantAt))
	}
	for i, a := range ev.Attempts {
		var body struct {
			CallbackTs int64
			EventInfo  struct{ EventMsTs int64 }
		}
		if err := json.Unmarshal(a.Body, &body); err != nil {
			t.Fatalf("attempt %d body %s: %v", i+1, a.Body, err)
		}
		if got := a.At.Sub(t0); got != wantAt[i] {
			t.Errorf("attempt %d at +%v, want +%v", i+1, got, wantAt[i])
		}
		if body.CallbackTs != a.At.UnixMilli() {
			t.Errorf("attempt %d: CallbackTs %d, sent at %d", i+1, body.CallbackTs, a.At.UnixMilli())
		}
		if body.EventInfo.EventMsTs != t0.UnixMilli() {
			t.Errorf("attempt %d: EventMsTs %d, want the event's time %d", i+1, body.EventInfo.EventMsTs, t0.UnixMilli())
		}
		if !webhooks.Verify("logKey9", a.Body, a.Sign) {
			t.Errorf("attempt %d: Sign %q does not verify over %s", i+1, a.Sign, a.Body)
		}
		if a.StatusCode != wantStatus[i] || a.DurationMs < 0 {
			t.Errorf("attempt %d: status %d, latency %d ms; want %d", i+1, a.StatusCode, a.DurationMs, wantStatus[i])
		}
	}
	if string(ev.Attempts[2].Body) == string(ev.Attempts[3].Body) {
		t.Error("attempts at +10 s and +20 s sent the same body")
	}
	// The receiver got the last attempt's body byte for byte; the event shows it too.
	var got []byte
	for _, b := range rcv.received() {
		var env struct{ EventType int }
		json.Unmarshal(b, &env)
		if env.EventType == 103 {
			got = b
		}
	}
	if string(got) != string(ev.Attempts[3].Body) || string(ev.Body) != string(got) || ev.Sign != ev.Attempts[3].Sign {
		t.Fatalf("received %s; log shows %s (event) and %s (last attempt)", got, ev.Body, ev.Attempts[3].Body)
	}
}
