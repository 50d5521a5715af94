package hls

import (
	"bytes"
	"testing"
	"time"

	"github.com/grafov/m3u8"
)

// Any sequence of units in time order: segments open with PAT/PMT and a keyframe, durations
// add up to the time covered, and the playlist parses strictly.
func FuzzSegmenterSequence(f *testing.F) {
	f.Add([]byte{0x80, 1, 1, 0x42, 0x80, 0xff, 0x03, 0x80}, uint8(2), true, true)
	f.Add([]byte{0x40, 0x40, 0x40, 0x40, 0x7f, 0x7f}, uint8(1), false, true)
	f.Add([]byte{0x01, 0x81, 0xc1, 0x01}, uint8(0), true, false)
	f.Fuzz(func(t *testing.T, events []byte, targetS uint8, video, audio bool) {
		if !video && !audio {
			return
		}
		sink := newMemSink()
		s, err := New(Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: time.Duration(targetS%8) * time.Second,
			Video: video, Audio: audio, Width: 2, Height: 2, StartTime: seedStart})
		if err != nil {
			t.Fatal(err)
		}
		var now time.Duration
		for _, e := range events {
			now += time.Duration(e&0x3F) * 50 * time.Millisecond // step 0 … 3.15 s
			switch {
			case e&0x80 != 0 && video:
				au := pAU
				if e&0x40 != 0 {
					au = idrAU
				}
				err = s.WriteVideo(now, now, e&0x40 != 0, au)
			case audio:
				err = s.WriteAudio(now, silentFrame)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var total time.Duration
		for _, seg := range s.Segments() {
			if seg.Duration < 0 {
				t.Fatalf("segment %d: duration %v", seg.Index, seg.Duration)
			}
			total += seg.Duration
			checkSegmentStart(t, seg.Name, sink.files[seg.Name])
		}
		if segs := s.Segments(); len(segs) > 0 && total != s.end-segs[0].PTS {
			t.Fatalf("durations add to %v, the units cover %v", total, s.end-segs[0].PTS)
		}
		if _, _, err := m3u8.Decode(*bytes.NewBuffer(sink.files["p.m3u8"]), true); err != nil && len(s.Segments()) > 0 {
			t.Fatalf("playlist: %v\n%s", err, sink.files["p.m3u8"])
		}
	})
}
