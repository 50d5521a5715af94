package hls_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/hls"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts/mpegtstest"
)

// A stream recorded in two runs (the user left and came back: a new encoder, timestamps from
// the start again) into one playlist, judged by grafov/m3u8, ffmpeg and ffprobe through the
// files in the sink directory.
func TestResumedRecordingJudgedByFFprobe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: encodes reference inputs with ffmpeg")
	}
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	dir := t.TempDir()
	var inputs []*mpegtstest.Input
	for i, o := range []mpegtstest.Options{
		{Video: true, Audio: true, GOP: 15, Seconds: 5, Offset: time.Second},
		{Video: true, Audio: true, GOP: 15, Seconds: 4, Offset: time.Second},
	} {
		d := filepath.Join(dir, "in"+strconv.Itoa(i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := mpegtstest.Generate(ffmpeg, ffprobe, d, o)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	const playlist = "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video.m3u8"
	start := time.Date(2033, 5, 31, 9, 45, 51, 825_000_000, time.UTC)
	cfg := hls.Config{
		Sink: dirSink(out), PlaylistName: playlist,
		SegmentName: func(i int, at time.Time) string {
			return strings.TrimSuffix(playlist, ".m3u8") + "_" + strings.Replace(at.UTC().Format("20060102150405.000"), ".", "", 1) + ".ts"
		},
		TargetDuration: 2 * time.Second, Video: true, Audio: true,
		Width: inputs[0].Width, Height: inputs[0].Height, StartTime: start,
	}
	var stored []byte // the job's database
	var runs []int    // segments of each run
	for run, in := range inputs {
		if run > 0 {
			cfg.StartTime, cfg.RecordingStart = start.Add(time.Duration(run)*time.Minute), start
			if err := json.Unmarshal(stored, &cfg.Resume); err != nil {
				t.Fatal(err)
			}
		}
		seg, err := hls.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range in.Units {
			if u.Video {
				err = seg.WriteVideo(u.PTS, u.DTS, u.Key, u.Data)
			} else {
				err = seg.WriteAudio(u.PTS, u.Data)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if run < len(inputs)-1 {
			err = seg.Suspend()
		} else {
			err = seg.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		segments := seg.Segments()
		runs = append(runs, len(segments)-len(cfg.Resume))
		if stored, err = json.Marshal(segments); err != nil {
			t.Fatal(err)
		}
		if text, _ := os.ReadFile(filepath.Join(out, playlist)); strings.Contains(string(text), "#EXT-X-ENDLIST") != (run == len(inputs)-1) {
			t.Errorf("run %d left:\n%s", run, text)
		}
	}
	var segments []hls.Segment
	if err := json.Unmarshal(stored, &segments); err != nil {
		t.Fatal(err)
	}
	if runs[0] < 2 || runs[1] < 2 {
		t.Fatalf("segments per run: %v", runs)
	}
	names := map[string]bool{}
	for i, s := range segments {
		if s.Index != i || names[s.Name] || s.Discontinuity != (i == runs[0]) {
			t.Errorf("segment %d: %+v", i, s)
		}
		names[s.Name] = true
	}

	path := filepath.Join(out, playlist)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(text), "#EXT-X-DISCONTINUITY"); n != 1 {
		t.Errorf("%d discontinuity tags:\n%s", n, text)
	}
	p, listType, err := m3u8.DecodeWith(bytes.NewBuffer(text), true, []m3u8.CustomDecoder{
		trtcTag{name: "#EXT-X-TRTC-START-REC-TIME"}, trtcTag{name: "#EXT-X-TRTC-VIDEO-METADATA"},
	})
	if err != nil || listType != m3u8.MEDIA {
		t.Fatalf("m3u8: %v (type %v)", err, listType)
	}
	media := p.(*m3u8.MediaPlaylist)
	if !media.Closed || media.Count() != uint(len(segments)) {
		t.Fatalf("m3u8: closed %v, %d segments (want %d)", media.Closed, media.Count(), len(segments))
	}
	if got := media.Custom["#EXT-X-TRTC-START-REC-TIME"]; got == nil || got.(trtcTag).value != strconv.FormatInt(start.UnixMilli(), 10) {
		t.Errorf("m3u8: START-REC-TIME %v, want the first run's start", got)
	}
	var total float64
	for i, s := range media.Segments[:media.Count()] {
		total += s.Duration
		if s.URI != segments[i].Name || s.Discontinuity != (i == runs[0]) {
			t.Errorf("m3u8 segment %d: %s, discontinuity %v", i, s.URI, s.Discontinuity)
		}
	}

	// ffmpeg's HLS demuxer decodes the whole playlist, across the discontinuity, silently.
	if msg, err := mpegtstest.DecodeErrors(ffmpeg, path); err != nil || msg != "" {
		t.Errorf("playlist: ffmpeg -v error: %v\n%s", err, msg)
	}
	probe, err := mpegtstest.Probe(ffprobe, path)
	if err != nil {
		t.Fatal(err)
	}
	span := inputs[0].Span() + inputs[1].Span()
	if got, want := len(probe.PacketsOf("video")), inputs[0].VideoFrames+inputs[1].VideoFrames; got != want {
		t.Errorf("playlist: %d video packets, inputs %d", got, want)
	}
	if got, want := len(probe.PacketsOf("audio")), inputs[0].AudioFrames+inputs[1].AudioFrames; got != want {
		t.Errorf("playlist: %d audio packets, inputs %d", got, want)
	}
	frame := inputs[0].FrameLen + time.Millisecond
	if d := probe.Duration() - span; d > 2*frame || d < -2*frame {
		t.Errorf("playlist: ffprobe duration %v, the runs span %v", probe.Duration(), span)
	}
	if d := time.Duration(total*float64(time.Second)) - span; d > 2*frame || d < -2*frame {
		t.Errorf("EXTINF total %.3f s, the runs span %v", total, span)
	}
	t.Logf("runs of %v segments, EXTINF total %.3f s, ffprobe %v, inputs %v:\n%s", runs, total, probe.Duration(), span, text)
}
