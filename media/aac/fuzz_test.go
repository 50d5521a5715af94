package aac

import (
	"bytes"
	"testing"
)

func FuzzParseAudioSpecificConfig(f *testing.F) {
	for _, s := range []string{"\x11\x90", "\x12\x10\x56\xe5\x00", "\x2b\x11\x88\x00", "\xeb\x09\x88\x00", "\x17\x80\x61\xa8\x08", "\xf8\xe6\x20\x00", "\x11\x92\x00\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAudioSpecificConfig(b)
		if err != nil {
			return
		}
		// What parses marshals, and parses back to the same config.
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("%+v parsed from %x does not marshal: %v", c, b, err)
		}
		again, err := ParseAudioSpecificConfig(out)
		if err != nil || again != c {
			t.Fatalf("%x → %+v → %x → %+v, %v", b, c, out, again, err)
		}
	})
}

func FuzzSplitADTS(f *testing.F) {
	frame, _ := AppendADTSHeader(nil, ADTSHeader{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2}, 3)
	frame = append(frame, 1, 2, 3)
	f.Add(frame)
	f.Add(append(bytes.Clone(frame), frame...))
	f.Add([]byte("\xff\xf0\x50\x80\x01\xbf\xfc\xbe\xef\x01\x02\x03\x04"))
	f.Add([]byte{0xff, 0xf1})
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := SplitADTS(b)
		total := 0
		for _, fr := range frames {
			h, herr := ParseADTSHeader(fr)
			if herr != nil || h.FrameLength != len(fr) {
				t.Fatalf("frame %x: %+v, %v", fr, h, herr)
			}
			if !bytes.Equal(b[total:total+len(fr)], fr) {
				t.Fatal("frames are not consecutive slices of the input")
			}
			total += len(fr)
			if h.CRC {
				continue
			}
			// A header without CRC re-marshals to the same 7 bytes, but for the private,
			// original/copy, home and copyright bits, which carry nothing we keep.
			re, merr := AppendADTSHeader(nil, h, h.FrameLength-ADTSHeaderLen)
			if merr != nil || h.BufferFullness == 0 {
				continue
			}
			orig := bytes.Clone(fr[:ADTSHeaderLen])
			orig[2] &^= 0x02
			orig[3] &^= 0x3C
			if !bytes.Equal(re, orig) {
				t.Fatalf("header %x re-marshals to %x", fr[:ADTSHeaderLen], re)
			}
		}
		if err == nil && total != len(b) {
			t.Fatalf("no error but %d of %d bytes in frames", total, len(b))
		}
	})
}
