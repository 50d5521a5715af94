package rtmpout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// unit is one unit of a synthetic stream, of its video track or its audio track.
type unit struct {
	video bool
	u     hub.Unit
}

// stream is d of synthetic H.264 (w×h at fps) and 48 kHz mono AAC, in decoding order
// (video first at equal times), with the tracks' parameters.
func stream(t *testing.T, w, h, fps int, d time.Duration) (vp, ap hub.Params, units []unit) {
	t.Helper()
	v, err := synth.NewVideo(synth.VideoConfig{UserId: "relay", Width: w, Height: h, Fps: fps})
	if err != nil {
		t.Fatal(err)
	}
	if vp, err = hub.H264Params(v.SPS(), v.PPS()); err != nil {
		t.Fatal(err)
	}
	a, err := synth.NewAudio(synth.AudioConfig{UserId: "relay"})
	if err != nil {
		t.Fatal(err)
	}
	asc, err := a.AudioSpecificConfig().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ap = hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: 48000, Channels: 1}
	var vu, au []unit
	for i := 0; ; i++ {
		pts := time.Duration(i) * time.Second / time.Duration(fps)
		if pts >= d {
			break
		}
		f := v.Next()
		vu = append(vu, unit{true, hub.Unit{PTS: pts, DTS: pts, Key: f.Key, NALUs: f.NALUs}})
	}
	for {
		f := a.Next()
		if f.PTS >= d {
			break
		}
		raw, err := aac.ADTSPayload(f.ADTS)
		if err != nil {
			t.Fatal(err)
		}
		au = append(au, unit{false, hub.Unit{PTS: f.PTS, DTS: f.PTS, Key: true, Frame: raw}})
	}
	for len(vu) > 0 || len(au) > 0 {
		if len(au) == 0 || len(vu) > 0 && vu[0].u.DTS <= au[0].u.DTS {
			units, vu = append(units, vu[0]), vu[1:]
		} else {
			units, au = append(units, au[0]), au[1:]
		}
	}
	return vp, ap, units
}

