package compose

import (
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

var black = color.RGBA{0, 0, 0, 0xff}

// inked is what DrawText changed inside r: the pixels whose luma moved, those within 8 of
// the text colour's luma, and the columns touched (relative to r.X).
func inked(before, c *image.YCbCr, r mixlayout.Rect, textY uint8) (changed, full int, cols map[int]bool) {
	cols = map[int]bool{}
	for y := max(r.Y, 0); y < min(r.Y+r.H, c.Rect.Max.Y); y++ {
		for x := max(r.X, 0); x < min(r.X+r.W, c.Rect.Max.X); x++ {
			v := c.Y[c.YOffset(x, y)]
			if v == before.Y[before.YOffset(x, y)] {
				continue
			}
			changed++
			cols[x-r.X] = true
			if d := int(v) - int(textY); d <= 8 && d >= -8 {
				full++
			}
		}
	}
	return changed, full, cols
}

// TestDrawText: text in a rect at odd pixels inks pixels inside to about its colour, in
// luma and chroma, and nothing outside the rect.
func TestDrawText(t *testing.T) {
	for _, col := range []color.RGBA{white, {0xff, 0x20, 0x20, 0xff}} {
		c := solid(320, 180, black)
		before := clone(c)
		r := mixlayout.Rect{X: 21, Y: 33, W: 251, H: 61}
		DrawText(c, r, "Hello, TRTC! 0123", TextStyle{FontSize: 36, Color: col})
		ty := studio(col)
		changed, full, _ := inked(before, c, r, ty[0])
		if changed < 300 || full < 100 {
			t.Errorf("%v: %d pixels changed, %d to the text colour", col, changed, full)
		}
		if n := changedOutside(before, c, r); n != 0 {
			t.Errorf("%v: %d samples changed outside r", col, n)
		}
		blocks := 0 // 2x2 blocks wholly inked: their chroma is the text's
		for y := r.Y &^ 1; y < r.Y+r.H; y += 2 {
			for x := r.X &^ 1; x < r.X+r.W; x += 2 {
				if c.Y[c.YOffset(x, y)] == ty[0] && c.Y[c.YOffset(x+1, y)] == ty[0] &&
					c.Y[c.YOffset(x, y+1)] == ty[0] && c.Y[c.YOffset(x+1, y+1)] == ty[0] {
					blocks++
					if got := ycc(c, x, y); got != ty {
						t.Fatalf("%v: an inked block is %v, want %v", col, got, ty)
					}
				}
			}
		}
		if blocks == 0 {
			t.Errorf("%v: no 2x2 block wholly inked at 36 px", col)
		}
	}
}

// TestDrawTextDefaults: the zero style writes white at 14 px, and the text starts at r's
// top-left: its ink lies in the TextSize box there.
func TestDrawTextDefaults(t *testing.T) {
	c := solid(320, 180, black)
	before := clone(c)
	text := "Watermark"
	w, h := TextSize(text, 0)
	if w2, h2 := TextSize(text, DefaultFontSize); w != w2 || h != h2 {
		t.Fatalf("size 0 is %dx%d, 14 is %dx%d", w, h, w2, h2)
	}
	if h < 14 || h > 21 || w < 50 || w > 100 {
		t.Fatalf("%q at 14 px is %dx%d", text, w, h)
	}
	r := mixlayout.Rect{X: 40, Y: 40, W: 200, H: 100}
	DrawText(c, r, text, TextStyle{})
	_, full, _ := inked(before, c, r, studio(white)[0])
	if full == 0 {
		t.Fatal("no pixel near white")
	}
	box := mixlayout.Rect{X: r.X, Y: r.Y, W: w + 1, H: h}
	if n := changedOutside(before, c, box); n != 0 {
		t.Fatalf("%d samples changed outside the %dx%d text box", n, w, h)
	}
}

// TestDrawTextLonger: a longer string covers more columns, each starting at r's left.
func TestDrawTextLonger(t *testing.T) {
	r := mixlayout.Rect{X: 10, Y: 10, W: 300, H: 40}
	var prev int
	for _, s := range []string{"ab", "abcdef", "abcdefghijkl"} {
		c := solid(320, 180, black)
		before := clone(c)
		DrawText(c, r, s, TextStyle{FontSize: 20})
		_, _, cols := inked(before, c, r, 0)
		if len(cols) <= prev {
			t.Fatalf("%q covers %d columns, no more than the shorter one's %d", s, len(cols), prev)
		}
		if !cols[0] && !cols[1] && !cols[2] {
			t.Fatalf("%q does not start at r's left", s)
		}
		prev = len(cols)
	}
}

// TestDrawTextCut: text larger than r, or r off the canvas's edges, is cut at r and the
// canvas: nothing outside, no wrapping below the line.
func TestDrawTextCut(t *testing.T) {
	long := "The quick brown fox jumps over the lazy dog, again and again and again"
	for _, r := range []mixlayout.Rect{
		{X: 30, Y: 30, W: 81, H: 9},      // narrower and lower than the line
		{X: -37, Y: -11, W: 200, H: 40},  // off the top-left
		{X: 250, Y: 165, W: 200, H: 40},  // off the bottom-right
		{X: 31, Y: 31, W: 1, H: 1},       // one pixel
		{X: 400, Y: 30, W: 100, H: 40},   // wholly outside
		{X: 30, Y: 30, W: 3000, H: 3000}, // larger than the canvas
	} {
		c := solid(320, 180, black)
		before := clone(c)
		DrawText(c, r, long, TextStyle{FontSize: 24, Background: &color.RGBA{0x20, 0x40, 0x80, 0xff}})
		if n := changedOutside(before, c, r); n != 0 {
			t.Errorf("%+v: %d samples changed outside", r, n)
		}
	}
}

// TestDrawTextBackground: the background fills r exactly (odd edges included: a block
// half inside takes half the colour's chroma) and the text is over it.
func TestDrawTextBackground(t *testing.T) {
	c := solid(64, 64, black)
	bg := color.RGBA{0x20, 0x40, 0x80, 0xff}
	r := mixlayout.Rect{X: 5, Y: 4, W: 50, H: 30}
	DrawText(c, r, "", TextStyle{Background: &bg})
	for y := range 64 {
		for x := range 64 {
			want := studio(black)[0]
			if in(r, x, y) {
				want = studio(bg)[0]
			}
			if got := c.Y[c.YOffset(x, y)]; got != want {
				t.Fatalf("(%d,%d) luma %d, want %d", x, y, got, want)
			}
		}
	}
	if got := ycc(c, 10, 10); got != studio(bg) {
		t.Fatalf("inside: %v, want %v", got, studio(bg))
	}
	o, b, k := c.COffset(4, 10), studio(bg), studio(black)
	if got, want := c.Cb[o], uint8((int(b[1])+int(k[1])+1)/2); got != want {
		t.Fatalf("the block half inside has Cb %d, want %d", got, want)
	}
	DrawText(c, r, "Hi", TextStyle{Background: &bg, FontSize: 20})
	if _, full, _ := inked(solid(64, 64, bg), c, r, studio(white)[0]); full == 0 {
		t.Fatal("no white text over the background")
	}
}

// TestDrawTextUnicode: runes the font lacks, invalid UTF-8, control characters and long
// strings draw something, never panic, and never draw outside r.
func TestDrawTextUnicode(t *testing.T) {
	long := make([]byte, 1<<16)
	for i := range long {
		long[i] = 'W'
	}
	for _, s := range []string{"中文水印 ✓ 😀", "\xff\xfe\xfd", "a\x00b\nc\td", "é\u0301\u200d", string(long)} {
		c := solid(160, 90, black)
		before := clone(c)
		r := mixlayout.Rect{X: 3, Y: 3, W: 150, H: 30}
		DrawText(c, r, s, TextStyle{FontSize: 18})
		if n := changedOutside(before, c, r); n != 0 {
			t.Errorf("%q: %d samples changed outside", s[:min(len(s), 20)], n)
		}
		if changed, _, _ := inked(before, c, r, 0); changed == 0 {
			t.Errorf("%q: nothing drawn (a rune the font lacks shows its notdef box)", s[:min(len(s), 20)])
		}
		if w, _ := TextSize(s, 18); w <= 0 {
			t.Errorf("%q: width %d", s[:min(len(s), 20)], w)
		}
	}
}

// TestFontSizes: sizes out of range draw at 14 and at most MaxFontSize.
func TestFontSizes(t *testing.T) {
	w14, _ := TextSize("x", 14)
	if w, _ := TextSize("x", -3); w != w14 {
		t.Errorf("size -3 is %d wide, 14 is %d", w, w14)
	}
	wMax, hMax := TextSize("x", MaxFontSize)
	if w, h := TextSize("x", 1<<40); w != wMax || h != hMax {
		t.Errorf("a huge size is %dx%d, MaxFontSize %dx%d", w, h, wMax, hMax)
	}
	if w, h := TextSize("", 20); w != 0 || h < 20 {
		t.Errorf("empty text is %dx%d", w, h)
	}
	c := solid(64, 64, black)
	DrawText(c, mixlayout.Rect{W: 64, H: 64}, "W", TextStyle{FontSize: 1 << 40})
}

// TestTimestampText: the contract's format in a fixed zone of whole hours.
func TestTimestampText(t *testing.T) {
	at := time.Date(2024, 3, 5, 16, 4, 5, 900_000_000, time.UTC)
	for _, c := range []struct {
		zone int
		want string
	}{{8, "2024-03-06 00:04:05"}, {-5, "2024-03-05 11:04:05"}, {0, "2024-03-05 16:04:05"}, {14, "2024-03-06 06:04:05"}, {-12, "2024-03-05 04:04:05"}} {
		if got := TimestampText(at, c.zone); got != c.want {
			t.Errorf("UTC%+d: %q, want %q", c.zone, got, c.want)
		}
	}
	local := at.In(time.FixedZone("elsewhere", 3*3600+1800)) // the instant counts, not its zone
	if got := TimestampText(local, 8); got != "2024-03-06 00:04:05" {
		t.Errorf("from another zone: %q", got)
	}
}

// TestTimestampRect: each position puts the box inside the canvas, on even pixels, at its
// corner or centre TimestampMargin from the edges.
func TestTimestampRect(t *testing.T) {
	const W, H, m = 640, 360, TimestampMargin
	tw, th := 151, 19 // rounded up to 152x20
	for _, c := range []struct {
		pos  int
		x, y int
	}{
		{TopLeft, m, m}, {TopRight, W - 152 - m, m}, {BottomLeft, m, H - 20 - m}, {BottomRight, W - 152 - m, H - 20 - m},
		{TopCenter, (W - 152) / 2, m}, {BottomCenter, (W - 152) / 2, H - 20 - m}, {Center, (W - 152) / 2, (H - 20) / 2},
		{7, m, m}, {-1, m, m},
	} {
		want := mixlayout.Rect{X: c.x, Y: c.y, W: 152, H: 20}
		if got := TimestampRect(c.pos, W, H, tw, th); got != want {
			t.Errorf("pos %d: %+v, want %+v", c.pos, got, want)
		}
	}
	for pos := range 7 { // boxes near or over the canvas's size stay inside it
		for _, s := range []struct{ cw, ch, tw, th int }{{640, 360, 630, 355}, {160, 90, 400, 100}, {2, 2, 1, 1}, {0, 0, 10, 10}, {161, 91, 0, 0}} {
			r := TimestampRect(pos, s.cw, s.ch, s.tw, s.th)
			cw, ch := s.cw&^1, s.ch&^1
			if r.X < 0 || r.Y < 0 || r.X+r.W > cw || r.Y+r.H > ch || r.X%2 != 0 || r.Y%2 != 0 || r.W%2 != 0 || r.H%2 != 0 {
				t.Errorf("pos %d %+v: %+v leaves the canvas or is odd", pos, s, r)
			}
		}
	}
}

// TestTimestampWatermark: a timestamp drawn at its rect in the bottom right is inked
// there and nowhere else.
func TestTimestampWatermark(t *testing.T) {
	c := solid(640, 360, black)
	before := clone(c)
	text := TimestampText(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), 8)
	tw, th := TextSize(text, 16)
	r := TimestampRect(BottomRight, 640, 360, tw, th)
	DrawText(c, r, text, TextStyle{FontSize: 16})
	changed, _, cols := inked(before, c, r, 0)
	if changed < 100 || !cols[0] && !cols[1] || !cols[r.W-2] && !cols[r.W-3] && !cols[r.W-4] {
		t.Errorf("%q in %+v: %d pixels, columns from %v to %v", text, r, changed, cols[0], cols[r.W-2])
	}
	if n := changedOutside(before, c, r); n != 0 {
		t.Errorf("%d samples changed outside", n)
	}
}

