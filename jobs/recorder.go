package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/media/compose"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/virtual"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// RecorderConfig configures the cloud recording worker.
type RecorderConfig struct {
	Store RecordingStore
	Clock clock.Clock // clock.System when nil
	// SpoolDir holds each task's files (<SpoolDir>/<TaskId>/) until they are uploaded.
	SpoolDir string
	// Uploaders opens the storage a task writes to.
	Uploaders Uploaders
	// Notify, when set, is called after each pass and upload round that changed something
	// (tests pace themselves on it). The callbacks those write wake the dispatcher through
	// models' Store.OnChange.
	Notify func()
	Logger *slog.Logger
	// Tick is how often a task records what its anchors sent since the last pass; 500 ms
	// when 0. LeaseTTL is how long a task's job stays with a recorder that stopped renewing
	// (one that crashed): 5 s when 0.
	Tick, LeaseTTL time.Duration
	// SegmentDuration is the HLS target segment length; 10 s when 0.
	SegmentDuration time.Duration
	// UploadGiveUp is how long the storage may refuse a file for good (a 4xx answer other
	// than throttling: AccessDenied, NoSuchBucket, …) before the task fails (FailRecording:
	// 305 Status 1, its files kept in the spool); 5 minutes when 0.
	UploadGiveUp time.Duration

	// Hub and Media are the live streams and the virtual participants' encoders the tasks
	// read (one encoder per published track, however many tasks record it); the recorder's
	// own when nil.
	Hub   *hub.Hub
	Media *virtual.Media
	// Rooms shares Media's rooms with the relayer's tasks; made from Media when nil.
	Rooms *RoomMedia
	// Images fetches a mixed layout's images (through the callbacks' address guard); a
	// plain client when nil.
	Images *http.Client

	hooks *recorderHooks // tests: called inside a task's loops (to inject a panic)
}

// recorderHooks are called at the start of each writer pass and upload round of a task.
type recorderHooks struct {
	pass, upload func(taskId string)
}

// Recorder runs cloud recording tasks, each the job (models.JobRecording) CreateRecording
// enqueued, on a job Runner: it records the subscribed anchors' media from the hub into HLS
// (and MP4) files in the spool, uploads them, and writes the task's state changes and
// callbacks through models. A task whose recorder died (its job's lease ran out) is taken
// over by the next one (306, ha<n>_ files).
type Recorder struct {
	cfg    RecorderConfig
	log    *slog.Logger
	runner *Runner
	// tasks are the running tasks, which Wake pokes.
	tasksMu sync.Mutex
	tasks   map[*taskRun]struct{}
}

// NewRecorder checks cfg and returns a recorder; Run starts it.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Store == nil || cfg.SpoolDir == "" {
		return nil, errors.New("recorder: Store and SpoolDir are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tick == 0 {
		cfg.Tick = 500 * time.Millisecond
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	if cfg.SegmentDuration == 0 {
		cfg.SegmentDuration = 10 * time.Second
	}
	if cfg.UploadGiveUp == 0 {
		cfg.UploadGiveUp = 5 * time.Minute
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o755); err != nil {
		return nil, err
	}
	if cfg.Hub == nil || cfg.Media == nil {
		cfg.Hub = hub.New()
		cfg.Media = virtual.New(cfg.Hub)
		cfg.Rooms = nil
	}
	if cfg.Rooms == nil {
		cfg.Rooms = NewRoomMedia(cfg.Media, cfg.Logger)
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger.With("component", "recorder"), tasks: map[*taskRun]struct{}{}}
	runner, err := NewRunner(RunnerConfig{Store: cfg.Store, Clock: cfg.Clock, LeaseTTL: cfg.LeaseTTL, Logger: cfg.Logger,
		Kinds: map[string]Kind{models.JobRecording: {Handle: r.handle, Settles: true, RetryAfter: recordingRetry}}})
	if err != nil {
		return nil, err
	}
	r.runner = runner
	return r, nil
}

// recordingRetry is the wait before a failed run of a recording task goes on: the media
// keeps coming, so soon (1 s, 2 s, … at most 10 s).
func recordingRetry(attempt int) time.Duration { return min(time.Duration(attempt), 10) * time.Second }

// quietTick is how long a task that records nothing (no anchor publishes what it
// subscribes) waits between passes at most: Wake brings the next pass forward when the
// room changes, and the MaxIdleTime deadline is waited for exactly.
const quietTick = 10 * time.Second

