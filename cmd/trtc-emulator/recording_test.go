package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/grafov/m3u8"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/storage/cosup"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

const recordingBucket = "records-1250000000"

// recordingEvent is a group 3 (or 7: stream ingest) callback as the receiver got it.
type recordingEvent struct {
	EventType    int
	CallbackMsTs int64 // group 7's send time
	EventInfo    struct {
		RoomId    json.RawMessage
		EventMsTs int64
		UserId    string
		TaskId    string
		Payload   map[string]any
		Status    *int // group 7
		RoomType  *int // group 4
	}
}

// receiver is a callback server that checks every Sign and keeps the recording, relay and
// ingest events.
type receiver struct {
	t      *testing.T
	key    string
	url    string
	mu     sync.Mutex
	events []recordingEvent
}

func startReceiver(t *testing.T, key string) *receiver {
	r := &receiver{t: t, key: key}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !webhooks.Verify(r.key, body, req.Header.Get("Sign")) {
			t.Errorf("callback with a bad Sign: %s", body)
			http.Error(w, "bad sign", http.StatusUnauthorized)
			return
		}
		var ev struct {
			EventGroupId int
			recordingEvent
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("callback body %s: %v", body, err)
		}
		if ev.EventGroupId == 3 || ev.EventGroupId == 4 || ev.EventGroupId == 7 {
			r.mu.Lock()
			r.events = append(r.events, ev.recordingEvent)
			r.mu.Unlock()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.url = "http://" + ln.Addr().String() + "/callback"
	return r
}

// of returns the events of a task with the given type.
func (r *receiver) of(taskId string, eventType int) []recordingEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordingEvent
	for _, e := range r.events {
		if e.EventInfo.TaskId == taskId && e.EventType == eventType {
			out = append(out, e)
		}
	}
	return out
}

