package hls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"
)

// storeSegments passes segments through JSON, as the recording job keeps them in its database.
func storeSegments(t *testing.T, segs []Segment) []Segment {
	t.Helper()
	b, err := json.Marshal(segs)
	if err != nil {
		t.Fatal(err)
	}
	var out []Segment
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSegmentJSONRoundTrip(t *testing.T) {
	in := []Segment{
		{Index: 0, Name: "a.ts", Start: seedStart, PTS: time.Second, Duration: 12_016_333_333, Bytes: 188 * 1234},
		{Index: 1, Name: "b.ts", Start: time.Date(2033, 5, 31, 9, 45, 51, 825_123_456, time.FixedZone("CST", 8*3600)),
			PTS: 0, Duration: 3 * time.Millisecond, Bytes: 376, Discontinuity: true},
	}
	out := storeSegments(t, in)
	if len(out) != len(in) {
		t.Fatalf("%d segments back, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if !a.Start.Equal(b.Start) {
			t.Errorf("segment %d: start %v back as %v", i, a.Start, b.Start)
		}
		a.Start, b.Start = time.Time{}, time.Time{}
		if a != b {
			t.Errorf("segment %d: %+v back as %+v", i, in[i], out[i])
		}
	}
	// The stored form names every field; false Discontinuity is left out.
	b, _ := json.Marshal(in[0])
	for _, key := range []string{`"index":0`, `"name":"a.ts"`, `"start":"2021-05-31T01:45:51.884Z"`, `"pts":1000000000`, `"duration":12016333333`, `"bytes":231992`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s has no %s", b, key)
		}
	}
	if strings.Contains(string(b), "discontinuity") {
		t.Errorf("%s: discontinuity written when false", b)
	}
}

// A stream recorded in two runs: the first suspends, the second resumes from the stored
// segments and closes. One playlist lists both, with a discontinuity between them.
func TestResumeTwoRuns(t *testing.T) {
	sink := newMemSink()
	cfg := Config{Sink: sink, PlaylistName: "p.m3u8", SegmentName: segName, TargetDuration: 4 * time.Second,
		Video: true, Audio: true, Width: 640, Height: 360, StartTime: seedStart}
	run1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, run1, time.Second, 13, 15, 90, true, true) // keyframes every 6 s: 6 s segments
	if err := run1.Suspend(); err != nil {
		t.Fatal(err)
	}
	suspended := string(sink.files["p.m3u8"])
	if strings.Contains(suspended, "#EXT-X-ENDLIST") || strings.Contains(suspended, "#EXT-X-DISCONTINUITY") ||
		strings.Count(suspended, "#EXTINF") != 3 {
		t.Errorf("suspended playlist:\n%s", suspended)
	}
	if err := run1.WriteAudio(20*time.Second, silentFrame); err == nil {
		t.Error("write after Suspend: no error")
	}
	if err := run1.Close(); err != nil || string(sink.files["p.m3u8"]) != suspended {
		t.Errorf("Close after Suspend: %v; playlist\n%s", err, sink.files["p.m3u8"])
	}
	first := storeSegments(t, run1.Segments())

	// The second run a minute later, with a shorter target and timestamps from 0 again.
	restart := seedStart.Add(time.Minute)
	cfg.StartTime, cfg.RecordingStart, cfg.Resume, cfg.TargetDuration = restart, seedStart, first, 2*time.Second
	run2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := run2.Segments(); len(got) != len(first) {
		t.Errorf("before any unit: %d segments, want the %d resumed", len(got), len(first))
	}
	feed(t, run2, 0, 2.5, 15, 15, true, true)
	// Every playlist lists the resumed segments first.
	if during := string(sink.files["p.m3u8"]); !strings.HasPrefix(during, suspended) ||
		!strings.HasSuffix(during, "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n"+segName(3, restart)+"\n") {
		t.Errorf("playlist during run 2:\n%s\nrun 1 left:\n%s", during, suspended)
	}
	feed(t, run2, 3*time.Second, 3, 15, 15, true, true)
	if err := run2.Close(); err != nil {
		t.Fatal(err)
	}

	segs := run2.Segments()
	if len(segs) != 6 {
		t.Fatalf("%d segments: %+v", len(segs), segs)
	}
	names := map[string]bool{}
	for i, seg := range segs {
		if seg.Index != i || names[seg.Name] || seg.Discontinuity != (i == 3) {
			t.Errorf("segment %d: %+v", i, seg)
		}
		names[seg.Name] = true
		if i >= 3 {
			checkSegmentStart(t, seg.Name, sink.files[seg.Name])
			if want := restart.Add(time.Duration(i-3) * 2 * time.Second); !seg.Start.Equal(want) || seg.Name != segName(i, want) {
				t.Errorf("segment %d: %s starts %v, want %v", i, seg.Name, seg.Start, want)
			}
		}
	}
	var want strings.Builder
	// The target covers run 1's 6 s segments though run 2's is 2 s.
	want.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:6\n" +
		"#EXT-X-TRTC-START-REC-TIME:1622425551884\n#EXT-X-TRTC-VIDEO-METADATA:WIDTH:640 HEIGHT:360\n")
	for i, seg := range segs {
		if i == 3 {
			want.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		fmt.Fprintf(&want, "#EXTINF:%s,\n%s\n", []string{"6.000", "6.000", "1.013", "2.000", "2.000", "2.008"}[i], seg.Name)
	}
	want.WriteString("#EXT-X-ENDLIST\n")
	got := sink.files["p.m3u8"]
	if string(got) != want.String() {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want.String())
	}
	p, _, err := m3u8.Decode(*bytes.NewBuffer(got), true)
	if err != nil {
		t.Fatal(err)
	}
	media := p.(*m3u8.MediaPlaylist)
	if !media.Closed || media.Count() != 6 {
		t.Fatalf("m3u8: closed %v, %d segments", media.Closed, media.Count())
	}
	for i, seg := range media.Segments[:media.Count()] {
		if seg.URI != segs[i].Name || seg.Discontinuity != (i == 3) {
			t.Errorf("m3u8 segment %d: %s, discontinuity %v", i, seg.URI, seg.Discontinuity)
		}
	}

	// A third run keeps the second's discontinuity and adds its own.
	cfg.StartTime, cfg.Resume = restart.Add(time.Minute), storeSegments(t, segs)
	run3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, run3, 0, 1, 15, 15, true, true)
	if err := run3.Close(); err != nil {
		t.Fatal(err)
	}
	segs = run3.Segments()
	if len(segs) != 7 || !segs[3].Discontinuity || !segs[6].Discontinuity || segs[6].Index != 6 ||
		strings.Count(string(sink.files["p.m3u8"]), "#EXT-X-DISCONTINUITY\n") != 2 {
		t.Errorf("third run: %+v\n%s", segs, sink.files["p.m3u8"])
	}
}

