package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestMP4TrackChangesKeepOneFile: a user who stops and resumes video, then audio, then
// switches from video only to audio only, is recorded in one MP4 file (OutputFormat 3):
// each track has its frames of the times it was on (no audio lost when the video comes
// back), both tracks span the file, and 310's TrackType is audio_video. A user who
// publishes audio only gets a file with an audio track only and TrackType audio.
func TestMP4TrackChangesKeepOneFile(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	ctx := context.Background()
	rig := newRecorderRig(t)
	rig.enter(t, "14", "alice", models.Publish{Audio: true, Video: true})
	rig.enter(t, "14", "bob", models.Publish{Audio: true})
	task := rig.create(t, "14", models.RecordingSpec{OutputFormat: formatMP4})
	set := func(audio, video bool) {
		t.Helper()
		id := models.Identity{SdkAppId: recApp, RoomId: "14", RoomIdType: models.RoomIdInt, UserId: "alice"}
		if _, err := rig.store.Update(ctx, models.UpdateParams{Identity: id, Publish: &models.PublishPatch{Audio: &audio, Video: &video}}); err != nil {
			t.Fatal(err)
		}
	}
	rig.run(10 * time.Second) // audio and video
	set(true, false)
	rig.run(10 * time.Second) // audio only
	set(true, true)
	rig.run(10 * time.Second) // video is back
	set(false, true)
	rig.run(10 * time.Second) // video only
	set(true, false)
	rig.run(10 * time.Second) // audio only, straight from video only
	set(true, true)
	rig.run(10 * time.Second)
	rig.finish(t, task)

	dir := t.TempDir()
	keys := rig.fetch(t, task.TaskId+"/", dir)
	alice, bob := "1400000001_14__UserId_s_YWxpY2U.__UserId_e_main_1.mp4", "1400000001_14__UserId_s_Ym9i__UserId_e_main_1.mp4"
	if want := []string{alice, bob}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("objects %v, want %v: a track change within a stream keeps its MP4 file", keys, want)
	}

	p := testpeer.ProbeFile(t, filepath.Join(dir, alice))
	d := p.Seconds()
	if len(p.Streams) != 2 || d < 59.5 {
		t.Fatalf("%s: %d streams, %.2f s: %+v", alice, len(p.Streams), d, p)
	}
	for _, s := range p.Streams {
		if sd, _ := strconv.ParseFloat(s.Duration, 64); sd < d-0.2 {
			t.Errorf("%s track lasts %.2f s of %.2f: it spans the file, gaps included", s.CodecType, sd, d)
		}
	}
	// Where each track is off: audio from 30 to 40 s, video from 10 to 20 and 40 to 50 s. A
	// frame is 21 ms of audio, 67 ms of video; waiting for the keyframe when the video comes
	// back would cut the audio at 20 s.
	for _, c := range []struct {
		stream string
		frame  float64
		off    []float64
	}{{"a", 1024.0 / 48000, []float64{30}}, {"v", 1.0 / 15, []float64{10, 40}}} {
		pts := packetTimes(t, filepath.Join(dir, alice), c.stream)
		var gaps []float64
		for i := 1; i < len(pts); i++ {
			if pts[i]-pts[i-1] > 1.5*c.frame {
				gaps = append(gaps, pts[i-1], pts[i])
			}
		}
		if len(gaps) != 2*len(c.off) || pts[0] > 0.6 || pts[len(pts)-1] < d-0.6 {
			t.Fatalf("stream %s: gaps (from, to) %v, from %.2f to %.2f s; want gaps at %v of 10 s", c.stream, gaps, pts[0], pts[len(pts)-1], c.off)
		}
		t.Logf("stream %s: %d packets from %.3f to %.3f s, gaps (from, to) %v", c.stream, len(pts), pts[0], pts[len(pts)-1], gaps)
		for i, at := range c.off {
			from, to := gaps[2*i], gaps[2*i+1]
			// Each edge is seen at the recorder's next pass (a 500 ms tick) plus a frame.
			if math.Abs(from-at) > 0.6 || math.Abs(to-from-10) > 1.2 {
				t.Errorf("stream %s: a gap from %.2f to %.2f s, want from %.0f s for 10 s", c.stream, from, to, at)
			}
		}
	}

	p = testpeer.ProbeFile(t, filepath.Join(dir, bob))
	if len(p.Streams) != 1 || p.Streams[0].CodecType != "audio" || p.Seconds() < 59.5 {
		t.Fatalf("%s (audio only): %+v", bob, p)
	}

	trackType := map[string]string{}
	events, _ := rig.store.Callbacks(ctx, models.CallbackQuery{TaskId: task.TaskId})
	for _, e := range events {
		if e.EventType != models.EventMP4Stop {
			continue
		}
		var body struct {
			EventInfo struct {
				Payload struct {
					FileMessage []struct{ FileName, TrackType string }
				}
			}
		}
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, m := range body.EventInfo.Payload.FileMessage {
			trackType[m.FileName] = m.TrackType
		}
	}
	if want := map[string]string{alice: "audio_video", bob: "audio"}; fmt.Sprint(trackType) != fmt.Sprint(want) {
		t.Fatalf("310 TrackType %v, want %v", trackType, want)
	}
}

// packetTimes returns the presentation times (s) of a file's packets of stream "a" or "v".
func packetTimes(t *testing.T, file, stream string) []float64 {
	t.Helper()
	out, err := exec.Command(testpeer.FFprobe(t), "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err != nil {
			t.Fatalf("ffprobe packet time %q: %v", l, err)
		}
		pts = append(pts, v)
	}
	sort.Float64s(pts)
	if len(pts) == 0 {
		t.Fatalf("%s: no packets of stream %s", file, stream)
	}
	return pts
}
