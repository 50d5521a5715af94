package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// hlsTestFFmpeg makes a 4 s VOD playlist (index.m3u8) of 320x240@15 H.264 (a keyframe a
// second) and 44.1 kHz mono AAC in dir; extra are more options of the hls muxer.
func hlsTestFFmpeg(t *testing.T, dir string, extra ...string) {
	t.Helper()
	hlsTestFFmpegTo(t, dir, "index.m3u8", extra...)
}

// hlsTestFFmpegTo is hlsTestFFmpeg writing the playlist out.
func hlsTestFFmpegTo(t *testing.T, dir, out string, extra ...string) {
	t.Helper()
	ffmpeg := testpeer.FFmpeg(t)
	args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "4", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15", "-c:a", "aac",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"}
	args = append(append(args, extra...), filepath.Join(dir, out))
	if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// hlsTestCount is ffprobe's count of the packets of each kind of stream (video, audio) in file.
func hlsTestCount(t *testing.T, file string) map[string]int {
	t.Helper()
	out, err := exec.Command(testpeer.FFprobe(t), "-v", "error", "-count_packets",
		"-show_entries", "stream=codec_type,nb_read_packets", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	n := map[string]int{}
	for _, line := range strings.Fields(string(out)) {
		kind, count, ok := strings.Cut(line, ",")
		if _, seen := n[kind]; ok && !seen {
			n[kind], _ = strconv.Atoi(count)
		}
	}
	return n
}

// hlsTestServer serves dir on 127.0.0.1; a path in missing answers 404.
func hlsTestServer(t *testing.T, dir string, missing ...string) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := hlsTestListen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range missing {
			if r.URL.Path == "/"+m {
				http.NotFound(w, r)
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	return srv
}

func hlsTestListen(t testing.TB, h http.Handler) *httptest.Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// hlsTestDrain reads m to its end: the packets, and what ended them.
func hlsTestDrain(t testing.TB, m Media, limit time.Duration) ([]Packet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var ps []Packet
	for {
		p, err := m.Next(ctx)
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
}

// hlsTestCheck checks the packets' order and start, and returns how many of each track
// and the last DTS.
func hlsTestCheck(t *testing.T, ps []Packet) (video, audio int, last time.Duration) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatal("no packets")
	}
	var prev [4]time.Duration
	firstVideo := true
	for i, p := range ps {
		u := p.Unit
		if u.DTS < prev[p.Track] {
			t.Fatalf("packet %d (%v): DTS %v after %v", i, p.Track, u.DTS, prev[p.Track])
		}
		prev[p.Track] = u.DTS
		last = max(last, u.DTS)
		switch p.Track {
		case hub.MainVideo:
			if firstVideo && (!u.Key || u.DTS > 100*time.Millisecond) {
				t.Fatalf("the first video unit: key %v at %v", u.Key, u.DTS)
			}
			firstVideo = false
			if u.PTS != u.DTS || len(u.NALUs) == 0 {
				t.Fatalf("video unit %d: PTS %v DTS %v, %d NALUs", i, u.PTS, u.DTS, len(u.NALUs))
			}
			video++
		case hub.Audio:
			if len(u.Frame) == 0 || !u.Key {
				t.Fatalf("audio unit %d: %d bytes, key %v", i, len(u.Frame), u.Key)
			}
			audio++
		default:
			t.Fatalf("packet %d on track %v", i, p.Track)
		}
	}
	if d := ps[0].Unit.DTS; d > 100*time.Millisecond {
		t.Fatalf("the first unit is at %v", d)
	}
	return video, audio, last
}

func hlsTestOpen(t *testing.T, rawURL string, opts Options) Media {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Open(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("Open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestHLSVOD(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"mpegts", nil},
		{"fmp4", []string{"-hls_segment_type", "fmp4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hlsTestFFmpeg(t, dir, tc.extra...)
			want := hlsTestCount(t, filepath.Join(dir, "index.m3u8"))
			srv := hlsTestServer(t, dir)
			m := hlsTestOpen(t, srv.URL+"/index.m3u8", Options{Client: srv.Client()})
			if m.Live() {
				t.Error("a VOD playlist is Live")
			}
			v, a := m.Video(), m.Audio()
			if v == nil || v.Codec != hub.H264 || v.Width != 320 || v.Height != 240 || v.FPS != 15 || len(v.SPS) == 0 || len(v.PPS) == 0 {
				t.Fatalf("video %+v", v)
			}
			if a == nil || a.Codec != hub.AAC || a.SampleRate != 44100 || a.Channels != 1 || len(a.AudioConfig) == 0 {
				t.Fatalf("audio %+v", a)
			}
			ps, err := hlsTestDrain(t, m, 20*time.Second)
			if err != io.EOF {
				t.Fatalf("after %d packets: %v, want io.EOF", len(ps), err)
			}
			video, audio, last := hlsTestCheck(t, ps)
			if video != want["video"] || audio != want["audio"] {
				t.Errorf("%d video and %d audio units, ffprobe counts %v", video, audio, want)
			}
			if last < 3800*time.Millisecond || last > 4100*time.Millisecond {
				t.Errorf("the last unit is at %v, want about 4 s", last)
			}
			if _, err := m.Next(context.Background()); err != io.EOF {
				t.Errorf("Next after the end: %v", err)
			}
		})
	}
}

func TestHLSVODSeek(t *testing.T) {
	dir := t.TempDir()
	hlsTestFFmpeg(t, dir)
	srv := hlsTestServer(t, dir, "index0.ts") // the segments before the seek are not fetched
	for _, tc := range []struct {
		seek       time.Duration
		wantFrames int
	}{
		{2 * time.Second, 30},                      // a keyframe at 2 s: from there
		{2*time.Second + 300*time.Millisecond, 15}, // to the next one, at 3 s
	} {
		m := hlsTestOpen(t, srv.URL+"/index.m3u8", Options{Client: srv.Client(), Seek: tc.seek})
		ps, err := hlsTestDrain(t, m, 20*time.Second)
		if err != io.EOF {
			t.Fatalf("seek %v: after %d packets: %v", tc.seek, len(ps), err)
		}
		video, audio, last := hlsTestCheck(t, ps)
		span := time.Duration(tc.wantFrames) * time.Second / 15
		if video != tc.wantFrames || audio < 40*tc.wantFrames/15 || last > span+100*time.Millisecond || last < span-200*time.Millisecond {
			t.Errorf("seek %v: %d video units, %d audio, the last at %v; want %d video over %v", tc.seek, video, audio, last, tc.wantFrames, span)
		}
		m.Close()
	}
	ctx := context.Background()
	if _, err := Open(ctx, srv.URL+"/index.m3u8", Options{Client: srv.Client(), Seek: 5 * time.Second}); err == nil {
		t.Error("seeking past the end opened")
	}
}

func TestHLSVODMissingSegment(t *testing.T) {
	dir := t.TempDir()
	hlsTestFFmpeg(t, dir)
	srv := hlsTestServer(t, dir, "index2.ts")
	m := hlsTestOpen(t, srv.URL+"/index.m3u8", Options{Client: srv.Client()})
	ps, err := hlsTestDrain(t, m, 20*time.Second)
	if err == nil || err == io.EOF || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("after %d packets: %v, want the segment's 404", len(ps), err)
	}
	if _, _, last := hlsTestCheck(t, ps); last > 2100*time.Millisecond {
		t.Errorf("the units went on to %v", last)
	}
	// The first segment missing: Open fails.
	srv2 := hlsTestServer(t, dir, "index0.ts")
	if _, err := Open(context.Background(), srv2.URL+"/index.m3u8", Options{Client: srv2.Client()}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Open without the first segment: %v", err)
	}
}

// TestHLSMultivariant: the highest-bandwidth H.264/AAC variant is read; a variant of
// another codec, however rich, is not.
func TestHLSMultivariant(t *testing.T) {
	dir := t.TempDir()
	hlsTestFFmpeg(t, dir)
	master := "#EXTM3U\n#EXT-X-VERSION:3\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=9000000,CODECS=\"hvc1.1.6.L93.B0,mp4a.40.2\"\nhevc/missing.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42c00d,mp4a.40.2\"\nindex.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS=\"avc1.42c00d,mp4a.40.2\"\nlow/missing.m3u8\n"
	os.WriteFile(filepath.Join(dir, "master.m3u8"), []byte(master), 0o644)
	os.WriteFile(filepath.Join(dir, "hevc.m3u8"), []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"hvc1.1.6.L93.B0\"\nx.m3u8\n"), 0o644)
	srv := hlsTestServer(t, dir)
	m := hlsTestOpen(t, srv.URL+"/master.m3u8", Options{Client: srv.Client()})
	ps, err := hlsTestDrain(t, m, 20*time.Second)
	if err != io.EOF {
		t.Fatalf("after %d packets: %v", len(ps), err)
	}
	if video, audio, _ := hlsTestCheck(t, ps); video != 60 || audio == 0 {
		t.Errorf("%d video units, %d audio", video, audio)
	}
	_, err = Open(context.Background(), srv.URL+"/hevc.m3u8", Options{Client: srv.Client()})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "hvc1") {
		t.Errorf("an HEVC-only playlist: %v", err)
	}
}

