package jobs

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/media/compose"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/mix"
	"github.com/trtc-emulator/trtc-emulator/media/rtmpout"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// RelayStore is what relay jobs need of the store: their tasks, and the 401 state of each
// destination.
type RelayStore interface {
	JobStore
	RelayTick(ctx context.Context, taskRef int64) (*models.RelayView, error)
	RelayStatus(ctx context.Context, urlRef int64, status, errorCode int, errorMsg string) error
	RelayTakeOver(ctx context.Context, taskRef int64) error
	EndRelay(ctx context.Context, taskRef int64, why string) error
	// The presence of a transcoded relay's stream in the rooms it feeds back into.
	Enter(ctx context.Context, p models.EnterParams) (*models.Member, error)
	Leave(ctx context.Context, id models.Identity, exitReason int) error
	PresentMember(ctx context.Context, id models.Identity) (*models.Member, error)
}

// RelayerConfig configures the relay worker. Store and Hub are required.
type RelayerConfig struct {
	Store RelayStore
	Hub   *hub.Hub
	// Rooms makes the virtual participants of a relayed room publish (shared with the
	// recorder); a relay of a room without it sees only RTMP, WHIP and ingest anchors.
	Rooms *RoomMedia
	Clock clock.Clock // clock.System when nil: the 5 s and 60 s of the state machine follow it
	// Dial connects to the destinations (the address guard is in it); a plain dialer when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Images fetches a transcoded relay's layout images (through the address guard); a
	// plain client when nil.
	Images   *http.Client
	LeaseTTL time.Duration // 5 s when 0
	Logger   *slog.Logger
}

// Relayer runs relay-to-CDN tasks, each the job (models.JobRelay) StartRelay enqueued: it
// publishes the relayed stream to every destination URL over RTMP and walks each URL
// through the seed's 401 states: CONNECTING (again every 5 s) until the publish is
// accepted, RUNNING, RECOVERING (every 5 s) after a drop until it is back, FAILURE then
// IDLE after 60 s of either, DISCONNECTING then IDLE when the URL is removed or the task
// stops. A run taken over after a crash reports its running URLs RECOVERING and
// publishes again.
type Relayer struct {
	cfg    RelayerConfig
	log    *slog.Logger
	runner *Runner

	mu   sync.Mutex
	runs map[*relayRun]struct{}
}

// The state machine's timing (seed: "Relay to CDN Callback") and the emulator's own.
const (
	relayRepeat   = 5 * time.Second  // CONNECTING and RECOVERING are reported again this often
	relayGiveUp   = 60 * time.Second // then FAILURE
	relayRetry    = time.Second      // between two connection attempts
	relayTick     = 500 * time.Millisecond
	relayDialWait = 5 * time.Second // an attempt's connect, handshake and publish
)

// NewRelayer checks cfg and returns a relayer; Run starts it.
func NewRelayer(cfg RelayerConfig) (*Relayer, error) {
	if cfg.Store == nil || cfg.Hub == nil {
		return nil, errors.New("relayer: Store and Hub are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rl := &Relayer{cfg: cfg, log: cfg.Logger.With("component", "relay"), runs: map[*relayRun]struct{}{}}
	runner, err := NewRunner(RunnerConfig{Store: cfg.Store, Clock: cfg.Clock, LeaseTTL: cfg.LeaseTTL, Logger: cfg.Logger,
		Kinds: map[string]Kind{models.JobRelay: {Handle: rl.handle, Settles: true, RetryAfter: recordingRetry}}})
	if err != nil {
		return nil, err
	}
	rl.runner = runner
	return rl, nil
}

// Run runs relay jobs until ctx ends.
func (rl *Relayer) Run(ctx context.Context) { rl.runner.Run(ctx) }

// Settle returns once every running task has done what was due at the clock's time (a
// virtual clock calls it after each step).
func (rl *Relayer) Settle(ctx context.Context) { rl.runner.Settle(ctx) }

// Wake makes the relayer look for new tasks, and the running ones read their task again
// (after an Update or Stop, or a room change).
func (rl *Relayer) Wake() {
	rl.runner.Wake()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for r := range rl.runs {
		select {
		case r.poke <- struct{}{}:
		default:
		}
	}
}

func (rl *Relayer) handle(ctx context.Context, job *Job) error {
	var args models.RelayJobArgs
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return fmt.Errorf("relay job arguments: %w", err)
	}
	r := &relayRun{rl: rl, ref: args.TaskRef, settle: job.Settle(), poke: make(chan struct{}, 1),
		outs: map[int64]*relayOut{}, log: rl.log.With("task_ref", args.TaskRef), lastLayoutSEI: -1, lastPassSEI: -1}
	if job.TakenOver {
		if err := rl.cfg.Store.RelayTakeOver(ctx, args.TaskRef); err != nil {
			return err
		}
	}
	rl.mu.Lock()
	rl.runs[r] = struct{}{}
	rl.mu.Unlock()
	defer func() {
		rl.mu.Lock()
		delete(rl.runs, r)
		rl.mu.Unlock()
		for _, o := range r.outs {
			o.close()
		}
		if r.mixer != nil {
			r.mixer.Close()
		}
		for _, f := range r.feeds {
			f.close()
		}
		if r.room != "" && rl.cfg.Rooms != nil {
			rl.cfg.Rooms.Leave(r.room, rl.cfg.Clock.Now())
		}
	}()
	err := contain(func() error { return r.run(ctx) })
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		r.log.Error("relay task panicked; it ends", "panic", pe.value, "stack", string(pe.stack))
		r.end(pe.Error())
	case err != nil && ctx.Err() == nil && job.Attempts >= job.MaxAttempts:
		r.log.Error("relay task failed on its last attempt; it ends", "attempts", job.Attempts, "err", err)
		r.end(err.Error())
	case err != nil && ctx.Err() == nil:
		r.log.Error("relay task failed; it will be retried", "attempt", job.Attempts, "err", err)
	}
	return err
}