// Wake makes the recorder look for new tasks now (after CreateCloudRecording) and the
// tasks that record nothing look at their rooms again (after a member entered or began
// publishing).
func (r *Recorder) Wake() {
	r.runner.Wake()
	r.tasksMu.Lock()
	defer r.tasksMu.Unlock()
	for t := range r.tasks {
		select {
		case t.poke <- struct{}{}:
		default:
		}
	}
}

// Run sweeps the spool, then runs recording jobs until ctx ends; then every task suspends
// its streams (playlists written, files in the spool), its job is given back and Run
// returns.
func (r *Recorder) Run(ctx context.Context) error {
	if err := contain(func() error { return r.SweepSpool(ctx) }); err != nil {
		r.log.Error("spool sweep", "err", err)
	}
	r.runner.Run(ctx)
	return nil
}

// Settle returns once the recorder has done what was due at the clock's time: the tasks
// created by then are claimed (Runner.Settle), and each running task whose tick has come
// has made its pass (segments written, callbacks committed). A virtual clock calls it
// after each step.
func (r *Recorder) Settle(ctx context.Context) { r.runner.Settle(ctx) }

// SweepSpool removes the spool directories of tasks that ended (a crash after the end and
// before the cleanup) or that the database does not know; a failed task's kept files stay.
// Run sweeps at its start; the periodic sweeps call it too.
func (r *Recorder) SweepSpool(ctx context.Context) error {
	entries, err := os.ReadDir(r.cfg.SpoolDir)
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	for _, e := range entries {
		t, err := r.cfg.Store.Recording(ctx, e.Name())
		if err != nil && !tcerr.Is(err, tcerr.CodeResourceNotFound) {
			r.log.Error("spool sweep", "dir", e.Name(), "err", err)
			continue
		}
		if t != nil && t.State == models.TaskEnded && t.Failure != "" {
			if keeps, err := r.cfg.Store.KeepsFiles(ctx, t.ID); err != nil || keeps {
				continue // a failed task's files stay in the spool
			}
		}
		if t == nil || t.State == models.TaskEnded {
			r.log.Info("removing a finished task's spool", "dir", e.Name())
			os.RemoveAll(filepath.Join(r.cfg.SpoolDir, e.Name()))
		}
	}
	return nil
}

// handle runs a recording task's job: the task recorded until it ended (nil), the job's
// context ended (a graceful stop or a lost lease), or the run failed (retried where it
// stopped, up to the job's attempts). A panic, or the last attempt failing, fails the task
// for good with its callbacks (FailRecording), so that a fault that would recur cannot
// loop.
func (r *Recorder) handle(ctx context.Context, job *Job) error {
	var args models.RecordingJobArgs
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return fmt.Errorf("recording job arguments: %w", err)
	}
	task, err := r.cfg.Store.RecordingByRef(ctx, args.TaskRef)
	if err != nil {
		return err
	}
	if task.State == models.TaskEnded {
		return nil // it ended before its job did (a crash between the two)
	}
	run := &taskRun{r: r, task: *task, log: r.log.With("task", task.TaskId), settle: job.Settle(),
		filesReady: make(chan struct{}, 1), poke: make(chan struct{}, 1)}
	r.tasksMu.Lock()
	r.tasks[run] = struct{}{}
	r.tasksMu.Unlock()
	defer func() {
		r.tasksMu.Lock()
		delete(r.tasks, run)
		r.tasksMu.Unlock()
	}()
	err = contain(func() error { return run.run(ctx, job.TakenOver) })
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		run.log.Error("recording task panicked; it fails", "panic", pe.value, "stack", string(pe.stack))
		if err := contain(func() error { run.fail(pe.Error()); return nil }); err != nil {
			run.log.Error("mark the recording task failed", "err", err)
		}
	case err != nil && ctx.Err() == nil && job.Attempts >= job.MaxAttempts:
		run.log.Error("recording task failed on its last attempt; it fails", "attempts", job.Attempts, "err", err)
		run.fail(err.Error())
	case err != nil && ctx.Err() == nil:
		run.log.Error("recording task failed; it will be retried", "attempt", job.Attempts, "err", err)
	}
	return err
}

// panicError is a panic recovered at a task's boundary, with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("recorder panic: %v", e.value) }

// contain runs fn, turning a panic into a *panicError: a failing task (or pass of the
// claim loop) never takes the process down.
func contain(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return fn()
}

