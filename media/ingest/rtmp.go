package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// rtmpPullIdle ends a pulled RTMP stream that sends nothing for so long.
var rtmpPullIdle = 10 * time.Second

// rtmpPullQueue is how many units the reading goroutine may have read ahead of Next.
const rtmpPullQueue = 256

// openRTMP plays the stream at u (rtmp://host[:port]/app/stream[?query]) with gortmplib's
// client, dialled through opts.Dial. Its tracks are known when it returns (gortmplib
// analyses the first 2 s of the stream); a goroutine then reads the units into a bounded
// queue that Next takes from.
func openRTMP(ctx context.Context, u *url.URL, opts Options) (Media, error) {
	cu, err := rtmpPullURL(u)
	if err != nil {
		return nil, err
	}
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c := &gortmplib.Client{URL: cu, DialContext: dial}
	// Initialize closes the connection itself when ctx ends.
	if err := c.Initialize(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("ingest: playing %s: %w", u.Redacted(), err)
	}
	conn := c.NetConn()
	m, err := rtmpPullStart(ctx, c, conn)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return m, nil
}

// rtmpPullURL is u as gortmplib's client takes it: the application is the first path
// element, the stream name (with the query, as RTMP clients send it) is the fragment.
func rtmpPullURL(u *url.URL) (*url.URL, error) {
	if u.Fragment != "" { // already rtmp://host/app#stream
		cu := *u
		return &cu, nil
	}
	app, stream, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if app == "" || stream == "" {
		return nil, unsupported("the RTMP URL %s names no application and stream (rtmp://host/app/stream)", u.Redacted())
	}
	if u.RawQuery != "" {
		stream += "?" + u.RawQuery
	}
	return &url.URL{Scheme: "rtmp", User: u.User, Host: u.Host, Path: "/" + app, Fragment: stream}, nil
}

// rtmpPull is a playing RTMP stream.
type rtmpPull struct {
	conn         net.Conn
	video, audio *hub.Params

	units chan Packet
	done  chan struct{} // closed by Close
	ended chan struct{} // closed by the reader when it stops; err says why
	err   error
	once  sync.Once
	wg    sync.WaitGroup
}

// rtmpPullStart reads c's tracks and starts the reading goroutine.
func rtmpPullStart(ctx context.Context, c *gortmplib.Client, conn net.Conn) (*rtmpPull, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(rtmpPullIdle))
	r := &gortmplib.Reader{Conn: c}
	if err := r.Initialize(); err != nil {
		return nil, rtmpPullError(err)
	}
	m := &rtmpPull{conn: conn, units: make(chan Packet, rtmpPullQueue), done: make(chan struct{}), ended: make(chan struct{})}
	var video, audio *gortmplib.Track
	var gate pullGate
	for _, tr := range r.Tracks() {
		switch cd := tr.Codec.(type) {
		case *codecs.H264:
			if video != nil {
				return nil, unsupported("the RTMP stream has a second video track")
			}
			p, err := h264Params(cd.SPS, cd.PPS)
			if err != nil {
				return nil, err
			}
			video, m.video = tr, p
			gate.configure(cd.SPS, cd.PPS, p)
		case *codecs.MPEG4Audio:
			if audio != nil {
				return nil, unsupported("the RTMP stream has a second audio track")
			}
			if cd.Config == nil {
				return nil, unsupported("the RTMP stream's AAC track has no AudioSpecificConfig")
			}
			p, err := aacParams(cd.Config)
			if err != nil {
				return nil, err
			}
			audio, m.audio = tr, p
		default:
			return nil, unsupported("the RTMP stream's %s track: only H.264 video and AAC audio are taken", pullCodecName(cd))
		}
	}
	if video == nil && audio == nil {
		return nil, unsupported("the RTMP stream has no track")
	}
	gate.what = "the RTMP stream"
	gate.hasVideo = video != nil
	// The callbacks run inside r.Read, on the reading goroutine.
	var batch []Packet
	var failed error
	if video != nil {
		r.OnDataH264(video, func(pts, dts time.Duration, au [][]byte) {
			if failed != nil {
				return
			}
			p, ok, err := gate.video(pts, dts, au)
			if err != nil {
				failed = err
			} else if ok {
				batch = append(batch, p)
			}
		})
	}
	if audio != nil {
		r.OnDataMPEG4Audio(audio, func(pts time.Duration, au []byte) {
			if p, ok := gate.audio(pts, au); ok && failed == nil {
				batch = append(batch, p)
			}
		})
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.err = m.read(r, &batch, &failed)
		close(m.ended)
	}()
	return m, nil
}