func write(p *Publisher, u unit) error {
	if u.video {
		return p.WriteVideo(u.u)
	}
	return p.WriteAudio(u.u)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// freePort is a loopback port nobody listens on (for now).
func freePort(t *testing.T) int {
	ln := listen(t)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type sinks struct{ video, audio *hub.Sink }

// rtmpServer runs the repository's RTMP listener, which publishes what it receives at
// rtmp://<addr>/push/room1?userid=relay into a hub; the stream's sinks (read from its
// start) come on the channel once it is announced.
func rtmpServer(t *testing.T) (*rtmp.Server, string, <-chan sinks) {
	h := hub.New()
	got := make(chan sinks, 1)
	srv, err := rtmp.New(rtmp.Config{Hub: h, Now: time.Now, Logger: slog.New(slog.DiscardHandler),
		Admit: func(r rtmp.Request) (*rtmp.Publisher, error) {
			if r.Stream != "room1" || r.Query.Get("userid") != "relay" || r.Query.Get("key") != "s3cret" {
				return nil, fmt.Errorf("unexpected publish of %q with %v", r.Stream, r.Query)
			}
			return &rtmp.Publisher{Room: "room1", UserId: "relay", Tracks: func(video, audio *hub.Params) error {
				var s sinks
				var err error
				if video != nil {
					if s.video, err = h.Subscribe(hub.Key{Room: "room1", UserId: "relay", Track: hub.MainVideo}, hub.SinkOptions{FromStart: true, Queue: 4096}); err != nil {
						return err
					}
				}
				if audio != nil {
					if s.audio, err = h.Subscribe(hub.Key{Room: "room1", UserId: "relay", Track: hub.Audio}, hub.SinkOptions{FromStart: true, Queue: 4096}); err != nil {
						return err
					}
				}
				got <- s
				return nil
			}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, ln.Addr().String(), got
}

func readAll(t *testing.T, s *hub.Sink) []hub.Unit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var units []hub.Unit
	for {
		u, err := s.Read(ctx)
		if errors.Is(err, hub.ErrEnded) {
			return units
		}
		if err != nil {
			t.Fatalf("after %d units: %v", len(units), err)
		}
		units = append(units, u)
	}
}

// Published into the repository's own RTMP listener, the stream arrives unchanged: the
// tracks' parameters, every unit's bytes, keyframe flag and times (to the millisecond RTMP
// carries). The URL's application, stream name and query reach the server as they are.
func TestIntoTheRTMPServer(t *testing.T) {
	_, addr, got := rtmpServer(t)
	vp, ap, units := stream(t, 320, 180, 15, 3*time.Second) // the listener analyses 2 s before it announces
	p, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/push/room1?userid=relay&key=s3cret", Tracks: Tracks{Video: &vp, Audio: &ap}})
	if err != nil {
		t.Fatal(err)
	}
	payload := 0
	for _, u := range units {
		if err := write(p, u); err != nil {
			t.Fatal(err)
		}
		payload += len(u.u.Frame)
		for _, n := range u.u.NALUs {
			payload += len(n)
		}
	}
	if n := p.BytesSent(); n < uint64(payload) {
		t.Errorf("BytesSent %d, less than the %d bytes of media", n, payload)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var s sinks
	select {
	case s = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the listener never announced the stream")
	}
	defer s.video.Close()
	defer s.audio.Close()
	if got := s.video.Params(); !bytes.Equal(got.SPS, vp.SPS) || !bytes.Equal(got.PPS, vp.PPS) || got.Width != 320 || got.Height != 180 {
		t.Errorf("video params %+v, want %+v", got, vp)
	}
	if got := s.audio.Params(); !bytes.Equal(got.AudioConfig, ap.AudioConfig) || got.SampleRate != 48000 || got.Channels != 1 {
		t.Errorf("audio params %+v, want %+v", got, ap)
	}
	var sentV, sentA []hub.Unit
	for _, u := range units {
		if u.video {
			sentV = append(sentV, u.u)
		} else {
			sentA = append(sentA, u.u)
		}
	}
	compare := func(track string, got, sent []hub.Unit) {
		t.Helper()
		if len(got) != len(sent) {
			t.Errorf("%s: %d units arrived, %d sent", track, len(got), len(sent))
		}
		for i := range min(len(got), len(sent)) {
			g, w := got[i], sent[i]
			wpts, wdts := w.PTS.Round(time.Millisecond), w.DTS.Round(time.Millisecond)
			switch {
			case g.PTS != wpts || g.DTS != wdts:
				t.Fatalf("%s unit %d: PTS/DTS %v/%v, want %v/%v", track, i, g.PTS, g.DTS, wpts, wdts)
			case g.Key != w.Key:
				t.Fatalf("%s unit %d: key %v, want %v", track, i, g.Key, w.Key)
			case !bytes.Equal(g.Frame, w.Frame) || len(g.NALUs) != len(w.NALUs):
				t.Fatalf("%s unit %d: the data differ", track, i)
			}
			for j := range g.NALUs {
				if !bytes.Equal(g.NALUs[j], w.NALUs[j]) {
					t.Fatalf("%s unit %d: NAL unit %d differs", track, i, j)
				}
			}
		}
	}
	compare("video", readAll(t, s.video), sentV)
	compare("audio", readAll(t, s.audio), sentA)
}

// A server that refuses the publish: the error says so, with the server's status code,
// and does not show the URL's query (a CDN key).
func TestRefused(t *testing.T) {
	_, addr, _ := rtmpServer(t)
	vp, ap, _ := stream(t, 160, 96, 15, 0)
	_, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/push/room1?userid=relay&key=wrong", Tracks: Tracks{Video: &vp, Audio: &ap}})
	if err == nil || !strings.Contains(err.Error(), "refused the stream (NetStream.Publish.Unauthorized") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("a refused publish: %v", err)
	}
}

// Debian's ffmpeg, listening as an RTMP server, takes the stream into an FLV file that
// ffprobe reads as H.264 and AAC of the picture size and the duration sent.
func TestIntoFFmpeg(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.flv")
	port := freePort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/s", port)
	var stderr lockedBuffer
	cmd := exec.Command(ffmpeg, "-hide_banner", "-v", "error", "-listen", "1", "-i", url, "-c", "copy", "-f", "flv", out)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	vp, ap, units := stream(t, 320, 240, 25, 2*time.Second)
	testpeer.WaitListening(t, port, 5*time.Second)
	p, err := Publish(context.Background(), Config{URL: url, Tracks: Tracks{Video: &vp, Audio: &ap}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("%v; ffmpeg: %s", err, stderr.String())
	}
	for _, u := range units {
		if err := write(p, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ffmpeg did not end with the stream: %s", stderr.String())
	}
	probe := testpeer.ProbeFile(t, out)
	if c := probe.Codecs(); len(probe.Streams) != 2 || !c["h264"] || !c["aac"] {
		t.Fatalf("streams %+v, want h264 and aac", probe.Streams)
	}
	for _, s := range probe.Streams {
		if s.CodecType == "video" && (s.Width != 320 || s.Height != 240) {
			t.Errorf("video %dx%d, want 320x240", s.Width, s.Height)
		}
		if s.CodecType == "video" && s.NbReadFrames != "50" {
			t.Errorf("%s video frames, want 50", s.NbReadFrames)
		}
	}
	if d := probe.Seconds(); math.Abs(d-2) > 0.1 {
		t.Errorf("duration %.3f s, want 2", d)
	}
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Nobody listens: Publish fails at once, saying it could not connect.
func TestConnectionRefused(t *testing.T) {
	vp, _, _ := stream(t, 160, 96, 15, 0)
	start := time.Now()
	_, err := Publish(context.Background(), Config{URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/s", freePort(t)), Tracks: Tracks{Video: &vp}})
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "connecting to") {
		t.Fatalf("publishing to a closed port: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the refusal took %v", d)
	}
}

// A server that accepts the connection and never answers: Publish gives up after Timeout.
func TestSessionTimeout(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // until the client hangs up
		}
	}()
	vp, _, _ := stream(t, 160, 96, 15, 0)
	start := time.Now()
	_, err := Publish(context.Background(), Config{URL: "rtmp://" + ln.Addr().String() + "/live/s", Tracks: Tracks{Video: &vp}, Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not complete the RTMP session within 300ms") {
		t.Fatalf("a silent server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

// The server goes away mid-stream: the next writes fail within a few seconds, and Done
// is closed.
func TestServerGone(t *testing.T) {
	srv, addr, _ := rtmpServer(t)
	vp, ap, units := stream(t, 160, 96, 15, 4*time.Second)
	p, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/push/room1?userid=relay&key=s3cret", Tracks: Tracks{Video: &vp, Audio: &ap}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, u := range units[:len(units)/4] {
		if err := write(p, u); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	start := time.Now()
	select { // the publisher's reader sees the server go
	case <-p.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("Done is not closed 3 s after the server left")
	}
	werr := write(p, units[len(units)/4])
	if werr == nil {
		t.Fatal("a write after the server left succeeded")
	}
	if err := write(p, units[0]); err == nil {
		t.Error("a second write after the failure succeeded")
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), werr)
}

// How a wireServer behaves once the stream is published.
const (
	reads  = iota // it reads every message
	stalls        // it reads nothing
	kicks         // it ends the stream (onStatus at level error), then reads
)

// wireServer accepts one publisher at rtmp://<addr>/live/s and passes on every message it
// reads, until the publisher leaves.
func wireServer(t *testing.T, mode int) (string, <-chan message.Message) {
	ln := listen(t)
	msgs := make(chan message.Message, 1024)
	stop := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		defer close(msgs)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := &gortmplib.ServerConn{RW: c}
		if sc.Initialize() != nil || sc.AcceptConn() != nil || sc.AcceptAction() != nil {
			return
		}
		if sc.URL.String() != "rtmp://"+ln.Addr().String()+"/live/s" {
			t.Errorf("published %s", sc.URL)
		}
		switch mode {
		case stalls:
			<-stop
			return
		case kicks:
			sc.Write(&message.CommandAMF0{ChunkStreamID: 5, MessageStreamID: 0x1000000, Name: "onStatus", Arguments: []any{nil, amf0.Object{
				{Key: "level", Value: "error"}, {Key: "code", Value: "NetStream.Publish.Rejected"}, {Key: "description", Value: "kicked"}}}})
		}
		for {
			m, err := sc.Read()
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		<-ended
	})
	return ln.Addr().String(), msgs
}

// A server that stops reading: a write fails after WriteTimeout.
func TestServerStalls(t *testing.T) {
	addr, _ := wireServer(t, stalls)
	vp, _, _ := stream(t, 160, 96, 15, 0)
	p, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/live/s", Tracks: Tracks{Video: &vp}, WriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := hub.Unit{Key: true, NALUs: [][]byte{append([]byte{0x65}, make([]byte, 1<<20)...)}}
	start := time.Now()
	var werr error
	for i := 0; werr == nil && time.Since(start) < 5*time.Second; i++ {
		big.PTS, big.DTS = time.Duration(i)*time.Second, time.Duration(i)*time.Second
		werr = p.WriteVideo(big)
	}
	if werr == nil || !strings.Contains(werr.Error(), "took nothing for 300ms") || time.Since(start) > 3*time.Second {
		t.Fatalf("writes to a stalled server: %v after %v", werr, time.Since(start))
	}
	t.Logf("failed after %v (%d MB sent): %v", time.Since(start).Round(time.Millisecond), p.BytesSent()>>20, werr)
}

// A server that ends the stream (onStatus at level error): Done is closed, and the next
// write says why.
func TestServerEndsTheStream(t *testing.T) {
	addr, _ := wireServer(t, kicks)
	vp, _, units := stream(t, 160, 96, 15, time.Second)
	p, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/live/s", Tracks: Tracks{Video: &vp}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	select {
	case <-p.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("Done is not closed")
	}
	if err := p.WriteVideo(units[0].u); err == nil || !strings.Contains(err.Error(), "ended the stream (NetStream.Publish.Rejected: kicked)") {
		t.Fatalf("a write after the server ended the stream: %v", err)
	}
}

// On the wire: the stream starts at 0 with its first keyframe (video before it dropped,
// audio before it held back, then sent if not older), times are rounded to the
// millisecond, and new parameters are announced with a sequence header at their keyframe.
func TestWireTiming(t *testing.T) {
	addr, msgs := wireServer(t, reads)
	vp, ap, units := stream(t, 160, 96, 10, time.Second)
	vp2, _, units2 := stream(t, 320, 192, 10, time.Second)
	p, err := Publish(context.Background(), Config{URL: "rtmp://" + addr + "/live/s", Tracks: Tracks{Video: &vp, Audio: &ap}})
	if err != nil {
		t.Fatal(err)
	}
	key, frame := units[0].u, units[1].u.Frame // the first keyframe, an audio frame
	var delta hub.Unit                         // a P picture
	for _, u := range units {
		if u.video && !u.u.Key {
			delta = u.u
			break
		}
	}
	at := func(u hub.Unit, d time.Duration) hub.Unit { u.PTS, u.DTS = d, d; return u }
	ms := time.Millisecond
	newKey := at(units2[0].u, 1000400*time.Microsecond)
	newKey.Params = &vp2
	for _, u := range []unit{
		{false, at(hub.Unit{Frame: frame}, 400*ms)}, // before the keyframe: dropped when it comes
		{true, at(delta, 450*ms)},                   // not a keyframe: dropped
		{false, at(hub.Unit{Frame: frame}, 520*ms)}, // held for the keyframe
		{true, at(key, 510*ms)},                     // the start
		{false, at(hub.Unit{Frame: frame}, 500*ms)}, // older than the start: dropped
		{true, at(delta, 610*ms+600*time.Microsecond)},
		{true, newKey},
	} {
		if err := write(p, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range msgs {
		switch m := m.(type) {
		case *message.Video:
			switch {
			case m.Type == message.VideoTypeConfig && bytes.Equal(m.AVCConfig.SequenceParameterSets[0].NALUnit, vp.SPS):
				got = append(got, fmt.Sprintf("video header at %v", m.DTS))
			case m.Type == message.VideoTypeConfig && bytes.Equal(m.AVCConfig.SequenceParameterSets[0].NALUnit, vp2.SPS):
				got = append(got, fmt.Sprintf("new video header at %v", m.DTS))
			default:
				got = append(got, fmt.Sprintf("video key=%v at %v", m.IsKeyFrame, m.DTS))
			}
		case *message.Audio:
			if m.AACType == message.AudioAACTypeConfig {
				got = append(got, fmt.Sprintf("audio header %d Hz at %v", m.AACConfig.SampleRate, m.DTS))
			} else {
				got = append(got, fmt.Sprintf("audio at %v", m.DTS))
			}
		}
	}
	want := []string{
		"video header at 0s", "audio header 48000 Hz at 0s",
		"video key=true at 0s", "audio at 10ms", "video key=false at 101ms",
		"new video header at 490ms", "video key=true at 490ms",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("on the wire:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Bad tracks are refused before connecting.
func TestBadTracks(t *testing.T) {
	vp, ap, _ := stream(t, 160, 96, 15, 0)
	opus := hub.Params{Codec: hub.Opus, SampleRate: 48000, Channels: 2}
	badSPS := vp
	badSPS.SPS = []byte{0x67, 0xff, 0xff, 0xff}
	for name, tr := range map[string]Tracks{
		"none":        {},
		"opus":        {Video: &vp, Audio: &opus},
		"audio video": {Video: &ap},
		"bad SPS":     {Video: &badSPS},
	} {
		if _, err := Publish(context.Background(), Config{URL: "rtmp://127.0.0.1:1/live/s", Tracks: tr}); err == nil || strings.Contains(err.Error(), "connecting") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidURL(t *testing.T) {
	for raw, want := range map[string]string{
		"rtmp://cdn.example.com/live/stream":                       "",
		"rtmp://cdn.example.com:1935/live/stream?txSecret=a&t=1":   "",
		"rtmp://127.0.0.1/live/a/b":                                "",
		"rtmp://[::1]:1935/live/s/":                                "",
		"":                                                         "empty",
		"http://cdn.example.com/live/stream":                       "not rtmp",
		"rtmps://cdn.example.com/live/stream":                      "not rtmp",
		"rtmp:///live/stream":                                      "no host",
		"rtmp:live/stream":                                         "no host",
		"rtmp://cdn.example.com/live":                              "no stream",
		"rtmp://cdn.example.com/live/":                             "no stream",
		"rtmp://cdn.example.com/":                                  "no application",
		"rtmp://cdn.example.com":                                   "no application",
		"rtmp://cdn.example.com:0/live/s":                          "port",
		"rtmp://cdn.example.com:99999/live/s":                      "port",
		"rtmp://cdn.example.com/live/s#x":                          "fragment",
		"rtmp://cdn.exa mple.com/live/s":                           "does not parse",
		"rtmp://cdn.example.com/live/stream?txSecret=a%2Fb&txTime": "",
	} {
		err := ValidURL(raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want an error with %q", raw, err, want)
		}
	}
}

// The URL splits the way RTMP servers read it: the application, then the stream name with
// the query as written.
func TestParseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"rtmp://h/live/stream?txSecret=a%2Fb&txTime=1": "h:1935 live rtmp://h/live stream?txSecret=a%2Fb&txTime=1 rtmp://h/live/stream",
		"rtmp://h:1936/live/a/b%20c/":                  "h:1936 live rtmp://h:1936/live a/b%20c rtmp://h:1936/live/a/b%20c",
		"rtmp://[::1]/my%20app/s":                      "[::1]:1935 my app rtmp://[::1]/my%20app s rtmp://[::1]/my%20app/s",
	} {
		tg, err := parseURL(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := strings.Join([]string{tg.Addr, tg.App, tg.TcURL, tg.Stream, tg.Where}, " "); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
