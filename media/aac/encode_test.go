package aac

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// The codebook must be a complete prefix code: a typo in a transcribed table breaks one of these.
func TestEscCodebookIsCompletePrefixCode(t *testing.T) {
	var kraft float64
	seen := map[string]int{}
	for i, e := range escCode {
		n := int(e & 0xF)
		if n < 4 || n > 12 {
			t.Fatalf("entry %d: length %d", i, n)
		}
		kraft += math.Pow(2, -float64(n))
		s := fmt.Sprintf("%0*b", n, e>>4)
		if len(s) != n {
			t.Fatalf("entry %d: code %b longer than %d bits", i, e>>4, n)
		}
		for other, j := range seen {
			if len(other) <= n && s[:len(other)] == other || len(s) < len(other) && other[:n] == s {
				t.Fatalf("entries %d (%s) and %d (%s): one is a prefix of the other", i, s, j, other)
			}
		}
		seen[s] = i
	}
	if kraft != 1 {
		t.Errorf("Kraft sum %v, want 1", kraft)
	}
}

// Every magnitude up to 8191, both signs, through the writer and a reader built from the table.
func TestEscPairRoundTrip(t *testing.T) {
	var vals []int
	for v := 0; v <= maxQuant; v += 1 + v/7 {
		vals = append(vals, v, -v)
	}
	vals = append(vals, 15, 16, 17, 31, 32, 33, maxQuant, -maxQuant)
	var w bitWriter
	for i := 0; i+1 < len(vals); i += 2 {
		writeEscPair(&w, vals[i], vals[i+1])
	}
	r := newSpecReader(w.bytes())
	for i := 0; i+1 < len(vals); i += 2 {
		y, z, err := r.pair()
		if err != nil {
			t.Fatalf("pair %d: %v", i/2, err)
		}
		if y != vals[i] || z != vals[i+1] {
			t.Fatalf("pair %d = (%d, %d), want (%d, %d)", i/2, y, z, vals[i], vals[i+1])
		}
	}
}

// MDCT, then the decoder's IMDCT (ISO/IEC 14496-3 4.6.11.3.1), windowing and overlap-add,
// give the input back: the scale convention Encode relies on.
func TestMDCTReconstructs(t *testing.T) {
	const frames = 4
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, (frames+1)*SamplesPerFrame)
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	win := SineWindow()
	out := make([]float64, len(x))
	block := make([]float64, LongWindowLen)
	spec := make([]float64, SamplesPerFrame)
	for f := 0; f < frames; f++ {
		start := f * SamplesPerFrame
		for n := range block {
			block[n] = x[start+n] * win[n]
		}
		MDCT(spec, block, 0)
		for n := 0; n < LongWindowLen; n++ {
			var sum float64
			for k, X := range spec {
				sum += X * math.Cos(2*math.Pi/LongWindowLen*(float64(n)+LongWindowLen/4+0.5)*(float64(k)+0.5))
			}
			out[start+n] += 2.0 / LongWindowLen * sum * win[n]
		}
	}
	for i := SamplesPerFrame; i < frames*SamplesPerFrame; i++ {
		if math.Abs(out[i]-x[i]) > 1e-9 {
			t.Fatalf("sample %d: %v, want %v", i, out[i], x[i])
		}
	}
}

// The raw data blocks parse back (with a reader of our own) to the quantized spectrum, and the
// dequantized lines are within one quantizer step of the input.
func TestEncodeParsesBack(t *testing.T) {
	for _, ch := range []int{1, 2} {
		enc, err := NewLongBlockEncoder(AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: ch})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		spectra := make([][]float64, ch)
		for c := range spectra {
			spectra[c] = make([]float64, SamplesPerFrame)
			// sparse lines, some loud, up to line 700 (past many band boundaries and a 31-band section)
			for k := 0; k < 700; k += 1 + rng.IntN(9) {
				spectra[c][k] = (rng.Float64()*2 - 1) * math.Pow(10, rng.Float64()*6)
			}
		}
		raw, err := enc.Encode(nil, spectra...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseRawBlock(raw, ch, enc.swb)
		if err != nil {
			t.Fatalf("%d channels: %v", ch, err)
		}
		for c := range spectra {
			for k, want := range spectra[c] {
				step := got[c].gain * math.Pow(math.Max(math.Abs(got[c].lines[k]/got[c].gain), 1), 1.0/4) * 4.0 / 3
				if d := math.Abs(got[c].lines[k] - want); d > step {
					t.Fatalf("%d channels, channel %d, line %d: %v, want %v (step %v)", ch, c, k, got[c].lines[k], want, step)
				}
			}
		}
	}
	// Silence is a block with max_sfb 0.
	enc, _ := NewLongBlockEncoder(AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1})
	raw, err := enc.Encode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4 {
		t.Errorf("a silent mono block is %d bytes (%x), want 4", len(raw), raw)
	}
}

