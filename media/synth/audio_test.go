package synth

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

func TestAudioFrames(t *testing.T) {
	a, err := NewAudio(AudioConfig{UserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := a.Config()
	if cfg.SampleRate != 48000 || cfg.Channels != 1 || cfg.Frequency != UserTone("alice") {
		t.Fatalf("defaults: %+v", cfg)
	}
	for i := int64(0); i < 500; i++ {
		f := a.Next()
		if want := time.Duration(i) * 1024 * time.Second / 48000; f.PTS != want {
			t.Fatalf("frame %d: PTS %v, want %v", i, f.PTS, want)
		}
		h, err := aac.ParseADTSHeader(f.ADTS)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if h.FrameLength != len(f.ADTS) || h.SampleRate != 48000 || h.ChannelConfig != 1 || h.ObjectType != aac.ObjectTypeLC {
			t.Fatalf("frame %d: header %+v, %d bytes", i, h, len(f.ADTS))
		}
	}
	if got := a.AudioSpecificConfig(); got != (aac.AudioSpecificConfig{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}) {
		t.Errorf("AudioSpecificConfig = %+v", got)
	}
}

func TestAudioConfigErrors(t *testing.T) {
	for _, c := range []AudioConfig{
		{UserId: "u", Channels: 3},
		{UserId: "u", SampleRate: 50000},
		{UserId: "u", SampleRate: 8000, Frequency: 4000},
		{UserId: "u", Frequency: -1},
	} {
		if _, err := NewAudio(c); err == nil {
			t.Errorf("NewAudio(%+v): no error", c)
		}
	}
}

// ffmpeg decodes the frames without a word, and the decoded PCM is the user's tone: the
// strongest frequency is the user's, the level is -20 dBFS peak, and what is not the tone is at
// least 40 dB down. Distinct users get distinct tones.
func TestAudioToneDecodesWithFFmpeg(t *testing.T) {
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	cases := []AudioConfig{
		{UserId: "alice"},
		{UserId: "bob", Channels: 2},
		{UserId: "carol", SampleRate: 16000},
		{UserId: "dave", SampleRate: 44100, Channels: 2},
	}
	seen := map[float64]string{}
	for _, c := range cases {
		f := UserTone(c.UserId)
		if other, ok := seen[f]; ok {
			t.Fatalf("%s and %s share %.1f Hz", c.UserId, other, f)
		}
		seen[f] = c.UserId
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.UserId, func(t *testing.T) {
			a, err := NewAudio(c)
			if err != nil {
				t.Fatal(err)
			}
			cfg := a.Config()
			const seconds = 3
			frames := seconds * cfg.SampleRate / 1024
			var stream []byte
			for range frames {
				stream = append(stream, a.Next().ADTS...)
			}
			path := filepath.Join(dir, c.UserId+".aac")
			if err := os.WriteFile(path, stream, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f Hz, %d Hz, %d ch: %.1f kbit/s", c.UserId, cfg.Frequency, cfg.SampleRate, cfg.Channels,
				float64(len(stream))*8/1000/(float64(frames)*1024/float64(cfg.SampleRate)))

			out, err := exec.Command(ffprobe, "-v", "error", "-show_streams", "-of", "json", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					CodecName  string `json:"codec_name"`
					Profile    string `json:"profile"`
					SampleRate string `json:"sample_rate"`
					Channels   int    `json:"channels"`
				}
			}
			if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
				t.Fatalf("ffprobe: %v %s", err, out)
			}
			if s := probe.Streams[0]; s.CodecName != "aac" || s.Profile != "LC" || s.SampleRate != strconv.Itoa(cfg.SampleRate) || s.Channels != cfg.Channels {
				t.Errorf("ffprobe: %+v", s)
			}

			cmd := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "f32le", "-")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
			}
			if want := frames * 1024 * cfg.Channels * 4; len(raw) != want {
				t.Fatalf("decoded %d bytes, want %d", len(raw), want)
			}
			for ch := 0; ch < cfg.Channels; ch++ {
				// Skip the first two frames (decoder priming), analyse one second.
				pcm := make([]float64, cfg.SampleRate)
				for i := range pcm {
					off := ((2*1024+i)*cfg.Channels + ch) * 4
					pcm[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[off:])))
				}
				peakHz := audioStrongestFrequency(pcm, cfg.SampleRate, 100, 2000)
				if math.Abs(peakHz-cfg.Frequency) > 1.5 {
					t.Errorf("channel %d: strongest frequency %.1f Hz, want %.1f", ch, peakHz, cfg.Frequency)
				}
				amp, snr := audioFitTone(pcm, cfg.SampleRate, cfg.Frequency)
				if db := 20 * math.Log10(amp); math.Abs(db-20*math.Log10(audioLevel)) > 0.5 {
					t.Errorf("channel %d: tone at %.2f dBFS, want %.2f", ch, db, 20*math.Log10(audioLevel))
				}
				if snr < 40 {
					t.Errorf("channel %d: tone SNR %.1f dB, want >= 40", ch, snr)
				}
				t.Logf("channel %d: peak at %.1f Hz, amplitude %.4f, SNR %.1f dB", ch, peakHz, amp, snr)
			}
		})
	}
}

