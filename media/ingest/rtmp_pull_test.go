package ingest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// rtmpTestServe runs an RTMP server on 127.0.0.1 that hands each player to play, and
// returns its address; the test's end closes it and waits for its connections.
func rtmpTestServe(t *testing.T, play func(sc *gortmplib.ServerConn, conn net.Conn) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				sc := &gortmplib.ServerConn{RW: conn}
				if err := sc.Initialize(); err != nil {
					return
				}
				if err := sc.AcceptConn(); err != nil {
					return
				}
				if sc.Publish {
					sc.RejectAction()
					return
				}
				if err := play(sc, conn); err != nil && !errors.Is(err, net.ErrClosed) {
					t.Logf("the test server: %v", err)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// rtmpTestStream is synthetic media: 320x240@15 H.264 (a keyframe a second) and 48 kHz
// mono AAC, as gortmplib tracks and the writes of their units.
type rtmpTestStream struct {
	video   *synth.Video
	audio   *synth.Audio
	vt, at  *gortmplib.Track
	reorder time.Duration // added to the pictures' PTS: B-frames
}

func newRTMPTestStream(t *testing.T) *rtmpTestStream {
	t.Helper()
	v, err := synth.NewVideo(synth.VideoConfig{Width: 320, Height: 240, Fps: 15, GOP: 15})
	if err != nil {
		t.Fatal(err)
	}
	a, err := synth.NewAudio(synth.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &rtmpTestStream{
		video: v, audio: a,
		vt: &gortmplib.Track{Codec: &codecs.H264{SPS: v.SPS(), PPS: v.PPS()}},
		at: &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &mpeg4audio.AudioSpecificConfig{
			Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 1, ChannelCount: 1}}},
	}
}

// write writes frames pictures and the audio of their span (each picture first, then
// the audio frames up to the next picture), and returns how many audio frames.
func (s *rtmpTestStream) write(w *gortmplib.Writer, frames int) (int, error) {
	audio := 0
	for range frames {
		au := s.video.Next()
		if err := w.WriteH264(s.vt, au.PTS+s.reorder, au.PTS, au.NALUs); err != nil {
			return audio, err
		}
		for {
			f := s.audio.Next()
			var pkts mpeg4audio.ADTSPackets
			if err := pkts.Unmarshal(f.ADTS); err != nil {
				return audio, err
			}
			if err := w.WriteMPEG4Audio(s.at, f.PTS, pkts[0].AU); err != nil {
				return audio, err
			}
			audio++
			if f.PTS+s.audio.FrameDuration() >= au.PTS+time.Second/15 {
				break
			}
		}
	}
	return audio, nil
}

// rtmpTestEnd half-closes conn (the player reads to the end of what was sent) and waits
// for the player to go.
func rtmpTestEnd(conn net.Conn) {
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn)
}

func TestRTMPPull(t *testing.T) {
	s := newRTMPTestStream(t)
	const frames = 45
	urls := make(chan *url.URL, 1)
	sent := make(chan int, 1)
	addr := rtmpTestServe(t, func(sc *gortmplib.ServerConn, conn net.Conn) error {
		urls <- sc.URL
		w := &gortmplib.Writer{Conn: sc, Tracks: []*gortmplib.Track{s.vt, s.at}}
		if err := w.Initialize(); err != nil {
			return err
		}
		n, err := s.write(w, frames)
		sent <- n
		rtmpTestEnd(conn)
		return err
	})
	var dials atomic.Int32
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Open(ctx, "rtmp://"+addr+"/live/stream?txSecret=abc", Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if dials.Load() != 1 {
		t.Errorf("Options.Dial called %d times", dials.Load())
	}
	if u := <-urls; u.Path != "/live/stream" || u.Query().Get("txSecret") != "abc" {
		t.Errorf("the server was asked for %s", u)
	}
	if !m.Live() || m.SetVolume(50) {
		t.Error("an RTMP stream is not Live, or applies a volume")
	}
	v, a := m.Video(), m.Audio()
	if v == nil || v.Codec != hub.H264 || v.Width != 320 || v.Height != 240 || v.FPS != 15 {
		t.Fatalf("video %+v", v)
	}
	if a == nil || a.Codec != hub.AAC || a.SampleRate != 48000 || a.Channels != 1 {
		t.Fatalf("audio %+v", a)
	}
	var video, audio int
	var last time.Duration
	for {
		p, err := m.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d video and %d audio units: %v", video, audio, err)
		}
		if video+audio == 0 && (p.Track != hub.MainVideo || !p.Unit.Key || p.Unit.DTS != 0) {
			t.Fatalf("the first unit: %v key %v at %v", p.Track, p.Unit.Key, p.Unit.DTS)
		}
		switch p.Track {
		case hub.MainVideo:
			if want := time.Duration(video) * time.Second / 15; p.Unit.DTS-want > time.Millisecond || want-p.Unit.DTS > time.Millisecond {
				t.Fatalf("picture %d at %v, want %v", video, p.Unit.DTS, want)
			}
			if p.Unit.Key != (video%15 == 0) {
				t.Fatalf("picture %d: key %v", video, p.Unit.Key)
			}
			video++
		case hub.Audio:
			audio++
		}
		last = max(last, p.Unit.DTS)
	}
	if n := <-sent; video != frames || audio != n {
		t.Errorf("%d pictures and %d audio frames, %d and %d sent", video, audio, frames, n)
	}
	if last < 2900*time.Millisecond {
		t.Errorf("the last unit at %v", last)
	}
}

