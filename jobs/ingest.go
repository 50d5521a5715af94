package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/ingest"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// IngestStore is what stream ingest jobs need of the store: their tasks' state, and the
// anchor's presence in the room that goes with it.
type IngestStore interface {
	JobStore
	IngestByRef(ctx context.Context, taskRef int64) (*models.IngestTask, error)
	IngestStarted(ctx context.Context, taskRef int64, tracks models.IngestTracks, announce bool) (*models.IngestTask, error)
	IngestRetry(ctx context.Context, taskRef int64, final bool, why string) (ended bool, err error)
	IngestProgress(ctx context.Context, taskRef int64, loopsDone int, positionMs int64) error
	FinishIngest(ctx context.Context, taskRef int64, why string) error
	FailIngest(ctx context.Context, taskRef int64, why string) error
}

// IngesterConfig configures the stream ingest worker. Store and Hub are required.
type IngesterConfig struct {
	Store IngestStore
	Hub   *hub.Hub
	Clock clock.Clock // clock.System when nil: file sources are paced by it
	// Client fetches HTTP(S) sources (the address guard and the certificate pool are in
	// it); Dial connects to RTMP sources. Plain ones when nil.
	Client *http.Client
	Dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	// TempDir holds downloads read out of order (MP4).
	TempDir  string
	LeaseTTL time.Duration // 5 s when 0
	Logger   *slog.Logger
	// Open opens a source; ingest.Open when nil (tests replace it).
	Open func(ctx context.Context, url string, opts ingest.Options) (ingest.Media, error)
}

// Ingester runs stream ingest tasks, each the job (models.JobIngest) StartIngest enqueued:
// it opens the task's source (retrying as TRTC does: at once, after 1 s and 3 s, with 701
// Status 2 each time, then 701 Status 1), enters the task's anchor in the room (701
// Status 0), publishes the source's tracks into the hub as the anchor's streams, paced by
// the clock (a file plays in real time, a live source as it comes), loops per RepeatNum,
// follows UpdateStreamIngest (a new URL, volume, pause) and ends the task when the source
// is done (702). A run taken over after a crash resumes where the last one saved its
// position (every progressEvery of media).
type Ingester struct {
	cfg    IngesterConfig
	log    *slog.Logger
	runner *Runner

	mu   sync.Mutex
	runs map[*ingestRun]struct{}
}

// Retry cadence of a source that does not open (seed: "a retry is made at the 0th, 1st
// and 3rd second"), counted from the first failure.
var ingestRetryAt = []time.Duration{0, time.Second, 3 * time.Second}

const (
	// progressEvery is how much media a run plays between saves of its position.
	progressEvery = 5 * time.Second
	// paceStep is the shortest wait between two batches of a file source's units: the
	// units due within it are published together (a virtual clock then steps ten times a
	// second of media, not once a unit).
	paceStep = 100 * time.Millisecond
)

