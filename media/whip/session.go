package whip

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/opus"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// ErrBFrames ends a session whose pictures come out of presentation order.
var ErrBFrames = errors.New("whip: the video has B-frames (pictures out of order), which TRTC does not take")

// The audio the hub gets from a publisher's Opus: AAC-LC, 48 kHz stereo.
const (
	audioRate     = 48000
	audioChannels = 2
)

// session is one publisher's PeerConnection and its streams.
type session struct {
	srv   *Server
	id    string
	pc    *webrtc.PeerConnection
	pub   *Publisher
	start time.Time // the clock time of the streams' media time 0
	log   *slog.Logger

	endOnce sync.Once
	done    chan struct{}
	got     chan struct{} // a packet arrived (the idle timer's)
	lastAt  atomic.Int64  // Unix ns of the last packet

	mu         sync.Mutex
	wantVideo  bool
	wantAudio  bool
	video      *hub.Params // known at the first keyframe with its SPS and PPS
	audioReady bool
	announced  bool
	failed     error
	sources    map[hub.Track]*hub.Source
}

// expect reads which tracks the offer sends.
func (se *session) expect(offer string) {
	var d sdp.SessionDescription
	if d.Unmarshal([]byte(offer)) != nil {
		return
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue
		}
		sends := true
		for _, a := range m.Attributes {
			if a.Key == "recvonly" || a.Key == "inactive" {
				sends = false
			}
		}
		switch {
		case !sends:
		case m.MediaName.Media == "video":
			se.wantVideo = true
		case m.MediaName.Media == "audio":
			se.wantAudio = true
		}
	}
}

func (se *session) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	codec := track.Codec().MimeType
	switch {
	case strings.EqualFold(codec, webrtc.MimeTypeH264):
		go se.readVideo(track)
	case strings.EqualFold(codec, webrtc.MimeTypeOpus):
		go se.readAudio(track)
	default:
		se.log.Info("whip track ignored", "codec", codec)
	}
}

// received notes a packet for the idle timer.
func (se *session) received() {
	se.lastAt.Store(time.Now().UnixNano())
}

// watch ends the session when it idles, when the publisher is removed, or when it ends.
func (se *session) watch() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	se.lastAt.Store(time.Now().UnixNano())
	for {
		select {
		case <-se.done:
			return
		case <-se.pub.Stop:
			se.end(ErrStopped)
			return
		case <-tick.C:
			if time.Since(time.Unix(0, se.lastAt.Load())) > se.srv.cfg.Idle {
				se.end(fmt.Errorf("%w after %v", ErrIdle, se.srv.cfg.Idle))
				return
			}
		}
	}
}

// end ends the session once: the connection closes, the streams end, the publisher is told.
func (se *session) end(why error) {
	se.endOnce.Do(func() {
		close(se.done)
		s := se.srv
		s.mu.Lock()
		delete(s.sessions, se.id)
		s.mu.Unlock()
		se.pc.Close()
		se.mu.Lock()
		for _, src := range se.sources {
			src.Close()
		}
		se.mu.Unlock()
		if why != nil {
			se.log.Info("whip publisher disconnected", "reason", why)
		}
		if se.pub.Ended != nil {
			se.pub.Ended(why)
		}
		s.wg.Done()
	})
}

// ready publishes the streams and announces the tracks once every track the offer sends
// is known. Called with se.mu held.
func (se *session) readyLocked() error {
	if se.announced || (se.wantVideo && se.video == nil) || (se.wantAudio && !se.audioReady) {
		return nil
	}
	se.announced = true
	se.sources = map[hub.Track]*hub.Source{}
	var ap *hub.Params
	if se.wantAudio {
		asc, err := aac.AudioSpecificConfig{ObjectType: aac.ObjectTypeLC, SampleRate: audioRate, ChannelConfig: audioChannels}.Marshal()
		if err != nil {
			return err
		}
		ap = &hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: audioRate, Channels: audioChannels}
	}
	for track, p := range map[hub.Track]*hub.Params{hub.MainVideo: se.video, hub.Audio: ap} {
		if p == nil {
			continue
		}
		src, err := se.srv.cfg.Hub.PublishAt(hub.Key{Room: se.pub.Room, UserId: se.pub.UserId, Track: track}, *p, se.start)
		if err != nil {
			return err
		}
		se.sources[track] = src
	}
	if se.pub.Tracks != nil {
		return se.pub.Tracks(se.video, ap)
	}
	return nil
}

