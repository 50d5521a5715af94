package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// rtmpRoomView is what GET /_emulator/v1/rooms says of a room's members.
type rtmpRoomView struct {
	Rooms []struct {
		RoomId  string
		Members []struct {
			UserId, Source string
			Publish        struct{ Video, Audio bool }
			Video          struct{ Width, Height, Fps int }
			Streams        []struct {
				Track, Codec                             string
				Width, Height, Fps, SampleRate, Channels int
			}
		}
	}
}

// pushURL is the RTMP push URL of a user into a string room.
func pushURL(t *testing.T, endpoint, room, user, sig string) string {
	t.Helper()
	q := url.Values{"sdkappid": {strconv.Itoa(defaultSdkAppId)}, "userid": {user}, "usersig": {sig}}
	return endpoint + "/" + room + "?" + q.Encode()
}

// packetSizes lists a file's video packets as ffprobe reads them: size, and K for a keyframe.
func packetSizes(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command(testpeer.FFprobe(t), "-v", "error", "-select_streams", "v", "-show_entries", "packet=size,flags",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe packets of %s: %v", file, err)
	}
	return strings.Fields(string(out))
}

// TestRTMPPushRecorded: Debian's ffmpeg pushes an H.264 baseline + AAC FLV over RTMP, two
// publishers into one room at once; each is an anchor of the room (its picture from the
// SPS) while it pushes and leaves when it stops. A single-stream recording of the room
// holds their media remuxed: the codec, size and duration ffprobe reads are the pushed
// ones, and the video packets are the pushed packets (the same sizes, in order; keyframes
// get the SPS and PPS in front, as MPEG-TS needs). A wrong UserSig is refused and never a
// member; a stream with B-frames is disconnected and nothing of it is recorded.
func TestRTMPPushRecorded(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	testpeer.FFprobe(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.flv")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-f", "lavfi",
		"-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-profile:v", "baseline", "-g", "15",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", src).CombinedOutput(); err != nil {
		t.Fatalf("make the source: %v\n%s", err, out)
	}
	bframes := filepath.Join(dir, "bframes.flv")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "6",
		"-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-pix_fmt", "yuv420p", bframes).CombinedOutput(); err != nil {
		t.Fatalf("make the B-frame source: %v\n%s", err, out)
	}

	rcv := startReceiver(t, "rtmpKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=rtmpKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"})
	base := "http://" + p.addr + "/_emulator/v1"
	var info struct{ Endpoints map[string]string }
	control(t, "GET", base+"/info", nil, &info)
	endpoint := info.Endpoints["Rtmp"]
	if !strings.HasPrefix(endpoint, "rtmp://127.0.0.1:") || !strings.HasSuffix(endpoint, "/push") {
		t.Fatalf("info announces RTMP at %q", endpoint)
	}
	sig := func(user string) string {
		s, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: user, Expire: time.Hour, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const room = "rtmp_room"
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	params := recordingParams(room, "rec_rtmp", robotSig(t, "rec_rtmp"), storage, map[string]any{"RecordMode": 1, "MaxIdleTime": 300})
	params["RoomIdType"] = 0
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	members := func() map[string]string { // user → "source WxH video audio"
		var v rtmpRoomView
		control(t, "GET", base+"/rooms", nil, &v)
		out := map[string]string{}
		for _, r := range v.Rooms {
			for _, m := range r.Members {
				if r.RoomId == room {
					out[m.UserId] = fmt.Sprintf("%s %dx%d %v %v", m.Source, m.Video.Width, m.Video.Height, m.Publish.Video, m.Publish.Audio)
					for _, st := range m.Streams {
						out[m.UserId] += fmt.Sprintf(" %s:%s:%dx%d@%d:%d/%d", st.Track, st.Codec, st.Width, st.Height, st.Fps, st.SampleRate, st.Channels)
					}
				}
			}
		}
		return out
	}

	// A wrong UserSig is refused at the publish: ffmpeg fails, no member.
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", src, "-c", "copy", "-f", "flv",
		pushURL(t, endpoint, room, "intruder", "not-a-usersig")).CombinedOutput(); err == nil {
		t.Fatalf("a push with a wrong UserSig was taken:\n%s", out)
	}
	if _, in := members()["intruder"]; in {
		t.Fatal("a publisher with a wrong UserSig became a member")
	}

	// Two publishers at once, in real time.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, user := range []string{"obs_a", "obs_b"} {
		wg.Go(func() {
			out, err := exec.CommandContext(context.Background(), ffmpeg, "-v", "error", "-re", "-i", src, "-c", "copy", "-f", "flv",
				pushURL(t, endpoint, room, user, sig(user))).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", user, err, out)
			}
		})
	}
	waitFor(t, "both publishers in the room", 15*time.Second, func() bool {
		m := members()
		// The room shows each pusher's streams as it codes them.
		const want = "rtmp 320x240 true true main-video:H264:320x240@15:0/0 audio:AAC:0x0@0:48000/1"
		return m["obs_a"] == want && m["obs_b"] == want
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the publishers gone", 15*time.Second, func() bool {
		m := members()
		_, a := m["obs_a"]
		_, b := m["obs_b"]
		return !a && !b
	})

	// B-frames: disconnected at the first picture, never a publisher of the room.
	began := time.Now()
	out, err := exec.Command(ffmpeg, "-v", "error", "-re", "-i", bframes, "-c", "copy", "-f", "flv",
		pushURL(t, endpoint, room, "bframes", sig("bframes"))).CombinedOutput()
	if err == nil || time.Since(began) > 5*time.Second {
		t.Fatalf("a stream with B-frames was not disconnected (after %v): %v\n%s", time.Since(began), err, out)
	}

	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	for _, k := range keys {
		if strings.Contains(k, encodeForTest("bframes")) {
			t.Fatalf("%s: the B-frame stream was recorded", k)
		}
	}
	srcPackets := packetSizes(t, src)
	for _, user := range []string{"obs_a", "obs_b"} {
		prefix := fmt.Sprintf("1400000001_%s__UserId_s_%s__UserId_e_main_", encodeForTest(room), encodeForTest(user))
		video := testpeer.ProbeFile(t, filepath.Join(dir, prefix+"video.m3u8"))
		t.Logf("%s: %.2f s of video recorded of 6 s pushed", user, video.Seconds())
		if len(video.Streams) != 1 || video.Streams[0].CodecName != "h264" || video.Streams[0].Width != 320 ||
			video.Streams[0].Height != 240 || video.Seconds() < 5.5 || video.Seconds() > 6.5 {
			t.Fatalf("%s's video: %+v, %.2f s; want the pushed 320x240 H.264, all 6 s of it", user, video.Streams, video.Seconds())
		}
		audio := testpeer.ProbeFile(t, filepath.Join(dir, prefix+"audio.m3u8"))
		if len(audio.Streams) != 1 || audio.Streams[0].CodecName != "aac" || audio.Streams[0].SampleRate != "48000" {
			t.Fatalf("%s's audio: %+v", user, audio.Streams)
		}
		// Remuxed: the recorded pictures are pushed ones, the same sizes in order.
		got := packetSizes(t, filepath.Join(dir, prefix+"video.m3u8"))
		if !remuxOf(srcPackets, got) || len(got) < len(srcPackets)*9/10 {
			t.Fatalf("%s: recorded packets %v are not the pushed %v", user, got, srcPackets)
		}
	}
	p.stop(t)
}

