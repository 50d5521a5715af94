package compose

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

func solid(w, h int, col color.RGBA) *image.YCbCr {
	p := NewCanvas(w, h)
	Fill(p, mixlayout.Rect{W: w, H: h}, col)
	return p
}

// at is the canvas colour at (x, y), back in RGB (studio-range BT.601 inverted), to within
// the round trip.
func at(c *image.YCbCr, x, y int) color.RGBA {
	Y := (float64(c.Y[c.YOffset(x, y)]) - 16) * 255 / 219
	cb := (float64(c.Cb[c.COffset(x, y)]) - 128) * 255 / 224
	cr := (float64(c.Cr[c.COffset(x, y)]) - 128) * 255 / 224
	to8 := func(f float64) uint8 { return uint8(max(0, min(255, math.Round(f)))) }
	return color.RGBA{to8(Y + 1.402*cr), to8(Y - 0.344136*cb - 0.714136*cr), to8(Y + 1.772*cb), 0xff}
}

func close(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= 4 && d(a.G, b.G) <= 4 && d(a.B, b.B) <= 4
}

var colours = []color.RGBA{{0xe0, 0x20, 0x20, 0xff}, {0x20, 0xc0, 0x20, 0xff}, {0x20, 0x40, 0xe0, 0xff}, {0xe0, 0xe0, 0x20, 0xff}}

// TestComposeGrid: four users' pictures in a 2x2 grid; each window's centre shows its
// user's colour, the background where nobody is.
func TestComposeGrid(t *testing.T) {
	c := NewCanvas(640, 360)
	var ms []mixlayout.Member
	pics := map[string]*image.YCbCr{}
	for i := range 3 {
		id := fmt.Sprint("u", i)
		ms = append(ms, mixlayout.Member{UserId: id, Video: true, Audio: true})
		pics[id] = solid(320, 240, colours[i])
	}
	ws := mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: 640, Height: 360, Members: ms, RenderMode: mixlayout.Crop})
	bg := color.RGBA{0x10, 0x10, 0x10, 0xff}
	Compose(c, bg, nil, ws, func(w mixlayout.Window) (Source, bool) {
		p, ok := pics[w.UserId]
		return Source{Picture: p}, ok
	})
	for i, w := range ws {
		if got := at(c, w.X+w.W/2, w.Y+w.H/2); !close(got, colours[i]) {
			t.Fatalf("window %d (%s) centre is %v, want %v", i, w.UserId, got, colours[i])
		}
	}
	if got := at(c, 480, 270); !close(got, bg) { // the fourth cell: nobody
		t.Fatalf("the empty cell is %v, want the background", got)
	}
}

// TestFitLetterbox: a 4:3 picture fitted in a 16:9 window leaves background bars on its
// sides; cropped, it fills the window.
func TestFitLetterbox(t *testing.T) {
	bg := color.RGBA{0, 0, 0, 0xff}
	pic := solid(640, 480, colours[0])
	for _, c := range []struct {
		mode   int
		sideBg bool
	}{{mixlayout.Fit, true}, {mixlayout.Crop, false}, {mixlayout.Stretch, false}} {
		canvas := NewCanvas(640, 360)
		Compose(canvas, bg, nil, []mixlayout.Window{{UserId: "a", W: 640, H: 360, RenderMode: c.mode}},
			func(mixlayout.Window) (Source, bool) { return Source{Picture: pic}, true })
		side := at(canvas, 20, 180)
		if close(side, bg) != c.sideBg || !close(at(canvas, 320, 180), colours[0]) {
			t.Fatalf("mode %d: side %v centre %v", c.mode, side, at(canvas, 320, 180))
		}
	}
}

