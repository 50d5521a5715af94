package mp4

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// fragmented writes units through a FragmentWriter, flushing each time a unit comes a second or
// more after the last flush, and returns the file and the offsets where each fragment starts
// (the first one is the header's end).
func fragmented(t testing.TB, tracks Tracks, units []unit) ([]byte, []int) {
	t.Helper()
	var out bytes.Buffer
	f, err := NewFragmentWriter(&out, tracks)
	if err != nil {
		t.Fatal(err)
	}
	var starts []int
	flushed := time.Duration(0)
	flush := func() {
		before := out.Len()
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.Len() > before && len(starts) == 0 {
			starts = append(starts, headerEnd(t, out.Bytes()))
		}
		if out.Len() > before {
			starts = append(starts, out.Len())
		}
	}
	for _, u := range units {
		if u.dts-flushed >= time.Second {
			flush()
			flushed = u.dts
		}
		if u.video {
			err = f.WriteVideo(u.pts, u.dts, u.key, u.data)
		} else {
			err = f.WriteAudio(u.pts, u.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var scratch memScratch
	var progressive bytes.Buffer
	if _, err := Defragment(bytes.NewReader(out.Bytes()), int64(out.Len()), &progressive, &scratch); err != nil {
		t.Fatal(err)
	}
	if got := f.Size(); got < int64(progressive.Len()) || got < int64(out.Len()) {
		t.Fatalf("Size %d after Close, %d written, %d once progressive", got, out.Len(), progressive.Len())
	}
	return out.Bytes(), starts // Close wrote the last fragment
}

// headerEnd is the end of the ftyp and moov boxes.
func headerEnd(t testing.TB, b []byte) int {
	boxes, err := boxesIn(b, 0)
	if err != nil || len(boxes) < 2 || boxes[0].typ != "ftyp" || boxes[1].typ != "moov" {
		t.Fatalf("fragmented file starts with %+v (%v)", boxes, err)
	}
	return int(boxes[1].offset) + 8 + len(boxes[1].body)
}

func defragment(t testing.TB, b []byte) ([]byte, Recovered, error) {
	t.Helper()
	var out bytes.Buffer
	rec, err := Defragment(bytes.NewReader(b), int64(len(b)), &out, &memScratch{})
	return out.Bytes(), rec, err
}

// The fragmented file is itself an MP4 ffprobe reads; Defragment makes of it the very file the
// progressive Muxer makes of the same input, byte for byte.
func TestFragmentWriterDefragmentsToTheMuxersFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name         string
		video, audio bool
	}{{"av", true, true}, {"video", true, false}, {"audio", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			units := source(t, 6, c.video, c.audio, 0, 13*time.Millisecond)
			tracks := Tracks{Video: c.video, Audio: c.audio}
			frag, starts := fragmented(t, tracks, units)
			if len(starts) < 5 {
				t.Fatalf("%d fragments for 6 s flushed every second", len(starts))
			}
			fragFile := filepath.Join(dir, c.name+".frag.mp4")
			if err := os.WriteFile(fragFile, frag, 0o644); err != nil {
				t.Fatal(err)
			}
			fp := ffprobe(t, fragFile, false)
			if len(fp.Streams) != btoi(c.video)+btoi(c.audio) {
				t.Fatalf("ffprobe of the fragmented file: %+v", fp)
			}
			got, rec, err := defragment(t, frag)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Bytes != int64(len(frag)) || rec.Fragments != len(starts) || rec.Video != c.video || rec.Audio != c.audio {
				t.Fatalf("recovered %+v of %d bytes in %d fragments", rec, len(frag), len(starts))
			}
			want, err := os.ReadFile(mux(t, dir, c.name+".mp4", tracks, units, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("defragmented file (%d bytes) differs from the muxer's (%d bytes)", len(got), len(want))
			}
			if rec.End-rec.Start < 5900*time.Millisecond {
				t.Fatalf("recovered %v–%v of 6 s", rec.Start, rec.End)
			}
		})
	}
}

// A file cut anywhere (a crash) gives back every complete fragment before the cut: cuts at
// every byte of the last fragment's head and tail and at a sample of offsets elsewhere. ffprobe
// reads the file made of a cut one.
func TestDefragmentCutFile(t *testing.T) {
	units := source(t, 4, true, true, 0, 0)
	frag, starts := fragmented(t, Tracks{Video: true, Audio: true}, units)
	last := starts[len(starts)-1]
	wholes := map[int][]byte{} // complete fragments → the file made of them
	for i, s := range starts {
		end := len(frag)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		out, rec, err := defragment(t, frag[:end])
		if err != nil || rec.Fragments != i+1 || rec.Bytes != int64(end) {
			t.Fatalf("prefix of %d fragments: %+v %v", i+1, rec, err)
		}
		wholes[i+1] = out
		_ = s
	}
	var cuts []int
	for o := 0; o < len(frag); o += 97 {
		cuts = append(cuts, o)
	}
	for o := last; o < min(last+600, len(frag)); o++ {
		cuts = append(cuts, o)
	}
	for o := max(last, len(frag)-600); o < len(frag); o++ {
		cuts = append(cuts, o)
	}
	for _, cut := range cuts {
		complete := 0
		for i, s := range starts {
			end := len(frag)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			if end <= cut {
				complete = i + 1
			}
			_ = s
		}
		out, rec, err := defragment(t, frag[:cut])
		if complete == 0 {
			if !errors.Is(err, ErrNothingRecovered) || len(out) != 0 {
				t.Fatalf("cut at %d (before the first fragment ends): %v, %d bytes out", cut, err, len(out))
			}
			continue
		}
		if err != nil || rec.Fragments != complete || !bytes.Equal(out, wholes[complete]) {
			t.Fatalf("cut at %d: %+v %v, want %d fragments", cut, rec, err, complete)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "cut.mp4")
	out, rec, err := defragment(t, frag[:last+len(frag[last:])/2])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, file, false)
	if len(p.Streams) != 2 || absDur(seconds(t, p.Format.Duration)-(rec.End-rec.Start)) > 50*time.Millisecond {
		t.Fatalf("cut file: ffprobe %+v, recovered %v–%v", p, rec.Start, rec.End)
	}
	if d := rec.End - rec.Start; d < 2500*time.Millisecond || d > 3500*time.Millisecond {
		t.Fatalf("a 4 s file cut in its last fragment gives %v", d)
	}
}

func TestFragmentWriterErrors(t *testing.T) {
	if _, err := NewFragmentWriter(&bytes.Buffer{}, Tracks{}); err == nil {
		t.Fatal("a writer without tracks")
	}
	units := source(t, 1, true, false, 0, 0)
	var out bytes.Buffer
	f, _ := NewFragmentWriter(&out, Tracks{Video: true})
	if err := f.WriteVideo(-time.Second, -time.Second, true, units[0].data); err == nil {
		t.Fatal("negative dts accepted")
	}
	if err := f.WriteVideo(0, 0, true, units[0].data); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteVideo(0, 0, false, units[1].data); err == nil {
		t.Fatal("repeated dts accepted")
	}
	if err := f.WriteAudio(0, []byte{0xff, 0xf1}); err == nil {
		t.Fatal("audio into a video-only writer")
	}
	// New parameter sets after the first keyframe: the caller is to start a new file.
	big := otherKeyframe(t)
	if err := f.WriteVideo(time.Second, time.Second, true, big); !errors.Is(err, ErrParamsChanged) {
		t.Fatalf("a changed SPS: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteVideo(2*time.Second, 2*time.Second, true, units[0].data); !errors.Is(err, ErrFinished) {
		t.Fatalf("write after Close: %v", err)
	}
	empty, _ := NewFragmentWriter(&bytes.Buffer{}, Tracks{Audio: true})
	if err := empty.Close(); err == nil {
		t.Fatal("a file without samples closed")
	}
}

// A declared track that never gets a sample is left out of the header after a wait, so the
// others do not pile up in memory.
func TestFragmentWriterDropsSilentTrack(t *testing.T) {
	units := source(t, 5, true, false, 0, 0)
	var out bytes.Buffer
	f, _ := NewFragmentWriter(&out, Tracks{Video: true, Audio: true})
	for _, u := range units {
		if err := f.WriteVideo(u.pts, u.dts, u.key, u.data); err != nil {
			t.Fatal(err)
		}
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() == 0 || f.Size()-int64(out.Len()) > 20000 {
		t.Fatalf("%d bytes written, %d waiting", out.Len(), f.Size()-int64(out.Len()))
	}
	if err := f.WriteAudio(5*time.Second, nil); err == nil {
		t.Fatal("audio after its track was dropped")
	}
	f.Close()
	_, rec, err := defragment(t, out.Bytes())
	if err != nil || !rec.Video || rec.Audio {
		t.Fatalf("%+v %v", rec, err)
	}
}

// otherKeyframe is a keyframe of another picture size: other parameter sets.
func otherKeyframe(t *testing.T) []byte {
	v, err := synth.NewVideo(synth.VideoConfig{UserId: "bob", Width: 64, Height: 48, Fps: 15})
	if err != nil {
		t.Fatal(err)
	}
	return v.Next().AnnexB()
}

// EndAt cuts the track that goes on past the end (the audio frame straddling a split) by its
// edit list: ffprobe and Duration say the file ends there.
func TestEndAtCutsTheStraddlingFrame(t *testing.T) {
	units := source(t, 2, true, true, 0, 0)
	var keep []unit
	for _, u := range units { // the video ends at 1 s, the audio frame starting at 0.9813 s at 1.0027 s
		if u.pts < time.Second {
			keep = append(keep, u)
		}
	}
	dir := t.TempDir()
	plain := ffprobe(t, mux(t, dir, "plain.mp4", Tracks{Video: true, Audio: true}, keep, nil), false)
	if d := seconds(t, plain.Format.Duration); d <= time.Second {
		t.Fatalf("without EndAt the file lasts %v: the test needs audio past the video", d)
	}
	cut := ffprobe(t, mux(t, dir, "cut.mp4", Tracks{Video: true, Audio: true}, keep, func(m *Muxer) { m.EndAt(time.Second) }), false)
	if d := seconds(t, cut.Format.Duration); absDur(d-time.Second) > 2*time.Millisecond {
		t.Fatalf("EndAt(1 s): the file lasts %v", d)
	}
}

// Tracks configured up front (VideoSPS and VideoPPS, AudioConfig) are in the header whatever
// comes: video starting 5 s after the audio is kept, a track without samples is left out of
// the file Defragment makes, and other in-band parameter sets are refused.
func TestFragmentWriterConfiguredTracksWait(t *testing.T) {
	v, err := synth.NewVideo(synth.VideoConfig{UserId: "alice", Width: 320, Height: 180, Fps: 15})
	if err != nil {
		t.Fatal(err)
	}
	a, err := synth.NewAudio(synth.AudioConfig{UserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	asc := a.AudioSpecificConfig()
	tracks := Tracks{Video: true, Audio: true, VideoSPS: v.SPS(), VideoPPS: v.PPS(), AudioConfig: &asc}

	var late []unit
	for _, u := range source(t, 10, true, true, 5*time.Second, 0) {
		if !u.video || u.pts < 10*time.Second {
			late = append(late, u)
		}
	}
	frag, _ := fragmented(t, tracks, late)
	_, rec, err := defragment(t, frag)
	if err != nil || !rec.Video || !rec.Audio || rec.End-rec.Start < 9900*time.Millisecond {
		t.Fatalf("video from 5 s: recovered %+v, %v", rec, err)
	}

	frag, _ = fragmented(t, tracks, source(t, 5, false, true, 0, 0))
	if _, rec, err = defragment(t, frag); err != nil || rec.Video || !rec.Audio {
		t.Fatalf("no video: recovered %+v, %v", rec, err)
	}

	var out bytes.Buffer
	f, _ := NewFragmentWriter(&out, tracks)
	if err := f.WriteVideo(0, 0, true, otherKeyframe(t)); !errors.Is(err, ErrParamsChanged) {
		t.Fatalf("a keyframe of other parameter sets: %v", err)
	}
}
