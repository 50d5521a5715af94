// Package rtmpout owns publishing one stream to an RTMP URL, as TRTC's relay to CDN pushes
// to a CDN origin (rtmp://host[:port]/app/stream?key=...): the RTMP session (on gortmplib's
// handshake and message framing), the tracks' headers and their access units (through
// gortmplib's Writer), timed from the stream's first keyframe, and a server that went away
// or stopped reading reported as a write error, so that the caller can reconnect. It knows
// no room and no hub stream: the caller reads the units (hub sinks) and hands them in.
package rtmpout

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultWriteTimeout = 5 * time.Second
)

const (
	// closeWait is how long Close waits for the server to close its end after ours, so
	// that the last units are not lost to a reset.
	closeWait = 2 * time.Second
	// maxPending is how many audio units wait for the first keyframe (about 5 s at 48 kHz).
	maxPending = 256
)

// Tracks are the stream's tracks; nil: absent.
type Tracks struct {
	Video *hub.Params // H.264
	Audio *hub.Params // AAC
}

// Config configures Publish.
type Config struct {
	URL    string // rtmp://host[:port]/app/stream[?query] (ValidURL)
	Tracks Tracks
	// Dial opens the TCP connection; a net.Dialer's when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds connecting, the RTMP session up to the accepted publish, and the
	// tracks' headers; DefaultTimeout when 0.
	Timeout time.Duration
	// WriteTimeout bounds each write: a server that takes nothing for so long fails it;
	// DefaultWriteTimeout when 0.
	WriteTimeout time.Duration
}

// Errors of the writes.
var (
	ErrClosed  = errors.New("rtmpout: the publisher is closed")
	ErrNoTrack = errors.New("rtmpout: the stream has no such track")
)

// Publisher is one stream being published. Its methods are safe for concurrent use.
//
// The stream starts on the wire at 0 with its first video keyframe (video before it is
// dropped, audio before it waits for it), or with its first audio unit when it has no
// video: a CDN's players start there. Units whose time is before that start are dropped.
// Times go out in milliseconds, rounded.
type Publisher struct {
	conn         net.Conn
	bc           *bytecounter.ReadWriter
	mr           *message.Reader // the session's, then readServer's
	writer       *gortmplib.Writer
	video, audio *gortmplib.Track
	where        string // the URL without its query (which may hold a key), for errors
	writeTimeout time.Duration
	done         chan struct{} // closed when the connection is over
	readErr      error         // why it is over, set before done closes

	writeMu sync.Mutex // the message writer's: the units', and readServer's answers
	mw      *message.Writer

	mu      sync.Mutex
	vp, ap  hub.Params    // the tracks' parameters as last announced
	started bool          // the stream's first unit is out: origin holds
	origin  time.Duration // the unit time that is 0 on the wire
	pending []hub.Unit    // audio that came before the first keyframe
	err     error         // the write failure that ended the publisher
	closed  bool
}

// Publish connects to cfg.URL, publishes the stream it names and announces the tracks.
// Its error says what failed: the URL or the tracks, the connection (refused,
// unreachable), the RTMP session (not an RTMP server, timed out) or the server's refusal
// (with its status code). ctx bounds Publish only.
func Publish(ctx context.Context, cfg Config) (*Publisher, error) {
	t, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	p := &Publisher{where: t.Where, writeTimeout: cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout), done: make(chan struct{})}
	var tracks []*gortmplib.Track
	if v := cfg.Tracks.Video; v != nil {
		if err := checkVideo(*v); err != nil {
			return nil, err
		}
		p.video, p.vp = &gortmplib.Track{Codec: &codecs.H264{SPS: v.SPS, PPS: v.PPS}}, *v
		tracks = append(tracks, p.video)
	}
	if a := cfg.Tracks.Audio; a != nil {
		asc, err := audioConfig(*a)
		if err != nil {
			return nil, err
		}
		p.audio, p.ap = &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: asc}}, *a
		tracks = append(tracks, p.audio)
	}
	if len(tracks) == 0 {
		return nil, errors.New("rtmpout: the stream has no track")
	}

	timeout := cmp.Or(cfg.Timeout, DefaultTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	if p.conn, err = dial(ctx, "tcp", t.Addr); err != nil {
		return nil, fmt.Errorf("rtmpout: connecting to %s: %w", p.where, err)
	}
	// The session ends with ctx: at the timeout, or cancelled.
	deadline, _ := ctx.Deadline()
	p.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { p.conn.Close() })
	p.writer = &gortmplib.Writer{Conn: wire{p}, Tracks: tracks}
	var cause, failed error // what went wrong, and what to say of it
	if cause = p.handshake(); cause != nil {
		failed = fmt.Errorf("rtmpout: the RTMP handshake with %s failed (is it an RTMP server?): %w", p.where, cause)
	} else if cause = p.publish(t); cause != nil {
		failed = cause // a refusal says so
		if !errors.As(cause, new(*statusError)) {
			failed = fmt.Errorf("rtmpout: the RTMP session with %s failed: %w", p.where, cause)
		}
	} else if cause = p.writer.Initialize(); cause != nil {
		failed = fmt.Errorf("rtmpout: sending the tracks' headers to %s: %w", p.where, cause)
	}
	if !stop() || failed != nil {
		p.conn.Close()
		var ne net.Error
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(cause, &ne) && ne.Timeout():
			return nil, fmt.Errorf("rtmpout: %s did not complete the RTMP session within %v: %w", p.where, timeout, cmp.Or(cause, ctx.Err()))
		case ctx.Err() != nil:
			return nil, fmt.Errorf("rtmpout: publishing to %s: %w", p.where, ctx.Err())
		}
		return nil, failed
	}
	p.conn.SetDeadline(time.Time{})
	go p.readServer()
	return p, nil
}

