package compose

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

// goRegularTTF is Go Regular by Bigelow & Holmes (BSD-style licence: fonts/LICENSE), the
// face of text and timestamp watermarks.
//
//go:embed fonts/Go-Regular.ttf
var goRegularTTF []byte

// goRegular is the font, parsed once; faces are made from it per call (a face is not safe
// for concurrent use, and is cheap to make).
var goRegular = sync.OnceValue(func() *opentype.Font {
	f, err := opentype.Parse(goRegularTTF)
	if err != nil {
		panic("compose: the embedded font does not parse: " + err.Error())
	}
	return f
})

// Font sizes of text watermarks, in pixels.
const (
	DefaultFontSize = 14
	MaxFontSize     = 256
)

// TextStyle is how DrawText writes. Colours are opaque: their A is ignored.
type TextStyle struct {
	FontSize   int         // pixels; DefaultFontSize when 0 or less, at most MaxFontSize
	Color      color.RGBA  // white when zero
	Background *color.RGBA // nil: transparent
}

var white = color.RGBA{0xff, 0xff, 0xff, 0xff}

// fontPixels is the size a style's FontSize draws at.
func fontPixels(size int) int {
	if size <= 0 {
		return DefaultFontSize
	}
	return min(size, MaxFontSize)
}

// face is Go Regular at size pixels (fontPixels), hinted so that advances are whole pixels.
func face(size int) font.Face {
	f, err := opentype.NewFace(goRegular(), &opentype.FaceOptions{Size: float64(fontPixels(size)), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("compose: a face of the embedded font: " + err.Error())
	}
	return f
}

// lineMetrics is a face's ascent (the baseline from the line's top) and line height, in
// whole pixels.
func lineMetrics(f font.Face) (ascent, height int) {
	m := f.Metrics()
	return m.Ascent.Ceil(), m.Ascent.Ceil() + m.Descent.Ceil()
}

// layout calls glyph with each rune of text and its pen position (26.6 fixed point, in an
// int so that no length of text overflows it), kerned, until glyph returns false. Invalid
// UTF-8 reads as U+FFFD.
func layout(f font.Face, text string, glyph func(ch rune, pen int) bool) (end int) {
	pen, prev := 0, rune(-1)
	for _, ch := range text {
		if prev >= 0 {
			pen += int(f.Kern(prev, ch))
		}
		if !glyph(ch, pen) {
			break
		}
		adv, _ := f.GlyphAdvance(ch) // not ok for a rune the font lacks: its notdef's advance
		pen += int(adv)
		prev = ch
	}
	return pen
}

// TextSize is the box DrawText writes text in at fontSize: its advance and line height.
func TextSize(text string, fontSize int) (w, h int) {
	f := face(fontSize)
	_, h = lineMetrics(f)
	end := layout(f, text, func(rune, int) bool { return true })
	return max(0, end+63) >> 6, h
}

// DrawText fills r with st.Background when set, then writes text on one line from r's
// top-left (the baseline at the font's ascent), anti-aliased in st.Color. Nothing is drawn
// outside r or the canvas: what does not fit is cut. Runes the font lacks (Go Regular has
// Latin, Greek and Cyrillic, no CJK) show its notdef box.
func DrawText(c *image.YCbCr, r mixlayout.Rect, text string, st TextStyle) {
	vis := visible(c, r)
	if vis.Empty() {
		return
	}
	if st.Background != nil {
		paint(c, vis, nil, *st.Background)
	}
	if text == "" {
		return
	}
	col := st.Color
	if col == (color.RGBA{}) {
		col = white
	}
	f := face(st.FontSize)
	size := fontPixels(st.FontSize)
	ascent, height := lineMetrics(f)
	// Where the visible part starts in text coordinates (r's top-left at 0,0); exact as
	// uint for any r, since vis lies inside r.
	offX, offY := uint(vis.Min.X)-uint(r.X), uint(vis.Min.Y)-uint(r.Y)
	if offY >= uint(height) || offX > 1<<40 {
		return // below the line, or further right than any text reaches
	}
	ox, oy := int(offX), int(offY)
	vis.Max.Y = min(vis.Max.Y, vis.Min.Y+height-oy)                     // below the line stays as it is
	cov := image.NewAlpha(image.Rect(ox, oy, ox+vis.Dx(), oy+vis.Dy())) // text coordinates
	layout(f, text, func(ch rune, pen int) bool {
		x := pen >> 6
		if x >= cov.Rect.Max.X+size {
			return false // cut: no later glyph reaches into r
		}
		if x+4*size < cov.Rect.Min.X {
			return true // left of the visible part
		}
		// Not ok for a rune the font lacks, but the mask is then the notdef box: drawn, so
		// that missing glyphs show.
		dr, mask, mp, _, _ := f.Glyph(fixed.Point26_6{X: fixed.Int26_6(pen & 63), Y: fixed.I(ascent)}, ch)
		if mask != nil {
			cover(cov, dr.Add(image.Pt(x, 0)), mask, mp)
		}
		return true
	})
	cov.Rect = vis // the same pixels, in canvas coordinates
	paint(c, vis, cov, col)
}

// cover adds a glyph's mask (its pixel mp at dr.Min) to the coverage cov, clipped to cov.
func cover(cov *image.Alpha, dr image.Rectangle, mask image.Image, mp image.Point) {
	clip := dr.Intersect(cov.Rect)
	if clip.Empty() {
		return
	}
	alpha, _ := mask.(*image.Alpha)
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		for x := clip.Min.X; x < clip.Max.X; x++ {
			mx, my := mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y
			var m int
			if alpha != nil {
				m = int(alpha.Pix[alpha.PixOffset(mx, my)])
			} else {
				_, _, _, a := mask.At(mx, my).RGBA()
				m = int(a >> 8)
			}
			p := &cov.Pix[cov.PixOffset(x, y)]
			*p = uint8(m + divRound(int(*p)*(0xff-m), 0xff)) // over: glyphs may overlap
		}
	}
}

