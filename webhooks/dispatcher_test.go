package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

const testKey = "1234567890abcdef"

var slogDiscard = slog.New(slog.DiscardHandler)

// receiver starts an HTTP server on a random 127.0.0.1 port and returns its URL.
func receiver(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/callback"
}

// countingListener accepts TCP connections on addr, counts and closes them.
func countingListener(t *testing.T, addr string) (port string, accepts *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepts = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepts
}

// start runs a Dispatcher until the test ends; stop cancels it and waits for Run.
func start(t testing.TB, cfg Config) (d *Dispatcher, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slogDiscard
	}
	d = NewDispatcher(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() { returned <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-returned:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return 10 s after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// offsets returns the attempt times of outcomes as offsets from base.
func offsets(base time.Time, os []Outcome) []time.Duration {
	var ds []time.Duration
	for _, o := range os {
		ds = append(ds, o.At.Sub(base))
	}
	return ds
}

func secs(ss ...int) []time.Duration {
	var ds []time.Duration
	for _, s := range ss {
		ds = append(ds, time.Duration(s)*time.Second)
	}
	return ds
}

// 1. A delivery carries the exact body, the documented headers and a Sign the receiver
// verifies; with no key there is no Sign header at all.
func TestDeliveryHeadersAndSign(t *testing.T) {
	for _, key := range []string{testKey, ""} {
		t.Run(fmt.Sprintf("key=%q", key), func(t *testing.T) {
			type request struct {
				method, contentType, sdkAppId string
				sign                          []string
				body                          []byte
			}
			got := make(chan request, 1)
			url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- request{r.Method, r.Header.Get("Content-Type"), r.Header.Get("SdkAppId"), r.Header.Values("Sign"), body}
				io.WriteString(w, `{"code":0}`)
			})
			ob := newMemOutbox(t)
			clk := clock.NewFake(t0)
			d, _ := start(t, Config{Outbox: ob, Clock: clk})
			body := []byte(`{"EventGroupId":1,"EventType":103,"CallbackTs":1741064767000,"EventInfo":{"RoomId":"r 1","UserId":"ü"}}`)
			id := ob.add(t0, Event{Lane: "room/1", SdkAppId: 1400000001, URL: url, Key: key, Body: body})
			d.Notify()
			ob.waitAttempts(1)

			r := <-got
			if r.method != http.MethodPost || r.contentType != "application/json" || r.sdkAppId != "1400000001" {
				t.Errorf("method %q, Content-Type %q, SdkAppId %q; want POST, application/json, 1400000001", r.method, r.contentType, r.sdkAppId)
			}
			if string(r.body) != string(body) {
				t.Errorf("body %q, want %q", r.body, body)
			}
			if key == "" {
				if r.sign != nil {
					t.Errorf("unsigned callback has Sign %q", r.sign)
				}
			} else if len(r.sign) != 1 || !Verify(key, r.body, r.sign[0]) {
				t.Errorf("Sign %q does not verify", r.sign)
			}
			o := ob.attempts()[0]
			if o.EventID != id || !o.At.Equal(t0) || o.StatusCode != 200 || o.Error != "" || o.State != Delivered || !o.NextAttemptAt.IsZero() {
				t.Errorf("outcome %+v", o)
			}
			if e := ob.event(id); e.state != Delivered || e.Attempts != 1 || !e.FirstAttemptAt.Equal(t0) {
				t.Errorf("event after delivery: state %s, attempts %d, first %v", e.state, e.Attempts, e.FirstAttemptAt)
			}
		})
	}
}

// 2. Events of one lane arrive in order even when the receiver delays at random and fails
// some first attempts; lanes are delivered concurrently.
func TestPerLaneOrder(t *testing.T) {
	const lanes, perLane = 10, 100
	var (
		mu          sync.Mutex
		delivered   = map[string][]int{}
		failedOnce  = map[string]bool{}
		inFlight    atomic.Int32
		maxInFlight atomic.Int32
	)
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		var b struct {
			Lane string
			Seq  int
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Errorf("receiver: %v", err)
		}
		time.Sleep(rand.N(3 * time.Millisecond))
		id := fmt.Sprint(b.Lane, "/", b.Seq)
		mu.Lock()
		defer mu.Unlock()
		if b.Seq%5 == 3 && !failedOnce[id] { // fail some first attempts: retried at once
			failedOnce[id] = true
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered[b.Lane] = append(delivered[b.Lane], b.Seq)
	})
	ob := newMemOutbox(t)
	for seq := range perLane {
		for l := range lanes {
			lane := fmt.Sprint("room/", l)
			body := fmt.Appendf(nil, `{"Lane":%q,"Seq":%d}`, lane, seq)
			ob.add(t0, Event{Lane: lane, SdkAppId: 1, URL: url, Key: testKey, Body: body})
		}
	}
	d, stop := start(t, Config{Outbox: ob, Clock: clock.NewFake(t0)})
	d.Notify()
	ob.waitAttempts(lanes*perLane + lanes*perLane/5)
	stop()

	want := make([]int, perLane)
	for i := range want {
		want[i] = i
	}
	for l := range lanes {
		lane := fmt.Sprint("room/", l)
		if got := delivered[lane]; !slices.Equal(got, want) {
			t.Errorf("lane %s delivered out of order or not exactly once: %v", lane, got)
		}
	}
	if m := maxInFlight.Load(); m < 2 {
		t.Errorf("at most %d request in flight: lanes were not delivered in parallel", m)
	}
	t.Logf("max requests in flight: %d", maxInFlight.Load())
}

