package jobs

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/compose"
	"github.com/trtc-emulator/trtc-emulator/media/mix"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// mixKey is a mixed task's one stream among its streams.
var mixKey = streamKey{mediaId: "mix"}

// mixBase is the common start of a mixed recording's file names:
// "[ha<n>_]<SdkAppId>_<RoomId>" (seed: "Naming of recording files").
func mixBase(t *models.RecordingTask, generation int) string {
	room := t.RoomId
	if t.RoomIdType == models.RoomIdString {
		room = encodeName(room)
	}
	ha := ""
	if generation > 0 {
		ha = fmt.Sprintf("ha%d_", generation)
	}
	return fmt.Sprintf("%s%d_%s", ha, t.SdkAppId, room)
}

// recordMix is a mixed task's pass: the mix follows the room's anchors and the task's
// layout from its next frame, and what it coded up to now is written.
func (t *taskRun) recordMix(ctx context.Context, view *models.RecordingView, now time.Time) error {
	spec := view.Spec
	w := t.streams[mixKey]
	if w == nil {
		var err error
		if w, err = t.openMix(ctx, spec, now); err != nil {
			return err
		}
		t.streams[mixKey] = w
	}
	w.mix.Set(mixMembers(spec, &t.slots, view.Members), t.mixLayout(ctx, &spec.Mix.Layout))
	video, audio, err := w.mix.Render(now)
	if err != nil {
		return err
	}
	return w.write(video, audio)
}

// mixMembers is what the mix shows and sums of the room: the anchors' streams the task
// subscribes to (as a single-stream task would record them), in entry order.
func mixMembers(spec *models.RecordingSpec, slots *models.AnchorSlots, members []models.Member) []mix.Member {
	var out []mix.Member
	index := map[string]int{}
	for _, s := range spec.RecordedStreams(slots, members) {
		i, ok := index[s.Member.UserId]
		if !ok {
			i = len(out)
			index[s.Member.UserId] = i
			out = append(out, mix.Member{UserId: s.Member.UserId, Decodable: s.Member.Source == models.SourceVirtual,
				Source: s.Member.Source})
		}
		if s.Aux {
			out[i].Aux = s.Video
			continue
		}
		out[i].Video, out[i].Audio = s.Video, s.Audio
	}
	return out
}

// openMix starts the task's mixed stream at now: its mixer and its outputs (one HLS
// playlist of both tracks, and the MP4 or AAC files the format asks for).
func (t *taskRun) openMix(ctx context.Context, spec *models.RecordingSpec, now time.Time) (*streamWriter, error) {
	m := spec.Mix
	tr := tracks{audio: spec.StreamType != 2, video: spec.StreamType != 1}
	mixer, err := mix.New(mix.Config{Hub: t.r.cfg.Hub, Room: t.room, Start: now, Video: tr.video, Audio: tr.audio,
		Width: m.Width, Height: m.Height, Fps: m.Fps, GOP: m.Gop, BitRate: m.BitRate,
		SampleRate: m.SampleRate, Channels: m.Channels, AudioBitRate: m.AudioBitRate, Logger: t.log})
	if err != nil {
		return nil, err
	}
	w := &streamWriter{t: t, mediaId: "mix", start: now, tracks: tr, mix: mixer, fps: m.Fps,
		base: mixBase(&t.task, t.generation), dir: taskDir(spec, t.task.TaskId)}
	if tr.audio {
		asc := mixer.AudioConfig()
		w.adts = aac.ADTSHeader{ObjectType: asc.ObjectType, SampleRate: asc.SampleRate, ChannelConfig: asc.ChannelConfig}
	}
	fail := func(err error) (*streamWriter, error) {
		mixer.Close()
		return nil, err
	}
	if spec.OutputFormat != formatMP4 && spec.OutputFormat != formatAAC {
		h, err := t.openHLS(ctx, w, tr, m.Width, m.Height, now)
		if err != nil {
			return fail(err)
		}
		w.hls = append(w.hls, h)
	}
	if spec.OutputFormat != formatHLS {
		row, err := t.r.cfg.Store.OpenStream(ctx, models.RecordingStream{TaskRef: t.task.ID, Generation: t.generation,
			MediaId: "mix", TrackType: "audio_video", Playlist: w.dir + w.base, BeginAtMs: now.UnixMilli()})
		if err != nil {
			return fail(err)
		}
		aacOnly := spec.OutputFormat == formatHLSAndAAC || spec.OutputFormat == formatAAC
		o := &mp4Out{w: w, row: row, dir: w.dir, base: w.base, aac: aacOnly,
			maxDuration: time.Duration(spec.MaxMediaFileMinutes) * time.Minute, may: tr}
		if tr.video && !aacOnly {
			p := mixer.VideoParams()
			o.videoSPS, o.videoPPS = p.SPS, p.PPS
		}
		if tr.audio {
			asc := mixer.AudioConfig()
			o.audioASC = &asc
		}
		w.mp4 = o
	}
	return w, nil
}

