package main

import (
	"bytes"
	encbin "encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// startImageServer serves a red PNG at /wm.png and returns its URL.
func startImageServer(t *testing.T, w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+3] = 0xff, 0xff
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wm.png" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "image/png")
		rw.Write(buf.Bytes())
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/wm.png"
}

// closedURL is an image URL on a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/missing.png"
}

// frameAt decodes the picture of a video file at second s with ffmpeg (RGB).
func frameAt(t *testing.T, file string, s float64, w, h int) []byte {
	t.Helper()
	out, err := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-ss", strconv.FormatFloat(s, 'f', 3, 64), "-i", file,
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("frame at %.1f s of %s: %d bytes, %v", s, file, len(out), err)
	}
	return out
}

// pcmOf decodes a file's audio with ffmpeg into mono 48 kHz samples.
func pcmOf(t *testing.T, file string) []int16 {
	t.Helper()
	out, err := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-i", file, "-vn", "-f", "s16le", "-ac", "1", "-ar", "48000", "-").Output()
	if err != nil {
		t.Fatalf("decode the audio of %s: %v", file, err)
	}
	pcm := make([]int16, len(out)/2)
	encbin.Read(bytes.NewReader(out), encbin.LittleEndian, pcm)
	return pcm
}

func pixel(frame []byte, w, x, y int) color.RGBA {
	o := (y*w + x) * 3
	return color.RGBA{frame[o], frame[o+1], frame[o+2], 0xff}
}

