// Package rtmp owns the RTMP listener that publishers push into rooms through
// (rtmp://<host>/push/<RoomId>?sdkappid=&userid=&usersig=): it accepts connections with
// gortmplib, asks its Admit function who a publisher is, publishes the H.264 and AAC
// tracks it sends into the hub as that member's streams, unchanged, and ends them when the
// publisher leaves, stalls or sends what TRTC does not take (B-frames, other codecs). It
// knows no database: admission and room state are the caller's.
package rtmp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// App is the application name publishers push to.
const App = "push"

// Request is a publisher's connection as it asked: rtmp://<host>/<App>/<Stream>?<Query>.
type Request struct {
	App    string
	Stream string // the path after the application: the room id
	Query  url.Values
	Remote string
}

// ParseRequest reads the application, stream name and query of a publish URL (the
// connect's tcUrl joined with the publish command's stream name).
func ParseRequest(u *url.URL) (Request, error) {
	if u == nil {
		return Request{}, errors.New("rtmp: no URL")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Request{}, fmt.Errorf("rtmp: the path %q is not /%s/<RoomId>", u.Path, App)
	}
	return Request{App: parts[0], Stream: parts[1], Query: u.Query()}, nil
}

// Publisher is an admitted publisher: the member its streams belong to and what to tell
// about them.
type Publisher struct {
	Room, UserId string // the hub keys of its streams
	// Tracks is told the tracks (nil when absent) once their streams are in the hub and
	// before any of their media; an error refuses the stream.
	Tracks func(video, audio *hub.Params) error
	// Ended is told why the publisher is gone (nil: it stopped publishing), once, after
	// its streams ended.
	Ended func(err error)
	// Stop, when closed, disconnects the publisher (it was removed from the room); nil:
	// never.
	Stop <-chan struct{}
}

// Config configures a Server. Hub, Now and Admit are required.
type Config struct {
	Hub *hub.Hub
	Now func() time.Time // the emulator's clock: the streams' start times
	// Admit decides who a publisher is, or refuses it (its error is logged and the
	// publish is answered NetStream.Publish.Unauthorized).
	Admit func(Request) (*Publisher, error)
	// Idle disconnects a publisher that sends nothing for so long (real time); 10 s when 0.
	Idle   time.Duration
	Logger *slog.Logger
}

// Server accepts RTMP publishers.
type Server struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Refusals, as the log and Publisher.Ended give them.
var (
	ErrBFrames   = errors.New("rtmp: the stream has B-frames, which TRTC does not take: disconnected")
	ErrCodec     = errors.New("rtmp: only H.264 video and AAC audio are taken")
	ErrNoTracks  = errors.New("rtmp: the stream has no track")
	ErrNotPlayer = errors.New("rtmp: this listener takes publishers only")
	ErrStopped   = errors.New("rtmp: the publisher was removed from the room: disconnected")
)

// New checks cfg and returns a server; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Hub == nil || cfg.Now == nil || cfg.Admit == nil {
		return nil, errors.New("rtmp: Hub, Now and Admit are required")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "rtmp"), conns: map[net.Conn]struct{}{}}, nil
}

// Serve accepts publishers on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.serveConn(conn)
		}()
	}
}

// Close stops accepting, disconnects every publisher and waits for their ends.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// serveConn runs one connection; a panic in it (a malformed stream the library did not
// expect) ends that connection only.
func (s *Server) serveConn(conn net.Conn) {
	log := s.log.With("remote", conn.RemoteAddr().String())
	defer func() {
		if v := recover(); v != nil {
			log.Error("rtmp connection panicked", "panic", v)
		}
	}()
	if err := s.publish(conn, log); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Info("rtmp publisher disconnected", "reason", err)
	}
}

