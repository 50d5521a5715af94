package aac

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

func TestFastMDCTMatchesMDCT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := NewFastMDCT()
	block := make([]float64, LongWindowLen)
	want := make([]float64, SamplesPerFrame)
	got := make([]float64, SamplesPerFrame)
	win := SineWindow()
	for trial := range 8 {
		for n := range block {
			block[n] = (rng.Float64()*2 - 1) * 32768
			if trial%2 == 1 { // a windowed tone: a spectrum far from flat
				block[n] = win[n] * 20000 * math.Sin(2*math.Pi*float64(n)*(3+rng.Float64()*400)/LongWindowLen)
			}
		}
		MDCT(want, block, 0)
		m.Transform(got, block)
		var peak float64
		for _, x := range want {
			peak = max(peak, math.Abs(x))
		}
		for k := range want {
			if d := math.Abs(got[k] - want[k]); d > 1e-6*peak && d > 1e-6*math.Abs(want[k]) {
				t.Fatalf("trial %d, line %d: %v, want %v", trial, k, got[k], want[k])
			}
		}
	}
}

// pcmSignal is seconds of interleaved PCM with sample(ch, n) in [-1, 1] of full scale.
func pcmSignal(rate, channels int, seconds float64, sample func(ch, n int) float64) []int16 {
	n := int(seconds * float64(rate))
	pcm := make([]int16, n*channels)
	for i := range n {
		for ch := range channels {
			pcm[i*channels+ch] = int16(max(min(math.Round(32767*sample(ch, i)), 32767), -32768))
		}
	}
	return pcm
}

func encodePCM(t testing.TB, rate, channels int, pcm []int16, chunk int) [][]byte {
	t.Helper()
	frames, _ := encodePCMAt(t, rate, channels, pcm, chunk, 0)
	return frames
}

// encodePCMAt encodes pcm with a bitrate target (0: none) and returns the encoder too.
func encodePCMAt(t testing.TB, rate, channels int, pcm []int16, chunk, bps int) ([][]byte, *PCMEncoder) {
	t.Helper()
	enc, err := NewPCMEncoder(rate, channels)
	if err != nil {
		t.Fatal(err)
	}
	enc.SetBitrate(bps)
	var frames [][]byte
	for len(pcm) > 0 {
		n := min(chunk, len(pcm))
		out, err := enc.Write(pcm[:n])
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, out...)
		pcm = pcm[n:]
	}
	out, err := enc.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(frames, out...), enc
}

// checkFrames parses every frame back and checks its size against the decoder's buffer.
func checkFrames(t testing.TB, frames [][]byte, rate, channels int) {
	t.Helper()
	idx, _ := SampleRateIndex(rate)
	for i, raw := range frames {
		if len(raw)*8 > maxChannelBits*channels {
			t.Fatalf("frame %d: %d bytes, more than %d bits per channel", i, len(raw), maxChannelBits)
		}
		chans, err := parseRawBlock(raw, channels, swbOffsetLong[idx])
		if err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, len(raw), err)
		}
		for c, ch := range chans {
			if g := 100 + 4*math.Log2(ch.gain); g < -0.5 || g > 255.5 {
				t.Fatalf("frame %d, channel %d: global gain %v", i, c, g)
			}
		}
	}
}

