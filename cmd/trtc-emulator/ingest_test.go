package main

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// ingestSources makes the test's sources with Debian's ffmpeg in dir: 4 s of 320x240
// H.264 baseline at 15 fps with 48 kHz AAC as FLV, MP4, MPEG-TS and a VOD HLS playlist
// (1 s segments), and 3 s of an MP3 tone.
func ingestSources(t *testing.T, dir string) {
	t.Helper()
	ffmpeg := testpeer.FFmpeg(t)
	av := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-f", "lavfi",
		"-i", "sine=frequency=440:sample_rate=48000", "-t", "4", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"}
	for _, out := range [][]string{
		append(slices.Clone(av), filepath.Join(dir, "src.flv")),
		append(slices.Clone(av), "-movflags", "+faststart", filepath.Join(dir, "src.mp4")),
		append(slices.Clone(av), filepath.Join(dir, "src.ts")),
		append(slices.Clone(av), "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", filepath.Join(dir, "src.m3u8")),
		{"-v", "error", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=3", "-c:a", "libmp3lame", "-b:a", "128k",
			filepath.Join(dir, "src.mp3")},
	} {
		if b, err := exec.Command(ffmpeg, out...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", out, err, b)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not media at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ingestRoom is what GET /_emulator/v1/rooms says of a room's ingest anchor: its source and
// streams, "" when it is not in the room.
func ingestRoom(t testing.TB, addr, room, user string) string {
	var v rtmpRoomView
	control(t, "GET", "http://"+addr+"/_emulator/v1/rooms", nil, &v)
	for _, r := range v.Rooms {
		for _, m := range r.Members {
			if r.RoomId != room || m.UserId != user {
				continue
			}
			s := fmt.Sprintf("%s %v %v", m.Source, m.Publish.Video, m.Publish.Audio)
			for _, st := range m.Streams {
				s += fmt.Sprintf(" %s:%s:%dx%d:%d/%d", st.Track, st.Codec, st.Width, st.Height, st.SampleRate, st.Channels)
			}
			return s
		}
	}
	return ""
}

// TestStreamIngest: StartStreamIngest through the official SDK pulls an FLV, an MP4 (over
// https, its certificate trusted through TRTC_EMULATOR_CA_FILE), an MPEG-TS, an MP3 and a
// VOD HLS playlist, all made by ffmpeg and served by the test, into string rooms on the
// virtual clock: each task's anchor is a member of its room with the source's streams
// (MP3 as AAC), Describe says InProgress, and once the source has played (4 s of virtual
// time), 702 comes, the anchor has left and Describe says NotExist. 701 Status 0 comes
// first for each. The FLV's room is recorded: ffprobe reads the anchor's 4 s of 320x240
// H.264 and AAC, the pushed pictures unchanged. A URL nobody serves gives 701 Status 2
// three times (at once, then 1 s and 3 s after the first failure) and then Status 1; a
// file that is no media fails at once (Status 1).
func TestStreamIngest(t *testing.T) {
	testpeer.FFprobe(t)
	dir := t.TempDir()
	ingestSources(t, dir)
	plain := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.FileServer(http.Dir(dir)))
	defer secure.Close()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + ln.Addr().String() + "/gone.flv"
	ln.Close()

	rcv := startReceiver(t, "ingestKey")
	vstart := time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=ingestKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_CA_FILE=" + caFile,
		"TRTC_EMULATOR_CLOCK_START=" + vstart.Format(time.RFC3339)})
	sig := func(user string) string {
		s, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: user, Expire: 24 * time.Hour, Now: vstart})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	startIngest := func(room, user, url string) string {
		t.Helper()
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartStreamIngest", map[string]any{
			"SdkAppId": defaultSdkAppId, "RoomId": room, "RoomIdType": 0, "UserId": user, "UserSig": sig(user), "StreamUrl": url})
		if err != nil {
			t.Fatalf("StartStreamIngest %s: %v", url, err)
		}
		return resp["TaskId"].(string)
	}
	describe := func(taskId string) string {
		t.Helper()
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeStreamIngest",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
		if err != nil {
			t.Fatalf("DescribeStreamIngest: %v", err)
		}
		return resp["Status"].(string)
	}
	statuses := func(taskId string, eventType int) []int {
		var out []int
		for _, e := range rcv.of(taskId, eventType) {
			if e.EventInfo.Status == nil || e.CallbackMsTs == 0 {
				t.Fatalf("a %d without Status or CallbackMsTs: %+v", eventType, e)
			}
			out = append(out, *e.EventInfo.Status)
		}
		return out
	}

	// The FLV's room is recorded from before the anchor comes.
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	params := recordingParams("ing_flv", "rec_ing", sig("rec_ing"), storage, map[string]any{"RecordMode": 1, "MaxIdleTime": 300})
	params["RoomIdType"] = 0
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	recording := resp["TaskId"].(string)

	const video, aac48 = " main-video:H264:320x240:0/0", " audio:AAC:0x0:48000/1"
	sources := []struct {
		room, url, streams string
		ms                 int64 // the source's length
	}{
		{"ing_flv", plain.URL + "/src.flv", "ingest true true" + video + aac48, 4000},
		{"ing_mp4", secure.URL + "/src.mp4", "ingest true true" + video + aac48, 4000},
		{"ing_ts", plain.URL + "/src.ts", "ingest true true" + video + aac48, 4000},
		{"ing_hls", plain.URL + "/src.m3u8", "ingest true true" + video + aac48, 4000},
		{"ing_mp3", plain.URL + "/src.mp3", "ingest false true audio:AAC:0x0:44100/1", 3000},
	}
	tasks := map[string]string{}
	for _, s := range sources {
		tasks[s.room] = startIngest(s.room, "puller", s.url)
	}
	for _, s := range sources {
		waitFor(t, s.room+"'s anchor", 15*time.Second, func() bool { return ingestRoom(t, p.addr, s.room, "puller") != "" })
		if got := ingestRoom(t, p.addr, s.room, "puller"); got != s.streams {
			t.Fatalf("%s's anchor: %q, want %q", s.room, got, s.streams)
		}
		if st := describe(tasks[s.room]); st != "InProgress" {
			t.Fatalf("%s: Describe %q while it plays", s.room, st)
		}
	}
	looping, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartStreamIngest", map[string]any{
		"SdkAppId": defaultSdkAppId, "RoomId": "ing_loop", "RoomIdType": 0, "UserId": "puller", "UserSig": sig("puller"),
		"StreamUrl": plain.URL + "/src.ts", "RepeatNum": -1, "MaxDuration": 60})
	if err != nil {
		t.Fatal(err)
	}
	loop := looping["TaskId"].(string)
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartStreamIngest", map[string]any{
		"SdkAppId": defaultSdkAppId, "RoomId": "ing_bad", "RoomIdType": 0, "UserId": "puller", "UserSig": sig("puller"),
		"StreamUrl": plain.URL + "/src.ts", "RepeatNum": 0}); codeOf(err) != "InvalidParameter.OutOfRange" {
		t.Fatalf("RepeatNum 0: %v", err)
	}
	broken := startIngest("ing_broken", "puller", nobody)
	notMedia := startIngest("ing_text", "puller", plain.URL+"/notes.txt")

	// 4 s of media play in 4 s of virtual time; the sources end, the tasks stop.
	advanceUntil(t, p.addr, "702 of every source", time.Second, 20*time.Second, func() bool {
		for _, s := range sources {
			if len(rcv.of(tasks[s.room], 702)) == 0 {
				return false
			}
		}
		return true
	})
	if at := advance(t, p.addr, 0); at.Sub(vstart) < 4*time.Second {
		t.Fatalf("the sources ended after %v of virtual time, before their 4 s", at.Sub(vstart))
	}
	for _, s := range sources {
		id := tasks[s.room]
		if got := statuses(id, 701); !slices.Equal(got, []int{0}) {
			t.Fatalf("%s: 701 Status %v, want [0]", s.room, got)
		}
		if got := statuses(id, 702); !slices.Equal(got, []int{0}) {
			t.Fatalf("%s: 702 Status %v, want [0]", s.room, got)
		}
		if e701, e702 := rcv.of(id, 701)[0], rcv.of(id, 702)[0]; e702.EventInfo.EventMsTs-e701.EventInfo.EventMsTs < s.ms-100 {
			t.Fatalf("%s: 702 came %d ms after 701: the %d ms source did not play in real (virtual) time", s.room,
				e702.EventInfo.EventMsTs-e701.EventInfo.EventMsTs, s.ms)
		}
		if st := describe(id); st != "NotExist" {
			t.Fatalf("%s: Describe %q after its end", s.room, st)
		}
		if got := ingestRoom(t, p.addr, s.room, "puller"); got != "" {
			t.Fatalf("%s: the anchor is still in the room after the end: %s", s.room, got)
		}
	}

	// The looping task plays on past its source's end; Update pauses it; Stop ends it.
	if got := ingestRoom(t, p.addr, "ing_loop", "puller"); got == "" || len(rcv.of(loop, 702)) != 0 {
		t.Fatalf("the looping task after its source's end: anchor %q, %d 702s", got, len(rcv.of(loop, 702)))
	}
	if resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "UpdateStreamIngest",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": loop, "IsPause": true, "Volume": 50}); err != nil || resp["Status"] != "InProgress" {
		t.Fatalf("UpdateStreamIngest: %v %v", resp, err)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StopStreamIngest",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": loop}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the looping task's 702", 10*time.Second, func() bool { return len(rcv.of(loop, 702)) == 1 })
	if st := describe(loop); st != "NotExist" {
		t.Fatalf("a stopped task: Describe %q", st)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StopStreamIngest",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": loop}); codeOf(err) != "FailedOperation.TaskNotExist" {
		t.Fatalf("a second Stop: %v", err)
	}
	if resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "UpdateStreamIngest",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": loop, "IsPause": false}); err != nil || resp["Status"] != "NotExist" {
		t.Fatalf("UpdateStreamIngest of a stopped task: %v %v", resp, err)
	}
	if got := ingestRoom(t, p.addr, "ing_loop", "puller"); got != "" {
		t.Fatalf("the stopped task's anchor is still in the room: %s", got)
	}

	// Retries on the virtual clock: at once, after 1 s and 3 s, then the failure.
	advanceUntil(t, p.addr, "the broken URL's final 701", time.Second, 10*time.Second, func() bool {
		return slices.Contains(statuses(broken, 701), 1)
	})
	if got := statuses(broken, 701); !slices.Equal(got, []int{2, 2, 2, 1}) {
		t.Fatalf("the broken URL: 701 Status %v, want [2 2 2 1]", got)
	}
	var offsets []int64
	for _, e := range rcv.of(broken, 701) {
		offsets = append(offsets, e.EventInfo.EventMsTs-rcv.of(broken, 701)[0].EventInfo.EventMsTs)
	}
	if !slices.Equal(offsets, []int64{0, 0, 1000, 3000}) {
		t.Fatalf("the broken URL's 701s came at %v ms, want 0, 0, 1000, 3000", offsets)
	}
	if got := statuses(notMedia, 701); !slices.Equal(got, []int{1}) {
		t.Fatalf("a text file: 701 Status %v, want [1] (not retried)", got)
	}
	for _, id := range []string{broken, notMedia} {
		if st := describe(id); st != "NotExist" {
			t.Fatalf("a failed task: Describe %q", st)
		}
		if n := len(rcv.of(id, 702)); n != 0 {
			t.Fatalf("a task that never started sent %d 702s", n)
		}
	}

	// The recording of the FLV's room holds the anchor's media, remuxed.
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": recording}); err != nil {
		t.Fatal(err)
	}
	// The uploads take real time (HTTP to the embedded store): the clock moves a second at
	// a time while they go.
	waitFor(t, "305", 30*time.Second, func() bool {
		advance(t, p.addr, time.Second)
		return len(rcv.of(recording, 305)) == 1
	})
	out := t.TempDir()
	download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, recording+"/", out)
	prefix := fmt.Sprintf("1400000001_%s__UserId_s_%s__UserId_e_main_", encodeForTest("ing_flv"), encodeForTest("puller"))
	v := testpeer.ProbeFile(t, filepath.Join(out, prefix+"video.m3u8"))
	if len(v.Streams) != 1 || v.Streams[0].CodecName != "h264" || v.Streams[0].Width != 320 || v.Streams[0].Height != 240 ||
		v.Seconds() < 3.5 || v.Seconds() > 4.5 {
		t.Fatalf("the ingested video recorded: %+v, %.2f s; want 320x240 H.264, 4 s", v.Streams, v.Seconds())
	}
	a := testpeer.ProbeFile(t, filepath.Join(out, prefix+"audio.m3u8"))
	if len(a.Streams) != 1 || a.Streams[0].CodecName != "aac" || a.Streams[0].SampleRate != "48000" || a.Seconds() < 3.5 {
		t.Fatalf("the ingested audio recorded: %+v, %.2f s", a.Streams, a.Seconds())
	}
	src, got := packetSizes(t, filepath.Join(dir, "src.flv")), packetSizes(t, filepath.Join(out, prefix+"video.m3u8"))
	if !remuxOf(src, got) || len(got) < len(src)*9/10 {
		t.Fatalf("recorded packets %v are not the source's %v", got, src)
	}
	if strings.Contains(p.stderr.String(), "panic") {
		t.Fatalf("the emulator panicked:\n%s", p.stderr.String())
	}
	p.stop(t)
}
