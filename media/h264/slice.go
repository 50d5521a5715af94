package h264

import (
	"fmt"
)

// SliceType is slice_type modulo 5 (Table 7-6).
type SliceType uint8

// Slice types.
const (
	SliceP  SliceType = 0
	SliceB  SliceType = 1
	SliceI  SliceType = 2
	SliceSP SliceType = 3
	SliceSI SliceType = 4
)

func (t SliceType) String() string {
	switch t {
	case SliceP:
		return "P"
	case SliceB:
		return "B"
	case SliceI:
		return "I"
	case SliceSP:
		return "SP"
	case SliceSI:
		return "SI"
	}
	return fmt.Sprintf("SliceType(%d)", uint8(t))
}

// SliceHeader holds the first fields of a slice header, the ones readable without the
// parameter sets.
type SliceHeader struct {
	NALType     NALUType
	RefIDC      uint8
	FirstMb     uint32    // first_mb_in_slice: 0 starts a new picture
	Type        SliceType // slice_type % 5
	AllSameType bool      // slice_type >= 5: every slice of the picture has this type
	PPSID       uint32
}

// sliceHeaderPrefix bounds the bytes unescaped to read the first three fields (each at most
// 65 bits as exp-Golomb codes).
const sliceHeaderPrefix = 32

// ParseSliceHeader reads first_mb_in_slice, slice_type and pic_parameter_set_id from a coded
// slice NAL unit (types 1, 5, or 2 for partition A).
func ParseSliceHeader(nalu []byte) (SliceHeader, error) {
	h, err := ParseNALHeader(nalu)
	if err != nil {
		return SliceHeader{}, err
	}
	if !h.Type.IsVCL() || h.Type == NALUPartB || h.Type == NALUPartC {
		return SliceHeader{}, fmt.Errorf("h264: NAL unit type %v has no slice header", h.Type)
	}
	body := nalu[1:]
	if len(body) > sliceHeaderPrefix {
		body = body[:sliceHeaderPrefix]
	}
	r := NewBitReader(UnescapeRBSP(body))
	sh := SliceHeader{NALType: h.Type, RefIDC: h.RefIDC, FirstMb: r.UE()}
	st := r.UE()
	sh.PPSID = r.UE()
	if err := r.Err(); err != nil {
		return SliceHeader{}, fmt.Errorf("h264: slice header: %w", err)
	}
	if st > 9 {
		return SliceHeader{}, fmt.Errorf("h264: slice_type %d > 9", st)
	}
	if sh.PPSID > 255 {
		return SliceHeader{}, fmt.Errorf("h264: pic_parameter_set_id %d > 255", sh.PPSID)
	}
	if h.Type == NALUIDR && st%5 != uint32(SliceI) && st%5 != uint32(SliceSI) {
		return SliceHeader{}, fmt.Errorf("h264: IDR slice of type %v", SliceType(st%5))
	}
	sh.Type, sh.AllSameType = SliceType(st%5), st >= 5
	return sh, nil
}

// IsKeyframe reports whether an access unit holds an IDR picture, where decoding can start.
func IsKeyframe(nalus [][]byte) bool {
	for _, n := range nalus {
		if TypeOf(n) == NALUIDR {
			return true
		}
	}
	return false
}

// PictureType classifies an access unit by its slices, as ffprobe's pict_type does: B if any
// slice is B, else P if any is P or SP, else I. An access unit without slices is an error.
func PictureType(nalus [][]byte) (SliceType, error) {
	found, typ := false, SliceI
	for _, n := range nalus {
		t := TypeOf(n)
		if t != NALUNonIDR && t != NALUIDR && t != NALUPartA {
			continue
		}
		sh, err := ParseSliceHeader(n)
		if err != nil {
			return 0, err
		}
		found = true
		switch sh.Type {
		case SliceB:
			return SliceB, nil
		case SliceP, SliceSP:
			typ = SliceP
		}
	}
	if !found {
		return 0, fmt.Errorf("h264: access unit has no slice")
	}
	return typ, nil
}

// HasBFrame reports whether an access unit holds a B picture (so the stream reorders frames
// and needs decode timestamps apart from presentation timestamps).
func HasBFrame(nalus [][]byte) bool {
	t, err := PictureType(nalus)
	return err == nil && t == SliceB
}