// NewIngester checks cfg and returns an ingester; Run starts it.
func NewIngester(cfg IngesterConfig) (*Ingester, error) {
	if cfg.Store == nil || cfg.Hub == nil {
		return nil, errors.New("ingester: Store and Hub are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Open == nil {
		cfg.Open = ingest.Open
	}
	g := &Ingester{cfg: cfg, log: cfg.Logger.With("component", "ingest"), runs: map[*ingestRun]struct{}{}}
	runner, err := NewRunner(RunnerConfig{Store: cfg.Store, Clock: cfg.Clock, LeaseTTL: cfg.LeaseTTL, Logger: cfg.Logger,
		Kinds: map[string]Kind{models.JobIngest: {Handle: g.handle, Settles: true, RetryAfter: recordingRetry}}})
	if err != nil {
		return nil, err
	}
	g.runner = runner
	return g, nil
}

// Run runs ingest jobs until ctx ends.
func (g *Ingester) Run(ctx context.Context) { g.runner.Run(ctx) }

// Settle returns once every running task has published what was due at the clock's time
// (a virtual clock calls it after each step).
func (g *Ingester) Settle(ctx context.Context) { g.runner.Settle(ctx) }

// Wake makes the ingester look for new tasks, and the running ones read their task again
// (after UpdateStreamIngest, StopStreamIngest or a room change).
func (g *Ingester) Wake() {
	g.runner.Wake()
	g.mu.Lock()
	defer g.mu.Unlock()
	for r := range g.runs {
		select {
		case r.poke <- struct{}{}:
		default:
		}
	}
}

func (g *Ingester) handle(ctx context.Context, job *Job) error {
	var args models.IngestJobArgs
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return fmt.Errorf("ingest job arguments: %w", err)
	}
	task, err := g.cfg.Store.IngestByRef(ctx, args.TaskRef)
	if err != nil {
		return err
	}
	if task.State == models.IngestEnded {
		return nil
	}
	spec, err := task.IngestSpec()
	if err != nil {
		return err
	}
	r := &ingestRun{g: g, task: *task, spec: spec, settle: job.Settle(), poke: make(chan struct{}, 1),
		log: g.log.With("task", task.TaskId), room: HubRoom(task.SdkAppId, task.RoomIdType, task.RoomId)}
	g.mu.Lock()
	g.runs[r] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.runs, r)
		g.mu.Unlock()
		r.closeSources()
	}()
	err = contain(func() error { return r.run(ctx) })
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		r.log.Error("ingest task panicked; it fails", "panic", pe.value, "stack", string(pe.stack))
		r.fail(pe.Error())
	case err != nil && ctx.Err() == nil && job.Attempts >= job.MaxAttempts:
		r.log.Error("ingest task failed on its last attempt; it fails", "attempts", job.Attempts, "err", err)
		r.fail(err.Error())
	case err != nil && ctx.Err() == nil:
		r.log.Error("ingest task failed; it will be retried", "attempt", job.Attempts, "err", err)
	}
	return err
}

// ingestRun is one run of one task.
type ingestRun struct {
	g      *Ingester
	task   models.IngestTask
	spec   *models.IngestSpec
	log    *slog.Logger
	room   string
	settle <-chan chan struct{}
	poke   chan struct{}
	// playing is the task's UrlVersion the source was opened for.
	playing int

	sources map[hub.Track]*hub.Source
	params  map[hub.Track]hub.Params
	start   time.Time     // the clock time of the streams' media time 0
	base    time.Duration // the streams' time of the current play's time 0
	end     time.Duration // the streams' time just after the last unit published
	last    map[hub.Track]time.Duration
	step    map[hub.Track]time.Duration // the last DTS step of each track (its unit duration)
}

// playEnd is why a play of the source stopped.
type playEnd int

const (
	playEOF        playEnd = iota // the source ended
	playURLChanged                // UpdateStreamIngest gave a new URL
	playTaskEnded                 // stopped, or the anchor was removed
	playDeadline                  // MaxDuration reached
	playFailed                    // the source failed mid-play
)

func (r *ingestRun) run(ctx context.Context) error {
	store := r.g.cfg.Store
	loops, position := r.task.LoopsDone, time.Duration(r.task.PositionMs)*time.Millisecond
	if r.task.State == models.IngestRunning {
		// A run after a crash or a restart: on from the last saved position.
		r.log.Info("ingest task resumed", "loops_done", loops, "position", position)
	}
	var failure error // the last play failed: retried with 701 Status 2 first
	for {
		media, ended, err := r.open(ctx, loops, position, failure)
		if err != nil || ended {
			return err
		}
		restarted := failure != nil
		failure = nil
		if err := r.publish(media); err != nil {
			media.Close()
			return err
		}
		tracks := models.IngestTracks{Audio: media.Audio() != nil}
		if v := media.Video(); v != nil {
			tracks.Video = &models.VideoFormat{Width: v.Width, Height: v.Height, Fps: v.FPS}
		}
		t, err := store.IngestStarted(ctx, r.task.ID, tracks, restarted)
		if err != nil {
			media.Close()
			return err
		}
		r.task = *t
		if t.State == models.IngestEnded {
			media.Close()
			return nil
		}
		how, pos, err := r.play(ctx, media, loops, position) // closes media
		if err != nil {
			return err
		}
		position = pos
		switch how {
		case playTaskEnded:
			return nil
		case playDeadline:
			return store.FinishIngest(ctx, r.task.ID, "MaxDuration reached")
		case playURLChanged:
			loops, position = 0, 0
		case playFailed:
			failure = errors.New("the source dropped")
		case playEOF:
			loops, position = loops+1, 0
			if r.spec.RepeatNum != -1 && loops >= r.spec.RepeatNum {
				return store.FinishIngest(ctx, r.task.ID, "the source played to its end")
			}
			if err := store.IngestProgress(ctx, r.task.ID, loops, 0); err != nil {
				return err
			}
		}
		r.base = r.end // the next play goes on where this one stopped
	}
}

