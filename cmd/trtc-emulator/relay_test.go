package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// relayParams is a StartPublishCdnStream of room's stream (no transcoding) to urls.
func relayParams(t testing.TB, room, robot string, urls ...string) map[string]any {
	var cdns []map[string]any
	for _, u := range urls {
		cdns = append(cdns, map[string]any{"PublishCdnUrl": u, "IsTencentCdn": 0})
	}
	return map[string]any{"SdkAppId": defaultSdkAppId, "RoomId": room, "RoomIdType": 0, "WithTranscoding": 0,
		"AgentParams":      map[string]any{"UserId": robot, "UserSig": robotSig(t, robot), "MaxIdleTime": 30},
		"AudioParams":      map[string]any{"AudioEncode": map[string]any{"SampleRate": 48000, "Channel": 1, "BitRate": 50}},
		"PublishCdnParams": cdns}
}

// startRelayEmulator starts an emulator on the virtual clock whose callbacks go to a
// receiver checking their Sign with relayKey.
func startRelayEmulator(t *testing.T) (*proc, *receiver) {
	t.Helper()
	rcv := startReceiver(t, "relayKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=relayKey", "TRTC_EMULATOR_CLOCK=virtual"})
	return p, rcv
}

// stopRelay is a StopPublishCdnStream of the default application's task.
func stopRelay(addr, taskId string) (map[string]any, error) {
	return sdkCall(addr, defaultSecretId, defaultSecretKey, "StopPublishCdnStream", map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
}

// relayStatus is one 401 of a URL: its Status, and its EventMsTs relative to the task's
// first 401.
type relayStatus struct {
	status int
	at     time.Duration
}

// relayStates is each URL's 401s of a task in the order they were written (the
// emulator's callback log), once the receiver, which checks every Sign, has them all.
func relayStates(t *testing.T, addr string, rcv *receiver, taskId string) map[string][]relayStatus {
	t.Helper()
	var first int64
	out := map[string][]relayStatus{}
	n := 0
	log := callbackLog(t, addr)
	slices.SortFunc(log, func(a, b logEntry) int { return cmp.Compare(a.Id, b.Id) }) // the log is newest first
	for _, e := range log {
		var body struct {
			EventType int
			EventInfo struct {
				TaskId    string
				EventMsTs int64
				Payload   struct {
					Url    string
					Status int
				}
			}
		}
		json.Unmarshal(e.Body, &body)
		if body.EventType != 401 || body.EventInfo.TaskId != taskId {
			continue
		}
		if first == 0 {
			first = body.EventInfo.EventMsTs
		}
		n++
		out[body.EventInfo.Payload.Url] = append(out[body.EventInfo.Payload.Url],
			relayStatus{body.EventInfo.Payload.Status, time.Duration(body.EventInfo.EventMsTs-first) * time.Millisecond})
	}
	waitFor(t, "the receiver to have every 401", 30*time.Second, func() bool { return len(rcv.of(taskId, 401)) >= n })
	return out
}

func statusNames(s []relayStatus) string {
	names := []string{"IDLE", "CONNECTING", "RUNNING", "RECOVERING", "FAILURE", "DISCONNECTING"}
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "%s@%v ", names[x.status], x.at)
	}
	return b.String()
}

// TestRelayUnreachableURL: a relay to a URL nobody listens on, on the virtual clock:
// CONNECTING at once and every 5 s, FAILURE at 60 s, then IDLE, and nothing more; each
// 401 signed, of group 4, naming the robot, the task, the numeric room (RoomType 0).
func TestRelayUnreachableURL(t *testing.T) {
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "501", "alice", 160, 90)
	dead := "rtmp://" + strings.TrimPrefix(closedURL(t), "http://")
	dead = strings.TrimSuffix(dead, "/missing.png") + "/live/nobody"
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "501", "relay_bot", dead))
	if err != nil {
		t.Fatal(err)
	}
	taskId, _ := resp["TaskId"].(string)
	if taskId == "" {
		t.Fatalf("no TaskId: %v", resp)
	}
	for range 70 {
		advance(t, p.addr, time.Second)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range callbackLog(t, p.addr) {
				t.Logf("%s %s", e.State, e.Body)
			}
		}
	})
	waitFor(t, "IDLE after FAILURE", 30*time.Second, func() bool {
		s := relayStates(t, p.addr, rcv, taskId)[dead]
		return len(s) > 0 && s[len(s)-1].status == 0
	})
	got := relayStates(t, p.addr, rcv, taskId)[dead]
	var want []relayStatus
	for at := time.Duration(0); at < time.Minute; at += 5 * time.Second {
		want = append(want, relayStatus{1, at})
	}
	want = append(want, relayStatus{4, time.Minute}, relayStatus{0, time.Minute})
	if statusNames(got) != statusNames(want) {
		t.Fatalf("401s of the dead URL:\n got %s\nwant %s", statusNames(got), statusNames(want))
	}
	for _, e := range rcv.of(taskId, 401) {
		if string(e.EventInfo.RoomId) != "501" || e.EventInfo.RoomType == nil || *e.EventInfo.RoomType != 0 || e.EventInfo.UserId != "relay_bot" {
			t.Fatalf("401 %+v", e.EventInfo)
		}
		if st := e.EventInfo.Payload["Status"]; st == 4.0 && (e.EventInfo.Payload["ErrorCode"] == 0.0 || e.EventInfo.Payload["ErrorMsg"] == "") {
			t.Fatalf("FAILURE without its error: %v", e.EventInfo.Payload)
		}
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
}

