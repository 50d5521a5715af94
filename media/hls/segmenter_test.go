package hls

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// memSink keeps files in memory and logs what happens to them.
type memSink struct {
	files map[string][]byte
	log   []string
	fail  func(op, name string) error
}

func newMemSink() *memSink { return &memSink{files: map[string][]byte{}} }

func (s *memSink) Create(name string) (io.WriteCloser, error) {
	if s.fail != nil {
		if err := s.fail("create", name); err != nil {
			return nil, err
		}
	}
	s.log = append(s.log, "create "+name)
	return &memFile{sink: s, name: name}, nil
}

type memFile struct {
	sink *memSink
	name string
	buf  bytes.Buffer
}

func (f *memFile) Write(p []byte) (int, error) {
	if f.sink.fail != nil {
		if err := f.sink.fail("write", f.name); err != nil {
			return 0, err
		}
	}
	return f.buf.Write(p)
}

func (f *memFile) Close() error {
	f.sink.log = append(f.sink.log, "close "+f.name)
	f.sink.files[f.name] = bytes.Clone(f.buf.Bytes())
	return nil
}

// seed: On-Cloud Recording, "Recording start time": the sample playlist's start and names.
var seedStart = time.UnixMilli(1622425551884).UTC()

func segName(index int, start time.Time) string {
	s := start.UTC().Format("20060102150405.000")
	return "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video_" + strings.Replace(s, ".", "", 1) + ".ts"
}

var silentFrame = func() []byte {
	enc, err := aac.NewLongBlockEncoder(aac.AudioSpecificConfig{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1})
	if err != nil {
		panic(err)
	}
	raw, _ := enc.Encode(nil, nil)
	f, _ := aac.AppendADTSHeader(nil, aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, len(raw))
	return append(f, raw...)
}()

var (
	idrAU = []byte{0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00}
	pAU   = []byte{0, 0, 0, 1, 0x41, 0x9A, 0x00}
)

// feed writes seconds of video at fps with a keyframe every keyEvery frames and 48 kHz audio,
// interleaved by time, starting at media time origin.
func feed(t *testing.T, s *Segmenter, origin time.Duration, seconds float64, fps, keyEvery int, video, audio bool) {
	t.Helper()
	end := origin + time.Duration(seconds*float64(time.Second))
	vi, ai := 0, int64(0)
	for {
		vt := end
		if video {
			vt = origin + time.Duration(vi)*time.Second/time.Duration(fps)
		}
		at := origin + aac.SamplesDuration(ai*1024, 48000)
		if (!video || vt >= end) && (!audio || at >= end) {
			return
		}
		if video && vt < end && (!audio || vt <= at) {
			au := pAU
			if vi%keyEvery == 0 {
				au = idrAU
			}
			if err := s.WriteVideo(vt, vt, vi%keyEvery == 0, au); err != nil {
				t.Fatal(err)
			}
			vi++
			continue
		}
		if err := s.WriteAudio(at, silentFrame); err != nil {
			t.Fatal(err)
		}
		ai++
	}
}

func TestPlaylistGolden(t *testing.T) {
	sink := newMemSink()
	s, err := New(Config{
		Sink: sink, PlaylistName: "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video.m3u8",
		SegmentName: segName, TargetDuration: 12 * time.Second,
		Video: true, Audio: true, Width: 1920, Height: 1080, StartTime: seedStart,
	})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, 0, 36.1, 15, 45, true, true) // keyframes every 3 s: segments of 12 s
	first := string(sink.files["1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video.m3u8"])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.files["1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video.m3u8"]
	golden := filepath.Join("testdata", "playlist.m3u8")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("playlist:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	// The playlist before the end lists what was finished and has no ENDLIST.
	if strings.Contains(first, "#EXT-X-ENDLIST") || !strings.HasPrefix(string(got), first[:strings.Index(first, "#EXTINF")]) {
		t.Errorf("playlist while recording:\n%s", first)
	}
	segs := s.Segments()
	if len(segs) != 4 {
		t.Fatalf("%d segments: %+v", len(segs), segs)
	}
	for i, seg := range segs {
		checkSegmentStart(t, seg.Name, sink.files[seg.Name])
		if seg.Bytes == 0 || int64(len(sink.files[seg.Name])) != seg.Bytes || seg.Bytes%188 != 0 {
			t.Errorf("segment %d: %d bytes counted, %d stored", i, seg.Bytes, len(sink.files[seg.Name]))
		}
		if want := seedStart.Add(time.Duration(i) * 12 * time.Second); !seg.Start.Equal(want) {
			t.Errorf("segment %d starts %v, want %v", i, seg.Start, want)
		}
	}
	// Segments are written whole before the playlist that lists them.
	wantLog := []string{
		"create " + segs[0].Name, "close " + segs[0].Name, "create " + s.cfg.PlaylistName, "close " + s.cfg.PlaylistName,
		"create " + segs[1].Name,
	}
	if fmt.Sprint(sink.log[:5]) != fmt.Sprint(wantLog) {
		t.Errorf("sink calls %v, want %v…", sink.log[:5], wantLog)
	}
}