func (s *Server) publish(conn net.Conn, log *slog.Logger) (err error) {
	conn.SetDeadline(time.Now().Add(s.cfg.Idle))
	sc := &gortmplib.ServerConn{RW: conn}
	if err := sc.Initialize(); err != nil {
		return err
	}
	if err := sc.AcceptConn(); err != nil {
		return err
	}
	if !sc.Publish {
		sc.RejectAction()
		return ErrNotPlayer
	}
	req, err := ParseRequest(sc.URL)
	if err == nil {
		req.Remote = conn.RemoteAddr().String()
	}
	var pub *Publisher
	if err == nil {
		pub, err = s.cfg.Admit(req)
	}
	if err != nil {
		sc.RejectAction()
		return fmt.Errorf("refused: %w", err)
	}
	log = log.With("room", pub.Room, "user", pub.UserId)
	var stopped atomic.Bool
	done := make(chan struct{})
	defer close(done)
	if pub.Stop != nil {
		go func() {
			select {
			case <-pub.Stop:
				stopped.Store(true)
				conn.Close()
			case <-done:
			}
		}()
	}
	var sources []*hub.Source
	defer func() {
		if stopped.Load() {
			err = ErrStopped
		}
		for _, src := range sources {
			src.Close()
		}
		if pub.Ended != nil {
			pub.Ended(err)
		}
	}()
	// Media time 0 is now: the reader analyses the first 2 s of the stream to find its
	// tracks, then hands those units over from the start, late by that much.
	start := s.cfg.Now()
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return err
	}
	var video, audio *gortmplib.Track
	var vp, ap *hub.Params
	for _, tr := range r.Tracks() {
		switch c := tr.Codec.(type) {
		case *codecs.H264:
			if video != nil {
				return fmt.Errorf("%w: a second video track", ErrCodec)
			}
			p, err := videoParams(c)
			if err != nil {
				return err
			}
			video, vp = tr, p
		case *codecs.MPEG4Audio:
			if audio != nil {
				return fmt.Errorf("%w: a second audio track", ErrCodec)
			}
			p, err := audioParams(c)
			if err != nil {
				return err
			}
			audio, ap = tr, p
		default:
			return fmt.Errorf("%w, not %T", ErrCodec, c)
		}
	}
	if video == nil && audio == nil {
		return ErrNoTracks
	}
	// The tracks are announced (and their streams published) at the first video unit, once
	// it shows no reordering, so that a stream with B-frames is never a publisher of the
	// room; audio before it is dropped. An audio-only stream is announced at once.
	var failed error
	announced := false
	announce := func() error {
		announced = true
		// The streams first, then the room: whoever the room's change wakes (a recording)
		// finds them in the hub.
		for _, t := range []struct {
			track  hub.Track
			params *hub.Params
		}{{hub.MainVideo, vp}, {hub.Audio, ap}} {
			if t.params == nil {
				continue
			}
			src, err := s.cfg.Hub.PublishAt(hub.Key{Room: pub.Room, UserId: pub.UserId, Track: t.track}, *t.params, start)
			if err != nil {
				return err
			}
			sources = append(sources, src)
		}
		if pub.Tracks != nil {
			return pub.Tracks(vp, ap)
		}
		return nil
	}
	source := func(track hub.Track) *hub.Source {
		for _, src := range sources {
			if src.Key().Track == track {
				return src
			}
		}
		return nil
	}
	if video == nil {
		if err := announce(); err != nil {
			return err
		}
	} else {
		r.OnDataH264(video, func(pts, dts time.Duration, au [][]byte) {
			switch {
			case failed != nil:
			case pts != dts:
				failed = ErrBFrames // reordered pictures: B-frames
			case !announced:
				if failed = announce(); failed == nil {
					failed = source(hub.MainVideo).Write(hub.Unit{PTS: pts, DTS: dts, Key: mch264.IsRandomAccess(au), NALUs: au})
				}
			default:
				failed = source(hub.MainVideo).Write(hub.Unit{PTS: pts, DTS: dts, Key: mch264.IsRandomAccess(au), NALUs: au})
			}
		})
	}
	if audio != nil {
		r.OnDataMPEG4Audio(audio, func(pts time.Duration, au []byte) {
			if failed == nil && announced {
				failed = source(hub.Audio).Write(hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: au})
			}
		})
	}
	log.Info("rtmp publisher streaming", "video", vp != nil, "audio", ap != nil)
	for {
		conn.SetDeadline(time.Now().Add(s.cfg.Idle))
		if err := r.Read(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return fmt.Errorf("rtmp: nothing received for %v: timed out", s.cfg.Idle)
			}
			if errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF") {
				return nil // the publisher stopped
			}
			return err
		}
		if failed != nil {
			return failed
		}
	}
}

// videoParams are an H.264 track's hub parameters, its picture from the SPS.
func videoParams(c *codecs.H264) (*hub.Params, error) {
	p, err := hub.H264Params(c.SPS, c.PPS)
	switch {
	case errors.Is(err, hub.ErrReordered):
		return nil, ErrBFrames // the SPS announces reordered pictures
	case err != nil:
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	return &p, nil
}

// audioParams are an AAC track's hub parameters.
func audioParams(c *codecs.MPEG4Audio) (*hub.Params, error) {
	if c.Config == nil {
		return nil, fmt.Errorf("%w: an AAC track without its AudioSpecificConfig", ErrCodec)
	}
	asc, err := c.Config.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rtmp: the AudioSpecificConfig: %w", err)
	}
	return &hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: c.Config.SampleRate, Channels: c.Config.ChannelCount}, nil
}