// stepTo advances clk one second at a time to base+until, waiting at each second for the
// attempts expected by then.
func stepTo(t *testing.T, clk *clock.Fake, ob *memOutbox, base time.Time, until int, expected func(sec int) int, before func(sec int)) {
	t.Helper()
	for s := 0; s <= until; s++ {
		clk.Set(base.Add(time.Duration(s) * time.Second))
		if before != nil {
			before(s)
		}
		ob.waitAttempts(expected(s))
	}
}

func countUpTo(sec int, at []time.Duration) int {
	n := 0
	for _, a := range at {
		if a <= time.Duration(sec)*time.Second {
			n++
		}
	}
	return n
}

// 3. The retry schedule in virtual time: immediately after the first failure, then 10 s
// after each failure, nothing later than a minute after the first attempt.
func TestRetrySchedule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int // the receiver answers 503 to this many attempts, then 200; -1 never recovers
		at       []time.Duration
		final    State
	}{
		{"first attempt succeeds", 0, secs(0), Delivered},
		{"one failure: immediate retry", 1, secs(0, 0), Delivered},
		{"two failures", 2, secs(0, 0, 10), Delivered},
		{"three failures", 3, secs(0, 0, 10, 20), Delivered},
		{"last attempt in the window succeeds", 7, secs(0, 0, 10, 20, 30, 40, 50, 60), Delivered},
		{"never recovers", -1, secs(0, 0, 10, 20, 30, 40, 50, 60), Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				if n := int(requests.Add(1)); tc.failures < 0 || n <= tc.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			ob := newMemOutbox(t)
			clk := clock.NewFake(t0)
			d, stop := start(t, Config{Outbox: ob, Clock: clk})
			id := ob.add(t0, Event{Lane: "room/1", SdkAppId: 1, URL: url, Key: testKey, Body: []byte(`{}`)})
			d.Notify()
			stepTo(t, clk, ob, t0, 180, func(s int) int { return countUpTo(s, tc.at) }, nil)
			time.Sleep(50 * time.Millisecond) // give a wrong extra attempt the chance to show
			stop()

			got := ob.attempts()
			if !slices.Equal(offsets(t0, got), tc.at) {
				t.Fatalf("attempts at %v, want %v", offsets(t0, got), tc.at)
			}
			if int(requests.Load()) != len(tc.at) {
				t.Errorf("receiver saw %d requests, want %d", requests.Load(), len(tc.at))
			}
			for i, o := range got[:len(got)-1] {
				wantNext := o.At
				if i > 0 {
					wantNext = o.At.Add(10 * time.Second)
				}
				if o.State != Pending || !o.NextAttemptAt.Equal(wantNext) || o.StatusCode != 503 || !strings.Contains(o.Error, "503") {
					t.Errorf("attempt %d: %+v, want pending until %v after a 503", i+1, o, wantNext.Sub(t0))
				}
			}
			if last := got[len(got)-1]; last.State != tc.final {
				t.Errorf("last attempt left the event %s, want %s", last.State, tc.final)
			}
			if e := ob.event(id); e.state != tc.final || e.Attempts != len(tc.at) || !e.FirstAttemptAt.Equal(t0) {
				t.Errorf("event: state %s, %d attempts, first at %v", e.state, e.Attempts, e.FirstAttemptAt)
			}
		})
	}
}

