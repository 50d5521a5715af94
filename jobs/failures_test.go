package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

var beginTimeStampNumber = regexp.MustCompile(`"BeginTimeStamp":[1-9][0-9]{12}[,}]`)

// taskEvents returns a task's recording callbacks as "<type>:<payload>".
func taskEvents(t *testing.T, store *models.Store, taskId string) []string {
	t.Helper()
	events, err := store.Callbacks(context.Background(), models.CallbackQuery{TaskId: taskId})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- { // newest first
		var body struct {
			EventInfo struct{ Payload json.RawMessage }
		}
		if err := json.Unmarshal(events[i].Body, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d:%s", events[i].EventType, body.EventInfo.Payload))
	}
	return out
}

func hasEvent(events []string, want string) bool {
	for _, e := range events {
		if e == want {
			return true
		}
	}
	return false
}

// waitTask moves time until the task is in state (or the test times out).
func (r *recorderRig) waitTask(t *testing.T, taskId string, state models.TaskState) *models.RecordingTask {
	t.Helper()
	for i := 0; ; i++ {
		got, err := r.store.Recording(context.Background(), taskId)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == state {
			return got
		}
		if i > 4000 {
			t.Fatalf("task %s still %s, want %s", taskId, got.State, state)
		}
		if r.clock.Waiters() > 1 { // a task loop is asleep: its next tick
			r.clock.Advance(500 * time.Millisecond)
		}
		r.awaitNotify()
	}
}

// TestRecorderContainsTaskPanics: a panic inside one task's writer pass, and one inside
// another task's upload loop, are recovered at the task boundary: each task fails (302
// LeaveCode 3, 305 Status and LeaveCode 1, Failure kept, never claimed again) while the
// recorder goes on recording a third task to its normal end.
func TestRecorderContainsTaskPanics(t *testing.T) {
	var inPass, inUpload atomic.Value
	inPass.Store("")
	inUpload.Store("")
	var mu sync.Mutex
	calls := map[string]int{}
	hooks := &recorderHooks{
		pass: func(taskId string) {
			mu.Lock()
			calls[taskId]++
			mu.Unlock()
			if taskId == inPass.Load() {
				var m map[string]int
				m["injected pass panic"]++ // a nil-map write, like the defect's nil member
			}
		},
		upload: func(taskId string) {
			if taskId == inUpload.Load() {
				panic("injected upload panic")
			}
		},
	}
	rig := newRecorderRigWith(t, func(c *RecorderConfig) { c.hooks = hooks }, nil)
	rig.enter(t, "41", "alice", models.Publish{Audio: true, Video: true})
	rig.enter(t, "42", "bob", models.Publish{Audio: true, Video: true})
	rig.enter(t, "43", "carol", models.Publish{Audio: true, Video: true})
	ok := rig.create(t, "43", models.RecordingSpec{})
	rig.run(3 * time.Second)
	bad := rig.create(t, "41", models.RecordingSpec{})
	inPass.Store(bad.TaskId)
	badUpload := rig.create(t, "42", models.RecordingSpec{})
	inUpload.Store(badUpload.TaskId)

	for _, task := range []*models.RecordingTask{bad, badUpload} {
		got := rig.waitTask(t, task.TaskId, models.TaskEnded)
		if !strings.Contains(got.Failure, "recorder panic") || got.UploadStopStatus == nil || *got.UploadStopStatus != 1 {
			t.Fatalf("failed task: Failure %q, UploadStopStatus %v", got.Failure, got.UploadStopStatus)
		}
		events := taskEvents(t, rig.store, task.TaskId)
		if !hasEvent(events, `302:{"LeaveCode":3}`) || !hasEvent(events, `305:{"LeaveCode":1,"Status":1}`) {
			t.Fatalf("callbacks of the failed task: %v", events)
		}
	}
	mu.Lock()
	before := calls[bad.TaskId]
	mu.Unlock()
	rig.run(5 * time.Second)
	mu.Lock()
	after := calls[bad.TaskId]
	mu.Unlock()
	if after != before {
		t.Fatalf("the failed task ran %d more passes: it must not be claimed again", after-before)
	}
	// The robots left: the rooms of the failed tasks hold only their anchors.
	for _, room := range []string{"41", "42"} {
		m, err := rig.store.PresentMember(context.Background(), models.Identity{SdkAppId: recApp, RoomId: room, RoomIdType: models.RoomIdInt, UserId: "robot"})
		if !tcerr.Is(err, models.CodeUserNotExist) || m != nil {
			t.Fatalf("robot of room %s still present: %+v %v", room, m, err)
		}
	}

	// The recorder kept running the healthy task, which ends normally with its media.
	rig.run(3 * time.Second)
	rig.finish(t, ok)
	got, _ := rig.store.Recording(context.Background(), ok.TaskId)
	if got.Failure != "" || !hasEvent(taskEvents(t, rig.store, ok.TaskId), `305:{"LeaveCode":0,"Status":0}`) {
		t.Fatalf("healthy task: Failure %q, events %v", got.Failure, taskEvents(t, rig.store, ok.TaskId))
	}
	// 307's BeginTimeStamp is a JSON number (README: payload notes).
	slices := 0
	for _, e := range taskEvents(t, rig.store, ok.TaskId) {
		if strings.HasPrefix(e, "307:") {
			slices++
			if !beginTimeStampNumber.MatchString(e) {
				t.Fatalf("307 BeginTimeStamp is not a JSON number: %s", e)
			}
		}
	}
	if slices != 2 {
		t.Fatalf("%d 307 callbacks, want one per playlist", slices)
	}
	keys := rig.fetch(t, ok.TaskId+"/", t.TempDir())
	if len(keys) < 4 {
		t.Fatalf("healthy task uploaded %v", keys)
	}
	select {
	case err := <-rig.done:
		t.Fatalf("the recorder stopped: %v", err)
	default:
	}
}

// TestUploadRefusedGivesUp: the storage answers 403 AccessDenied to every upload of one
// bucket. The task reports 308 at once, goes on retrying for UploadGiveUp (fake clock),
// then fails: 305 Status 1, the robot leaves (302 LeaveCode 3), the files stay in the spool
// as kept and survive the spool sweep of the next start. A transient failure (503) of
// another bucket for longer than UploadGiveUp is retried and the task ends normally.
func TestUploadRefusedGivesUp(t *testing.T) {
	var unavailable atomic.Bool
	unavailable.Store(true)
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasPrefix(r.URL.Path, "/storage/refused-1250000000/"):
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			case strings.HasPrefix(r.URL.Path, "/storage/flaky-1250000000/") && unavailable.Load():
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>`)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	const giveUp = 30 * time.Second
	var spoolDir string
	rig := newRecorderRigWith(t, func(c *RecorderConfig) { c.UploadGiveUp = giveUp; spoolDir = c.SpoolDir }, front)
	rig.enter(t, "51", "alice", models.Publish{Audio: true, Video: true})
	rig.enter(t, "52", "bob", models.Publish{Audio: true, Video: true})
	refused := rig.createIn(t, "51", "refused-1250000000", models.RecordingSpec{})
	flaky := rig.createIn(t, "52", "flaky-1250000000", models.RecordingSpec{})

	rig.runWaiting(giveUp/2, 7) // the claim loop, and two tasks' run and upload loops and renewals
	if got, _ := rig.store.Recording(context.Background(), refused.TaskId); got.State != models.TaskRecording {
		t.Fatalf("refused task is %s before UploadGiveUp passed", got.State)
	}
	// The refusal is recorded when the uploader's real HTTP exchange ends: look again after
	// each of the recorder's notifications.
	for deadline := time.Now().Add(10 * time.Second); ; rig.awaitNotify() {
		events := taskEvents(t, rig.store, refused.TaskId)
		if hasEvent(events, `308:{"Code":"AccessDenied","Message":"Access Denied"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 308 AccessDenied: %v", events)
		}
	}
	got := rig.waitTask(t, refused.TaskId, models.TaskEnded)
	if !strings.Contains(got.Failure, "AccessDenied") || got.EndedAtMs == nil {
		t.Fatalf("Failure %q", got.Failure)
	}
	uploadErrors, _ := rig.store.Callbacks(context.Background(), models.CallbackQuery{TaskId: refused.TaskId, EventType: models.EventUploadError})
	if len(uploadErrors) != 1 {
		t.Fatalf("%d 308 callbacks: one per failing streak", len(uploadErrors))
	}
	// Retries come every 10 s at most; the test's clock may run a few ticks ahead.
	if elapsed := time.Duration(*got.EndedAtMs-uploadErrors[0].EventMsTs) * time.Millisecond; elapsed < giveUp || elapsed > giveUp+15*time.Second {
		t.Fatalf("gave up %s after the first refusal, UploadGiveUp is %s", elapsed, giveUp)
	}
	events := taskEvents(t, rig.store, refused.TaskId)
	if !hasEvent(events, `302:{"LeaveCode":3}`) || !hasEvent(events, `305:{"LeaveCode":1,"Status":1}`) {
		t.Fatalf("callbacks %v", events)
	}
	files, _ := rig.store.TaskFiles(context.Background(), refused.TaskId)
	if len(files) < 2 {
		t.Fatalf("files %+v", files)
	}
	for _, f := range files {
		if f.State != models.FileKept {
			t.Fatalf("%s is %s (%d attempts), want kept", f.ObjectKey, f.State, f.Attempts)
		}
		if _, err := os.Stat(filepath.Join(spoolDir, refused.TaskId, f.Spool)); err != nil {
			t.Fatalf("kept file %s is not in the spool: %v", f.Spool, err)
		}
	}

	// The flaky bucket failed longer than UploadGiveUp too, transiently: still recording.
	if got, _ := rig.store.Recording(context.Background(), flaky.TaskId); got.State != models.TaskRecording || got.Failure != "" {
		t.Fatalf("flaky task %s %q", got.State, got.Failure)
	}
	unavailable.Store(false)
	rig.finish(t, flaky)
	flakyEvents := taskEvents(t, rig.store, flaky.TaskId)
	if last := flakyEvents[len(flakyEvents)-1]; last != `305:{"LeaveCode":0,"Status":0}` && last != `305:{"LeaveCode":2,"Status":2}` {
		t.Fatalf("flaky task callbacks %v", flakyEvents)
	}
	if got, _ := rig.store.Recording(context.Background(), flaky.TaskId); got.Failure != "" {
		t.Fatalf("flaky task failed: %q", got.Failure)
	}

	// A new recorder's spool sweep keeps the failed task's files.
	rig.stop()
	<-rig.done
	rig.done <- nil // for the rig's cleanup
	rec, err := NewRecorder(RecorderConfig{Store: rig.store, Clock: rig.clock, SpoolDir: spoolDir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	rig.clock.BlockUntil(1)
	stop()
	<-done
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(spoolDir, refused.TaskId, f.Spool)); err != nil {
			t.Fatalf("the sweep removed kept file %s: %v", f.Spool, err)
		}
	}
}

