package h264

import (
	"testing"
)

func sliceNALU(header byte, firstMb, sliceType, pps uint32) []byte {
	var w BitWriter
	w.UE(firstMb)
	w.UE(sliceType)
	w.UE(pps)
	w.U(8, 0xa5) // the rest of a header
	w.TrailingBits()
	return AppendEscapedRBSP([]byte{header}, w.Data())
}

func TestParseSliceHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		nalu []byte
		want SliceHeader
		ok   bool
	}{
		{"IDR I", sliceNALU(0x65, 0, 7, 0), SliceHeader{NALType: NALUIDR, RefIDC: 3, Type: SliceI, AllSameType: true}, true},
		{"P", sliceNALU(0x41, 0, 0, 1), SliceHeader{NALType: NALUNonIDR, RefIDC: 2, Type: SliceP, PPSID: 1}, true},
		{"B second slice", sliceNALU(0x01, 396, 6, 0), SliceHeader{NALType: NALUNonIDR, FirstMb: 396, Type: SliceB, AllSameType: true}, true},
		{"slice type 10", sliceNALU(0x41, 0, 10, 0), SliceHeader{}, false},
		{"IDR P", sliceNALU(0x65, 0, 5, 0), SliceHeader{}, false},
		{"PPS id 256", sliceNALU(0x41, 0, 0, 256), SliceHeader{}, false},
		{"not a slice", []byte{0x67, 0x42}, SliceHeader{}, false},
		{"cut short", []byte{0x41, 0x00}, SliceHeader{}, false},
		{"empty", nil, SliceHeader{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSliceHeader(tc.nalu)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPictureType(t *testing.T) {
	sps, pps := []byte{0x67, 0x42}, []byte{0x68, 0xce}
	for _, tc := range []struct {
		name  string
		nalus [][]byte
		want  SliceType
		key   bool
	}{
		{"IDR", [][]byte{sps, pps, sliceNALU(0x65, 0, 7, 0)}, SliceI, true},
		{"P", [][]byte{sliceNALU(0x41, 0, 5, 0)}, SliceP, false},
		{"I then P slice", [][]byte{sliceNALU(0x41, 0, 2, 0), sliceNALU(0x41, 10, 0, 0)}, SliceP, false},
		{"P then B slice", [][]byte{sliceNALU(0x01, 0, 0, 0), sliceNALU(0x01, 10, 1, 0)}, SliceB, false},
		{"non-IDR I", [][]byte{sliceNALU(0x61, 0, 2, 0)}, SliceI, false},
	} {
		typ, err := PictureType(tc.nalus)
		if err != nil || typ != tc.want || IsKeyframe(tc.nalus) != tc.key || HasBFrame(tc.nalus) != (tc.want == SliceB) {
			t.Errorf("%s: %v %v, keyframe %v", tc.name, typ, err, IsKeyframe(tc.nalus))
		}
	}
	if _, err := PictureType([][]byte{sps, pps}); err == nil {
		t.Error("an access unit without slices has a picture type")
	}
}

func TestNALUType(t *testing.T) {
	if TypeOf([]byte{0x65}) != NALUIDR || TypeOf(nil) != 0 || NALUIDR.String() != "IDR" || NALUType(30).String() != "NALUType(30)" {
		t.Error("NAL unit type naming")
	}
	if !NALUNonIDR.IsVCL() || NALUSPS.IsVCL() {
		t.Error("IsVCL")
	}
	if _, err := ParseNALHeader([]byte{0x80}); err == nil {
		t.Error("forbidden_zero_bit accepted")
	}
}
