package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/grafov/m3u8"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// fakeS3 is an independent S3 server (gofakes3) that a test can stop and start again on the
// same address, keeping its objects.
type fakeS3 struct {
	t       *testing.T
	backend *s3mem.Backend
	addr    string
	srv     *http.Server
}

func startFakeS3(t *testing.T) *fakeS3 {
	f := &fakeS3{t: t, backend: s3mem.New()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fakeS3) serve(ln net.Listener) {
	f.srv = &http.Server{Handler: gofakes3.New(f.backend).Server()}
	go f.srv.Serve(ln)
}

func (f *fakeS3) stop() { f.srv.Close() }

func (f *fakeS3) restart() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.serve(ln)
}

// playlistFiles checks a downloaded playlist: closed, and every segment it lists was
// downloaded too. It returns the sum of its EXTINF durations.
func playlistFiles(t *testing.T, dir, name string) float64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	pl, _, err := m3u8.DecodeFrom(strings.NewReader(string(raw)), true)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	media := pl.(*m3u8.MediaPlaylist)
	if !media.Closed {
		t.Fatalf("%s has no #EXT-X-ENDLIST:\n%s", name, raw)
	}
	var total float64
	for _, s := range media.Segments {
		if s == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, s.URI)); err != nil {
			t.Fatalf("%s lists %s, which is not in the bucket", name, s.URI)
		}
		total += s.Duration
	}
	if total < 2 {
		t.Fatalf("%s lists %.1f s", name, total)
	}
	return total
}

// TestRecordingUploadFailuresSpoolAndRetry: recording to a second, independent S3 server
// (gofakes3). Its first answer is an error (no such bucket): 308 carries its Code and
// Message. Then it works, then it is stopped mid-task: 308 NetworkError, the files wait in
// the spool; the task ends with 305 Status 1; the server comes back and 305 Status 2
// follows, with every file of every playlist in the bucket. On a virtual clock: the
// recording and the upload retries move with it, the S3 server answers in real time.
func TestRecordingUploadFailuresSpoolAndRetry(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rcv := startReceiver(t, "faultKey")
	s3srv := startFakeS3(t)
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=faultKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_S3_ENDPOINT=http://" + s3srv.addr,
		"TRTC_EMULATOR_CLOCK=virtual"})
	enterAnchor(t, p.addr, "3030", "alice", 320, 180)
	const bucket = "fake-records"
	storage := map[string]any{"Vendor": 1, "Region": "us-east-1", "Bucket": bucket, "AccessKey": "AKIAFAKE", "SecretKey": "fakeSecret"}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("3030", "rec_s3", robotSig(t, "rec_s3"), storage, map[string]any{"RecordMode": 1, "AvMerge": 1}))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)

	advanceUntil(t, p.addr, "308 from the S3 server", time.Second, time.Minute, func() bool { return len(rcv.of(taskId, 308)) == 1 })
	first := rcv.of(taskId, 308)[0].EventInfo.Payload
	if first["Code"] != "NoSuchBucket" || first["Message"] == "" {
		t.Fatalf("308 payload %v", first)
	}
	if err := s3srv.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	advanceUntil(t, p.addr, "304 after the bucket exists", time.Second, time.Minute, func() bool { return len(rcv.of(taskId, 304)) == 1 })
	advance(t, p.addr, 2*time.Second)

	s3srv.stop()
	advanceUntil(t, p.addr, "308 after the server stopped", time.Second, time.Minute, func() bool { return len(rcv.of(taskId, 308)) == 2 })
	if second := rcv.of(taskId, 308)[1].EventInfo.Payload; second["Code"] != "NetworkError" {
		t.Fatalf("second 308 %v", second)
	}
	advance(t, p.addr, 3*time.Second) // more segments pile up in the spool
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	advanceUntil(t, p.addr, "305 Status 1", time.Second, time.Minute, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	if st := rcv.of(taskId, 305)[0].EventInfo.Payload["Status"]; st != 1.0 {
		t.Fatalf("305 Status %v with files spooled", st)
	}
	d, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
	if err != nil || d["Status"] != "Exited" {
		t.Fatalf("describe while files wait: %v %v", d, err)
	}
	spooled, _ := os.ReadDir(filepath.Join(dataDirOf(t, p), "spool", taskId))
	if len(spooled) == 0 {
		t.Fatal("nothing in the spool while the server is down")
	}

	s3srv.restart()
	advanceUntil(t, p.addr, "305 Status 2", time.Second, 5*time.Minute, func() bool { return len(rcv.of(taskId, 305)) == 2 })
	if st := rcv.of(taskId, 305)[1].EventInfo.Payload["Status"]; st != 2.0 {
		t.Fatalf("second 305 Status %v", st)
	}
	waitFor(t, "the spool to be cleaned", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dataDirOf(t, p), "spool", taskId))
		return os.IsNotExist(err)
	})

	dir := t.TempDir()
	client := s3Client("http://" + s3srv.addr)
	keys := download(t, client, bucket, taskId+"/", dir)
	playlist := fmt.Sprintf("1400000001_3030__UserId_s_%s__UserId_e_main_audio_video.m3u8", encodeForTest("alice"))
	if !containsKey(keys, taskId+"/"+playlist) {
		t.Fatalf("no merged playlist %s in %v", playlist, keys)
	}
	listed := playlistFiles(t, dir, playlist)
	r := testpeer.ProbeFile(t, filepath.Join(dir, playlist))
	codecs := r.Codecs()
	if !codecs["h264"] || !codecs["aac"] {
		t.Fatalf("AvMerge playlist streams %+v", r.Streams)
	}
	if got := r.Seconds(); got < listed-0.3 || got > listed+0.3 || got < 8 {
		t.Fatalf("playlist plays %.2f s, lists %.2f s", got, listed)
	}
	p.stop(t)
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// dataDirOf reads TRTC_EMULATOR_DATA_DIR from the process's environment.
func dataDirOf(t *testing.T, p *proc) string {
	for _, e := range p.cmd.Env {
		if v, ok := strings.CutPrefix(e, "TRTC_EMULATOR_DATA_DIR="); ok {
			return v
		}
	}
	t.Fatal("no data dir")
	return ""
}