// A task that ends while the stream is not running closes a segmenter that gets no unit: the
// playlist is the resumed segments', ended, and no segment file is created.
func TestCloseResumedWithoutUnits(t *testing.T) {
	resume := []Segment{
		{Index: 0, Name: "s0.ts", Start: seedStart, Duration: 10 * time.Second, Bytes: 188},
		{Index: 1, Name: "s1.ts", Start: seedStart.Add(time.Hour), Duration: 4400 * time.Millisecond, Bytes: 188, Discontinuity: true},
	}
	for _, suspend := range []bool{false, true} {
		sink := newMemSink()
		s, err := New(Config{Sink: sink, PlaylistName: "a.m3u8", SegmentName: segName, Audio: true,
			StartTime: seedStart.Add(2 * time.Hour), RecordingStart: seedStart, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		resume[0].Name = "changed by the caller" // the segmenter keeps its own copy
		if suspend {
			err = s.Suspend()
		} else {
			err = s.Close()
		}
		resume[0].Name = "s0.ts"
		if err != nil {
			t.Fatal(err)
		}
		want := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:10\n" +
			"#EXT-X-TRTC-START-REC-TIME:1622425551884\n#EXTINF:10.000,\ns0.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:4.400,\ns1.ts\n"
		if !suspend {
			want += "#EXT-X-ENDLIST\n"
		}
		if got := string(sink.files["a.m3u8"]); got != want {
			t.Errorf("suspend %v: playlist:\n%s\nwant:\n%s", suspend, got, want)
		}
		if fmt.Sprint(sink.log) != "[create a.m3u8 close a.m3u8]" {
			t.Errorf("suspend %v: sink calls %v", suspend, sink.log)
		}
		if segs := s.Segments(); len(segs) != 2 || segs[0].Name != "s0.ts" {
			t.Errorf("suspend %v: segments %+v", suspend, segs)
		}
	}
}

func TestResumeErrors(t *testing.T) {
	ok := Config{Sink: newMemSink(), PlaylistName: "p.m3u8", SegmentName: segName, Audio: true, StartTime: seedStart}
	for name, resume := range map[string][]Segment{
		"index gap":         {{Index: 0, Name: "a.ts"}, {Index: 2, Name: "b.ts"}},
		"not from 0":        {{Index: 1, Name: "a.ts"}},
		"no name":           {{Index: 0}},
		"same name":         {{Index: 0, Name: "a.ts"}, {Index: 1, Name: "a.ts"}},
		"negative duration": {{Index: 0, Name: "a.ts", Duration: -1}},
	} {
		c := ok
		c.Resume = resume
		if _, err := New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A new segment named like a resumed one would overwrite it.
	c := ok
	c.Resume = []Segment{{Index: 0, Name: segName(1, seedStart), Duration: time.Second}}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAudio(0, silentFrame); err == nil || !strings.Contains(err.Error(), "like segment 0") {
		t.Errorf("name collision: %v", err)
	}
}
