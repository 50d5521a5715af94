package aac

import (
	"errors"
	"fmt"
	"math"
)

// maxChannelBits is what one channel's share of a raw_data_block may take: the decoder's
// input buffer per channel (ISO/IEC 14496-3 4.5.3.1). The encoder keeps every
// individual_channel_stream under it, less the element and ID_END overhead.
const (
	maxChannelBits = 6144
	maxICSBits     = maxChannelBits - 16
)

// PCMEncoder encodes interleaved 16-bit PCM to AAC-LC raw frames (no ADTS header): one long
// sine-windowed MDCT per 1024 samples per channel, 50% overlap, quantized like
// LongBlockEncoder (one global gain, codebook 11) but with the gain made coarser where a
// channel would outgrow the 6144 bits it may take (so that any PCM gives legal frames) or
// its share of a bitrate target (SetBitrate).
// Frame 0 is the codec's priming frame: frame i decodes to the input's samples
// (i-1)·1024 … i·1024-1, and plays at i·1024/SampleRate.
type PCMEncoder struct {
	cfg      AudioSpecificConfig
	channels int
	swb      []uint16
	window   []float64
	mdct     *FastMDCT

	// blocks hold per channel the previous frame's 1024 samples, then the current one's
	// first fill samples; nextChannel is the channel of the next interleaved sample.
	blocks      [][]float64
	fill        int
	nextChannel int
	written     bool // a sample was written
	flushed     bool

	windowed []float64
	spectrum []float64
	mag      []float64 // |spectrum|^(3/4)
	quant    []int
	coded    []bool // per band: a non-zero line in quant
	bands    int    // max_sfb of quant

	// frameBits is a frame's share of the bitrate target (0: no target); reservoir holds
	// the bits earlier frames left of theirs, at most one frame's share.
	frameBits float64
	reservoir float64
	bits      int64 // of every frame so far
	frames    int64
}

// NewPCMEncoder returns an encoder of sampleRate (a rate with a sampling frequency index)
// and 1 or 2 channels.
func NewPCMEncoder(sampleRate, channels int) (*PCMEncoder, error) {
	cfg := AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: sampleRate, ChannelConfig: channels}
	idx, ok := SampleRateIndex(sampleRate)
	if !ok {
		return nil, fmt.Errorf("aac: sample rate %d has no sampling frequency index", sampleRate)
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("aac: the PCM encoder takes 1 or 2 channels, not %d", channels)
	}
	e := &PCMEncoder{
		cfg:      cfg,
		channels: channels,
		swb:      swbOffsetLong[idx],
		window:   SineWindow(),
		mdct:     NewFastMDCT(),
		blocks:   make([][]float64, channels),
		windowed: make([]float64, LongWindowLen),
		spectrum: make([]float64, SamplesPerFrame),
		mag:      make([]float64, SamplesPerFrame),
		quant:    make([]int, SamplesPerFrame),
		coded:    make([]bool, len(swbOffsetLong[idx])-1),
	}
	for c := range e.blocks {
		e.blocks[c] = make([]float64, LongWindowLen)
	}
	return e, nil
}

// Config is the AudioSpecificConfig of the frames.
func (e *PCMEncoder) Config() AudioSpecificConfig { return e.cfg }

// SetBitrate sets the bitrate, in bits per second, that the frames from the next on keep to:
// each takes at most its share, bps·1024/SampleRate bits, and whatever the frames before it
// left of theirs up to one more share, by quantizing more coarsely where the usual gain
// would take more. Frames that need less (a tone, silence) stay below it. 0 turns the
// target off: the gain is made coarser only where a frame would outgrow the format's limit.
func (e *PCMEncoder) SetBitrate(bps int) {
	e.frameBits = max(0, float64(bps)*SamplesPerFrame/float64(e.cfg.SampleRate))
	e.reservoir = min(e.reservoir, e.frameBits)
}

// Stats returns the bits and the number of the frames encoded so far: their bitrate is
// bits·SampleRate/(1024·frames).
func (e *PCMEncoder) Stats() (bits, frames int64) { return e.bits, e.frames }

// errFlushed is returned by Write and Flush after Flush.
var errFlushed = errors.New("aac: PCM encoder already flushed")

