package hls_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
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

// dirSink writes files into a directory.
type dirSink string

func (d dirSink) Create(name string) (io.WriteCloser, error) {
	return os.Create(filepath.Join(string(d), name))
}

// trtcTag reads a #EXT-X-TRTC-… line for grafov/m3u8, which keeps unknown tags it has a
// decoder for in Playlist.Custom.
type trtcTag struct{ name, value string }

func (t trtcTag) TagName() string { return t.name }
func (t trtcTag) Decode(line string) (m3u8.CustomTag, error) {
	return trtcTag{t.name, strings.TrimPrefix(line, t.name+":")}, nil
}
func (t trtcTag) SegmentTag() bool      { return false }
func (t trtcTag) Encode() *bytes.Buffer { return bytes.NewBufferString(t.name + ":" + t.value) }
func (t trtcTag) String() string        { return t.name + ":" + t.value }

// A recording cut by the segmenter, judged by grafov/m3u8, ffprobe and ffmpeg: the playlist
// parses strictly with the TRTC tags and values, every segment but the last reaches the
// target, starts with a keyframe and decodes on its own; the playlist as a whole has the
// input's packets and duration.
func TestSegmentsJudgedByFFprobe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: encodes reference inputs with ffmpeg")
	}
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	start := time.Date(2033, 5, 31, 9, 45, 51, 825_000_000, time.UTC)
	for _, tc := range []struct {
		name   string
		opts   mpegtstest.Options
		target time.Duration
	}{
		{"video+audio, keyframe each second", mpegtstest.Options{Video: true, Audio: true, GOP: 15, Seconds: 9}, 2 * time.Second},
		{"video+audio, B-frames, keyframes every 1.4 s", mpegtstest.Options{Video: true, Audio: true, GOP: 21, BFrames: 2, Seconds: 10, Channels: 2}, 2 * time.Second},
		{"video only", mpegtstest.Options{Video: true, GOP: 30, Seconds: 7, Width: 640, Height: 360, FPS: 30}, 2 * time.Second},
		{"audio only", mpegtstest.Options{Audio: true, Seconds: 7, SampleRate: 44100}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.opts.Offset = time.Second
			in, err := mpegtstest.Generate(ffmpeg, ffprobe, dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			kind := "video"
			if !tc.opts.Video {
				kind = "audio"
			}
			playlist := "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_" + kind + ".m3u8"
			seg, err := hls.New(hls.Config{
				Sink: dirSink(out), PlaylistName: playlist,
				SegmentName: func(i int, at time.Time) string {
					return strings.TrimSuffix(playlist, ".m3u8") + "_" + strings.Replace(at.UTC().Format("20060102150405.000"), ".", "", 1) + ".ts"
				},
				TargetDuration: tc.target, Video: tc.opts.Video, Audio: tc.opts.Audio,
				Width: in.Width, Height: in.Height, StartTime: start,
			})
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
			if err := seg.Close(); err != nil {
				t.Fatal(err)
			}
			segments := seg.Segments()
			if len(segments) < 3 {
				t.Fatalf("%d segments", len(segments))
			}
			path := filepath.Join(out, playlist)
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			// The header, line by line and in order, as the seed shows it.
			lines := strings.Split(string(text), "\n")
			header := []string{"#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-ALLOW-CACHE:NO", "#EXT-X-MEDIA-SEQUENCE:0",
				"#EXT-X-TARGETDURATION:", "#EXT-X-TRTC-START-REC-TIME:" + strconv.FormatInt(start.UnixMilli(), 10)}
			if tc.opts.Video {
				header = append(header, fmt.Sprintf("#EXT-X-TRTC-VIDEO-METADATA:WIDTH:%d HEIGHT:%d", in.Width, in.Height))
			}
			for i, h := range header {
				if !strings.HasPrefix(lines[i], h) || !strings.HasSuffix(h, ":") && lines[i] != h {
					t.Errorf("line %d: %q, want %q", i+1, lines[i], h)
				}
			}
			if !strings.HasSuffix(string(text), "#EXT-X-ENDLIST\n") {
				t.Error("no #EXT-X-ENDLIST at the end")
			}

			// grafov/m3u8, strict.
			p, listType, err := m3u8.DecodeWith(bytes.NewBuffer(text), true, []m3u8.CustomDecoder{
				trtcTag{name: "#EXT-X-TRTC-START-REC-TIME"}, trtcTag{name: "#EXT-X-TRTC-VIDEO-METADATA"},
			})
			if err != nil || listType != m3u8.MEDIA {
				t.Fatalf("m3u8: %v (type %v)", err, listType)
			}
			media := p.(*m3u8.MediaPlaylist)
			if !media.Closed || media.SeqNo != 0 || media.Count() != uint(len(segments)) {
				t.Errorf("m3u8: closed %v, sequence %d, %d segments (want %d)", media.Closed, media.SeqNo, media.Count(), len(segments))
			}
			if got := media.Custom["#EXT-X-TRTC-START-REC-TIME"]; got == nil || got.(trtcTag).value != strconv.FormatInt(start.UnixMilli(), 10) {
				t.Errorf("m3u8: START-REC-TIME %v", got)
			}
			if tc.opts.Video {
				if got := media.Custom["#EXT-X-TRTC-VIDEO-METADATA"]; got == nil || got.(trtcTag).value != fmt.Sprintf("WIDTH:%d HEIGHT:%d", in.Width, in.Height) {
					t.Errorf("m3u8: VIDEO-METADATA %v", got)
				}
			}
			var total float64
			for i, s := range media.Segments[:media.Count()] {
				total += s.Duration
				if s.URI != segments[i].Name {
					t.Errorf("segment %d: URI %s, want %s", i, s.URI, segments[i].Name)
				}
				if s.Duration > float64(media.TargetDuration)+0.5 {
					t.Errorf("segment %d: %.3f s over the target duration %v", i, s.Duration, media.TargetDuration)
				}
				if i < len(segments)-1 && s.Duration < tc.target.Seconds() {
					t.Errorf("segment %d: %.3f s, shorter than the %v target", i, s.Duration, tc.target)
				}
			}

			frame := in.FrameLen
			if !tc.opts.Video {
				frame = in.AudioFrameLen
			}
			frame += time.Millisecond // ffprobe prints microseconds
			// Units come in decoding order, so the audio that plays in the PTS−DTS gap before a
			// keyframe lands after it, in the keyframe's segment: a segment's own span can
			// exceed its EXTINF by that much (the playlist's total cannot).
			var reorder time.Duration
			for _, u := range in.Units {
				reorder = max(reorder, u.PTS-u.DTS)
			}
			// Each segment on its own: decodes silently, starts with a keyframe, lasts its EXTINF.
			for i, s := range segments {
				file := filepath.Join(out, s.Name)
				if msg, err := mpegtstest.DecodeErrors(ffmpeg, file); err != nil || msg != "" {
					t.Errorf("segment %d: ffmpeg -v error: %v\n%s", i, err, msg)
				}
				probe, err := mpegtstest.Probe(ffprobe, file)
				if err != nil {
					t.Fatal(err)
				}
				if v := probe.PacketsOf("video"); tc.opts.Video && (len(v) == 0 || !v[0].Key()) {
					t.Errorf("segment %d does not start with a keyframe", i)
				}
				if d := probe.Duration() - s.Duration; d > frame+reorder || d < -frame {
					t.Errorf("segment %d: ffprobe says %v, EXTINF %v", i, probe.Duration(), s.Duration)
				}
				if !s.Start.Equal(start.Add(s.PTS - segments[0].PTS)) {
					t.Errorf("segment %d starts at %v", i, s.Start)
				}
			}

			// The playlist as a whole, through ffmpeg's HLS demuxer.
			if msg, err := mpegtstest.DecodeErrors(ffmpeg, path); err != nil || msg != "" {
				t.Errorf("playlist: ffmpeg -v error: %v\n%s", err, msg)
			}
			probe, err := mpegtstest.Probe(ffprobe, path)
			if err != nil {
				t.Fatal(err)
			}
			if probe.Format.FormatName != "hls" {
				t.Errorf("format %q", probe.Format.FormatName)
			}
			if got := len(probe.PacketsOf("video")); got != in.VideoFrames {
				t.Errorf("playlist: %d video packets, input %d", got, in.VideoFrames)
			}
			if got := len(probe.PacketsOf("audio")); got != in.AudioFrames {
				t.Errorf("playlist: %d audio packets, input %d", got, in.AudioFrames)
			}
			if d := probe.Duration() - in.Span(); d > frame || d < -frame {
				t.Errorf("playlist: ffprobe duration %v, input spans %v", probe.Duration(), in.Span())
			}
			if d := time.Duration(total*float64(time.Second)) - in.Span(); d > frame || d < -frame {
				t.Errorf("EXTINF total %.3f s, input spans %v", total, in.Span())
			}
			t.Logf("%d segments, EXTINF total %.3f s, ffprobe %v, input %v:\n%s", len(segments), total, probe.Duration(), in.Span(), firstLines(text, 12))
		})
	}
}

func firstLines(b []byte, n int) string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < n {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}
