package hub

import (
	"context"
	"errors"
	"image"
	"runtime"
	"sync"
	"testing"
	"time"
)

const frame = time.Second / 30

var (
	videoKey   = Key{Room: "1400000001/1/42", UserId: "alice", Track: MainVideo}
	audioKey   = Key{Room: "1400000001/1/42", UserId: "alice", Track: Audio}
	videoParam = Params{Codec: H264, SPS: []byte{0x67, 0x42}, PPS: []byte{0x68, 0xce}, Width: 640, Height: 360, FPS: 30}
	audioParam = Params{Codec: AAC, AudioConfig: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 1}
)

// videoUnit is frame n of a stream with a keyframe every gop frames.
func videoUnit(n, gop int) Unit {
	pts := time.Duration(n) * frame
	return Unit{PTS: pts, DTS: pts, Key: n%gop == 0, NALUs: [][]byte{{0x65, byte(n)}}}
}

func frameOf(u Unit) int { return int(u.PTS / frame) }

func publish(t testing.TB, h *Hub, key Key, p Params) *Source {
	t.Helper()
	src, err := h.Publish(key, p)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func subscribe(t testing.TB, h *Hub, key Key, opts SinkOptions) *Sink {
	t.Helper()
	s, err := h.Subscribe(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readAll reads s until ErrEnded and returns the frame numbers read.
func readAll(t testing.TB, s *Sink) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int
	for {
		u, err := s.Read(ctx)
		if errors.Is(err, ErrEnded) {
			return got
		}
		if err != nil {
			t.Fatalf("read after %d units: %v", len(got), err)
		}
		got = append(got, frameOf(u))
	}
}

// Three sinks, one never reading: the source writes every frame at once (Write never
// waits), the two reading sinks get every frame in order, and the stalled one loses its
// queue, skips to a keyframe, and says so in its stats.
func TestFanOutWithStalledSink(t *testing.T) {
	const frames, gop = 3000, 30
	h := New()
	src := publish(t, h, videoKey, videoParam)
	live := []*Sink{subscribe(t, h, videoKey, SinkOptions{}), subscribe(t, h, videoKey, SinkOptions{})}
	stalled := subscribe(t, h, videoKey, SinkOptions{Queue: 64})
	got := make([][]int, len(live))
	var wg sync.WaitGroup
	for i, s := range live {
		wg.Go(func() { got[i] = readAll(t, s) })
	}
	for n := range frames {
		if err := src.Write(videoUnit(n, gop)); err != nil {
			t.Fatal(err)
		}
		// Real time for the live sinks: a frame is written once they have read the last
		// but a few (the stalled sink is never waited for).
		for live[0].Queued() > 4 || live[1].Queued() > 4 {
			runtime.Gosched()
		}
	}
	src.Close()
	wg.Wait()
	for i, g := range got {
		if len(g) != frames || g[0] != 0 || g[frames-1] != frames-1 {
			t.Fatalf("live sink %d read %d frames (first %v)", i, len(g), g[:min(3, len(g))])
		}
		if st := live[i].Stats(); st != (Stats{Delivered: frames}) {
			t.Errorf("live sink %d stats %+v", i, st)
		}
	}
	tail := readAll(t, stalled)
	st := stalled.Stats()
	if st.Gaps == 0 || st.Skipped == 0 || st.Delivered != len(tail) || st.Delivered+st.Skipped != frames {
		t.Fatalf("stalled sink: stats %+v, read %d; want gaps, skips, and every frame read or skipped", st, len(tail))
	}
	if len(tail) == 0 || tail[0]%gop != 0 || len(tail) > 64 {
		t.Fatalf("the stalled sink resumed at frame %v of %d queued, want a keyframe and at most its queue", tail[:min(1, len(tail))], len(tail))
	}
	for i := 1; i < len(tail); i++ {
		if tail[i] != tail[i-1]+1 {
			t.Fatalf("stalled sink's queue has a hole at %d: %v", i, tail[i-1:i+1])
		}
	}
}

// A sink joining in the middle of a group starts at its keyframe, replayed, then follows
// live; with the group longer than the cache it waits for the next keyframe. An audio
// sink starts at the next unit.
func TestLateJoinStartsAtKeyframe(t *testing.T) {
	h := New()
	src := publish(t, h, videoKey, videoParam)
	for n := range 45 {
		src.Write(videoUnit(n, 30))
	}
	late := subscribe(t, h, videoKey, SinkOptions{})
	for n := 45; n < 50; n++ {
		src.Write(videoUnit(n, 30))
	}
	src.Close()
	got := readAll(t, late)
	if len(got) != 20 || got[0] != 30 || got[19] != 49 {
		t.Fatalf("late sink read frames %v, want 30..49", got)
	}

	// A group longer than the cache: no replay, the next keyframe.
	src = publish(t, h, videoKey, videoParam)
	long := maxGOPCache + 10
	for n := range long {
		src.Write(videoUnit(n, 10*maxGOPCache))
	}
	waiting := subscribe(t, h, videoKey, SinkOptions{})
	src.Write(videoUnit(long, 10*maxGOPCache)) // not a keyframe
	key := videoUnit(0, 1)
	key.PTS = time.Duration(long+1) * frame
	src.Write(key)
	src.Close()
	if got := readAll(t, waiting); len(got) != 1 || got[0] != long+1 {
		t.Fatalf("after an uncached group the sink read %v, want only the next keyframe %d", got, long+1)
	}
	if st := waiting.Stats(); st.Skipped != 1 || st.Gaps != 0 {
		t.Fatalf("waiting for the first keyframe: %+v, want 1 skipped and no gap", st)
	}

	asrc := publish(t, h, audioKey, audioParam)
	for n := range 5 {
		asrc.Write(Unit{PTS: time.Duration(n) * 21 * time.Millisecond, Frame: []byte{byte(n)}})
	}
	as := subscribe(t, h, audioKey, SinkOptions{})
	asrc.Write(Unit{PTS: 105 * time.Millisecond, Frame: []byte{5}})
	asrc.Close()
	ctx := context.Background()
	u, err := as.Read(ctx)
	if err != nil || u.Frame[0] != 5 || !u.Key {
		t.Fatalf("audio late join read %+v (%v), want the next unit, a key", u, err)
	}
	if _, err := as.Read(ctx); !errors.Is(err, ErrEnded) {
		t.Fatalf("after the last audio unit: %v", err)
	}
}

// The source leaving ends its streams cleanly: queued units are read, then ErrEnded; the
// key can be published again; a second publisher, a write after close and a subscription
// to a stream that is not there fail clearly. A sink that closes stops receiving.
func TestSourceLeaveAndErrors(t *testing.T) {
	h := New()
	src := publish(t, h, videoKey, videoParam)
	if _, err := h.Publish(videoKey, videoParam); !errors.Is(err, ErrPublished) {
		t.Fatalf("second publisher: %v", err)
	}
	if _, err := h.Publish(Key{UserId: "x", Track: Audio}, Params{}); err == nil {
		t.Fatal("a stream without codec was published")
	}
	s := subscribe(t, h, videoKey, SinkOptions{})
	quitter := subscribe(t, h, videoKey, SinkOptions{})
	for n := range 3 {
		src.Write(videoUnit(n, 30))
	}
	quitter.Close()
	src.Write(videoUnit(3, 30))
	if n := quitter.Queued(); n != 0 {
		t.Fatalf("a closed sink has %d units queued", n)
	}
	if _, err := quitter.Read(context.Background()); !errors.Is(err, ErrEnded) {
		t.Fatalf("read of a closed sink: %v", err)
	}
	if keys := h.Streams(); len(keys) != 1 || keys[0] != videoKey {
		t.Fatalf("streams %v", keys)
	}
	src.Close()
	src.Close()
	if err := src.Write(videoUnit(4, 30)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if got := readAll(t, s); len(got) != 4 {
		t.Fatalf("read %v before the end, want 4 frames", got)
	}
	if _, err := h.Subscribe(videoKey, SinkOptions{}); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("subscribe after the source left: %v", err)
	}
	if len(h.Streams()) != 0 {
		t.Fatal("the stream is still listed")
	}
	again := publish(t, h, videoKey, videoParam)
	defer again.Close()
	if p, ok := h.Params(videoKey); !ok || p.Width != 640 {
		t.Fatalf("params of the new publication %+v %v", p, ok)
	}
}

// New parameters ride on a keyframe and become the stream's and the sink's when read.
func TestParamsChange(t *testing.T) {
	h := New()
	src := publish(t, h, videoKey, videoParam)
	s := subscribe(t, h, videoKey, SinkOptions{})
	hd := videoParam
	hd.Width, hd.Height = 1280, 720
	bad := videoUnit(1, 30)
	bad.Params = &hd
	if err := src.Write(bad); err == nil {
		t.Fatal("new parameters on a non-keyframe were accepted")
	}
	src.Write(videoUnit(0, 30))
	change := videoUnit(30, 30)
	change.Params = &hd
	if err := src.Write(change); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.Params(videoKey); p.Width != 1280 {
		t.Fatalf("stream params %+v after the change", p)
	}
	ctx := context.Background()
	if _, err := s.Read(ctx); err != nil || s.Params().Width != 640 {
		t.Fatalf("before the changed unit the sink has %+v (%v)", s.Params(), err)
	}
	if u, err := s.Read(ctx); err != nil || u.Params == nil || s.Params().Width != 1280 {
		t.Fatalf("the changed unit %+v (%v), sink params %+v", u, err, s.Params())
	}
	src.Close()
}

// Read honours its context; TryRead never waits.
func TestReadContextAndTryRead(t *testing.T) {
	h := New()
	src := publish(t, h, audioKey, audioParam)
	s := subscribe(t, h, audioKey, SinkOptions{})
	if _, ok, err := s.TryRead(); ok || err != nil {
		t.Fatalf("TryRead of an empty sink: %v %v", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := s.Read(ctx); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("read with a cancelled context: %v", err)
	}
	src.Write(Unit{Frame: []byte{1}})
	if u, ok, err := s.TryRead(); !ok || err != nil || u.Frame[0] != 1 {
		t.Fatalf("TryRead %+v %v %v", u, ok, err)
	}
	src.Close()
	if _, ok, err := s.TryRead(); ok || !errors.Is(err, ErrEnded) {
		t.Fatalf("TryRead after the end: %v %v", ok, err)
	}
}

// BenchmarkFanOut: the cost of one unit to each of n reading sinks.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run("sinks="+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			h := New()
			src := publish(b, h, videoKey, videoParam)
			var wg sync.WaitGroup
			for range n {
				s := subscribe(b, h, videoKey, SinkOptions{Queue: 1 << 16})
				wg.Go(func() {
					for {
						if _, err := s.Read(context.Background()); err != nil {
							return
						}
					}
				})
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				src.Write(videoUnit(i, 30))
				for i%1024 == 0 && sinkBacklog(h, n) {
					runtime.Gosched()
				}
			}
			src.Close()
			wg.Wait()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/unit/sink")
		})
	}
}