func TestPCMEncoderFramesAndChunking(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ channels, samples int }{
		{1, 0}, {1, 1}, {1, 1024}, {1, 1025}, {2, 2048}, {2, 2049}, {2, 5000}, {2, 3 * 1024 * 2},
	} {
		pcm := make([]int16, tc.samples)
		for i := range pcm {
			pcm[i] = int16(rng.IntN(20000) - 10000)
		}
		whole := encodePCM(t, 48000, tc.channels, pcm, len(pcm)+1)
		perFrame := (tc.samples + tc.channels - 1) / tc.channels
		want := 0
		if perFrame > 0 {
			want = (perFrame+SamplesPerFrame-1)/SamplesPerFrame + 1
		}
		if len(whole) != want {
			t.Errorf("%d channels, %d samples: %d frames, want %d", tc.channels, tc.samples, len(whole), want)
		}
		for _, chunk := range []int{1, 3, 1000, 4096} {
			if got := encodePCM(t, 48000, tc.channels, pcm, chunk); !slices.EqualFunc(got, whole, bytes.Equal) {
				t.Errorf("%d channels, %d samples: written %d at a time, the frames differ", tc.channels, tc.samples, chunk)
			}
		}
		checkFrames(t, whole, 48000, tc.channels)
	}
	enc, _ := NewPCMEncoder(44100, 2)
	if _, err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write([]int16{1, 2}); err == nil {
		t.Error("Write after Flush: no error")
	}
	for _, bad := range [][2]int{{44100, 3}, {44100, 0}, {50000, 2}} {
		if _, err := NewPCMEncoder(bad[0], bad[1]); err == nil {
			t.Errorf("NewPCMEncoder(%d, %d): no error", bad[0], bad[1])
		}
	}
	if c := enc.Config(); c != (AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 44100, ChannelConfig: 2}) {
		t.Errorf("Config() = %+v", c)
	}
}

// hardSignals are the PCM most likely to break a frame's limits.
func hardSignals(rate int) map[string]func(ch, n int) float64 {
	rng := rand.New(rand.NewPCG(9, 10))
	return map[string]func(ch, n int) float64{
		"noise": func(ch, n int) float64 { return rng.Float64()*2 - 1 },
		"square": func(ch, n int) float64 {
			if (n*(220+ch*110)*2/rate)%2 == 0 {
				return 1
			}
			return -1
		},
		"clipped-sweep": func(ch, n int) float64 {
			tm := float64(n) / float64(rate)
			return 4 * math.Sin(2*math.Pi*(50+4000*tm)*tm)
		},
		"nyquist": func(ch, n int) float64 { return float64(1 - 2*(n%2)) },
		"impulses": func(ch, n int) float64 {
			if n%1500 == 0 {
				return -1
			}
			return 0
		},
		"silence": func(ch, n int) float64 { return 0 },
	}
}

func TestPCMEncoderFramesLegal(t *testing.T) {
	for _, rate := range []int{8000, 44100, 96000} {
		for name, sig := range hardSignals(rate) {
			for _, channels := range []int{1, 2} {
				frames := encodePCM(t, rate, channels, pcmSignal(rate, channels, 0.3, sig), 999)
				checkFrames(t, frames, rate, channels)
				if name == "noise" && rate == 44100 {
					t.Logf("%d ch noise: frames of %d bytes", channels, len(frames[len(frames)/2]))
				}
			}
		}
	}
}

// decodeWithFFmpeg wraps frames in ADTS, decodes them with ffmpeg and returns the interleaved
// samples; any message from ffmpeg fails the test.
func decodeWithFFmpeg(t *testing.T, frames [][]byte, cfg AudioSpecificConfig) []int16 {
	t.Helper()
	ffmpeg := testpeer.FFmpeg(t)
	var stream []byte
	for _, raw := range frames {
		var err error
		if stream, err = AppendADTSHeader(stream, ADTSHeader{ObjectType: ObjectTypeLC, SampleRate: cfg.SampleRate, ChannelConfig: cfg.ChannelConfig}, len(raw)); err != nil {
			t.Fatal(err)
		}
		stream = append(stream, raw...)
	}
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "aac", "-i", "-", "-f", "s16le", "-")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	if want := len(frames) * SamplesPerFrame * cfg.ChannelConfig * 2; len(out) != want {
		t.Fatalf("ffmpeg decoded %d bytes, want %d", len(out), want)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// channelOf returns channel ch of interleaved pcm as floats.
func channelOf(pcm []int16, channels, ch int) []float64 {
	x := make([]float64, len(pcm)/channels)
	for i := range x {
		x[i] = float64(pcm[i*channels+ch])
	}
	return x
}

// toneShare is the fraction of x's energy at freq (Goertzel): 1 for a pure tone.
func toneShare(x []float64, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
		energy += v * v
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(x)) * energy)
}

func rmsDB(x []float64) float64 {
	var e float64
	for _, v := range x {
		e += v * v
	}
	return 10 * math.Log10(e/float64(len(x))+1e-30)
}

