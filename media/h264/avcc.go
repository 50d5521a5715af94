package h264

import (
	"errors"
	"fmt"
)

// AVCC framing (ISO 14496-15): each NAL unit after a big-endian length of LengthSize bytes, as
// in MP4 samples and FLV/RTMP video tags.

func checkLengthSize(lengthSize int) error {
	if lengthSize < 1 || lengthSize > 4 {
		return fmt.Errorf("h264: AVCC length size %d, want 1 to 4", lengthSize)
	}
	return nil
}

// SplitAVCC splits length-prefixed NAL units; the results alias b. A length running past the
// end is an error; zero-length units are skipped.
func SplitAVCC(b []byte, lengthSize int) ([][]byte, error) {
	if err := checkLengthSize(lengthSize); err != nil {
		return nil, err
	}
	var out [][]byte
	for len(b) > 0 {
		if len(b) < lengthSize {
			return nil, errors.New("h264: AVCC length prefix cut short")
		}
		n := 0
		for _, c := range b[:lengthSize] {
			n = n<<8 | int(c)
		}
		b = b[lengthSize:]
		if n > len(b) {
			return nil, fmt.Errorf("h264: AVCC NAL unit of %d bytes with %d left", n, len(b))
		}
		if n > 0 {
			out = append(out, b[:n])
		}
		b = b[n:]
	}
	return out, nil
}

// AppendAVCC appends the NAL units to dst, each after its length in lengthSize bytes.
func AppendAVCC(dst []byte, nalus [][]byte, lengthSize int) ([]byte, error) {
	if err := checkLengthSize(lengthSize); err != nil {
		return nil, err
	}
	for _, n := range nalus {
		if uint64(len(n)) >= 1<<(8*lengthSize) {
			return nil, fmt.Errorf("h264: NAL unit of %d bytes does not fit a %d-byte length", len(n), lengthSize)
		}
		for i := lengthSize - 1; i >= 0; i-- {
			dst = append(dst, byte(len(n)>>(8*i)))
		}
		dst = append(dst, n...)
	}
	return dst, nil
}

// AnnexBToAVCC converts an Annex B byte stream to NAL units with 4-byte lengths.
func AnnexBToAVCC(b []byte) ([]byte, error) {
	nalus, err := SplitAnnexB(b)
	if err != nil {
		return nil, err
	}
	return AppendAVCC(make([]byte, 0, len(b)+4), nalus, 4)
}

// AVCCToAnnexB converts length-prefixed NAL units to an Annex B byte stream.
func AVCCToAnnexB(b []byte, lengthSize int) ([]byte, error) {
	nalus, err := SplitAVCC(b, lengthSize)
	if err != nil {
		return nil, err
	}
	return JoinAnnexB(nalus), nil
}