func BenchmarkAudioNext(b *testing.B) {
	a, err := NewAudio(AudioConfig{UserId: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		a.Next()
	}
	audio := time.Duration(b.N) * a.FrameDuration()
	b.ReportMetric(audio.Seconds()/b.Elapsed().Seconds(), "x-real-time")
}

// audioStrongestFrequency scans lo…hi Hz in 1 Hz steps with a Goertzel DFT, then refines
// around the best in 0.1 Hz steps.
func audioStrongestFrequency(x []float64, rate int, lo, hi float64) float64 {
	f := audioScan(x, rate, lo, hi, 1)
	return audioScan(x, rate, f-1, f+1, 0.1)
}

func audioScan(x []float64, rate int, lo, hi, step float64) float64 {
	best, bestPow := 0.0, -1.0
	for f := lo; f <= hi; f += step {
		w := 2 * math.Pi * f / float64(rate)
		coeff := 2 * math.Cos(w)
		var s1, s2 float64
		for _, v := range x {
			s1, s2 = v+coeff*s1-s2, s1
		}
		pow := s1*s1 + s2*s2 - coeff*s1*s2
		if pow > bestPow {
			best, bestPow = f, pow
		}
	}
	return best
}

// audioFitTone fits a·sin + b·cos at f by least squares and returns the amplitude and the ratio of
// the fit's energy to the residual's, in dB.
func audioFitTone(x []float64, rate int, f float64) (amp, snrDB float64) {
	var ss, cc, sc, xs, xc float64
	w := 2 * math.Pi * f / float64(rate)
	for i, v := range x {
		s, c := math.Sin(w*float64(i)), math.Cos(w*float64(i))
		ss += s * s
		cc += c * c
		sc += s * c
		xs += v * s
		xc += v * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var sig, res float64
	for i, v := range x {
		fit := a*math.Sin(w*float64(i)) + b*math.Cos(w*float64(i))
		sig += fit * fit
		res += (v - fit) * (v - fit)
	}
	return math.Hypot(a, b), 10 * math.Log10(sig/res)
}

// TestAudioPCM: the uncoded frames carry the user's tone at the coded level, continuous
// across frames (frame i+1 goes on where frame i stopped), on every channel.
func TestAudioPCM(t *testing.T) {
	a, err := NewAudio(AudioConfig{UserId: "alice", Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	var mono []int16
	for i := range int64(47) {
		f := a.PCM(i)
		if len(f) != 2*aac.SamplesPerFrame {
			t.Fatalf("frame %d: %d samples", i, len(f))
		}
		for n := 0; n < len(f); n += 2 {
			if f[n] != f[n+1] {
				t.Fatalf("frame %d sample %d: channels differ", i, n/2)
			}
			mono = append(mono, f[n])
		}
	}
	tone := UserTone("alice")
	if got := testpeer.ToneLevel(mono, 48000, tone); math.Abs(got-audioLevel) > 0.01 {
		t.Errorf("tone %.0f Hz at %.3f of full scale, want %.3f", tone, got, audioLevel)
	}
	if off := testpeer.ToneLevel(mono, 48000, tone*1.5); off > 0.005 {
		t.Errorf("energy at %.0f Hz: %.4f", tone*1.5, off)
	}
	// Continuity: the step between neighbours never exceeds the tone's largest slope.
	maxStep := 2 * math.Pi * tone / 48000 * audioLevel * 32767 * 1.05
	for n := 1; n < len(mono); n++ {
		if d := math.Abs(float64(mono[n]) - float64(mono[n-1])); d > maxStep+1 {
			t.Fatalf("sample %d jumps by %.0f (max %.0f)", n, d, maxStep)
		}
	}
}