// TestLabelTile: a user the emulator cannot decode gets a tile with its id written in it,
// inside its window only.
func TestLabelTile(t *testing.T) {
	c := NewCanvas(640, 360)
	bg := color.RGBA{0, 0, 0, 0xff}
	win := mixlayout.Window{UserId: "obs", X: 320, Y: 0, W: 320, H: 180}
	Compose(c, bg, nil, []mixlayout.Window{win}, func(mixlayout.Window) (Source, bool) {
		return Source{Label: []string{"obs", "RTMP H.264"}}, true
	})
	text, tile, outside := 0, 0, 0
	ty, _, _ := Studio(TileText)
	by, _, _ := Studio(TileBackground)
	bgY, _, _ := Studio(bg)
	for y := range 360 {
		for x := range 640 {
			v := c.Y[c.YOffset(x, y)]
			in := x >= 320 && y < 180
			switch {
			case in && v == ty:
				text++
			case in && v == by:
				tile++
			case !in && v != bgY:
				outside++
			}
		}
	}
	if text < 200 || tile < 320*180/2 || outside != 0 {
		t.Fatalf("tile: %d text pixels, %d tile pixels, %d pixels drawn outside", text, tile, outside)
	}
}

// BenchmarkCompose: one frame of a 3x3 grid at 1280x720 from 640x360 pictures.
func BenchmarkCompose(b *testing.B) {
	c := NewCanvas(1280, 720)
	var ms []mixlayout.Member
	for i := range 9 {
		ms = append(ms, mixlayout.Member{UserId: fmt.Sprint("u", i), Video: true})
	}
	ws := mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: 1280, Height: 720, Members: ms, RenderMode: mixlayout.Crop})
	pic := solid(640, 360, colours[2])
	for b.Loop() {
		Compose(c, color.RGBA{A: 0xff}, nil, ws, func(mixlayout.Window) (Source, bool) { return Source{Picture: pic}, true })
	}
}

// FuzzCompose: windows anywhere, of any size and render mode, over pictures of any size,
// never panic (what leaves the canvas is clipped).
func FuzzCompose(f *testing.F) {
	f.Add(0, 0, 320, 180, 640, 480, 1, 0, "a")
	f.Add(-50, 400, 2000, 7, 2, 2, 2, 128, "")
	f.Fuzz(func(t *testing.T, x, y, w, h, pw, ph, mode, alpha int, label string) {
		pw, ph = 2+int(uint(pw)%2000), 2+int(uint(ph)%2000)
		c := NewCanvas(320, 180)
		pic := solid(pw, ph, colours[1])
		win := mixlayout.Window{UserId: "u", X: x, Y: y, W: w, H: h, RenderMode: mode, Alpha: alpha}
		Compose(c, color.RGBA{A: 0xff}, &Image{Picture: pic}, []mixlayout.Window{win, {X: x, Y: y, W: w, H: h, Alpha: alpha}}, func(w mixlayout.Window) (Source, bool) {
			if w.UserId == "" {
				return Source{}, false
			}
			if label != "" {
				return Source{Label: []string{label}}, true
			}
			return Source{Picture: pic}, true
		})
	})
}

