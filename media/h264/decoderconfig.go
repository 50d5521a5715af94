package h264

import (
	"errors"
	"fmt"
)

// DecoderConfig is the AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1): the avcC box of
// MP4 and the sequence header of FLV/RTMP video.
type DecoderConfig struct {
	ProfileIDC           uint8
	ProfileCompatibility uint8 // the constraint flags byte of the SPS
	LevelIDC             uint8
	LengthSize           int // bytes of each NAL unit length in samples: 1, 2 or 4
	SPS                  [][]byte
	PPS                  [][]byte
}

// NewDecoderConfig builds the record for the parameter sets of a stream, with 4-byte lengths.
func NewDecoderConfig(sps, pps [][]byte) (DecoderConfig, error) {
	if len(sps) == 0 || len(pps) == 0 {
		return DecoderConfig{}, errors.New("h264: decoder config needs an SPS and a PPS")
	}
	if len(sps[0]) < 4 || TypeOf(sps[0]) != NALUSPS {
		return DecoderConfig{}, errors.New("h264: first SPS is not an SPS")
	}
	return DecoderConfig{
		ProfileIDC: sps[0][1], ProfileCompatibility: sps[0][2], LevelIDC: sps[0][3],
		LengthSize: 4, SPS: sps, PPS: pps,
	}, nil
}

// Marshal encodes the record. For the High profiles it adds the chroma format and bit depth
// fields read from the first SPS.
func (c DecoderConfig) Marshal() ([]byte, error) {
	if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
		return nil, fmt.Errorf("h264: length size %d, want 1, 2 or 4", c.LengthSize)
	}
	if len(c.SPS) > 31 || len(c.PPS) > 255 {
		return nil, errors.New("h264: too many parameter sets for a decoder config")
	}
	b := []byte{1, c.ProfileIDC, c.ProfileCompatibility, c.LevelIDC,
		0xfc | byte(c.LengthSize-1), 0xe0 | byte(len(c.SPS))}
	for _, ps := range c.SPS {
		if len(ps) > 0xffff {
			return nil, errors.New("h264: SPS longer than 65535 bytes")
		}
		b = append(b, byte(len(ps)>>8), byte(len(ps)))
		b = append(b, ps...)
	}
	b = append(b, byte(len(c.PPS)))
	for _, ps := range c.PPS {
		if len(ps) > 0xffff {
			return nil, errors.New("h264: PPS longer than 65535 bytes")
		}
		b = append(b, byte(len(ps)>>8), byte(len(ps)))
		b = append(b, ps...)
	}
	switch c.ProfileIDC {
	case 100, 110, 122, 144:
		if len(c.SPS) > 0 {
			s, err := ParseSPS(c.SPS[0])
			if err != nil {
				return nil, err
			}
			b = append(b, 0xfc|byte(s.ChromaFormatIDC), 0xf8|byte(s.BitDepthLuma-8),
				0xf8|byte(s.BitDepthChroma-8), 0)
		}
	}
	return b, nil
}

// ParseDecoderConfig decodes a record. The High profile extension is optional, as many
// muxers leave it out.
func ParseDecoderConfig(b []byte) (DecoderConfig, error) {
	if len(b) < 7 {
		return DecoderConfig{}, errors.New("h264: decoder config shorter than 7 bytes")
	}
	if b[0] != 1 {
		return DecoderConfig{}, fmt.Errorf("h264: decoder config version %d", b[0])
	}
	c := DecoderConfig{ProfileIDC: b[1], ProfileCompatibility: b[2], LevelIDC: b[3],
		LengthSize: int(b[4]&3) + 1}
	if c.LengthSize == 3 {
		return DecoderConfig{}, errors.New("h264: decoder config length size 3")
	}
	rest := b[5:]
	readSets := func(n int) ([][]byte, error) {
		sets := make([][]byte, 0, n)
		for range n {
			if len(rest) < 2 {
				return nil, errors.New("h264: decoder config cut short")
			}
			l := int(rest[0])<<8 | int(rest[1])
			rest = rest[2:]
			if l == 0 || l > len(rest) {
				return nil, fmt.Errorf("h264: decoder config parameter set of %d bytes with %d left", l, len(rest))
			}
			sets = append(sets, rest[:l:l])
			rest = rest[l:]
		}
		return sets, nil
	}
	nSPS := int(rest[0] & 0x1f)
	rest = rest[1:]
	var err error
	if c.SPS, err = readSets(nSPS); err != nil {
		return DecoderConfig{}, err
	}
	if len(rest) < 1 {
		return DecoderConfig{}, errors.New("h264: decoder config has no PPS count")
	}
	nPPS := int(rest[0])
	rest = rest[1:]
	if c.PPS, err = readSets(nPPS); err != nil {
		return DecoderConfig{}, err
	}
	return c, nil
}