func TestCutRules(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fps, keyEvery int
		target        time.Duration
		seconds       float64
		video, audio  bool
		want          []string // EXTINF values
	}{
		{"keyframe on target", 15, 15, 2 * time.Second, 6, true, true, []string{"2.000", "2.000", "2.016"}}, // audio runs to 6.016 s
		{"keyframe after target", 15, 45, 4 * time.Second, 10, true, false, []string{"6.000", "4.000"}},
		{"video only, last partial", 30, 30, 2 * time.Second, 5.5, true, false, []string{"2.000", "2.000", "1.500"}},
		{"audio only: first frame at or after target", 0, 0, 2 * time.Second, 5, false, true, []string{"2.005", "2.005", "1.003"}}, // 94 + 94 + 47 frames
		{"audio only, default target", 0, 0, 0, 25, false, true, []string{"10.005", "10.005", "4.992"}},                            // 469 + 469 + 234
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{Sink: newMemSink(), PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: tc.target,
				Video: tc.video, Audio: tc.audio, StartTime: seedStart})
			if err != nil {
				t.Fatal(err)
			}
			feed(t, s, time.Second, tc.seconds, tc.fps, tc.keyEvery, tc.video, tc.audio)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, seg := range s.Segments() {
				got = append(got, fmt.Sprintf("%.3f", seg.Duration.Seconds()))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("durations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVideoBeforeFirstKeyframeIsDropped(t *testing.T) {
	sink := newMemSink()
	s, _ := New(Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, Video: true, StartTime: seedStart})
	for i := range 5 {
		if err := s.WriteVideo(time.Duration(i)*100*time.Millisecond, time.Duration(i)*100*time.Millisecond, false, pAU); err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.log) != 0 {
		t.Fatalf("non-key units opened a segment: %v", sink.log)
	}
	if err := s.WriteVideo(time.Second/2, time.Second/2, true, idrAU); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := s.Segments()
	if len(segs) != 1 || segs[0].PTS != time.Second/2 || !segs[0].Start.Equal(seedStart) {
		t.Errorf("segments %+v: the recording starts at the keyframe", segs)
	}
}

// With a video track but no video for a whole target duration (camera off), audio cuts, and
// the video that comes back waits for a keyframe.
func TestAudioCutsWhenVideoStalls(t *testing.T) {
	sink := newMemSink()
	s, _ := New(Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: 2 * time.Second,
		Video: true, Audio: true, StartTime: seedStart})
	feed(t, s, 0, 2, 15, 15, true, true)                                           // 0-2 s: both
	feed(t, s, 2*time.Second, 5, 15, 15, false, true)                              // 2-7 s: audio only
	if err := s.WriteVideo(7*time.Second, 7*time.Second, false, pAU); err != nil { // dropped
		t.Fatal(err)
	}
	feed(t, s, 7*time.Second+time.Second/15, 3, 15, 15, true, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, seg := range s.Segments() {
		got = append(got, fmt.Sprintf("%.2f@%.2f", seg.Duration.Seconds(), seg.PTS.Seconds()))
	}
	// No keyframe at 2 s (the last video is at 1.93 s), so audio cuts once 2 s have passed
	// without video (3.94 s), and again 2 s later (5.95 s). The keyframe at 7.07 s comes 1.12 s
	// into that segment; the one at 8.07 s cuts.
	want := []string{"3.94@0.00", "2.01@3.94", "2.12@5.95", "2.01@8.07"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("segments %v, want %v", got, want)
	}
	for _, seg := range s.Segments() {
		checkSegmentStart(t, seg.Name, sink.files[seg.Name])
	}
}

