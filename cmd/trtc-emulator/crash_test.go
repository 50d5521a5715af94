package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

type logEntry struct {
	Id       int64
	State    string
	Body     json.RawMessage
	Attempts []struct{ StatusCode int }
}

func callbackLog(t *testing.T, addr string) []logEntry {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/_emulator/v1/callbacks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Callbacks []logEntry }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Callbacks
}

// TestPendingCallbacksSurviveSIGKILL: events written while the receiver is down survive a
// SIGKILL of the emulator and are delivered, each once, after a restart on the same data.
func TestPendingCallbacksSurviveSIGKILL(t *testing.T) {
	// A port with nothing listening yet: deliveries are refused until the receiver starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcvAddr := ln.Addr().String()
	ln.Close()

	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=http://" + rcvAddr + "/cb",
		"TRTC_EMULATOR_CALLBACK_KEY=crashKey1"}
	p := start(t, env)
	for _, u := range []string{"a", "b", "c"} {
		resp, err := http.Post("http://"+p.addr+"/_emulator/v1/participants", "application/json",
			strings.NewReader(`{"RoomId":"88","UserId":"`+u+`","Publish":{"Audio":true}}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("enter %s: %v %v", u, resp, err)
		}
		resp.Body.Close()
	}
	// 101, then 103 + 203 per user: 7 events, the first already failing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := callbackLog(t, p.addr)
		if len(log) == 7 && len(log[len(log)-1].Attempts) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events before the kill: %+v", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := callbackLog(t, p.addr)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.exited <- nil

	var mu sync.Mutex
	got := map[string]int{} // by body without CallbackTs (each attempt stamps its own)
	var restartedAt time.Time
	rcvLn, err := net.Listen("tcp", rcvAddr)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhooks.Verify("crashKey1", body, r.Header.Get("Sign")) {
			t.Errorf("bad Sign after restart")
		}
		var b struct{ CallbackTs int64 }
		json.Unmarshal(body, &b)
		if b.CallbackTs < restartedAt.UnixMilli() {
			t.Errorf("CallbackTs %d is before the restart (%d): not stamped at sending", b.CallbackTs, restartedAt.UnixMilli())
		}
		mu.Lock()
		got[withoutCallbackTs(t, body)]++
		mu.Unlock()
	})}
	go rcv.Serve(rcvLn)
	defer rcv.Close()

	restartedAt = time.Now()
	p = start(t, env)
	deadline = time.Now().Add(30 * time.Second)
	var after []logEntry
	for {
		after = callbackLog(t, p.addr)
		delivered := 0
		for _, ev := range after {
			if ev.State == "delivered" {
				delivered++
			}
		}
		if delivered == len(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %+v", after)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(after) != len(before) {
		t.Fatalf("%d events before the kill, %d after", len(before), len(after))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range before {
		if n := got[withoutCallbackTs(t, ev.Body)]; n != 1 {
			t.Fatalf("event %d delivered %d times", ev.Id, n)
		}
	}
	if len(got) != len(before) {
		t.Fatalf("the receiver got %d distinct bodies, want %d", len(got), len(before))
	}
	p.stop(t)
}

// withoutCallbackTs is a callback body without its per-attempt CallbackTs, re-encoded.
func withoutCallbackTs(t *testing.T, body []byte) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("callback body %s: %v", body, err)
	}
	delete(m, "CallbackTs")
	out, _ := json.Marshal(m)
	return string(out)
}