// TestHLSAudioRendition: a variant whose audio is a rendition in a playlist of its own.
func TestHLSAudioRendition(t *testing.T) {
	dir := t.TempDir()
	hlsTestFFmpegTo(t, dir, "index_%v.m3u8", "-map", "0:v", "-map", "1:a", "-var_stream_map", "v:0,agroup:aud a:0,agroup:aud",
		"-master_pl_name", "master.m3u8", "-hls_segment_filename", filepath.Join(dir, "s%v_%d.ts"))
	if _, err := os.Stat(filepath.Join(dir, "master.m3u8")); err != nil {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("no master playlist: %v", entries)
	}
	srv := hlsTestServer(t, dir)
	m := hlsTestOpen(t, srv.URL+"/master.m3u8", Options{Client: srv.Client()})
	if m.Video() == nil || m.Audio() == nil {
		t.Fatalf("video %v, audio %v", m.Video(), m.Audio())
	}
	ps, err := hlsTestDrain(t, m, 20*time.Second)
	if err != io.EOF {
		t.Fatalf("after %d packets: %v", len(ps), err)
	}
	video, audio, last := hlsTestCheck(t, ps)
	if video != 60 || audio < 170 || last < 3800*time.Millisecond {
		t.Errorf("%d video units, %d audio, the last at %v", video, audio, last)
	}
	// Interleaved by DTS: no audio unit much behind the video before it.
	var v time.Duration
	for _, p := range ps {
		if p.Track == hub.MainVideo {
			v = p.Unit.DTS
		} else if p.Unit.DTS < v-200*time.Millisecond {
			t.Fatalf("audio at %v after video at %v", p.Unit.DTS, v)
		}
	}
}