// relayRun is one run of one task.
type relayRun struct {
	rl     *Relayer
	ref    int64
	log    *slog.Logger
	room   string // the hub's name of the task's room, once known
	settle <-chan chan struct{}
	poke   chan struct{}
	outs   map[int64]*relayOut // by relay_urls row

	// A transcoded relay's mix (made at its first pass), the source it is, and the layout
	// images fetched for it (once per run; one that fails is left out).
	mixer  *mix.Mixer
	mixed  *relaySource
	images map[string]*compose.Image
	// The mix time of the last SEI of each kind sent (SeiParams' Interval); -1: none yet.
	lastLayoutSEI, lastPassSEI time.Duration
	// feeds are the rooms a transcoded relay pushes its stream back into (FeedBackRoomParams).
	feeds map[models.Identity]*relayFeed
}

// end ends the task after a failure of the emulator's own (a panic, the last attempt).
func (r *relayRun) end(why string) {
	if err := r.rl.cfg.Store.EndRelay(context.Background(), r.ref, "the relay failed: "+why); err != nil {
		r.log.Error("end a failed relay task", "err", err)
	}
}

func (r *relayRun) run(ctx context.Context) error {
	clk := r.rl.cfg.Clock
	var settled []chan struct{}
	defer func() {
		for _, done := range settled {
			close(done)
		}
	}()
	for {
		now := clk.Now()
		v, err := r.rl.cfg.Store.RelayTick(ctx, r.ref)
		if err != nil {
			return err
		}
		if v.Task.State == models.RelayTaskEnded {
			return nil
		}
		if r.room == "" {
			r.room = HubRoom(v.Task.SdkAppId, v.Task.RoomIdType, v.Task.RoomId)
			r.log = r.log.With("task", v.Task.TaskId)
			if r.rl.cfg.Rooms != nil {
				r.rl.cfg.Rooms.Enter(r.room)
			}
		}
		if rooms := r.rl.cfg.Rooms; rooms != nil {
			if err := rooms.Sync(r.room, v.Members, now); err != nil {
				return err
			}
			if err := rooms.Advance(now); err != nil {
				return err
			}
		}
		src := r.source(v)
		var video, audio []hub.Unit
		if v.Spec.Transcode {
			if src, err = r.mix(ctx, v, now); err != nil {
				return err
			}
			if video, audio, err = r.mixer.Render(now); err != nil {
				return err
			}
			r.insertSEI(v.Spec, video)
		}
		listed := map[int64]bool{}
		for _, u := range v.URLs {
			listed[u.ID] = true
			if err := r.step(ctx, v, u, src, now); err != nil {
				return err
			}
		}
		for id, o := range r.outs {
			if !listed[id] {
				o.close()
				delete(r.outs, id)
			}
		}
		for _, o := range r.outs {
			o.sendMixed(video, audio)
		}
		r.feedBack(ctx, v, now, src, video, audio)
		if v.Task.State != models.RelayTaskRunning { // every URL was disconnected above
			r.leaveFeeds(ctx, nil)
			return r.rl.cfg.Store.EndRelay(ctx, r.ref, "")
		}
		for _, done := range settled {
			close(done)
		}
		settled = settled[:0]
		if settled, err = r.wait(ctx, now.Add(relayTick), settled); err != nil {
			return err
		}
	}
}