func TestPCMEncoderDecodesWithFFmpeg(t *testing.T) {
	const rate, seconds = 44100, 2.0
	tones := [][]float64{{1000}, {600, 2400}} // per channel of the stereo signal
	for _, tc := range []struct {
		name     string
		channels int
		freqs    [][]float64
		amp      float64
	}{
		{"mono 1 kHz", 1, tones[:1], 0.5},
		{"stereo two-tone", 2, [][]float64{{1000, 3000}, {600, 2400}}, 0.3},
		{"stereo quiet", 2, [][]float64{{1000}, {1000}}, 0.001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := func(ch, n int) float64 {
				var v float64
				for _, f := range tc.freqs[ch] {
					v += tc.amp * math.Sin(2*math.Pi*f*float64(n)/rate)
				}
				return v
			}
			in := pcmSignal(rate, tc.channels, seconds, sig)
			frames := encodePCM(t, rate, tc.channels, in, 4410)
			if got := SamplesDuration(int64(len(frames)*SamplesPerFrame), rate); got < 2*time.Second || got > 2*time.Second+50*time.Millisecond {
				t.Errorf("%d frames: %v", len(frames), got)
			}
			out := decodeWithFFmpeg(t, frames, AudioSpecificConfig{SampleRate: rate, ChannelConfig: tc.channels})
			for ch := range tc.channels {
				// Output sample m is input sample m-1024; skip the priming and the edges.
				got := channelOf(out, tc.channels, ch)[2*SamplesPerFrame : int(seconds*rate)]
				want := channelOf(in, tc.channels, ch)[SamplesPerFrame : int(seconds*rate)-SamplesPerFrame]
				var share float64
				for _, f := range tc.freqs[ch] {
					share += toneShare(got, f, rate)
				}
				if share < 0.99 {
					t.Errorf("channel %d: %.4f of the energy at %v Hz", ch, share, tc.freqs[ch])
				}
				if d := rmsDB(got) - rmsDB(want); math.Abs(d) > 0.5 {
					t.Errorf("channel %d: level %+.2f dB off", ch, d)
				}
				var errPow, sigPow float64
				for i := range want {
					errPow += (got[i] - want[i]) * (got[i] - want[i])
					sigPow += want[i] * want[i]
				}
				t.Logf("channel %d: %.4f of the energy at %v Hz, SNR %.1f dB", ch, share, tc.freqs[ch], 10*math.Log10(sigPow/errPow))
			}
		})
	}
}

// ffmpeg takes the loudest frames without a word, at about the level that went in.
func TestPCMEncoderHardSignalsDecode(t *testing.T) {
	const rate = 44100
	for name, sig := range hardSignals(rate) {
		in := pcmSignal(rate, 2, 0.5, sig)
		out := decodeWithFFmpeg(t, encodePCM(t, rate, 2, in, 1<<20), AudioSpecificConfig{SampleRate: rate, ChannelConfig: 2})
		if name == "silence" || name == "impulses" {
			continue
		}
		got := channelOf(out, 2, 0)[2*SamplesPerFrame : len(in)/2]
		want := channelOf(in, 2, 0)[SamplesPerFrame : len(in)/2-SamplesPerFrame]
		if d := rmsDB(got) - rmsDB(want); math.Abs(d) > 1.5 {
			t.Errorf("%s: level %+.2f dB off", name, d)
		}
	}
}

func FuzzPCMEncoder(f *testing.F) {
	f.Add([]byte{0, 1}, uint16(7))
	f.Add(bytes.Repeat([]byte{0xff, 0x7f, 0x00, 0x80}, 3000), uint16(1000))
	rng := rand.New(rand.NewPCG(11, 12))
	noise := make([]byte, 4200)
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
	}
	f.Add(noise, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, setup uint16) {
		channels := 1 + int(setup&1)
		rate := sampleRates[int(setup>>1&0xF)%len(sampleRates)]
		chunk := 1 + int(setup>>5)
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		frames := encodePCM(t, rate, channels, pcm, chunk)
		checkFrames(t, frames, rate, channels)
	})
}