// Write takes interleaved samples (any number, not necessarily whole sample frames) and
// returns the frames completed by them, in order.
func (e *PCMEncoder) Write(pcm []int16) ([][]byte, error) {
	if e.flushed {
		return nil, errFlushed
	}
	var frames [][]byte
	if len(pcm) > 0 {
		e.written = true
	}
	for _, s := range pcm {
		e.blocks[e.nextChannel][SamplesPerFrame+e.fill] = float64(s)
		if e.nextChannel++; e.nextChannel < e.channels {
			continue
		}
		e.nextChannel = 0
		if e.fill++; e.fill == SamplesPerFrame {
			frames = append(frames, e.encodeFrame())
		}
	}
	return frames, nil
}

// Flush pads the input with silence up to the end of the last frame that carries any of it
// and returns the remaining frames. The encoder takes nothing after it.
func (e *PCMEncoder) Flush() ([][]byte, error) {
	if e.flushed {
		return nil, errFlushed
	}
	e.flushed = true
	if !e.written {
		return nil, nil
	}
	var frames [][]byte
	if e.nextChannel > 0 || e.fill > 0 {
		for e.fill < SamplesPerFrame {
			for ; e.nextChannel < e.channels; e.nextChannel++ {
				e.blocks[e.nextChannel][SamplesPerFrame+e.fill] = 0
			}
			e.nextChannel = 0
			e.fill++
		}
		frames = append(frames, e.encodeFrame())
	}
	// The last input samples are in the first half of the frame after them.
	for _, b := range e.blocks {
		clear(b[SamplesPerFrame:])
	}
	frames = append(frames, e.encodeFrame())
	return frames, nil
}

// encodeFrame codes the full blocks as one raw_data_block and shifts them by a frame.
func (e *PCMEncoder) encodeFrame() []byte {
	w := bitWriter{b: make([]byte, 0, 256*e.channels)}
	if e.channels == 1 {
		w.write(idSCE, 3)
		w.write(0, 4) // element_instance_tag
	} else {
		w.write(idCPE, 3)
		w.write(0, 4)
		w.write(0, 1) // common_window
	}
	// With a target, the channels share what is left of the frame's bits after the
	// element headers, ID_END and the byte alignment.
	budget := e.frameBits + e.reservoir - 3 - 7
	for c, block := range e.blocks {
		for n, x := range block {
			e.windowed[n] = x * e.window[n]
		}
		e.mdct.Transform(e.spectrum, e.windowed)
		limit := maxICSBits
		if e.frameBits > 0 {
			share := (budget - float64(w.bitLen())) / float64(e.channels-c)
			limit = int(min(max(share, 0), maxICSBits))
		}
		gain, maxSFB := e.quantize(limit)
		writeLongICS(&w, e.quant, e.swb, e.coded, gain, maxSFB)
		copy(block, block[SamplesPerFrame:])
	}
	e.fill = 0
	w.write(idEND, 3)
	frame := w.bytes()
	if e.frameBits > 0 {
		e.reservoir = min(max(e.frameBits+e.reservoir-float64(8*len(frame)), 0), e.frameBits)
	}
	e.bits += int64(8 * len(frame))
	e.frames++
	return frame
}

// quantize fills e.quant from e.spectrum and returns the global gain and max_sfb. The gain
// puts the loudest line near quantTarget (as LongBlockEncoder does), or is the finest
// coarser one whose channel stream fits limit bits (at most maxICSBits; the stream of gain
// 255, all lines 0, takes 22 bits whatever the limit).
func (e *PCMEncoder) quantize(limit int) (gain, maxSFB int) {
	const quantTarget = 200.0
	var peak float64
	for k, x := range e.spectrum {
		a := math.Abs(x)
		peak = max(peak, a)
		e.mag[k] = math.Sqrt(a * math.Sqrt(a)) // a^(3/4)
	}
	if peak < 1e-3 {
		clear(e.quant)
		clear(e.coded)
		return 100, 0
	}
	// Decoder: x = q^(4/3)·2^((gain-100)/4).
	first := int(min(max(math.Ceil(100+4*math.Log2(peak/math.Pow(quantTarget, 4.0/3))), 0), 255))
	if e.quantizeAt(first) <= limit {
		return first, e.bands
	}
	// The size falls with the gain, but not strictly (codeword lengths are not monotonic
	// in the magnitudes): search, then step up from the result until it fits. At 255
	// every line of 16-bit PCM quantizes to 0.
	lo, hi := first, 255 // lo too big, hi fits
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if e.quantizeAt(mid) <= limit {
			hi = mid
		} else {
			lo = mid
		}
	}
	gain = hi
	for gain < 255 && e.quantizeAt(gain) > limit {
		gain++
	}
	if gain == 255 {
		e.quantizeAt(gain)
	}
	return gain, e.bands
}