func nearColour(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

// TestMixedRecordingEndToEnd: a backend records a room of three virtual anchors mixed
// (RecordMode 2) at 640x360 through the official SDK, with an image watermark served by
// the test and one whose URL nobody answers; Modify switches the layout to floating with
// bob in the big window; alice leaves; Delete. The files carry the mixed names, read back
// with aws-sdk-go-v2; ffprobe sees the requested codec, size, rate and duration; frames
// decoded by ffmpeg show each user's colour where the layout puts them, before and after
// the change, and the watermark at its rectangle; the mixed audio holds each present
// anchor's tone (after a second Modify unsubscribes carol's audio, bob's alone). The
// unreachable image gives one 309 and the recording goes on.
func TestMixedRecordingEndToEnd(t *testing.T) {
	testpeer.FFprobe(t)
	rcv := startReceiver(t, "mixKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=mixKey", "TRTC_EMULATOR_RECORDING_SEGMENT=4s", "TRTC_EMULATOR_CLOCK=virtual"})
	users := []string{"alice", "bob", "carol"}
	for _, u := range users {
		enterAnchor(t, p.addr, "88", u, 320, 180)
	}
	wm, missing := startImageServer(t, 80, 40), closedURL(t)
	const W, H = 640, 360
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "AKIDrecording",
		"SecretKey": "recordingSecret"}
	record := map[string]any{"RecordMode": 2, "MaxIdleTime": 30, "StreamType": 0, "OutputFormat": 1}
	params := recordingParams("88", "mixer_1", robotSig(t, "mixer_1"), storage, record)
	params["MixTranscodeParams"] = map[string]any{
		"VideoParams": map[string]any{"Width": W, "Height": H, "Fps": 15, "BitRate": 500000, "Gop": 2},
		"AudioParams": map[string]any{"SampleRate": 1, "Channel": 2, "BitRate": 64000}}
	watermarks := []map[string]any{
		{"WaterMarkType": 0, "WaterMarkImage": map[string]any{"WaterMarkUrl": wm, "Top": 10, "Left": 10, "Width": 80, "Height": 40}},
		{"WaterMarkType": 0, "WaterMarkImage": map[string]any{"WaterMarkUrl": missing, "Top": 300, "Left": 500, "Width": 40, "Height": 40}}}
	params["MixLayoutParams"] = map[string]any{"MixLayoutMode": 3, "BackGroundColor": "#000000", "WaterMarkList": watermarks}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId, _ := resp["TaskId"].(string)
	if taskId == "" {
		t.Fatalf("no TaskId: %v", resp)
	}
	for range 10 {
		advance(t, p.addr, time.Second)
	}
	d, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording", map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := d["StorageFileList"].([]any)
	if len(files) != 1 {
		t.Fatalf("StorageFileList %v, want the one mixed playlist", d["StorageFileList"])
	}
	if f := files[0].(map[string]any); f["FileName"] != "1400000001_88.m3u8" || f["TrackType"] != "audio_video" || f["UserId"] != "" {
		t.Fatalf("mixed playlist %v", f)
	}
	// The layout changes: floating, bob in the big window (the full set, watermarks too).
	layout := map[string]any{"MixLayoutMode": 1, "MaxResolutionUserId": "bob", "WaterMarkList": watermarks}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "ModifyCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId, "MixLayoutParams": layout}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		advance(t, p.addr, time.Second)
	}
	if status := control(t, "POST", "http://"+p.addr+"/_emulator/v1/participants/leave", map[string]any{"RoomId": "88", "UserId": "alice"}, nil); status != 200 {
		t.Fatalf("alice leaves: HTTP %d", status)
	}
	// The subscription changes too: carol's audio is no longer mixed (her window stays).
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "ModifyCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId, "SubscribeStreamUserIds": map[string]any{"UnSubscribeAudioUserIds": []string{"carol"}}}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		advance(t, p.addr, time.Second)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	advance(t, p.addr, time.Second)
	waitFor(t, "305 and the mix's 310", 60*time.Second, func() bool {
		return len(rcv.of(taskId, 305)) == 1 && len(rcv.of(taskId, 310)) == 1
	})

	// Callbacks: one 309 naming the unreachable image; the 310 and 307s of the mix.
	if got := rcv.of(taskId, 309); len(got) != 1 || got[0].EventInfo.Payload["Url"] != missing {
		t.Fatalf("309s %+v, want one for %s", got, missing)
	}
	mp4Stop := rcv.of(taskId, 310)[0].EventInfo.Payload
	msgs, _ := mp4Stop["FileMessage"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["MediaId"] != "mix" || msgs[0].(map[string]any)["FileName"] != "1400000001_88_1.mp4" {
		t.Fatalf("310 %v, want one file of MediaId mix", mp4Stop)
	}
	fileSlices := rcv.of(taskId, 307)
	if len(fileSlices) == 0 || fileSlices[0].EventInfo.Payload["TrackType"] != "audio_video" || fileSlices[0].EventInfo.Payload["UserId"] != "" {
		t.Fatalf("307s %+v", fileSlices)
	}

	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	var ts int
	for _, k := range keys {
		name := path.Base(k)
		switch {
		case name == "1400000001_88.m3u8", name == "1400000001_88_1.mp4":
		case strings.HasPrefix(name, "1400000001_88_") && strings.HasSuffix(name, ".ts") && len(name) == len("1400000001_88_20261203010203456.ts"):
			ts++
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	if ts < 5 {
		t.Fatalf("%d segments in %v", ts, keys)
	}
	file := filepath.Join(dir, "1400000001_88_1.mp4")
	probe := testpeer.ProbeFile(t, file)
	if s := probe.Seconds(); s < 29 || s > 32 {
		t.Errorf("the MP4 lasts %.2f s, want about 31", s)
	}
	var sawVideo, sawAudio bool
	for _, s := range probe.Streams {
		switch s.CodecType {
		case "video":
			sawVideo = true
			if s.CodecName != "h264" || s.Width != W || s.Height != H || s.RFrameRate != "15/1" {
				t.Errorf("video stream %+v, want h264 %dx%d at 15/1", s, W, H)
			}
		case "audio":
			sawAudio = true
			if s.CodecName != "aac" || s.SampleRate != "48000" || s.Channels != 2 {
				t.Errorf("audio stream %+v, want aac 48000 Hz stereo", s)
			}
		}
	}
	if !sawVideo || !sawAudio {
		t.Fatalf("streams %+v", probe.Streams)
	}

	// Pictures: where the layout engine puts each user, their colour.
	windows := func(mode int, main string, us ...string) []mixlayout.Window {
		var ms []mixlayout.Member
		for _, u := range us {
			ms = append(ms, mixlayout.Member{UserId: u, Video: true, Audio: true})
		}
		return mixlayout.Compute(mixlayout.Params{Mode: mode, Width: W, Height: H, Members: ms, MainUser: main, RenderMode: mixlayout.Crop})
	}
	check := func(at float64, ws []mixlayout.Window) []byte {
		t.Helper()
		frame := frameAt(t, file, at, W, H)
		for i, w := range ws {
			// A point of the window clear of the picture's text (centred) and of the
			// windows drawn over it.
			x, y := w.X+w.W/2, w.Y+w.H/6
			for _, over := range ws[i+1:] {
				if x >= over.X && x < over.X+over.W && y >= over.Y && y < over.Y+over.H {
					t.Fatalf("sample point of %s under %s", w.UserId, over.UserId)
				}
			}
			if got, want := pixel(frame, W, x, y), synth.UserColor(w.UserId); !nearColour(got, want, 16) {
				t.Errorf("at %.0f s, %s's window (%d,%d %dx%d) shows %v at (%d,%d), want %v", at, w.UserId, w.X, w.Y, w.W, w.H, got, x, y, want)
			}
		}
		return frame
	}
	grid := check(8, windows(mixlayout.Grid, "", users...))
	check(18, windows(mixlayout.Floating, "bob", users...))
	check(28, windows(mixlayout.Floating, "bob", "bob", "carol"))
	// The watermark: red over its rectangle, the user's picture just outside it.
	red := color.RGBA{0xff, 0, 0, 0xff}
	for _, pt := range [][2]int{{12, 12}, {50, 30}, {88, 48}} {
		if got := pixel(grid, W, pt[0], pt[1]); !nearColour(got, red, 24) {
			t.Errorf("watermark at (%d,%d): %v, want red", pt[0], pt[1], got)
		}
	}
	if got := pixel(grid, W, 100, 30); nearColour(got, red, 60) {
		t.Errorf("red outside the watermark at (100,30): %v", got)
	}

	// Audio: each present anchor's tone, alice's gone after she left.
	pcm := pcmOf(t, file)
	span := func(from, to float64) []int16 { return pcm[int(from*48000):min(int(to*48000), len(pcm))] }
	for _, u := range users {
		f := synth.UserTone(u)
		if lvl := testpeer.ToneLevel(span(2, 9), 48000, f); lvl < 0.06 || lvl > 0.14 {
			t.Errorf("%s's tone (%.0f Hz) at %.3f with three anchors, want about 0.1", u, f, lvl)
		}
		lvl := testpeer.ToneLevel(span(22, 29), 48000, f)
		if u != "bob" && lvl > 0.01 {
			t.Errorf("alice left and carol's audio was unsubscribed at 20 s; %s's tone is at %.3f after", u, lvl)
		}
		if u == "bob" && (lvl < 0.06 || lvl > 0.14) {
			t.Errorf("%s's tone at %.3f after alice left, want about 0.1", u, lvl)
		}
	}
	t.Logf("mixed recording: %d segments, %.1f s of MP4", ts, probe.Seconds())
}
