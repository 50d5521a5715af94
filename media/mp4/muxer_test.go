package mp4

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts/mpegtstest"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// unit is one input of the muxer: an access unit or an ADTS frame, in the order they arrive.
type unit struct {
	video    bool
	pts, dts time.Duration
	key      bool
	data     []byte
}

// source makes seconds of a synthetic participant: 320x180@15 H.264 and 48 kHz mono AAC,
// interleaved by time, with offset added to the video and audio timestamps.
func source(t testing.TB, seconds float64, video, audio bool, videoOffset, audioOffset time.Duration) []unit {
	t.Helper()
	var vs, as []unit
	end := time.Duration(seconds * float64(time.Second))
	if video {
		v, err := synth.NewVideo(synth.VideoConfig{UserId: "alice", Width: 320, Height: 180, Fps: 15})
		if err != nil {
			t.Fatal(err)
		}
		for {
			au := v.Next()
			if au.PTS >= end {
				break
			}
			p := au.PTS + videoOffset
			vs = append(vs, unit{video: true, pts: p, dts: p, key: au.Key, data: au.AnnexB()})
		}
	}
	if audio {
		a, err := synth.NewAudio(synth.AudioConfig{UserId: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		for {
			f := a.Next()
			if f.PTS >= end {
				break
			}
			as = append(as, unit{pts: f.PTS + audioOffset, dts: f.PTS + audioOffset, data: f.ADTS})
		}
	}
	units := append(vs, as...)
	slices.SortStableFunc(units, func(a, b unit) int { return int(a.dts - b.dts) })
	return units
}

// memScratch is an in-memory scratch file.
type memScratch struct {
	b   []byte
	pos int
}

func (s *memScratch) Write(p []byte) (int, error) {
	s.b = append(s.b[:s.pos], p...)
	s.pos += len(p)
	return len(p), nil
}

func (s *memScratch) Read(p []byte) (int, error) {
	if s.pos >= len(s.b) {
		return 0, io.EOF
	}
	n := copy(p, s.b[s.pos:])
	s.pos += n
	return n, nil
}

func (s *memScratch) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		s.pos = int(off)
	case 1:
		s.pos += int(off)
	default:
		s.pos = len(s.b) + int(off)
	}
	return int64(s.pos), nil
}

