// Package compose owns drawing the pictures of a mixed stream: a 4:2:0 canvas filled with
// the background colour, each window's picture scaled into it as mixlayout places it (and
// faded by the window's Alpha), the labelled tile shown for a user whose pictures the
// emulator cannot decode (H.264 from RTMP, WHIP or ingest: there is no decoder yet),
// PNG/JPEG images blended by their alpha (background, placeholders, watermarks) and text
// and timestamp watermarks in the shipped font. It encodes nothing: the caller hands the
// canvas to an encoder.
package compose

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

// Studio converts an RGB colour to studio-range BT.601 (Y 16-235), the colour space of
// the canvas: what the emulator's H.264 encoder announces in its SPS.
func Studio(c color.RGBA) (y, cb, cr uint8) {
	r, g, b := float64(c.R)/255, float64(c.G)/255, float64(c.B)/255
	to8 := func(f float64) uint8 { return uint8(max(0, min(255, math.Round(f)))) }
	return to8(16 + 65.481*r + 128.553*g + 24.966*b), to8(128 - 37.797*r - 74.203*g + 112.0*b),
		to8(128 + 112.0*r - 93.786*g - 18.214*b)
}

// NewCanvas returns a w x h 4:2:0 picture (w and h rounded down to even), studio range.
func NewCanvas(w, h int) *image.YCbCr {
	return image.NewYCbCr(image.Rect(0, 0, w&^1, h&^1), image.YCbCrSubsampleRatio420)
}

// clip is r inside the canvas, on even pixels.
func clip(c *image.YCbCr, r mixlayout.Rect) image.Rectangle {
	rr := image.Rect(r.X&^1, r.Y&^1, (r.X+r.W)&^1, (r.Y+r.H)&^1).Intersect(c.Rect)
	return rr
}

// Fill paints r in col.
func Fill(c *image.YCbCr, r mixlayout.Rect, col color.RGBA) {
	rr := clip(c, r)
	if rr.Empty() {
		return
	}
	y, cb, cr := Studio(col)
	for py := rr.Min.Y; py < rr.Max.Y; py++ {
		row := c.Y[c.YOffset(rr.Min.X, py):]
		for i := range rr.Dx() {
			row[i] = y
		}
	}
	for py := rr.Min.Y; py < rr.Max.Y; py += 2 {
		o := c.COffset(rr.Min.X, py)
		for i := range rr.Dx() / 2 {
			c.Cb[o+i], c.Cr[o+i] = cb, cr
		}
	}
}

// Draw scales the part srcRect of src into dst on the canvas (nearest sample: the
// compositor's pictures are flat synthetic ones and labels).
func Draw(c *image.YCbCr, src *image.YCbCr, srcRect, dst mixlayout.Rect) {
	rr := clip(c, dst)
	if rr.Empty() || srcRect.W <= 0 || srcRect.H <= 0 || dst.W <= 0 || dst.H <= 0 {
		return
	}
	sb := src.Rect
	sx := func(x int) int {
		v := sb.Min.X + srcRect.X + (x-dst.X)*srcRect.W/dst.W
		return min(max(v, sb.Min.X), sb.Max.X-1)
	}
	sy := func(y int) int {
		v := sb.Min.Y + srcRect.Y + (y-dst.Y)*srcRect.H/dst.H
		return min(max(v, sb.Min.Y), sb.Max.Y-1)
	}
	xs := make([]int, rr.Dx())
	for i := range xs {
		xs[i] = sx(rr.Min.X + i)
	}
	for py := rr.Min.Y; py < rr.Max.Y; py++ {
		row := c.Y[c.YOffset(rr.Min.X, py):]
		srow := sy(py)
		for i, x := range xs {
			row[i] = src.Y[src.YOffset(x, srow)]
		}
	}
	for py := rr.Min.Y; py < rr.Max.Y; py += 2 {
		o := c.COffset(rr.Min.X, py)
		srow := sy(py)
		for i := 0; i < len(xs); i += 2 {
			so := src.COffset(xs[i], srow)
			c.Cb[o+i/2], c.Cr[o+i/2] = src.Cb[so], src.Cr[so]
		}
	}
}

// Glyph cell of basicfont.Face7x13.
const (
	glyphW, glyphH, glyphAscent = 7, 13, 11
)