func TestEncoderConfigErrors(t *testing.T) {
	for _, c := range []AudioSpecificConfig{
		{ObjectType: ObjectTypeMain, SampleRate: 48000, ChannelConfig: 1},
		{ObjectType: ObjectTypeLC, SampleRate: 50000, ChannelConfig: 1},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 3},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1, FrameLength960: true},
	} {
		if _, err := NewLongBlockEncoder(c); err == nil {
			t.Errorf("NewLongBlockEncoder(%+v): no error", c)
		}
	}
	enc, _ := NewLongBlockEncoder(AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2})
	if _, err := enc.Encode(nil, nil); err == nil {
		t.Error("one spectrum for two channels: no error")
	}
	if _, err := enc.Encode(nil, make([]float64, 10), nil); err == nil {
		t.Error("a short spectrum: no error")
	}
}

// ffmpeg decodes what the encoder writes from a general MDCT of a chord, without a word, at the
// level that went in.
func TestEncodeDecodesWithFFmpeg(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	const rate, frames = 32000, 40
	asc := AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: rate, ChannelConfig: 2}
	enc, err := NewLongBlockEncoder(asc)
	if err != nil {
		t.Fatal(err)
	}
	signal := func(ch, m int) float64 { // a chord, different per channel, peak 0.3 of full scale
		tm := float64(m) / rate
		return 32768 * 0.1 * (math.Sin(2*math.Pi*(300+float64(ch)*200)*tm) + math.Sin(2*math.Pi*1234*tm) + math.Sin(2*math.Pi*3210*tm))
	}
	win := SineWindow()
	var stream []byte
	block := make([]float64, LongWindowLen)
	for f := 0; f < frames; f++ {
		spectra := [][]float64{make([]float64, SamplesPerFrame), make([]float64, SamplesPerFrame)}
		for ch := range spectra {
			for n := range block {
				block[n] = win[n] * signal(ch, (f-1)*SamplesPerFrame+n)
			}
			MDCT(spectra[ch], block, 0)
		}
		raw, err := enc.Encode(nil, spectra...)
		if err != nil {
			t.Fatal(err)
		}
		stream, err = AppendADTSHeader(stream, ADTSHeader{ObjectType: ObjectTypeLC, SampleRate: rate, ChannelConfig: 2}, len(raw))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, raw...)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "chord.aac")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ffmpeg, "-v", "error", "-i", in, "-f", "f32le", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pcm, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	if len(pcm) != frames*SamplesPerFrame*2*4 {
		t.Fatalf("decoded %d bytes, want %d", len(pcm), frames*SamplesPerFrame*2*4)
	}
	// Output sample m is input sample m-1024 (the codec's one-frame delay). Compare after the
	// first decoded frame, which holds the half-window of priming.
	var errPow, sigPow float64
	for m := 2 * SamplesPerFrame; m < frames*SamplesPerFrame; m++ {
		for ch := 0; ch < 2; ch++ {
			got := float64(math.Float32frombits(binary.LittleEndian.Uint32(pcm[(m*2+ch)*4:])))
			want := signal(ch, m-SamplesPerFrame) / 32768
			errPow += (got - want) * (got - want)
			sigPow += want * want
		}
	}
	if snr := 10 * math.Log10(sigPow/errPow); snr < 40 {
		t.Errorf("decoded chord SNR %.1f dB, want >= 40", snr)
	} else {
		t.Logf("decoded chord SNR %.1f dB", snr)
	}
}

// specReader reads codebook 11 pairs the way a decoder does, from the codebook table alone.
type specReader struct {
	r     bitReader
	codes map[[2]uint32]int // (length, code) → index
}