// write hands a unit to its stream once the tracks are announced (before, it is dropped).
func (se *session) write(track hub.Track, u hub.Unit) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.failed != nil || !se.announced {
		return
	}
	if src := se.sources[track]; src != nil {
		if err := src.Write(u); err != nil {
			se.failed = err
		}
	}
}

func (se *session) fail(err error) {
	se.mu.Lock()
	if se.failed == nil {
		se.failed = err
	}
	se.mu.Unlock()
	go se.end(err)
}

// sinceStart is the media time of now.
func (se *session) sinceStart() time.Duration { return se.srv.cfg.Now().Sub(se.start) }

// readVideo depacketizes H.264 into access units; the first keyframe with its SPS and
// PPS gives the stream's parameters. Until then a picture loss indication is sent each
// second.
func (se *session) readVideo(track *webrtc.TrackRemote) {
	sb := samplebuilder.New(256, &codecs.H264Packet{}, 90000)
	var first uint32
	var offset, lastPTS time.Duration
	started := false
	lastPLI := time.Time{}
	var sps, pps []byte
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		se.received()
		se.mu.Lock()
		haveVideo := se.video != nil
		se.mu.Unlock()
		if !haveVideo && time.Since(lastPLI) > time.Second {
			lastPLI = time.Now()
			se.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			nalus, err := h264.SplitAnnexB(s.Data)
			if err != nil || len(nalus) == 0 {
				continue
			}
			key := false
			for _, n := range nalus {
				if len(n) == 0 {
					continue
				}
				switch n[0] & 0x1f {
				case 5:
					key = true
				case 7:
					sps = n
				case 8:
					pps = n
				}
			}
			if !started {
				if !key || sps == nil || pps == nil {
					continue
				}
				p, err := videoParams(sps, pps)
				if err != nil {
					se.fail(err)
					return
				}
				started, first, offset = true, s.PacketTimestamp, se.sinceStart()
				se.mu.Lock()
				se.video = p
				err = se.readyLocked()
				se.mu.Unlock()
				if err != nil {
					se.fail(err)
					return
				}
			}
			pts := offset + time.Duration(int32(s.PacketTimestamp-first))*time.Second/90000
			if pts < lastPTS {
				se.fail(ErrBFrames)
				return
			}
			lastPTS = pts
			se.write(hub.MainVideo, hub.Unit{PTS: pts, DTS: pts, Key: key, NALUs: nalus})
		}
	}
}

// readAudio decodes Opus and re-encodes it to AAC frames of the stream.
func (se *session) readAudio(track *webrtc.TrackRemote) {
	dec, err := opus.NewDecoderWithOutput(audioRate, audioChannels)
	if err != nil {
		se.fail(err)
		return
	}
	enc, err := aac.NewPCMEncoder(audioRate, audioChannels)
	if err != nil {
		se.fail(err)
		return
	}
	pcm := make([]int16, 5760*audioChannels) // 120 ms, the longest Opus packet
	var frames int64
	var offset time.Duration
	started := false
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		se.received()
		if len(pkt.Payload) == 0 {
			continue
		}
		n, err := dec.DecodeToInt16(pkt.Payload, pcm)
		if err != nil {
			se.log.Debug("an Opus packet did not decode", "err", err)
			continue
		}
		if !started {
			started, offset = true, se.sinceStart()
			se.mu.Lock()
			se.audioReady = true
			err := se.readyLocked()
			se.mu.Unlock()
			if err != nil {
				se.fail(err)
				return
			}
		}
		out, err := enc.Write(pcm[:n*audioChannels])
		if err != nil {
			se.fail(err)
			return
		}
		for _, f := range out {
			pts := offset + time.Duration(frames)*aac.SamplesPerFrame*time.Second/audioRate
			frames++
			se.write(hub.Audio, hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: f})
		}
	}
}

// videoParams are an H.264 stream's hub parameters, its picture from the SPS.
func videoParams(sps, pps []byte) (*hub.Params, error) {
	p, err := hub.H264Params(append([]byte(nil), sps...), append([]byte(nil), pps...))
	switch {
	case errors.Is(err, hub.ErrReordered):
		return nil, ErrBFrames
	case err != nil:
		return nil, fmt.Errorf("whip: %w", err)
	}
	return &p, nil
}