// WriteVideo sends an H.264 access unit. A unit that carries new Params (a keyframe)
// announces them first. A unit before the stream's first keyframe is dropped (nil).
func (p *Publisher) WriteVideo(u hub.Unit) error {
	if p.video == nil {
		return fmt.Errorf("%w: video", ErrNoTrack)
	}
	if len(u.NALUs) == 0 {
		return errors.New("rtmpout: a video unit without NAL units")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.usable(); err != nil {
		return err
	}
	if !p.started {
		if !u.Key {
			return nil
		}
		p.started, p.origin = true, u.DTS
	}
	pts, dts, ok := p.wireTimes(u.PTS, u.DTS)
	if !ok {
		return nil
	}
	if u.Params != nil && (!bytes.Equal(u.Params.SPS, p.vp.SPS) || !bytes.Equal(u.Params.PPS, p.vp.PPS)) {
		if err := p.announceVideo(*u.Params, dts); err != nil {
			return err
		}
	}
	if err := p.send(func() error { return p.writer.WriteH264(p.video, pts, dts, u.NALUs) }); err != nil {
		return err
	}
	pending := p.pending
	p.pending = nil
	for _, a := range pending {
		if err := p.writeAudio(a); err != nil {
			return err
		}
	}
	return nil
}

// WriteAudio sends an AAC access unit (u.Frame; its time is u.PTS). A unit that carries
// new Params announces them first. With a video track, a unit before the stream's first
// keyframe waits for it.
func (p *Publisher) WriteAudio(u hub.Unit) error {
	if p.audio == nil {
		return fmt.Errorf("%w: audio", ErrNoTrack)
	}
	if len(u.Frame) == 0 {
		return errors.New("rtmpout: an audio unit without a frame")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.usable(); err != nil {
		return err
	}
	if !p.started {
		if p.video != nil {
			if len(p.pending) == maxPending {
				p.pending = append(p.pending[:0], p.pending[1:]...)
			}
			p.pending = append(p.pending, u)
			return nil
		}
		p.started, p.origin = true, u.PTS
	}
	return p.writeAudio(u)
}

func (p *Publisher) writeAudio(u hub.Unit) error {
	pts, _, ok := p.wireTimes(u.PTS, u.PTS)
	if !ok {
		return nil
	}
	if u.Params != nil && !bytes.Equal(u.Params.AudioConfig, p.ap.AudioConfig) {
		if err := p.announceAudio(*u.Params, pts); err != nil {
			return err
		}
	}
	return p.send(func() error { return p.writer.WriteMPEG4Audio(p.audio, pts, u.Frame) })
}

// wireTimes are a unit's times on the wire: from the stream's start, in whole
// milliseconds (what RTMP carries). ok is false before the start.
func (p *Publisher) wireTimes(pts, dts time.Duration) (wpts, wdts time.Duration, ok bool) {
	wpts, wdts = (pts - p.origin).Round(time.Millisecond), (dts - p.origin).Round(time.Millisecond)
	return wpts, wdts, wdts >= 0
}

// announceVideo sends an AVC sequence header for new parameters, at dts.
func (p *Publisher) announceVideo(params hub.Params, dts time.Duration) error {
	if err := checkVideo(params); err != nil {
		return err
	}
	avcc, err := avcConfig(params.SPS, params.PPS)
	if err != nil {
		return err
	}
	if err := p.send(func() error {
		return p.writeMessage(&message.Video{ChunkStreamID: message.VideoChunkStreamID, MessageStreamID: streamIDRaw,
			Codec: message.CodecH264, IsKeyFrame: true, Type: message.VideoTypeConfig, AVCConfig: avcc, DTS: dts})
	}); err != nil {
		return err
	}
	p.vp = params
	return nil
}

// announceAudio sends an AAC sequence header for new parameters, at pts.
func (p *Publisher) announceAudio(params hub.Params, pts time.Duration) error {
	asc, err := audioConfig(params)
	if err != nil {
		return err
	}
	// The FLV audio tag of AAC says 44.1 kHz stereo whatever the stream: players read the
	// AudioSpecificConfig (as gortmplib's own header does).
	if err := p.send(func() error {
		return p.writeMessage(&message.Audio{ChunkStreamID: message.AudioChunkStreamID, MessageStreamID: streamIDRaw,
			Codec: message.CodecMPEG4Audio, Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true,
			AACType: message.AudioAACTypeConfig, AACConfig: asc, DTS: pts})
	}); err != nil {
		return err
	}
	p.ap = params
	return nil
}

// usable is why the publisher takes no more units, if it does not.
func (p *Publisher) usable() error {
	if p.closed {
		return ErrClosed
	}
	return p.err
}

// send runs one write of the connection within the write timeout. A failure ends the
// publisher: the connection is closed and every later write returns the same error.
func (p *Publisher) send(write func() error) error {
	select {
	case <-p.done:
		return p.fail(p.goneError())
	default:
	}
	err := write()
	if err == nil {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		<-p.done // readServer closed it, and says why
	}
	var ne net.Error
	select {
	case <-p.done:
		err = p.goneError()
	default:
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("rtmpout: %s took nothing for %v: %w", p.where, p.writeTimeout, err)
		} else {
			err = fmt.Errorf("rtmpout: sending to %s: %w", p.where, err)
		}
	}
	return p.fail(err)
}

func (p *Publisher) goneError() error {
	var se *statusError
	switch {
	case errors.Is(p.readErr, io.EOF):
		return fmt.Errorf("rtmpout: %s closed the connection", p.where)
	case errors.As(p.readErr, &se):
		return fmt.Errorf("rtmpout: %s ended the stream (%w)", p.where, se)
	}
	return fmt.Errorf("rtmpout: the connection to %s broke: %w", p.where, p.readErr)
}

func (p *Publisher) fail(err error) error {
	p.err = err
	p.conn.Close()
	return err
}

// BytesSent counts the bytes sent to the server, the RTMP session's included.
func (p *Publisher) BytesSent() uint64 { return p.bc.Writer.Count() }

// Done is closed when the connection is over: the server closed it or broke it, a write
// failed, or Close. A stream with nothing to send learns so of a server gone.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Close ends the stream: it closes our end of the connection, waits (a little) for the
// server to close its own, which tells it read everything, and closes the connection.
// Close is idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.err == nil {
		if cw, ok := p.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			select {
			case <-p.done:
			case <-time.After(closeWait):
			}
		}
	}
	err := p.conn.Close()
	<-p.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// checkVideo refuses video parameters gortmplib cannot announce (it panics on an SPS it