// mixLayout is the task's layout for the mixer, with its images: each URL is fetched
// once per run, through the address guard; one that fails (unreachable, not a PNG or
// JPEG, too large) writes 309 and the mix goes on without it.
func (t *taskRun) mixLayout(ctx context.Context, l *models.MixLayout) mix.Layout {
	return mixLayoutOf(l, func(url string) *compose.Image { return t.image(ctx, url) })
}

// mixLayoutOf is l for the mixer, with the images image returns (nil: none).
func mixLayoutOf(l *models.MixLayout, image func(url string) *compose.Image) mix.Layout {
	out := mix.Layout{
		Params: mixlayout.Params{Mode: l.Mode, MainUser: l.MainUserId, MainMediaId: l.MainMediaId, AlignRight: l.AlignRight,
			PureAudioDisableLayout: l.PureAudioDisableLayout, RenderMode: l.RenderMode},
		Background:           parseColor(l.BackgroundColor, color.RGBA{A: 0xff}),
		BackgroundImage:      image(l.BackgroundImageUrl),
		BackgroundRenderMode: l.BackgroundImageRenderMode,
	}
	if l.PlaceHolderMode {
		out.Placeholder = image(l.DefaultSubBackgroundImage)
	}
	for _, s := range l.Slots {
		var crop *mixlayout.Rect
		if c := s.Crop; c != nil {
			crop = &mixlayout.Rect{X: c.X, Y: c.Y, W: c.W, H: c.H}
		}
		out.Params.Custom = append(out.Params.Custom, mixlayout.Slot{Top: s.Top, Left: s.Left, Width: s.Width, Height: s.Height,
			UserId: s.UserId, Alpha: s.Alpha, RenderMode: s.RenderMode, MediaId: s.MediaId, ImageLayer: s.ImageLayer,
			SubBackgroundImage: s.SubBackgroundImage, Crop: crop})
		if img := image(s.SubBackgroundImage); img != nil && l.PlaceHolderMode {
			if out.SlotImages == nil {
				out.SlotImages = map[string]*compose.Image{}
			}
			out.SlotImages[s.SubBackgroundImage] = img
		}
	}
	for _, wm := range l.Watermarks {
		rect := mixlayout.Rect{X: wm.Left, Y: wm.Top, W: wm.Width, H: wm.Height}
		switch wm.Type {
		case mix.WatermarkImage:
			out.Watermarks = append(out.Watermarks, mix.Watermark{Kind: wm.Type, Rect: rect, Image: image(wm.Url)})
		case mix.WatermarkText:
			st := compose.TextStyle{FontSize: wm.FontSize, Color: parseColor(wm.FontColor, color.RGBA{0xff, 0xff, 0xff, 0xff})}
			if wm.BackgroundColor != "" {
				bg := parseColor(wm.BackgroundColor, color.RGBA{})
				st.Background = &bg
			}
			out.Watermarks = append(out.Watermarks, mix.Watermark{Kind: wm.Type, Rect: rect, Text: wm.Chars, Style: st})
		case mix.WatermarkTimestamp:
			out.Watermarks = append(out.Watermarks, mix.Watermark{Kind: wm.Type, Pos: wm.Pos, Zone: wm.TimeZone,
				Style: compose.TextStyle{FontSize: timestampFontSize, Color: color.RGBA{0xff, 0xff, 0xff, 0xff}}})
		}
	}
	return out
}

// timestampFontSize is the timestamp watermark's text size (the contract names none).
const timestampFontSize = 16

// maxImageBytes is the contract's limit on layout images (5 MB).
const maxImageBytes = 5 << 20

// image returns the decoded image at url (nil for "" and for one that failed).
func (t *taskRun) image(ctx context.Context, url string) *compose.Image {
	if url == "" {
		return nil
	}
	if img, ok := t.images[url]; ok {
		return img
	}
	img, err := fetchImage(ctx, t.r.images(), url)
	if err != nil {
		t.log.Warn("a layout image could not be used: 309", "url", url, "err", err)
		if err := t.r.cfg.Store.ImageFailed(ctx, t.task.ID, url); err != nil {
			t.log.Error("write 309", "err", err)
		}
	}
	if t.images == nil {
		t.images = map[string]*compose.Image{}
	}
	t.images[url] = img
	return img
}

// fetchImage downloads and decodes a layout image (PNG or JPEG, at most 5 MB).
func fetchImage(ctx context.Context, client *http.Client, url string) (*compose.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, imageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("more than %d bytes", maxImageBytes)
	}
	return compose.DecodeImage(data)
}

// imageTimeout bounds one image fetch (a pass waits for it).
const imageTimeout = 10 * time.Second

// images is the client layout images are fetched with.
func (r *Recorder) images() *http.Client {
	if r.cfg.Images != nil {
		return r.cfg.Images
	}
	return &http.Client{Timeout: imageTimeout}
}

// parseColor reads "#RRGGBB" (validated by handlers), def when empty.
func parseColor(s string, def color.RGBA) color.RGBA {
	if len(s) != 7 {
		return def
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return def
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}