// quantizeAt fills e.quant for gain and returns the bits of the channel stream.
func (e *PCMEncoder) quantizeAt(gain int) int {
	inv := math.Pow(2, -0.1875*float64(gain-100)) // (2^(-(gain-100)/4))^(3/4)
	for k, a := range e.mag {
		v := a*inv + quantBias
		if v < 1 {
			e.quant[k] = 0
			continue
		}
		n := min(int(v), maxQuant)
		if e.spectrum[k] < 0 {
			n = -n
		}
		e.quant[k] = n
	}
	e.bands = e.markBands()
	return longICSBits(e.quant, e.swb, e.coded, e.bands)
}

// markBands sets e.coded from e.quant and returns max_sfb: one more than the highest band
// with a non-zero line.
func (e *PCMEncoder) markBands() int {
	maxSFB := 0
	for band := range e.coded {
		e.coded[band] = false
		for _, q := range e.quant[e.swb[band]:e.swb[band+1]] {
			if q != 0 {
				e.coded[band] = true
				maxSFB = band + 1
				break
			}
		}
	}
	return maxSFB
}

// longICSBits is the size writeLongICS gives q.
func longICSBits(q []int, swb []uint16, coded []bool, maxSFB int) int {
	n := 8 + 11 + 3 // global_gain, ics_info, pulse/tns/gain control flags
	for band := 0; band < maxSFB; {
		end := band + 1
		for end < maxSFB && coded[end] == coded[band] {
			end++
		}
		n += 4 + 5*((end-band)/31+1) // section_data
		band = end
	}
	for band := range maxSFB {
		if !coded[band] {
			continue
		}
		n++ // scalefactor difference 0
		for k := int(swb[band]); k < int(swb[band+1]); k += 2 {
			n += escPairBits(q[k], q[k+1])
		}
	}
	return n
}

// writeLongICS writes individual_channel_stream(common_window=0) of one long window with
// the syntax of LongBlockEncoder: q quantized at gain, coded[band] for codebook 11 (else
// ZERO_HCB), every coded band's scalefactor the global gain.
func writeLongICS(w *bitWriter, q []int, swb []uint16, coded []bool, gain, maxSFB int) {
	w.write(uint32(gain), 8)
	// ics_info: reserved 0, ONLY_LONG_SEQUENCE, sine window, max_sfb, no prediction.
	w.write(0, 4)
	w.write(uint32(maxSFB), 6)
	w.write(0, 1)
	for band := 0; band < maxSFB; {
		end := band + 1
		for end < maxSFB && coded[end] == coded[band] {
			end++
		}
		book := uint32(zeroHCB)
		if coded[band] {
			book = escHCB
		}
		w.write(book, 4)
		n := end - band
		for ; n >= 31; n -= 31 {
			w.write(31, 5)
		}
		w.write(uint32(n), 5)
		band = end
	}
	for band := range maxSFB {
		if coded[band] {
			w.write(0, 1) // scalefactor difference 0: codeword "0" (Table 4.A.1, index 60)
		}
	}
	w.write(0, 3) // pulse_data_present, tns_data_present, gain_control_data_present
	for band := range maxSFB {
		if !coded[band] {
			continue
		}
		for k := int(swb[band]); k < int(swb[band+1]); k += 2 {
			writeEscPair(w, q[k], q[k+1])
		}
	}
}

// escPairBits is the size writeEscPair gives (y, z).
func escPairBits(y, z int) int {
	ay, az := abs(y), abs(z)
	n := int(escCode[17*min(ay, escFlag)+min(az, escFlag)] & 0xF)
	for _, v := range [2]int{ay, az} {
		if v != 0 {
			n++
		}
		if v >= escFlag {
			n += 2*escapePrefix(v) + 5
		}
	}
	return n
}

// escapePrefix is the N of v's escape_sequence: 2^(N+4) <= v < 2^(N+5).
func escapePrefix(v int) int {
	n := 0
	for v >= 1<<(n+5) {
		n++
	}
	return n
}