// FuzzDrawText: any text in any rect at any size never panics and changes nothing outside
// the rect.
func FuzzDrawText(f *testing.F) {
	f.Add("Hello", 3, 5, 60, 20, 14, false)
	f.Add("中文\xff", -7, 30, 200, 9, 40, true)
	f.Add("", 90, 50, 10, 10, 0, true)
	f.Add("WWWWWWWWWW", -1<<62, -3, 1<<62+50, 1<<62, 300, true)
	f.Fuzz(func(t *testing.T, text string, x, y, w, h, size int, bg bool) {
		c := solid(96, 54, black)
		before := clone(c)
		r := mixlayout.Rect{X: x, Y: y, W: w, H: h}
		st := TextStyle{FontSize: size, Color: color.RGBA{0xff, 0xff, 0, 0xff}}
		if bg {
			st.Background = &color.RGBA{0x20, 0x40, 0x80, 0xff}
		}
		DrawText(c, r, text, st)
		if n := changedOutside(before, c, r); n != 0 {
			t.Fatalf("%+v: %d samples changed outside", r, n)
		}
	})
}

// BenchmarkDrawText: a timestamp watermark on a 640x360 canvas.
func BenchmarkDrawText(b *testing.B) {
	c := solid(640, 360, black)
	text := "2024-01-02 03:04:05"
	tw, th := TextSize(text, 16)
	r := TimestampRect(BottomRight, 640, 360, tw, th)
	bg := color.RGBA{0, 0, 0, 0xff}
	for b.Loop() {
		DrawText(c, r, text, TextStyle{FontSize: 16, Background: &bg})
	}
}
