package virtual

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

const room = "1400000001/1/42"

func key(user string, tr hub.Track) hub.Key { return hub.Key{Room: room, UserId: user, Track: tr} }

// drain reads what s has queued now.
func drain(t *testing.T, s *hub.Sink) (units []hub.Unit, ended bool) {
	t.Helper()
	for {
		u, ok, err := s.TryRead()
		if errors.Is(err, hub.ErrEnded) {
			return units, true
		}
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return units, false
		}
		units = append(units, u)
	}
}

// One encoder per published track, however many sinks: two sinks of alice's video get the
// very same units; media is produced up to the time asked and no further; a sink that
// joins later starts at a keyframe coded for it, at the time it joined.
func TestOneEncoderPerTrackManySinks(t *testing.T) {
	h := hub.New()
	m := New(h)
	defer m.Close()
	pubs := []Publisher{{UserId: "alice", Main: &Video{Width: 320, Height: 180, Fps: 10}, Audio: true}}
	if err := m.Sync(room, pubs, t0); err != nil {
		t.Fatal(err)
	}
	a := mustSubscribe(t, h, key("alice", hub.MainVideo))
	b := mustSubscribe(t, h, key("alice", hub.MainVideo))
	audio := mustSubscribe(t, h, key("alice", hub.Audio))
	if err := m.Advance(t0.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ua, _ := drain(t, a)
	ub, _ := drain(t, b)
	if len(ua) != 21 || len(ub) != 21 || !ua[0].Key || ua[20].PTS != 2*time.Second {
		t.Fatalf("2 s at 10 fps: %d and %d units, want 21 each from a keyframe to PTS 2 s", len(ua), len(ub))
	}
	for i := range ua {
		if &ua[i].NALUs[0][0] != &ub[i].NALUs[0][0] {
			t.Fatalf("unit %d was coded twice: the sinks do not share one encoder", i)
		}
	}
	au, _ := drain(t, audio)
	if want := int(2*AudioSampleRate/1024) + 1; len(au) != want || au[0].Frame[0] == 0xff && au[0].Frame[1]&0xf0 == 0xf0 {
		t.Fatalf("2 s of audio: %d units (want %d, raw frames without ADTS)", len(au), want)
	}
	late, err := h.Subscribe(key("alice", hub.MainVideo), hub.SinkOptions{AtNextKeyframe: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Advance(t0.Add(2500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ul, _ := drain(t, late)
	if len(ul) != 5 || !ul[0].Key || ul[0].PTS != 2100*time.Millisecond {
		t.Fatalf("late sink: %d units from %v (key %v), want 5 from an IDR at 2.1 s", len(ul), ul[0].PTS, ul[0].Key)
	}
}

// A track no longer published ends its stream (the others go on); a format change goes on
// in the same stream from a keyframe that carries the new parameters; a track published
// again is a new stream from that time. The video decodes across the change.
func TestPublishChanges(t *testing.T) {
	h := hub.New()
	m := New(h)
	defer m.Close()
	small := &Video{Width: 160, Height: 90, Fps: 10}
	must(t, m.Sync(room, []Publisher{{UserId: "bob", Main: small, Audio: true}}, t0))
	v := mustSubscribe(t, h, key("bob", hub.MainVideo))
	a := mustSubscribe(t, h, key("bob", hub.Audio))
	large := &Video{Width: 320, Height: 180, Fps: 10}
	must(t, m.Sync(room, []Publisher{{UserId: "bob", Main: large, Audio: true}}, t0.Add(time.Second)))
	must(t, m.Advance(t0.Add(2*time.Second)))
	units, _ := drain(t, v)
	if len(units) != 21 {
		t.Fatalf("%d units, want 21", len(units))
	}
	change := units[11]
	if change.PTS != 1100*time.Millisecond || !change.Key || change.Params == nil || change.Params.Width != 320 || v.Params().Width != 320 {
		t.Fatalf("the unit after the change: PTS %v key %v params %+v", change.PTS, change.Key, change.Params)
	}
	for i, u := range units {
		if u.PTS != time.Duration(i)*100*time.Millisecond {
			t.Fatalf("unit %d at %v: timestamps do not go on across the change", i, u.PTS)
		}
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		var annexB []byte
		for _, u := range units {
			annexB = h264.AppendAnnexB(annexB, u.NALUs)
		}
		checkDecodes(t, annexB, 21)
	}

	must(t, m.Sync(room, []Publisher{{UserId: "bob", Audio: true}}, t0.Add(3*time.Second)))
	rest, ended := drain(t, v)
	if !ended || len(rest) != 10 {
		t.Fatalf("video unpublished: %d more units, ended %v; want the 10 up to 3 s, then the end", len(rest), ended)
	}
	if _, ended := drain(t, a); ended {
		t.Fatal("the audio ended with the video")
	}
	must(t, m.Sync(room, []Publisher{{UserId: "bob", Main: small, Audio: true}}, t0.Add(5*time.Second)))
	again := mustSubscribe(t, h, key("bob", hub.MainVideo))
	must(t, m.Advance(t0.Add(6*time.Second)))
	if u, _ := drain(t, again); len(u) != 11 || u[0].PTS != 0 || !u[0].Key {
		t.Fatalf("published again: %d units from %v, want a new stream from 0", len(u), u[0].PTS)
	}
	must(t, m.Sync(room, nil, t0.Add(7*time.Second)))
	if keys := h.Streams(); len(keys) != 0 {
		t.Fatalf("streams left after everyone stopped: %v", keys)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustSubscribe(t *testing.T, h *hub.Hub, k hub.Key) *hub.Sink {
	t.Helper()
	s, err := h.Subscribe(k, hub.SinkOptions{Queue: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDecodes has ffprobe (an independent decoder) count the frames of an H.264 stream.
func checkDecodes(t *testing.T, annexB []byte, frames int) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", "-f", "h264", "-")
	cmd.Stdin = bytes.NewReader(annexB)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(frames) {
		t.Fatalf("ffprobe decoded %q frames, want %d", got, frames)
	}
}