// hlsTestSegments makes n MPEG-TS segments of frames pictures each (320x240@15, a
// keyframe at each segment's start) and the 48 kHz audio over them: what a live encoder
// would have published. frames[i] is the pictures of segment i.
func hlsTestSegments(t testing.TB, n, frames int) [][]byte {
	t.Helper()
	v, err := synth.NewVideo(synth.VideoConfig{Width: 320, Height: 240, Fps: 15, GOP: frames})
	if err != nil {
		t.Fatal(err)
	}
	a, err := synth.NewAudio(synth.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	offset := 10 * time.Second // an encoder's clock does not start at 0
	next := a.Next()
	var segs [][]byte
	for range n {
		var buf bytes.Buffer
		mux, err := mpegts.NewMuxer(&buf, mpegts.Tracks{Video: true, Audio: true})
		if err != nil {
			t.Fatal(err)
		}
		mux.WriteTables()
		for range frames {
			au := v.Next()
			for next.PTS <= au.PTS {
				if err := mux.WriteAudio(next.PTS+offset, next.ADTS); err != nil {
					t.Fatal(err)
				}
				next = a.Next()
			}
			if err := mux.WriteVideo(au.PTS+offset, au.PTS+offset, au.Key, au.AnnexB()); err != nil {
				t.Fatal(err)
			}
		}
		segs = append(segs, buf.Bytes())
	}
	return segs
}

// hlsTestLive is a live playlist whose next segment appears each time the playlist is
// fetched (after the first fetches, which see shown of them), then EXT-X-ENDLIST.
type hlsTestLive struct {
	segs    [][]byte
	frames  int // pictures per segment, at 15 a second
	missing int // a segment that answers 404, or -1
	mu      sync.Mutex
	shown   int
	fetches int
}

func (l *hlsTestLive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/live.m3u8" {
		l.mu.Lock()
		l.fetches++
		if l.fetches > 2 && l.shown < len(l.segs)+1 {
			l.shown++ // one past the last: the playlist ends
		}
		var b strings.Builder
		b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n")
		for i := range min(l.shown, len(l.segs)) {
			fmt.Fprintf(&b, "#EXTINF:%.3f,\nseg%d.ts\n", float64(l.frames)/15, i)
		}
		if l.shown > len(l.segs) {
			b.WriteString("#EXT-X-ENDLIST\n")
		}
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		io.WriteString(w, b.String())
		return
	}
	var i int
	if _, err := fmt.Sscanf(r.URL.Path, "/seg%d.ts", &i); err != nil || i < 0 || i >= len(l.segs) || i == l.missing {
		http.NotFound(w, r)
		return
	}
	w.Write(l.segs[i])
}