// TestRelayUpdateAndStop: Update replaces the URL list, disconnecting the URLs left out
// (DISCONNECTING, IDLE) and connecting the new ones, the others undisturbed; an Update
// whose SequenceNumber does not grow is refused; Stop disconnects every URL and the robot
// leaves the room.
func TestRelayUpdateAndStop(t *testing.T) {
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "502", "alice", 160, 90)
	base := "rtmp://" + strings.TrimSuffix(strings.TrimPrefix(closedURL(t), "http://"), "/missing.png")
	a, b, c := base+"/live/a", base+"/live/b", base+"/live/c"
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "502", "relay_bot", a, b))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	for range 7 {
		advance(t, p.addr, time.Second)
	}
	update := func(seq int, urls ...string) error {
		var cdns []map[string]any
		for _, u := range urls {
			cdns = append(cdns, map[string]any{"PublishCdnUrl": u})
		}
		_, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "UpdatePublishCdnStream", map[string]any{
			"SdkAppId": defaultSdkAppId, "TaskId": taskId, "SequenceNumber": seq, "WithTranscoding": 0, "PublishCdnParams": cdns})
		return err
	}
	if err := update(1, b, c); err != nil {
		t.Fatal(err)
	}
	if err := update(1, c); err == nil || !strings.Contains(err.Error(), "SequenceNumber") {
		t.Fatalf("an Update with the same SequenceNumber: %v", err)
	}
	for range 5 {
		advance(t, p.addr, time.Second)
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	waitFor(t, "IDLE of b and c", 30*time.Second, func() bool {
		st := relayStates(t, p.addr, rcv, taskId)
		return len(st[b]) > 0 && st[b][len(st[b])-1].status == 0 && len(st[c]) > 0 && st[c][len(st[c])-1].status == 0
	})
	st := relayStates(t, p.addr, rcv, taskId)
	// a: connecting from 0 (again at 5 s), removed at 7 s; b: from 0 to the stop at 12 s
	// (again at 5 and 10 s); c: from 7 s (again at 12 s, the pass before the stop's).
	wants := map[string]string{
		a: "CONNECTING@0s CONNECTING@5s DISCONNECTING@7s IDLE@7s ",
		b: "CONNECTING@0s CONNECTING@5s CONNECTING@10s DISCONNECTING@12s IDLE@12s ",
		c: "CONNECTING@7s CONNECTING@12s DISCONNECTING@12s IDLE@12s ",
	}
	for url, want := range wants {
		if got := statusNames(st[url]); got != want {
			t.Errorf("%s:\n got %s\nwant %s", url, got, want)
		}
	}
	// The task ended: a second Stop finds nothing, and the robot left (only alice is in).
	if _, err := stopRelay(p.addr, taskId); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("Stop of an ended relay: %v", err)
	}
	var rooms struct {
		Rooms []struct {
			RoomId  string
			Members []struct{ UserId string }
		}
	}
	waitFor(t, "the robot out of the room", 10*time.Second, func() bool {
		control(t, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
		for _, r := range rooms.Rooms {
			if r.RoomId == "502" {
				return len(r.Members) == 1 && r.Members[0].UserId == "alice"
			}
		}
		return false
	})
	p.stop(t)
}

// rtmpReceiver is Debian's ffmpeg listening for one RTMP publish and copying it into a
// FLV file: the independent peer a relay publishes to.
type rtmpReceiver struct {
	url, file string
	cmd       *exec.Cmd
	exited    chan error
}

// startRTMPReceiver starts ffmpeg on port (a free one when 0) and returns once it listens.
func startRTMPReceiver(t *testing.T, port int) *rtmpReceiver {
	t.Helper()
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	r := &rtmpReceiver{url: fmt.Sprintf("rtmp://127.0.0.1:%d/live/relayed", port), file: filepath.Join(t.TempDir(), "received.flv"),
		exited: make(chan error, 1)}
	r.cmd = exec.Command(testpeer.FFmpeg(t), "-v", "error", "-y", "-listen", "1", "-i", r.url, "-c", "copy", "-f", "flv", r.file)
	var stderr bytes.Buffer
	r.cmd.Stderr = &stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("ffmpeg receiver: %s", stderr.String())
		}
	})
	testpeer.WaitListening(t, port, 20*time.Second)
	return r
}

// wait waits for ffmpeg to end (the publisher closed its connection).
func (r *rtmpReceiver) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("ffmpeg did not end after the relay stopped")
	}
}