// mux writes units through a muxer with a temporary scratch file into dir/name and returns the
// file's path, checking Size and Duration on the way.
func mux(t *testing.T, dir, name string, tracks Tracks, units []unit, setup func(*Muxer)) string {
	t.Helper()
	scratch, err := os.CreateTemp(dir, "scratch-*")
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	m, err := NewMuxer(scratch, tracks)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(m)
	}
	for _, u := range units {
		if u.video {
			err = m.WriteVideo(u.pts, u.dts, u.key, u.data)
		} else {
			err = m.WriteAudio(u.pts, u.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	size, dur := m.Size(), m.Duration()
	out := filepath.Join(dir, name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > size || size-st.Size() > 4096+st.Size()/20 {
		t.Errorf("Size said %d before Finish, the file has %d", size, st.Size())
	}
	mv := readBack(t, out)
	if got := time.Duration(mv.duration) * time.Second / time.Duration(mv.timescale); absDur(got-dur) > time.Millisecond {
		t.Errorf("Duration said %v before Finish, mvhd has %v", dur, got)
	}
	return out
}

func readBack(t *testing.T, file string) *readMovie {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := readFile(data)
	if err != nil {
		t.Fatalf("box walker: %v", err)
	}
	if !slices.Equal(mv.top, []string{"ftyp", "moov", "mdat"}) {
		t.Errorf("top-level boxes %v, want ftyp moov mdat", mv.top)
	}
	return mv
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// probe is what ffprobe -count_frames says of a file.
type probe struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		StartTime  string `json:"start_time"`
	} `json:"format"`
	Streams []struct {
		CodecName    string `json:"codec_name"`
		CodecType    string `json:"codec_type"`
		Profile      string `json:"profile"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		NbReadFrames string `json:"nb_read_frames"`
		StartTime    string `json:"start_time"`
		Duration     string `json:"duration"`
	} `json:"streams"`
	Packets []struct {
		CodecType string `json:"codec_type"`
		PTS       string `json:"pts_time"`
		DTS       string `json:"dts_time"`
		Flags     string `json:"flags"`
	} `json:"packets"`
}

func ffprobe(t *testing.T, file string, packets bool) *probe {
	t.Helper()
	args := []string{"-v", "error", "-of", "json", "-count_frames", "-show_format", "-show_streams"}
	if packets {
		args = append(args, "-show_entries", "packet=codec_type,pts_time,dts_time,flags")
	}
	out, err := exec.Command(testpeer.FFprobe(t), append(args, file)...).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe JSON: %v", err)
	}
	return &p
}

func seconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ffprobe time %q: %v", s, err)
	}
	return time.Duration(math.Round(f * 1e9))
}

// decodeErrors has ffmpeg decode the whole file and returns what it complained about.
func decodeErrors(t *testing.T, file string) string {
	t.Helper()
	out, err := mpegtstest.DecodeErrors(testpeer.FFmpeg(t), file)
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return out
}

// Synthetic recordings, judged by ffprobe and ffmpeg: codecs, size, rate, frame counts and
// duration as written, moov before mdat, every frame decodable; and by the box walker: the
// samples cut out by the tables are the payloads written, in order.
func TestJudgedByFFprobe(t *testing.T) {
	const secs = 6.0
	for _, tc := range []struct {
		name         string
		video, audio bool
	}{
		{"audio+video", true, true},
		{"audio only", false, true},
		{"video only", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			units := source(t, secs, tc.video, tc.audio, 0, 0)
			file := mux(t, dir, "out.mp4", Tracks{Video: tc.video, Audio: tc.audio}, units, nil)

			var wantVideo, wantAudio [][]byte
			var keys []uint32
			for _, u := range units {
				if u.video {
					nalus, err := h264.SplitAnnexB(u.data)
					if err != nil {
						t.Fatal(err)
					}
					nalus = slices.DeleteFunc(nalus, func(n []byte) bool {
						typ := h264.TypeOf(n)
						return typ == h264.NALUSPS || typ == h264.NALUPPS || typ == h264.NALUAUD
					})
					avcc, _ := h264.AppendAVCC(nil, nalus, 4)
					wantVideo = append(wantVideo, avcc)
					if u.key {
						keys = append(keys, uint32(len(wantVideo)))
					}
				} else {
					p, err := aac.ADTSPayload(u.data)
					if err != nil {
						t.Fatal(err)
					}
					wantAudio = append(wantAudio, p)
				}
			}

			mv := readBack(t, file)
			if len(mv.tracks) != btoi(tc.video)+btoi(tc.audio) {
				t.Fatalf("%d tracks", len(mv.tracks))
			}
			for _, tr := range mv.tracks {
				want := wantAudio
				if tr.handler == "vide" {
					want = wantVideo
					if !slices.Equal(tr.syncs, keys) {
						t.Errorf("stss %v, want %v", tr.syncs, keys)
					}
					if tr.width != 320<<16 || tr.height != 180<<16 || tr.timescale != VideoTimescale {
						t.Errorf("tkhd %#x×%#x, timescale %d", tr.width, tr.height, tr.timescale)
					}
				} else if tr.timescale != 48000 || tr.syncs != nil {
					t.Errorf("audio: timescale %d, stss %v", tr.timescale, tr.syncs)
				}
				if tr.offsets != nil || tr.edits != nil || tr.co64 {
					t.Errorf("%s: ctts %v, elst %v, co64 %v: none expected", tr.handler, tr.offsets != nil, tr.edits, tr.co64)
				}
				if len(tr.samples) != len(want) {
					t.Fatalf("%s: %d samples, wrote %d", tr.handler, len(tr.samples), len(want))
				}
				for i := range want {
					if !bytes.Equal(tr.samples[i], want[i]) {
						t.Fatalf("%s sample %d differs from what was written", tr.handler, i+1)
					}
				}
				// Chunks of about a second: stsc stays short.
				if len(tr.chunkOffs) > int(secs)+2 || tr.stscRows > 4 {
					t.Errorf("%s: %d chunks, %d stsc rows", tr.handler, len(tr.chunkOffs), tr.stscRows)
				}
			}

			p := ffprobe(t, file, false)
			if !strings.Contains(p.Format.FormatName, "mp4") || !strings.Contains(p.Format.FormatName, "mov") {
				t.Errorf("format %q", p.Format.FormatName)
			}
			if len(p.Streams) != len(mv.tracks) {
				t.Fatalf("ffprobe sees %d streams", len(p.Streams))
			}
			for _, s := range p.Streams {
				switch s.CodecType {
				case "video":
					if s.CodecName != "h264" || s.Width != 320 || s.Height != 180 || s.NbReadFrames != strconv.Itoa(len(wantVideo)) {
						t.Errorf("video: %s %dx%d, %s frames; want h264 320x180, %d", s.CodecName, s.Width, s.Height, s.NbReadFrames, len(wantVideo))
					}
				case "audio":
					if s.CodecName != "aac" || s.SampleRate != "48000" || s.Channels != 1 || s.NbReadFrames != strconv.Itoa(len(wantAudio)) {
						t.Errorf("audio: %s %s Hz %d ch, %s frames; want aac 48000 Hz mono, %d", s.CodecName, s.SampleRate, s.Channels, s.NbReadFrames, len(wantAudio))
					}
				}
				if st := seconds(t, s.StartTime); st != 0 {
					t.Errorf("%s starts at %v", s.CodecType, st)
				}
			}
			frame := time.Second / 15
			if !tc.video {
				frame = aac.FrameDuration(48000)
			}
			if d := seconds(t, p.Format.Duration); absDur(d-secs*time.Second) > frame {
				t.Errorf("duration %v, want %v within a frame", d, secs*time.Second)
			}
			if errs := decodeErrors(t, file); errs != "" {
				t.Errorf("ffmpeg decoding: %s", errs)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A file cut from the middle of a recording starts at 0, and the track that started later keeps
// its distance from the other (an empty edit), whichever comes first.
func TestStartsAtZeroKeepingAVOffset(t *testing.T) {
	hour := time.Hour + 1234*time.Millisecond
	for _, tc := range []struct {
		name                     string
		videoOffset, audioOffset time.Duration
		wantVideo, wantAudio     time.Duration
	}{
		{"same start", hour, hour, 0, 0},
		{"video 200 ms later", hour + 200*time.Millisecond, hour, 200 * time.Millisecond, 0},
		{"audio 120 ms later", hour, hour + 120*time.Millisecond, 0, 120 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			units := source(t, 3, true, true, tc.videoOffset, tc.audioOffset)
			file := mux(t, dir, "out.mp4", Tracks{Video: true, Audio: true}, units, nil)
			p := ffprobe(t, file, true)
			if st := seconds(t, p.Format.StartTime); st != 0 {
				t.Errorf("file starts at %v", st)
			}
			first := map[string]time.Duration{}
			for _, pk := range p.Packets {
				if _, ok := first[pk.CodecType]; !ok {
					first[pk.CodecType] = seconds(t, pk.PTS)
				}
			}
			if absDur(first["video"]-tc.wantVideo) > time.Millisecond || absDur(first["audio"]-tc.wantAudio) > time.Millisecond {
				t.Errorf("first video at %v, audio at %v; want %v and %v", first["video"], first["audio"], tc.wantVideo, tc.wantAudio)
			}
			want := 3*time.Second + max(tc.wantVideo, tc.wantAudio)
			if d := seconds(t, p.Format.Duration); absDur(d-want) > time.Second/15 {
				t.Errorf("duration %v, want %v", d, want)
			}
			if errs := decodeErrors(t, file); errs != "" {
				t.Errorf("ffmpeg decoding: %s", errs)
			}
		})
	}
}

// A stream with B-frames (x264 through ffmpeg, split by mpegtstest, not by media/h264): ctts and
// an edit list carry the reordering, so ffprobe reads back the input's timestamps, shifted to
// start at 0.
func TestBFramesJudgedByFFprobe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: encodes a reference input with ffmpeg")
	}
	ffmpeg, ffprobePath := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	dir := t.TempDir()
	in, err := mpegtstest.Generate(ffmpeg, ffprobePath, dir, mpegtstest.Options{
		Video: true, Audio: true, GOP: 21, BFrames: 2, Seconds: 5, Channels: 2, Offset: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var units []unit
	start := time.Duration(math.MaxInt64)
	for _, u := range in.Units {
		units = append(units, unit{video: u.Video, pts: u.PTS, dts: u.DTS, key: u.Key, data: u.Data})
		start = min(start, u.PTS)
	}
	file := mux(t, dir, "out.mp4", Tracks{Video: true, Audio: true}, units, nil)
	mv := readBack(t, file)
	if v := mv.tracks[0]; v.handler != "vide" || v.offsets == nil || len(v.edits) == 0 {
		t.Errorf("video track: ctts %v, elst %v; want both", v.offsets != nil, v.edits)
	}

	p := ffprobe(t, file, true)
	var got, want []time.Duration
	for _, pk := range p.Packets {
		if pk.CodecType == "video" {
			got = append(got, seconds(t, pk.PTS))
		}
	}
	for _, u := range in.Units {
		if u.Video {
			want = append(want, u.PTS-start)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d video packets, wrote %d", len(got), len(want))
	}
	for i := range want {
		if absDur(got[i]-want[i]) > 2*time.Millisecond {
			t.Fatalf("video packet %d: pts %v, want %v", i, got[i], want[i])
		}
	}
	for _, s := range p.Streams {
		n := in.VideoFrames
		if s.CodecType == "audio" {
			n = in.AudioFrames
			if s.Channels != 2 {
				t.Errorf("audio: %d channels", s.Channels)
			}
		}
		if s.NbReadFrames != strconv.Itoa(n) {
			t.Errorf("%s: %s frames decoded, wrote %d", s.CodecType, s.NbReadFrames, n)
		}
	}
	if d := seconds(t, p.Format.Duration); absDur(d-in.Span()) > in.FrameLen {
		t.Errorf("duration %v, the input spans %v", d, in.Span())
	}
	if errs := decodeErrors(t, file); errs != "" {
		t.Errorf("ffmpeg decoding: %s", errs)
	}
}

// Files past 4 GiB need co64 and a 64-bit mdat size; the muxer is made to use both on a small
// file, which ffmpeg must read as it reads the 32-bit one.
func TestWideOffsets(t *testing.T) {
	dir := t.TempDir()
	units := source(t, 2, true, true, 0, 0)
	file := mux(t, dir, "wide.mp4", Tracks{Video: true, Audio: true}, units, func(m *Muxer) { m.wide = true })
	mv := readBack(t, file)
	if mv.mdatHdr != 16 {
		t.Errorf("mdat header of %d bytes", mv.mdatHdr)
	}
	for _, tr := range mv.tracks {
		if !tr.co64 {
			t.Errorf("%s: stco, want co64", tr.handler)
		}
	}
	p := ffprobe(t, file, false)
	for _, s := range p.Streams {
		if s.NbReadFrames == "" || s.NbReadFrames == "0" {
			t.Errorf("%s: %q frames", s.CodecType, s.NbReadFrames)
		}
	}
	if errs := decodeErrors(t, file); errs != "" {
		t.Errorf("ffmpeg decoding: %s", errs)
	}
}

// New parameter sets mid-stream (the sender changed resolution) start a second avc1 entry;
// ffmpeg decodes across the change.
func TestParameterSetChange(t *testing.T) {
	dir := t.TempDir()
	var units []unit
	for i, size := range [][2]int{{320, 180}, {640, 360}} {
		v, err := synth.NewVideo(synth.VideoConfig{UserId: "bob", Width: size[0], Height: size[1], Fps: 15})
		if err != nil {
			t.Fatal(err)
		}
		for range 30 {
			au := v.Next()
			p := au.PTS + time.Duration(i)*2*time.Second
			units = append(units, unit{video: true, pts: p, dts: p, key: au.Key, data: au.AnnexB()})
		}
	}
	file := mux(t, dir, "out.mp4", Tracks{Video: true}, units, nil)
	mv := readBack(t, file)
	tr := mv.tracks[0]
	if len(tr.entries) != 2 || tr.sampleEntry[29] != 1 || tr.sampleEntry[30] != 2 {
		t.Fatalf("entries %v; samples 30 and 31 use %d and %d", tr.entries, tr.sampleEntry[29], tr.sampleEntry[30])
	}
	p := ffprobe(t, file, false)
	if p.Streams[0].NbReadFrames != "60" {
		t.Errorf("%s frames decoded, wrote 60", p.Streams[0].NbReadFrames)
	}
	if errs := decodeErrors(t, file); errs != "" {
		t.Errorf("ffmpeg decoding: %s", errs)
	}
}

// Units before the first keyframe are dropped, and so are their timestamps: the file starts at
// the keyframe.
func TestDropsUntilKeyframe(t *testing.T) {
	units := source(t, 1.5, true, false, 0, 0) // one GOP: a keyframe, then P frames
	m, err := NewMuxer(&memScratch{}, Tracks{Video: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units[1:] {
		if err := m.WriteVideo(u.pts, u.dts, u.key, u.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Finish(&bytes.Buffer{}); err == nil {
		t.Error("Finish wrote a file of P frames only")
	}

	m, _ = NewMuxer(&memScratch{}, Tracks{Video: true})
	for _, u := range units[1:3] {
		if err := m.WriteVideo(u.pts, u.dts, u.key, u.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.WriteVideo(units[3].pts, units[3].dts, true, units[0].data); err != nil {
		t.Fatal(err)
	}
	if d := m.Duration(); d != time.Second/15 {
		t.Errorf("Duration %v after one keyframe, want one frame", d)
	}
}

// Misuse is an error, never a panic, and leaves the muxer usable where it can be.
func TestErrors(t *testing.T) {
	units := source(t, 1, true, true, 0, 0)
	var key, p, audio unit
	for _, u := range units {
		switch {
		case u.video && u.key && key.data == nil:
			key = u
		case u.video && !u.key && p.data == nil:
			p = u
		case !u.video && audio.data == nil:
			audio = u
		}
	}
	if _, err := NewMuxer(&memScratch{}, Tracks{}); err == nil {
		t.Error("NewMuxer without tracks")
	}
	if _, err := NewMuxer(nil, Tracks{Audio: true}); err == nil {
		t.Error("NewMuxer without scratch")
	}

	m, _ := NewMuxer(&memScratch{}, Tracks{Video: true})
	if err := m.WriteAudio(0, audio.data); err == nil {
		t.Error("audio into a video-only file")
	}
	if err := m.WriteVideo(0, 0, true, []byte{1, 2, 3}); err == nil {
		t.Error("bytes without a start code")
	}
	if err := m.WriteVideo(0, 0, true, p.data); err == nil {
		t.Error("a keyframe without SPS and PPS first")
	}
	if err := m.WriteVideo(time.Second, time.Second, true, key.data); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteVideo(time.Second, time.Second, false, p.data); err == nil {
		t.Error("the same dts twice")
	}
	if err := m.WriteVideo(900*time.Millisecond, 900*time.Millisecond, false, p.data); err == nil {
		t.Error("dts going back")
	}
	if err := m.WriteVideo(time.Second, 1100*time.Millisecond, false, p.data); err == nil {
		t.Error("pts before dts")
	}
	if err := m.WriteVideo(1100*time.Millisecond, 1100*time.Millisecond, false, p.data); err != nil {
		t.Errorf("a good unit after rejected ones: %v", err)
	}
	if err := m.Finish(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(&bytes.Buffer{}); !errors.Is(err, ErrFinished) {
		t.Errorf("Finish twice: %v", err)
	}
	if err := m.WriteVideo(2*time.Second, 2*time.Second, true, key.data); !errors.Is(err, ErrFinished) {
		t.Errorf("WriteVideo after Finish: %v", err)
	}

	m, _ = NewMuxer(&memScratch{}, Tracks{Audio: true})
	if err := m.WriteVideo(0, 0, true, key.data); err == nil {
		t.Error("video into an audio-only file")
	}
	if err := m.WriteAudio(0, []byte("not adts")); err == nil {
		t.Error("bytes that are no ADTS")
	}
	if err := m.WriteAudio(time.Second, audio.data); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteAudio(time.Second, audio.data); err == nil {
		t.Error("the same audio pts twice")
	}
	other, _ := synth.NewAudio(synth.AudioConfig{UserId: "alice", SampleRate: 44100})
	if err := m.WriteAudio(2*time.Second, other.Next().ADTS); err == nil {
		t.Error("a change of sample rate")
	}
	if err := m.Finish(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}

	m, _ = NewMuxer(&memScratch{}, Tracks{Audio: true, Video: true})
	if err := m.Finish(&bytes.Buffer{}); err == nil {
		t.Error("Finish without samples")
	}
	if err := m.Finish(&bytes.Buffer{}); !errors.Is(err, ErrFinished) {
		t.Errorf("Finish twice: %v", err)
	}
}

// Several ADTS frames in one call are several samples, timed from the first one's pts.
func TestAudioFramesBackToBack(t *testing.T) {
	a, err := synth.NewAudio(synth.AudioConfig{UserId: "carol", SampleRate: 44100, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for range 5 {
		all = append(all, a.Next().ADTS...)
	}
	var s memScratch
	m, _ := NewMuxer(&s, Tracks{Audio: true})
	if err := m.WriteAudio(time.Second, all); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteAudio(time.Second+aac.SamplesDuration(5*1024, 44100), a.Next().ADTS); err != nil {
		t.Fatal(err)
	}
	if want := aac.SamplesDuration(6*1024, 44100); absDur(m.Duration()-want) > time.Microsecond {
		t.Errorf("Duration %v, want %v", m.Duration(), want)
	}
	var out bytes.Buffer
	if err := m.Finish(&out); err != nil {
		t.Fatal(err)
	}
	mv, err := readFile(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tr := mv.tracks[0]
	if len(tr.samples) != 6 || tr.timescale != 44100 || !slices.Equal(tr.durations, []uint32{1024, 1024, 1024, 1024, 1024, 1024}) {
		t.Errorf("%d samples, timescale %d, durations %v", len(tr.samples), tr.timescale, tr.durations)
	}
}

// The esds holds ES_Descriptor > DecoderConfigDescriptor (MPEG-4 audio, audio stream) >
// DecSpecificInfo with the AudioSpecificConfig, then an SLConfigDescriptor; a given config
// (HE-AAC, which ADTS cannot say) replaces the one of the headers.
func TestESDS(t *testing.T) {
	a, _ := synth.NewAudio(synth.AudioConfig{UserId: "dave"})
	given := aac.AudioSpecificConfig{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1, SBR: true, ExtensionSampleRate: 96000}
	for _, cfg := range []*aac.AudioSpecificConfig{nil, &given} {
		m, err := NewMuxer(&memScratch{}, Tracks{Audio: true, AudioConfig: cfg})
		if err != nil {
			t.Fatal(err)
		}
		for range 60 {
			f := a.Next()
			if err := m.WriteAudio(f.PTS, f.ADTS); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := m.Finish(&out); err != nil {
			t.Fatal(err)
		}
		mv, err := readFile(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want := a.AudioSpecificConfig()
		if cfg != nil {
			want = *cfg
		}
		asc, _ := want.Marshal()
		esds := mv.tracks[0].configs[0]
		// version/flags, then tag 3 with its size, ES_ID, flags; tag 4 with its size.
		r := &reader{b: esds}
		r.take(4)
		if tag, n := r.u8(), r.u8(); tag != 3 || int(n) != len(r.b) {
			t.Fatalf("ES_Descriptor tag %d size %d, %d bytes left", tag, n, len(r.b))
		}
		r.take(3)
		tag, n := r.u8(), int(r.u8())
		dcd := r.take(n)
		if tag != 4 || dcd[0] != 0x40 || dcd[1] != 0x15 {
			t.Fatalf("DecoderConfigDescriptor % x", dcd)
		}
		if avg := binary32(dcd[9:]); avg < 8000 || avg > 200000 || binary32(dcd[5:]) < avg {
			t.Errorf("bit rates: max %d, average %d", binary32(dcd[5:]), avg)
		}
		if !bytes.Equal(dcd[13:], append([]byte{5, byte(len(asc))}, asc...)) {
			t.Errorf("DecSpecificInfo % x, want AudioSpecificConfig % x", dcd[13:], asc)
		}
		if sl := r.take(3); !bytes.Equal(sl, []byte{6, 1, 2}) || len(r.b) != 0 || r.err != nil {
			t.Errorf("SLConfigDescriptor % x, %d bytes after", sl, len(r.b))
		}
	}
}

func binary32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		ts   uint32
		want int64
	}{
		{time.Second, 90000, 90000},
		{time.Second / 15, 90000, 6000},
		{-time.Second / 15, 90000, -6000},
		{aac.SamplesDuration(1024*1000, 48000), 48000, 1024 * 1000},
		{100 * time.Hour, 96000, 100 * 3600 * 96000},
		{time.Duration(math.MaxInt64), 96000, 885443715538058}, // no overflow
	} {
		if got := ticks(tc.d, tc.ts); got != tc.want {
			t.Errorf("ticks(%v, %d) = %d, want %d", tc.d, tc.ts, got, tc.want)
		}
	}
}