func TestHLSLive(t *testing.T) {
	const n, frames = 6, 8
	live := &hlsTestLive{segs: hlsTestSegments(t, n, frames), frames: frames, missing: -1, shown: 4}
	srv := hlsTestListen(t, live)
	m := hlsTestOpen(t, srv.URL+"/live.m3u8", Options{Client: srv.Client()})
	if !m.Live() {
		t.Error("a live playlist is not Live")
	}
	if v, a := m.Video(), m.Audio(); v == nil || v.Width != 320 || v.Height != 240 || a == nil || a.SampleRate != 48000 || a.Channels != 1 {
		t.Fatalf("video %+v audio %+v", v, a)
	}
	ps, err := hlsTestDrain(t, m, 30*time.Second)
	if err != io.EOF {
		t.Fatalf("after %d packets: %v, want io.EOF", len(ps), err)
	}
	video, audio, last := hlsTestCheck(t, ps)
	// From 3 segments before the live edge of the 4 first shown: segments 1 to 5.
	want := (n - 1) * frames
	if video != want || audio == 0 {
		t.Errorf("%d video units (want %d), %d audio", video, want, audio)
	}
	if span := time.Duration(want-1) * time.Second / 15; last < span-50*time.Millisecond || last > span+100*time.Millisecond {
		t.Errorf("the last unit at %v, want about %v", last, span)
	}
}

func TestHLSLiveMissingSegment(t *testing.T) {
	// The live edge's segment is there when the playlist is opened; the next one is not.
	live := &hlsTestLive{segs: hlsTestSegments(t, 5, 4), frames: 4, missing: 3, shown: 3}
	srv := hlsTestListen(t, live)
	m := hlsTestOpen(t, srv.URL+"/live.m3u8", Options{Client: srv.Client()})
	ps, err := hlsTestDrain(t, m, 30*time.Second)
	if err == nil || err == io.EOF || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after %d packets: %v, want the missing segment's error", len(ps), err)
	}
	t.Logf("after %d packets: %v", len(ps), err)
}

// FuzzHLSPlaylist: whatever a server answers as the playlist (its segments being a real
// MPEG-TS segment, or 404), Open and reading to the end neither panic nor outlast their
// deadline.
func FuzzHLSPlaylist(f *testing.F) {
	seg := hlsTestSegments(f, 1, 4)[0]
	var mu sync.Mutex
	inputs := map[string][]byte{}
	n := 0
	srv := hlsTestListen(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, name := filepath.Split(r.URL.Path)
		mu.Lock()
		body, ok := inputs[dir]
		mu.Unlock()
		switch {
		case ok && strings.HasSuffix(name, ".m3u8"):
			w.Write(body)
		case strings.HasSuffix(name, ".ts"):
			w.Write(seg)
		default:
			http.NotFound(w, r)
		}
	}))
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:0.27,\na.ts\n#EXTINF:0.27,\nb.ts\n#EXT-X-ENDLIST\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:0.27,\na.ts\n#EXTINF:1,\nmissing.mp4\n#EXT-X-ENDLIST\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:0.27,\na.ts\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1,\na.m4s\n#EXT-X-ENDLIST\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1.42c00d\"\nv.m3u8\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-BYTERANGE:100@0\n#EXTINF:1,\na.ts\n#EXT-X-ENDLIST\n"))
	f.Add([]byte("#EXTM3U\n#EXTINF:-1,\n\n#EXT-X-DISCONTINUITY\n"))
	f.Add([]byte("not a playlist"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mu.Lock()
		n++
		dir := fmt.Sprintf("/%d/", n)
		inputs[dir] = data
		mu.Unlock()
		defer func() { mu.Lock(); delete(inputs, dir); mu.Unlock() }()
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			m, err := Open(ctx, srv.URL+dir+"index.m3u8", Options{Client: srv.Client(), MaxBytes: 1 << 20})
			if err != nil {
				return
			}
			defer m.Close()
			for {
				if _, err := m.Next(ctx); err != nil {
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Open and Next outlived their deadline on %q", data)
		}
	})
}

// TestHLSRefused: B-frames and codecs other than H.264 and AAC are refused as
// ErrUnsupported, naming what they are.
func TestHLSRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"bframes", []string{"-profile:v", "main", "-bf", "2"}, "-bf 0"},
		{"mp3", []string{"-c:a", "libmp3lame"}, "MPEG1Audio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hlsTestFFmpeg(t, dir, tc.extra...)
			srv := hlsTestServer(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			m, err := Open(ctx, srv.URL+"/index.m3u8", Options{Client: srv.Client()})
			if err == nil {
				_, err = hlsTestDrain(t, m, 20*time.Second)
				m.Close()
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want ErrUnsupported naming %q", err, tc.want)
			}
			// The same segments as a live playlist.
			pl, _ := os.ReadFile(filepath.Join(dir, "index.m3u8"))
			live := strings.NewReplacer("#EXT-X-ENDLIST\n", "", "#EXT-X-PLAYLIST-TYPE:VOD\n", "").Replace(string(pl))
			os.WriteFile(filepath.Join(dir, "live.m3u8"), []byte(live), 0o644)
			m, err = Open(ctx, srv.URL+"/live.m3u8", Options{Client: srv.Client()})
			if err == nil {
				_, err = hlsTestDrain(t, m, 20*time.Second)
				m.Close()
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("live: %v, want ErrUnsupported naming %q", err, tc.want)
			}
		})
	}
}