// TestRelayPassthroughToFFmpeg: a relay without transcoding of a virtual anchor's stream
// to ffmpeg listening in the test: CONNECTING, RUNNING, then on Stop DISCONNECTING and
// IDLE; ffprobe reads the received file as the anchor's stream unchanged (H.264 at its
// size and rate, its AAC, the very packets a recording of the anchor holds), lasting what
// was relayed, and its first picture is the anchor's colour.
func TestRelayPassthroughToFFmpeg(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "503", "alice", 320, 180)
	// A recording of alice alongside: the packets she publishes, to compare with the relay's.
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	rec, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("503", "rec_503", robotSig(t, "rec_503"), storage, map[string]any{"RecordMode": 1, "OutputFormat": 3, "StreamType": 2}))
	if err != nil {
		t.Fatal(err)
	}
	recTask := rec["TaskId"].(string)
	out := startRTMPReceiver(t, 0)
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "503", "relay_bot", out.url))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	advanceUntil(t, p.addr, "RUNNING", time.Second, 10*time.Second, func() bool {
		s := relayStates(t, p.addr, rcv, taskId)[out.url]
		return len(s) > 0 && s[len(s)-1].status == 2
	})
	// The control API shows the relay in its room, the URL running.
	var rooms struct {
		Rooms []struct {
			RoomId string
			Relays []struct {
				TaskId, UserId string
				Urls           []struct{ Url, State string }
			}
		}
	}
	control(t, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
	if len(rooms.Rooms) != 1 || len(rooms.Rooms[0].Relays) != 1 || rooms.Rooms[0].Relays[0].TaskId != taskId ||
		len(rooms.Rooms[0].Relays[0].Urls) != 1 || rooms.Rooms[0].Relays[0].Urls[0].State != "RUNNING" {
		t.Fatalf("rooms %+v, want the relay with its URL RUNNING", rooms)
	}
	for range 10 {
		advance(t, p.addr, time.Second)
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	out.wait(t)
	st := relayStates(t, p.addr, rcv, taskId)[out.url]
	names := statusNames(st)
	if len(st) != 4 || st[0].status != 1 || st[1].status != 2 || st[2].status != 5 || st[3].status != 0 || st[2].at != st[3].at {
		t.Fatalf("401s %s, want CONNECTING, RUNNING, DISCONNECTING, IDLE", names)
	}

	r := testpeer.ProbeFile(t, out.file)
	var video, audio bool
	for _, s := range r.Streams {
		switch s.CodecType {
		case "video":
			video = s.CodecName == "h264" && s.Width == 320 && s.Height == 180
		case "audio":
			audio = s.CodecName == "aac" && s.SampleRate == "48000"
		}
	}
	if !video || !audio {
		t.Fatalf("received %+v, want the anchor's h264 320x180 and aac 48 kHz", r.Streams)
	}
	if s := r.Seconds(); s < 8 || s > 12.5 {
		t.Fatalf("received %.2f s, want about the 10 s relayed", s)
	}
	frame := frameAt(t, out.file, 0.5, 320, 180)
	if got, want := pixel(frame, 320, 160, 30), synth.UserColor("alice"); !nearColour(got, want, 16) {
		t.Fatalf("the received picture shows %v, want alice's %v", got, want)
	}
	// Passthrough: the received video packets are alice's, in order: a run of the
	// recording's packets (sizes and keyframe flags), from a keyframe.
	recorded := stopRecordingsMP4(t, p.addr, rcv, recTask)[0]
	sent, got := packetSizes(t, recorded), packetSizes(t, out.file)
	if len(got) < 100 || !isRunOf(sent, got) {
		t.Fatalf("the %d received packets are not a run of the %d recorded ones:\n%v\n%v", len(got), len(sent), got[:min(12, len(got))], sent[:min(12, len(sent))])
	}
	t.Logf("relayed %.2f s; 401s %s", r.Seconds(), names)
	p.stop(t)
}

// stopRecordingsMP4 deletes recording tasks at one clock time, waits for each one's 310
// and returns the path of each one's MP4, downloaded with aws-sdk-go-v2, in tasks' order.
func stopRecordingsMP4(t *testing.T, addr string, rcv *receiver, tasks ...string) []string {
	t.Helper()
	for _, task := range tasks {
		if _, err := sdkCall(addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": task}); err != nil {
			t.Fatal(err)
		}
	}
	advance(t, addr, time.Second)
	dir := t.TempDir()
	var files []string
	for _, task := range tasks {
		waitFor(t, "the recording's 310", 30*time.Second, func() bool { return len(rcv.of(task, 310)) == 1 })
		var mp4 string
		for _, k := range download(t, s3Client("http://"+addr+"/storage"), recordingBucket, task+"/", dir) {
			if strings.HasSuffix(k, ".mp4") {
				mp4 = filepath.Join(dir, path.Base(k))
			}
		}
		if mp4 == "" {
			t.Fatalf("no MP4 of recording %s", task)
		}
		files = append(files, mp4)
	}
	return files
}

// isRunOf is whether got (packetSizes) is a contiguous run of sent, starting at a
// keyframe. Keyframes are compared by flag only: relayed ones may carry the SPS and PPS
// in front.
func isRunOf(sent, got []string) bool {
	keyless := func(ps []string) []string {
		out := slices.Clone(ps)
		for i, p := range out {
			if strings.Contains(p, "K") {
				out[i] = "K"
			}
		}
		return out
	}
	sent, got = keyless(sent), keyless(got)
	if len(got) == 0 || got[0] != "K" {
		return false
	}
	for i := 0; i+len(got) <= len(sent); i++ {
		if slices.Equal(sent[i:i+len(got)], got) {
			return true
		}
	}
	return false
}

// TestRelayTranscodedToFFmpeg: a relay with transcoding mixes the room (two virtual
// anchors, grid) at the requested VideoEncode and AudioEncode and publishes it: ffprobe
// reads the size, rate and codecs asked for, a decoded picture shows each anchor's colour
// in its grid window, and the SeiParams' messages are in the pictures at their intervals.
func TestRelayTranscodedToFFmpeg(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	users := []string{"alice", "bob"}
	for _, u := range users {
		enterAnchor(t, p.addr, "504", u, 320, 180)
	}
	out := startRTMPReceiver(t, 0)
	const W, H = 480, 270
	params := relayParams(t, "504", "relay_mix", out.url)
	params["WithTranscoding"] = 1
	params["AudioParams"] = map[string]any{"AudioEncode": map[string]any{"SampleRate": 44100, "Channel": 2, "BitRate": 64}}
	params["VideoParams"] = map[string]any{
		"VideoEncode":  map[string]any{"Width": W, "Height": H, "Fps": 15, "BitRate": 600, "Gop": 2},
		"LayoutParams": map[string]any{"MixLayoutMode": 3}, "BackGroundColor": "0x000000"}
	params["SeiParams"] = map[string]any{
		"LayoutVolume": map[string]any{"AppData": "class-42", "PayloadType": 101, "Interval": 2000},
		"PassThrough":  map[string]any{"PayloadContent": "hello-sei", "PayloadType": 5, "PayloadUuid": "00112233445566778899aabbccddeeff", "Interval": 1000}}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	advanceUntil(t, p.addr, "RUNNING", time.Second, 10*time.Second, func() bool {
		s := relayStates(t, p.addr, rcv, taskId)[out.url]
		return len(s) > 0 && s[len(s)-1].status == 2
	})
	for range 8 {
		advance(t, p.addr, time.Second)
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	out.wait(t)

	r := testpeer.ProbeFile(t, out.file)
	var video, audio bool
	for _, s := range r.Streams {
		switch s.CodecType {
		case "video":
			video = s.CodecName == "h264" && s.Width == W && s.Height == H && s.RFrameRate == "15/1"
		case "audio":
			audio = s.CodecName == "aac" && s.SampleRate == "44100" && s.Channels == 2
		}
	}
	if !video || !audio {
		t.Fatalf("received %+v, want the mix: h264 %dx%d at 15/1, aac 44.1 kHz stereo", r.Streams, W, H)
	}
	if s := r.Seconds(); s < 5 || s > 10 {
		t.Fatalf("received %.2f s of the 8 s relayed", s)
	}
	// The SEI: the pass-through payload about once a second, the layout every 2 s.
	annexB, err := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-i", out.file, "-c:v", "copy", "-bsf:v", "h264_mp4toannexb",
		"-an", "-f", "h264", "-").Output()
	if err != nil {
		t.Fatalf("extract the H.264: %v", err)
	}
	nalus, err := h264.SplitAnnexB(annexB)
	if err != nil {
		t.Fatal(err)
	}
	var pass, layouts, voiced int
	for _, n := range nalus {
		if h264.NALUType(n[0]&0x1f) != h264.NALUSEI {
			continue
		}
		msgs, err := h264.ParseSEI(n)
		if err != nil {
			t.Fatalf("an SEI ffmpeg passed on does not parse: %v", err)
		}
		for _, m := range msgs {
			switch m.Type {
			case 5:
				if string(m.Payload[16:]) == "hello-sei" && fmt.Sprintf("%x", m.Payload[:16]) == "00112233445566778899aabbccddeeff" {
					pass++
				}
			case 101:
				type region struct {
					UserId string `json:"uid"`
					W, H   int
					Volume int `json:"volume"`
				}
				var l struct {
					AppData string   `json:"app_data"`
					Regions []region `json:"regions"`
				}
				if err := json.Unmarshal(m.Payload, &l); err != nil || l.AppData != "class-42" || len(l.Regions) != 2 {
					t.Fatalf("layout SEI %s: %v", m.Payload, err)
				}
				layouts++
				// Each anchor's tone is at a tenth of full scale: volume 10 (once audio flows).
				if !slices.ContainsFunc(l.Regions, func(r region) bool { return r.Volume < 8 || r.Volume > 12 }) {
					voiced++
				}
			}
		}
	}
	if secs := r.Seconds(); float64(pass) < secs-1.5 || float64(pass) > secs+1.5 || float64(layouts) < secs/2-1.5 || float64(layouts) > secs/2+1.5 {
		t.Fatalf("%d pass-through and %d layout SEI in %.1f s, want one a second and one every 2 s", pass, layouts, secs)
	}
	if voiced < layouts-1 {
		t.Fatalf("%d of %d layout SEI give each anchor's volume as 10", voiced, layouts)
	}

	var ms []mixlayout.Member
	for _, u := range users {
		ms = append(ms, mixlayout.Member{UserId: u, Video: true, Audio: true})
	}
	frame := frameAt(t, out.file, 2, W, H)
	for _, w := range mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: W, Height: H, Members: ms, RenderMode: mixlayout.Crop}) {
		x, y := w.X+w.W/2, w.Y+w.H/6
		if got, want := pixel(frame, W, x, y), synth.UserColor(w.UserId); !nearColour(got, want, 16) {
			t.Errorf("%s's window (%d,%d %dx%d) shows %v, want %v", w.UserId, w.X, w.Y, w.W, w.H, got, want)
		}
	}
	p.stop(t)
}