func (r *receiver) types(taskId string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, e := range r.events {
		if e.EventInfo.TaskId == taskId {
			out = append(out, e.EventType)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes (the recording runs in real time).
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func enterAnchor(t testing.TB, addr, room, user string, width, height int) {
	t.Helper()
	body := fmt.Sprintf(`{"RoomId":%q,"UserId":%q,"Publish":{"Audio":true,"Video":true},"Video":{"Width":%d,"Height":%d,"Fps":15}}`,
		room, user, width, height)
	resp, err := http.Post("http://"+addr+"/_emulator/v1/participants", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("enter %s: %d %s", user, resp.StatusCode, b)
	}
}

func robotSig(t testing.TB, robot string) string {
	sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: robot, Expire: 24 * time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func recordingParams(room, robot, sig string, storage map[string]any, record map[string]any) map[string]any {
	return map[string]any{"SdkAppId": defaultSdkAppId, "RoomId": room, "RoomIdType": 1, "UserId": robot, "UserSig": sig,
		"RecordParams": record, "StorageParams": map[string]any{"CloudStorage": storage}}
}

func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: "ap-guangzhou",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDrecording", "recordingSecret", "")})
}

// download fetches every object under prefix into dir with aws-sdk-go-v2 and returns their keys.
func download(t *testing.T, client *s3.Client, bucket, prefix, dir string) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	for _, k := range keys {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(k)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(keys)
	return keys
}

// TestCloudRecordingEndToEnd: a backend records two anchors with the official Go SDK:
// CreateCloudRecording (HLS + MP4 to COS, here the embedded store), DescribeCloudRecording
// while it runs, ModifyCloudRecording to drop bob's video, DeleteCloudRecording. The files
// carry the seed's names and are read back with aws-sdk-go-v2 and cos-go-sdk-v5, judged by
// ffprobe; the callbacks come signed, in the seed's order and shape. The emulator runs on
// a virtual clock that the test advances (nothing here is about wall time).
func TestCloudRecordingEndToEnd(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rcv := startReceiver(t, "recKey1")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=recKey1", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_CLOCK=virtual"})
	enterAnchor(t, p.addr, "2024", "alice", 320, 180)
	enterAnchor(t, p.addr, "2024", "bob", 240, 136)

	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "AKIDrecording",
		"SecretKey": "recordingSecret", "FileNamePrefix": []string{"e2e", "day1"}}
	record := map[string]any{"RecordMode": 1, "MaxIdleTime": 30, "StreamType": 0, "OutputFormat": 1}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("2024", "recorder_1", robotSig(t, "recorder_1"), storage, record))
	if err != nil {
		t.Fatal(err)
	}
	taskId, _ := resp["TaskId"].(string)
	if taskId == "" {
		t.Fatalf("no TaskId: %v", resp)
	}
	// The robot is a member of the room; a second task with a user's id is refused.
	rooms, err := http.Get("http://" + p.addr + "/_emulator/v1/rooms")
	if err != nil {
		t.Fatal(err)
	}
	var view struct {
		Rooms []struct {
			Members []struct {
				UserId string
				Robot  bool
			}
		}
	}
	json.NewDecoder(rooms.Body).Decode(&view)
	rooms.Body.Close()
	if len(view.Rooms) != 1 || len(view.Rooms[0].Members) != 3 || view.Rooms[0].Members[2].UserId != "recorder_1" || !view.Rooms[0].Members[2].Robot {
		t.Fatalf("rooms %+v", view)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("2024", "alice", robotSig(t, "alice"), storage, record)); codeOf(err) != "InvalidParameter.UserId" {
		t.Fatalf("robot id of a user: %v", err)
	}

	describe := func() map[string]any {
		t.Helper()
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	advance(t, p.addr, 4*time.Second)
	d := describe()
	if files, _ := d["StorageFileList"].([]any); len(files) != 4 {
		t.Fatalf("after 4 s, DescribeCloudRecording lists %v, want four playlists", d["StorageFileList"])
	}
	if d["Status"] != "InProgress" {
		t.Fatalf("status %v", d["Status"])
	}
	alice := encodeForTest("alice")
	wantPlaylists := map[string]bool{}
	for _, u := range []string{"alice", "bob"} {
		for _, kind := range []string{"audio", "video"} {
			wantPlaylists[fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_%s.m3u8", encodeForTest(u), kind)] = true
		}
	}
	for _, f := range d["StorageFileList"].([]any) {
		f := f.(map[string]any)
		name, _ := f["FileName"].(string)
		if !wantPlaylists[name] {
			t.Fatalf("unexpected playlist %q (want %v)", name, wantPlaylists)
		}
		if ts, _ := f["BeginTimeStamp"].(float64); ts < float64(time.Now().Add(-time.Minute).UnixMilli()) {
			t.Fatalf("BeginTimeStamp %v", f["BeginTimeStamp"])
		}
		if !strings.Contains(name, "_"+f["TrackType"].(string)+".m3u8") {
			t.Fatalf("track type %v of %s", f["TrackType"], name)
		}
	}

	advance(t, p.addr, 4*time.Second)
	// bob's video is unsubscribed: its playlist stops growing, the others go on.
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "ModifyCloudRecording", map[string]any{"SdkAppId": defaultSdkAppId,
		"TaskId": taskId, "SubscribeStreamUserIds": map[string]any{"UnSubscribeVideoUserIds": []string{"b.*$"}}}); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, 5*time.Second)
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	// MP4: alice_1 and bob_1, his video stopping where it was dropped (a track change keeps
	// the file).
	advance(t, p.addr, time.Second) // the task's last pass: its files closed, 302 committed
	waitFor(t, "305 and two 310", 30*time.Second, func() bool {
		return len(rcv.of(taskId, 305)) == 1 && len(rcv.of(taskId, 310)) == 2
	})
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); codeOf(err) != "ResourceNotFound" {
		t.Fatalf("describe an ended task: %v", err)
	}

	// Callbacks: robot and task ids, payloads. Events are delivered each on its own, so
	// they may arrive out of order (the seed: receivers sort by EventMsTs): the first two
	// are 301 and 303, 301 not stamped after 303.
	types := rcv.types(taskId)
	if first := []int{types[0], types[1]}; slices.Min(first) != 301 || slices.Max(first) != 303 ||
		rcv.of(taskId, 301)[0].EventInfo.EventMsTs > rcv.of(taskId, 303)[0].EventInfo.EventMsTs {
		t.Fatalf("callbacks start %v", types)
	}
	for _, e := range rcv.of(taskId, 301) {
		if e.EventInfo.UserId != "recorder_1" || string(e.EventInfo.RoomId) != `"2024"` && string(e.EventInfo.RoomId) != "2024" || e.EventInfo.Payload["Status"] != 0.0 {
			t.Fatalf("301 %+v", e)
		}
	}
	if playlists := rcv.of(taskId, 307); len(playlists) != 4 {
		t.Fatalf("%d 307 callbacks, want one per playlist", len(playlists))
	} else {
		for _, e := range playlists {
			if !wantPlaylists[e.EventInfo.Payload["FileName"].(string)] || e.EventInfo.Payload["BeginTimeStamp"].(float64) <= 0 {
				t.Fatalf("307 %+v", e.EventInfo.Payload)
			}
		}
	}
	if fi := rcv.of(taskId, 304); len(fi) != 1 || !wantPlaylists[fi[0].EventInfo.Payload["FileList"].(string)] {
		t.Fatalf("304 %+v", fi)
	}
	if stop := rcv.of(taskId, 302); len(stop) != 1 || stop[0].EventInfo.Payload["LeaveCode"] != 0.0 {
		t.Fatalf("302 %+v", stop)
	}
	if up := rcv.of(taskId, 305); up[0].EventInfo.Payload["Status"] != 0.0 {
		t.Fatalf("305 %+v", up)
	}
	if len(rcv.of(taskId, 308)) != 0 {
		t.Fatalf("upload errors: %+v", rcv.of(taskId, 308))
	}
	mp4Names := map[string]bool{}
	for _, e := range rcv.of(taskId, 310) {
		msg := e.EventInfo.Payload["FileMessage"].([]any)[0].(map[string]any)
		name := msg["FileName"].(string)
		if e.EventInfo.Payload["FileList"].([]any)[0] != name || msg["MediaId"] != "main" || msg["TrackType"] != "audio_video" ||
			msg["EndTimeStamp"].(float64)-msg["StartTimeStamp"].(float64) < 3000 ||
			!strings.HasPrefix(name, fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_", encodeForTest(msg["UserId"].(string)))) {
			t.Fatalf("310 %+v", e.EventInfo.Payload)
		}
		mp4Names[name] = true
	}

	// The bucket, through aws-sdk-go-v2: every file under <Prefix>/<TaskId>/.
	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, "e2e/day1/"+taskId+"/", dir)
	var playlists, segments, mp4s int
	for _, k := range keys {
		switch path.Ext(k) {
		case ".m3u8":
			playlists++
		case ".ts":
			segments++
		case ".mp4":
			mp4s++
		}
	}
	wantMP4 := map[string]bool{}
	for _, n := range []string{"alice_1", "bob_1"} {
		user, index, _ := strings.Cut(n, "_")
		wantMP4[fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_%s.mp4", encodeForTest(user), index)] = true
	}
	if fmt.Sprint(mp4Names) != fmt.Sprint(wantMP4) {
		t.Fatalf("MP4 files %v, want %v", mp4Names, wantMP4)
	}
	if playlists != 4 || mp4s != 2 || segments < 8 {
		t.Fatalf("objects: %d playlists, %d segments, %d mp4 of %v", playlists, segments, mp4s, keys)
	}
	// The same objects through cos-go-sdk-v5.
	cos := cosup.NewCOS(cosup.Config{Endpoint: "http://" + p.addr + "/storage", Bucket: recordingBucket, SecretId: "id", SecretKey: "key"})
	videoPlaylist := fmt.Sprintf("e2e/day1/%s/1400000001_2024__UserId_s_%s__UserId_e_main_video.m3u8", taskId, alice)
	body, _, err := cos.Get(context.Background(), "", videoPlaylist)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(body)
	body.Close()
	pl, kind, err := m3u8.DecodeFrom(strings.NewReader(string(raw)), true)
	if err != nil || kind != m3u8.MEDIA {
		t.Fatalf("playlist: %v\n%s", err, raw)
	}
	media := pl.(*m3u8.MediaPlaylist)
	if !media.Closed || !strings.Contains(string(raw), "#EXT-X-TRTC-START-REC-TIME:") || !strings.Contains(string(raw), "#EXT-X-TRTC-VIDEO-METADATA:WIDTH:320 HEIGHT:180") {
		t.Fatalf("playlist:\n%s", raw)
	}
	var listed float64
	for _, s := range media.Segments {
		if s == nil {
			continue
		}
		if !strings.HasPrefix(s.URI, "1400000001_2024__UserId_s_"+alice+"__UserId_e_main_video_") || !strings.HasSuffix(s.URI, ".ts") || len(s.URI) != len(videoPlaylist)-len("e2e/day1/"+taskId+"/")-len(".m3u8")+len("_20261125000000000.ts") {
			t.Fatalf("segment name %q", s.URI)
		}
		listed += s.Duration
	}

	// ffprobe judges the playlists (decoded through their segments) and the MP4 files.
	r := testpeer.ProbeFile(t, filepath.Join(dir, path.Base(videoPlaylist)))
	if len(r.Streams) != 1 || r.Streams[0].CodecName != "h264" || r.Streams[0].Width != 320 || r.Streams[0].Height != 180 {
		t.Fatalf("alice video: %+v", r.Streams)
	}
	if got := r.Seconds(); got < listed-0.2 || got > listed+0.2 || got < 5 {
		t.Fatalf("alice video lasts %.3f s, playlist lists %.3f s", got, listed)
	}
	r = testpeer.ProbeFile(t, filepath.Join(dir, fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_audio.m3u8", alice)))
	if len(r.Streams) != 1 || r.Streams[0].CodecName != "aac" || r.Streams[0].SampleRate != "48000" {
		t.Fatalf("alice audio: %+v", r.Streams)
	}
	bobVideo := testpeer.ProbeFile(t, filepath.Join(dir, fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_video.m3u8", encodeForTest("bob"))))
	bobAudio := testpeer.ProbeFile(t, filepath.Join(dir, fmt.Sprintf("1400000001_2024__UserId_s_%s__UserId_e_main_audio.m3u8", encodeForTest("bob"))))
	if bobVideo.Seconds() > bobAudio.Seconds()-3 {
		t.Fatalf("bob's video (%s s) went on after it was unsubscribed (audio %s s)", bobVideo.Format.Duration, bobAudio.Format.Duration)
	}
	for name := range mp4Names {
		r := testpeer.ProbeFile(t, filepath.Join(dir, name))
		codecs := r.Codecs()
		if !strings.Contains(r.Format.FormatName, "mp4") || !codecs["h264"] || !codecs["aac"] || r.Seconds() < 3 {
			t.Fatalf("%s: %+v", name, r)
		}
		if !strings.Contains(name, encodeForTest("bob")) {
			continue
		}
		seconds := map[string]float64{}
		for _, st := range r.Streams {
			seconds[st.CodecType], _ = strconv.ParseFloat(st.Duration, 64)
		}
		if seconds["video"] > seconds["audio"]-3 {
			t.Fatalf("%s: bob's video track (%.2f s) went on after it was unsubscribed (audio %.2f s)", name, seconds["video"], seconds["audio"])
		}
	}
	p.stop(t)
}

func encodeForTest(s string) string {
	return strings.NewReplacer("/", "-", "=", ".").Replace(base64.StdEncoding.EncodeToString([]byte(s)))
}