// TestRecordingSurvivesSIGKILL: the emulator is killed mid-recording and restarted on the
// same data. The task goes on: a recorder takes it over (306) and writes recovered files
// named ha1_… beside the originals; every file uploaded before the kill is still there, and
// both playlists end properly when the task is deleted.
//
// On a virtual clock: media time passes only when the test advances it; the uploads and
// callbacks, real work, are waited for in real time. The virtual clock does not persist
// across a restart (it starts again at the real time, or TRTC_EMULATOR_CLOCK_START), so the
// restart sets it past the kill, as a real clock would have gone on: the dead recorder's
// lease (5 s) has run out and the new one takes the task over at once.
func TestRecordingSurvivesSIGKILL(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rcv := startReceiver(t, "killKey")
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=killKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_CLOCK=virtual"}
	p := start(t, env)
	enterAnchor(t, p.addr, "4040", "alice", 320, 180)
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	created := advance(t, p.addr, 0) // the virtual time, which stands still until advanced
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("4040", "rec_kill", robotSig(t, "rec_kill"), storage, map[string]any{"RecordMode": 1, "StreamType": 2}))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	// 3 virtual seconds: a 2 s segment is closed; its upload (real time) brings the 304.
	advanceSeconds(t, p.addr, 3)
	waitFor(t, "304", 20*time.Second, func() bool { return len(rcv.of(taskId, 304)) == 1 })
	// 3 more: at least two segments and the playlist, uploaded before the kill.
	killed := advanceSeconds(t, p.addr, 3)
	client := s3Client("http://" + p.addr + "/storage")
	var before map[string]int64
	waitFor(t, "the playlist and two segments uploaded", 20*time.Second, func() bool {
		before = objectSizes(t, client, taskId+"/")
		return len(before) >= 3
	})
	p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil

	// The clock goes on a minute after the kill.
	resumed := killed.Add(time.Minute)
	p = start(t, append(env, "TRTC_EMULATOR_CLOCK_START="+resumed.UTC().Format(time.RFC3339Nano)))
	// The new recorder claims the job whose lease ran out when it starts, without the clock
	// moving: 306 at once.
	waitFor(t, "306", 30*time.Second, func() bool { return len(rcv.of(taskId, 306)) == 1 })
	if st := rcv.of(taskId, 306)[0].EventInfo.Payload["Status"]; st != 0.0 {
		t.Fatalf("306 Status %v", st)
	}
	// 3 virtual seconds after the takeover: the first ha1_ segment is closed and uploaded.
	advanceSeconds(t, p.addr, 3)
	waitFor(t, "a recovered (ha1_) file", 20*time.Second, func() bool {
		for _, e := range rcv.of(taskId, 307) {
			if strings.HasPrefix(e.EventInfo.Payload["FileName"].(string), "ha1_") {
				return true
			}
		}
		return false
	})
	deleted := advanceSeconds(t, p.addr, 3)
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	advanceSeconds(t, p.addr, 1) // the recorder's next tick stops the task, at the delete
	waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	if st := rcv.of(taskId, 305)[0].EventInfo.Payload["Status"]; st != 0.0 {
		t.Fatalf("305 Status %v", st)
	}
	if n := len(rcv.of(taskId, 306)); n != 1 {
		t.Fatalf("%d 306 callbacks, want the one takeover", n)
	}
	// The takeover went through the task's job: one attempt, taken over once, done.
	waitFor(t, "the job done", 10*time.Second, func() bool {
		j := listRecordingFiles(t, p.addr, taskId).Job
		return j != nil && j.State == "done"
	})
	if j := listRecordingFiles(t, p.addr, taskId).Job; j.Kind != "recording" || j.Attempts != 1 || j.Takeovers != 1 || j.LeaseOwner != "" {
		t.Fatalf("the task's job after kill -9 and the end: %+v, want one attempt taken over once", j)
	}

	client = s3Client("http://" + p.addr + "/storage")
	after := objectSizes(t, client, taskId+"/")
	for k, size := range before {
		got, ok := after[k]
		switch {
		case !ok:
			t.Errorf("%s was lost", k)
		case !strings.HasSuffix(k, ".m3u8") && got != size:
			t.Errorf("%s changed size: %d, then %d", k, size, got)
		}
	}
	dir := t.TempDir()
	download(t, client, recordingBucket, taskId+"/", dir)
	original := fmt.Sprintf("1400000001_4040__UserId_s_%s__UserId_e_main_video.m3u8", encodeForTest("alice"))
	// Each playlist covers its run in virtual time, within about a second: the original
	// from the create to the kill, the ha1_ one from the takeover to the delete.
	for _, c := range []struct {
		name     string
		from, to time.Time
	}{{original, created, killed}, {"ha1_" + original, resumed, deleted}} {
		listed := playlistFiles(t, dir, c.name)
		r := testpeer.ProbeFile(t, filepath.Join(dir, c.name))
		if len(r.Streams) != 1 || r.Streams[0].CodecName != "h264" || r.Seconds() < listed-0.3 {
			t.Fatalf("%s: %+v (lists %.2f s)", c.name, r, listed)
		}
		want := c.to.Sub(c.from).Seconds()
		t.Logf("%s lists %.2f s of %.2f virtual s, plays %.2f s", c.name, listed, want, r.Seconds())
		if listed < want-1 || listed > want+0.5 {
			t.Fatalf("%s lists %.2f s of the %.2f virtual s it recorded", c.name, listed, want)
		}
	}
	p.stop(t)
}

