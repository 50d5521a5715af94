// Package virtual runs the virtual participants' media: one synthetic encoder per track a
// member publishes (main video, aux video, audio), writing into the stream hub, however
// many sinks read it. Media is produced on demand, up to the time the caller names and
// never beyond it, so that the clock that moves the caller (the wall clock, a test's fake
// clock, a virtual clock) moves the media: an advance of an hour produces an hour of
// media, as fast as the CPU allows.
package virtual

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// AudioSampleRate and AudioChannels are the virtual participants' audio: AAC-LC mono at
// 48 kHz, the rate of TRTC's native SDKs.
const (
	AudioSampleRate = 48000
	AudioChannels   = 1
)

// Video is a video track's format.
type Video struct{ Width, Height, Fps int }

// Publisher is what one member of a room publishes now.
type Publisher struct {
	UserId string
	// Main and Aux are the main and aux (screen sharing) video; nil: not published.
	Main, Aux *Video
	Audio     bool
}

// Media is the virtual participants' media of every room.
type Media struct {
	hub *hub.Hub

	mu     sync.Mutex
	tracks map[hub.Key]*track
}

// New returns the media writing into h.
func New(h *hub.Hub) *Media { return &Media{hub: h, tracks: map[hub.Key]*track{}} }

// track is one synthetic stream.
type track struct {
	src   *hub.Source
	start time.Time // wall time of media time 0

	video  *synth.Video
	format Video
	base   time.Duration // media time of frame 0 of video (a format change restarts the count)
	frames int64         // units written (video: since base)
	// pending is a format change not coded yet: the next unit is a keyframe carrying it.
	pending *hub.Params

	audio *synth.Audio
}

