package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// What the file demuxers (FLV, MPEG-TS, MP4) share: the demuxer each container implements,
// the wrapper that makes one a Media (units interleaved by DTS, B-frames refused, video
// from its first keyframe, Options.Seek, times from 0), and the tracks' hub parameters.

// demuxer reads one container: the units of its H.264 and AAC tracks (hub.MainVideo,
// hub.Audio), DTS non-decreasing per track, in the container's order, with the
// container's times; io.EOF at a clean end.
type demuxer interface {
	next() (Packet, error)
	close() error
}

// skipper is a demuxer that can pass over the units before a time (the container's)
// without reading them: a seek then reads no more than the group of pictures it lands in.
// The units it has returned already are dropped by fileMedia as they would have been.
type skipper interface {
	skipTo(t time.Duration)
}

// errBFrames refuses H.264 with reordered pictures: the emulator passes H.264 through
// unchanged and cannot re-encode it.
var errBFrames = unsupported("the H.264 video has B-frames (reordered pictures), which a TRTC room does not carry; encode with -bf 0")

// maxPending bounds the units held to interleave the tracks by DTS: a container that
// puts more of one track before the other has them returned in its order.
const maxPending = 4096

// fileMedia is a file source read through a demuxer.
type fileMedia struct {
	d            demuxer
	video, audio *hub.Params
	seek         time.Duration

	pending [2][]Packet // the video and audio units read ahead, to interleave them
	srcErr  error       // what the demuxer ended with (io.EOF at a clean end)

	origin    time.Duration // the first unit's DTS: media time 0, that Seek counts from
	hasOrigin bool
	started   bool          // the first unit returned is found (a keyframe at or after Seek)
	cut       time.Duration // media time of that unit: audio before it is dropped when seeking
	base      time.Duration // the first returned unit's DTS, subtracted from the times returned
	hasBase   bool
	sps, pps  []byte // the video's parameter sets as last announced, for Unit.Params
	err       error  // sticky
	closed    bool
}

// newFileMedia makes d a Media with its tracks' parameters (nil: no such track).
func newFileMedia(d demuxer, video, audio *hub.Params, opts Options) *fileMedia {
	m := &fileMedia{d: d, video: video, audio: audio, seek: max(opts.Seek, 0)}
	if video != nil {
		m.sps, m.pps = video.SPS, video.PPS
	}
	return m
}

func (m *fileMedia) Video() *hub.Params         { return m.video }
func (m *fileMedia) Audio() *hub.Params         { return m.audio }
func (m *fileMedia) Live() bool                 { return false }
func (m *fileMedia) SetVolume(percent int) bool { return false }

func (m *fileMedia) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.pending = [2][]Packet{}
	return m.d.close()
}

func (m *fileMedia) Next(ctx context.Context) (Packet, error) {
	if m.err != nil {
		return Packet{}, m.err
	}
	if m.closed {
		return Packet{}, errors.New("ingest: the source is closed")
	}
	for {
		if err := ctx.Err(); err != nil {
			return Packet{}, err
		}
		p, err := m.pull()
		if err != nil {
			m.err = err
			return Packet{}, err
		}
		if p.Track == hub.MainVideo && p.Unit.PTS != p.Unit.DTS {
			m.err = errBFrames
			return Packet{}, m.err
		}
		if !m.hasOrigin {
			m.origin, m.hasOrigin = p.Unit.DTS, true
			if s, ok := m.d.(skipper); ok && m.seek > 0 {
				s.skipTo(m.origin + m.seek)
			}
		}
		if !m.admit(p, p.Unit.DTS-m.origin) {
			continue
		}
		if !m.hasBase {
			m.base, m.hasBase = p.Unit.DTS, true
		}
		p.Unit.DTS = max(p.Unit.DTS-m.base, 0)
		p.Unit.PTS = max(p.Unit.PTS-m.base, 0)
		if p.Track == hub.MainVideo {
			if err := m.announce(&p.Unit); err != nil {
				m.err = err
				return Packet{}, err
			}
		} else {
			p.Unit.Key = true
		}
		return p, nil
	}
}

// admit says whether the unit at media time t is returned: video from its first keyframe
// at or after Seek, audio from that keyframe's time when seeking (from the start of the
// file otherwise), audio-only sources from Seek.
func (m *fileMedia) admit(p Packet, t time.Duration) bool {
	if !m.started {
		switch {
		case p.Track == hub.MainVideo:
			if !p.Unit.Key || t < m.seek {
				return false
			}
		case m.video == nil:
			if t < m.seek {
				return false
			}
		default:
			return m.seek == 0 // audio before the first keyframe: kept unless seeking
		}
		m.started, m.cut = true, t
		return true
	}
	return p.Track == hub.MainVideo || m.seek == 0 || t >= m.cut
}

// announce sets u.Params when a keyframe carries parameter sets other than the last ones.
func (m *fileMedia) announce(u *hub.Unit) error {
	if !u.Key {
		return nil
	}
	var sps, pps []byte
	for _, n := range u.NALUs {
		switch mch264.NALUType(n[0] & 0x1f) {
		case mch264.NALUTypeSPS:
			sps = n
		case mch264.NALUTypePPS:
			pps = n
		}
	}
	if sps == nil && pps == nil {
		return nil
	}
	if sps == nil {
		sps = m.sps
	}
	if pps == nil {
		pps = m.pps
	}
	if bytes.Equal(sps, m.sps) && bytes.Equal(pps, m.pps) {
		return nil
	}
	p, err := h264Params(sps, pps)
	if errors.Is(err, ErrUnsupported) {
		return err
	}
	if err != nil {
		return nil // an SPS the decoder will judge: passed on as it is
	}
	m.sps, m.pps = sps, pps
	u.Params = p
	return nil
}