// TestRelayRecoversAndFails: the receiver is killed mid-relay. Restarted within 60 s on
// the same port, the URL goes RECOVERING (every 5 s) then RUNNING; killed again and not
// restarted, RECOVERING until FAILURE at 60 s, then IDLE.
func TestRelayRecoversAndFails(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "505", "alice", 160, 90)
	out := startRTMPReceiver(t, 0)
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "505", "relay_bot", out.url))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	last := func() int {
		s := relayStates(t, p.addr, rcv, taskId)[out.url]
		if len(s) == 0 {
			return -1
		}
		return s[len(s)-1].status
	}
	advanceUntil(t, p.addr, "RUNNING", time.Second, 10*time.Second, func() bool { return last() == 2 })
	advance(t, p.addr, time.Second)
	out.cmd.Process.Kill()
	<-out.exited
	advanceUntil(t, p.addr, "RECOVERING", time.Second, 20*time.Second, func() bool { return last() == 3 })
	for range 6 {
		advance(t, p.addr, time.Second)
	}
	port := mustPort(t, out.url)
	out = startRTMPReceiver(t, port)
	advanceUntil(t, p.addr, "RUNNING again", time.Second, 20*time.Second, func() bool { return last() == 2 })
	advance(t, p.addr, time.Second)
	out.cmd.Process.Kill()
	<-out.exited
	advanceUntil(t, p.addr, "IDLE after FAILURE", time.Second, 90*time.Second, func() bool { return last() == 0 })

	st := relayStates(t, p.addr, rcv, taskId)[out.url]
	var seq []int
	for _, x := range st {
		if len(seq) == 0 || seq[len(seq)-1] != x.status {
			seq = append(seq, x.status)
		}
	}
	if fmt.Sprint(seq) != "[1 2 3 2 3 4 0]" {
		t.Fatalf("401s %s, want CONNECTING, RUNNING, RECOVERING, RUNNING, RECOVERING, FAILURE, IDLE", statusNames(st))
	}
	// The first RECOVERING spell repeats every 5 s; the last one ends in FAILURE 60 s after
	// it began.
	var spells [][]relayStatus
	for i, x := range st {
		if x.status == 3 && (i == 0 || st[i-1].status != 3) {
			spells = append(spells, nil)
		}
		if x.status == 3 {
			spells[len(spells)-1] = append(spells[len(spells)-1], x)
		}
	}
	if len(spells) != 2 || len(spells[0]) < 2 || spells[0][1].at-spells[0][0].at != 5*time.Second {
		t.Fatalf("RECOVERING spells %v (401s %s)", spells, statusNames(st))
	}
	last2 := spells[1]
	for i := 1; i < len(last2); i++ {
		if last2[i].at-last2[i-1].at != 5*time.Second {
			t.Fatalf("RECOVERING repeats %v", last2)
		}
	}
	if fail := st[len(st)-2]; fail.status != 4 || fail.at-last2[0].at != time.Minute {
		t.Fatalf("FAILURE at %v, the spell began at %v", fail.at, last2[0].at)
	}
	p.stop(t)
}

