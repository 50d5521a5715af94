package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// The file demuxers (FLV, MPEG-TS, MP4/MOV/M4A) against files ffmpeg makes, read through
// Open from an HTTP server, judged by what ffprobe says the files hold.

// ffmpegSource is the picture and tone the test files are made of: 3 s, 320x240 at 15 fps,
// a keyframe each second, no B-frames.
var ffmpegSource = []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
	"-t", "3", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15", "-c:a", "aac"}

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
}

// ffmpeg makes dir/name with args (inputs and codecs).
func ffmpeg(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-nostdin", "-y"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", name, err, b)
	}
	return out
}

// probed is a packet as ffprobe reports it.
type probed struct {
	PTS  time.Duration
	Size int
	Key  bool
}

// ffprobePackets lists the packets of the file's first stream of kind ("v" or "a").
func ffprobePackets(t testing.TB, path, kind string) []probed {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", kind+":0", "-show_entries", "packet=pts_time,size,flags",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var out struct {
		Packets []struct {
			PTS   string `json:"pts_time"`
			Size  string `json:"size"`
			Flags string `json:"flags"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var ps []probed
	for _, p := range out.Packets {
		sec, _ := strconv.ParseFloat(p.PTS, 64)
		size, _ := strconv.Atoi(p.Size)
		ps = append(ps, probed{PTS: time.Duration(sec * float64(time.Second)), Size: size, Key: strings.HasPrefix(p.Flags, "K")})
	}
	return ps
}

// ffmpegNALUs are the H.264 NAL units of the file's video as ffmpeg copies them out into
// an Annex B stream, without parameter sets and access unit delimiters (which the
// conversion adds or drops).
func ffmpegNALUs(t testing.TB, path string) [][]byte {
	t.Helper()
	raw := ffmpeg(t, t.TempDir(), "video.h264", "-i", path, "-map", "0:v:0", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264")
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	var nalus [][]byte
	for _, n := range bytes.Split(b, []byte{0, 0, 1}) {
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			nalus = append(nalus, n)
		}
	}
	return withoutParamSets(nalus)
}

func withoutParamSets(nalus [][]byte) [][]byte {
	var out [][]byte
	for _, n := range nalus {
		switch n[0] & 0x1f {
		case 7, 8, 9:
		default:
			out = append(out, n)
		}
	}
	return out
}

// serve serves dir's files over HTTP on 127.0.0.1.
func serve(t testing.TB, dir string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}

// openServed opens name from srv through Open.
func openServed(t testing.TB, srv *httptest.Server, name string, opts Options) (Media, error) {
	t.Helper()
	opts.Client = srv.Client()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	return Open(context.Background(), srv.URL+"/"+name, opts)
}

// drain reads m to its end: the units, and what it ended with.
func drain(t testing.TB, m Media) ([]Packet, error) {
	t.Helper()
	var ps []Packet
	for range 1 << 20 {
		p, err := m.Next(context.Background())
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
	t.Fatal("the source does not end")
	return nil, nil
}

func split(ps []Packet) (video, audio []hub.Unit) {
	for _, p := range ps {
		switch p.Track {
		case hub.MainVideo:
			video = append(video, p.Unit)
		case hub.Audio:
			audio = append(audio, p.Unit)
		}
	}
	return video, audio
}

func near(a, b, tolerance time.Duration) bool { return a-b <= tolerance && b-a <= tolerance }

// TestDemuxFiles reads each container ffmpeg writes, as Open sniffs it from the HTTP body.
func TestDemuxFiles(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	files := []struct {
		name  string
		args  []string
		video bool
		avcc  bool // the packets ffprobe sizes are AVCC (4-byte lengths)
	}{
		{"a.flv", nil, true, true},
		{"a.mp4", nil, true, true},
		{"faststart.mp4", []string{"-movflags", "+faststart"}, true, true},
		{"fragmented.mp4", []string{"-movflags", "frag_keyframe+empty_moov"}, true, true},
		{"a.mov", nil, true, true},
		{"a.ts", nil, true, false},
		{"a.m4a", []string{"-vn"}, false, false},
	}
	for _, f := range files {
		ffmpeg(t, dir, f.name, append(append([]string(nil), ffmpegSource...), f.args...)...)
	}
	srv := serve(t, dir)
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			m, err := openServed(t, srv, f.name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Live() || m.SetVolume(50) {
				t.Error("a file source says it is live or applies the volume")
			}
			if a := m.Audio(); a == nil || a.Codec != hub.AAC || a.SampleRate != 44100 || a.Channels != 1 || len(a.AudioConfig) < 2 {
				t.Errorf("audio %+v", a)
			}
			v := m.Video()
			if !f.video {
				if v != nil {
					t.Errorf("video %+v in an audio-only file", v)
				}
			} else if v == nil || v.Codec != hub.H264 || v.Width != 320 || v.Height != 240 || v.FPS != 15 || len(v.SPS) == 0 || len(v.PPS) == 0 {
				t.Errorf("video %+v", v)
			}
			ps, err := drain(t, m)
			if err != io.EOF {
				t.Fatalf("ended with %v after %d units", err, len(ps))
			}
			if len(ps) == 0 || ps[0].Unit.DTS != 0 {
				t.Fatalf("%d units, the first at %v", len(ps), ps[0].Unit.DTS)
			}
			for i := 1; i < len(ps); i++ {
				if ps[i].Unit.DTS < ps[i-1].Unit.DTS {
					t.Fatalf("unit %d (%v at %v) before unit %d (%v at %v)", i, ps[i].Track, ps[i].Unit.DTS, i-1, ps[i-1].Track, ps[i-1].Unit.DTS)
				}
			}
			video, audio := split(ps)

			pa := ffprobePackets(t, path, "a")
			if len(audio) != len(pa) {
				t.Errorf("%d audio units, ffprobe says %d", len(audio), len(pa))
			}
			if last := audio[len(audio)-1].DTS; !near(last, 3*time.Second, 150*time.Millisecond) {
				t.Errorf("the last audio unit at %v", last)
			}
			for i, u := range audio {
				if !u.Key || len(u.Frame) == 0 || u.PTS != u.DTS {
					t.Fatalf("audio unit %d: %+v", i, u)
				}
				if i < len(pa) && len(u.Frame) != pa[i].Size && !strings.HasSuffix(f.name, ".ts") {
					t.Fatalf("audio unit %d is %d bytes, ffprobe says %d", i, len(u.Frame), pa[i].Size)
				}
			}
			if !f.video {
				return
			}

			pv := ffprobePackets(t, path, "v")
			if len(video) != len(pv) || len(video) != 45 {
				t.Fatalf("%d video units, ffprobe says %d", len(video), len(pv))
			}
			if !video[0].Key || video[0].DTS > 100*time.Millisecond {
				t.Errorf("the first video unit (at %v) is not a keyframe near 0", video[0].DTS)
			}
			for i, u := range video {
				if u.PTS != u.DTS {
					t.Fatalf("video unit %d: PTS %v DTS %v", i, u.PTS, u.DTS)
				}
				if u.Key != pv[i].Key {
					t.Errorf("video unit %d: key %v, ffprobe says %v", i, u.Key, pv[i].Key)
				}
				if want := pv[i].PTS - pv[0].PTS; !near(u.DTS-video[0].DTS, want, 2*time.Millisecond) {
					t.Errorf("video unit %d at %v, ffprobe says %v", i, u.DTS, want)
				}
				if f.avcc {
					size := 0
					for _, n := range u.NALUs {
						size += 4 + len(n)
					}
					if size != pv[i].Size {
						t.Errorf("video unit %d: %d bytes as AVCC, ffprobe says %d", i, size, pv[i].Size)
					}
				}
			}
			var got [][]byte
			for _, u := range video {
				got = append(got, u.NALUs...)
			}
			got = withoutParamSets(got)
			want := ffmpegNALUs(t, path)
			if len(got) != len(want) {
				t.Fatalf("%d NAL units, ffmpeg copies out %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("NAL unit %d (type %d, %d bytes) differs from ffmpeg's (type %d, %d bytes)",
						i, got[i][0]&0x1f, len(got[i]), want[i][0]&0x1f, len(want[i]))
				}
			}
		})
	}
}

// TestDemuxSeek starts each container 1 s (and 1.5 s) in: at the keyframe of 1 s (2 s),
// the times from 0.
func TestDemuxSeek(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	names := []string{"a.flv", "a.mp4", "fragmented.mp4", "a.ts", "a.m4a"}
	for _, n := range names {
		args := append([]string(nil), ffmpegSource...)
		switch n {
		case "fragmented.mp4":
			args = append(args, "-movflags", "frag_keyframe+empty_moov")
		case "a.m4a":
			args = append(args, "-vn")
		}
		ffmpeg(t, dir, n, args...)
	}
	srv := serve(t, dir)
	for _, n := range names {
		for _, seek := range []struct {
			at, key time.Duration // Seek, and the keyframe it lands on
		}{{time.Second, time.Second}, {1500 * time.Millisecond, 2 * time.Second}} {
			t.Run(n+"@"+seek.at.String(), func(t *testing.T) {
				m, err := openServed(t, srv, n, Options{Seek: seek.at})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				ps, err := drain(t, m)
				if err != io.EOF {
					t.Fatalf("ended with %v", err)
				}
				if len(ps) == 0 || ps[0].Unit.DTS != 0 {
					t.Fatalf("%d units", len(ps))
				}
				video, audio := split(ps)
				rest := 3*time.Second - seek.key
				if n == "a.m4a" {
					rest = 3*time.Second - seek.at
				}
				if last := audio[len(audio)-1].DTS; !near(last, rest, 150*time.Millisecond) {
					t.Errorf("the audio ends at %v, not near %v", last, rest)
				}
				if n == "a.m4a" {
					return
				}
				if ps[0].Track != hub.MainVideo || !ps[0].Unit.Key {
					t.Errorf("the first unit is %v key %v", ps[0].Track, ps[0].Unit.Key)
				}
				if want := int(15 * rest / time.Second); len(video) != want {
					t.Errorf("%d video units, not %d", len(video), want)
				}
				if last := video[len(video)-1].DTS; !near(last, rest-time.Second/15, 5*time.Millisecond) {
					t.Errorf("the video ends at %v", last)
				}
				// The first picture is the keyframe at seek.key.
				pv := ffprobePackets(t, filepath.Join(dir, n), "v")
				i := int(15 * seek.key / time.Second)
				if !pv[i].Key {
					t.Fatalf("ffprobe: packet %d is not a keyframe", i)
				}
				if n != "a.ts" {
					size := 0
					for _, nalu := range video[0].NALUs {
						size += 4 + len(nalu)
					}
					if size != pv[i].Size {
						t.Errorf("the first picture is %d bytes, the keyframe at %v %d", size, seek.key, pv[i].Size)
					}
				}
			})
		}
	}
}

// TestDemuxRefused: B-frames, and codecs other than H.264 and AAC, are ErrUnsupported.
func TestDemuxRefused(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	short := func(video []string, audio ...string) []string {
		args := []string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1"}
		return append(append(args, video...), audio...)
	}
	bframes := []string{"-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-g", "15"}
	h264 := []string{"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0"}
	cases := []struct {
		name string
		args []string
		says string
	}{
		{"bframes.flv", short(bframes, "-c:a", "aac"), "B-frames"},
		{"bframes.mp4", short(bframes, "-c:a", "aac"), "B-frames"},
		{"bframes.ts", short(bframes, "-c:a", "aac"), "B-frames"},
		{"hevc.mp4", short([]string{"-c:v", "libx265", "-x265-params", "log-level=error:bframes=0"}, "-c:a", "aac"), "HEVC"},
		{"hevc.ts", short([]string{"-c:v", "libx265", "-x265-params", "log-level=error:bframes=0"}, "-c:a", "aac"), "HEVC"},
		{"mp3.flv", short(h264, "-c:a", "libmp3lame"), "MP3"},
		{"sorenson.flv", short([]string{"-c:v", "flv1"}, "-c:a", "aac"), "Sorenson"},
		{"opus.ts", short(h264, "-c:a", "libopus"), "Opus"},
		{"ac3.mp4", short(h264, "-c:a", "ac3"), "AC-3"},
		{"mpeg4.mp4", short([]string{"-c:v", "mpeg4"}, "-c:a", "aac"), "MPEG-4 Visual"},
		{"mjpeg.mov", short([]string{"-c:v", "mjpeg"}, "-c:a", "aac"), `"jpeg"`},
		{"mp3.mp4", short(h264, "-c:a", "libmp3lame"), "MP3"},
	}
	for _, c := range cases {
		ffmpeg(t, dir, c.name, c.args...)
	}
	srv := serve(t, dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := openServed(t, srv, c.name, Options{})
			if err == nil {
				_, err = drain(t, m)
				m.Close()
			}
			t.Log(err)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err %v, not ErrUnsupported saying %q", err, c.says)
			}
			if c.says == "B-frames" && !strings.Contains(err.Error(), "encode with -bf 0") {
				t.Errorf("err %v", err)
			}
		})
	}
}

// TestDemuxTruncated: files cut anywhere end with an error or io.EOF, never a panic.
func TestDemuxTruncated(t *testing.T) {
	needFFmpeg(t)
	src := t.TempDir()
	names := []string{"a.flv", "a.mp4", "faststart.mp4", "fragmented.mp4", "a.ts"}
	for _, n := range names {
		args := append([]string(nil), ffmpegSource...)
		switch n {
		case "faststart.mp4":
			args = append(args, "-movflags", "+faststart")
		case "fragmented.mp4":
			args = append(args, "-movflags", "frag_keyframe+empty_moov")
		}
		ffmpeg(t, src, n, args...)
	}
	dir := t.TempDir()
	srv := serve(t, dir)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{1, 9, 13, 100, 188 * 3, len(b) / 10, len(b) / 2, len(b) - 1000, len(b) - 1} {
			name := strconv.Itoa(cut) + "." + n
			if err := os.WriteFile(filepath.Join(dir, name), b[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run(name, func(t *testing.T) {
				m, err := openServed(t, srv, name, Options{})
				if err != nil {
					t.Logf("refused: %v", err)
					return
				}
				ps, err := drain(t, m)
				if err == nil {
					t.Fatal("no end")
				}
				t.Logf("%d units, then %v", len(ps), err)
				if cut == len(b)/2 && n != "a.mp4" && (len(ps) < 20 || len(ps) > 160) {
					t.Errorf("%d units from half of the file", len(ps))
				}
				if err := m.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestMP4Spool: the download is bounded by MaxBytes and its temporary file is removed on
// Close, and when the file is refused.
func TestMP4Spool(t *testing.T) {
	needFFmpeg(t)
	src := t.TempDir()
	path := ffmpeg(t, src, "a.mp4", ffmpegSource...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	empty := func() {
		t.Helper()
		if es, _ := os.ReadDir(tmp); len(es) != 0 {
			t.Errorf("%d files left in the temporary directory", len(es))
		}
	}
	// No Content-Length through Open's check: the spool's bound.
	if _, err := openMP4(bytes.NewReader(b), Options{TempDir: tmp, MaxBytes: int64(len(b) - 1)}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a file over MaxBytes: %v", err)
	}
	empty()
	if _, err := openMP4(bytes.NewReader(b[:len(b)-100]), Options{TempDir: tmp}); err == nil {
		t.Error("a file without its moov opened")
	}
	empty()
	m, err := openMP4(bytes.NewReader(b), Options{TempDir: tmp, MaxBytes: int64(len(b))})
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(tmp); len(es) != 1 {
		t.Errorf("%d files in the temporary directory while open", len(es))
	}
	if _, err := m.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	empty()
	if err := m.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := m.Next(context.Background()); err == nil {
		t.Error("Next after Close")
	}
}
