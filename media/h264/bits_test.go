package h264

import (
	"errors"
	"math"
	"testing"
)

func TestExpGolombRoundTrip(t *testing.T) {
	unsigned := []uint32{0, 1, 2, 3, 6, 7, 8, 254, 255, 256, 65535, 1 << 20, math.MaxUint32 - 1}
	signed := []int32{0, 1, -1, 2, -2, 100, -100, math.MaxInt32, math.MinInt32 + 1}
	var w BitWriter
	for _, v := range unsigned {
		w.UE(v)
	}
	for _, v := range signed {
		w.SE(v)
	}
	w.U(5, 0x15)
	w.Flag(true)
	w.TrailingBits()
	r := NewBitReader(w.Data())
	for _, v := range unsigned {
		if got := r.UE(); got != v {
			t.Errorf("UE: got %d, want %d", got, v)
		}
	}
	for _, v := range signed {
		if got := r.SE(); got != v {
			t.Errorf("SE: got %d, want %d", got, v)
		}
	}
	if got := r.U(5); got != 0x15 || !r.Flag() {
		t.Errorf("U(5) = %#x", got)
	}
	if r.MoreRBSPData() {
		t.Error("MoreRBSPData before the trailing bits")
	}
	if r.Err() != nil {
		t.Error(r.Err())
	}
}

// The codes of Table 9-2, written and read bit for bit.
func TestExpGolombCodes(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		bits string
	}{{0, "1"}, {1, "010"}, {2, "011"}, {3, "00100"}, {6, "00111"}, {7, "0001000"}} {
		var w BitWriter
		w.UE(tc.v)
		if w.Len() != len(tc.bits) {
			t.Errorf("ue(%d) is %d bits, want %s", tc.v, w.Len(), tc.bits)
		}
		w.TrailingBits()
		r := NewBitReader(w.Data())
		for i, c := range tc.bits {
			if r.U(1) != uint32(c-'0') {
				t.Errorf("ue(%d) bit %d differs from %s", tc.v, i, tc.bits)
			}
		}
	}
}

func TestBitReaderErrors(t *testing.T) {
	r := NewBitReader([]byte{0xff})
	r.U(6)
	if r.U(3) != 0 || !errors.Is(r.Err(), ErrShortData) {
		t.Errorf("reading past the end: %v", r.Err())
	}
	r = NewBitReader(make([]byte, 8)) // 64 zero bits: no exp-Golomb code fits
	if r.UE() != 0 || r.Err() == nil {
		t.Error("an exp-Golomb code of more than 32 leading zeros was accepted")
	}
	r = NewBitReader([]byte{0x00, 0x01}) // 15 zeros then a one, and no suffix bits
	r.UE()
	if !errors.Is(r.Err(), ErrShortData) {
		t.Errorf("cut-short exp-Golomb suffix: %v", r.Err())
	}
}
