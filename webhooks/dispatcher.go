package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// Defaults of Config.
const (
	DefaultWorkers = 16
	// PollInterval bounds how long the Dispatcher waits without asking the outbox, in case
	// an event was committed without Notify.
	PollInterval = time.Second
	// maxResponseBody is how much of a receiver's answer is read (and discarded) so the
	// connection can be reused; TRTC ignores the body.
	maxResponseBody = 64 << 10
)

// Config configures a Dispatcher. Only Outbox is required.
type Config struct {
	Outbox  Outbox
	Clock   clock.Clock  // default clock.System; decides when attempts are due
	Client  *http.Client // default NewClient(DefaultGuard); redirects are never followed
	Workers int          // attempts in flight at most; default DefaultWorkers
	// Timeout bounds one attempt, in wall time even under a fake clock; default
	// DefaultTimeout (TRTC's 5 s).
	Timeout time.Duration
	Logger  *slog.Logger // default slog.Default()
}

// Dispatcher delivers the outbox's events. A scheduler loop asks the outbox for due events
// not in flight (for new events only, past the last id seen, when it is a
// NewEventsOutbox) and hands each to a worker, which makes ONE attempt; a recorder stores the
// workers' outcomes in batches (one outbox transaction per batch, so that deliveries do
// not queue once per attempt behind the API's writes). No goroutine sleeps between
// retries. The loop otherwise waits for the earliest next attempt (at most PollInterval),
// Notify, or a batch being recorded.
//
// An attempt is a POST with Content-Type: application/json, SdkAppId and, when Event.Key
// is set, Sign. Its body is Event.Body stamped with the attempt's send time (Stamp), and
// Sign is computed over those bytes, so every attempt carries its own CallbackTs and a
// Sign that verifies. Only HTTP 200 within Config.Timeout is a success; any other status
// (a 3xx too: redirects are not followed), a timeout, a transport error, an invalid URL
// or an address the client's Guard refuses is a failure, retried by NextAttempt. An event
// stays in flight until its outcome is recorded; an attempt whose outcome cannot be
// recorded is made again later (at least once).
type Dispatcher struct {
	outbox  Outbox
	clock   clock.Clock
	client  *http.Client
	workers int
	timeout time.Duration
	log     *slog.Logger

	notify  chan struct{}
	rescan  chan struct{}
	settle  chan chan struct{} // Settle's requests
	stopped chan struct{}      // closed when Run returns
	running atomic.Bool
	// unrecorded counts the outcomes handed to the recorder and not recorded yet.
	unrecorded atomic.Int64
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(cfg Config) *Dispatcher {
	d := &Dispatcher{
		outbox:  cfg.Outbox,
		clock:   cfg.Clock,
		workers: cfg.Workers,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		notify:  make(chan struct{}, 1),
		rescan:  make(chan struct{}, 1),
		settle:  make(chan chan struct{}),
		stopped: make(chan struct{}),
	}
	if d.clock == nil {
		d.clock = clock.System
	}
	client := cfg.Client
	if client == nil {
		client = NewClient(DefaultGuard)
	}
	c := *client // a copy, so that redirects are not followed whatever the caller's client does
	c.CheckRedirect = noRedirects
	d.client = &c
	if d.workers <= 0 {
		d.workers = DefaultWorkers
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// Notify wakes the scheduler after new events were committed, without blocking. Without
// it they are found within PollInterval.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Rescan wakes the scheduler after events already stored became due again outside its
// own outcomes (a redelivery), without blocking: it asks Due, not only for new events.
func (d *Dispatcher) Rescan() {
	select {
	case d.rescan <- struct{}{}:
	default:
	}
}

// Settle returns once every attempt due at the clock's time has been made and its outcome
// recorded, so that retries land at their own times when a virtual clock steps through
// them: it waits for the receivers' answers (each at most Config.Timeout). It returns at
// once when Run is not running, and when ctx ends.
func (d *Dispatcher) Settle(ctx context.Context) {
	if d.running.Load() {
		clock.AskSettled(ctx, d.settle, d.stopped)
	}
}

// maxBatch bounds the outcomes recorded in one outbox transaction; maxUnrecorded the events
// in flight (attempting, or attempted and waiting for their outcome to be recorded). An
// attempt's HTTP exchange ends its worker's share: the next attempt does not wait for the
// outbox's writer, which the API's writes keep busy in bursts.
const (
	maxBatch      = 256
	maxUnrecorded = 1024
	// virtualHorizon is the farthest the timer is armed on a virtual clock, with nothing due.
	virtualHorizon = 24 * time.Hour
)

// recorded is what the recorder reports to the loop: a batch and whether it was stored.
type recorded struct {
	batch []Outcome
	err   error
}

// Run delivers events until ctx ends, then waits for the attempts in flight to finish and
// be recorded (at most Config.Timeout plus the time Record takes) and returns nil. Errors
// of the outbox are logged and retried after PollInterval. Run may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.outbox == nil {
		return errors.New("webhooks: Config.Outbox is nil")
	}
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhooks: Dispatcher.Run called twice")
	}
	defer close(d.stopped)
	// Attempts in flight outlive ctx: cutting them off would count our shutdown as the
	// receiver's failure.
	workCtx := context.WithoutCancel(ctx)
	inFlight := map[int64]bool{} // events handed out, outcome not recorded yet
	lanes := map[int64]string{}  // their lanes, when not ""
	busyLanes := map[string]bool{}
	attempting := 0 // HTTP exchanges running, at most d.workers
	attempted := make(chan struct{}, d.workers)
	outcomes := make(chan Outcome, maxUnrecorded)
	finished := make(chan recorded, 1)
	var wg sync.WaitGroup
	recorderDone := make(chan struct{})
	go func() {
		defer close(recorderDone)
		d.record(workCtx, outcomes, finished)
	}()
	defer func() {
		wg.Wait()
		close(outcomes)
		<-recorderDone
	}()
	release := func(r recorded) {
		for _, o := range r.batch {
			delete(inFlight, o.EventID)
			if lane, ok := lanes[o.EventID]; ok {
				delete(busyLanes, lane)
				delete(lanes, o.EventID)
			}
		}
		if r.err != nil {
			d.log.Error("webhooks: outbox Record", "err", r.err, "outcomes", len(r.batch))
		}
	}

	var (
		timer     <-chan time.Time // armed wake-up, nil if none
		timerAt   time.Time
		holdUntil time.Time // no outbox queries before this, after an outbox error
		// With a NewEventsOutbox, new events are those with ids above cursor (once
		// cursorKnown), and Due is asked only when scan is set: at the start, when the
		// timer fires, when Due or New left events for it, and after outcomes that make
		// events due (retries, strict lanes). Without one, Due is asked every time.
		newEvents, _ = d.outbox.(NewEventsOutbox)
		cursor       int64
		cursorKnown  bool
		scan         = true
		// rescanAfter: events in flight when Rescan was called
		rescanAfter = map[int64]bool{}
		// New is asked after a Notify, and again while its last answer was full.
		notified = true
		moreNew  bool
		// settles: Settle's requests, answered when Due has nothing left and nothing is
		// in flight.
		settles []chan struct{}
	)
	_, virtual := d.clock.(*clock.Virtual)
	var poll <-chan time.Time // a virtual clock's safety poll, in real time
	answerSettles := func() {
		for _, done := range settles {
			close(done)
		}
		settles = nil
	}
	defer answerSettles()
	for {
		now := d.clock.Now()
		if len(settles) > 0 {
			scan = true
		}
		if newEvents != nil && !cursorKnown && !now.Before(holdUntil) {
			// Read before Due's first answer: an event committed in between is found by one
			// or the other (in flight, it is not handed out twice).
			var err error
			if cursor, err = newEvents.LastID(ctx); err == nil {
				cursorKnown = true
			} else if ctx.Err() == nil {
				d.log.Error("webhooks: outbox LastID", "err", err)
				holdUntil = now.Add(PollInterval)
			}
		}
		free := min(d.workers-attempting, maxUnrecorded-len(inFlight))
		full := free <= 0 // no room for another attempt: a worker or a batch finishing wakes us
		asked := false    // whether Due was asked (then NextDue arms the timer)
		again := false    // whether to ask the outbox again before waiting
		handed := 0       // attempts started in this pass
		if !now.Before(holdUntil) && free > 0 {
			var events []Event
			var err error
			if scan || !cursorKnown {
				asked = true
				if events, err = d.outbox.Due(ctx, now, inFlight, free); err != nil && ctx.Err() == nil {
					d.log.Error("webhooks: outbox Due", "err", err)
					holdUntil = now.Add(PollInterval)
				}
				full = len(events) == free // more may be due: a worker finishing wakes us
				scan = full || err != nil
			} else if notified || moreNew {
				notified = false
				if events, err = newEvents.New(ctx, cursor, free); err != nil && ctx.Err() == nil {
					d.log.Error("webhooks: outbox New", "err", err)
					holdUntil = now.Add(PollInterval)
					notified = true
				}
				full = len(events) == free // more may be new
				moreNew = full
				if n := len(events); n > 0 {
					cursor = events[n-1].ID
				}
				// Strict lanes and events not due yet are Due's (in order, and with the
				// timer NextDue arms).
				kept := events[:0]
				for _, ev := range events {
					if ev.Lane != "" || ev.DueAt.After(now) {
						scan = true
						continue
					}
					kept = append(kept, ev)
				}
				events = kept
				// More may be new, or Due has events to give: look again before waiting.
				again = full || scan
			}
			for _, ev := range events {
				if inFlight[ev.ID] || busyLanes[ev.Lane] || attempting >= d.workers {
					// New lists events Due handed out; from Due, the outbox broke its
					// contract: keep lanes in order and the pool bounded.
					continue
				}
				inFlight[ev.ID] = true
				if ev.Lane != "" {
					busyLanes[ev.Lane], lanes[ev.ID] = true, ev.Lane
				}
				attempting++
				handed++
				wg.Go(func() {
					o := d.attempt(workCtx, ev)
					attempted <- struct{}{}
					outcomes <- o
					d.unrecorded.Add(1)
				})
			}
		}

		if again {
			continue
		}
		wake := now.Add(PollInterval)
		if virtual {
			// The safety poll is in real time, so that an advance does not step through
			// one per second; the timer is for due times only, each a step of an advance.
			wake = now.Add(virtualHorizon)
			if poll == nil {
				poll = time.After(PollInterval)
			}
		}
		if holdUntil.After(now) {
			wake = holdUntil
		} else if full || !asked || scan {
			// A worker or a batch finishing wakes us; the timer armed after Due's last
			// answer still stands; or Due is asked again at once.
		} else if next, ok, err := d.outbox.NextDue(ctx, now); err != nil {
			if ctx.Err() == nil {
				d.log.Error("webhooks: outbox NextDue", "err", err)
			}
		} else if ok && next.Before(wake) {
			wake = next
		}
		if timer == nil || timerAt.After(wake) {
			armedAt := d.clock.Now()
			timer, timerAt = d.clock.After(wake.Sub(armedAt)), wake
			if d.clock.Now().Sub(armedAt) > time.Millisecond {
				// The clock jumped while arming (a fake clock moved by a test): the deadline
				// may be late, so ask Due again.
				timer, scan = nil, true
				continue
			}
		}
		if len(settles) > 0 && (holdUntil.After(now) || asked && handed == 0 && len(inFlight) == 0) {
			// Nothing due is left, and the next due time is armed (or the outbox fails: do
			// not hang the clock).
			answerSettles()
		}

		select {
		case <-ctx.Done():
			for len(inFlight) > 0 {
				select {
				case r := <-finished:
					release(r)
				case <-attempted:
				}
			}
			return nil
		case <-attempted:
			attempting--
		case <-d.notify:
			notified = true
		case done := <-d.settle:
			settles = append(settles, done)
		case <-d.rescan:
			// An event made due again may still be in flight, its outcome on its way:
			// ask Due again as each of the events in flight now is released.
			scan = true
			for id := range inFlight {
				rescanAfter[id] = true
			}
		case r := <-finished:
			if r.err != nil || len(rescanAfter) > 0 || leavesDue(r.batch, lanes) {
				scan = true
			}
			for _, o := range r.batch {
				delete(rescanAfter, o.EventID)
			}
			release(r)
			if r.err != nil {
				holdUntil = d.clock.Now().Add(PollInterval)
			}
		case <-timer:
			timer, scan = nil, true
		case <-poll:
			poll, scan = nil, true
		}
	}
}