func mustPort(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestRelayIntoSecondEmulator: one emulator relays an anchor's stream into the RTMP push
// listener of a second: the relay's URL names a user of the second's room, who becomes an
// anchor there, publishing the first's H.264 and AAC at the anchor's size.
func TestRelayIntoSecondEmulator(t *testing.T) {
	rcv := startReceiver(t, "relayKey")
	first := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=relayKey", "TRTC_EMULATOR_CLOCK=virtual"})
	second := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir()})
	var info struct{ Endpoints map[string]string }
	control(t, "GET", "http://"+second.addr+"/_emulator/v1/info", nil, &info)
	dest := pushURL(t, info.Endpoints["Rtmp"], "mirror", "relayed_alice", robotSig(t, "relayed_alice"))
	enterAnchor(t, first.addr, "506", "alice", 320, 180)
	resp, err := sdkCall(first.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "506", "relay_bot", dest))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	advanceUntil(t, first.addr, "RUNNING", time.Second, 10*time.Second, func() bool {
		s := relayStates(t, first.addr, rcv, taskId)[dest]
		return len(s) > 0 && s[len(s)-1].status == 2
	})
	var rooms rtmpRoomView
	waitFor(t, "the relayed anchor in the second emulator", 20*time.Second, func() bool {
		advance(t, first.addr, time.Second)
		control(t, "GET", "http://"+second.addr+"/_emulator/v1/rooms", nil, &rooms)
		for _, r := range rooms.Rooms {
			for _, m := range r.Members {
				if r.RoomId == "mirror" && m.UserId == "relayed_alice" && m.Source == "rtmp" && len(m.Streams) == 2 {
					return true
				}
			}
		}
		return false
	})
	for _, m := range rooms.Rooms[0].Members {
		for _, s := range m.Streams {
			if s.Codec == "H264" && (s.Width != 320 || s.Height != 180) || s.Codec != "H264" && s.Codec != "AAC" {
				t.Fatalf("the relayed anchor's streams %+v, want alice's h264 320x180 and AAC", m.Streams)
			}
		}
	}
	first.stop(t)
	second.stop(t)
}

// TestRelaySurvivesSIGKILL: kill -9 mid-relay, restart on the same data: the task's job
// is taken over and the URL goes RECOVERING, then RUNNING again, publishing to the
// receiver anew.
func TestRelaySurvivesSIGKILL(t *testing.T) {
	testpeer.FFprobe(t)
	rcv := startReceiver(t, "relayKey")
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url, "TRTC_EMULATOR_CALLBACK_KEY=relayKey"}
	p := start(t, append(env, "TRTC_EMULATOR_CLOCK=virtual"))
	enterAnchor(t, p.addr, "507", "alice", 160, 90)
	out := startRTMPReceiver(t, 0)
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", relayParams(t, "507", "relay_bot", out.url))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	last := func(addr string) int {
		s := relayStates(t, addr, rcv, taskId)[out.url]
		if len(s) == 0 {
			return -1
		}
		return s[len(s)-1].status
	}
	advanceUntil(t, p.addr, "RUNNING", time.Second, 10*time.Second, func() bool { return last(p.addr) == 2 })
	var now time.Time
	for range 3 {
		now = advance(t, p.addr, time.Second)
	}
	p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil
	<-out.exited
	out = startRTMPReceiver(t, mustPort(t, out.url))

	p = start(t, append(env, "TRTC_EMULATOR_CLOCK_START="+now.Add(10*time.Second).UTC().Format(time.RFC3339Nano)))
	waitFor(t, "RUNNING after the takeover", 60*time.Second, func() bool {
		advance(t, p.addr, time.Second)
		return len(rcv.of(taskId, 401)) > 2 && last(p.addr) == 2
	})
	for range 3 {
		advance(t, p.addr, time.Second)
	}
	st := relayStates(t, p.addr, rcv, taskId)[out.url]
	var seq []int
	for _, x := range st {
		if len(seq) == 0 || seq[len(seq)-1] != x.status {
			seq = append(seq, x.status)
		}
	}
	if fmt.Sprint(seq) != "[1 2 3 2]" {
		t.Fatalf("401s %s, want CONNECTING, RUNNING, then after the kill RECOVERING, RUNNING", statusNames(st))
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	out.wait(t)
	if r := testpeer.ProbeFile(t, out.file); !r.Codecs()["h264"] || r.Seconds() < 2 {
		t.Fatalf("received after the takeover: %+v (%.2f s)", r.Streams, r.Seconds())
	}
	p.stop(t)
}

// TestRelayWaitsForAStream: a relay started before any anchor publishes stays CONNECTING
// (reported every 5 s) past 60 s without failing: the give-up counts from when there is a
// stream to send. Once an anchor publishes, a URL nobody listens on fails 60 s later.
func TestRelayWaitsForAStream(t *testing.T) {
	p, rcv := startRelayEmulator(t)
	dead := "rtmp://" + strings.TrimSuffix(strings.TrimPrefix(closedURL(t), "http://"), "/missing.png") + "/live/later"
	params := relayParams(t, "508", "relay_bot", dead)
	params["AgentParams"].(map[string]any)["MaxIdleTime"] = 600
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	for range 70 {
		advance(t, p.addr, time.Second)
	}
	st := relayStates(t, p.addr, rcv, taskId)[dead]
	if len(st) != 15 || st[len(st)-1].status != 1 { // at 0, 5, … 70 s
		t.Fatalf("with no stream for 70 s: %s, want CONNECTING every 5 s", statusNames(st))
	}
	enterAnchor(t, p.addr, "508", "alice", 160, 90)
	for range 59 {
		advance(t, p.addr, time.Second)
	}
	if st := relayStates(t, p.addr, rcv, taskId)[dead]; st[len(st)-1].status != 1 {
		t.Fatalf("59 s after the anchor came: %s", statusNames(st))
	}
	advanceUntil(t, p.addr, "FAILURE", time.Second, 5*time.Second, func() bool {
		st := relayStates(t, p.addr, rcv, taskId)[dead]
		return st[len(st)-1].status == 0
	})
	st = relayStates(t, p.addr, rcv, taskId)[dead]
	if fail := st[len(st)-2]; fail.status != 4 || fail.at < 129*time.Second || fail.at > 131*time.Second {
		t.Fatalf("FAILURE at %v, want 60 s after the anchor entered at 70 s: %s", fail.at, statusNames(st))
	}
	p.stop(t)
}

