package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/hajimehoshi/go-mp3"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// mp3ScanLen is how far past its ID3 tags a file may start with something else than MPEG
// audio frames.
const mp3ScanLen = 32 << 10

// openMP3 decodes an MP3 file from r as it is read and re-encodes it to AAC-LC at the
// file's rate, mono when its first frame is.
func openMP3(r io.Reader, opts Options) (Media, error) {
	br := bufio.NewReaderSize(r, 2*mp3ScanLen)
	first, err := findMP3Frame(br)
	if err != nil {
		return nil, err
	}
	body := &errRecorder{r: br}
	var dec *mp3.Decoder
	err = recoverDecoder(func() (err error) {
		dec, err = mp3.NewDecoder(body)
		return err
	})
	if err != nil {
		if body.err != nil {
			return nil, body.err
		}
		return nil, unsupported("the MP3 does not decode: %v", err)
	}
	rate := dec.SampleRate()
	channels := 2
	if first.mono {
		channels = 1
	}
	enc, err := aac.NewPCMEncoder(rate, channels)
	if err != nil {
		return nil, unsupported("MP3 at %d Hz: %v", rate, err)
	}
	asc, err := enc.Config().Marshal()
	if err != nil {
		return nil, err
	}
	// Drop what the gapless information says is not the file's audio; then Options.Seek.
	seek := int64(max(opts.Seek, 0)) * int64(rate) / int64(time.Second)
	skip, left := seek, int64(-1)
	if first.info {
		skip += int64(first.samplesPerFrame())
	}
	if first.delay >= 0 {
		skip += int64(first.delay + mp3DecoderDelay)
	}
	if first.samples >= 0 {
		left = max(first.samples-seek, 0)
	}
	m := &mp3Media{
		dec:      dec,
		body:     body,
		enc:      enc,
		params:   &hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: rate, Channels: channels},
		skip:     skip,
		left:     left,
		chunk:    make([]byte, 4*aac.SamplesPerFrame),
		pcm:      make([]int16, 0, 2*aac.SamplesPerFrame),
		channels: channels,
	}
	m.SetVolume(opts.Volume)
	return m, nil
}

// mp3Media decodes a chunk of 1024 stereo samples per AAC frame it hands out.
type mp3Media struct {
	dec      *mp3.Decoder
	body     *errRecorder
	enc      *aac.PCMEncoder
	params   *hub.Params
	channels int
	volume   atomic.Int32 // percent

	skip    int64    // samples per channel still to drop: encoder delay, Options.Seek
	left    int64    // samples per channel still to encode after skip; -1: all
	chunk   []byte   // decoded stereo s16le
	pcm     []int16  // chunk after seeking, volume and downmix
	pending [][]byte // encoded frames not yet returned
	frames  int64    // frames returned
	end     error    // after pending: io.EOF or why decoding stopped
}

func (m *mp3Media) Video() *hub.Params { return nil }
func (m *mp3Media) Audio() *hub.Params { return m.params }
func (m *mp3Media) Live() bool         { return false }
func (m *mp3Media) Close() error       { return nil }

// SetVolume takes effect from the next chunk decoded, so from the next frame or so.
func (m *mp3Media) SetVolume(percent int) bool {
	m.volume.Store(int32(min(max(percent, 0), 200)))
	return true
}

func (m *mp3Media) Next(ctx context.Context) (Packet, error) {
	for len(m.pending) == 0 {
		if m.end != nil {
			return Packet{}, m.end
		}
		if err := ctx.Err(); err != nil {
			return Packet{}, err
		}
		if err := m.decodeChunk(); err != nil {
			return Packet{}, err
		}
	}
	frame := m.pending[0]
	m.pending = m.pending[1:]
	pts := aac.SamplesDuration(m.frames*aac.SamplesPerFrame, m.params.SampleRate)
	m.frames++
	return Packet{Track: hub.Audio, Unit: hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: frame}}, nil
}