// Label draws a tile in r: bg, with the lines of text centred in fg, as large as fits.
func Label(c *image.YCbCr, r mixlayout.Rect, lines []string, fg, bg color.RGBA) {
	Fill(c, r, bg)
	rr := clip(c, r)
	if rr.Empty() || len(lines) == 0 {
		return
	}
	cols := 1
	for _, l := range lines {
		cols = max(cols, len([]rune(l)))
	}
	scale := min(rr.Dx()/(cols*glyphW+2), rr.Dy()/(len(lines)*(glyphH+2)))
	if scale < 1 {
		return // too small for any text: the tile's colour says it
	}
	y0, _, _ := Studio(fg)
	top := rr.Min.Y + (rr.Dy()-len(lines)*(glyphH+2)*scale)/2
	for li, line := range lines {
		runes := []rune(line)
		for i, ch := range runes {
			if ch < 0x20 || ch > 0x7e {
				runes[i] = '?'
			}
		}
		mask := image.NewAlpha(image.Rect(0, 0, glyphW*len(runes), glyphH))
		d := font.Drawer{Dst: mask, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, glyphAscent)}
		d.DrawString(string(runes))
		left := rr.Min.X + (rr.Dx()-len(runes)*glyphW*scale)/2
		ty := top + li*(glyphH+2)*scale
		for my := range glyphH {
			for mx := range mask.Rect.Dx() {
				if mask.AlphaAt(mx, my).A < 128 {
					continue
				}
				for dy := range scale {
					py := ty + my*scale + dy
					if py < rr.Min.Y || py >= rr.Max.Y {
						continue
					}
					for dx := range scale {
						px := left + mx*scale + dx
						if px >= rr.Min.X && px < rr.Max.X {
							c.Y[c.YOffset(px, py)] = y0
						}
					}
				}
			}
		}
	}
}

// Source is what a window shows: a picture to scale in (Alpha its per-pixel opacity, nil
// opaque), or (Picture nil) a tile labelled with Label's lines (a user whose video the
// emulator cannot decode).
type Source struct {
	Picture *image.YCbCr
	Alpha   *image.Alpha
	Label   []string
}

// Colours of what is not a picture.
var (
	TileBackground = color.RGBA{0x30, 0x30, 0x38, 0xff}
	TileText       = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
)

// Compose draws one frame: the canvas in background, then each window in order (the
// layout's drawing order) with the picture source gives it; a window with no source (no
// user, or one who publishes no video) shows the background, or placeholder when set.
func Compose(c *image.YCbCr, background color.RGBA, placeholder *Image, windows []mixlayout.Window,
	source func(w mixlayout.Window) (Source, bool)) {
	Fill(c, mixlayout.Rect{W: c.Rect.Dx(), H: c.Rect.Dy()}, background)
	Windows(c, background, placeholder, windows, source)
}

// Windows is Compose over what the canvas holds (a background image drawn first): each
// window in order; Fit's bars are the background colour. A window's Alpha (0 opaque, 255
// transparent) fades its picture over what lies beneath; labelled tiles stay opaque.
func Windows(c *image.YCbCr, background color.RGBA, placeholder *Image, windows []mixlayout.Window,
	source func(w mixlayout.Window) (Source, bool)) {
	for _, w := range windows {
		win := mixlayout.Rect{X: w.X, Y: w.Y, W: w.W, H: w.H}
		opacity := uint8(0xff - min(max(w.Alpha, 0), 0xff))
		s, ok := source(w)
		switch {
		case ok && s.Picture != nil:
			b := s.Picture.Rect
			part := cropOf(b.Dx(), b.Dy(), w.Crop)
			src, dst := mixlayout.Place(part.W, part.H, win, w.RenderMode)
			src.X, src.Y = src.X+part.X, src.Y+part.Y
			if w.RenderMode == mixlayout.Fit {
				Fill(c, win, background)
			}
			drawPart(c, &Image{Picture: s.Picture, Alpha: s.Alpha}, src, dst, opacity)
		case ok:
			Label(c, win, s.Label, TileText, TileBackground)
		case placeholder != nil && placeholder.Picture != nil:
			b := placeholder.Picture.Rect
			src, dst := mixlayout.Place(b.Dx(), b.Dy(), win, mixlayout.Crop)
			drawPart(c, placeholder, src, dst, opacity)
		}
	}
}

// cropOf is the part of a w x h picture a window shows: crop clipped to the picture, or
// the whole picture without a crop or when the crop lies outside it.
func cropOf(w, h int, crop *mixlayout.Rect) mixlayout.Rect {
	all := mixlayout.Rect{W: w, H: h}
	if crop == nil {
		return all
	}
	x0, y0 := max(crop.X, 0), max(crop.Y, 0)
	x1, y1 := min(crop.X+crop.W, w), min(crop.Y+crop.H, h)
	if x1 <= x0 || y1 <= y0 {
		return all
	}
	return mixlayout.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// DrawPart draws the part src of img (from its origin) over dst, blending by its alpha:
// how a background image is placed under the windows.
func DrawPart(c *image.YCbCr, img *Image, src, dst mixlayout.Rect) {
	drawPart(c, img, src, dst, 0xff)
}

func drawPart(c *image.YCbCr, img *Image, src, dst mixlayout.Rect, opacity uint8) {
	if img.Alpha == nil && opacity == 0xff {
		Draw(c, img.Picture, src, dst) // the fast path: most frames' pictures are opaque
		return
	}
	DrawImageFaded(c, img.Part(src), dst, opacity)
}