// benchSignal is loud, busy, music-like: a chord with vibrato over noise, so that frames hit
// the size limit.
func benchSignal(rate int, seconds float64) []int16 {
	rng := rand.New(rand.NewPCG(13, 14))
	return pcmSignal(rate, 2, seconds, func(ch, n int) float64 {
		tm := float64(n) / float64(rate)
		v := 0.15 * (rng.Float64()*2 - 1)
		for i, f := range []float64{110, 220, 277, 330, 440, 660, 880, 1320, 2640, 5280} {
			v += 0.08 / float64(1+i%3) * math.Sin(2*math.Pi*f*(1+float64(ch)*0.002)*tm+3*math.Sin(2*math.Pi*5*tm))
		}
		return v
	})
}

func BenchmarkPCMEncoder(b *testing.B) {
	const rate, seconds = 44100, 5.0
	pcm := benchSignal(rate, seconds)
	var size int
	b.ResetTimer()
	for b.Loop() {
		size = 0
		for _, fr := range encodePCM(b, rate, 2, pcm, 4096) {
			size += len(fr)
		}
	}
	b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "audio-s/s")
	b.ReportMetric(float64(size)*8/seconds/1000, "kbit/s")
}

// bitrateOf is the bitrate of frames at rate.
func bitrateOf(frames [][]byte, rate int) float64 {
	bits := 0
	for _, f := range frames {
		bits += 8 * len(f)
	}
	return float64(bits) * float64(rate) / float64(len(frames)*SamplesPerFrame)
}

// TestPCMEncoderBitrate: loud noise, which untargeted takes the format's limit (about
// 560 kbit/s in stereo), keeps to each target of the contract's range within a few percent,
// no frame taking more than twice its share (its own and the reservoir's), and decodes with
// ffmpeg; a 1 kHz tone in the noise still comes out at its level at 64 kbit/s.
func TestPCMEncoderBitrate(t *testing.T) {
	const rate, channels, seconds = 48000, 2, 4.0
	rng := rand.New(rand.NewPCG(15, 16))
	noise := pcmSignal(rate, channels, seconds, func(ch, n int) float64 { return 0.3 * (rng.Float64()*2 - 1) })
	if free := bitrateOf(encodePCM(t, rate, channels, noise, 4096), rate); free < 400000 {
		t.Fatalf("untargeted noise takes %.0f bit/s: too little to test a target with", free)
	}
	for _, bps := range []int{32000, 64000, 128000} {
		t.Run(fmt.Sprint(bps), func(t *testing.T) {
			frames, enc := encodePCMAt(t, rate, channels, noise, 4096, bps)
			checkFrames(t, frames, rate, channels)
			got := bitrateOf(frames, rate)
			if bits, n := enc.Stats(); n != int64(len(frames)) || float64(bits)*rate/float64(n*SamplesPerFrame) != got {
				t.Errorf("Stats() = %d bits, %d frames; the frames are %d, %.0f bit/s", bits, n, len(frames), got)
			}
			if r := got / float64(bps); r < 0.85 || r > 1.15 {
				t.Errorf("noise at %d bit/s: %.0f achieved (%.3f of the target)", bps, got, r)
			}
			share := float64(bps) * SamplesPerFrame / rate
			for i, f := range frames {
				if float64(8*len(f)) > 2*share {
					t.Fatalf("frame %d: %d bits, more than twice the share of %.0f", i, 8*len(f), share)
				}
			}
			out := decodeWithFFmpeg(t, frames, enc.Config())
			got0 := channelOf(out, channels, 0)[2*SamplesPerFrame : int(seconds*rate)]
			want0 := channelOf(noise, channels, 0)[SamplesPerFrame : int(seconds*rate)-SamplesPerFrame]
			t.Logf("%d bit/s: %.0f achieved, decoded level %+.1f dB", bps, got, rmsDB(got0)-rmsDB(want0))
		})
	}

	t.Run("tone in noise", func(t *testing.T) {
		const f, bps = 1000.0, 64000
		rng := rand.New(rand.NewPCG(17, 18))
		in := pcmSignal(rate, channels, seconds, func(ch, n int) float64 {
			return 0.2*(rng.Float64()*2-1) + 0.2*math.Sin(2*math.Pi*f*float64(n)/rate)
		})
		frames, enc := encodePCMAt(t, rate, channels, in, 4096, bps)
		if r := bitrateOf(frames, rate) / bps; r < 0.85 || r > 1.15 {
			t.Errorf("%.3f of the target", r)
		}
		out := decodeWithFFmpeg(t, frames, enc.Config())
		for ch := range channels {
			var mono []int16
			for i := 2 * SamplesPerFrame; i < int(seconds*rate); i++ {
				mono = append(mono, out[i*channels+ch])
			}
			level, off := testpeer.ToneLevel(mono, rate, f), testpeer.ToneLevel(mono, rate, 1370)
			if level < 0.2/1.25 || level > 0.2*1.25 || off > level/10 {
				t.Errorf("channel %d: %.3f of full scale at %v Hz, want 0.2; %.4f at 1370 Hz", ch, level, f, off)
			}
			t.Logf("channel %d: %.3f of full scale at %v Hz, %.4f at 1370 Hz", ch, level, f, off)
		}
	})

	t.Run("tone", func(t *testing.T) {
		const bps = 64000
		tone := pcmSignal(rate, channels, seconds, func(ch, n int) float64 { return 0.5 * math.Sin(2*math.Pi*1000*float64(n)/rate) })
		frames, enc := encodePCMAt(t, rate, channels, tone, 4096, bps)
		checkFrames(t, frames, rate, channels)
		if got := bitrateOf(frames, rate); got > bps/2 {
			t.Errorf("a pure tone takes %.0f bit/s of a %d target", got, bps)
		}
		out := decodeWithFFmpeg(t, frames, enc.Config())
		if share := toneShare(channelOf(out, channels, 0)[2*SamplesPerFrame:int(seconds*rate)], 1000, rate); share < 0.99 {
			t.Errorf("%.4f of the energy at 1 kHz", share)
		}
	})
}