// fail ends the task for good (FailRecording): it is not retried, so a panic that would
// recur on every run cannot loop.
func (t *taskRun) fail(reason string) {
	if err := t.r.cfg.Store.FailRecording(context.Background(), t.task.ID, reason); err != nil {
		t.log.Error("mark the recording task failed", "err", err)
		return
	}
	t.r.notify()
}

func (r *Recorder) notify() {
	if r.cfg.Notify != nil {
		r.cfg.Notify()
	}
}

// taskRun is one recorder's run of one task.
type taskRun struct {
	r          *Recorder
	task       models.RecordingTask
	log        *slog.Logger
	spool      *os.Root
	spoolPath  string
	generation int
	streams    map[streamKey]*streamWriter
	slots      models.AnchorSlots
	room       string                    // the room's name in the hub
	images     map[string]*compose.Image // a mixed layout's images by URL (nil: failed, 309 sent)

	// settle carries Settle's requests to the task's loop (Job.Settle), which answers by
	// closing each once the pass due (if its tick came) is made.
	settle <-chan chan struct{}
	// filesReady wakes the upload loop after a pass (files closed, the writer done), so
	// that uploads do not wait for the clock: a virtual one moves only when told.
	filesReady chan struct{}
	// quiet: the last pass recorded nothing, and the next waits for a poke (Recorder.Wake),
	// the MaxIdleTime deadline or quietTick instead of Tick.
	quiet   bool
	poke    chan struct{}
	maxIdle time.Duration // the task's MaxIdleTime, as of the last pass
}

// hubRoom is a task's room as the hub names it.
func hubRoom(t *models.RecordingTask) string { return HubRoom(t.SdkAppId, t.RoomIdType, t.RoomId) }

// HubRoom is a room's name in the media hub (the Room of its members' hub.Keys).
func HubRoom(sdkAppId uint64, roomIdType int, roomId string) string {
	return strconv.FormatUint(sdkAppId, 10) + "/" + strconv.Itoa(roomIdType) + "/" + roomId
}

// publishers is what the present members publish, for the virtual participants' media.
func publishers(members []models.Member) []virtual.Publisher {
	var pubs []virtual.Publisher
	for i := range members {
		m := &members[i]
		if m.Robot || m.Source != models.SourceVirtual || !(m.PubVideo || m.PubAudio || m.PubSubstream) {
			continue // an RTMP publisher's media is what it sends, not ours
		}
		p := virtual.Publisher{UserId: m.UserId, Audio: m.PubAudio}
		if m.PubVideo {
			v := m.MainVideo()
			p.Main = &virtual.Video{Width: v.Width, Height: v.Height, Fps: v.Fps}
		}
		if m.PubSubstream {
			v := models.SubstreamVideo
			p.Aux = &virtual.Video{Width: v.Width, Height: v.Height, Fps: v.Fps}
		}
		pubs = append(pubs, p)
	}
	return pubs
}

