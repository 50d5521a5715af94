package h264

import (
	"errors"
	"fmt"
)

// NALUType is nal_unit_type, the low five bits of a NAL unit's first byte (Table 7-1).
type NALUType uint8

// NAL unit types used by the pipeline.
const (
	NALUNonIDR   NALUType = 1  // coded slice of a non-IDR picture
	NALUPartA    NALUType = 2  // slice data partition A
	NALUPartB    NALUType = 3  // slice data partition B
	NALUPartC    NALUType = 4  // slice data partition C
	NALUIDR      NALUType = 5  // coded slice of an IDR picture
	NALUSEI      NALUType = 6  // supplemental enhancement information
	NALUSPS      NALUType = 7  // sequence parameter set
	NALUPPS      NALUType = 8  // picture parameter set
	NALUAUD      NALUType = 9  // access unit delimiter
	NALUEndSeq   NALUType = 10 // end of sequence
	NALUEndSt    NALUType = 11 // end of stream
	NALUFiller   NALUType = 12 // filler data
	NALUSPSExt   NALUType = 13 // sequence parameter set extension
	NALUPrefix   NALUType = 14 // prefix NAL unit (SVC)
	NALUSubSPS   NALUType = 15 // subset sequence parameter set
	NALUAuxSlice NALUType = 19 // coded slice of an auxiliary picture
)

var naluNames = map[NALUType]string{
	NALUNonIDR: "NonIDR", NALUPartA: "PartA", NALUPartB: "PartB", NALUPartC: "PartC",
	NALUIDR: "IDR", NALUSEI: "SEI", NALUSPS: "SPS", NALUPPS: "PPS", NALUAUD: "AUD",
	NALUEndSeq: "EndOfSequence", NALUEndSt: "EndOfStream", NALUFiller: "Filler",
	NALUSPSExt: "SPSExtension", NALUPrefix: "Prefix", NALUSubSPS: "SubsetSPS",
	NALUAuxSlice: "AuxiliarySlice",
}

func (t NALUType) String() string {
	if s, ok := naluNames[t]; ok {
		return s
	}
	return fmt.Sprintf("NALUType(%d)", uint8(t))
}

// IsVCL reports whether the type carries coded slice data (types 1 to 5).
func (t NALUType) IsVCL() bool { return t >= NALUNonIDR && t <= NALUIDR }

// ErrEmptyNALU is returned for a NAL unit without even a header byte.
var ErrEmptyNALU = errors.New("h264: empty NAL unit")

// TypeOf returns the type of a NAL unit (its header byte first); 0 for an empty one.
func TypeOf(nalu []byte) NALUType {
	if len(nalu) == 0 {
		return 0
	}
	return NALUType(nalu[0] & 0x1f)
}

// NALHeader is the one-byte NAL unit header.
type NALHeader struct {
	RefIDC uint8 // nal_ref_idc: 0 for pictures nothing refers to
	Type   NALUType
}

// ParseNALHeader reads the header byte; forbidden_zero_bit set is an error.
func ParseNALHeader(nalu []byte) (NALHeader, error) {
	if len(nalu) == 0 {
		return NALHeader{}, ErrEmptyNALU
	}
	if nalu[0]&0x80 != 0 {
		return NALHeader{}, errors.New("h264: forbidden_zero_bit is set")
	}
	return NALHeader{RefIDC: nalu[0] >> 5 & 3, Type: NALUType(nalu[0] & 0x1f)}, nil
}
