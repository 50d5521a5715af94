package h264

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestSplitAnnexB(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
		err  error
	}{
		{"4-byte start codes", []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3}, [][]byte{{0x67, 1, 2}, {0x68, 3}}, nil},
		{"3-byte start codes", []byte{0, 0, 1, 0x65, 9, 0, 0, 1, 0x41, 8}, [][]byte{{0x65, 9}, {0x41, 8}}, nil},
		{"leading and trailing zeros", []byte{0, 0, 0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 0, 0, 1, 0x41, 0, 0}, [][]byte{{0x09, 0xf0}, {0x41}}, nil},
		{"empty NAL units skipped", []byte{0, 0, 1, 0, 0, 1, 0x41, 7, 0, 0, 1}, [][]byte{{0x41, 7}}, nil},
		{"escaped bytes stay", []byte{0, 0, 1, 0x41, 0, 0, 3, 1}, [][]byte{{0x41, 0, 0, 3, 1}}, nil},
		{"empty input", nil, nil, nil},
		{"only zeros", []byte{0, 0, 0}, nil, nil},
		{"no start code", []byte{0x41, 1, 2}, nil, ErrNoStartCode},
		{"garbage before the start code", []byte{7, 0, 0, 1, 0x41}, nil, ErrNoStartCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitAnnexB(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestAnnexBAndAVCCRoundTrip(t *testing.T) {
	nalus := [][]byte{{0x67, 0x42, 0xc0, 0x1e}, {0x68, 0xce}, {0x65, 0x88, 0x80, 0, 0, 3, 0, 0x10}}
	annexB := JoinAnnexB(nalus)
	back, err := SplitAnnexB(annexB)
	if err != nil || !reflect.DeepEqual(back, nalus) {
		t.Fatalf("Annex B round trip: %x, %v", back, err)
	}
	avcc, err := AnnexBToAVCC(annexB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(avcc[:8], []byte{0, 0, 0, 4, 0x67, 0x42, 0xc0, 0x1e}) {
		t.Errorf("AVCC starts %x", avcc[:8])
	}
	again, err := AVCCToAnnexB(avcc, 4)
	if err != nil || !bytes.Equal(again, annexB) {
		t.Errorf("AVCC to Annex B: %x, %v", again, err)
	}
	for _, size := range []int{1, 2, 3, 4} {
		b, err := AppendAVCC(nil, nalus, size)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SplitAVCC(b, size)
		if err != nil || !reflect.DeepEqual(got, nalus) {
			t.Errorf("length size %d: %x, %v", size, got, err)
		}
	}
}

func TestAVCCErrors(t *testing.T) {
	if _, err := SplitAVCC([]byte{0, 0, 0, 9, 1, 2}, 4); err == nil {
		t.Error("a length beyond the data was accepted")
	}
	if _, err := SplitAVCC([]byte{0, 0}, 4); err == nil {
		t.Error("a cut-short length was accepted")
	}
	if _, err := SplitAVCC(nil, 5); err == nil {
		t.Error("length size 5 was accepted")
	}
	if _, err := AppendAVCC(nil, [][]byte{make([]byte, 256)}, 1); err == nil {
		t.Error("256 bytes fitted a 1-byte length")
	}
}

func TestEmulationPrevention(t *testing.T) {
	for _, tc := range []struct{ rbsp, escaped []byte }{
		{[]byte{0, 0, 0}, []byte{0, 0, 3, 0}},
		{[]byte{0, 0, 1}, []byte{0, 0, 3, 1}},
		{[]byte{0, 0, 2, 0, 0, 3}, []byte{0, 0, 3, 2, 0, 0, 3, 3}},
		{[]byte{0, 0, 4}, []byte{0, 0, 4}},
		{[]byte{1, 0, 0}, []byte{1, 0, 0, 3}},
		{[]byte{0, 0, 0, 0, 0}, []byte{0, 0, 3, 0, 0, 3, 0}},
	} {
		if got := AppendEscapedRBSP(nil, tc.rbsp); !bytes.Equal(got, tc.escaped) {
			t.Errorf("escape %x: %x, want %x", tc.rbsp, got, tc.escaped)
		}
		if got := UnescapeRBSP(tc.escaped); !bytes.Equal(got, tc.rbsp) {
			t.Errorf("unescape %x: %x, want %x", tc.escaped, got, tc.rbsp)
		}
	}
}