// decodeChunk decodes up to 1024 samples into the encoder; at the end of the file it
// flushes the encoder and sets m.end.
func (m *mp3Media) decodeChunk() error {
	var n int
	err := recoverDecoder(func() (err error) {
		n, err = io.ReadFull(m.dec, m.chunk)
		return err
	})
	m.pcm = m.pcm[:0]
	gain := int(m.volume.Load())
	for i := 0; i+4 <= n && m.left != 0; i += 4 {
		if m.skip > 0 {
			m.skip--
			continue
		}
		if m.left > 0 {
			m.left--
		}
		l := int(int16(binary.LittleEndian.Uint16(m.chunk[i:])))
		r := int(int16(binary.LittleEndian.Uint16(m.chunk[i+2:])))
		if m.channels == 1 {
			m.pcm = append(m.pcm, scaleSample((l+r)/2, gain))
		} else {
			m.pcm = append(m.pcm, scaleSample(l, gain), scaleSample(r, gain))
		}
	}
	frames, werr := m.enc.Write(m.pcm)
	if werr != nil {
		return werr
	}
	m.pending = append(m.pending, frames...)
	switch {
	case m.left == 0:
		m.end = io.EOF
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		m.end = io.EOF
	case m.body.err != nil:
		m.end = m.body.err
	default:
		m.end = unsupported("the MP3 stops decoding at %v: %v",
			aac.SamplesDuration(m.frames*aac.SamplesPerFrame, m.params.SampleRate), err)
	}
	frames, werr = m.enc.Flush()
	if werr != nil {
		return werr
	}
	m.pending = append(m.pending, frames...)
	return nil
}

// scaleSample applies gain (percent) to s, clipped to 16 bits.
func scaleSample(s, gain int) int16 {
	return int16(min(max(s*gain/100, -32768), 32767))
}

// recoverDecoder runs f, a call into the MP3 decoder, turning a panic on malformed input
// into an error.
func recoverDecoder(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mp3 decoder: %v", p)
		}
	}()
	return f()
}

// errRecorder passes reads through and keeps the first error other than io.EOF: what the
// decoder reports then is the body's failure, not the file's.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// mp3Header is what the decoder needs to know of an MPEG audio frame header.
type mp3Header struct {
	version int // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
	layer   int // 1, 2 or 3
	rate    int
	size    int // bytes of the frame, header included; 0 for free format
	mono    bool
	crc     bool

	// From a Xing/Info frame (which decodes to a frame of silence): the encoder's delay and
	// padding from its LAME tag, and the file's samples per channel; -1 when unknown.
	info           bool
	delay, padding int
	samples        int64
}

// samplesPerFrame is the samples per channel of a layer III frame.
func (h mp3Header) samplesPerFrame() int {
	if h.version == 3 {
		return 1152
	}
	return 576
}

// mp3DecoderDelay is the delay of the layer III synthesis (the 529 samples LAME's gapless
// delay values leave out).
const mp3DecoderDelay = 529

// readInfo fills the gapless fields from frame, the first frame's bytes, when it is a
// Xing/Info frame with a LAME tag (http://gabriel.mp3-tech.org/mp3infotag.html).
func (h *mp3Header) readInfo(frame []byte) {
	h.delay, h.padding, h.samples = -1, -1, -1
	at := 4 + 17 // header and side information
	switch {
	case h.version == 3 && !h.mono:
		at = 4 + 32
	case h.version != 3 && h.mono:
		at = 4 + 9
	}
	if h.crc {
		at += 2
	}
	if len(frame) < at+8 || string(frame[at:at+4]) != "Xing" && string(frame[at:at+4]) != "Info" {
		return
	}
	h.info = true
	flags := binary.BigEndian.Uint32(frame[at+4:])
	at += 8
	frames := int64(-1)
	if flags&1 != 0 && len(frame) >= at+4 {
		frames = int64(binary.BigEndian.Uint32(frame[at:]))
		at += 4
	}
	for _, field := range []struct {
		flag uint32
		size int
	}{{2, 4}, {4, 100}, {8, 4}} {
		if flags&field.flag != 0 {
			at += field.size
		}
	}
	if len(frame) < at+24 {
		return
	}
	lame := frame[at:]
	h.delay = int(lame[21])<<4 | int(lame[22]>>4)
	h.padding = int(lame[22]&0xF)<<8 | int(lame[23])
	if frames >= 0 {
		h.samples = max(frames*int64(h.samplesPerFrame())-int64(h.delay+h.padding), 0)
	}
}

