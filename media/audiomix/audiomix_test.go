package audiomix

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

func tone(f float64, level float64, n, rate int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(level * 32767 * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
	}
	return out
}

// TestMixHoldsEachTone: three users' tones mixed, coded to AAC with our encoder and
// decoded by ffmpeg: each tone is there at its level, a frequency nobody sent is not.
func TestMixHoldsEachTone(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	const rate, n = 48000, 48000 * 2
	freqs := []float64{440, 660, 990}
	var srcs [][]int16
	for _, f := range freqs {
		srcs = append(srcs, tone(f, 0.1, n, rate))
	}
	m := New()
	enc, err := aac.NewPCMEncoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var adts []byte
	hdr := aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: rate, ChannelConfig: 1}
	for at := 0; at < n; at += 1024 {
		frame := make([]int16, 1024)
		var parts [][]int16
		for _, s := range srcs {
			parts = append(parts, s[at:min(at+1024, n)])
		}
		frames, err := enc.Write(m.Mix(frame, parts...))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			adts, _ = aac.AppendADTSHeader(adts, hdr, len(f))
			adts = append(adts, f...)
		}
	}
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "aac", "-i", "-", "-f", "s16le", "-")
	cmd.Stdin = bytes.NewReader(adts)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	pcm := make([]int16, len(raw)/2)
	binary.Read(bytes.NewReader(raw), binary.LittleEndian, pcm)
	for _, f := range freqs {
		if l := testpeer.ToneLevel(pcm, rate, f); l < 0.08 || l > 0.12 {
			t.Fatalf("%.0f Hz at %.3f of full scale, want 0.1", f, l)
		}
	}
	if l := testpeer.ToneLevel(pcm, rate, 1500); l > 0.005 {
		t.Fatalf("1500 Hz, which nobody sent, at %.4f", l)
	}
}

// TestMixNeverClips: loud sources summed stay within full scale, no wrap-around (a sum
// that wrapped would flip sign), and the gain recovers once they are quiet.
func TestMixNeverClips(t *testing.T) {
	m := New()
	loud := tone(100, 0.9, 1024, 48000)
	out := m.Mix(make([]int16, 1024), loud, loud, loud)
	for i, v := range out {
		if (loud[i] > 1000 && v < 0) || (loud[i] < -1000 && v > 0) {
			t.Fatalf("sample %d wrapped: %d from 3 x %d", i, v, loud[i])
		}
	}
	quiet := tone(100, 0.01, 1024, 48000)
	for range 200 {
		out = m.Mix(make([]int16, 1024), quiet)
	}
	if got, want := testpeer.ToneLevel(out, 48000, 100), 0.01; math.Abs(got-want) > 0.001 {
		t.Fatalf("the gain did not recover: %.4f, want %.3f", got, want)
	}
}

// FuzzMix: any sources of any lengths mix without panic and within range.
func FuzzMix(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{0xff, 0x7f, 0xff, 0x7f}, 8)
	f.Fuzz(func(t *testing.T, a, b []byte, n int) {
		n = int(uint(n) % 4096)
		toPCM := func(p []byte) []int16 {
			out := make([]int16, len(p)/2)
			binary.Read(bytes.NewReader(p[:len(out)*2]), binary.LittleEndian, out)
			return out
		}
		New().Mix(make([]int16, n), toPCM(a), toPCM(b), toPCM(a))
	})
}
