// Package synth generates the media of virtual participants in pure Go, as fast as the caller
// pulls it: it never sleeps, pacing belongs to the caller and its clock. Video (video*.go) is
// a real Constrained Baseline H.264 stream showing the user id, a background colour of the
// user's own and a running clock; audio (audio*.go) is AAC. The package imports no database,
// no HTTP and runs no outside binary.
package synth

import (
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"math"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// VideoConfig describes a participant's synthetic video. Zero fields take the defaults.
type VideoConfig struct {
	UserId string
	Width  int // even, 16 to 4096; default 640
	Height int // even, 16 to 2304; default 360
	Fps    int // 1 to 120; default 15
	GOP    int // frames from one IDR to the next; default 2 s worth
	// Start is the wall time of the first frame; the clock shows Start+PTS in Start's
	// location. The zero value shows 00:00:00.000 at the first frame.
	Start time.Time
}

// Default values of VideoConfig.
const (
	DefaultWidth  = 640
	DefaultHeight = 360
	DefaultFps    = 15
)

// videoQP is the quantiser of text macroblocks: the glyph edges stay crisp for 30 to 90 bytes
// a macroblock. Flat macroblocks are coded exactly whatever it is (see flatQP).
const videoQP = 26

// AccessUnit is an H.264 access unit; synth produces them in decoding order, which is also
// presentation order (no B-frames).
type AccessUnit = h264.AccessUnit

// Video is a synthetic H.264 source. It is not safe for concurrent use.
type Video struct {
	cfg      VideoConfig
	enc      *encoder
	frame    int64
	sinceIDR int64 // frames since the last IDR picture
	wantIDR  bool  // RequestKeyframe was called

	bg          ycbcr // background colour
	textY       uint8 // luma of the text; its chroma is the background's
	base        *picture
	cur, prev   *picture
	clockX      int // top-left of the clock text, in luma samples
	clockY      int
	clockScale  int
	clockChars  int             // the clock string's tail that fits the width (all 12 when it can)
	clockMBs    image.Rectangle // macroblocks the clock can touch
	code        []bool
	clockGlyphs *image.Alpha // scratch for one line of clock text
}

// NewVideo validates cfg, fills its defaults and renders the static part of the picture.
func NewVideo(cfg VideoConfig) (*Video, error) {
	if cfg.Width == 0 {
		cfg.Width = DefaultWidth
	}
	if cfg.Height == 0 {
		cfg.Height = DefaultHeight
	}
	if cfg.Fps == 0 {
		cfg.Fps = DefaultFps
	}
	if cfg.GOP == 0 {
		cfg.GOP = 2 * cfg.Fps
	}
	switch {
	case cfg.Width < 16 || cfg.Width > 4096 || cfg.Height < 16 || cfg.Height > 2304:
		return nil, fmt.Errorf("synth: video size %dx%d outside 16x16 to 4096x2304", cfg.Width, cfg.Height)
	case cfg.Width%2 != 0 || cfg.Height%2 != 0:
		return nil, fmt.Errorf("synth: video size %dx%d: width and height must be even (4:2:0)", cfg.Width, cfg.Height)
	case cfg.Fps < 1 || cfg.Fps > 120:
		return nil, fmt.Errorf("synth: frame rate %d outside 1 to 120", cfg.Fps)
	case cfg.GOP < 1:
		return nil, errors.New("synth: GOP must be at least 1 frame")
	}
	v := &Video{cfg: cfg, enc: newEncoder(cfg.Width, cfg.Height, cfg.Fps, videoQP)}
	v.bg = toYCbCr(UserColor(cfg.UserId))
	v.textY = 235
	if v.bg.y > 150 {
		v.textY = 16
	}
	mbW, mbH := v.enc.mbW, v.enc.mbH
	v.base = newPicture(mbW, mbH)
	v.layout()
	v.cur, v.prev = v.base.clone(), v.base.clone()
	v.code = make([]bool, mbW*mbH)
	return v, nil
}

// Config is the configuration with its defaults filled in.
func (v *Video) Config() VideoConfig { return v.cfg }

// SPS and PPS return the parameter sets that precede every IDR picture (for an MP4 avcC box
// or an RTMP sequence header before the first access unit).
func (v *Video) SPS() []byte { return append([]byte(nil), v.enc.sps...) }

// PPS returns the picture parameter set; see SPS.
func (v *Video) PPS() []byte { return append([]byte(nil), v.enc.pps...) }

// RequestKeyframe makes the next frame an IDR picture (a new viewer's picture loss
// indication); the GOP counts again from it.
func (v *Video) RequestKeyframe() { v.wantIDR = true }

// Next codes the next frame. The first frame, every GOP-th after an IDR and the frame after
// RequestKeyframe are IDR pictures with SPS and PPS in front; the others are P pictures that
// code only the clock's macroblocks.
func (v *Video) Next() AccessUnit {
	n := v.frame
	v.frame++
	pts := time.Duration(n * int64(time.Second) / int64(v.cfg.Fps))
	v.cur, v.prev = v.prev, v.cur
	clock := v.cfg.Start.Add(pts).Format(clockFormat)
	v.drawClock(v.cur, clock[len(clock)-v.clockChars:])
	if n == 0 || v.wantIDR || v.sinceIDR >= int64(v.cfg.GOP) {
		v.sinceIDR, v.wantIDR = 1, false
		return AccessUnit{PTS: pts, Key: true, NALUs: v.enc.encodeIDR(v.cur)}
	}
	v.sinceIDR++
	clear(v.code)
	for my := v.clockMBs.Min.Y; my < v.clockMBs.Max.Y; my++ {
		for mx := v.clockMBs.Min.X; mx < v.clockMBs.Max.X; mx++ {
			v.code[my*v.enc.mbW+mx] = !sameMB(v.cur, v.prev, mx, my)
		}
	}
	return AccessUnit{PTS: pts, NALUs: [][]byte{v.enc.encodeP(v.cur, v.code)}}
}

// UserColor is the background colour of a user's video, from a hash of the user id: hue
// anywhere on the wheel, saturation and value in a band dark enough for light text.
func UserColor(userId string) color.RGBA {
	h := fnv.New32a()
	h.Write([]byte(userId))
	sum := h.Sum32()
	hue := float64(sum%360) / 60
	sat := 0.55 + float64(sum>>9%20)/100
	val := 0.40 + float64(sum>>17%16)/100
	c := val * sat
	x := c * (1 - math.Abs(math.Mod(hue, 2)-1))
	var r, g, b float64
	switch int(hue) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := val - c
	to8 := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return color.RGBA{R: to8(r), G: to8(g), B: to8(b), A: 255}
}

type ycbcr struct{ y, cb, cr uint8 }

// toYCbCr converts to studio-range BT.601, the colour space the SPS announces.
func toYCbCr(c color.RGBA) ycbcr {
	r, g, b := float64(c.R)/255, float64(c.G)/255, float64(c.B)/255
	y := 16 + 65.481*r + 128.553*g + 24.966*b
	cb := 128 - 37.797*r - 74.203*g + 112.0*b
	cr := 128 + 112.0*r - 93.786*g - 18.214*b
	to8 := func(f float64) uint8 { return uint8(max(0, min(255, math.Round(f)))) }
	return ycbcr{to8(y), to8(cb), to8(cr)}
}

// Glyph cell of basicfont.Face7x13.
const glyphW, glyphH, glyphAscent = 7, 13, 11

// clockFormat formats the clock; narrow pictures show only its tail, which still changes
// every frame.
const clockFormat = "15:04:05.000"

// layout fills the background, draws the user id and places the clock under it. Text scales by
// whole factors with the picture height; the clock starts on a macroblock boundary so it
// touches as few macroblocks as possible.
func (v *Video) layout() {
	p := v.base
	for i := range p.y {
		p.y[i] = v.bg.y
	}
	for i := range p.cb {
		p.cb[i], p.cr[i] = v.bg.cb, v.bg.cr
	}
	w, h := v.cfg.Width, v.cfg.Height
	id := []rune(v.cfg.UserId)
	idScale := fitScale(max(1, h/90), len(id), w)
	v.clockScale = fitScale(max(1, h/120), len(clockFormat), w)
	v.clockChars = min(len(clockFormat), max(1, w/(glyphW*v.clockScale)))
	idH, clockH := glyphH*idScale, glyphH*v.clockScale
	gap := glyphH * v.clockScale / 2
	if len(id) == 0 || idH+gap+clockH > h { // too small for both: the clock wins
		id, idH, gap = nil, 0, 0
	}
	top := max(0, (h-idH-gap-clockH)/2)
	if len(id) > 0 {
		v.drawText(p, string(id), max(0, (w-glyphW*idScale*len(id))/2), top, idScale)
	}
	clockW := glyphW * v.clockScale * v.clockChars
	v.clockX = max(0, (w-clockW)/2) &^ 15
	if v.clockX+clockW > w { // keep it whole when the aligned start would cut it
		v.clockX = max(0, (w-clockW)/2)
	}
	v.clockY = top + idH + gap
	mbW, mbH := v.enc.mbW, v.enc.mbH
	v.clockMBs = image.Rect(v.clockX/16, v.clockY/16,
		min(mbW, (v.clockX+clockW+15)/16), min(mbH, (v.clockY+clockH+15)/16))
	v.clockGlyphs = image.NewAlpha(image.Rect(0, 0, glyphW*v.clockChars, glyphH))
}

// fitScale shrinks scale until n glyphs fit the width with a margin (never below 1).
func fitScale(scale, n, width int) int {
	for scale > 1 && glyphW*scale*n > width*9/10 {
		scale--
	}
	return scale
}

// drawText renders s at (x, y) scaled by an integer factor into the luma plane, clipped to the
// picture. Text keeps the background's chroma, so only luma varies.
func (v *Video) drawText(p *picture, s string, x, y, scale int) {
	mask := image.NewAlpha(image.Rect(0, 0, glyphW*len([]rune(s)), glyphH))
	v.rasterize(mask, s)
	v.blit(p, mask, x, y, scale)
}

func (v *Video) rasterize(mask *image.Alpha, s string) {
	clear(mask.Pix)
	printable := []rune(s)
	for i, r := range printable {
		if r < 0x20 || r > 0x7e {
			printable[i] = '?'
		}
	}
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, glyphAscent)}
	d.DrawString(string(printable))
}

