package aac

import (
	"errors"
	"fmt"
	"math"
)

// Syntactic element ids and codebooks of ISO/IEC 14496-3 4.4.2 / 4.5.2.3 that the encoder uses.
const (
	idSCE     = 0
	idCPE     = 1
	idEND     = 7
	zeroHCB   = 0
	escHCB    = 11
	escFlag   = 16
	maxQuant  = 8191
	quantBias = 0.4054 // rounding offset of the reference quantizer
)

// LongBlockEncoder writes AAC-LC raw_data_blocks of one ONLY_LONG window with the sine window
// shape per channel: one scalefactor for every coded band, codebook 11 (escape) for every band
// that has a non-zero line, ZERO_HCB elsewhere; no TNS, pulses, M/S or intensity. It is a
// faithful, not an efficient, coder: fine for tones and test signals, not for music.
type LongBlockEncoder struct {
	channels int
	swb      []uint16
	quant    []int // scratch: quantized lines of one channel
}

// NewLongBlockEncoder returns an encoder for cfg, which must be AAC-LC, 1024-sample frames,
// one or two channels at a rate with a sampling frequency index.
func NewLongBlockEncoder(cfg AudioSpecificConfig) (*LongBlockEncoder, error) {
	if cfg.ObjectType != ObjectTypeLC || cfg.SBR || cfg.FrameLength960 {
		return nil, errors.New("aac: the encoder writes plain AAC-LC with 1024-sample frames")
	}
	idx, ok := SampleRateIndex(cfg.SampleRate)
	if !ok {
		return nil, fmt.Errorf("aac: sample rate %d has no sampling frequency index", cfg.SampleRate)
	}
	if cfg.ChannelConfig != 1 && cfg.ChannelConfig != 2 {
		return nil, fmt.Errorf("aac: the encoder writes 1 or 2 channels, not configuration %d", cfg.ChannelConfig)
	}
	return &LongBlockEncoder{channels: cfg.ChannelConfig, swb: swbOffsetLong[idx], quant: make([]int, SamplesPerFrame)}, nil
}

// BandOffsets returns the scalefactor band boundaries of the encoder's long window (the last
// is 1024). Lines above the highest band with a non-zero line cost nothing.
func (e *LongBlockEncoder) BandOffsets() []uint16 { return e.swb }

// Encode appends one raw_data_block to dst: one single_channel_element for mono, one
// channel_pair_element (common_window 0) for stereo, then ID_END and byte alignment. spectra
// holds 1024 MDCT coefficients per channel in the scale of MDCT; nil is silence.
func (e *LongBlockEncoder) Encode(dst []byte, spectra ...[]float64) ([]byte, error) {
	if len(spectra) != e.channels {
		return dst, fmt.Errorf("aac: %d spectra for %d channels", len(spectra), e.channels)
	}
	for _, s := range spectra {
		if s != nil && len(s) != SamplesPerFrame {
			return dst, fmt.Errorf("aac: spectrum of %d lines, want %d", len(s), SamplesPerFrame)
		}
	}
	w := bitWriter{b: dst}
	if e.channels == 1 {
		w.write(idSCE, 3)
		w.write(0, 4) // element_instance_tag
		e.writeICS(&w, spectra[0])
	} else {
		w.write(idCPE, 3)
		w.write(0, 4)
		w.write(0, 1) // common_window
		e.writeICS(&w, spectra[0])
		e.writeICS(&w, spectra[1])
	}
	w.write(idEND, 3)
	return w.bytes(), nil
}

