package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

const (
	recApp    = 1400000001
	recUin    = "100000000001"
	recKey    = "recorder-test-sdk-secret-key"
	recBucket = "rec-1250000000"
)

// recorderRig is a store, an embedded object store served over HTTP and a recorder, all
// on a fake clock.
type recorderRig struct {
	store   *models.Store
	objects *embedded.Store
	clock   *clock.Fake
	rec     *Recorder
	stop    context.CancelFunc
	done    chan error
	// notified is signalled (coalesced) each time the recorder notifies: after each writer
	// pass and each upload round that changed something.
	notified chan struct{}
}

func newRecorderRig(t testing.TB) *recorderRig { return newRecorderRigWith(t, nil, nil) }

// newRecorderRigWith is newRecorderRig with changes to the recorder's configuration and a
// handler in front of the object store (nil: none).
func newRecorderRigWith(t testing.TB, configure func(*RecorderConfig), front func(http.Handler) http.Handler) *recorderRig {
	t.Helper()
	ctx := context.Background()
	fake := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "e.db"), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, models.Seed{Uin: recUin, SecretId: "AKID", SecretKey: "k", SdkAppId: recApp, SdkSecretKey: recKey,
		CallbackURL: "http://127.0.0.1:9/cb"}); err != nil {
		t.Fatal(err)
	}
	objects, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	var handler http.Handler = s3api.New(objects, s3api.Config{Prefix: "/storage"})
	if front != nil {
		handler = front(handler)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	notified := make(chan struct{}, 1)
	cfg := RecorderConfig{Store: store, Clock: fake, SpoolDir: filepath.Join(t.TempDir(), "spool"),
		Uploaders: Uploaders{COSEndpoint: srv.URL + "/storage", S3Endpoint: srv.URL + "/storage"}, SegmentDuration: 4 * time.Second,
		Notify: func() {
			select {
			case notified <- struct{}{}:
			default:
			}
		}}
	if configure != nil {
		configure(&cfg)
	}
	rec, err := NewRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	rig := &recorderRig{store: store, objects: objects, clock: fake, rec: rec, stop: stop, done: make(chan error, 1), notified: notified}
	go func() { rig.done <- rec.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-rig.done
	})
	return rig
}

func (r *recorderRig) enter(t *testing.T, room, user string, pub models.Publish) {
	t.Helper()
	sig, _ := usersig.Gen(usersig.Params{SdkAppId: recApp, Key: recKey, UserId: user, Expire: 48 * time.Hour, Now: r.clock.Now()})
	_, err := r.store.Enter(context.Background(), models.EnterParams{Identity: models.Identity{SdkAppId: recApp, RoomId: room,
		RoomIdType: models.RoomIdInt, UserId: user}, UserSig: sig, Publish: pub, VideoWidth: 160, VideoHeight: 96, VideoFps: 15})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *recorderRig) create(t *testing.T, room string, record models.RecordingSpec) *models.RecordingTask {
	t.Helper()
	return r.createIn(t, room, recBucket, record)
}