// read reads the stream until it ends, fails, stalls or Close.
func (m *rtmpPull) read(r *gortmplib.Reader, batch *[]Packet, failed *error) (err error) {
	defer func() {
		if v := recover(); v != nil { // a malformed stream the library did not expect
			err = fmt.Errorf("ingest: the RTMP stream could not be read: %v", v)
		}
	}()
	for {
		m.conn.SetDeadline(time.Now().Add(rtmpPullIdle))
		if err := r.Read(); err != nil {
			select {
			case <-m.done:
				return net.ErrClosed
			default:
			}
			return rtmpPullError(err)
		}
		for _, p := range *batch {
			select {
			case m.units <- p:
			case <-m.done:
				return net.ErrClosed
			}
		}
		*batch = (*batch)[:0]
		if *failed != nil {
			return *failed
		}
	}
}

// rtmpPullError is how a read error ends the stream: io.EOF when the server closed it.
func rtmpPullError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("ingest: the RTMP source sent nothing for %v: %w", rtmpPullIdle, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		strings.Contains(err.Error(), "EOF"), strings.Contains(err.Error(), "connection reset"):
		return io.EOF
	case errors.Is(err, ErrUnsupported):
		return err
	}
	return fmt.Errorf("ingest: the RTMP stream: %w", err)
}

func (m *rtmpPull) Video() *hub.Params         { return m.video }
func (m *rtmpPull) Audio() *hub.Params         { return m.audio }
func (m *rtmpPull) Live() bool                 { return true }
func (m *rtmpPull) SetVolume(percent int) bool { return false }

func (m *rtmpPull) Next(ctx context.Context) (Packet, error) {
	select {
	case p := <-m.units:
		return p, nil
	case <-m.ended:
		select {
		case p := <-m.units:
			return p, nil
		default:
			return Packet{}, m.err
		}
	case <-m.done:
		return Packet{}, net.ErrClosed
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

func (m *rtmpPull) Close() error {
	m.once.Do(func() {
		close(m.done)
		m.conn.Close()
		m.wg.Wait()
	})
	return nil
}

// pullGate turns a live or pulled source's units, on the source's own time line, into
// packets: video from its first keyframe (at or after from), audio from there, times
// rebased to start at 0 there; pictures with PTS != DTS (B-frames) refused; a keyframe
// coded with new parameter sets carries them in Unit.Params. One goroutine uses it.
type pullGate struct {
	what     string // the source, for errors
	hasVideo bool
	from     time.Duration

	started  bool
	t0       time.Duration
	sps, pps []byte      // the latest parameter sets seen
	params   *hub.Params // those of the pictures given so far
}

// configure sets the parameter sets the stream starts with (a container's decoder
// configuration); p is their parameters.
func (g *pullGate) configure(sps, pps []byte, p *hub.Params) {
	g.sps, g.pps, g.params = sps, pps, p
}

// video takes one access unit; ok says whether it is a packet.
func (g *pullGate) video(pts, dts time.Duration, au [][]byte) (Packet, bool, error) {
	if pts != dts {
		return Packet{}, false, errBFrames
	}
	picture := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch mch264.NALUType(n[0] & 0x1f) {
		case mch264.NALUTypeSPS:
			g.sps = n
		case mch264.NALUTypePPS:
			g.pps = n
		case mch264.NALUTypeNonIDR, mch264.NALUTypeDataPartitionA, mch264.NALUTypeIDR:
			picture = true
		}
	}
	if !picture {
		return Packet{}, false, nil // parameter sets alone (a sequence header), SEI, …
	}
	key := mch264.IsRandomAccess(au)
	if !g.started {
		if !key || dts < g.from {
			return Packet{}, false, nil
		}
		g.started, g.t0 = true, dts
	}
	u := hub.Unit{PTS: pts - g.t0, DTS: dts - g.t0, Key: key, NALUs: au}
	if key && g.sps != nil && g.pps != nil &&
		(g.params == nil || !bytes.Equal(g.sps, g.params.SPS) || !bytes.Equal(g.pps, g.params.PPS)) {
		p, err := h264Params(g.sps, g.pps)
		switch {
		case err == nil:
			if g.params != nil {
				u.Params = p
			}
			g.params = p
		case g.params == nil || errors.Is(err, ErrUnsupported):
			return Packet{}, false, err
		} // else an SPS the decoder will judge: passed on as it is
	}
	if g.params == nil {
		return Packet{}, false, unsupported("%s has an H.264 keyframe without SPS and PPS before it", g.what)
	}
	return Packet{Track: hub.MainVideo, Unit: u}, true, nil
}

// audio takes one AAC frame; ok says whether it is a packet.
func (g *pullGate) audio(pts time.Duration, frame []byte) (Packet, bool) {
	if !g.started {
		if g.hasVideo || pts < g.from {
			return Packet{}, false
		}
		g.started, g.t0 = true, pts
	}
	if pts < g.t0 || len(frame) == 0 {
		return Packet{}, false
	}
	return Packet{Track: hub.Audio, Unit: hub.Unit{PTS: pts - g.t0, DTS: pts - g.t0, Key: true, Frame: frame}}, true
}

// pullCodecName names a library's codec type: *codecs.H265 is "H265".
func pullCodecName(c any) string {
	s := fmt.Sprintf("%T", c)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
