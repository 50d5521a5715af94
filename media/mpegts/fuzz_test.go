package mpegts

import (
	"bytes"
	"testing"
	"time"
)

// The muxer reads one thing from its caller's bytes, the first NAL header of a video unit; any
// unit it accepts must come back whole from the packets, after an AUD when it had none.
func FuzzWriteVideo(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x01\x65\x88"), uint32(0), uint16(0), true)
	f.Add([]byte("\x00\x00\x01\x09\xf0\x00\x00\x01\x41"), uint32(90000), uint16(3000), false)
	f.Add(bytes.Repeat([]byte{0}, 200), uint32(1), uint16(1), false)
	f.Add([]byte("\x00\x00\x01"), uint32(5), uint16(0), true)
	f.Fuzz(func(t *testing.T, au []byte, dtsMs uint32, ptsDeltaMs uint16, key bool) {
		var buf bytes.Buffer
		m, err := NewMuxer(&buf, Tracks{Video: true})
		if err != nil {
			t.Fatal(err)
		}
		dts := time.Duration(dtsMs) * time.Millisecond
		if err := m.WriteVideo(dts+time.Duration(ptsDeltaMs)*time.Millisecond, dts, key, au); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("a rejected unit wrote %d bytes", buf.Len())
			}
			return
		}
		d := demux(t, buf.Bytes())
		got := d.pes[PIDVideo]
		if len(got) != 1 {
			t.Fatalf("%d PES for one unit", len(got))
		}
		want := au
		if typ, _ := firstNALType(au); typ != 9 {
			want = append([]byte(audNAL), au...)
		}
		if !bytes.Equal(got[0].data, want) || got[0].rai != key {
			t.Fatalf("unit %x came back as %x (rai %v)", want, got[0].data, got[0].rai)
		}
		wantDTS, _ := to90k(dts)
		if got[0].dts != wantDTS || got[0].pcr != max(int64(wantDTS)-pcrLead, 0) {
			t.Fatalf("DTS %d PCR %d, want %d and %d", got[0].dts, got[0].pcr, wantDTS, max(int64(wantDTS)-pcrLead, 0))
		}
	})
}