// advanceSeconds moves the virtual clock n seconds, a second at a time (each advance
// returns once what was due by then has been done: the recorder's passes, the callbacks
// due), and returns its new time.
func advanceSeconds(t *testing.T, addr string, n int) time.Time {
	t.Helper()
	var now time.Time
	for range n {
		now = advance(t, addr, time.Second)
	}
	return now
}

func objectSizes(t *testing.T, client *s3.Client, prefix string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	list, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(recordingBucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		out[path.Clean(*o.Key)] = *o.Size
	}
	return out
}

// TestRecordingResumesAfterGracefulRestart: SIGTERM suspends the recording (segments and
// playlist written, lease given back); the next start appends to the same playlist after
// #EXT-X-DISCONTINUITY, with no failover and no ha1_ files.
func TestRecordingResumesAfterGracefulRestart(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rcv := startReceiver(t, "termKey")
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=termKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"}
	p := start(t, env)
	enterAnchor(t, p.addr, "5050", "alice", 320, 180)
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("5050", "rec_term", robotSig(t, "rec_term"), storage, map[string]any{"RecordMode": 1, "StreamType": 1}))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	waitFor(t, "304", 20*time.Second, func() bool { return len(rcv.of(taskId, 304)) == 1 })
	time.Sleep(2 * time.Second)
	p.stop(t)
	p = start(t, env)
	time.Sleep(4 * time.Second)
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	if n := len(rcv.of(taskId, 306)); n != 0 {
		t.Fatalf("%d failovers after a graceful restart", n)
	}
	// The stop gave the job back: the next start went on with the same attempt, no takeover.
	waitFor(t, "the job done", 10*time.Second, func() bool {
		j := listRecordingFiles(t, p.addr, taskId).Job
		return j != nil && j.State == "done"
	})
	if j := listRecordingFiles(t, p.addr, taskId).Job; j.Attempts != 1 || j.Takeovers != 0 {
		t.Fatalf("the task's job after a graceful restart: %+v, want one attempt and no takeover", j)
	}
	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	for _, k := range keys {
		if strings.Contains(k, "/ha") {
			t.Fatalf("recovered file %s after a graceful restart", k)
		}
	}
	name := fmt.Sprintf("1400000001_5050__UserId_s_%s__UserId_e_main_audio.m3u8", encodeForTest("alice"))
	listed := playlistFiles(t, dir, name)
	raw, _ := os.ReadFile(filepath.Join(dir, name))
	if strings.Count(string(raw), "#EXT-X-DISCONTINUITY\n") != 1 {
		t.Fatalf("playlist after a restart:\n%s", raw)
	}
	r := testpeer.ProbeFile(t, filepath.Join(dir, name))
	if len(r.Streams) != 1 || r.Streams[0].CodecName != "aac" || r.Seconds() < listed-0.5 || listed < 5 {
		t.Fatalf("%s: %+v (lists %.2f s)", name, r, listed)
	}
	p.stop(t)
}
