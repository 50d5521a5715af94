package main

import (
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// TestMixedRecordingSurvivesSIGKILL: a mixed recording (HLS + MP4) on the virtual clock,
// kill -9 mid-way, restart on the same data with the clock after the kill. The task is
// taken over (306): the mix goes on in ha1_ files beside the originals, the MP4 of the part
// before the crash is recovered from its spool, one 310 of MediaId mix per MP4, 305 Status
// 0. ffprobe reads every file back from storage as H.264 + AAC at the requested size.
func TestMixedRecordingSurvivesSIGKILL(t *testing.T) {
	testpeer.FFprobe(t)
	rcv := startReceiver(t, "mixKillKey")
	data := t.TempDir()
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + data, "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=mixKillKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"}
	p := start(t, append(env, "TRTC_EMULATOR_CLOCK=virtual"))
	for _, u := range []string{"alice", "bob"} {
		enterAnchor(t, p.addr, "77", u, 320, 180)
	}
	const W, H = 320, 180
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	params := recordingParams("77", "mixer_kill", robotSig(t, "mixer_kill"), storage, map[string]any{"RecordMode": 2, "OutputFormat": 1})
	params["MixTranscodeParams"] = map[string]any{
		"VideoParams": map[string]any{"Width": W, "Height": H, "Fps": 15, "BitRate": 200000, "Gop": 2},
		"AudioParams": map[string]any{"SampleRate": 1, "Channel": 1, "BitRate": 48000}}
	params["MixLayoutParams"] = map[string]any{"MixLayoutMode": 3}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	var now time.Time
	for range 8 {
		now = advance(t, p.addr, time.Second)
	}
	spool := filepath.Join(dataDirOf(t, p), "spool", taskId)
	waitFor(t, "the MP4 fragments and segments of 8 s", 30*time.Second, func() bool {
		frags, _ := filepath.Glob(filepath.Join(spool, "*.mp4.frag"))
		return len(frags) == 1 && len(rcv.of(taskId, 307)) >= 1
	})
	p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil

	// The clock goes on a minute after the kill, as a real one would.
	p = start(t, append(env, "TRTC_EMULATOR_CLOCK_START="+now.Add(time.Minute).UTC().Format(time.RFC3339Nano)))
	waitFor(t, "306", 30*time.Second, func() bool { return len(rcv.of(taskId, 306)) == 1 })
	for range 4 {
		advance(t, p.addr, time.Second)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second) // the recorder's next tick stops the task
	waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	if st := rcv.of(taskId, 305)[0].EventInfo.Payload["Status"]; st != 0.0 {
		t.Fatalf("305 Status %v", st)
	}
	if st := rcv.of(taskId, 306)[0].EventInfo.Payload["Status"]; st != 0.0 {
		t.Fatalf("306 Status %v", st)
	}
	stops := map[string]float64{}
	for _, e := range rcv.of(taskId, 310) {
		msg := e.EventInfo.Payload["FileMessage"].([]any)[0].(map[string]any)
		if msg["MediaId"] != "mix" || msg["UserId"] != "" {
			t.Fatalf("310 %v, want MediaId mix", msg)
		}
		stops[msg["FileName"].(string)] = (msg["EndTimeStamp"].(float64) - msg["StartTimeStamp"].(float64)) / 1000
	}

	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	var names []string
	for _, k := range keys {
		names = append(names, path.Base(k))
	}
	for _, name := range []string{"1400000001_77.m3u8", "ha1_1400000001_77.m3u8", "1400000001_77_1.mp4", "ha1_1400000001_77_1.mp4"} {
		if !containsKey(names, name) {
			t.Fatalf("no %s in %v", name, names)
		}
		r := testpeer.ProbeFile(t, filepath.Join(dir, name))
		codecs := r.Codecs()
		if !codecs["h264"] || !codecs["aac"] {
			t.Fatalf("%s: %+v", name, r.Streams)
		}
		for _, s := range r.Streams {
			if s.CodecType == "video" && (s.Width != W || s.Height != H) {
				t.Fatalf("%s: video %dx%d, want %dx%d", name, s.Width, s.Height, W, H)
			}
		}
		if path.Ext(name) != ".mp4" {
			continue
		}
		d, ok := stops[name]
		if !ok || d < r.Seconds()-0.2 || d > r.Seconds()+0.2 {
			t.Fatalf("%s plays %.2f s, its 310 says %.2f s (%v)", name, r.Seconds(), d, stops)
		}
		min := 3.5 // the 4 s after the takeover, less the takeover's first tick
		if name == "1400000001_77_1.mp4" {
			min = 6.5 // the 8 s before the kill, less the last flush interval
		}
		if r.Seconds() < min || r.Seconds() > 9 {
			t.Fatalf("%s plays %.2f s, want at least %.1f", name, r.Seconds(), min)
		}
		t.Logf("%s: %.2f s", name, r.Seconds())
	}
	if len(stops) != 2 {
		t.Fatalf("310s for %v, want the two MP4s", stops)
	}
	p.stop(t)
}