// open opens the task's source at position (after SeekSecond in its first play), retrying as TRTC does; ended reports the task
// ended meanwhile (stopped, or its retries failed: 701 Status 1). failed is why the last
// play stopped, when it failed: then the source is retried at once, with 701 Status 2.
func (r *ingestRun) open(ctx context.Context, loops int, position time.Duration, failed error) (ingest.Media, bool, error) {
	store := r.g.cfg.Store
	clk := r.g.cfg.Clock
	var firstFailure time.Time
	retries := 0
	err := failed
	for {
		if err == nil {
			opts := ingest.Options{Client: r.g.cfg.Client, Dial: r.g.cfg.Dial, TempDir: r.g.cfg.TempDir,
				Seek: position}
			if loops == 0 {
				opts.Seek += time.Duration(r.spec.SeekSecond) * time.Second // SeekSecond: the first play only
			}
			r.playing = r.task.UrlVersion
			var media ingest.Media
			media, err = r.openOnce(ctx, opts)
			if err == nil {
				if r.task.Volume != 100 && !media.SetVolume(r.task.Volume) {
					r.log.Info("the source's audio is not decoded: its volume is not changed", "volume", r.task.Volume)
				}
				return media, false, nil
			}
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			r.log.Warn("the ingest source did not open", "url", r.task.StreamUrl, "err", err)
		}
		final := retries == len(ingestRetryAt) || errors.Is(err, ingest.ErrUnsupported)
		ended, serr := store.IngestRetry(ctx, r.task.ID, final, err.Error())
		if serr != nil || ended {
			return nil, true, serr
		}
		if firstFailure.IsZero() {
			firstFailure = clk.Now()
		}
		at := firstFailure.Add(ingestRetryAt[retries])
		retries++
		if ended, err := r.waitUntil(ctx, at); err != nil || ended {
			return nil, true, err
		}
		err = nil
	}
}

// openOnce opens the source; a panic in a demuxer is an error of this attempt.
func (r *ingestRun) openOnce(ctx context.Context, opts ingest.Options) (media ingest.Media, err error) {
	err = contain(func() error {
		var e error
		media, e = r.g.cfg.Open(ctx, r.task.StreamUrl, opts)
		return e
	})
	var pe *panicError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%w: the demuxer panicked: %v", ingest.ErrUnsupported, pe.value)
	}
	return media, err
}

// waitUntil waits for the clock to reach at, answering Settle and reading the task on
// each poke; ended reports the task ended meanwhile.
func (r *ingestRun) waitUntil(ctx context.Context, at time.Time) (bool, error) {
	clk := r.g.cfg.Clock
	for {
		wait := at.Sub(clk.Now())
		if wait <= 0 {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-clk.After(wait):
		case done := <-r.settle:
			close(done)
		case <-r.poke:
			if err := r.reload(ctx); err != nil {
				return false, err
			}
			if r.task.State == models.IngestEnded {
				return true, nil
			}
			if r.task.UrlVersion != r.playing {
				return false, nil // the new URL is tried at once
			}
		}
	}
}

func (r *ingestRun) reload(ctx context.Context) error {
	t, err := r.g.cfg.Store.IngestByRef(ctx, r.task.ID)
	if err != nil {
		return err
	}
	r.task = *t
	return nil
}

// publish makes the hub streams of the anchor match media's tracks: kept (with new
// parameters announced on their next unit) when the track stays, ended when it goes,
// published when it comes.
func (r *ingestRun) publish(media ingest.Media) error {
	if r.sources == nil {
		r.sources, r.params = map[hub.Track]*hub.Source{}, map[hub.Track]hub.Params{}
		r.last, r.step = map[hub.Track]time.Duration{}, map[hub.Track]time.Duration{}
		// Media time 0 is now; a resumed run's streams are new ones.
		r.start = r.g.cfg.Clock.Now()
	}
	for track, p := range map[hub.Track]*hub.Params{hub.MainVideo: media.Video(), hub.Audio: media.Audio()} {
		src := r.sources[track]
		switch {
		case p == nil && src != nil:
			src.Close()
			delete(r.sources, track)
		case p != nil && src == nil:
			src, err := r.g.cfg.Hub.PublishAt(hub.Key{Room: r.room, UserId: r.task.UserId, Track: track}, *p,
				r.start)
			if err != nil {
				return fmt.Errorf("publish the ingest anchor's %v: %w", track, err)
			}
			r.sources[track], r.params[track] = src, *p
		}
	}
	return nil
}

