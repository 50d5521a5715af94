package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// control sends a control API request and decodes its JSON answer into out (when not nil);
// it returns the HTTP status.
func control(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type clockAnswer struct {
	Mode  string
	Now   time.Time
	NowMs int64
	Scale float64
}

// advance moves the emulator's virtual clock and returns its new time.
func advance(t testing.TB, addr string, d time.Duration) time.Time {
	t.Helper()
	var c clockAnswer
	if status := control(t, "POST", "http://"+addr+"/_emulator/v1/clock", map[string]string{"Advance": d.String()}, &c); status != 200 {
		t.Fatalf("advance %v: HTTP %d", d, status)
	}
	return c.Now
}

// advanceUntil advances the virtual clock by step until cond holds, for at most within of
// virtual time: for what also waits on real time (an upload to a real server).
func advanceUntil(t testing.TB, addr, what string, step, within time.Duration, cond func() bool) {
	t.Helper()
	for moved := time.Duration(0); !cond(); moved += step {
		if moved >= within {
			t.Fatalf("no %s after %v of virtual time", what, within)
		}
		advance(t, addr, step)
	}
}

// failingReceiver answers every callback 500 and notes each attempt's event and CallbackTs.
type failingReceiver struct {
	url      string
	mu       sync.Mutex
	attempts map[string][]int64 // by "EventType/UserId": the CallbackTs of each attempt
}

func startFailingReceiver(t *testing.T, key string) *failingReceiver {
	f := &failingReceiver{attempts: map[string][]int64{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !webhooks.Verify(key, body, req.Header.Get("Sign")) {
			t.Errorf("callback with a bad Sign: %s", body)
		}
		var ev struct {
			EventType  int
			CallbackTs int64
			EventInfo  struct{ UserId string }
		}
		json.Unmarshal(body, &ev)
		f.mu.Lock()
		k := fmt.Sprintf("%d/%s", ev.EventType, ev.EventInfo.UserId)
		f.attempts[k] = append(f.attempts[k], ev.CallbackTs)
		f.mu.Unlock()
		http.Error(w, "down for the test", http.StatusInternalServerError)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.url = "http://" + ln.Addr().String() + "/rooms"
	return f
}

func (f *failingReceiver) of(key string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts[key])
}

// TestVirtualClockHourOfRecording drives a virtual clock through the binary users run (no
// -race: the figure is its speed) and the official SDK: three anchors recorded for an hour
// of virtual time (MaxIdleTime 60), callback retries at their virtual times, and a UserSig
// that expires in virtual time, while the SDK's own signatures (wall clock) keep passing.
func TestVirtualClockHourOfRecording(t *testing.T) {
	bin, err := plainBinary()
	if err != nil {
		t.Fatal(err)
	}
	virtualRecording(t, bin, time.Hour)
}

// TestVirtualClockRecordingRace is the same through the binary of this test run (built
// with -race under go test -race), with three minutes of recording.
func TestVirtualClockRecordingRace(t *testing.T) {
	virtualRecording(t, binary, 3*time.Minute)
}

func virtualRecording(t *testing.T, bin string, recordFor time.Duration) {
	testpeer.FFprobe(t)
	began := time.Now()
	const recKey, roomKey = "recKeyV", "roomKeyV"
	rcv := startReceiver(t, recKey)
	rooms := startFailingReceiver(t, roomKey)
	vstart := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	p := startBinary(t, bin, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CLOCK=virtual",
		"TRTC_EMULATOR_CLOCK_START=" + vstart.Format(time.RFC3339)})
	base := "http://" + p.addr + "/_emulator/v1"
	var c clockAnswer
	if control(t, "GET", base+"/clock", nil, &c); c.Mode != "virtual" || !c.Now.Equal(vstart) || c.Scale != 0 {
		t.Fatalf("clock %+v, want virtual at %v", c, vstart)
	}
	// Room events (group 1) go to a receiver that always fails; recording events (3) to one
	// that verifies and keeps them.
	app := map[string]any{"Callbacks": []map[string]any{
		{"EventGroupId": 1, "Url": rooms.url, "Key": roomKey},
		{"EventGroupId": 3, "Url": rcv.url, "Key": recKey}}}
	if status := control(t, "PUT", fmt.Sprintf("%s/apps/%d", base, defaultSdkAppId), app, nil); status != 200 {
		t.Fatalf("set the app's callbacks: HTTP %d", status)
	}
	virtualSig := func(user string, expire time.Duration, at time.Time) string {
		sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: user, Expire: expire, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	shortSig := virtualSig("recorder_late", 2*time.Hour, vstart) // expires at virtual +2 h

	for _, u := range []string{"alice", "bob", "carol"} {
		enterAnchor(t, p.addr, "77", u, 320, 180)
	}
	// alice's entry (103) fails at virtual +0, is retried at once, then every 10 s for a
	// minute: each attempt stamped with its virtual send time.
	advance(t, p.addr, 30*time.Second)
	advance(t, p.addr, 31*time.Second)
	var offsets []time.Duration
	for _, ts := range rooms.of("103/alice") {
		offsets = append(offsets, time.UnixMilli(ts).Sub(vstart))
	}
	if want := webhooks.Schedule(); !slices.Equal(offsets, want) {
		t.Fatalf("103 attempts at virtual %v, want %v", offsets, want)
	}

	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "AKIDrecording",
		"SecretKey": "recordingSecret"}
	record := map[string]any{"RecordMode": 1, "MaxIdleTime": 60, "StreamType": 0, "OutputFormat": 3}
	now := advance(t, p.addr, 0)
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("77", "recorder_1", virtualSig("recorder_1", 24*time.Hour, now), storage, record))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	recordStart := time.Now()
	for range recordFor / time.Minute {
		advance(t, p.addr, time.Minute)
	}
	t.Logf("%v of virtual recording (3 anchors, 320x180@15 and AAC): %v of wall time", recordFor,
		time.Since(recordStart).Round(time.Millisecond))
	d, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
	if err != nil || d["Status"] != "InProgress" {
		t.Fatalf("after %v: %v %v", recordFor, d, err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if status := control(t, "POST", base+"/participants/leave", map[string]any{"RoomId": "77", "UserId": u}, nil); status != 200 {
			t.Fatalf("%s leaves: HTTP %d", u, status)
		}
	}
	left := advance(t, p.addr, 0)
	advance(t, p.addr, 59*time.Second)
	if stops := rcv.of(taskId, 302); len(stops) != 0 {
		t.Fatalf("302 after 59 s without anchors (MaxIdleTime 60): %+v", stops)
	}
	advance(t, p.addr, 2*time.Second)
	// The advance answered after the 302 was committed and delivered.
	stops := rcv.of(taskId, 302)
	if len(stops) != 1 || stops[0].EventInfo.Payload["LeaveCode"] != float64(99) {
		t.Fatalf("302s after 61 s without anchors: %+v", stops)
	}
	waitFor(t, "the task's 310s and 305", 60*time.Second, func() bool {
		return len(rcv.of(taskId, 310)) == 3 && len(rcv.of(taskId, 305)) == 1
	})

	// One MP4 per anchor, as long as the recording, named as in real time.
	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	var want []string
	for _, u := range []string{"alice", "bob", "carol"} {
		want = append(want, fmt.Sprintf("%s/1400000001_77__UserId_s_%s__UserId_e_main_1.mp4", taskId, encodeForTest(u)))
	}
	slices.Sort(want)
	if slices.Sort(keys); !slices.Equal(keys, want) {
		t.Fatalf("objects %v, want %v", keys, want)
	}
	for _, k := range keys {
		probe := testpeer.ProbeFile(t, filepath.Join(dir, path.Base(k)))
		if s, want := probe.Seconds(), recordFor.Seconds(); s < want-2 || s > want+2 || len(probe.Streams) != 2 {
			t.Fatalf("%s: %.2f s, %d streams; want %v of video and audio", k, s, len(probe.Streams), recordFor)
		}
	}
	// Events committed at one step are delivered in parallel (not a strict lane): compare
	// them as a set.
	types := rcv.types(taskId)
	if slices.Sort(types); fmt.Sprint(types) != "[301 302 303 305 310 310 310]" {
		t.Fatalf("callbacks %v, want 301, 302, 303, 305 and a 310 per anchor", types)
	}
	t.Logf("anchors left at virtual %v", left.Sub(vstart))

	// A UserSig that expires at virtual +2 h is refused at virtual +3 h; the SDK's request
	// itself, signed with the wall clock, passes.
	now = advance(t, p.addr, vstart.Add(3*time.Hour).Sub(advance(t, p.addr, 0)))
	if got := now.Sub(vstart); got != 3*time.Hour {
		t.Fatalf("clock at virtual %v, want 3h", got)
	}
	_, err = sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("77", "recorder_late", shortSig, storage, record))
	if codeOf(err) != "InvalidParameter.UserSig" || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a UserSig expired in virtual time: %v", err)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeRoomInfo", map[string]any{"SdkAppId": defaultSdkAppId,
		"StartTime": now.Add(-time.Hour).Unix(), "EndTime": now.Unix()}); err != nil {
		t.Fatalf("an SDK call signed with the wall clock after a 3 h advance: %v", err)
	}
	t.Logf("the whole test: %v of wall time", time.Since(began).Round(time.Millisecond))
}
