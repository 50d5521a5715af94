package h264

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// seiUserDataUnregistered is the payloadType of user_data_unregistered (D.1.6): a 16-byte
// UUID, then the user data. TRTC's relay to CDN (McuSeiParams) puts its layout and
// pass-through data there or in a type from 100 to 254 other than 244, types the standard
// reserves and this package carries as plain bytes.
const seiUserDataUnregistered = 5

// SEIMessage is one sei_message: its payloadType and payload bytes. For
// user_data_unregistered (type 5) Payload starts with the 16-byte UUID.
type SEIMessage struct {
	Type    int
	Payload []byte
}

// uuidSize is the length of uuid_iso_iec_11578 at the start of a user_data_unregistered
// payload.
const uuidSize = 16

// SEI returns an SEI NAL unit (nal_unit_type 6, nal_ref_idc 0; no start code) carrying
// msgs: each message's type and size coded with the 0xFF-run syntax of H.264 7.3.2.3.1,
// then rbsp_trailing_bits, with emulation prevention bytes inserted.
//
// The messages are the caller's own: SEI panics when there are none (sei_rbsp holds at least
// one), on a Type below 0 or above 2^31-1 (ParseSEI's bound), and on a user_data_unregistered
// payload shorter than its UUID.
func SEI(msgs ...SEIMessage) []byte {
	if len(msgs) == 0 {
		panic("h264: SEI without messages")
	}
	size := 1
	for _, m := range msgs {
		if m.Type < 0 || m.Type > math.MaxInt32 {
			panic(fmt.Sprintf("h264: SEI payload type %d", m.Type))
		}
		if m.Type == seiUserDataUnregistered && len(m.Payload) < uuidSize {
			panic(fmt.Sprintf("h264: user_data_unregistered SEI payload of %d bytes, shorter than its UUID", len(m.Payload)))
		}
		size += m.Type/255 + len(m.Payload)/255 + 2 + len(m.Payload)
	}
	rbsp := make([]byte, 0, size)
	for _, m := range msgs {
		rbsp = appendFFValue(rbsp, m.Type)
		rbsp = appendFFValue(rbsp, len(m.Payload))
		rbsp = append(rbsp, m.Payload...)
	}
	rbsp = append(rbsp, 0x80) // rbsp_trailing_bits: the stop bit, then zeros to the byte
	return AppendEscapedRBSP(append(make([]byte, 0, 1+size+size/64), byte(NALUSEI)), rbsp)
}

// appendFFValue codes payloadType or payloadSize: a 0xFF byte for each 255, then the rest.
func appendFFValue(dst []byte, v int) []byte {
	for ; v >= 255; v -= 255 {
		dst = append(dst, 0xff)
	}
	return append(dst, byte(v))
}

// errSEITrailingBits is returned for an SEI NAL unit whose messages are not followed by
// rbsp_trailing_bits, as when it was cut short at a message boundary.
var errSEITrailingBits = errors.New("h264: SEI has no rbsp_trailing_bits")

// ParseSEI reads the messages of an SEI NAL unit (emulation prevention removed); an error
// for a truncated or malformed one. It must never panic on any input.
//
// The payloads may alias nalu. Any nal_ref_idc is accepted, and zero bytes after the
// trailing bits are ignored. A user_data_unregistered payload shorter than its 16-byte UUID
// is an error.
func ParseSEI(nalu []byte) ([]SEIMessage, error) {
	h, err := ParseNALHeader(nalu)
	if err != nil {
		return nil, err
	}
	if h.Type != NALUSEI {
		return nil, fmt.Errorf("h264: NAL unit type %v is not an SEI", h.Type)
	}
	rbsp := UnescapeRBSP(nalu[1:])
	var msgs []SEIMessage
	for {
		rest := bytes.TrimRight(rbsp, "\x00")
		if len(rest) == 0 {
			return nil, errSEITrailingBits
		}
		if len(msgs) > 0 && len(rest) == 1 && rest[0] == 0x80 {
			return msgs, nil // !more_rbsp_data()
		}
		typ, n, err := readFFValue(rbsp)
		if err != nil {
			return nil, fmt.Errorf("h264: SEI message %d payloadType: %w", len(msgs), err)
		}
		rbsp = rbsp[n:]
		size, n, err := readFFValue(rbsp)
		if err != nil {
			return nil, fmt.Errorf("h264: SEI message %d payloadSize: %w", len(msgs), err)
		}
		rbsp = rbsp[n:]
		if size > len(rbsp) {
			return nil, fmt.Errorf("h264: SEI message %d of %d bytes with %d left", len(msgs), size, len(rbsp))
		}
		if typ == seiUserDataUnregistered && size < uuidSize {
			return nil, fmt.Errorf("h264: user_data_unregistered SEI payload of %d bytes, shorter than its UUID", size)
		}
		msgs = append(msgs, SEIMessage{Type: typ, Payload: rbsp[:size:size]})
		rbsp = rbsp[size:]
	}
}

// readFFValue reads a 0xFF-run coded value, returning it and the bytes read. Values above
// 2^31-1 (8 MB of 0xFF bytes) are an error, so an int holds them on any platform.
func readFFValue(b []byte) (v, n int, err error) {
	for n < len(b) {
		c := int(b[n])
		n++
		if v > math.MaxInt32-c {
			return 0, 0, errors.New("value above 2^31-1")
		}
		v += c
		if c != 0xff {
			return v, n, nil
		}
	}
	return 0, 0, ErrShortData
}