// cannot parse).
func checkVideo(p hub.Params) error {
	if p.Codec != hub.H264 {
		return fmt.Errorf("rtmpout: the video track is %v: RTMP carries H.264 here", p.Codec)
	}
	if len(p.SPS) < 4 || len(p.PPS) == 0 {
		return errors.New("rtmpout: the H.264 track has no SPS or PPS")
	}
	var sps mch264.SPS
	if err := sps.Unmarshal(p.SPS); err != nil {
		return fmt.Errorf("rtmpout: the H.264 SPS: %w", err)
	}
	return nil
}

// audioConfig is an AAC track's AudioSpecificConfig.
func audioConfig(p hub.Params) (*mpeg4audio.AudioSpecificConfig, error) {
	if p.Codec != hub.AAC {
		return nil, fmt.Errorf("rtmpout: the audio track is %v: RTMP carries AAC here", p.Codec)
	}
	var asc mpeg4audio.AudioSpecificConfig
	if err := asc.Unmarshal(p.AudioConfig); err != nil {
		return nil, fmt.Errorf("rtmpout: the AAC AudioSpecificConfig: %w", err)
	}
	return &asc, nil
}

// avcConfig is the AVC decoder configuration of an SPS and a PPS, as gortmplib's Writer
// makes it for the first header.
func avcConfig(sps, pps []byte) (*mp4.AVCDecoderConfiguration, error) {
	var s mch264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("rtmpout: the H.264 SPS: %w", err)
	}
	return &mp4.AVCDecoderConfiguration{
		AnyTypeBox:                 mp4.AnyTypeBox{Type: mp4.BoxTypeAvcC()},
		ConfigurationVersion:       1,
		Profile:                    s.ProfileIdc,
		ProfileCompatibility:       sps[2],
		Level:                      s.LevelIdc,
		Reserved:                   0b111111,
		LengthSizeMinusOne:         3,
		Reserved2:                  0b111,
		NumOfSequenceParameterSets: 1,
		SequenceParameterSets:      []mp4.AVCParameterSet{{Length: uint16(len(sps)), NALUnit: sps}},
		NumOfPictureParameterSets:  1,
		PictureParameterSets:       []mp4.AVCParameterSet{{Length: uint16(len(pps)), NALUnit: pps}},
	}, nil
}