func (r *ingestRun) closeSources() {
	for track, src := range r.sources {
		src.Close()
		delete(r.sources, track)
	}
}

// play publishes media's units into the hub, paced by the clock unless the source is
// live, until the source ends or something stops it; it returns how far it got into the
// source (for a resume after a failure).
func (r *ingestRun) play(ctx context.Context, media ingest.Media, loops int, position time.Duration) (playEnd, time.Duration, error) {
	store, clk := r.g.cfg.Store, r.g.cfg.Clock
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	type next struct {
		pkt ingest.Packet
		err error
	}
	newParams := map[hub.Track]*hub.Params{hub.MainVideo: media.Video(), hub.Audio: media.Audio()}
	live := media.Live()
	// The source is read ahead by one unit by a goroutine of its own, so that the loop can
	// wait on the clock, Settle and pokes while a live source has nothing yet. From here
	// that goroutine alone calls media's methods (a volume goes to it), and it closes media
	// when the play ends: a Next blocked on a stalled server cannot race the Close.
	units := make(chan next, 1)
	volumes := make(chan int, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer media.Close()
		for {
			var n next
			n.err = contain(func() error {
				var err error
				n.pkt, err = media.Next(readCtx)
				return err
			})
		send:
			for {
				select {
				case units <- n:
					break send
				case v := <-volumes: // applied while the unit waits for the loop
					if !media.SetVolume(v) {
						r.log.Info("the source's audio is not decoded: its volume is not changed", "volume", v)
					}
				case <-readCtx.Done():
					return
				}
			}
			if n.err != nil {
				return
			}
		}
	}()
	defer func() {
		stopReading()
		select {
		case <-readerDone:
		case <-time.After(5 * time.Second): // it closes the media when its read returns
			r.log.Warn("the ingest source's read is stuck; it is closed when it returns")
		}
	}()
	from := position // where the media opened: its times start there
	firstOf := map[hub.Track]bool{hub.MainVideo: true, hub.Audio: true}
	saved := position
	var deadline <-chan time.Time
	if r.spec.RepeatNum == -1 && r.spec.MaxDurationMinutes > 0 && r.task.StartedAtMs != nil {
		at := time.UnixMilli(*r.task.StartedAtMs).Add(time.Duration(r.spec.MaxDurationMinutes) * time.Minute)
		deadline = clk.After(at.Sub(clk.Now()))
	}
	volume, paused := r.task.Volume, r.task.Paused
	var pausedAt time.Time
	if paused {
		pausedAt = clk.Now()
	}
	var pending *ingest.Packet
	// put publishes one unit at its place on the streams' time line.
	put := func(p ingest.Packet) error {
		src := r.sources[p.Track]
		if src == nil {
			return nil
		}
		u := p.Unit
		u.PTS += r.base
		u.DTS += r.base
		if prev, ok := r.last[p.Track]; ok && u.DTS <= prev {
			u.DTS = prev + time.Millisecond // a loop or a new URL never steps back
			u.PTS = max(u.PTS, u.DTS)
		}
		if firstOf[p.Track] {
			firstOf[p.Track] = false
			if np := newParams[p.Track]; np != nil && !sameParams(*np, r.params[p.Track]) {
				u.Params, r.params[p.Track] = np, *np
			}
		}
		if prev, ok := r.last[p.Track]; ok && u.DTS-prev < time.Second {
			r.step[p.Track] = u.DTS - prev
		}
		r.last[p.Track] = u.DTS
		r.end = max(r.end, u.DTS+r.step[p.Track])
		if err := src.Write(u); err != nil && !errors.Is(err, hub.ErrEnded) {
			return err
		}
		position = max(position, from+p.Unit.DTS)
		return nil
	}
	// due is when a unit plays.
	due := func(p *ingest.Packet) time.Time { return r.start.Add(r.base + p.Unit.DTS) }
	// drain publishes what is due now: at a Settle, every unit due (a file source read up
	// to the first unit not due yet).
	drain := func() (playEnd, bool, error) {
		now := clk.Now()
		for {
			if pending == nil {
				var n next
				if live {
					select {
					case n = <-units:
					default:
						return 0, false, nil
					}
				} else {
					select {
					case n = <-units:
					case <-ctx.Done():
						return 0, false, ctx.Err()
					}
				}
				if n.err != nil {
					how, err := r.endOfPlay(n.err)
					return how, true, err
				}
				pending = &n.pkt
			}
			if paused || (!live && due(pending).After(now)) {
				return 0, false, nil
			}
			if err := put(*pending); err != nil {
				return 0, false, err
			}
			pending = nil
		}
	}
	// onPoke reads the task again and follows it: ended, a new URL, the volume, a pause.
	onPoke := func() (playEnd, bool, error) {
		if err := r.reload(ctx); err != nil {
			return 0, false, err
		}
		t := r.task
		switch {
		case t.State == models.IngestEnded:
			return playTaskEnded, true, nil
		case t.UrlVersion != r.playing:
			return playURLChanged, true, nil
		}
		if t.Volume != volume {
			volume = t.Volume
			select {
			case <-volumes: // an older one not applied yet
			default:
			}
			volumes <- volume
		}
		if t.Paused != paused {
			paused = t.Paused
			if paused {
				pausedAt = clk.Now()
			} else {
				// The time paused is a gap on the streams' time line: what follows plays
				// from now.
				r.base += clk.Now().Sub(pausedAt)
			}
		}
		return 0, false, nil
	}
	for {
		if position-saved >= progressEvery {
			saved = position
			if err := store.IngestProgress(ctx, r.task.ID, loops, position.Milliseconds()); err != nil {
				return 0, position, err
			}
		}
		var wait <-chan time.Time
		var in chan next
		switch {
		case paused:
		case pending == nil:
			in = units
		case live:
			if err := put(*pending); err != nil {
				return 0, position, err
			}
			pending = nil
			continue
		default:
			d := due(pending).Sub(clk.Now())
			if d <= 0 {
				if err := put(*pending); err != nil {
					return 0, position, err
				}
				pending = nil
				continue
			}
			wait = clk.After(max(d, paceStep))
		}
		select {
		case <-ctx.Done():
			return 0, position, ctx.Err()
		case n := <-in:
			if n.err != nil {
				how, err := r.endOfPlay(n.err)
				return how, position, err
			}
			pending = &n.pkt
		case <-wait:
			now := clk.Now()
			for pending != nil && !due(pending).After(now) {
				if err := put(*pending); err != nil {
					return 0, position, err
				}
				pending = nil
				// The units due within this batch go together.
				select {
				case n := <-units:
					if n.err != nil {
						how, err := r.endOfPlay(n.err)
						return how, position, err
					}
					pending = &n.pkt
				default:
				}
			}
		case done := <-r.settle:
			// A change committed before the clock moved (a poke pending) applies first.
			select {
			case <-r.poke:
				how, stop, err := onPoke()
				if err != nil || stop {
					close(done)
					return how, position, err
				}
			default:
			}
			how, stop, err := drain()
			close(done)
			if err != nil || stop {
				return how, position, err
			}
		case <-deadline:
			return playDeadline, position, nil
		case <-r.poke:
			how, stop, err := onPoke()
			if err != nil || stop {
				return how, position, err
			}
		}
	}
}

// endOfPlay maps the end of a source's units to how the play ended.
func (r *ingestRun) endOfPlay(err error) (playEnd, error) {
	var pe *panicError
	switch {
	case errors.Is(err, io.EOF):
		return playEOF, nil
	case errors.As(err, &pe):
		r.log.Error("the ingest source's demuxer panicked", "panic", pe.value)
		return playFailed, nil
	case errors.Is(err, context.Canceled):
		return 0, err
	default:
		r.log.Warn("the ingest source failed", "err", err)
		return playFailed, nil
	}
}

func sameParams(a, b hub.Params) bool {
	return a.Codec == b.Codec && string(a.SPS) == string(b.SPS) && string(a.PPS) == string(b.PPS) &&
		string(a.AudioConfig) == string(b.AudioConfig) && a.Width == b.Width && a.Height == b.Height
}

// fail ends the task for good: 701 Status 1.
func (r *ingestRun) fail(reason string) {
	if err := r.g.cfg.Store.FailIngest(context.Background(), r.task.ID, reason); err != nil {
		r.log.Error("mark the ingest task failed", "err", err)
	}
}