// Sync makes room's synthetic streams those of pubs at now: a track a member starts to
// publish is a new stream whose media time 0 is now, one no longer published ends its
// stream, and a video whose format changed goes on with new parameters from its next
// frame (a keyframe). The media up to now is written first (Advance).
func (m *Media) Sync(room string, pubs []Publisher, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.advanceLocked(now); err != nil {
		return err
	}
	want := map[hub.Key]Publisher{}
	formats := map[hub.Key]*Video{}
	for _, p := range pubs {
		if p.Main != nil {
			k := hub.Key{Room: room, UserId: p.UserId, Track: hub.MainVideo}
			want[k], formats[k] = p, p.Main
		}
		if p.Aux != nil {
			k := hub.Key{Room: room, UserId: p.UserId, Track: hub.AuxVideo}
			want[k], formats[k] = p, p.Aux
		}
		if p.Audio {
			want[hub.Key{Room: room, UserId: p.UserId, Track: hub.Audio}] = p
		}
	}
	var errs []error
	for k, tr := range m.tracks {
		if k.Room != room {
			continue
		}
		if _, ok := want[k]; !ok {
			tr.src.Close()
			delete(m.tracks, k)
			continue
		}
		if f := formats[k]; f != nil && *f != tr.format {
			errs = append(errs, tr.reformat(k, *f))
		}
	}
	for k := range want {
		if m.tracks[k] != nil {
			continue
		}
		tr, err := m.open(k, formats[k], now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.tracks[k] = tr
	}
	return errors.Join(errs...)
}

// label is what a track's picture says.
func label(k hub.Key) string {
	if k.Track == hub.AuxVideo {
		return k.UserId + " screen"
	}
	return k.UserId
}

func (m *Media) open(k hub.Key, format *Video, now time.Time) (*track, error) {
	tr := &track{start: now}
	var params hub.Params
	if k.Track == hub.Audio {
		a, err := synth.NewAudio(synth.AudioConfig{UserId: k.UserId, SampleRate: AudioSampleRate, Channels: AudioChannels})
		if err != nil {
			return nil, err
		}
		asc, err := a.AudioSpecificConfig().Marshal()
		if err != nil {
			return nil, err
		}
		tr.audio = a
		params = hub.Params{Codec: hub.AAC, AudioConfig: asc, SampleRate: AudioSampleRate, Channels: AudioChannels}
	} else {
		v, err := newVideo(k, *format, now)
		if err != nil {
			return nil, err
		}
		tr.video, tr.format = v, *format
		params = videoParams(v)
	}
	src, err := m.hub.PublishAt(k, params, now)
	if err != nil {
		return nil, fmt.Errorf("virtual: %s of %s: %w", k.Track, k.UserId, err)
	}
	tr.src = src
	return tr, nil
}

func newVideo(k hub.Key, f Video, start time.Time) (*synth.Video, error) {
	return synth.NewVideo(synth.VideoConfig{UserId: label(k), Width: f.Width, Height: f.Height, Fps: f.Fps, Start: start})
}

func videoParams(v *synth.Video) hub.Params {
	c := v.Config()
	return hub.Params{Codec: hub.H264, SPS: v.SPS(), PPS: v.PPS(), Width: c.Width, Height: c.Height, FPS: c.Fps}
}

// reformat switches a video track to f from its next frame.
func (tr *track) reformat(k hub.Key, f Video) error {
	at := tr.nextVideoPTS()
	v, err := newVideo(k, f, tr.start.Add(at)) // the picture's clock goes on
	if err != nil {
		return err
	}
	p := videoParams(v)
	tr.video, tr.format, tr.base, tr.frames, tr.pending = v, f, at, 0, &p
	return nil
}

func (tr *track) nextVideoPTS() time.Duration {
	return tr.base + time.Duration(tr.frames)*time.Second/time.Duration(tr.video.Config().Fps)
}

// Advance writes every stream's media up to now: each unit whose media time is at most
// now minus its stream's start.
func (m *Media) Advance(now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.advanceLocked(now)
}

// advanceLocked encodes the tracks up to now, on as many goroutines as there are CPUs: the
// tracks are independent (each writes its own stream), and a virtual clock's advance of an
// hour is an hour of every track to encode.
func (m *Media) advanceLocked(now time.Time) error {
	work := make(chan *track, len(m.tracks))
	for _, tr := range m.tracks {
		work <- tr
	}
	close(work)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(len(m.tracks), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for tr := range work {
				if err := tr.advance(now.Sub(tr.start)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (tr *track) advance(limit time.Duration) error {
	if tr.audio != nil {
		for {
			pts := aac.SamplesDuration(tr.frames*aac.SamplesPerFrame, AudioSampleRate)
			if pts > limit {
				return nil
			}
			f := tr.audio.Next()
			raw, err := aac.ADTSPayload(f.ADTS)
			if err != nil {
				return err
			}
			u := hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: raw}
			if tr.src.RawWanted() {
				u.PCM = tr.audio.PCM(tr.frames)
			}
			if err := tr.src.Write(u); err != nil {
				return err
			}
			tr.frames++
		}
	}
	for {
		pts := tr.nextVideoPTS()
		if pts > limit {
			return nil
		}
		if tr.src.KeyframeWanted() || tr.pending != nil {
			tr.video.RequestKeyframe()
		}
		au := tr.video.Next()
		u := hub.Unit{PTS: pts, DTS: pts, Key: au.Key, NALUs: au.NALUs}
		if tr.pending != nil {
			u.Params, tr.pending = tr.pending, nil
		}
		if tr.src.RawWanted() {
			u.Picture = clonePicture(tr.video.Picture())
		}
		if err := tr.src.Write(u); err != nil {
			return err
		}
		tr.frames++
	}
}

// clonePicture copies a picture the encoder will draw over: readers of the hub keep it.
func clonePicture(p *image.YCbCr) *image.YCbCr {
	c := *p
	c.Y = append([]uint8(nil), p.Y...)
	c.Cb = append([]uint8(nil), p.Cb...)
	c.Cr = append([]uint8(nil), p.Cr...)
	return &c
}

// Close ends every stream.
func (m *Media) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, tr := range m.tracks {
		tr.src.Close()
		delete(m.tracks, k)
	}
}