// paint blends col over vis (inside the canvas) by cov (nil: opaque; else with vis's
// bounds): luma per pixel, chroma per 2x2 block by its pixels' mean coverage, pixels
// outside vis counting as uncovered.
func paint(c *image.YCbCr, vis image.Rectangle, cov *image.Alpha, col color.RGBA) {
	y, cb, cr := Studio(col)
	at := func(x, y int) int {
		if cov == nil {
			return 0xff
		}
		return int(cov.Pix[cov.PixOffset(x, y)])
	}
	for py := vis.Min.Y; py < vis.Max.Y; py++ {
		row := c.Y[c.YOffset(vis.Min.X, py):][:vis.Dx()]
		for i := range row {
			row[i] = blend(row[i], y, uint8(at(vis.Min.X+i, py)))
		}
	}
	blocks := make([]blockSum, (vis.Max.X-1)>>1-vis.Min.X>>1+1)
	for by := vis.Min.Y &^ 1; by < vis.Max.Y; by += 2 {
		clear(blocks)
		for py := max(by, vis.Min.Y); py < min(by+2, vis.Max.Y); py++ {
			for px := vis.Min.X; px < vis.Max.X; px++ {
				blocks[px>>1-vis.Min.X>>1].a += at(px, py)
			}
		}
		for k := range blocks {
			b := &blocks[k]
			b.cb, b.cr = b.a*int(cb), b.a*int(cr)
		}
		blendBlocks(c, vis.Min.X&^1, by, blocks)
	}
}

// TimestampText is t as a timestamp watermark shows it, "2006-01-02 15:04:05", in the
// fixed zone zoneHours east of UTC (the caller applies the contract's default, 8, and its
// range, -12 to 14).
func TimestampText(t time.Time, zoneHours int) string {
	return t.In(time.FixedZone(fmt.Sprintf("UTC%+d", zoneHours), zoneHours*3600)).Format(time.DateTime)
}

// TimestampMargin is the gap, in pixels, between a timestamp watermark and the canvas
// edges it is placed at (the contract names none); less when the canvas is too small.
const TimestampMargin = 10

// Timestamp watermark positions (WaterMarkTimestamp.Pos).
const (
	TopLeft = iota
	TopRight
	BottomLeft
	BottomRight
	TopCenter
	BottomCenter
	Center
)

// TimestampRect places a textW x textH timestamp on a canvasW x canvasH canvas at pos
// (TopLeft for an unknown one), TimestampMargin from the edges it is at. The box is on
// even pixels, its size rounded up to even and cut to the canvas, and always inside it.
func TimestampRect(pos, canvasW, canvasH, textW, textH int) mixlayout.Rect {
	cw, ch := max(0, canvasW)&^1, max(0, canvasH)&^1
	w, h := min((max(0, textW)+1)&^1, cw), min((max(0, textH)+1)&^1, ch)
	mx, my := min(TimestampMargin, (cw-w)/2)&^1, min(TimestampMargin, (ch-h)/2)&^1
	left, centre, right := mx, (cw-w)/2&^1, cw-w-mx
	top, middle, bottom := my, (ch-h)/2&^1, ch-h-my
	x, y := left, top
	switch pos {
	case TopRight:
		x = right
	case BottomLeft:
		y = bottom
	case BottomRight:
		x, y = right, bottom
	case TopCenter:
		x = centre
	case BottomCenter:
		x, y = centre, bottom
	case Center:
		x, y = centre, middle
	}
	return mixlayout.Rect{X: x, Y: y, W: w, H: h}
}