// TestRelayFeedBack: a transcoded relay with FeedBackRoomParams and no CDN pushes the mix
// back into another room: its user enters that room as an anchor (Source relay) whose
// streams are the mix's H.264 at the VideoEncode size and its AAC, which a recording of
// that room records (ffprobe; the picture is alice's, full canvas), and leaves on Stop.
func TestRelayFeedBack(t *testing.T) {
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "509", "alice", 320, 180)
	params := relayParams(t, "509", "relay_mix")
	delete(params, "PublishCdnParams")
	params["WithTranscoding"] = 1
	params["VideoParams"] = map[string]any{"VideoEncode": map[string]any{"Width": 320, "Height": 240, "Fps": 15, "BitRate": 400, "Gop": 1}}
	params["FeedBackRoomParams"] = []map[string]any{{"RoomId": "stage", "RoomIdType": 1, "UserId": "mix_in_stage", "UserSig": robotSig(t, "mix_in_stage")}}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	member := func() (source string, streams []string) { return roomMember(t, p.addr, "stage", "mix_in_stage") }
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.stderr.String())
		}
	})
	waitFedBack(t, p.addr, "stage", "mix_in_stage", "main-video H264 320x240")
	// The stage room's recording records the mix like any anchor's stream.
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	rec := recordingParams("stage", "stage_rec", robotSig(t, "stage_rec"), storage, map[string]any{"RecordMode": 1, "OutputFormat": 3})
	rec["RoomIdType"] = 0 // recording's polarity: a string room
	resp, err = sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", rec)
	if err != nil {
		t.Fatal(err)
	}
	recTask := resp["TaskId"].(string)
	for range 6 {
		advance(t, p.addr, time.Second)
	}
	mp4 := stopRecordingsMP4(t, p.addr, rcv, recTask)[0]
	if r := testpeer.ProbeFile(t, mp4); !r.Codecs()["h264"] || !r.Codecs()["aac"] || r.Seconds() < 4 {
		t.Fatalf("the stage recording: %+v, %.2f s", r.Streams, r.Seconds())
	}
	frame := frameAt(t, mp4, 2, 320, 240)
	if got, want := pixel(frame, 320, 160, 40), synth.UserColor("alice"); !nearColour(got, want, 16) {
		t.Fatalf("the recorded mix shows %v, want alice's %v", got, want)
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatal(err)
	}
	advanceUntil(t, p.addr, "the fed-back member gone", time.Second, 10*time.Second, func() bool {
		source, _ := member()
		return source == ""
	})
	p.stop(t)
}

// roomMember is a member's Source and hub streams ("main-video H264 320x240"), as the
// control API lists them; "" when the user is not in the room.
func roomMember(t *testing.T, addr, room, user string) (source string, streams []string) {
	t.Helper()
	var rooms rtmpRoomView
	control(t, "GET", "http://"+addr+"/_emulator/v1/rooms", nil, &rooms)
	for _, r := range rooms.Rooms {
		for _, m := range r.Members {
			if r.RoomId == room && m.UserId == user {
				for _, s := range m.Streams {
					streams = append(streams, fmt.Sprintf("%s %s %dx%d", s.Track, s.Codec, s.Width, s.Height))
				}
				return m.Source, streams
			}
		}
	}
	return "", nil
}

// waitFedBack advances the clock until a fed-back member publishes its two streams, and
// checks it is the relay's (Source relay) with the video wanted and AAC audio.
func waitFedBack(t *testing.T, addr, room, user, video string) {
	t.Helper()
	advanceUntil(t, addr, "the fed-back stream in "+room, time.Second, 10*time.Second, func() bool {
		_, streams := roomMember(t, addr, room, user)
		return len(streams) == 2
	})
	if source, streams := roomMember(t, addr, room, user); source != "relay" || streams[0] != video || streams[1] != "audio AAC 0x0" {
		t.Fatalf("the fed-back member of %s: %s %v, want relay with %s and AAC", room, source, streams, video)
	}
}

// TestRelayFeedBackPassthrough: a relay without transcoding feeds its anchor's stream
// into another room: the robot there is an anchor of Source relay whose streams are
// alice's own (her size, her packets: a recording of that room holds a run of a recording
// of hers). Dismissed with that room, the member is not fed again; the relay goes on.
func TestRelayFeedBackPassthrough(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "512", "alice", 320, 180)
	params := relayParams(t, "512", "relay_fwd")
	delete(params, "PublishCdnParams")
	params["FeedBackRoomParams"] = []map[string]any{{"RoomId": "stage2", "RoomIdType": 1, "UserId": "alice_in_stage", "UserSig": robotSig(t, "alice_in_stage")}}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	member := func() (string, []string) { return roomMember(t, p.addr, "stage2", "alice_in_stage") }
	waitFedBack(t, p.addr, "stage2", "alice_in_stage", "main-video H264 320x180")
	// Both rooms recorded at once: the fed-back packets are alice's.
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	record := map[string]any{"RecordMode": 1, "OutputFormat": 3, "StreamType": 2}
	var recs []string
	for _, c := range []struct{ room, robot string }{{"512", "rec_512"}, {"stage2", "rec_stage2"}} {
		params := recordingParams(c.room, c.robot, robotSig(t, c.robot), storage, record)
		if c.room == "stage2" {
			params["RoomIdType"] = 0 // recording's polarity: a string room
		}
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, resp["TaskId"].(string))
	}
	for range 8 {
		advance(t, p.addr, time.Second)
	}
	files := stopRecordingsMP4(t, p.addr, rcv, recs...)
	r := testpeer.ProbeFile(t, files[1])
	if len(r.Streams) != 1 || r.Streams[0].CodecName != "h264" || r.Streams[0].Width != 320 || r.Streams[0].Height != 180 || r.Seconds() < 5 {
		t.Fatalf("the stage2 recording: %+v, %.2f s", r.Streams, r.Seconds())
	}
	if sent, got := packetSizes(t, files[0]), packetSizes(t, files[1]); len(got) < 60 || !isRunOf(sent, got) {
		t.Fatalf("the %d packets recorded in stage2 are not a run of alice's %d:\n%v\n%v", len(got), len(sent), got[:min(12, len(got))], sent[:min(12, len(sent))])
	}
	// The stage dismissed: the member is out and stays out; the relay still runs.
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DismissRoomByStrRoomId",
		map[string]any{"SdkAppId": defaultSdkAppId, "RoomId": "stage2"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		advance(t, p.addr, time.Second)
	}
	if source, streams := member(); source != "" || streams != nil {
		t.Fatalf("after DismissRoom the fed-back member is %q %v", source, streams)
	}
	// Its streams ended with it: the same id entering the room publishes its own (a virtual
	// user's, once a recording of the room wants them).
	if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants", map[string]any{"RoomId": "stage2", "RoomIdType": 0,
		"UserId": "alice_in_stage", "Publish": map[string]bool{"Audio": true, "Video": true}, "Video": map[string]int{"Width": 160, "Height": 90, "Fps": 15}}, nil); status != 200 {
		t.Fatalf("enter alice_in_stage into stage2: HTTP %d", status)
	}
	params = recordingParams("stage2", "rec_stage2b", robotSig(t, "rec_stage2b"), storage, record)
	params["RoomIdType"] = 0
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params); err != nil {
		t.Fatal(err) // a recording of the room: its virtual users publish
	}
	advanceUntil(t, p.addr, "the newcomer's streams", time.Second, 5*time.Second, func() bool {
		_, streams := member()
		return len(streams) == 2
	})
	if source, streams := member(); source == "relay" || streams[0] != "main-video H264 160x90" {
		t.Fatalf("a user of the fed-back id entering after DismissRoom: %q %v", source, streams)
	}
	if _, err := stopRelay(p.addr, taskId); err != nil {
		t.Fatalf("Stop after the feed's room was dismissed: %v", err)
	}
	p.stop(t)
}