// TestWindowAlpha: a window's Alpha fades its picture over the background (0 opaque, 128
// about half, 255 invisible), a placeholder image blends by its own alpha, and DrawPart
// draws only the part asked for.
func TestWindowAlpha(t *testing.T) {
	bg, red := color.RGBA{0x00, 0x00, 0xff, 0xff}, color.RGBA{0xff, 0x00, 0x00, 0xff}
	pic := solid(64, 64, red)
	ws := []mixlayout.Window{
		{UserId: "a", X: 0, Y: 0, W: 64, H: 64},
		{UserId: "b", X: 64, Y: 0, W: 64, H: 64, Alpha: 128},
		{UserId: "c", X: 128, Y: 0, W: 64, H: 64, Alpha: 255},
		{X: 192, Y: 0, W: 64, H: 64}, // nobody: the placeholder
	}
	half := NewCanvas(64, 64)
	Fill(half, mixlayout.Rect{W: 64, H: 64}, red)
	placeholder := &Image{Picture: half, Alpha: image.NewAlpha(image.Rect(0, 0, 64, 64))}
	for i := range placeholder.Alpha.Pix {
		placeholder.Alpha.Pix[i] = 0x80
	}
	c := NewCanvas(256, 64)
	Compose(c, bg, placeholder, ws, func(w mixlayout.Window) (Source, bool) {
		return Source{Picture: pic}, w.UserId != ""
	})
	mid := color.RGBA{0x80, 0x00, 0x7f, 0xff}
	for _, tc := range []struct {
		x    int
		want color.RGBA
	}{{32, red}, {96, mid}, {160, bg}, {224, mid}} {
		if got := at(c, tc.x, 32); !close(got, tc.want) {
			t.Fatalf("x=%d: %v, want %v", tc.x, got, tc.want)
		}
	}

	// DrawPart of the right half of a red|green picture over the whole canvas: all green.
	two := solid(64, 32, red)
	Fill(two, mixlayout.Rect{X: 32, W: 32, H: 32}, colours[1])
	c = NewCanvas(32, 32)
	DrawPart(c, &Image{Picture: two}, mixlayout.Rect{X: 32, W: 32, H: 32}, mixlayout.Rect{W: 32, H: 32})
	for _, x := range []int{0, 31} {
		if got := at(c, x, 16); !close(got, colours[1]) {
			t.Fatalf("DrawPart at x=%d: %v, want the right half's green", x, got)
		}
	}
	DrawImageFaded(c, &Image{Picture: solid(32, 32, red)}, mixlayout.Rect{W: 32, H: 32}, 0)
	if got := at(c, 16, 16); !close(got, colours[1]) {
		t.Fatalf("opacity 0 drew: %v", got)
	}
}

// TestWindowCrop: a window with a Crop shows only that part of the picture (placed by its
// render mode); a crop clipped by the picture's edge shows what is inside, and one wholly
// outside shows the whole picture.
func TestWindowCrop(t *testing.T) {
	// Four quadrants of 320x180 each: red, green / blue, yellow.
	pic := NewCanvas(640, 360)
	for i, r := range []mixlayout.Rect{{X: 0, Y: 0, W: 320, H: 180}, {X: 320, Y: 0, W: 320, H: 180}, {X: 0, Y: 180, W: 320, H: 180}, {X: 320, Y: 180, W: 320, H: 180}} {
		Fill(pic, r, colours[i])
	}
	bg := color.RGBA{0, 0, 0, 0xff}
	for _, c := range []struct {
		name string
		crop *mixlayout.Rect
		want []color.RGBA // at the window's left quarter and right quarter, middle height
	}{
		{"none", nil, nil},
		{"green quadrant", &mixlayout.Rect{X: 320, Y: 0, W: 320, H: 180}, []color.RGBA{colours[1], colours[1]}},
		{"bottom half", &mixlayout.Rect{X: 0, Y: 180, W: 640, H: 180}, []color.RGBA{colours[2], colours[3]}},
		{"clipped: yellow", &mixlayout.Rect{X: 320, Y: 180, W: 5000, H: 5000}, []color.RGBA{colours[3], colours[3]}},
		{"outside: all", &mixlayout.Rect{X: 9000, Y: 9000, W: 10, H: 10}, nil},
	} {
		canvas := NewCanvas(320, 180)
		Compose(canvas, bg, nil, []mixlayout.Window{{UserId: "a", W: 320, H: 180, RenderMode: mixlayout.Crop, Crop: c.crop}},
			func(mixlayout.Window) (Source, bool) { return Source{Picture: pic}, true })
		if c.want == nil || c.crop == nil { // the whole picture: its four quadrants
			for i, p := range [][2]int{{80, 45}, {240, 45}, {80, 135}, {240, 135}} {
				if got := at(canvas, p[0], p[1]); !close(got, colours[i]) {
					t.Errorf("%s: (%d,%d) is %v, want %v", c.name, p[0], p[1], got, colours[i])
				}
			}
			continue
		}
		for i, x := range []int{80, 240} {
			if got := at(canvas, x, 90); !close(got, c.want[i]) {
				t.Errorf("%s: (%d,90) is %v, want %v", c.name, x, got, c.want[i])
			}
		}
	}
}
