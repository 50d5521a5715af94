package h264

import (
	"bytes"
	"errors"
)

// ErrNoStartCode is returned for a byte stream that does not begin with a start code.
var ErrNoStartCode = errors.New("h264: Annex B data does not start with a start code")

var startCode3 = []byte{0, 0, 1}

// SplitAnnexB splits an Annex B byte stream (NAL units after 0x000001 or 0x00000001 start
// codes) into NAL units without start codes. The results alias b. Zero bytes before the first
// start code and after each NAL unit (trailing_zero_8bits) are dropped, empty NAL units are
// skipped; anything but zeros before the first start code is an error.
func SplitAnnexB(b []byte) ([][]byte, error) {
	i := bytes.Index(b, startCode3)
	if i < 0 {
		if len(bytes.Trim(b, "\x00")) == 0 {
			return nil, nil
		}
		return nil, ErrNoStartCode
	}
	for _, c := range b[:i] {
		if c != 0 {
			return nil, ErrNoStartCode
		}
	}
	var out [][]byte
	pos := i + 3
	for pos <= len(b) {
		next := bytes.Index(b[pos:], startCode3)
		end := len(b)
		if next >= 0 {
			end = pos + next
		}
		nalu := b[pos:end]
		for len(nalu) > 0 && nalu[len(nalu)-1] == 0 {
			nalu = nalu[:len(nalu)-1]
		}
		if len(nalu) > 0 {
			out = append(out, nalu)
		}
		if next < 0 {
			break
		}
		pos = end + 3
	}
	return out, nil
}

// AppendAnnexB appends the NAL units to dst, each after a 4-byte start code.
func AppendAnnexB(dst []byte, nalus [][]byte) []byte {
	for _, n := range nalus {
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
	}
	return dst
}

// JoinAnnexB returns the NAL units as one Annex B byte stream.
func JoinAnnexB(nalus [][]byte) []byte {
	size := 0
	for _, n := range nalus {
		size += 4 + len(n)
	}
	return AppendAnnexB(make([]byte, 0, size), nalus)
}