// createIn is create with the files going to bucket.
func (r *recorderRig) createIn(t *testing.T, room, bucket string, record models.RecordingSpec) *models.RecordingTask {
	t.Helper()
	spec := record
	spec.SdkAppId, spec.RoomId, spec.RoomIdType, spec.RobotUserId = recApp, room, models.RoomIdInt, "robot"
	spec.RecordMode, spec.MaxIdleTime, spec.ResourceExpiredHour = 1, 3600, 72
	if spec.MaxMediaFileMinutes == 0 {
		spec.MaxMediaFileMinutes = 1440
	}
	spec.Storage = models.StorageTarget{Region: "ap-guangzhou", Bucket: bucket, AccessKey: "a", SecretKey: "b"}
	sig, _ := usersig.Gen(usersig.Params{SdkAppId: recApp, Key: recKey, UserId: "robot", Expire: 48 * time.Hour, Now: r.clock.Now()})
	task, err := r.store.CreateRecording(context.Background(), recUin, &spec, sig, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.rec != nil {
		r.rec.Wake()
	}
	return task
}

// run moves the fake clock by d in ticks, each time after the recorder's loops (claim,
// writer, uploader) went back to sleep, so every pass sees every tick.
func (r *recorderRig) run(d time.Duration) { r.runWaiting(d, 4) }

// awaitNotify waits for the recorder's next notification (a pass or an upload round
// done), at most 100 ms of wall time: an advance may wake no one.
func (r *recorderRig) awaitNotify() {
	select {
	case <-r.notified:
	case <-time.After(100 * time.Millisecond):
	}
}

// runWaiting is run for a rig whose goroutines asleep on the clock are at least waiters
// (the claim loop, and each task's run and upload loops and lease renewal): each step
// waits for all of them, so that none falls behind the clock. The fake clock's count
// includes waiters nobody listens to any more, so each step first settles the recorder:
// every task has made the pass its last tick asked for and sleeps on its next one.
func (r *recorderRig) runWaiting(d time.Duration, waiters int) {
	for step := time.Duration(0); step < d; step += 500 * time.Millisecond {
		r.rec.Settle(context.Background())
		r.clock.BlockUntil(waiters)
		r.clock.Advance(500 * time.Millisecond)
	}
}

// finish deletes the task and moves time until it ended.
func (r *recorderRig) finish(t *testing.T, task *models.RecordingTask) {
	t.Helper()
	if err := r.store.StopRecording(context.Background(), recUin, recApp, task.TaskId); err != nil {
		t.Fatal(err)
	}
	r.waitTask(t, task.TaskId, models.TaskEnded)
}

// objects returns the keys under the task's directory and writes the objects into dir.
func (r *recorderRig) fetch(t *testing.T, prefix, dir string) []string {
	t.Helper()
	ctx := context.Background()
	infos, _, err := r.objects.List(ctx, recBucket, prefix, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range infos {
		keys = append(keys, strings.TrimPrefix(o.Key, prefix))
		body, _, err := r.objects.Get(ctx, recBucket, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(body)
		body.Close()
		os.WriteFile(filepath.Join(dir, path.Base(o.Key)), b, 0o644)
	}
	sort.Strings(keys)
	return keys
}

// TestMP4SplitByMaxMediaFileDuration: OutputFormat 3 (mp4 only) with MaxMediaFileDuration 1
// minute: 130 s of recording become _1, _2 (a minute each, cut at a keyframe) and _3, all
// with video and audio, uploaded after the task ends; no HLS files.
func TestMP4SplitByMaxMediaFileDuration(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rig := newRecorderRig(t)
	rig.enter(t, "11", "alice", models.Publish{Audio: true, Video: true})
	task := rig.create(t, "11", models.RecordingSpec{OutputFormat: formatMP4, MaxMediaFileMinutes: 1})
	rig.run(130 * time.Second)
	files, _ := rig.store.TaskFiles(context.Background(), task.TaskId)
	for _, f := range files {
		if f.State != models.FileInternal && f.State != models.FileWriting {
			t.Fatalf("%s is %s before the task ended: MP4s wait for the end", f.ObjectKey, f.State)
		}
	}
	rig.finish(t, task)
	dir := t.TempDir()
	keys := rig.fetch(t, task.TaskId+"/", dir)
	base := "1400000001_11__UserId_s_YWxpY2U.__UserId_e_main_"
	if want := []string{base + "1.mp4", base + "2.mp4", base + "3.mp4"}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("objects %v, want %v", keys, want)
	}
	var total float64
	for i, k := range keys {
		p := testpeer.ProbeFile(t, filepath.Join(dir, k))
		d := p.Seconds()
		if len(p.Streams) != 2 || !strings.Contains(p.Format.FormatName, "mp4") {
			t.Fatalf("%s: %+v", k, p)
		}
		if i < 2 && (d < 60 || d > 62.1) {
			t.Fatalf("%s lasts %.2f s: a split file is a minute, up to the next keyframe", k, d)
		}
		total += d
	}
	if total < 129 || total > 131 {
		t.Fatalf("MP4 files hold %.2f s of 130", total)
	}
	var mp4Stops int
	spans := map[string][2]int64{}
	events, _ := rig.store.Callbacks(context.Background(), models.CallbackQuery{TaskId: task.TaskId})
	for _, e := range events {
		if e.EventType == models.EventMP4Stop {
			mp4Stops++
			var body struct {
				EventInfo struct {
					Payload struct {
						FileMessage []struct {
							FileName                     string
							StartTimeStamp, EndTimeStamp int64
						}
					}
				}
			}
			json.Unmarshal(e.Body, &body)
			m := body.EventInfo.Payload.FileMessage[0]
			spans[m.FileName] = [2]int64{m.StartTimeStamp, m.EndTimeStamp}
		}
		if e.EventType == models.EventFileSlice || e.EventType == models.EventFileInfo {
			t.Fatalf("HLS callback %d for an mp4-only task", e.EventType)
		}
	}
	if mp4Stops != 3 {
		t.Fatalf("%d 310 callbacks for 3 files", mp4Stops)
	}
	// Consecutive files of a stream are continuous: each starts where the one before ended.
	for i := 0; i+1 < len(keys); i++ {
		if a, b := spans[keys[i]], spans[keys[i+1]]; a[1] != b[0] {
			t.Errorf("%s ends at %d, %s starts at %d: %d ms apart", keys[i], a[1], keys[i+1], b[0], b[0]-a[1])
		}
	}
}

// TestAACOutputAndAuxStream: OutputFormat 4 (aac, StreamType 1) writes ADTS .aac files of
// the users' audio; a substream is recorded as the aux stream (its own video playlist) in
// HLS.
func TestAACOutputAndAuxStream(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rig := newRecorderRig(t)
	rig.enter(t, "12", "carol", models.Publish{Audio: true, Video: true})
	audio := rig.create(t, "12", models.RecordingSpec{OutputFormat: formatAAC, StreamType: 1})
	rig.run(10 * time.Second)
	rig.finish(t, audio)
	dir := t.TempDir()
	keys := rig.fetch(t, audio.TaskId+"/", dir)
	if want := "1400000001_12__UserId_s_Y2Fyb2w.__UserId_e_main_1.aac"; len(keys) != 1 || keys[0] != want {
		t.Fatalf("objects %v, want [%s]", keys, want)
	}
	p := testpeer.ProbeFile(t, filepath.Join(dir, keys[0]))
	d := p.Seconds()
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "aac" || d < 9.5 {
		t.Fatalf("%s: %+v, %.2f s", keys[0], p, d)
	}

	rig.enter(t, "13", "dave", models.Publish{Substream: true})
	aux := rig.create(t, "13", models.RecordingSpec{})
	rig.run(5 * time.Second)
	rig.finish(t, aux)
	keys = rig.fetch(t, aux.TaskId+"/", dir)
	playlist := "1400000001_13__UserId_s_ZGF2ZQ..__UserId_e_aux_video.m3u8"
	if len(keys) < 2 || keys[0] != playlist || !strings.HasPrefix(keys[1], "1400000001_13__UserId_s_ZGF2ZQ..__UserId_e_aux_video_20261125") {
		t.Fatalf("objects %v", keys)
	}
	p = testpeer.ProbeFile(t, filepath.Join(dir, playlist))
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 1280 {
		t.Fatalf("aux stream %+v", p)
	}
}

// TestSpoolSweep: at start the recorder removes spool directories of ended or unknown tasks
// (a crash between a task's end and its cleanup) and keeps those of running tasks.
func TestSpoolSweep(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "e.db"), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, models.Seed{Uin: recUin, SecretId: "AKID", SecretKey: "k", SdkAppId: recApp, SdkSecretKey: recKey}); err != nil {
		t.Fatal(err)
	}
	rig := &recorderRig{store: store, clock: fake}
	live := rig.create(t, "21", models.RecordingSpec{})
	spool := filepath.Join(t.TempDir(), "spool")
	for _, dir := range []string{"gone-task", live.TaskId} {
		if err := os.MkdirAll(filepath.Join(spool, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(spool, dir, "x.ts"), []byte("ts"), 0o644)
	}
	rec, err := NewRecorder(RecorderConfig{Store: store, Clock: fake, SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	rig.rec = rec
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rec.Run(runCtx) }()
	fake.BlockUntil(1) // swept, claimed, asleep
	stop()
	<-done
	if _, err := os.Stat(filepath.Join(spool, "gone-task")); !os.IsNotExist(err) {
		t.Fatalf("the spool of an unknown task is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(spool, live.TaskId, "x.ts")); err != nil {
		t.Fatalf("the spool of a running task was swept: %v", err)
	}
}

// TestQuietTaskWakesOnChange: a task that records nothing (its anchor publishes nothing)
// makes a pass every quietTick, not every Tick; a Wake after the anchor begins to publish
// brings the next pass forward, so the stream is recorded from that moment.
func TestQuietTaskWakesOnChange(t *testing.T) {
	rig := newRecorderRig(t)
	ctx := context.Background()
	rig.enter(t, "14", "erin", models.Publish{})
	task := rig.create(t, "14", models.RecordingSpec{})
	rig.run(2 * time.Second)
	on := true
	id := models.Identity{SdkAppId: recApp, RoomId: "14", RoomIdType: models.RoomIdInt, UserId: "erin"}
	if _, err := rig.store.Update(ctx, models.UpdateParams{Identity: id, Publish: &models.PublishPatch{Video: &on}}); err != nil {
		t.Fatal(err)
	}
	// Unannounced, the change waits for the quiet tick: no pass in the next seconds.
	rig.run(3 * time.Second)
	if streams, err := rig.store.TaskStreams(ctx, task.ID); err != nil || len(streams) != 0 {
		t.Fatalf("streams of a quiet task 3 s after an unannounced change: %+v, %v", streams, err)
	}
	woken := rig.clock.Now()
	rig.rec.Wake()
	rig.run(500 * time.Millisecond)
	streams, err := rig.store.TaskStreams(ctx, task.ID)
	if err != nil || len(streams) != 1 || streams[0].BeginAtMs != woken.UnixMilli() {
		t.Fatalf("streams after the Wake at %v: %+v, %v; want one from then", woken, streams, err)
	}
	rig.finish(t, task)
}