// pull is the demuxer's next unit, the tracks interleaved by DTS.
func (m *fileMedia) pull() (Packet, error) {
	both := m.video != nil && m.audio != nil
	for {
		nv, na := len(m.pending[0]), len(m.pending[1])
		if m.srcErr != nil || (nv > 0 && na > 0) || (!both && nv+na > 0) || nv+na >= maxPending {
			if p, ok := m.popEarliest(); ok {
				return p, nil
			}
			if m.srcErr != nil {
				return Packet{}, m.srcErr
			}
		}
		p, err := m.d.next()
		if err != nil {
			m.srcErr = err
			continue
		}
		switch {
		case p.Track == hub.MainVideo && m.video != nil:
			m.pending[0] = append(m.pending[0], p)
		case p.Track == hub.Audio && m.audio != nil:
			m.pending[1] = append(m.pending[1], p)
		}
	}
}

// popEarliest takes the pending unit with the smallest DTS (video first on a tie).
func (m *fileMedia) popEarliest() (Packet, bool) {
	i := -1
	switch {
	case len(m.pending[0]) > 0 && len(m.pending[1]) > 0:
		i = 0
		if m.pending[1][0].Unit.DTS < m.pending[0][0].Unit.DTS {
			i = 1
		}
	case len(m.pending[0]) > 0:
		i = 0
	case len(m.pending[1]) > 0:
		i = 1
	default:
		return Packet{}, false
	}
	p := m.pending[i][0]
	m.pending[i][0] = Packet{}
	m.pending[i] = m.pending[i][1:]
	if len(m.pending[i]) == 0 {
		m.pending[i] = nil
	}
	return p, true
}

// videoUnit is an H.264 access unit as a Packet; empty NAL units are dropped, and a unit
// with none left is not one (ok false).
func videoUnit(pts, dts time.Duration, au [][]byte) (Packet, bool) {
	nalus := au[:0:0]
	for _, n := range au {
		if len(n) > 0 {
			nalus = append(nalus, n)
		}
	}
	if len(nalus) == 0 {
		return Packet{}, false
	}
	return Packet{Track: hub.MainVideo, Unit: hub.Unit{PTS: pts, DTS: dts, Key: mch264.IsRandomAccess(nalus), NALUs: nalus}}, true
}

// audioUnit is an AAC frame as a Packet.
func audioUnit(pts time.Duration, frame []byte) Packet {
	return Packet{Track: hub.Audio, Unit: hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: frame}}
}

// paramSetsOnly says whether an access unit is nothing but SPS and PPS.
func paramSetsOnly(au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch mch264.NALUType(n[0] & 0x1f) {
		case mch264.NALUTypeSPS, mch264.NALUTypePPS:
		default:
			return false
		}
	}
	return true
}

// h264Params are an H.264 track's hub parameters, its picture from the SPS; an SPS that
// announces reordered pictures is refused.
func h264Params(sps, pps []byte) (*hub.Params, error) {
	p, err := hub.H264Params(sps, pps)
	switch {
	case errors.Is(err, hub.ErrReordered):
		return nil, errBFrames
	case err != nil:
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return &p, nil
}

// aacParams are an AAC track's hub parameters.
func aacParams(c *mpeg4audio.AudioSpecificConfig) (*hub.Params, error) {
	if c == nil {
		return nil, errors.New("ingest: an AAC track without its AudioSpecificConfig")
	}
	switch c.Type {
	case mpeg4audio.ObjectTypeAACLC, mpeg4audio.ObjectTypeSBR, mpeg4audio.ObjectTypePS:
	default:
		return nil, unsupported("the MPEG-4 audio object type %d (AAC is taken: LC, HE-AAC)", c.Type)
	}
	if c.SampleRate <= 0 {
		return nil, errors.New("ingest: the AAC track has no sample rate")
	}
	asc, err := c.Marshal()
	if err != nil {
		return nil, fmt.Errorf("ingest: the AudioSpecificConfig: %w", err)
	}
	ch := c.ChannelCount //nolint:staticcheck // filled where ChannelConfig says 0 (a PCE)
	switch {
	case c.ChannelConfig >= 1 && c.ChannelConfig <= 6:
		ch = int(c.ChannelConfig)
	case c.ChannelConfig == 7:
		ch = 8
	}
	return &hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: c.SampleRate, Channels: ch}, nil
}

// aacFrameDuration is how long one AAC frame of c plays.
func aacFrameDuration(c *mpeg4audio.AudioSpecificConfig) time.Duration {
	n := mpeg4audio.SamplesPerAccessUnit
	if c.FrameLengthFlag {
		n = 960
	}
	if c.SampleRate <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second / time.Duration(c.SampleRate)
}

// ticks converts v units of a clock at rate per second to a duration without overflowing.
func ticks(v int64, rate int64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(v/rate)*time.Second + time.Duration(v%rate)*time.Second/time.Duration(rate)
}

// noEOF is err, an unexpected end when the input stopped in the middle of something.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