func newSpecReader(b []byte) *specReader {
	s := &specReader{r: bitReader{b: b}, codes: map[[2]uint32]int{}}
	for i, e := range escCode {
		s.codes[[2]uint32{uint32(e & 0xF), uint32(e >> 4)}] = i
	}
	return s
}

func (s *specReader) pair() (int, int, error) {
	var code uint32
	idx := -1
	for n := uint32(1); n <= 12 && idx < 0; n++ {
		bit, err := s.r.read(1)
		if err != nil {
			return 0, 0, err
		}
		code = code<<1 | bit
		if i, ok := s.codes[[2]uint32{n, code}]; ok {
			idx = i
		}
	}
	if idx < 0 {
		return 0, 0, fmt.Errorf("no codeword")
	}
	v := [2]int{idx / 17, idx % 17}
	for j := range v {
		if v[j] != 0 {
			sign, err := s.r.read(1)
			if err != nil {
				return 0, 0, err
			}
			if sign == 1 {
				v[j] = -v[j]
			}
		}
	}
	for j := range v {
		if abs(v[j]) == escFlag {
			n := 0
			for {
				b, err := s.r.read(1)
				if err != nil {
					return 0, 0, err
				}
				if b == 0 {
					break
				}
				n++
			}
			word, err := s.r.read(n + 4)
			if err != nil {
				return 0, 0, err
			}
			m := 1<<(n+4) + int(word)
			if v[j] < 0 {
				m = -m
			}
			v[j] = m
		}
	}
	return v[0], v[1], nil
}

type decodedChannel struct {
	gain  float64
	lines []float64
}

// parseRawBlock reads back the subset of raw_data_block syntax Encode writes.
func parseRawBlock(b []byte, channels int, swb []uint16) ([]decodedChannel, error) {
	s := newSpecReader(b)
	r := &s.r
	id, _ := r.read(3)
	if _, err := r.read(4); err != nil {
		return nil, err
	}
	if channels == 1 && id != idSCE || channels == 2 && id != idCPE {
		return nil, fmt.Errorf("element id %d", id)
	}
	if channels == 2 {
		if cw, _ := r.read(1); cw != 0 {
			return nil, fmt.Errorf("common_window set")
		}
	}
	var out []decodedChannel
	for c := 0; c < channels; c++ {
		g, _ := r.read(8)
		info, _ := r.read(4)
		if info != 0 {
			return nil, fmt.Errorf("ics_info %04b", info)
		}
		maxSFB, _ := r.read(6)
		if p, _ := r.read(1); p != 0 {
			return nil, fmt.Errorf("prediction")
		}
		books := make([]int, 0, maxSFB)
		for len(books) < int(maxSFB) {
			book, _ := r.read(4)
			n := 0
			for {
				inc, err := r.read(5)
				if err != nil {
					return nil, err
				}
				n += int(inc)
				if inc != 31 {
					break
				}
			}
			for i := 0; i < n; i++ {
				books = append(books, int(book))
			}
		}
		if len(books) != int(maxSFB) {
			return nil, fmt.Errorf("sections cover %d bands, max_sfb %d", len(books), maxSFB)
		}
		for _, book := range books {
			if book != zeroHCB {
				if d, _ := r.read(1); d != 0 {
					return nil, fmt.Errorf("scalefactor difference not 0")
				}
			}
		}
		if tools, _ := r.read(3); tools != 0 {
			return nil, fmt.Errorf("pulse/tns/gain control set")
		}
		gain := math.Pow(2, (float64(g)-100)/4)
		ch := decodedChannel{gain: gain, lines: make([]float64, SamplesPerFrame)}
		for band, book := range books {
			if book == zeroHCB {
				continue
			}
			for k := int(swb[band]); k < int(swb[band+1]); k += 2 {
				y, z, err := s.pair()
				if err != nil {
					return nil, err
				}
				for j, q := range []int{y, z} {
					ch.lines[k+j] = math.Copysign(math.Pow(math.Abs(float64(q)), 4.0/3)*gain, float64(q))
				}
			}
		}
		out = append(out, ch)
	}
	if end, _ := r.read(3); end != idEND {
		return nil, fmt.Errorf("no ID_END")
	}
	return out, nil
}