// TestMixedRecordingFormatsAndIdle: a mixed recording in each output format but HLS + MP4
// (which TestMixedRecordingEndToEnd covers) stops by itself MaxIdleTime after its last
// anchor leaves (not before), and leaves exactly the files its format names: the playlist
// and segments for HLS, <base>_1.mp4 or <base>_1.aac, each read back and probed (AAC
// output is of audio-only tasks, StreamType 1).
func TestMixedRecordingFormatsAndIdle(t *testing.T) {
	testpeer.FFprobe(t)
	for _, c := range []struct {
		name   string
		format int
		want   []string // the objects besides segments
		ts     bool
	}{
		{"hls", 0, []string{"1400000001_66.m3u8"}, true},
		{"hls+aac", 2, []string{"1400000001_66.m3u8", "1400000001_66_1.aac"}, true},
		{"mp4", 3, []string{"1400000001_66_1.mp4"}, false},
		{"aac", 4, []string{"1400000001_66_1.aac"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := startReceiver(t, "mixIdleKey")
			p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
				"TRTC_EMULATOR_CALLBACK_KEY=mixIdleKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_CLOCK=virtual"})
			enterAnchor(t, p.addr, "66", "alice", 320, 180)
			storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
			audioOnly := c.format == 2 || c.format == 4 // AAC output records audio only (StreamType 1)
			record := map[string]any{"RecordMode": 2, "OutputFormat": c.format, "MaxIdleTime": 5}
			if audioOnly {
				record["StreamType"] = 1
			}
			params := recordingParams("66", "mixer_idle", robotSig(t, "mixer_idle"), storage, record)
			params["MixTranscodeParams"] = map[string]any{
				"VideoParams": map[string]any{"Width": 320, "Height": 180, "Fps": 15, "BitRate": 200000, "Gop": 2},
				"AudioParams": map[string]any{"SampleRate": 1, "Channel": 1, "BitRate": 48000}}
			resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
			if err != nil {
				t.Fatal(err)
			}
			taskId := resp["TaskId"].(string)
			for range 4 {
				advance(t, p.addr, time.Second)
			}
			if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants/leave", map[string]any{"RoomId": "66", "UserId": "alice"}, nil); status != 200 {
				t.Fatalf("alice leaves: HTTP %d", status)
			}
			for range 3 {
				advance(t, p.addr, time.Second)
			}
			if got := rcv.of(taskId, 305); len(got) != 0 {
				t.Fatalf("305 at 3 s of the 5 s MaxIdleTime: %+v", got)
			}
			for range 3 { // past the 5 s; the recorder and the callback then take real time
				advance(t, p.addr, time.Second)
			}
			waitFor(t, "305 after MaxIdleTime", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
			if st := rcv.of(taskId, 305)[0].EventInfo.Payload["Status"]; st != 0.0 {
				t.Fatalf("305 Status %v", st)
			}

			dir := t.TempDir()
			keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
			var names []string
			ts := 0
			for _, k := range keys {
				if name := path.Base(k); path.Ext(name) == ".ts" {
					ts++
				} else {
					names = append(names, name)
				}
			}
			if len(names) != len(c.want) || (ts > 0) != c.ts {
				t.Fatalf("objects %v and %d segments, want %v (segments %v)", names, ts, c.want, c.ts)
			}
			for _, name := range c.want {
				if !containsKey(names, name) {
					t.Fatalf("no %s in %v", name, names)
				}
				r := testpeer.ProbeFile(t, filepath.Join(dir, name))
				codecs := r.Codecs()
				if codecs["h264"] == audioOnly || !codecs["aac"] {
					t.Fatalf("%s: %+v", name, r.Streams)
				}
				// Recorded while alice was there, and on through the idle time.
				if s := r.Seconds(); s < 3.5 || s > 11 {
					t.Fatalf("%s plays %.2f s", name, s)
				}
			}
			if got, want := len(rcv.of(taskId, 310)), len(c.want)-map[bool]int{true: 1}[c.ts]; got != want {
				t.Fatalf("%d 310s, want %d", got, want)
			}
			p.stop(t)
		})
	}
}
