package jobs

import (
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/synth"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// Synthetic video size and rate of a participant that published without giving them.
const (
	defaultVideoWidth  = 640
	defaultVideoHeight = 360
	defaultVideoFps    = 15
)

// ParticipantMedia is the media source handle of a virtual participant: what its client
// sends while it publishes, which recording and relay read. It is derived from the member
// row alone (user id, video settings, join time), so after a restart the same member
// yields the same streams.
type ParticipantMedia struct {
	Video *synth.Video // nil unless the member publishes video
	Audio *synth.Audio // nil unless the member publishes audio
}

// MediaOf returns the synthetic sources of a member, their clocks starting at its entry.
func MediaOf(m *models.Member) (*ParticipantMedia, error) {
	pm := &ParticipantMedia{}
	if m.PubVideo {
		w, h, fps := m.VideoWidth, m.VideoHeight, m.VideoFps
		if w == 0 || h == 0 {
			w, h = defaultVideoWidth, defaultVideoHeight
		}
		if fps == 0 {
			fps = defaultVideoFps
		}
		v, err := synth.NewVideo(synth.VideoConfig{UserId: m.UserId, Width: w &^ 1, Height: h &^ 1, Fps: fps,
			Start: time.UnixMilli(m.JoinedAtMs)})
		if err != nil {
			return nil, err
		}
		pm.Video = v
	}
	if m.PubAudio {
		a, err := synth.NewAudio(synth.AudioConfig{UserId: m.UserId, SampleRate: 48000, Channels: 1})
		if err != nil {
			return nil, err
		}
		pm.Audio = a
	}
	return pm, nil
}