var (
	mp3Bitrates = [2][15]int{ // kbit/s of layer III: MPEG-1, then MPEG-2 and 2.5
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	}
	mp3Rates = [3]int{44100, 48000, 32000} // MPEG-1; halved for MPEG-2, quartered for 2.5
)

// parseMP3Header reads the 4-byte header at the start of b (ISO/IEC 11172-3 2.4.2.3).
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Header{}, false
	}
	h := mp3Header{version: int(b[1] >> 3 & 3), layer: 4 - int(b[1]>>1&3)}
	bitrateIdx, rateIdx := int(b[2]>>4), int(b[2]>>2&3)
	if h.version == 1 || h.layer == 4 || bitrateIdx == 15 || rateIdx == 3 || b[3]&3 == 2 {
		return mp3Header{}, false
	}
	h.rate = mp3Rates[rateIdx] >> [4]int{2, 0, 1, 0}[h.version]
	h.mono = b[3]>>6 == 3
	h.crc = b[1]&1 == 0
	if h.layer == 3 {
		lsf, perFrame := 0, 144
		if h.version != 3 {
			lsf, perFrame = 1, 72
		}
		h.size = perFrame*1000*mp3Bitrates[lsf][bitrateIdx]/h.rate + int(b[2]>>1&1)
	}
	return h, true
}

// findMP3Frame skips the ID3v2 tags and whatever precedes the first layer III frame that
// the next one follows, and returns that frame's header; br is left at it.
func findMP3Frame(br *bufio.Reader) (mp3Header, error) {
	for {
		tag, _ := br.Peek(10)
		if len(tag) < 10 || string(tag[:3]) != "ID3" {
			break
		}
		if tag[6]|tag[7]|tag[8]|tag[9] >= 0x80 {
			return mp3Header{}, unsupported("the MP3's ID3 tag has a malformed size")
		}
		size := int64(tag[6])<<21 | int64(tag[7])<<14 | int64(tag[8])<<7 | int64(tag[9]) + 10
		if tag[5]&0x10 != 0 { // footer
			size += 10
		}
		if n, err := br.Discard(int(size)); err != nil {
			if errors.Is(err, io.EOF) {
				return mp3Header{}, unsupported("the MP3 ends within its ID3 tag (%d of %d bytes)", n, size)
			}
			return mp3Header{}, err
		}
	}
	data, err := br.Peek(mp3ScanLen)
	atEnd := errors.Is(err, io.EOF)
	if err != nil && !atEnd && !errors.Is(err, bufio.ErrBufferFull) {
		return mp3Header{}, err
	}
	var other *mp3Header
	for i := range data {
		h, ok := parseMP3Header(data[i:])
		if !ok {
			continue
		}
		if h.layer != 3 || h.size == 0 {
			if other == nil && i == 0 {
				other = &h
			}
			continue
		}
		next, ok := parseMP3Header(data[min(i+h.size, len(data)):])
		followed := ok && next.version == h.version && next.layer == 3 && next.rate == h.rate
		if !followed && !(atEnd && i+h.size >= len(data)) {
			continue
		}
		if h.version == 0 {
			return mp3Header{}, unsupported("MPEG-2.5 audio (%d Hz) is not decoded", h.rate)
		}
		h.readInfo(data[i:min(i+h.size, len(data))])
		_, err := br.Discard(i) // buffered: cannot fail
		return h, err
	}
	switch {
	case other != nil && other.layer != 3:
		return mp3Header{}, unsupported("MPEG audio layer %d is not decoded (only layer III, MP3)", other.layer)
	case other != nil:
		return mp3Header{}, unsupported("free-format MP3 is not decoded")
	case len(data) == 0:
		return mp3Header{}, unsupported("the MP3 has no audio frame")
	}
	return mp3Header{}, unsupported("no MP3 frame in the first %d bytes after the tags", len(data))
}