func (v *Video) blit(p *picture, mask *image.Alpha, x0, y0, scale int) {
	stride := p.strideY()
	b := mask.Bounds()
	for my := b.Min.Y; my < b.Max.Y; my++ {
		for mx := b.Min.X; mx < b.Max.X; mx++ {
			val := v.bg.y
			if mask.AlphaAt(mx, my).A >= 0x80 {
				val = v.textY
			}
			for dy := range scale {
				y := y0 + my*scale + dy
				if y >= v.cfg.Height {
					break
				}
				row := p.y[y*stride:]
				for dx := range scale {
					x := x0 + mx*scale + dx
					if x >= v.cfg.Width {
						break
					}
					row[x] = val
				}
			}
		}
	}
}

// drawClock draws s over the clock of p; its glyph cells cover the previous string.
func (v *Video) drawClock(p *picture, s string) {
	v.rasterize(v.clockGlyphs, s)
	v.blit(p, v.clockGlyphs, v.clockX, v.clockY, v.clockScale)
}

func sameMB(a, b *picture, mx, my int) bool {
	s := a.strideY()
	for y := range 16 {
		o := (16*my+y)*s + 16*mx
		if string(a.y[o:o+16]) != string(b.y[o:o+16]) {
			return false
		}
	}
	return true
}

// Picture is the frame the last Next coded, uncoded: what a mix composites in place of
// decoding the stream. It shares the video's memory: it is valid until the next Next.
// Before the first Next it is the background with the user id.
func (v *Video) Picture() *image.YCbCr {
	p := v.cur
	return &image.YCbCr{Y: p.y, Cb: p.cb, Cr: p.cr, YStride: p.strideY(), CStride: p.strideC(),
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, v.cfg.Width, v.cfg.Height)}
}