func (t *taskRun) run(ctx context.Context, takenOver bool) error {
	r := t.r
	store := r.cfg.Store
	t.generation = t.task.Failovers
	if takenOver && t.task.State == models.TaskRecording {
		n, err := store.TakeOver(ctx, t.task.ID)
		if err != nil {
			return err
		}
		t.generation = n
		t.log.Warn("took over a recording task whose recorder stopped", "failovers", n)
	}
	t.generation = min(t.generation, 3) // seed: ha1_ … ha3_
	t.spoolPath = filepath.Join(r.cfg.SpoolDir, t.task.TaskId)
	if err := os.MkdirAll(t.spoolPath, 0o755); err != nil {
		return err
	}
	spool, err := os.OpenRoot(t.spoolPath)
	if err != nil {
		return err
	}
	defer spool.Close()
	t.spool = spool
	if err := store.StartUpload(ctx, t.task.ID); err != nil {
		return err
	}
	r.notify()

	spec, err := t.task.RecordingSpec()
	if err != nil {
		return err
	}
	upCtx, stopUploads := context.WithCancel(context.Background())
	uploadsDone := make(chan uploadResult, 1)
	taskRef, taskId := t.task.ID, t.task.TaskId
	go func() {
		var res uploadResult
		if err := contain(func() error { res = t.uploadLoop(upCtx, taskRef, taskId, spec.Storage); return nil }); err != nil {
			res = uploadResult{err: err}
		}
		uploadsDone <- res
	}()
	defer func() {
		stopUploads()
		<-uploadsDone
	}()
	t.streams = map[streamKey]*streamWriter{}
	t.room = hubRoom(&t.task)
	r.cfg.Rooms.Enter(t.room)
	defer func() { r.cfg.Rooms.Leave(t.room, r.cfg.Clock.Now()) }()
	var settled []chan struct{} // Settle's requests answered after the next pass
	for {
		ended, err := t.pass(ctx)
		for _, done := range settled {
			close(done)
		}
		settled = settled[:0]
		if err != nil {
			t.suspendAll()
			if ctx.Err() != nil {
				// Shutdown cut the pass short: still a graceful stop, so the job goes back
				// (otherwise the next start would take the task over: 306, ha1_ files).
				r.notify()
				return ctx.Err()
			}
			return err
		}
		if ended {
			break
		}
		tick, poke := r.cfg.Clock.After(t.nextPass()), (<-chan struct{})(nil)
		if t.quiet {
			poke = t.poke
		}
	wait:
		select {
		case <-ctx.Done():
			t.suspendAll()
			r.notify()
			return ctx.Err()
		case res := <-uploadsDone:
			uploadsDone <- res
			if res.err != nil || res.ended {
				return t.uploadsEnded(res)
			}
		case <-tick:
		case <-poke:
		case done := <-t.settle:
			// A tick that came (or a poke) is passed before the answer; else nothing is
			// due yet.
			select {
			case <-tick:
				settled = append(settled, done)
			case <-poke:
				settled = append(settled, done)
			default:
				close(done)
				goto wait
			}
		}
	}
	// The writer is done: wait for the uploads to settle the task.
	for {
		select {
		case res := <-uploadsDone:
			uploadsDone <- res
			return t.uploadsEnded(res)
		case <-ctx.Done():
			return ctx.Err()
		case done := <-t.settle:
			close(done)
		}
	}
}

// nextPass is the wait before the next pass: Tick while the task records; when it records
// nothing, until its MaxIdleTime deadline (the stop is due then), at most quietTick.
func (t *taskRun) nextPass() time.Duration {
	if !t.quiet {
		return t.r.cfg.Tick
	}
	wait := quietTick
	if t.task.IdleSinceMs != nil {
		deadline := time.UnixMilli(*t.task.IdleSinceMs).Add(t.maxIdle)
		wait = min(wait, max(deadline.Sub(t.r.cfg.Clock.Now()), 0))
	}
	return max(wait, t.r.cfg.Tick)
}

// pass brings the files up to now; it reports when the writer is done (the task stopped
// and every file is in the spool). The job's runner renews the lease.
func (t *taskRun) pass(ctx context.Context) (bool, error) {
	r, store := t.r, t.r.cfg.Store
	if r.cfg.hooks != nil && r.cfg.hooks.pass != nil {
		r.cfg.hooks.pass(t.task.TaskId)
	}
	now := r.cfg.Clock.Now()
	view, err := store.RecordingTick(ctx, t.task.ID)
	if err != nil {
		return false, err
	}
	wasQuiet := t.quiet
	t.quiet = false
	defer func() {
		if t.quiet && wasQuiet {
			return // nothing was written: no callbacks to send, no files to upload
		}
		r.notify()
		select {
		case t.filesReady <- struct{}{}:
		default:
		}
	}()
	t.task, t.maxIdle = view.Task, time.Duration(view.Spec.MaxIdleTime)*time.Second
	if view.Task.WriterDone {
		return true, nil
	}
	if view.Task.State != models.TaskRecording {
		return true, t.finish(ctx)
	}
	// The room's virtual participants publish what the room says, up to now.
	if err := r.cfg.Rooms.Sync(t.room, view.Members, now); err != nil {
		return false, err
	}
	if err := t.record(ctx, view, now); err != nil {
		return false, err
	}
	t.quiet = len(t.streams) == 0
	return false, nil
}

// uploadsEnded is the end of a task's upload loop: the task ended (its spool goes, unless
// the task failed and keeps its files) or the loop failed.
func (t *taskRun) uploadsEnded(res uploadResult) error {
	switch {
	case res.err != nil:
		t.suspendAll()
		return res.err
	case res.failed:
		t.streams = nil // the task ended: nothing more is written (open files close with their writers)
		t.log.Warn("recording task failed: its files stay in the spool")
		return nil
	case res.ended:
		return t.cleanup()
	}
	return nil
}

func (t *taskRun) cleanup() error {
	t.log.Info("recording task ended")
	return os.RemoveAll(t.spoolPath)
}