// TestMCUMixToFFmpeg: the legacy StartMCUMixTranscode mixes a numeric room (grid, Template
// 1) and publishes it to its PublishCdnParams URL, ffmpeg in the test: ffprobe reads the
// EncodeParams size and rate; StopMCUMixTranscode ends it (the 401s of the URL end IDLE)
// and a second Stop finds no mix.
func TestMCUMixToFFmpeg(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	for _, u := range []string{"alice", "bob"} {
		enterAnchor(t, p.addr, "510", u, 320, 180)
	}
	out := startRTMPReceiver(t, 0)
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartMCUMixTranscode", map[string]any{
		"SdkAppId": defaultSdkAppId, "RoomId": 510, "OutputParams": map[string]any{"StreamId": "mix_510"},
		"EncodeParams": map[string]any{"AudioSampleRate": 48000, "AudioBitrate": 64, "AudioChannels": 1,
			"VideoWidth": 400, "VideoHeight": 224, "VideoBitrate": 500, "VideoFramerate": 15, "VideoGop": 2},
		"LayoutParams":     map[string]any{"Template": 1},
		"PublishCdnParams": map[string]any{"BizId": 1234, "PublishCdnUrls": []string{out.url}}}); err != nil {
		t.Fatal(err)
	}
	var taskId string
	advanceUntil(t, p.addr, "the mix RUNNING", time.Second, 10*time.Second, func() bool {
		var rooms struct {
			Rooms []struct {
				RoomId string
				Relays []struct {
					TaskId string
					Urls   []struct{ State string }
				}
			}
		}
		control(t, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
		for _, r := range rooms.Rooms {
			for _, rl := range r.Relays {
				if r.RoomId == "510" && len(rl.Urls) == 1 && rl.Urls[0].State == "RUNNING" {
					taskId = rl.TaskId
					return true
				}
			}
		}
		return false
	})
	for range 5 {
		advance(t, p.addr, time.Second)
	}
	stop := map[string]any{"SdkAppId": defaultSdkAppId, "RoomId": 510}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StopMCUMixTranscode", stop); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	out.wait(t)
	st := relayStates(t, p.addr, rcv, taskId)[out.url]
	if len(st) == 0 || st[len(st)-1].status != 0 {
		t.Fatalf("the MCU URL's 401s: %s", statusNames(st))
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StopMCUMixTranscode", stop); err == nil || !strings.Contains(err.Error(), "MixSessionNotExist") {
		t.Fatalf("a second Stop: %v", err)
	}
	r := testpeer.ProbeFile(t, out.file)
	var video bool
	for _, s := range r.Streams {
		video = video || s.CodecName == "h264" && s.Width == 400 && s.Height == 224 && s.RFrameRate == "15/1"
	}
	if !video || !r.Codecs()["aac"] || r.Seconds() < 3 {
		t.Fatalf("received %+v (%.2f s), want the 400x224 mix at 15 fps with AAC", r.Streams, r.Seconds())
	}
	p.stop(t)
}

