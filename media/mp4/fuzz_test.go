package mp4

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// The muxer reads the caller's access units: NAL types, and the SPS and PPS it finds. Whatever
// a unit holds, after a good keyframe it is refused or stored, never a panic, and the file still
// finishes with tables that agree with each other and with mdat.
func FuzzWriteVideo(f *testing.F) {
	v, err := synth.NewVideo(synth.VideoConfig{UserId: "fuzz", Width: 64, Height: 48, Fps: 15})
	if err != nil {
		f.Fatal(err)
	}
	key, p := v.Next().AnnexB(), v.Next().AnnexB()
	f.Add(p, true, uint16(0))
	f.Add(key, true, uint16(30))
	f.Add([]byte("\x00\x00\x00\x01\x67\x42\x00\x1e\x00\x00\x01\x68\xce\x38\x80\x00\x00\x01\x65\x88"), true, uint16(0))
	f.Add([]byte("\x00\x00\x01\x09\xf0\x00\x00\x01\x41"), false, uint16(1))
	f.Add(bytes.Repeat([]byte{0}, 100), false, uint16(0))
	f.Add([]byte("\x00\x00\x01"), true, uint16(0))
	f.Fuzz(func(t *testing.T, au []byte, isKey bool, ctoMs uint16) {
		m, err := NewMuxer(&memScratch{}, Tracks{Video: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.WriteVideo(0, 0, true, key); err != nil {
			t.Fatal(err)
		}
		dts := time.Second / 15
		stored := 1
		if err := m.WriteVideo(dts+time.Duration(ctoMs)*time.Millisecond, dts, isKey, au); err == nil {
			stored = len(m.video.samples)
		}
		if err := m.WriteVideo(time.Hour, 2*dts, false, p); err != nil {
			t.Fatalf("a good unit after %x: %v", au, err)
		}
		var out bytes.Buffer
		if err := m.Finish(&out); err != nil {
			t.Fatal(err)
		}
		mv, err := readFile(out.Bytes())
		if err != nil {
			t.Fatalf("box walker: %v", err)
		}
		if n := len(mv.tracks[0].samples); n != stored+1 {
			t.Fatalf("%d samples, %d stored", n, stored+1)
		}
	})
}

// Defragment reads spool bytes that a crash may have cut or a disk corrupted: whatever they
// are, it recovers a prefix or says ErrNothingRecovered, never panics, and what it writes is an
// MP4 whose tables agree with its mdat.
func FuzzDefragment(f *testing.F) {
	frag, starts := fragmented(f, Tracks{Video: true, Audio: true}, source(f, 2, true, true, 0, 0))
	f.Add(frag)
	f.Add(frag[:starts[len(starts)-1]+100])
	f.Add(frag[:starts[0]])
	audio, _ := fragmented(f, Tracks{Audio: true}, source(f, 1.5, false, true, 0, 0))
	f.Add(audio)
	f.Add([]byte("\x00\x00\x00\x08ftyp\x00\x00\x00\x08moov"))
	f.Fuzz(func(t *testing.T, b []byte) {
		done := make(chan bool)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("Defragment of %d bytes still runs after 10 s: %x", len(b), b)) // a hang is a finding
			}
		}()
		defer close(done)
		out, rec, err := defragment(t, b)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("%v with %d bytes written", err, len(out))
			}
			return
		}
		if rec.Bytes > int64(len(b)) || rec.Fragments < 1 {
			t.Fatalf("recovered %+v of %d bytes", rec, len(b))
		}
		if _, err := readFile(out); err != nil {
			t.Fatalf("box walker on the recovered file: %v", err)
		}
	})
}