// wait waits for the clock to reach at or for a poke. A Settle asked while nothing is due
// is answered at once; one asked when the next pass is due (or an attempt to connect is in
// flight, whose outcome is due) is answered after that pass: it is returned in settled.
func (r *relayRun) wait(ctx context.Context, at time.Time, settled []chan struct{}) ([]chan struct{}, error) {
	clk := r.rl.cfg.Clock
	for {
		wait := at.Sub(clk.Now())
		if wait <= 0 {
			return settled, nil
		}
		select {
		case <-ctx.Done():
			return settled, ctx.Err()
		case <-clk.After(wait):
			return settled, nil
		case done := <-r.settle:
			if r.attempting() || !clk.Now().Before(at) {
				r.awaitAttempts(ctx)
				return append(settled, done), nil
			}
			close(done)
		case <-r.poke:
			return settled, nil
		}
	}
}

func (r *relayRun) attempting() bool {
	for _, o := range r.outs {
		if o.attempt != nil {
			return true
		}
	}
	return false
}

// awaitAttempts waits for the attempts in flight to finish (each is bounded).
func (r *relayRun) awaitAttempts(ctx context.Context) {
	for _, o := range r.outs {
		if o.attempt == nil || o.result != nil {
			continue
		}
		select {
		case res := <-o.attempt:
			o.result = &res
		case <-ctx.Done():
			return
		}
	}
}

// relaySource is what a task sends: a member's stream as it is (no transcoding).
type relaySource struct {
	userId       string
	video, audio *hub.Key
	tracks       rtmpout.Tracks
}

// source is the stream the task relays now, nil while there is none: without
// transcoding, SingleSubscribeParams' user (or the first anchor by entry who publishes),
// their camera or screen video and their audio, as the hub has them.
func (r *relayRun) source(v *models.RelayView) *relaySource {
	if v.Spec.Transcode {
		return nil
	}
	h := r.rl.cfg.Hub
	video := hub.MainVideo
	var userId string
	if s := v.Spec.Single; s != nil {
		userId = s.UserId
		if s.Aux {
			video = hub.AuxVideo
		}
	} else {
		for _, m := range v.Members {
			if !m.Robot && m.Role == models.RoleAnchor && (m.PubVideo || m.PubAudio) {
				userId = m.UserId
				break
			}
		}
	}
	if userId == "" {
		return nil
	}
	src := &relaySource{userId: userId}
	if k := (hub.Key{Room: r.room, UserId: userId, Track: video}); true {
		if p, ok := h.Params(k); ok && p.Codec == hub.H264 {
			src.video, src.tracks.Video = &k, &p
		}
	}
	if k := (hub.Key{Room: r.room, UserId: userId, Track: hub.Audio}); true {
		if p, ok := h.Params(k); ok && p.Codec == hub.AAC {
			src.audio, src.tracks.Audio = &k, &p
		}
	}
	if src.video == nil && src.audio == nil {
		return nil
	}
	return src
}

// relayOut is one destination's connection.
type relayOut struct {
	cancel   context.CancelFunc // the attempt's or the publish's
	attempt  chan attemptResult // while an attempt is in flight
	result   *attemptResult     // its outcome, taken by awaitAttempts before the pass
	pub      *rtmpout.Publisher // connected
	src      *relaySource       // what pub was opened for
	pump     *relayPump         // sending src to pub (no transcoding)
	mixBase  time.Duration      // the mix's time sent as 0 (transcoding); -1 before its first keyframe
	nextTry  time.Time          // no attempt before
	sendable time.Time          // since when there is a stream to send (zero: none now)
	lastErr  error              // the last attempt's or the pump's
}

// sendMixed writes a transcoded relay's units of this pass to a connected destination:
// from the first keyframe after it connected, rebased to it. A failed write drops the
// connection (the next pass reports RECOVERING).
func (o *relayOut) sendMixed(video, audio []hub.Unit) {
	if o.pub == nil || o.src == nil || o.src.userId != mixedSource {
		return
	}
	if o.mixBase < 0 {
		for _, u := range video {
			if u.Key {
				o.mixBase = u.DTS
				break
			}
		}
		if o.mixBase < 0 && len(video) == 0 && o.src.tracks.Video == nil && len(audio) > 0 {
			o.mixBase = audio[0].DTS // audio only
		}
		if o.mixBase < 0 {
			return
		}
	}
	// Interleaved by time, as FLV wants.
	i, j := 0, 0
	for i < len(video) || j < len(audio) {
		var u hub.Unit
		isVideo := j >= len(audio) || (i < len(video) && video[i].DTS <= audio[j].DTS)
		if isVideo {
			u, i = video[i], i+1
		} else {
			u, j = audio[j], j+1
		}
		if u.DTS < o.mixBase {
			continue
		}
		u.PTS, u.DTS = u.PTS-o.mixBase, u.DTS-o.mixBase
		var err error
		if isVideo {
			err = o.pub.WriteVideo(u)
		} else {
			err = o.pub.WriteAudio(u)
		}
		if err != nil {
			o.lastErr = fmt.Errorf("%w: %v", errRelayDropped, err)
			o.pub.Close()
			o.pub, o.mixBase = nil, -1
			return
		}
	}
}