// TestRelayMaxIdleTime: AgentParams.MaxIdleTime counts from when the room has no anchor
// (the robot is none): an anchor entering within it resets the count; once the room has
// been anchorless for MaxIdleTime the task ends (DISCONNECTING then IDLE, the robot
// leaves, a Stop finds nothing), on the virtual clock.
func TestRelayMaxIdleTime(t *testing.T) {
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "510", "alice", 160, 90)
	dead := "rtmp://" + strings.TrimSuffix(strings.TrimPrefix(closedURL(t), "http://"), "/missing.png") + "/live/idle"
	params := relayParams(t, "510", "relay_bot", dead)
	params["AgentParams"].(map[string]any)["MaxIdleTime"] = 10
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	leave := func(user string) {
		t.Helper()
		if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants/leave", map[string]any{"RoomId": "510", "UserId": user}, nil); status != 200 {
			t.Fatalf("leave %s: HTTP %d", user, status)
		}
	}
	members := func() []string {
		var rooms rtmpRoomView
		control(t, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
		var out []string
		for _, r := range rooms.Rooms {
			if r.RoomId == "510" {
				for _, m := range r.Members {
					out = append(out, m.UserId)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	ended := func() bool {
		st := relayStates(t, p.addr, rcv, taskId)[dead]
		return len(st) > 0 && st[len(st)-1].status == 0
	}
	advance(t, p.addr, 2*time.Second)
	leave("alice") // anchorless from here
	for range 8 {
		advance(t, p.addr, time.Second)
	}
	enterAnchor(t, p.addr, "510", "bob", 160, 90) // 8 s later: the count starts again when he leaves
	for range 5 {
		advance(t, p.addr, time.Second)
	}
	leave("bob")
	for range 9 {
		advance(t, p.addr, time.Second)
	}
	if ended() || !slices.Equal(members(), []string{"relay_bot"}) {
		t.Fatalf("9 s after the last anchor left (MaxIdleTime 10): ended %v, members %v", ended(), members())
	}
	advanceUntil(t, p.addr, "the idle relay's end", time.Second, 3*time.Second, ended)
	st := relayStates(t, p.addr, rcv, taskId)[dead]
	if n := len(st); n < 3 || st[n-2].status != 5 || st[n-1].status != 0 {
		t.Fatalf("401s of the idle relay: %s, want DISCONNECTING then IDLE last", statusNames(st))
	}
	if end := st[len(st)-1].at; end < 25*time.Second || end > 26*time.Second {
		t.Fatalf("the idle relay ended at %v, want 10 s after bob left at 15 s", end)
	}
	waitFor(t, "the robot out of the room", 10*time.Second, func() bool { return len(members()) == 0 })
	if _, err := stopRelay(p.addr, taskId); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("Stop of an idle-ended relay: %v", err)
	}
	p.stop(t)
}

// TestRelayStartedByClient: an anchor's client starts a relay of its own (control API, as
// startPublishMediaStream does): no robot enters, the 401s name the anchor, ffmpeg gets
// her stream (not bob's, who entered first), and the task ends when she leaves
// (DISCONNECTING, IDLE) while bob stays. Bad starts get Tencent-style errors.
func TestRelayStartedByClient(t *testing.T) {
	testpeer.FFprobe(t)
	p, rcv := startRelayEmulator(t)
	enterAnchor(t, p.addr, "513", "bob", 320, 180)
	enterAnchor(t, p.addr, "513", "alice", 320, 180)
	if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants", map[string]any{"RoomId": "513", "UserId": "carol", "Role": 21}, nil); status != 200 {
		t.Fatalf("enter carol: HTTP %d", status)
	}
	out := startRTMPReceiver(t, 0)
	startBy := func(user string, extra map[string]any) (string, string) {
		t.Helper()
		body := map[string]any{"RoomId": "513", "UserId": user, "WithTranscoding": 0,
			"AudioParams":      map[string]any{"AudioEncode": map[string]any{"SampleRate": 48000, "Channel": 1, "BitRate": 50}},
			"PublishCdnParams": []map[string]any{{"PublishCdnUrl": out.url, "IsTencentCdn": 0}}}
		for k, v := range extra {
			body[k] = v
		}
		var answer struct {
			TaskId string
			Error  struct{ Code string }
		}
		control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants/publish-media-stream", body, &answer)
		return answer.TaskId, answer.Error.Code
	}
	for _, c := range []struct {
		user  string
		extra map[string]any
		code  string
	}{
		{"carol", nil, "FailedOperation.NotAnchor"},
		{"dave", nil, "FailedOperation.UserNotExist"},
		{"alice", map[string]any{"AgentParams": map[string]any{"UserId": "bot"}}, "InvalidParameter"},
		{"alice", map[string]any{"WithTranscoding": 2}, "InvalidParameter.OutOfRange"},
		{"alice", map[string]any{"PublishCdnParams": []map[string]any{{"PublishCdnUrl": "http://x/y"}}}, "InvalidParameter"},
	} {
		if id, code := startBy(c.user, c.extra); id != "" || !strings.HasPrefix(code, c.code) {
			t.Errorf("a start by %s with %v: task %q, error %q, want %s", c.user, c.extra, id, code, c.code)
		}
	}
	taskId, code := startBy("alice", nil)
	if taskId == "" {
		t.Fatalf("alice's start: %s", code)
	}
	advanceUntil(t, p.addr, "RUNNING", time.Second, 10*time.Second, func() bool {
		s := relayStates(t, p.addr, rcv, taskId)[out.url]
		return len(s) > 0 && s[len(s)-1].status == 2
	})
	var rooms struct {
		Rooms []struct {
			RoomId  string
			Members []struct{ UserId string }
			Relays  []struct{ TaskId, UserId string }
		}
	}
	control(t, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
	if len(rooms.Rooms) != 1 || len(rooms.Rooms[0].Members) != 3 || len(rooms.Rooms[0].Relays) != 1 || rooms.Rooms[0].Relays[0].UserId != "alice" {
		t.Fatalf("rooms %+v, want bob, alice and carol, no robot, alice's relay", rooms)
	}
	for range 4 {
		advance(t, p.addr, time.Second)
	}
	if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants/leave", map[string]any{"RoomId": "513", "UserId": "alice"}, nil); status != 200 {
		t.Fatalf("alice leaves: HTTP %d", status)
	}
	advanceUntil(t, p.addr, "IDLE", time.Second, 3*time.Second, func() bool {
		s := relayStates(t, p.addr, rcv, taskId)[out.url]
		return len(s) > 0 && s[len(s)-1].status == 0
	})
	out.wait(t)
	if got := statusNames(relayStates(t, p.addr, rcv, taskId)[out.url]); !strings.HasPrefix(got, "CONNECTING@0s RUNNING@") || !strings.HasSuffix(got, "DISCONNECTING@5s IDLE@5s ") {
		t.Fatalf("401s %s", got)
	}
	for _, e := range rcv.of(taskId, 401) {
		if e.EventInfo.UserId != "alice" {
			t.Fatalf("a 401 names %q, want alice: %+v", e.EventInfo.UserId, e.EventInfo)
		}
	}
	if _, err := stopRelay(p.addr, taskId); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("Stop after the anchor left: %v", err)
	}
	if source, _ := roomMember(t, p.addr, "513", "bob"); source != "virtual" {
		t.Fatalf("bob after the relay ended: %q", source)
	}
	frame := frameAt(t, out.file, 0.5, 320, 180)
	if got, want := pixel(frame, 320, 160, 30), synth.UserColor("alice"); !nearColour(got, want, 16) {
		t.Fatalf("the received picture shows %v, want alice's %v", got, want)
	}
	p.stop(t)
}