// remuxOf reports whether recorded video packets (ffprobe's "size,flags") are a run of the
// source's: the same pictures in order, each larger by one fixed delimiter of MPEG-TS (the
// access unit delimiter, at most 8 bytes), a keyframe by the SPS and PPS put in front too.
func remuxOf(src, got []string) bool {
	size := func(p string) (int, bool) {
		s, flags, _ := strings.Cut(p, ",")
		n, _ := strconv.Atoi(s)
		return n, strings.Contains(flags, "K")
	}
	for off := 0; off+len(got) <= len(src); off++ {
		delim, ok := -1, true
		for i, p := range got {
			g, key := size(p)
			s, skey := size(src[off+i])
			switch {
			case key != skey:
				ok = false
			case !key && delim < 0:
				delim = g - s
				ok = delim >= 0 && delim <= 8
			case !key:
				ok = g-s == delim
			default:
				ok = g > s
			}
			if !ok {
				break
			}
		}
		if ok && delim >= 0 {
			return true
		}
	}
	return false
}

// TestRTMPPublisherRemoved: a publisher removed from its room through the API
// (RemoveUserByStrRoomId) is disconnected at once; its 104 (Reason 3) comes once, from the
// removal, and the room does not keep it. It created the room (101), entered (103) and
// published (201, 203).
func TestRTMPPublisherRemoved(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	src := filepath.Join(t.TempDir(), "src.flv")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi",
		"-i", "sine=sample_rate=44100", "-t", "20", "-c:v", "libx264", "-profile:v", "baseline", "-g", "10",
		"-pix_fmt", "yuv420p", "-c:a", "aac", src).CombinedOutput(); err != nil {
		t.Fatalf("make the source: %v\n%s", err, out)
	}
	rcv := startReceiver(t, "kickKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=kickKey"})
	base := "http://" + p.addr + "/_emulator/v1"
	var info struct{ Endpoints map[string]string }
	control(t, "GET", base+"/info", nil, &info)
	sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: "kicked", Expire: time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	pushed := make(chan error, 1)
	began := time.Now()
	go func() {
		out, err := exec.Command(ffmpeg, "-v", "error", "-re", "-i", src, "-c", "copy", "-f", "flv",
			pushURL(t, info.Endpoints["Rtmp"], "kick_room", "kicked", sig)).CombinedOutput()
		if err == nil {
			err = fmt.Errorf("ffmpeg pushed to its end:\n%s", out)
		} else {
			err = nil // disconnected, as wanted
		}
		pushed <- err
	}()
	var rooms rtmpRoomView
	waitFor(t, "the publisher in the room", 15*time.Second, func() bool {
		control(t, "GET", base+"/rooms", nil, &rooms)
		return len(rooms.Rooms) == 1 && len(rooms.Rooms[0].Members) == 1 && rooms.Rooms[0].Members[0].Publish.Video
	})
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "RemoveUserByStrRoomId",
		map[string]any{"SdkAppId": defaultSdkAppId, "RoomId": "kick_room", "UserIds": []string{"kicked"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-pushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the removed publisher was not disconnected")
	}
	if time.Since(began) > 18*time.Second {
		t.Fatalf("disconnected after %v: not at the removal", time.Since(began))
	}
	var log struct {
		Callbacks []struct {
			EventType int
			Body      struct {
				EventInfo struct {
					UserId string
					Reason int
				}
			}
		}
	}
	waitFor(t, "the 104", 10*time.Second, func() bool {
		control(t, "GET", fmt.Sprintf("%s/callbacks?SdkAppId=%d&EventGroupId=1", base, defaultSdkAppId), nil, &log)
		for _, c := range log.Callbacks {
			if c.EventType == 104 {
				return true
			}
		}
		return false
	})
	var types []string
	for _, c := range log.Callbacks {
		if c.Body.EventInfo.UserId == "kicked" {
			types = append(types, fmt.Sprintf("%d/%d", c.EventType, c.Body.EventInfo.Reason))
		}
	}
	var media struct{ Callbacks []struct{ EventType int } }
	control(t, "GET", fmt.Sprintf("%s/callbacks?SdkAppId=%d&EventGroupId=2", base, defaultSdkAppId), nil, &media)
	var mediaTypes []int
	for _, c := range media.Callbacks {
		mediaTypes = append(mediaTypes, c.EventType)
	}
	slices.Sort(mediaTypes)
	if slices.Sort(types); fmt.Sprint(types) != "[101/0 103/1 104/3]" || !slices.Contains(mediaTypes, 201) || !slices.Contains(mediaTypes, 203) {
		t.Fatalf("room events of the publisher %v, media events %v; want 101, 103, 104 Reason 3 once, 201 and 203", types, mediaTypes)
	}
	control(t, "GET", base+"/rooms", nil, &rooms)
	if len(rooms.Rooms) != 0 {
		t.Fatalf("rooms after the removal: %+v", rooms.Rooms)
	}
	p.stop(t)
}