// leavesDue says whether recording batch may have made events due that New does not
// return: a retry, or the next event of a strict lane.
func leavesDue(batch []Outcome, lanes map[int64]string) bool {
	for _, o := range batch {
		if _, ok := lanes[o.EventID]; ok || o.State == Pending {
			return true
		}
	}
	return false
}

// record stores outcomes in batches until outcomes is closed: it takes one, adds whatever
// else is already waiting, and records them in one outbox call.
func (d *Dispatcher) record(ctx context.Context, outcomes <-chan Outcome, finished chan<- recorded) {
	for o := range outcomes {
		batch := []Outcome{o}
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-outcomes:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		err := d.outbox.Record(ctx, batch)
		d.unrecorded.Add(-int64(len(batch)))
		finished <- recorded{batch: batch, err: err}
	}
}

// attempt makes one delivery attempt of ev and returns its outcome.
func (d *Dispatcher) attempt(ctx context.Context, ev Event) Outcome {
	at := d.clock.Now()
	first := ev.FirstAttemptAt
	if first.IsZero() {
		first = at
	}
	body := ev.Body
	if ev.TimestampField != "" {
		var ok bool
		if body, ok = Stamp(ev.Body, ev.TimestampField, at); !ok {
			d.log.Warn("webhooks: callback body has no top-level timestamp field; sent as stored",
				"event", ev.ID, "field", ev.TimestampField)
		}
	}
	o := Outcome{EventID: ev.ID, At: at, Body: body}
	if ev.Key != "" {
		o.Sign = Sign(ev.Key, body)
	}
	start := time.Now()
	status, err := d.send(ctx, ev, body, o.Sign)
	o.Duration, o.StatusCode = time.Since(start), status
	if err == nil {
		o.State = Delivered
	} else {
		o.Error = err.Error()
		if next, ok := NextAttempt(first, at, d.clock.Now(), ev.Attempts+1); ok {
			o.State, o.NextAttemptAt = Pending, next
		} else {
			o.State = Failed
		}
	}
	d.log.Debug("webhooks: attempt", "event", ev.ID, "lane", ev.Lane, "attempt", ev.Attempts+1,
		"status", o.StatusCode, "err", o.Error, "state", o.State)
	if o.State == Failed {
		d.log.Warn("webhooks: callback failed for good", "event", ev.ID, "lane", ev.Lane,
			"url", ev.URL, "attempts", ev.Attempts+1, "err", o.Error)
	}
	return o
}

// send POSTs body to ev.URL and returns the status and nil for a 200.
func (d *Dispatcher) send(ctx context.Context, ev Event, body []byte, sign string) (status int, err error) {
	if err := ValidateURL(ev.URL); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("SdkAppId", strconv.FormatUint(ev.SdkAppId, 10))
	if sign != "" {
		req.Header.Set("Sign", sign)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return 0, fmt.Errorf("timeout: no answer within %v", d.timeout)
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("HTTP status %d, want 200", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
