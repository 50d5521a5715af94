package h264

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// seedNALUs adds the NAL units of the testdata streams to a fuzz corpus.
func seedNALUs(f *testing.F, keep func(NALUType) bool) {
	for _, name := range []string{"testdata/x264_320x240_high.h264", "testdata/x264_322x178_baseline.h264"} {
		stream, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		nalus, err := SplitAnnexB(stream)
		if err != nil {
			f.Fatal(err)
		}
		for _, n := range nalus {
			if keep(TypeOf(n)) {
				f.Add(n[:min(len(n), 64)])
			}
		}
	}
}

func FuzzParseSPS(f *testing.F) {
	seedNALUs(f, func(t NALUType) bool { return t == NALUSPS })
	f.Add([]byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0xc0, 0x44, 0x00})
	f.Add([]byte{0x67, 100, 0, 30, 0xac, 0xd9, 0x40, 0xa0, 0x3d, 0xa1, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		sps, err := ParseSPS(b)
		if err != nil {
			return
		}
		if sps.Width <= 0 || sps.Height <= 0 || sps.Width > sps.CodedWidth() || sps.Height > sps.CodedHeight() {
			t.Fatalf("parsed SPS with size %dx%d of %dx%d", sps.Width, sps.Height, sps.CodedWidth(), sps.CodedHeight())
		}
		_ = sps.ProfileName() + sps.CodecString()
		sps.FrameRate()
	})
}

func FuzzSplitAnnexB(f *testing.F) {
	for _, name := range []string{"testdata/x264_322x178_baseline.h264"} {
		stream, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(stream[:min(len(stream), 512)])
	}
	f.Add([]byte{0, 0, 1, 0x41, 0, 0, 0, 1, 0x65, 0, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		nalus, err := SplitAnnexB(b)
		if err != nil {
			return
		}
		for _, n := range nalus {
			if len(n) == 0 || n[len(n)-1] == 0 || bytes.Contains(n, []byte{0, 0, 1}) {
				t.Fatalf("NAL unit %x: empty, ends in zero or holds a start code", n)
			}
		}
		again, err := SplitAnnexB(JoinAnnexB(nalus))
		if err != nil || !reflect.DeepEqual(again, nalus) {
			t.Fatalf("split, join and split again: %x, %v; first %x", again, err, nalus)
		}
	})
}

func FuzzSplitAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41}, 4)
	f.Add([]byte{0, 1, 0x41}, 2)
	f.Fuzz(func(t *testing.T, b []byte, lengthSize int) {
		lengthSize = int(uint(lengthSize) % 5) // 0 (an error) to 4
		nalus, err := SplitAVCC(b, lengthSize)
		if err != nil {
			return
		}
		again, err := AppendAVCC(nil, nalus, lengthSize)
		if err != nil {
			t.Fatal(err)
		}
		back, err := SplitAVCC(again, lengthSize)
		if err != nil || !reflect.DeepEqual(back, nalus) {
			t.Fatalf("round trip: %x, %v", back, err)
		}
	})
}

func FuzzParseSliceHeader(f *testing.F) {
	seedNALUs(f, func(t NALUType) bool { return t.IsVCL() })
	f.Add([]byte{0x65, 0x88, 0x84})
	f.Add([]byte{0x41, 0x9a, 0x00, 0x00, 0x03, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := ParseSliceHeader(b)
		if err != nil {
			return
		}
		if sh.Type > SliceSI || sh.PPSID > 255 {
			t.Fatalf("parsed %+v", sh)
		}
		PictureType([][]byte{b})
	})
}

func FuzzParseDecoderConfig(f *testing.F) {
	f.Add([]byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseDecoderConfig(b)
		if err != nil {
			return
		}
		c.ProfileIDC = 66 // Marshal would need a parseable SPS for the High profile extension
		out, err := c.Marshal()
		if err != nil {
			return // more parameter sets than a record can hold
		}
		back, err := ParseDecoderConfig(out)
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: %+v, %v; first %+v", back, err, c)
		}
	})
}

func FuzzEmulationPrevention(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, rbsp []byte) {
		escaped := AppendEscapedRBSP(nil, rbsp)
		for i := 2; i < len(escaped); i++ {
			if escaped[i-2] == 0 && escaped[i-1] == 0 && escaped[i] < 3 {
				t.Fatalf("escaped %x still holds 0000%02x", escaped, escaped[i])
			}
		}
		if back := UnescapeRBSP(escaped); !bytes.Equal(back, rbsp) && len(rbsp) > 0 {
			t.Fatalf("unescape(escape(%x)) = %x", rbsp, back)
		}
		UnescapeRBSP(rbsp)
	})
}