func TestRTMPPullBFrames(t *testing.T) {
	s := newRTMPTestStream(t)
	s.reorder = 2 * time.Second / 15
	addr := rtmpTestServe(t, func(sc *gortmplib.ServerConn, conn net.Conn) error {
		w := &gortmplib.Writer{Conn: sc, Tracks: []*gortmplib.Track{s.vt, s.at}}
		if err := w.Initialize(); err != nil {
			return err
		}
		_, err := s.write(w, 45)
		rtmpTestEnd(conn)
		return err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Open(ctx, "rtmp://"+addr+"/live/b", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := m.Next(ctx)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "B-frames") || !strings.Contains(err.Error(), "-bf 0") {
		t.Fatalf("Next: %v %v, want the B-frames refused", p.Track, err)
	}
}

func TestRTMPPullCodec(t *testing.T) {
	s := newRTMPTestStream(t)
	g711 := &gortmplib.Track{Codec: &codecs.G711{ChannelCount: 1}}
	addr := rtmpTestServe(t, func(sc *gortmplib.ServerConn, conn net.Conn) error {
		w := &gortmplib.Writer{Conn: sc, Tracks: []*gortmplib.Track{s.vt, g711}}
		if err := w.Initialize(); err != nil {
			return err
		}
		for i := range 45 {
			au := s.video.Next()
			if err := w.WriteH264(s.vt, au.PTS, au.PTS, au.NALUs); err != nil {
				return err
			}
			if err := w.WriteG711(g711, time.Duration(i)*time.Second/15, make([]byte, 533)); err != nil {
				return err
			}
		}
		rtmpTestEnd(conn)
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Open(ctx, "rtmp://"+addr+"/live/g711", Options{})
	if err == nil {
		m.Close()
	}
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "G711") {
		t.Fatalf("Open: %v, want G.711 refused", err)
	}
	for _, bad := range []string{"rtmp://" + addr + "/", "rtmp://" + addr + "/app"} {
		if _, err := Open(ctx, bad, Options{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestRTMPPullStall: a source that stops sending ends Next with a time-out; one that never
// starts is bounded by Open's context; Close returns while the reader is blocked on a
// full queue.
func TestRTMPPullStall(t *testing.T) {
	defer func(d time.Duration) { rtmpPullIdle = d }(rtmpPullIdle)
	rtmpPullIdle = 500 * time.Millisecond
	s := newRTMPTestStream(t)
	frames := map[string]int{"/live/stall": 40, "/live/silent": 0, "/live/long": 600}
	addr := rtmpTestServe(t, func(sc *gortmplib.ServerConn, conn net.Conn) error {
		w := &gortmplib.Writer{Conn: sc, Tracks: []*gortmplib.Track{s.vt, s.at}}
		if err := w.Initialize(); err != nil {
			return err
		}
		if _, err := s.write(w, frames[sc.URL.Path]); err != nil {
			return nil // the player left
		}
		io.Copy(io.Discard, conn) // and then nothing, until the player goes
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Open(ctx, "rtmp://"+addr+"/live/stall", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err = m.Next(ctx)
		if err != nil {
			break
		}
		n++
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "sent nothing") || n == 0 {
		t.Errorf("after %d units: %v, want a time-out", n, err)
	}
	m.Close()

	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if m, err := Open(short, "rtmp://"+addr+"/live/silent", Options{}); err == nil {
		m.Close()
		t.Error("a silent stream opened")
	} else if time.Since(start) > 5*time.Second {
		t.Errorf("Open took %v past its context: %v", time.Since(start), err)
	}

	m, err = Open(ctx, "rtmp://"+addr+"/live/long", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Next(ctx); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}