type attemptResult struct {
	pub *rtmpout.Publisher
	err error
}

// close ends the connection and any attempt (an attempt that succeeds after this closes
// its own publisher).
func (o *relayOut) close() {
	if o.cancel != nil {
		o.cancel()
		o.cancel = nil
	}
	if o.pump != nil {
		o.pump.stop()
		o.pump = nil
	}
	if o.pub != nil {
		o.pub.Close()
		o.pub = nil
	}
	o.attempt, o.result, o.mixBase = nil, nil, -1
}

// connect starts an attempt to publish src to url.
func (r *relayRun) connect(o *relayOut, url string, src *relaySource, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), relayDialWait)
	o.cancel, o.src, o.nextTry = cancel, src, now.Add(relayRetry)
	ch := make(chan attemptResult, 1)
	o.attempt = ch
	go func() {
		pub, err := rtmpout.Publish(ctx, rtmpout.Config{URL: url, Tracks: src.tracks, Dial: r.rl.cfg.Dial, Timeout: relayDialWait})
		if err == nil && ctx.Err() != nil { // closed meanwhile
			pub.Close()
			pub, err = nil, ctx.Err()
		}
		ch <- attemptResult{pub: pub, err: err}
	}()
}

// outcome takes a finished attempt's result, if any.
func (o *relayOut) outcome() {
	if o.attempt == nil {
		return
	}
	res := o.result
	if res == nil {
		select {
		case got := <-o.attempt:
			res = &got
		default:
			return
		}
	}
	o.attempt, o.result = nil, nil
	if res.err != nil {
		o.lastErr = res.err
		return
	}
	o.pub = res.pub
}

// step moves one destination's state machine at now.
func (r *relayRun) step(ctx context.Context, v *models.RelayView, u models.RelayURL, src *relaySource, now time.Time) error {
	o := r.outs[u.ID]
	if o == nil {
		o = &relayOut{mixBase: -1}
		r.outs[u.ID] = o
	}
	report := func(status int, err error) error {
		code, msg := 0, ""
		if err != nil {
			code, msg = relayErrorCode(err), err.Error()
		}
		if e := r.rl.cfg.Store.RelayStatus(ctx, u.ID, status, code, msg); e != nil {
			return e
		}
		if status != u.Status {
			u.SpellSinceMs = now.UnixMilli()
		}
		u.Status, u.ReportedAtMs = status, now.UnixMilli()
		return nil
	}
	if u.Removed || v.Task.State != models.RelayTaskRunning {
		o.close()
		delete(r.outs, u.ID)
		if u.Status != models.RelayDisconnecting {
			if err := report(models.RelayDisconnecting, nil); err != nil {
				return err
			}
		}
		return report(models.RelayIdle, nil)
	}
	o.outcome()
	if o.pump != nil && o.pump.failed() != nil {
		o.lastErr = o.pump.failed()
		o.close()
	}
	since := func(ms int64) time.Duration { return now.Sub(time.UnixMilli(ms)) }
	switch u.Status {
	case models.RelayIdle: // new
		if err := report(models.RelayConnecting, nil); err != nil {
			return err
		}
		if src != nil {
			r.connect(o, u.Url, src, now)
		}
	case models.RelayRunning:
		switch {
		case o.pub == nil && o.attempt == nil: // dropped, or the run before this one died
			if err := report(models.RelayRecovering, o.lastErr); err != nil {
				return err
			}
			if src != nil {
				r.connect(o, u.Url, src, now)
			}
		case o.pub != nil && src != nil && !sameSource(src, o.src):
			// The stream relayed changed (another user, new parameters): the destination
			// gets it anew. While there is none, the connection waits.
			o.close()
			r.connect(o, u.Url, src, now)
		case o.pub != nil && o.src.userId != mixedSource && (o.pump == nil || o.pump.finished()):
			// The source's streams ended and came back alike (a sink ends with them).
			o.pump = startRelayPump(r.rl.cfg.Hub, o.pub, o.src, time.Time{})
		}
	case models.RelayConnecting, models.RelayRecovering:
		if o.pub != nil {
			if err := report(models.RelayRunning, nil); err != nil {
				return err
			}
			o.lastErr = nil
			if o.src.userId != mixedSource {
				o.pump = startRelayPump(r.rl.cfg.Hub, o.pub, o.src, time.Time{})
			}
			return nil
		}
		// With nothing to send yet (no anchor publishes) no attempt is made, and the give-up
		// counts from when there is.
		switch {
		case src == nil:
			o.sendable = time.Time{}
		case o.sendable.IsZero():
			o.sendable = now
		}
		if !o.sendable.IsZero() && min(since(u.SpellSinceMs), now.Sub(o.sendable)) >= relayGiveUp {
			o.close()
			delete(r.outs, u.ID)
			if err := report(models.RelayFailure, o.lastErr); err != nil {
				return err
			}
			return report(models.RelayIdle, nil)
		}
		if since(u.ReportedAtMs) >= relayRepeat {
			if err := report(u.Status, o.lastErr); err != nil {
				return err
			}
		}
		if o.attempt == nil && src != nil && !now.Before(o.nextTry) {
			r.connect(o, u.Url, src, now)
		}
	default: // FAILURE or DISCONNECTING written before a crash: the IDLE that follows
		o.close()
		delete(r.outs, u.ID)
		return report(models.RelayIdle, nil)
	}
	return nil
}

