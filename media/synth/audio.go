package synth

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

// AudioConfig describes the synthetic microphone of a virtual participant.
type AudioConfig struct {
	UserId     string
	SampleRate int     // Hz; 48000 when 0. Any AAC sampling frequency (8000 … 96000).
	Channels   int     // 1 (default) or 2; both channels carry the same tone
	Frequency  float64 // Hz; 0 picks the user's own tone, UserTone(UserId)
}

// AudioFrame is one AAC-LC frame of 1024 samples with its ADTS header.
type AudioFrame struct {
	PTS  time.Duration // presentation time from the first frame (0)
	ADTS []byte
}

// audioLevel is the tone's peak amplitude relative to full scale (-20 dBFS): speech-like loudness.
const audioLevel = 0.1

// audioHalfBand is how many MDCT lines on each side of the tone are coded; the sine window's
// leakage beyond them is below the quantizer's resolution.
const audioHalfBand = 24

// Audio produces a participant's tone as AAC-LC frames, encoded in pure Go, as fast as they
// are asked for: it never sleeps; pacing is the caller's business.
type Audio struct {
	cfg    AudioConfig
	asc    aac.AudioSpecificConfig
	header aac.ADTSHeader
	enc    *aac.LongBlockEncoder
	first  int       // first coded MDCT line
	sinB   []float64 // MDCT of window·sin(ωn) over the coded lines
	cosB   []float64 // MDCT of window·cos(ωn)
	spec   []float64
	frame  int64
}

// UserTone is the tone a user's audio carries when AudioConfig.Frequency is 0, as UserColor is
// their colour: one of 48 quarter-tone steps from 300 Hz up (300 … 1176 Hz), picked by a hash
// of the user id, so users are told apart by ear and by a spectrum (two ids share a tone once
// in 48).
func UserTone(userId string) float64 {
	h := fnv.New32a()
	h.Write([]byte(userId))
	step := h.Sum32() % 48
	return 300 * math.Pow(2, float64(step)/24)
}

// NewAudio validates cfg, fills its defaults and prepares the tone.
func NewAudio(cfg AudioConfig) (*Audio, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("synth: audio channels %d, want 1 or 2", cfg.Channels)
	}
	if cfg.Frequency == 0 {
		cfg.Frequency = UserTone(cfg.UserId)
	}
	if cfg.Frequency < 0 || cfg.Frequency >= float64(cfg.SampleRate)/2 {
		return nil, fmt.Errorf("synth: tone %.1f Hz outside 0 … %d Hz", cfg.Frequency, cfg.SampleRate/2)
	}
	asc := aac.AudioSpecificConfig{ObjectType: aac.ObjectTypeLC, SampleRate: cfg.SampleRate, ChannelConfig: cfg.Channels}
	enc, err := aac.NewLongBlockEncoder(asc)
	if err != nil {
		return nil, fmt.Errorf("synth: audio: %w", err)
	}
	a := &Audio{
		cfg:    cfg,
		asc:    asc,
		header: aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: cfg.SampleRate, ChannelConfig: cfg.Channels},
		enc:    enc,
		spec:   make([]float64, aac.SamplesPerFrame),
	}
	// The tone is stationary, so each frame's MDCT is a mix of two fixed spectra: with
	// x[n] = sin(ωn + θ) = sin(ωn)·cos θ + cos(ωn)·sin θ the transform is linear in (cos θ, sin θ).
	line := int(cfg.Frequency / (float64(cfg.SampleRate) / 2) * aac.SamplesPerFrame)
	a.first = max(line-audioHalfBand, 0)
	last := min(line+audioHalfBand, aac.SamplesPerFrame)
	a.sinB = make([]float64, last-a.first)
	a.cosB = make([]float64, last-a.first)
	win := aac.SineWindow()
	omega := 2 * math.Pi * cfg.Frequency / float64(cfg.SampleRate)
	block := make([]float64, aac.LongWindowLen)
	for n := range block {
		block[n] = win[n] * math.Sin(omega*float64(n))
	}
	aac.MDCT(a.sinB, block, a.first)
	for n := range block {
		block[n] = win[n] * math.Cos(omega*float64(n))
	}
	aac.MDCT(a.cosB, block, a.first)
	return a, nil
}

// Config is the configuration with its defaults filled in.
func (a *Audio) Config() AudioConfig { return a.cfg }

// AudioSpecificConfig describes the frames (for an MP4 esds or an FLV sequence header).
func (a *Audio) AudioSpecificConfig() aac.AudioSpecificConfig { return a.asc }

// FrameDuration is the nominal length of one frame (1024 samples).
func (a *Audio) FrameDuration() time.Duration { return aac.FrameDuration(a.cfg.SampleRate) }

// Next returns the next frame. Frame i has PTS i·1024/SampleRate.
func (a *Audio) Next() AudioFrame {
	i := a.frame
	a.frame++
	// Frame i's MDCT covers samples (i-1)·1024 … (i+1)·1024; the tone is sin(2πf·m/rate).
	cycles := a.cfg.Frequency * float64((i-1)*aac.SamplesPerFrame) / float64(a.cfg.SampleRate)
	theta := 2 * math.Pi * (cycles - math.Floor(cycles))
	amp := audioLevel * 32768
	c, s := amp*math.Cos(theta), amp*math.Sin(theta)
	for k := range a.sinB {
		a.spec[a.first+k] = c*a.sinB[k] + s*a.cosB[k]
	}
	spectra := [2][]float64{a.spec, a.spec}
	payload, err := a.enc.Encode(make([]byte, 0, 256), spectra[:a.cfg.Channels]...)
	if err != nil {
		panic("synth: audio: " + err.Error()) // spectra always fit the encoder
	}
	buf, err := aac.AppendADTSHeader(make([]byte, 0, aac.ADTSHeaderLen+len(payload)), a.header, len(payload))
	if err != nil {
		panic("synth: audio: " + err.Error())
	}
	return AudioFrame{
		PTS:  aac.SamplesDuration(i*aac.SamplesPerFrame, a.cfg.SampleRate),
		ADTS: append(buf, payload...),
	}
}

// PCM is frame i uncoded: the tone's 1024 samples per channel (interleaved) from sample
// i·1024, what the frame plays at its PTS; a mix sums these instead of decoding.
func (a *Audio) PCM(i int64) []int16 {
	ch := a.cfg.Channels
	out := make([]int16, aac.SamplesPerFrame*ch)
	amp := audioLevel * 32767
	step := a.cfg.Frequency / float64(a.cfg.SampleRate)
	first := i * aac.SamplesPerFrame
	for n := range aac.SamplesPerFrame {
		cycles := step * float64(first+int64(n))
		v := int16(math.Round(amp * math.Sin(2*math.Pi*(cycles-math.Floor(cycles)))))
		for c := range ch {
			out[n*ch+c] = v
		}
	}
	return out
}