// TestPCMEncoderBitrateOff: without a target, or after SetBitrate(0), the frames are the
// ones the encoder wrote before it had targets, bit for bit.
func TestPCMEncoderBitrateOff(t *testing.T) {
	const rate = 48000
	rng := rand.New(rand.NewPCG(21, 22))
	noise := pcmSignal(rate, 2, 1, func(ch, n int) float64 { return 0.3 * (rng.Float64()*2 - 1) })
	tone := pcmSignal(rate, 1, 1, func(ch, n int) float64 { return 0.5 * math.Sin(2*math.Pi*1000*float64(n)/rate) })
	for _, tc := range []struct {
		name     string
		channels int
		pcm      []int16
		want     string
	}{
		{"noise", 2, noise, "a9b15bfa6f97bb271838556157ecabdfd0bfd667fcb864a6f1b0cdd4c883d975"},
		{"tone", 1, tone, "200e26ac556dd7f0af5500d687e2cc45f6d4b12953c8441e1f958c51e570726f"},
	} {
		enc, err := NewPCMEncoder(rate, tc.channels)
		if err != nil {
			t.Fatal(err)
		}
		enc.SetBitrate(32000)
		enc.SetBitrate(0)
		h := sha256.New()
		frames, err := enc.Write(tc.pcm)
		if err != nil {
			t.Fatal(err)
		}
		rest, _ := enc.Flush()
		for _, f := range append(frames, rest...) {
			h.Write(f)
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != tc.want {
			t.Errorf("%s: frames hash to %s, want %s", tc.name, got, tc.want)
		}
	}
}

// BenchmarkPCMEncoderBitrate is BenchmarkPCMEncoder held to bitrate targets: the gain
// search runs on every frame.
func BenchmarkPCMEncoderBitrate(b *testing.B) {
	const rate, seconds = 44100, 5.0
	pcm := benchSignal(rate, seconds)
	for _, bps := range []int{0, 32000, 64000, 128000} {
		b.Run(fmt.Sprint(bps), func(b *testing.B) {
			var frames [][]byte
			for b.Loop() {
				frames, _ = encodePCMAt(b, rate, 2, pcm, 4096, bps)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
			b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "audio-s/s")
			b.ReportMetric(bitrateOf(frames, rate)/1000, "kbit/s")
		})
	}
}