func sameSource(a, b *relaySource) bool {
	same := func(x, y *hub.Params) bool {
		return (x == nil) == (y == nil) && (x == nil || sameParams(*x, *y))
	}
	return a.userId == b.userId && same(a.tracks.Video, b.tracks.Video) && same(a.tracks.Audio, b.tracks.Audio)
}

// relayErrorCode is the 401 ErrorCode of a failure: 1 the destination refused or could
// not be reached, 2 the connection dropped (the emulator's own numbering; README).
func relayErrorCode(err error) int {
	if errors.Is(err, errRelayDropped) {
		return 2
	}
	return 1
}

var errRelayDropped = errors.New("the connection to the destination dropped")

// unitWriter is where a pump sends a source's units: an RTMP publisher, or a fed-back
// member's hub streams.
type unitWriter interface {
	WriteVideo(u hub.Unit) error
	WriteAudio(u hub.Unit) error
}

// relayPump sends a source's streams to a writer: the video from its next keyframe, the
// audio from that point, each unit's time rebased to the first one sent (or to a given
// origin, the audio then from the origin).
type relayPump struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

func startRelayPump(h *hub.Hub, out unitWriter, src *relaySource, origin time.Time) *relayPump {
	ctx, cancel := context.WithCancel(context.Background())
	p := &relayPump{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := p.run(ctx, h, out, src, origin); err != nil && ctx.Err() == nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *relayPump) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finished is whether the pump ended without failing (its source's streams ended).
func (p *relayPump) finished() bool {
	select {
	case <-p.done:
		return p.failed() == nil
	default:
		return false
	}
}

func (p *relayPump) stop() {
	p.cancel()
	<-p.done
}

func (p *relayPump) run(ctx context.Context, h *hub.Hub, out unitWriter, src *relaySource, origin time.Time) error {
	type sunk struct {
		sink  *hub.Sink
		video bool
	}
	var sinks []sunk
	defer func() {
		for _, s := range sinks {
			s.sink.Close()
		}
	}()
	if src.video != nil {
		s, err := h.Subscribe(*src.video, hub.SinkOptions{AtNextKeyframe: true})
		if err != nil {
			return nil // gone meanwhile: the next pass sees it
		}
		sinks = append(sinks, sunk{s, true})
	}
	if src.audio != nil {
		s, err := h.Subscribe(*src.audio, hub.SinkOptions{})
		if err != nil {
			return nil
		}
		sinks = append(sinks, sunk{s, false})
	}
	var mu sync.Mutex
	base := origin // the clock time sent as 0: the origin, or the first video keyframe's (or audio unit's)
	waitVideo := src.video != nil
	errs := make(chan error, len(sinks))
	for _, s := range sinks {
		go func() {
			for {
				u, err := s.sink.Read(ctx)
				if err != nil {
					errs <- nil // the source ended (or the pump stops): not the destination's fault
					return
				}
				at := s.sink.Start().Add(u.DTS)
				mu.Lock()
				if base.IsZero() {
					if waitVideo && !s.video {
						mu.Unlock()
						continue // the audio starts with the first picture
					}
					base = at
				}
				if at.Before(base) {
					mu.Unlock()
					continue
				}
				off := at.Sub(base)
				u.PTS, u.DTS = u.PTS-u.DTS+off, off
				if s.video {
					err = out.WriteVideo(u)
				} else {
					err = out.WriteAudio(u)
				}
				mu.Unlock()
				if err != nil {
					errs <- fmt.Errorf("%w: %v", errRelayDropped, err)
					return
				}
			}
		}()
	}
	for range sinks {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// mixedSource is the userId of a transcoded relay's source: the room's mix.
const mixedSource = "\x00mix"

// mix makes the task's mix follow the room and the task's parameters (members and layout
// from their next frame) and returns it as the source its destinations get.
func (r *relayRun) mix(ctx context.Context, v *models.RelayView, now time.Time) (*relaySource, error) {
	spec := v.Spec
	if r.mixer == nil {
		cfg := mix.Config{Hub: r.rl.cfg.Hub, Room: r.room, Start: now, Audio: true, SampleRate: spec.Audio.SampleRate,
			Channels: spec.Audio.Channels, AudioBitRate: spec.Audio.BitRateKbps * 1000, Logger: r.log}
		if vp := spec.Video; vp != nil {
			cfg.Video, cfg.Width, cfg.Height, cfg.Fps, cfg.GOP, cfg.BitRate = true, vp.Width, vp.Height, vp.Fps, vp.Gop, vp.BitRateKbps*1000
		}
		m, err := mix.New(cfg)
		if err != nil {
			return nil, err
		}
		r.mixer = m
		asc, err := m.AudioConfig().Marshal()
		if err != nil {
			return nil, err
		}
		src := &relaySource{userId: mixedSource}
		src.tracks.Audio = &hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: spec.Audio.SampleRate, Channels: spec.Audio.Channels}
		if cfg.Video {
			vp := m.VideoParams()
			src.tracks.Video = &vp
		}
		r.mixed = src
	}
	var layout mix.Layout
	if spec.Video != nil {
		layout = mixLayoutOf(&spec.Video.Layout, func(url string) *compose.Image { return r.image(ctx, url) })
	}
	r.mixer.Set(relayMembers(spec, v.Members), layout)
	return r.mixed, nil
}

// relayMembers is what a transcoded relay mixes: the anchors in entry order, their video
// when the video allow list (empty: everyone) has them, and their audio when the audio
// allow list (empty: everyone) has them and the deny list not.
func relayMembers(spec *models.RelaySpec, members []models.Member) []mix.Member {
	var out []mix.Member
	for _, m := range members {
		if m.Robot || m.Role != models.RoleAnchor {
			continue
		}
		audio := m.PubAudio && (len(spec.Audio.Subscribe) == 0 || slices.Contains(spec.Audio.Subscribe, m.UserId)) &&
			!slices.Contains(spec.Audio.Unsubscribe, m.UserId)
		video := spec.Video == nil || len(spec.Video.Subscribe) == 0 || slices.Contains(spec.Video.Subscribe, m.UserId)
		out = append(out, mix.Member{UserId: m.UserId, Decodable: m.Source == models.SourceVirtual, Source: m.Source,
			Video: m.PubVideo && video, Aux: m.PubSubstream && video, Audio: audio})
	}
	return out
}

// image is a layout image of the relay, fetched once per run (nil for "" and for one
// that failed: logged, the mix goes on without it).
func (r *relayRun) image(ctx context.Context, url string) *compose.Image {
	if url == "" {
		return nil
	}
	if img, ok := r.images[url]; ok {
		return img
	}
	client := r.rl.cfg.Images
	if client == nil {
		client = &http.Client{Timeout: imageTimeout}
	}
	img, err := fetchImage(ctx, client, url)
	if err != nil {
		r.log.Warn("a relay layout image could not be used", "url", url, "err", err)
	}
	if r.images == nil {
		r.images = map[string]*compose.Image{}
	}
	r.images[url] = img
	return img
}

// insertSEI puts the task's SEI messages (SeiParams) into the mix's pictures: each kind
// every Interval of media, and on every keyframe with FollowIdr, before the picture's
// slices. PassThrough carries PayloadContent as given (after the UUID for PayloadType 5);
// LayoutVolume carries a JSON object: app_data, the canvas and each window's user,
// rectangle and audio volume (the mix's last audio frame's, 0-100).
func (r *relayRun) insertSEI(spec *models.RelaySpec, video []hub.Unit) {
	sei := spec.Sei
	if sei == nil || (sei.LayoutVolume == nil && sei.PassThrough == nil) {
		return
	}
	due := func(last *time.Duration, intervalMs int, followIdr bool, u *hub.Unit) bool {
		if *last >= 0 && u.DTS-*last < time.Duration(intervalMs)*time.Millisecond && !(followIdr && u.Key) {
			return false
		}
		*last = u.DTS
		return true
	}
	var volumes map[string]int
	if sei.LayoutVolume != nil {
		volumes = r.mixer.Volumes()
	}
	for i := range video {
		u := &video[i]
		var msgs []h264.SEIMessage
		if lv := sei.LayoutVolume; lv != nil && due(&r.lastLayoutSEI, lv.IntervalMs, lv.FollowIdr, u) {
			msgs = append(msgs, h264.SEIMessage{Type: lv.PayloadType, Payload: r.layoutSEI(spec, lv.AppData, u.DTS, volumes)})
		}
		if pt := sei.PassThrough; pt != nil && due(&r.lastPassSEI, pt.IntervalMs, pt.FollowIdr, u) {
			payload := []byte(pt.Content)
			if pt.PayloadType == 5 {
				uuid, err := hex.DecodeString(pt.Uuid)
				if err != nil || len(uuid) != 16 {
					continue // validated by handlers: not reached
				}
				payload = append(uuid, payload...)
			}
			msgs = append(msgs, h264.SEIMessage{Type: pt.PayloadType, Payload: payload})
		}
		if len(msgs) == 0 {
			continue
		}
		at := slices.IndexFunc(u.NALUs, func(n []byte) bool {
			t := h264.NALUType(n[0] & 0x1f)
			return t == h264.NALUIDR || t == h264.NALUNonIDR
		})
		if at < 0 {
			at = len(u.NALUs)
		}
		u.NALUs = slices.Insert(slices.Clone(u.NALUs), at, h264.SEI(msgs...))
	}
}

// layoutSEI is a LayoutVolume SEI's JSON.
func (r *relayRun) layoutSEI(spec *models.RelaySpec, appData string, at time.Duration, volumes map[string]int) []byte {
	type region struct {
		UserId string `json:"uid"`
		X      int    `json:"x"`
		Y      int    `json:"y"`
		W      int    `json:"w"`
		H      int    `json:"h"`
		Volume int    `json:"volume"`
	}
	out := struct {
		AppData string   `json:"app_data"`
		Ts      int64    `json:"ts"`
		Width   int      `json:"canvas_w"`
		Height  int      `json:"canvas_h"`
		Regions []region `json:"regions"`
	}{AppData: appData, Ts: at.Milliseconds(), Regions: []region{}}
	if spec.Video != nil {
		out.Width, out.Height = spec.Video.Width, spec.Video.Height
	}
	for _, w := range r.mixer.Windows() {
		if w.UserId != "" {
			out.Regions = append(out.Regions, region{UserId: w.UserId, X: w.X, Y: w.Y, W: w.W, H: w.H, Volume: volumes[w.UserId]})
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// relayFeed is a relay's stream in a room it feeds back into: a member of that room (an
// anchor of Source relay) whose hub streams are the mix, or the relayed member's streams
// as they are (no transcoding, sent by a pump).
type relayFeed struct {
	id           models.Identity
	failed       bool // the room refused it or removed it (logged once): not tried again this run
	entered      bool // its member is in the room (by this run's doing or a run before)
	start        time.Time
	video, audio *hub.Source
	keyed        bool         // its first keyframe is written (the mix)
	src          *relaySource // what its streams were opened for
	pump         *relayPump   // without transcoding
}

// WriteVideo and WriteAudio are a pump's way into the feed's streams.
func (f *relayFeed) WriteVideo(u hub.Unit) error { return writeFeed(f.video, u) }
func (f *relayFeed) WriteAudio(u hub.Unit) error { return writeFeed(f.audio, u) }

func writeFeed(s *hub.Source, u hub.Unit) error {
	if s == nil {
		return nil
	}
	if err := s.Write(u); err != nil && !errors.Is(err, hub.ErrClosed) {
		return err
	}
	return nil
}

func (f *relayFeed) close() {
	if f.pump != nil {
		f.pump.stop()
		f.pump = nil
	}
	f.src = nil
	if f.video != nil {
		f.video.Close()
	}
	if f.audio != nil {
		f.audio.Close()
	}
	f.video, f.audio = nil, nil
}

// feedBack keeps the task's stream in each FeedBackRoomParams room: the robot of that
// entry enters it as an anchor publishing the mix or the relayed stream (103, 201/203),
// leaves it when the entry is removed or the task ends, and the pass's units (the mix) or
// a pump (the stream as it is) fill its hub streams. A member removed from its room
// (RemoveUser, DismissRoom) is not fed again this run.
func (r *relayRun) feedBack(ctx context.Context, v *models.RelayView, now time.Time, src *relaySource, video, audio []hub.Unit) {
	want := map[models.Identity]models.RelayFeedBack{}
	for _, fb := range v.Spec.FeedBack {
		want[models.Identity{SdkAppId: v.Task.SdkAppId, RoomId: fb.RoomId, RoomIdType: fb.RoomIdType, UserId: fb.UserId}] = fb
	}
	r.leaveFeeds(ctx, want)
	if r.feeds == nil {
		r.feeds = map[models.Identity]*relayFeed{}
	}
	for id, fb := range want {
		f := r.feeds[id]
		if f == nil {
			f = &relayFeed{id: id}
			r.feeds[id] = f
		}
		if f.failed {
			continue
		}
		if f.entered {
			if m, err := r.rl.cfg.Store.PresentMember(ctx, id); err == nil && (m == nil || m.Source != models.SourceRelay) ||
				tcerr.Is(err, tcerr.CodeRoomNotExist) {
				f.close()
				f.failed, f.entered = true, false // out of the room already: not taken out again
				r.log.Info("a fed-back stream's member was removed from its room; not fed again", "room", fb.RoomId, "user", fb.UserId)
				continue
			}
		}
		switch {
		case src == nil: // nothing to send now (no transcoding): the member stays, its streams end
			f.close()
			continue
		case f.src != nil && (!sameSource(f.src, src) || f.pump != nil && f.pump.finished()):
			f.close() // the stream relayed changed: opened anew
		}
		if f.src == nil {
			if err := r.openFeed(ctx, f, fb, src.tracks, now); err != nil {
				f.failed = true
				r.log.Warn("the relay cannot feed back into a room", "room", fb.RoomId, "user", fb.UserId, "err", err)
				continue
			}
			f.src = src
			if !v.Spec.Transcode {
				f.pump = startRelayPump(r.rl.cfg.Hub, f, src, f.start)
			}
		}
		if v.Spec.Transcode {
			f.write(video, audio, r.mixer.Start())
		}
	}
}

// openFeed enters f's member (or finds it there after a takeover) and publishes its streams.
func (r *relayRun) openFeed(ctx context.Context, f *relayFeed, fb models.RelayFeedBack, tracks rtmpout.Tracks, now time.Time) error {
	store := r.rl.cfg.Store
	if !f.entered {
		m, err := store.PresentMember(ctx, f.id)
		if err != nil && !tcerr.Is(err, tcerr.CodeRoomNotExist) { // Enter opens a room that is not
			return err
		}
		if m == nil || m.Source != models.SourceRelay {
			p := models.EnterParams{Identity: f.id, UserSig: fb.UserSig, Role: models.RoleAnchor, TerminalType: 100, UserType: 3,
				Publish: models.Publish{Video: tracks.Video != nil, Audio: tracks.Audio != nil}, Source: models.SourceRelay}
			if tracks.Video != nil {
				p.VideoWidth, p.VideoHeight, p.VideoFps = tracks.Video.Width, tracks.Video.Height, tracks.Video.FPS
			}
			if _, err := store.Enter(ctx, p); err != nil {
				return err
			}
		}
		f.entered = true
	}
	room := HubRoom(f.id.SdkAppId, f.id.RoomIdType, f.id.RoomId)
	f.start, f.keyed = now, false
	var err error
	if tracks.Video != nil {
		if f.video, err = r.rl.cfg.Hub.PublishAt(hub.Key{Room: room, UserId: f.id.UserId, Track: hub.MainVideo}, *tracks.Video, now); err != nil {
			return err
		}
	}
	if tracks.Audio != nil {
		if f.audio, err = r.rl.cfg.Hub.PublishAt(hub.Key{Room: room, UserId: f.id.UserId, Track: hub.Audio}, *tracks.Audio, now); err != nil {
			f.close()
			return err
		}
	}
	return nil
}

// write puts a pass's units into the feed's streams, timed from the feed's start: the
// video from its first keyframe, the audio from then (or at once without video).
func (f *relayFeed) write(video, audio []hub.Unit, mixStart time.Time) {
	offset := mixStart.Sub(f.start) // a mix time's place on the feed's time line
	for _, u := range video {
		if !f.keyed && !u.Key {
			continue
		}
		if at := u.DTS + offset; at >= 0 && f.video != nil {
			f.keyed = true
			u.PTS, u.DTS = u.PTS+offset, at
			f.video.Write(u)
		}
	}
	for _, u := range audio {
		if f.video != nil && !f.keyed {
			continue
		}
		if at := u.DTS + offset; at >= 0 && f.audio != nil {
			u.PTS, u.DTS = u.PTS+offset, at
			f.audio.Write(u)
		}
	}
}

// leaveFeeds takes out of their rooms the feeds not in want (all of them for nil).
func (r *relayRun) leaveFeeds(ctx context.Context, want map[models.Identity]models.RelayFeedBack) {
	for id, f := range r.feeds {
		if _, ok := want[id]; ok {
			continue
		}
		f.close()
		delete(r.feeds, id)
		if !f.entered {
			continue
		}
		if err := r.rl.cfg.Store.Leave(ctx, id, models.ExitVoluntary); err != nil {
			r.log.Warn("a fed-back stream's member could not leave its room", "room", id.RoomId, "err", err)
		}
	}
}