// sinkBacklog is whether some sink of the video stream has more than a few thousand units
// queued (the benchmark then lets them catch up, so that none skips).
func sinkBacklog(h *Hub, _ int) bool {
	h.mu.Lock()
	st := h.streams[videoKey]
	h.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	for s := range st.sinks {
		if s.Queued() > 4096 {
			return true
		}
	}
	return false
}

// A sink AtNextKeyframe replays nothing, asks the source for a keyframe and starts at it;
// a sink falling behind asks too. The request is reported once.
func TestKeyframeRequests(t *testing.T) {
	h := New()
	src := publish(t, h, videoKey, videoParam)
	for n := range 10 {
		src.Write(videoUnit(n, 30))
	}
	if src.KeyframeWanted() {
		t.Fatal("a keyframe was wanted before any sink asked")
	}
	s := subscribe(t, h, videoKey, SinkOptions{AtNextKeyframe: true, Queue: 4})
	if s.Queued() != 0 || !src.KeyframeWanted() || src.KeyframeWanted() {
		t.Fatalf("AtNextKeyframe: %d queued; the request must be reported once", s.Queued())
	}
	src.Write(videoUnit(10, 30))
	key := videoUnit(0, 1)
	key.PTS = 11 * frame
	src.Write(key)
	for n := 12; n < 20; n++ { // the sink does not read: it falls behind
		src.Write(videoUnit(n, 1000))
	}
	if !src.KeyframeWanted() {
		t.Fatal("a sink that fell behind did not ask for a keyframe")
	}
	src.Close()
	if got := readAll(t, s); len(got) != 0 {
		t.Fatalf("after falling behind the sink read %v, want nothing until a keyframe", got)
	}
	if st := s.Stats(); st.Gaps != 1 || st.Skipped != 1+4+5 { // before the key; the queue dropped; arriving while waiting
		t.Fatalf("stats %+v", st)
	}
}