// 4. A backlog does not delay anyone (research A3, scenario C): 200 events on 200 lanes,
// created over 5 s, to a receiver that always fails slowly. With 16 workers every event
// still gets its first attempt when it is created, and its minute is counted from there.
func TestSchedulerNotBlockedByBacklog(t *testing.T) {
	const events = 200
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	schedule := secs(0, 0, 10, 20, 30, 40, 50, 60)
	created := func(i int) int { return i % 5 } // second of creation
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	d, stop := start(t, Config{Outbox: ob, Clock: clk, Workers: 16})
	ids := make([]int64, events)
	expected := func(sec int) int {
		n := 0
		for i := range events {
			if c := created(i); c <= sec {
				n += countUpTo(sec-c, schedule)
			}
		}
		return n
	}
	stepTo(t, clk, ob, t0, 90, expected, func(sec int) {
		for i := range events {
			if created(i) == sec {
				ids[i] = ob.add(clk.Now(), Event{Lane: fmt.Sprint("room/", i), SdkAppId: 1, URL: url, Key: testKey, Body: []byte(`{}`)})
			}
		}
		d.Notify()
	})
	time.Sleep(50 * time.Millisecond)
	stop()

	byEvent := map[int64][]Outcome{}
	for _, o := range ob.attempts() {
		byEvent[o.EventID] = append(byEvent[o.EventID], o)
	}
	for i, id := range ids {
		base := t0.Add(time.Duration(created(i)) * time.Second)
		if got := offsets(base, byEvent[id]); !slices.Equal(got, schedule) {
			t.Errorf("event %d created at +%ds: attempts at %v after creation, want %v", i, created(i), got, schedule)
		}
		if e := ob.event(id); e.state != Failed || e.Attempts != len(schedule) || !e.FirstAttemptAt.Equal(base) {
			t.Errorf("event %d: state %s, %d attempts, first at %v", i, e.state, e.Attempts, e.FirstAttemptAt.Sub(t0))
		}
	}
	if n := len(ob.attempts()); n != events*len(schedule) {
		t.Errorf("%d attempts, want %d", n, events*len(schedule))
	}
}

// 5. No answer within Config.Timeout, and any status but 200, are failures; a 302 is not
// followed.
func TestFailures(t *testing.T) {
	port, accepts := countingListener(t, "127.0.0.1:0")
	elsewhere := "http://127.0.0.1:" + port + "/"
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				w.Header().Set("Location", elsewhere)
			}
			w.WriteHeader(code)
		}
	}
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		status  int
		errText string
	}{
		{"hangs past the timeout", hang, 0, "timeout"},
		{"201", status(201), 201, "HTTP status 201"},
		{"204", status(204), 204, "HTTP status 204"},
		{"302 not followed", status(302), 302, "HTTP status 302"},
		{"404", status(404), 404, "HTTP status 404"},
		{"500", status(500), 500, "HTTP status 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := receiver(t, tc.h)
			ob := newMemOutbox(t)
			d, stop := start(t, Config{Outbox: ob, Clock: clock.NewFake(t0), Timeout: timeout})
			ob.add(t0, Event{Lane: "room/1", SdkAppId: 1, URL: url, Body: []byte(`{}`)})
			d.Notify()
			ob.waitAttempts(2) // the first failure is retried at once
			stop()
			o := ob.attempts()[0]
			if o.StatusCode != tc.status || !strings.Contains(o.Error, tc.errText) || o.State != Pending || !o.NextAttemptAt.Equal(t0) {
				t.Errorf("outcome %+v, want status %d, error with %q, pending for an immediate retry", o, tc.status, tc.errText)
			}
			if tc.status == 0 && (o.Duration < timeout || o.Duration > 10*timeout) {
				t.Errorf("timed out after %v, want about %v", o.Duration, timeout)
			}
		})
	}
	if n := accepts.Load(); n != 0 {
		t.Errorf("the redirect target got %d connections, want 0", n)
	}
}

// A 200 with a large body is a success; only the first 64 KiB are read.
func TestLargeResponseBody(t *testing.T) {
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	})
	ob := newMemOutbox(t)
	d, _ := start(t, Config{Outbox: ob, Clock: clock.NewFake(t0)})
	ob.add(t0, Event{Lane: "room/1", URL: url, Body: []byte(`{}`)})
	d.Notify()
	ob.waitAttempts(1)
	if o := ob.attempts()[0]; o.State != Delivered {
		t.Fatalf("outcome %+v", o)
	}
}

// 6a. Run returns after ctx ends, once the attempt in flight has been recorded.
func TestRunWaitsForInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	})
	ob := newMemOutbox(t)
	d := NewDispatcher(Config{Outbox: ob, Clock: clock.NewFake(t0), Logger: slogDiscard})
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() { returned <- d.Run(ctx) }()
	ob.add(t0, Event{Lane: "room/1", URL: url, Body: []byte(`{}`)})
	d.Notify()
	<-arrived
	cancel()
	select {
	case <-returned:
		t.Fatal("Run returned with an attempt in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the attempt finished")
	}
	if os := ob.attempts(); len(os) != 1 || os[0].State != Delivered {
		t.Fatalf("recorded %+v, want one delivery", os)
	}
	if err := d.Run(context.Background()); err == nil {
		t.Error("a second Run did not fail")
	}
}

