// Package mix owns a mixed stream (mixed recording, transcoded relay): it reads the room's
// members from the stream hub, lays them out (mixlayout), draws each output frame
// (compose), sums their audio (audiomix) and codes both (H.264 and AAC-LC) on the caller's
// clock: Render codes the media up to the time it is given and never beyond it, so a
// virtual clock's advance of an hour mixes an hour, as fast as the CPU allows.
//
// The virtual participants hand over their pictures and samples uncoded (hub raw sinks):
// nothing is decoded, and each picture is drawn once per frame however many mixes read it.
// Media the emulator cannot decode (RTMP, WHIP, ingest) shows as a tile labelled with the
// user id and the source kind, and contributes silence.
package mix

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"math"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/audiomix"
	"github.com/trtc-emulator/trtc-emulator/media/compose"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// Config is a mix's output and where it reads from.
type Config struct {
	Hub  *hub.Hub
	Room string // the members' hub.Key Room
	// Start is the clock time of the mix's media time 0.
	Start time.Time
	// Video: Width x Height (even) at Fps, BitRate bps (0: the encoder's fixed quality), an
	// IDR picture every GOP seconds. Audio: SampleRate, Channels, AudioBitRate bps.
	Video, Audio            bool
	Width, Height, Fps, GOP int
	BitRate                 int
	SampleRate, Channels    int
	AudioBitRate            int
	Logger                  *slog.Logger
	RawQueue                int // units a raw input may queue between two Renders; 256 when 0
}

// Member is a present anchor of the room, in entry order, with what the mix takes of it.
type Member struct {
	UserId string
	// Decodable: the member's media is synthetic (uncoded in the hub); otherwise its video
	// is a labelled tile and its audio silence.
	Decodable bool
	Source    string // the tile's second line: "rtmp", "whip", "ingest"
	// Video and Aux: the main and aux video it publishes that the mix shows; Audio: the
	// audio it publishes that the mix sums.
	Video, Aux, Audio bool
}

// Layout is how the mix draws its canvas. Params' Width, Height and Members are the mix's.
type Layout struct {
	Params     mixlayout.Params
	Background color.RGBA
	// BackgroundImage is drawn over the background colour by BackgroundRenderMode.
	BackgroundImage      *compose.Image
	BackgroundRenderMode int
	// Placeholder shows in windows whose user is absent or publishes no video
	// (PlaceHolderMode); SlotImages are custom slots' own (by SubBackgroundImage URL).
	Placeholder *compose.Image
	SlotImages  map[string]*compose.Image
	Watermarks  []Watermark
}

// Watermark kinds (WaterMarkType).
const (
	WatermarkImage     = 0
	WatermarkText      = 1
	WatermarkTimestamp = 2
)

// Watermark is drawn over the windows, in list order.
type Watermark struct {
	Kind  int
	Rect  mixlayout.Rect // image and text
	Image *compose.Image // nil: an image that could not be fetched (not drawn)
	Text  string
	Style compose.TextStyle
	// Timestamp: Pos (0…6) and the zone in hours.
	Pos, Zone int
}

// Mixer is one mixed stream. It is not safe for concurrent use.
type Mixer struct {
	cfg    Config
	log    *slog.Logger
	canvas *image.YCbCr
	venc   *synth.PictureEncoder
	aenc   *aac.PCMEncoder
	amix   *audiomix.Mixer

	members []Member
	layout  Layout
	windows []mixlayout.Window // of members and layout, computed once per Set
	inputs  map[hub.Key]*input
	warned  map[string]bool // members whose audio is silence, logged once

	frames      int64 // video frames coded
	audioFrames int64 // AAC frames returned
	audioIn     int64 // output samples mixed (per channel)
	mono        []int16
	srcs        [][]int16
	inter       []int16
}

// input is one member's track the mix reads uncoded.
type input struct {
	key    hub.Key
	sink   *hub.Sink
	offset time.Duration // the sink's media time 0 on the mix's time line
	next   *hub.Unit     // read, not yet due
	// video: the picture shown now.
	picture *image.YCbCr
	// audio: mono samples at rate from sample index first of the input's time line.
	rate  int
	chans int
	first int64
	pcm   []int16
	level int // the volume of its last mixed frame (Volumes)
}