// TestRawSinks: only a Raw sink gets the uncoded media, starts at the next unit without a
// keyframe, and RawWanted follows the raw sinks; caches never keep pictures.
func TestRawSinks(t *testing.T) {
	h := New()
	src := publish(t, h, videoKey, videoParam)
	if src.RawWanted() {
		t.Fatal("RawWanted with no sink")
	}
	coded := subscribe(t, h, videoKey, SinkOptions{})
	raw := subscribe(t, h, videoKey, SinkOptions{Raw: true})
	if !src.RawWanted() {
		t.Fatal("RawWanted false with a raw sink")
	}
	pic := image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
	for n := 1; n <= 3; n++ { // no keyframe among them
		u := videoUnit(n, 30)
		u.Picture = pic
		if err := src.Write(u); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 3; n++ {
		u, ok, _ := raw.TryRead()
		if !ok || frameOf(u) != n || u.Picture != pic {
			t.Fatalf("raw sink unit %d: ok %v, frame %d, picture %v", n, ok, frameOf(u), u.Picture != nil)
		}
	}
	if _, ok, _ := coded.TryRead(); ok {
		t.Fatal("the coded sink started without a keyframe")
	}
	key := videoUnit(30, 30)
	key.Picture = pic
	if err := src.Write(key); err != nil {
		t.Fatal(err)
	}
	if u, ok, _ := coded.TryRead(); !ok || u.Picture != nil {
		t.Fatalf("coded sink: ok %v, picture %v (want the unit without it)", ok, u.Picture != nil)
	}
	late := subscribe(t, h, videoKey, SinkOptions{}) // replays the cached group
	if u, ok, _ := late.TryRead(); !ok || u.Picture != nil {
		t.Fatalf("cached group: ok %v, picture %v", ok, u.Picture != nil)
	}
	raw.Close()
	raw.Close()
	if src.RawWanted() {
		t.Fatal("RawWanted after the raw sink closed")
	}
}