// 6b. Notify wakes the scheduler at once: the fake clock never moves, so the 1 s poll
// cannot be what finds the event.
func TestNotifyWakesAtOnce(t *testing.T) {
	var requests atomic.Int32
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) { requests.Add(1) })
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	d, _ := start(t, Config{Outbox: ob, Clock: clk})
	clk.BlockUntil(1) // the loop is waiting
	ob.add(t0, Event{Lane: "room/1", URL: url, Body: []byte(`{}`)})
	time.Sleep(100 * time.Millisecond)
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests before Notify with the clock stopped", n)
	}
	d.Notify()
	ob.waitAttempts(1)
	if !clk.Now().Equal(t0) {
		t.Fatal("the clock moved")
	}
}

// The poll finds events committed without Notify within a second.
func TestPollWithoutNotify(t *testing.T) {
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) {})
	ob := newMemOutbox(t)
	clk := clock.NewFake(t0)
	start(t, Config{Outbox: ob, Clock: clk})
	clk.BlockUntil(1)
	ob.add(t0, Event{Lane: "room/1", URL: url, Body: []byte(`{}`)})
	clk.Advance(PollInterval)
	ob.waitAttempts(1)
	if o := ob.attempts()[0]; !o.At.Equal(t0.Add(PollInterval)) {
		t.Fatalf("attempt at %v, want at the poll", o.At.Sub(t0))
	}
}

// BenchmarkDeliveries measures signed deliveries per second to a local receiver from an
// in-memory outbox over 64 lanes with the default workers and the wall clock.
func BenchmarkDeliveries(b *testing.B) {
	var received atomic.Int64
	url := receiver(b, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
	})
	ob := newMemOutbox(b)
	body := []byte(`{"EventGroupId":1,"EventType":103,"CallbackTs":1741064767000,"EventInfo":{"RoomId":12345,"EventTs":1741064767,"EventMsTs":1741064767000,"UserId":"user_1","Role":20,"TerminalType":3,"UserType":3,"Reason":1}}`)
	now := time.Now()
	for i := range b.N {
		ob.add(now, Event{Lane: "room/" + strconv.Itoa(i%64), SdkAppId: 1400000001, URL: url, Key: testKey, Body: body})
	}
	b.ResetTimer()
	d, stop := start(b, Config{Outbox: ob})
	d.Notify()
	ob.waitAttempts(b.N)
	elapsed := b.Elapsed()
	b.StopTimer()
	stop()
	if received.Load() != int64(b.N) {
		b.Fatalf("received %d, want %d", received.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// flakyOutbox fails the first Due and the first Record.
type flakyOutbox struct {
	*memOutbox
	dueFailed, recordFailed atomic.Bool
}

func (f *flakyOutbox) Due(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]Event, error) {
	if f.dueFailed.CompareAndSwap(false, true) {
		return nil, errors.New("database is locked")
	}
	return f.memOutbox.Due(ctx, now, inFlight, limit)
}

func (f *flakyOutbox) Record(ctx context.Context, batch []Outcome) error {
	if f.recordFailed.CompareAndSwap(false, true) {
		f.memOutbox.mu.Lock()
		for _, o := range batch { // hand the events back, as a rolled-back transaction would
			delete(f.out, o.EventID)
		}
		f.memOutbox.mu.Unlock()
		return errors.New("database is locked")
	}
	return f.memOutbox.Record(ctx, batch)
}

// Outbox errors are retried after the poll interval; an attempt that could not be recorded
// is made again (at least once delivery).
func TestOutboxErrorsRetried(t *testing.T) {
	var requests atomic.Int32
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) { requests.Add(1) })
	ob := &flakyOutbox{memOutbox: newMemOutbox(t)}
	clk := clock.NewFake(t0)
	d, stop := start(t, Config{Outbox: ob, Clock: clk})
	id := ob.add(t0, Event{Lane: "room/1", URL: url, Body: []byte(`{}`)})
	d.Notify()
	for i := 0; i < 100 && len(ob.attempts()) == 0; i++ {
		clk.Advance(PollInterval)
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if !ob.dueFailed.Load() || !ob.recordFailed.Load() {
		t.Fatal("the outbox errors were not exercised")
	}
	if e := ob.event(id); e.state != Delivered || e.Attempts != 1 {
		t.Fatalf("event %s after %d recorded attempts, want delivered after 1", e.state, e.Attempts)
	}
	if n := requests.Load(); n != 2 {
		t.Fatalf("receiver got %d requests, want 2 (the unrecorded attempt is made again)", n)
	}
}