// TestRecorderAnchorCap: 26 anchors in a room, the first (by entry) not publishing yet:
// it holds its slot, so the 26th is not recorded; when the first publishes it is
// recorded; when the second leaves, the 26th gets the freed slot.
func TestRecorderAnchorCap(t *testing.T) {
	rig := newRecorderRig(t)
	ctx := context.Background()
	rig.enter(t, "61", "u00", models.Publish{})
	for i := 1; i < 26; i++ {
		rig.enter(t, "61", fmt.Sprintf("u%02d", i), models.Publish{Audio: true})
	}
	task := rig.create(t, "61", models.RecordingSpec{StreamType: 1})
	recorded := func() map[string]bool {
		rows, err := rig.store.TaskStreams(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range rows {
			out[r.UserId] = true
		}
		return out
	}
	rig.run(2 * time.Second)
	if got := recorded(); len(got) != 24 || got["u00"] || got["u25"] {
		t.Fatalf("recorded %d users (u00 %v, u25 %v): u00 holds a slot unpublished, u25 has none", len(got), got["u00"], got["u25"])
	}
	id := func(u string) models.Identity {
		return models.Identity{SdkAppId: recApp, RoomId: "61", RoomIdType: models.RoomIdInt, UserId: u}
	}
	if _, err := rig.store.Update(ctx, models.UpdateParams{Identity: id("u00"), Publish: &models.PublishPatch{Audio: ptrTrue()}}); err != nil {
		t.Fatal(err)
	}
	rig.run(2 * time.Second)
	if got := recorded(); !got["u00"] || got["u25"] {
		t.Fatalf("after u00 published: u00 %v, u25 %v", got["u00"], got["u25"])
	}
	if err := rig.store.Leave(ctx, id("u01"), models.ExitVoluntary); err != nil {
		t.Fatal(err)
	}
	rig.run(2 * time.Second)
	if got := recorded(); !got["u25"] {
		t.Fatal("u25 has no slot after u01 left")
	}
	rig.finish(t, task)
}

func ptrTrue() *bool { t := true; return &t }