// New checks cfg and returns a mixer with no members (the canvas's background).
func New(cfg Config) (*Mixer, error) {
	if cfg.Hub == nil {
		return nil, errors.New("mix: a hub is required")
	}
	if !cfg.Video && !cfg.Audio {
		return nil, errors.New("mix: neither video nor audio")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RawQueue == 0 {
		cfg.RawQueue = 256
	}
	m := &Mixer{cfg: cfg, log: cfg.Logger.With("component", "mix", "room", cfg.Room), inputs: map[hub.Key]*input{},
		warned: map[string]bool{}, amix: audiomix.New()}
	if cfg.Video {
		if cfg.Fps < 1 || cfg.Fps > 60 {
			return nil, fmt.Errorf("mix: frame rate %d outside 1…60", cfg.Fps)
		}
		gop := max(cfg.GOP, 1) * cfg.Fps
		enc, err := synth.NewPictureEncoder(cfg.Width, cfg.Height, cfg.Fps, gop)
		if err != nil {
			return nil, fmt.Errorf("mix: %w", err)
		}
		if cfg.BitRate > 0 {
			enc.SetBitrate(cfg.BitRate)
		}
		m.venc = enc
		m.canvas = compose.NewCanvas(cfg.Width, cfg.Height)
	}
	if cfg.Audio {
		enc, err := aac.NewPCMEncoder(cfg.SampleRate, cfg.Channels)
		if err != nil {
			return nil, fmt.Errorf("mix: %w", err)
		}
		if cfg.AudioBitRate > 0 {
			enc.SetBitrate(cfg.AudioBitRate)
		}
		m.aenc = enc
	}
	m.Set(nil, Layout{Params: mixlayout.Params{Mode: mixlayout.Grid}})
	return m, nil
}

// VideoParams and AudioParams are the mixed stream's parameters as the hub describes them.
func (m *Mixer) VideoParams() hub.Params {
	return hub.Params{Codec: hub.H264, SPS: m.venc.SPS(), PPS: m.venc.PPS(), Width: m.cfg.Width, Height: m.cfg.Height, FPS: m.cfg.Fps}
}

// AudioConfig is the AAC AudioSpecificConfig of the mixed audio.
func (m *Mixer) AudioConfig() aac.AudioSpecificConfig { return m.aenc.Config() }

// Set makes members and layout the mix's from the next frame: the windows are laid out
// again, members that start publishing are read from now, the others let go.
func (m *Mixer) Set(members []Member, layout Layout) {
	m.members = append(m.members[:0], members...)
	m.layout = layout
	p := layout.Params
	p.Width, p.Height = m.cfg.Width, m.cfg.Height
	p.Members = p.Members[:0]
	for _, mb := range members {
		p.Members = append(p.Members, mixlayout.Member{UserId: mb.UserId, Video: mb.Video, Audio: mb.Audio, Aux: mb.Aux})
	}
	if m.cfg.Video {
		m.windows = mixlayout.Compute(p)
	}
	want := map[hub.Key]bool{}
	for _, mb := range members {
		if !mb.Decodable {
			if mb.Audio && m.cfg.Audio && !m.warned[mb.UserId] {
				m.warned[mb.UserId] = true
				m.log.Info("the mix cannot decode this member's audio: it contributes silence", "user", mb.UserId, "source", mb.Source)
			}
			continue
		}
		if m.cfg.Video && mb.Video {
			want[hub.Key{Room: m.cfg.Room, UserId: mb.UserId, Track: hub.MainVideo}] = true
		}
		if m.cfg.Video && mb.Aux {
			want[hub.Key{Room: m.cfg.Room, UserId: mb.UserId, Track: hub.AuxVideo}] = true
		}
		if m.cfg.Audio && mb.Audio {
			want[hub.Key{Room: m.cfg.Room, UserId: mb.UserId, Track: hub.Audio}] = true
		}
	}
	for k, in := range m.inputs {
		if !want[k] {
			in.close()
			delete(m.inputs, k)
		}
	}
	for k := range want {
		if m.inputs[k] == nil {
			m.inputs[k] = &input{key: k}
		}
	}
}

// Start is the clock time of the mix's media time 0.
func (m *Mixer) Start() time.Time { return m.cfg.Start }

// Windows is where the layout puts each member now (as of the last Set), in drawing order.
func (m *Mixer) Windows() []mixlayout.Window { return m.windows }

// Render codes the mixed media whose time has come by now: the video frames and the AAC
// frames with media time (end of frame, for audio) at most now - Start, in order.
func (m *Mixer) Render(now time.Time) (video, audio []hub.Unit, err error) {
	limit := now.Sub(m.cfg.Start)
	for _, in := range m.inputs {
		m.attach(in)
	}
	if m.cfg.Video {
		for {
			pts := time.Duration(m.frames * int64(time.Second) / int64(m.cfg.Fps))
			if pts > limit {
				break
			}
			u, err := m.renderVideo(pts)
			if err != nil {
				return nil, nil, err
			}
			video = append(video, u)
		}
	}
	if m.cfg.Audio {
		for {
			end := aac.SamplesDuration(m.audioIn+aac.SamplesPerFrame, m.cfg.SampleRate)
			if end > limit {
				break
			}
			frames, err := m.renderAudio()
			if err != nil {
				return nil, nil, err
			}
			for _, f := range frames {
				pts := aac.SamplesDuration(m.audioFrames*aac.SamplesPerFrame, m.cfg.SampleRate)
				audio = append(audio, hub.Unit{PTS: pts, DTS: pts, Key: true, Frame: f})
				m.audioFrames++
			}
		}
	}
	return video, audio, nil
}

// attach subscribes an input whose stream is published (a member's track appears in the
// hub a pass after the room says so).
func (m *Mixer) attach(in *input) {
	if in.sink != nil {
		return
	}
	s, err := m.cfg.Hub.Subscribe(in.key, hub.SinkOptions{Raw: true, Queue: m.cfg.RawQueue})
	if err != nil {
		return
	}
	in.sink = s
	in.offset = s.Start().Sub(m.cfg.Start)
	p := s.Params()
	in.rate, in.chans = max(p.SampleRate, 1), max(p.Channels, 1)
}

func (in *input) close() {
	if in.sink != nil {
		in.sink.Close()
	}
}

// take applies the input's units due by pts (mix time): the latest picture, the samples.
func (in *input) take(pts time.Duration) {
	if in.sink == nil {
		return
	}
	for {
		if in.next == nil {
			u, ok, err := in.sink.TryRead()
			if err != nil { // the stream ended: it may be published again
				in.sink.Close()
				in.sink, in.picture, in.pcm, in.first = nil, nil, nil, 0
				return
			}
			if !ok {
				return
			}
			in.next = &u
		}
		u := in.next
		if u.PTS+in.offset > pts {
			return
		}
		in.next = nil
		if u.Picture != nil {
			in.picture = u.Picture
		}
		if u.PCM != nil {
			in.addPCM(u)
		}
	}
}

// addPCM appends a unit's samples (down-mixed to mono) where its PTS puts them: a gap is
// silence, an overlap is dropped.
func (in *input) addPCM(u *hub.Unit) {
	at := int64(u.PTS) * int64(in.rate) / int64(time.Second)
	end := in.first + int64(len(in.pcm))
	if len(in.pcm) == 0 {
		in.first, end = at, at
	}
	for ; end < at; end++ {
		in.pcm = append(in.pcm, 0)
	}
	n := len(u.PCM) / in.chans
	for i := int(end - at); i < n; i++ {
		sum := 0
		for c := range in.chans {
			sum += int(u.PCM[i*in.chans+c])
		}
		in.pcm = append(in.pcm, int16(sum/in.chans))
	}
}

func (m *Mixer) renderVideo(pts time.Duration) (hub.Unit, error) {
	for _, in := range m.inputs {
		if in.key.Track != hub.Audio {
			in.take(pts)
		}
	}
	m.draw(pts)
	au, err := m.venc.Encode(m.canvas)
	if err != nil {
		return hub.Unit{}, err
	}
	m.frames++
	return hub.Unit{PTS: pts, DTS: pts, Key: au.Key, NALUs: au.NALUs}, nil
}

// draw composes the frame at pts on the canvas.
func (m *Mixer) draw(pts time.Duration) {
	l := &m.layout
	full := mixlayout.Rect{W: m.cfg.Width, H: m.cfg.Height}
	compose.Fill(m.canvas, full, l.Background)
	if l.BackgroundImage != nil { // over the background colour, blended by its alpha
		b := l.BackgroundImage.Picture.Rect
		src, dst := mixlayout.Place(b.Dx(), b.Dy(), full, l.BackgroundRenderMode)
		compose.DrawPart(m.canvas, l.BackgroundImage, src, dst)
	}
	byUser := map[string]*Member{}
	for i := range m.members {
		byUser[m.members[i].UserId] = &m.members[i]
	}
	compose.Windows(m.canvas, l.Background, l.Placeholder, m.windows, func(w mixlayout.Window) (compose.Source, bool) {
		mb := byUser[w.UserId]
		if mb == nil || !w.HasVideo {
			if img := l.SlotImages[w.Placeholder]; img != nil {
				return compose.Source{Picture: img.Picture, Alpha: img.Alpha}, true
			}
			return compose.Source{}, false
		}
		if !mb.Decodable {
			return compose.Source{Label: []string{mb.UserId, mb.Source}}, true
		}
		track := hub.MainVideo
		if w.MediaId == 1 {
			track = hub.AuxVideo
		}
		in := m.inputs[hub.Key{Room: m.cfg.Room, UserId: w.UserId, Track: track}]
		if in == nil || in.picture == nil {
			return compose.Source{}, false // its first picture is not here yet
		}
		return compose.Source{Picture: in.picture}, true
	})
	at := m.cfg.Start.Add(pts)
	for _, wm := range l.Watermarks {
		switch wm.Kind {
		case WatermarkImage:
			if wm.Image != nil {
				compose.DrawImage(m.canvas, wm.Image, wm.Rect)
			}
		case WatermarkText:
			compose.DrawText(m.canvas, wm.Rect, wm.Text, wm.Style)
		case WatermarkTimestamp:
			text := compose.TimestampText(at, wm.Zone)
			tw, th := compose.TextSize(text, wm.Style.FontSize)
			compose.DrawText(m.canvas, compose.TimestampRect(wm.Pos, m.cfg.Width, m.cfg.Height, tw, th), text, wm.Style)
		}
	}
}

// renderAudio mixes the next 1024 samples per channel and returns the AAC frames they
// complete.
func (m *Mixer) renderAudio() ([][]byte, error) {
	const n = aac.SamplesPerFrame
	rate := m.cfg.SampleRate
	from := m.audioIn
	m.audioIn += n
	end := aac.SamplesDuration(m.audioIn, rate)
	m.srcs = m.srcs[:0]
	for _, in := range m.inputs {
		if in.key.Track != hub.Audio {
			continue
		}
		in.take(end)
		if len(in.pcm) == 0 {
			in.level = 0
			continue
		}
		src := in.resample(from, n, rate)
		in.level = volume(src)
		m.srcs = append(m.srcs, src)
	}
	if cap(m.mono) < n {
		m.mono = make([]int16, n)
	}
	mono := m.amix.Mix(m.mono[:n], m.srcs...)
	ch := m.cfg.Channels
	if cap(m.inter) < n*ch {
		m.inter = make([]int16, n*ch)
	}
	inter := m.inter[:n*ch]
	for i, v := range mono {
		for c := range ch {
			inter[i*ch+c] = v
		}
	}
	return m.aenc.Write(inter)
}

// Volumes is each mixed user's audio level in the last audio frame rendered, 0 to 100:
// the samples' RMS over that of a full-scale sine (a tone at a tenth of full scale is 10).
// Users whose audio is not mixed (not subscribed, nothing decodable) are absent.
func (m *Mixer) Volumes() map[string]int {
	out := map[string]int{}
	for _, in := range m.inputs {
		if in.key.Track == hub.Audio {
			out[in.key.UserId] = in.level
		}
	}
	return out
}

// volume is samples' level as Volumes gives it.
func volume(samples []int16) int {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, v := range samples {
		sum += float64(v) * float64(v)
	}
	rms := math.Sqrt(sum / float64(len(samples)))
	return min(100, int(math.Round(rms*math.Sqrt2/32767*100)))
}

// resample returns the input's samples at the n output sample times from output sample
// from (at rate), linearly interpolated, and drops those no later frame needs.
func (in *input) resample(from int64, n, rate int) []int16 {
	out := make([]int16, n)
	offSamples := float64(in.offset) * float64(in.rate) / float64(time.Second)
	step := float64(in.rate) / float64(rate)
	pos := float64(from)*step - offSamples - float64(in.first) // index into in.pcm
	for i := range out {
		p := pos + float64(i)*step
		j := int64(p)
		if p < 0 || j >= int64(len(in.pcm)) {
			continue
		}
		v := float64(in.pcm[j])
		if j+1 < int64(len(in.pcm)) {
			v += (float64(in.pcm[j+1]) - v) * (p - float64(j))
		}
		out[i] = int16(v)
	}
	if drop := int64(pos+float64(n)*step) - 1; drop > 0 {
		drop = min(drop, int64(len(in.pcm)))
		in.pcm = append(in.pcm[:0], in.pcm[drop:]...)
		in.first += drop
	}
	return out
}

// Close lets go of every input.
func (m *Mixer) Close() {
	for k, in := range m.inputs {
		in.close()
		delete(m.inputs, k)
	}
}
