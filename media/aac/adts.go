package aac

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ADTS header sizes: without and with the 16-bit CRC.
const (
	ADTSHeaderLen    = 7
	ADTSHeaderLenCRC = 9
	maxADTSFrameLen  = 1<<13 - 1
)

// ADTSBufferFullnessVBR is the adts_buffer_fullness value that says "variable bit rate".
const ADTSBufferFullnessVBR = 0x7FF

// ErrNoSync is returned when bytes that should start an ADTS frame lack the 0xFFF syncword.
var ErrNoSync = errors.New("aac: no ADTS syncword")

// ADTSHeader is the fixed and variable header of one ADTS frame (ISO/IEC 13818-7 6.2.1,
// ISO/IEC 14496-3 1.A.2.2).
type ADTSHeader struct {
	MPEG2          bool       // ID bit: 1 for MPEG-2 AAC, 0 for MPEG-4
	ObjectType     ObjectType // profile_ObjectType + 1: 1 Main, 2 LC, 3 SSR, 4 LTP
	SampleRate     int        // from sampling_frequency_index
	ChannelConfig  int        // channel_configuration; 0 means a PCE in the payload
	CRC            bool       // protection_absent == 0: a 16-bit CRC follows the header
	FrameLength    int        // aac_frame_length: header, CRC and payload, in bytes
	BufferFullness int        // adts_buffer_fullness; ADTSBufferFullnessVBR for VBR
	RawDataBlocks  int        // number_of_raw_data_blocks_in_frame + 1, 1..4
}

// HeaderLen is the length of the header including the CRC when present.
func (h ADTSHeader) HeaderLen() int {
	if h.CRC {
		return ADTSHeaderLenCRC
	}
	return ADTSHeaderLen
}

// Samples is the number of samples per channel the frame carries.
func (h ADTSHeader) Samples() int { return SamplesPerFrame * h.RawDataBlocks }

// Duration is the playing time of the frame.
func (h ADTSHeader) Duration() time.Duration {
	return SamplesDuration(int64(h.Samples()), h.SampleRate)
}

// Config is the AudioSpecificConfig equivalent to the header (for an MP4 esds or FLV).
func (h ADTSHeader) Config() AudioSpecificConfig {
	return AudioSpecificConfig{ObjectType: h.ObjectType, SampleRate: h.SampleRate, ChannelConfig: h.ChannelConfig}
}

// ParseADTSHeader decodes the header at the start of b. It checks the syncword, the layer,
// the reserved sampling index and that aac_frame_length covers the header; it does not check
// the CRC or that b holds the whole frame.
func ParseADTSHeader(b []byte) (ADTSHeader, error) {
	var h ADTSHeader
	if len(b) < ADTSHeaderLen {
		return h, io.ErrUnexpectedEOF
	}
	if b[0] != 0xFF || b[1]&0xF0 != 0xF0 {
		return h, ErrNoSync
	}
	if b[1]&0x06 != 0 {
		return h, fmt.Errorf("aac: ADTS layer %d, want 0", b[1]>>1&3)
	}
	h.MPEG2 = b[1]&0x08 != 0
	h.CRC = b[1]&0x01 == 0
	h.ObjectType = ObjectType(b[2]>>6 + 1)
	idx := int(b[2] >> 2 & 0x0F)
	rate, ok := SampleRateAt(idx)
	if !ok {
		return h, fmt.Errorf("aac: reserved sampling frequency index %d", idx)
	}
	h.SampleRate = rate
	h.ChannelConfig = int(b[2]&1)<<2 | int(b[3]>>6)
	h.FrameLength = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	h.BufferFullness = int(b[5]&0x1F)<<6 | int(b[6]>>2)
	h.RawDataBlocks = int(b[6]&3) + 1
	if h.CRC && len(b) < ADTSHeaderLenCRC {
		return h, io.ErrUnexpectedEOF
	}
	if h.FrameLength < h.HeaderLen() {
		return h, fmt.Errorf("aac: ADTS frame length %d shorter than its header", h.FrameLength)
	}
	return h, nil
}

// AppendADTSHeader appends the 7-byte header (no CRC) of a frame with payloadLen bytes of
// raw_data_block(s). h.FrameLength and h.CRC are ignored: the length is computed.
func AppendADTSHeader(dst []byte, h ADTSHeader, payloadLen int) ([]byte, error) {
	idx, ok := SampleRateIndex(h.SampleRate)
	if !ok {
		return dst, fmt.Errorf("aac: sample rate %d has no ADTS index", h.SampleRate)
	}
	if h.ObjectType < 1 || h.ObjectType > 4 {
		return dst, fmt.Errorf("aac: object type %d cannot be carried in ADTS", h.ObjectType)
	}
	if h.ChannelConfig < 0 || h.ChannelConfig > 7 {
		return dst, fmt.Errorf("aac: channel configuration %d out of range", h.ChannelConfig)
	}
	blocks := h.RawDataBlocks
	if blocks == 0 {
		blocks = 1
	}
	if blocks < 1 || blocks > 4 {
		return dst, fmt.Errorf("aac: %d raw data blocks per ADTS frame, want 1..4", blocks)
	}
	fullness := h.BufferFullness
	if fullness == 0 {
		fullness = ADTSBufferFullnessVBR
	}
	n := ADTSHeaderLen + payloadLen
	if payloadLen < 0 || n > maxADTSFrameLen {
		return dst, fmt.Errorf("aac: ADTS frame of %d bytes does not fit 13 bits", n)
	}
	id := byte(0)
	if h.MPEG2 {
		id = 1
	}
	return append(dst,
		0xFF,
		0xF0|id<<3|1, // layer 0, protection_absent 1
		byte(h.ObjectType-1)<<6|byte(idx)<<2|byte(h.ChannelConfig>>2&1),
		byte(h.ChannelConfig&3)<<6|byte(n>>11&3),
		byte(n>>3),
		byte(n&7)<<5|byte(fullness>>6&0x1F),
		byte(fullness&0x3F)<<2|byte(blocks-1),
	), nil
}

// NextADTS splits the first ADTS frame (header included) off b.
func NextADTS(b []byte) (frame, rest []byte, h ADTSHeader, err error) {
	h, err = ParseADTSHeader(b)
	if err != nil {
		return nil, b, h, err
	}
	if len(b) < h.FrameLength {
		return nil, b, h, io.ErrUnexpectedEOF
	}
	return b[:h.FrameLength:h.FrameLength], b[h.FrameLength:], h, nil
}

// SplitADTS splits a stream of back-to-back ADTS frames into frames (headers included; the
// slices share b's memory). Bytes that are not a frame are an error: the frames before them
// are returned with it.
func SplitADTS(b []byte) ([][]byte, error) {
	var frames [][]byte
	for len(b) > 0 {
		frame, rest, _, err := NextADTS(b)
		if err != nil {
			return frames, fmt.Errorf("aac: ADTS frame %d: %w", len(frames), err)
		}
		frames = append(frames, frame)
		b = rest
	}
	return frames, nil
}

// ADTSPayload returns the raw_data_block bytes of one ADTS frame (after header and CRC).
func ADTSPayload(frame []byte) ([]byte, error) {
	h, err := ParseADTSHeader(frame)
	if err != nil {
		return nil, err
	}
	if len(frame) < h.FrameLength {
		return nil, io.ErrUnexpectedEOF
	}
	return frame[h.HeaderLen():h.FrameLength], nil
}
