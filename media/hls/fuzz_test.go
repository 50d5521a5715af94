package hls

import (
	"bytes"
	"testing"
	"time"

	"github.com/grafov/m3u8"
)

// Any sequence of units in time order: segments open with PAT/PMT and a keyframe, durations
// add up to the time covered, and the playlist parses strictly. With split, the units from
// events[split] on are a second run (timestamps from 0 again) resuming the first after Suspend.
func FuzzSegmenterSequence(f *testing.F) {
	f.Add([]byte{0x80, 1, 1, 0x42, 0x80, 0xff, 0x03, 0x80}, uint8(2), true, true, uint8(0))
	f.Add([]byte{0x40, 0x40, 0x40, 0x40, 0x7f, 0x7f}, uint8(1), false, true, uint8(0))
	f.Add([]byte{0x01, 0x81, 0xc1, 0x01}, uint8(0), true, false, uint8(0))
	f.Add([]byte{0xc0, 0x3f, 0x3f, 0xc1, 0xc0, 0x3f, 0x3f, 0xff, 0x3f}, uint8(2), true, true, uint8(4))
	f.Add([]byte{0x3f, 0x3f, 0x3f, 0x01, 0x3f}, uint8(1), false, true, uint8(3))
	f.Fuzz(func(t *testing.T, events []byte, targetS uint8, video, audio bool, split uint8) {
		if !video && !audio {
			return
		}
		sink := newMemSink()
		cfg := Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: time.Duration(targetS%8) * time.Second,
			Video: video, Audio: audio, Width: 2, Height: 2, StartTime: seedStart}
		var resumed []Segment
		if int(split) > 0 && int(split) < len(events) {
			first, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var now time.Duration
			for _, e := range events[:split] {
				now += time.Duration(e&0x3F) * 50 * time.Millisecond
				switch {
				case e&0x80 != 0 && video:
					err = first.WriteVideo(now, now, e&0x40 != 0, idrAU)
				case audio:
					err = first.WriteAudio(now, silentFrame)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := first.Suspend(); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(sink.files["p.m3u8"], []byte("#EXT-X-ENDLIST")) {
				t.Fatalf("suspended playlist ended:\n%s", sink.files["p.m3u8"])
			}
			resumed, events = first.Segments(), events[split:]
			// The second run starts a day later: its segment names cannot repeat the first's.
			cfg.Resume, cfg.RecordingStart, cfg.StartTime = resumed, seedStart, seedStart.Add(24*time.Hour)
		}
		s, err := New(cfg)
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
		all := s.Segments()
		for i, seg := range all {
			if seg.Duration < 0 || seg.Index != i || seg.Discontinuity != (len(resumed) > 0 && i == len(resumed)) {
				t.Fatalf("segment %d: %+v", i, seg)
			}
			if i < len(resumed) && seg != resumed[i] {
				t.Fatalf("segment %d: %+v, resumed as %+v", i, seg, resumed[i])
			}
			if i >= len(resumed) {
				total += seg.Duration
			}
			checkSegmentStart(t, seg.Name, sink.files[seg.Name])
		}
		if segs := all[len(resumed):]; len(segs) > 0 && total != s.end-segs[0].PTS {
			t.Fatalf("durations add to %v, the units cover %v", total, s.end-segs[0].PTS)
		}
		p, _, err := m3u8.Decode(*bytes.NewBuffer(sink.files["p.m3u8"]), true)
		if err != nil && len(all) > 0 {
			t.Fatalf("playlist: %v\n%s", err, sink.files["p.m3u8"])
		}
		if err == nil && len(all) > 0 {
			media := p.(*m3u8.MediaPlaylist)
			if !media.Closed || media.Count() != uint(len(all)) {
				t.Fatalf("playlist: closed %v, %d segments, want %d\n%s", media.Closed, media.Count(), len(all), sink.files["p.m3u8"])
			}
			for i, seg := range media.Segments[:media.Count()] {
				if seg.URI != all[i].Name || seg.Discontinuity != all[i].Discontinuity {
					t.Fatalf("playlist segment %d: %s, discontinuity %v\n%s", i, seg.URI, seg.Discontinuity, sink.files["p.m3u8"])
				}
			}
		}
	})
}