// writeICS writes individual_channel_stream(common_window=0) for one long window.
func (e *LongBlockEncoder) writeICS(w *bitWriter, spec []float64) {
	gain, maxSFB := e.quantize(spec)
	q := e.quant
	w.write(uint32(gain), 8) // global_gain
	// ics_info: reserved 0, ONLY_LONG_SEQUENCE, sine window, max_sfb, no prediction.
	w.write(0, 1)
	w.write(0, 2)
	w.write(0, 1)
	w.write(uint32(maxSFB), 6)
	w.write(0, 1)

	cb := func(band int) int {
		for k := e.swb[band]; k < e.swb[band+1]; k++ {
			if q[k] != 0 {
				return escHCB
			}
		}
		return zeroHCB
	}
	// section_data: runs of bands sharing a codebook; sect_len in 5-bit pieces, 31 escapes.
	for band := 0; band < maxSFB; {
		book := cb(band)
		end := band + 1
		for end < maxSFB && cb(end) == book {
			end++
		}
		w.write(uint32(book), 4)
		n := end - band
		for n >= 31 {
			w.write(31, 5)
			n -= 31
		}
		w.write(uint32(n), 5)
		band = end
	}
	// scale_factor_data: every coded band has the global gain, a difference of 0, whose
	// codeword in the scalefactor Huffman table (Table 4.A.1, index 60) is the single bit 0.
	for band := 0; band < maxSFB; band++ {
		if cb(band) != zeroHCB {
			w.write(0, 1)
		}
	}
	w.write(0, 1) // pulse_data_present
	w.write(0, 1) // tns_data_present
	w.write(0, 1) // gain_control_data_present
	// spectral_data
	for band := 0; band < maxSFB; band++ {
		if cb(band) == zeroHCB {
			continue
		}
		for k := int(e.swb[band]); k < int(e.swb[band+1]); k += 2 {
			writeEscPair(w, q[k], q[k+1])
		}
	}
}

// quantize fills e.quant from spec and returns the global gain and max_sfb. The gain puts the
// loudest line near quantTarget: fine enough for a clean tone, small enough that most lines
// need no escape sequence.
func (e *LongBlockEncoder) quantize(spec []float64) (gain, maxSFB int) {
	q := e.quant
	clear(q)
	var peak float64
	for _, x := range spec {
		peak = max(peak, math.Abs(x))
	}
	const quantTarget = 200.0
	if peak < 1e-3 {
		return 100, 0
	}
	// Decoder: x = q^(4/3) · 2^((gain-100)/4). Pick gain so the peak quantizes to ≈ quantTarget.
	g := math.Ceil(100 + 4*math.Log2(peak/math.Pow(quantTarget, 4.0/3)))
	gain = int(min(max(g, 0), 255))
	inv := math.Pow(2, -float64(gain-100)/4)
	for k, x := range spec {
		v := math.Pow(math.Abs(x)*inv, 0.75) + quantBias
		if v < 1 {
			continue
		}
		n := min(int(v), maxQuant)
		if x < 0 {
			n = -n
		}
		q[k] = n
	}
	for band := len(e.swb) - 2; band >= 0; band-- {
		for k := e.swb[band]; k < e.swb[band+1]; k++ {
			if q[k] != 0 {
				return gain, band + 1
			}
		}
	}
	return gain, 0
}

// writeEscPair writes one pair of codebook 11: the codeword of the magnitudes (16 for 16 and
// above), a sign bit per non-zero line, then an escape sequence per line flagged 16.
func writeEscPair(w *bitWriter, y, z int) {
	ay, az := abs(y), abs(z)
	code := escCode[17*min(ay, escFlag)+min(az, escFlag)]
	w.write(uint32(code>>4), uint(code&0xF))
	if y != 0 {
		w.write(signBit(y), 1)
	}
	if z != 0 {
		w.write(signBit(z), 1)
	}
	if ay >= escFlag {
		writeEscape(w, ay)
	}
	if az >= escFlag {
		writeEscape(w, az)
	}
}

// writeEscape writes escape_sequence for 16 <= v <= 8191: N ones, a zero, then v - 2^(N+4) in
// N+4 bits, where 2^(N+4) <= v < 2^(N+5).
func writeEscape(w *bitWriter, v int) {
	n := 0
	for v >= 1<<(n+5) {
		n++
	}
	w.write(1<<n-1, uint(n))
	w.write(0, 1)
	w.write(uint32(v-1<<(n+4)), uint(n+4))
}

func signBit(v int) uint32 {
	if v < 0 {
		return 1
	}
	return 0
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