// checkSegmentStart checks that a segment opens with PAT and PMT and that its first video PES,
// if any, is flagged random access (a keyframe).
func checkSegmentStart(t *testing.T, name string, ts []byte) {
	t.Helper()
	pid := func(p []byte) int { return int(p[1]&0x1F)<<8 | int(p[2]) }
	if len(ts) < 2*188 || pid(ts) != 0 || pid(ts[188:]) != 0x1000 {
		t.Errorf("%s does not start with PAT and PMT", name)
		return
	}
	for off := 0; off+188 <= len(ts); off += 188 {
		p := ts[off : off+188]
		if pid(p) == 0x100 && p[1]&0x40 != 0 {
			if p[3]&0x20 == 0 || p[4] == 0 || p[5]&0x40 == 0 {
				t.Errorf("%s: the first video PES is not a keyframe", name)
			}
			return
		}
	}
}

func TestSinkErrorsStick(t *testing.T) {
	boom := errors.New("bucket gone")
	sink := newMemSink()
	sink.fail = func(op, name string) error {
		if op == "create" && strings.HasSuffix(name, ".m3u8") {
			return boom
		}
		return nil
	}
	s, _ := New(Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: time.Second, Audio: true, StartTime: seedStart})
	var err error
	for i := int64(0); i < 100 && err == nil; i++ {
		err = s.WriteAudio(aac.SamplesDuration(i*1024, 48000), silentFrame)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("write error %v, want %v", err, boom)
	}
	if err := s.WriteAudio(10*time.Second, silentFrame); !errors.Is(err, boom) {
		t.Errorf("after a failure: %v", err)
	}
	if err := s.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v", err)
	}
	if err := s.WriteAudio(11*time.Second, silentFrame); err == nil {
		t.Error("write after Close: no error")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Sink: newMemSink(), PlaylistName: "p.m3u8", SegmentName: segName, Video: true, StartTime: seedStart}
	for name, mutate := range map[string]func(*Config){
		"no sink":          func(c *Config) { c.Sink = nil },
		"no playlist":      func(c *Config) { c.PlaylistName = "" },
		"no segment names": func(c *Config) { c.SegmentName = nil },
		"no start time":    func(c *Config) { c.StartTime = time.Time{} },
		"no tracks":        func(c *Config) { c.Video = false },
		"negative target":  func(c *Config) { c.TargetDuration = -time.Second },
	} {
		c := ok
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	s, _ := New(ok)
	if err := s.WriteAudio(0, silentFrame); err == nil {
		t.Error("audio on a video-only segmenter: no error")
	}
}

// An audio-only playlist has no video metadata line; an empty recording still gets a playlist.
func TestAudioOnlyPlaylist(t *testing.T) {
	sink := newMemSink()
	s, _ := New(Config{Sink: sink, PlaylistName: "a.m3u8", SegmentName: segName, Audio: true, StartTime: seedStart})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:10\n#EXT-X-TRTC-START-REC-TIME:1622425551884\n#EXT-X-ENDLIST\n"
	if got := string(sink.files["a.m3u8"]); got != want {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want)
	}
}

// RFC 8216: each EXTINF as written, rounded to the nearest integer, is within the target.
func TestTargetDurationCoversWrittenDurations(t *testing.T) {
	s, _ := New(Config{Sink: newMemSink(), PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: 2 * time.Second, Audio: true, StartTime: seedStart})
	s.segments = []Segment{{Duration: 2499600 * time.Microsecond}} // written as 2.500
	if got := s.targetDuration(); got != 3 {
		t.Errorf("target duration %d for an EXTINF of 2.500, want 3", got)
	}
	s.segments = []Segment{{Duration: 2499400 * time.Microsecond}} // written as 2.499
	if got := s.targetDuration(); got != 2 {
		t.Errorf("target duration %d for an EXTINF of 2.499, want 2", got)
	}
}

func TestAudioGrouping(t *testing.T) {
	for _, tc := range []struct {
		per  time.Duration
		want int
	}{{0, 10}, {-1, 47}, {time.Second, 1}} {
		sink := newMemSink()
		s, _ := New(Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, Audio: true, StartTime: seedStart, AudioPerPES: tc.per})
		feed(t, s, 0, 1, 0, 0, false, true) // 47 frames
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ts := sink.files[s.Segments()[0].Name]
		pes := 0
		for off := 0; off+188 <= len(ts); off += 188 {
			if int(ts[off+1]&0x1F)<<8|int(ts[off+2]) == 0x101 && ts[off+1]&0x40 != 0 {
				pes++
			}
		}
		if pes != tc.want {
			t.Errorf("AudioPerPES %v: %d PES for 47 frames, want %d", tc.per, pes, tc.want)
		}
	}
}
