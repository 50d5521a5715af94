package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// mp3TestFile makes name in dir with ffmpeg from a lavfi source.
func mp3TestFile(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command(testpeer.FFmpeg(t), append(append([]string{"-v", "error", "-y"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	return out
}

// mp3TestServe serves dir on 127.0.0.1.
func mp3TestServe(t testing.TB, dir string) *httptest.Server {
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}

// mp3TestRead opens name on srv and reads all its packets.
func mp3TestRead(t *testing.T, srv *httptest.Server, name string, opts Options, afterOpen func(Media)) (Media, []Packet) {
	t.Helper()
	opts.Client = srv.Client()
	m, err := Open(context.Background(), srv.URL+"/"+name, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if afterOpen != nil {
		afterOpen(m)
	}
	var ps []Packet
	for {
		p, err := m.Next(context.Background())
		if err == io.EOF {
			return m, ps
		}
		if err != nil {
			t.Fatalf("after %d packets: %v", len(ps), err)
		}
		ps = append(ps, p)
	}
}

// mp3TestDecode wraps the packets in ADTS and decodes them with ffmpeg to float samples of
// each channel; any message from ffmpeg fails the test.
func mp3TestDecode(t *testing.T, params *hub.Params, ps []Packet) [][]float64 {
	t.Helper()
	var stream []byte
	h := aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: params.SampleRate, ChannelConfig: params.Channels}
	for _, p := range ps {
		var err error
		if stream, err = aac.AppendADTSHeader(stream, h, len(p.Unit.Frame)); err != nil {
			t.Fatal(err)
		}
		stream = append(stream, p.Unit.Frame...)
	}
	cmd := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-f", "aac", "-i", "-", "-f", "s16le", "-")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	chans := make([][]float64, params.Channels)
	for i := 0; i+2*params.Channels <= len(out); i += 2 * params.Channels {
		for c := range chans {
			chans[c] = append(chans[c], float64(int16(binary.LittleEndian.Uint16(out[i+2*c:]))))
		}
	}
	return chans
}

// mp3TestTone is x's level in dB of full scale and the share of its energy at freq.
func mp3TestTone(x []float64, freq float64, rate int) (level, share float64) {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
		energy += v * v
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 10 * math.Log10(energy/float64(len(x))/(32768*32768)+1e-30), 2 * power / (float64(len(x)) * energy)
}

func mp3TestDuration(t *testing.T, m Media, ps []Packet) time.Duration {
	t.Helper()
	var next time.Duration
	frame := aac.FrameDuration(m.Audio().SampleRate)
	for i, p := range ps {
		if p.Track != hub.Audio || !p.Unit.Key || p.Unit.DTS != p.Unit.PTS || len(p.Unit.Frame) == 0 {
			t.Fatalf("packet %d: %+v", i, p)
		}
		want := aac.SamplesDuration(int64(i)*aac.SamplesPerFrame, m.Audio().SampleRate)
		if p.Unit.PTS != want {
			t.Fatalf("packet %d at %v, want %v", i, p.Unit.PTS, want)
		}
		next = p.Unit.PTS + frame
	}
	return next
}

func TestMP3(t *testing.T) {
	dir := t.TempDir()
	mp3TestFile(t, dir, "mono.mp3", "-f", "lavfi", "-i", "sine=frequency=1000:duration=3", "-c:a", "libmp3lame", "-b:a", "128k")
	mp3TestFile(t, dir, "stereo.mp3", "-f", "lavfi", "-i", "sine=frequency=1000:duration=3:sample_rate=48000",
		"-f", "lavfi", "-i", "sine=frequency=2500:duration=3:sample_rate=48000", "-filter_complex", "[0][1]amerge=inputs=2",
		"-c:a", "libmp3lame", "-b:a", "192k")
	srv := mp3TestServe(t, dir)

	for _, tc := range []struct {
		name     string
		rate     int
		channels int
		freqs    []float64
	}{
		{"mono.mp3", 44100, 1, []float64{1000}},
		{"stereo.mp3", 48000, 2, []float64{1000, 2500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ps := mp3TestRead(t, srv, tc.name, Options{}, nil)
			a := m.Audio()
			if m.Video() != nil || m.Live() || a.Codec != hub.AAC || a.SampleRate != tc.rate || a.Channels != tc.channels {
				t.Fatalf("video %v, live %v, audio %+v", m.Video(), m.Live(), a)
			}
			if cfg, err := aac.ParseAudioSpecificConfig(a.AudioConfig); err != nil || cfg.SampleRate != tc.rate || cfg.ChannelConfig != tc.channels {
				t.Fatalf("AudioConfig %x: %+v, %v", a.AudioConfig, cfg, err)
			}
			if d := mp3TestDuration(t, m, ps); !mp3TestNear(d, 3*time.Second, 100*time.Millisecond) {
				t.Errorf("%d frames, %v", len(ps), d)
			}
			for c, x := range mp3TestDecode(t, a, ps) {
				level, share := mp3TestTone(x[tc.rate/4:5*tc.rate/2], tc.freqs[c], tc.rate)
				// lavfi's sine is at 1/8 of full scale: -18 dBFS peak, -21 dB RMS.
				if share < 0.99 || math.Abs(level+21.1) > 1 {
					t.Errorf("channel %d: %.1f dBFS, %.4f of it at %v Hz", c, level, share, tc.freqs[c])
				}
			}
		})
	}

	levels := map[string]float64{}
	for _, tc := range []struct {
		name  string
		opts  Options
		after func(Media)
	}{
		{"full", Options{}, nil},
		{"half", Options{Volume: 50}, nil},
		{"double", Options{Volume: 200}, nil},
		{"muted", Options{}, func(m Media) {
			if !m.SetVolume(0) {
				t.Error("SetVolume: false")
			}
		}},
	} {
		m, ps := mp3TestRead(t, srv, "mono.mp3", tc.opts, tc.after)
		x := mp3TestDecode(t, m.Audio(), ps)[0]
		levels[tc.name], _ = mp3TestTone(x[11025:110250], 1000, 44100)
	}
	if d := levels["half"] - levels["full"]; math.Abs(d+6.02) > 1.5 {
		t.Errorf("volume 50: %+.2f dB", d)
	}
	if d := levels["double"] - levels["full"]; math.Abs(d-6.02) > 1.5 {
		t.Errorf("volume 200: %+.2f dB", d)
	}
	if levels["muted"] > -120 {
		t.Errorf("volume 0: %.1f dBFS", levels["muted"])
	}

	m, ps := mp3TestRead(t, srv, "mono.mp3", Options{Seek: time.Second}, nil)
	if d := mp3TestDuration(t, m, ps); !mp3TestNear(d, 2*time.Second, 100*time.Millisecond) {
		t.Errorf("from 1 s: %d frames, %v", len(ps), d)
	}
	m, ps = mp3TestRead(t, srv, "mono.mp3", Options{Seek: 10 * time.Second}, nil)
	if d := mp3TestDuration(t, m, ps); d > 50*time.Millisecond {
		t.Errorf("from past the end: %d frames, %v", len(ps), d)
	}
}

// The encoder's delay and padding (LAME's gapless information) are cut: a click at 1 s of
// the file is at 1 s of the packets' time line, after the AAC frame of priming.
func TestMP3Gapless(t *testing.T) {
	dir := t.TempDir()
	mp3TestFile(t, dir, "click.mp3", "-f", "lavfi", "-i", "aevalsrc=if(eq(n\\,44100)\\,0.9\\,0):d=2:s=44100", "-c:a", "libmp3lame", "-b:a", "192k")
	srv := mp3TestServe(t, dir)
	for _, seek := range []time.Duration{0, 250 * time.Millisecond} {
		m, ps := mp3TestRead(t, srv, "click.mp3", Options{Seek: seek}, nil)
		x := mp3TestDecode(t, m.Audio(), ps)[0]
		peak := 0
		for i, v := range x {
			if math.Abs(v) > math.Abs(x[peak]) {
				peak = i
			}
		}
		want := 44100 - int(seek.Seconds()*44100) + aac.SamplesPerFrame
		if peak < want-8 || peak > want+8 {
			t.Errorf("from %v: the click at sample %d, want %d", seek, peak, want)
		}
		if d := mp3TestDuration(t, m, ps); !mp3TestNear(d, 2*time.Second-seek, 50*time.Millisecond) {
			t.Errorf("from %v: %v", seek, d)
		}
	}
}

func TestMP3SetVolumeMidway(t *testing.T) {
	dir := t.TempDir()
	mp3TestFile(t, dir, "a.mp3", "-f", "lavfi", "-i", "sine=frequency=1000:duration=2", "-c:a", "libmp3lame")
	srv := mp3TestServe(t, dir)
	m, err := Open(context.Background(), srv.URL+"/a.mp3", Options{Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var ps []Packet
	for {
		p, err := m.Next(context.Background())
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if ps = append(ps, p); len(ps) == 43 {
			m.SetVolume(0)
		}
	}
	x := mp3TestDecode(t, m.Audio(), ps)[0]
	loud, _ := mp3TestTone(x[10000:40000], 1000, 44100)
	quiet, _ := mp3TestTone(x[50000:80000], 1000, 44100)
	if loud < -25 || quiet > -120 {
		t.Errorf("before SetVolume(0) %.1f dBFS, after %.1f dBFS", loud, quiet)
	}
}

func TestMP3Refused(t *testing.T) {
	dir := t.TempDir()
	mp3TestFile(t, dir, "a.mp2", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "mp2", "-f", "mp2")
	mp3TestFile(t, dir, "low.mp3", "-f", "lavfi", "-i", "sine=duration=1:sample_rate=8000", "-c:a", "libmp3lame")
	for name, body := range map[string][]byte{
		"junk.mp3":      append([]byte{0xff, 0xfb, 0x90, 0x64}, bytes.Repeat([]byte("not an mp3 "), 1000)...),
		"id3-only.mp3":  []byte("ID3\x04\x00\x00\x00\x00\x00\x05abcde"),
		"id3-short.mp3": []byte("ID3\x04\x00\x00\x00\x00\x10\x00abcde"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := mp3TestServe(t, dir)
	for name, reason := range map[string]string{
		"a.mp2":         "layer 2",
		"low.mp3":       "MPEG-2.5",
		"junk.mp3":      "no MP3 frame",
		"id3-only.mp3":  "no audio frame",
		"id3-short.mp3": "ends within its ID3 tag",
	} {
		_, err := Open(context.Background(), srv.URL+"/"+name, Options{Client: srv.Client()})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v, want ErrUnsupported saying %q", name, err, reason)
		}
	}
}

func FuzzMP3(f *testing.F) {
	dir := f.TempDir()
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "libmp3lame", "-b:a", "32k"},
		{"-f", "lavfi", "-i", "anoisesrc=duration=0.2:sample_rate=22050", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "32k"},
	} {
		b, err := os.ReadFile(mp3TestFile(f, dir, "seed.mp3", args...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := openMP3(bytes.NewReader(b), Options{Volume: 100, Seek: 50 * time.Millisecond})
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error not ErrUnsupported: %v", err)
			}
			return
		}
		defer m.Close()
		for range 10000 {
			_, err := m.Next(context.Background())
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("error not ErrUnsupported: %v", err)
				}
				return
			}
		}
		t.Fatal("no end after 10000 frames")
	})
}

// BenchmarkMP3 is the cost of MP3 → AAC, per second of stereo 44.1 kHz audio.
func BenchmarkMP3(b *testing.B) {
	dir := b.TempDir()
	const seconds = 10
	body, err := os.ReadFile(mp3TestFile(b, dir, "music.mp3", "-f", "lavfi", "-i", "anoisesrc=duration=10:color=pink:amplitude=0.3",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-filter_complex", "[0][1]amerge=inputs=2,pan=stereo|c0=c0+c1|c1=c0-c1",
		"-c:a", "libmp3lame", "-b:a", "192k"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := openMP3(bytes.NewReader(body), Options{Volume: 80})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := m.Next(context.Background()); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*seconds), "ms/audio-s")
}

func mp3TestNear(a, b, tolerance time.Duration) bool { return a-b <= tolerance && b-a <= tolerance }
