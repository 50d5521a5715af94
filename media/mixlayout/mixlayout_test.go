package mixlayout

import (
	"fmt"
	"math"
	"testing"
)

// The expected rectangles are computed here in floating point from the seed's numbers
// ("On-Cloud Recording", MixLayoutMode); the layout rounds to even pixels, so a side may
// differ by up to 2 px (and a grid cell by the rounding of both its edges).
const tolerance = 2

type frect struct{ x, y, w, h float64 }

func near(t *testing.T, what string, got Window, want frect) {
	t.Helper()
	for _, c := range []struct {
		name string
		g    int
		w    float64
	}{{"x", got.X, want.x}, {"y", got.Y, want.y}, {"w", got.W, want.w}, {"h", got.H, want.h}} {
		if math.Abs(float64(c.g)-c.w) > tolerance {
			t.Fatalf("%s: %s = %d, want %.1f (window %+v)", what, c.name, c.g, c.w, got)
		}
	}
	if got.X%2 != 0 || got.Y%2 != 0 || got.W%2 != 0 || got.H%2 != 0 {
		t.Fatalf("%s: %+v is not on even pixels", what, got)
	}
}

func members(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{UserId: fmt.Sprint("u", i), Video: true, Audio: true}
	}
	return ms
}

func inside(t *testing.T, p Params, ws []Window) {
	t.Helper()
	for _, w := range ws {
		if w.X < 0 || w.Y < 0 || w.W < 0 || w.H < 0 || w.X+w.W > p.Width || w.Y+w.H > p.Height {
			t.Fatalf("%+v leaves the %dx%d canvas", w, p.Width, p.Height)
		}
	}
}

// TestGrid: 1 fills; 2 halves of full height; 3-4 a 2x2, 5-9 3x3, 10-16 4x4, 17-25 5x5,
// in entry order row by row; at most 25.
func TestGrid(t *testing.T) {
	const W, H = 1280, 720
	for n := 1; n <= 27; n++ {
		p := Params{Mode: Grid, Width: W, Height: H, Members: members(n)}
		ws := Compute(p)
		inside(t, p, ws)
		shown := min(n, 25)
		if len(ws) != shown {
			t.Fatalf("%d users: %d windows, want %d", n, len(ws), shown)
		}
		var cols float64
		switch {
		case n == 1:
			cols = 1
		case n <= 4:
			cols = 2
		case n <= 9:
			cols = 3
		case n <= 16:
			cols = 4
		default:
			cols = 5
		}
		rows := cols
		if n == 2 {
			rows = 1
		}
		for i, w := range ws {
			c, r := float64(i%int(cols)), float64(i/int(cols))
			if w.UserId != fmt.Sprint("u", i) {
				t.Fatalf("%d users: window %d holds %s", n, i, w.UserId)
			}
			near(t, fmt.Sprintf("grid %d/%d", n, i), w, frect{c * W / cols, r * H / rows, W / cols, H / rows})
		}
	}
}

// TestFloating: the first (or named) anchor fills the canvas; the others float from the
// bottom left, four a row at 23.5% with 1.2% gaps and margins up to 17 videos, five a row
// at 18.8% with 1% above; audio-only users have windows; at most 25.
func TestFloating(t *testing.T) {
	const W, H = 640, 360
	for n := 1; n <= 26; n++ {
		ms := members(n)
		if n > 2 {
			ms[2].Video = false // audio only: still a window
		}
		p := Params{Mode: Floating, Width: W, Height: H, Members: ms, MainUser: "u1"}
		if n < 2 {
			p.MainUser = ""
		}
		ws := Compute(p)
		inside(t, p, ws)
		if len(ws) != min(n, 25) {
			t.Fatalf("%d users: %d windows", n, len(ws))
		}
		big := ws[0]
		if want := map[bool]string{true: "u0", false: "u1"}[n < 2]; big.UserId != want || big.Z != 0 {
			t.Fatalf("%d users: the big window is %+v, want %s", n, big, want)
		}
		near(t, "floating big", big, frect{0, 0, W, H})
		size, gap, perRow := 0.235, 0.012, 4
		if min(n, 25) > 17 {
			size, gap, perRow = 0.188, 0.01, 5
		}
		order := []string{"u0"}
		for i := 2; i < n; i++ {
			order = append(order, fmt.Sprint("u", i))
		}
		for i, w := range ws[1:] {
			if w.UserId != order[i] || w.Z != 1 {
				t.Fatalf("%d users: small window %d is %+v, want %s over the big one", n, i, w, order[i])
			}
			if n > 2 && w.UserId == "u2" && w.HasVideo {
				t.Fatal("the audio-only user's window says it has video")
			}
			c, r := float64(i%perRow), float64(i/perRow)
			x := W * (gap + c*(size+gap))
			y := H - H*(gap+(r+1)*size+r*gap)
			near(t, fmt.Sprintf("floating %d/%d", n, i), w, frect{x, y, W * size, H * size})
		}
	}
}

// TestScreenSharing: each size class of the seed, the named anchor large on the left (on
// the right with AlignRight), the others down the right in up to two columns of eight,
// past that along the bottom; no named anchor: the large window is empty (background).
func TestScreenSharing(t *testing.T) {
	const W, H = 1920, 1080
	classes := []struct {
		upTo               int
		sw, sh, lw, lh     float64
		columns, perColumn int
	}{
		{5, 1.0 / 5, 1.0 / 4, 4.0 / 5, 1, 1, 8},
		{7, 1.0 / 7, 1.0 / 6, 6.0 / 7, 1, 1, 8},
		{9, 1.0 / 9, 1.0 / 8, 8.0 / 9, 1, 1, 8},
		{17, 1.0 / 10, 1.0 / 8, 4.0 / 5, 1, 2, 8},
		{24, 1.0 / 10, 1.0 / 8, 4.0 / 5, 7.0 / 8, 2, 8},
	}
	for n := 1; n <= 25; n++ {
		for _, right := range []bool{false, true} {
			p := Params{Mode: ScreenSharing, Width: W, Height: H, Members: members(n), MainUser: "u0", MainMediaId: 1, AlignRight: right}
			ws := Compute(p)
			inside(t, p, ws)
			windows := min(n, 24)
			if len(ws) != windows {
				t.Fatalf("%d users: %d windows, want %d", n, len(ws), windows)
			}
			var c = classes[len(classes)-1]
			for _, k := range classes {
				if windows <= k.upTo {
					c = k
					break
				}
			}
			mirror := func(x, w float64) float64 {
				if right {
					return W - x - w
				}
				return x
			}
			if ws[0].UserId != "u0" || ws[0].MediaId != 1 {
				t.Fatalf("the large window %+v, want u0's substream", ws[0])
			}
			near(t, fmt.Sprintf("screen %d large", n), ws[0], frect{mirror(0, W*c.lw), 0, W * c.lw, H * c.lh})
			for i, w := range ws[1:] {
				var x, y float64
				if i < c.columns*c.perColumn {
					x, y = W*c.lw+float64(i/c.perColumn)*W*c.sw, float64(i%c.perColumn)*H*c.sh
				} else {
					x, y = float64(i-16)*W*c.sw, H*c.lh
				}
				near(t, fmt.Sprintf("screen %d/%d", n, i), w, frect{mirror(x, W*c.sw), y, W * c.sw, H * c.sh})
			}
		}
	}
	// Nobody named: the large window shows the background, everyone is small.
	ws := Compute(Params{Mode: ScreenSharing, Width: W, Height: H, Members: members(3)})
	if len(ws) != 4 || ws[0].UserId != "" || ws[1].UserId != "u0" {
		t.Fatalf("unnamed: %+v", ws)
	}
}

// TestCustom: fixed slots hold their users (empty when absent); free slots take the other
// anchors in entry order; ImageLayer orders the drawing.
func TestCustom(t *testing.T) {
	p := Params{Mode: Custom, Width: 640, Height: 360, Members: members(3), Custom: []Slot{
		{Top: 0, Left: 0, Width: 320, Height: 180, ImageLayer: 2},
		{Top: 0, Left: 320, Width: 320, Height: 180, UserId: "u1", ImageLayer: 1},
		{Top: 180, Left: 0, Width: 320, Height: 180, UserId: "gone"},
		{Top: 180, Left: 320, Width: 320, Height: 180},
		{Top: 100, Left: 100, Width: 100, Height: 100},
	}}
	ws := Compute(p)
	got := ""
	for _, w := range ws {
		got += fmt.Sprintf("%s@%d,%d ", w.UserId, w.X, w.Y)
	}
	// ImageLayer 0 first (slots 2, 3, 4 in list order), then 1, then 2; u1 is fixed, so
	// the free slots take u0 and u2, and the last free slot stays empty.
	if want := "@0,180 u2@320,180 @100,100 u1@320,0 u0@0,0 "; got != want {
		t.Fatalf("custom: %q, want %q", got, want)
	}
}

func TestPlace(t *testing.T) {
	win := Rect{100, 50, 320, 180}
	// A 4:3 picture in a 16:9 window.
	if src, dst := Place(640, 480, win, Crop); src != (Rect{0, 60, 640, 360}) || dst != win {
		t.Fatalf("crop: %+v %+v", src, dst)
	}
	if src, dst := Place(640, 480, win, Fit); src != (Rect{0, 0, 640, 480}) || dst != (Rect{140, 50, 240, 180}) {
		t.Fatalf("fit: %+v %+v", src, dst)
	}
	if src, dst := Place(640, 480, win, Stretch); src != (Rect{0, 0, 640, 480}) || dst != win {
		t.Fatalf("stretch: %+v %+v", src, dst)
	}
	// A 16:9 picture in a 4:3 window.
	if _, dst := Place(1280, 720, Rect{0, 0, 400, 300}, Fit); dst != (Rect{0, 38, 400, 224}) {
		t.Fatalf("fit wide: %+v", dst)
	}
}

// FuzzLayout: any parameters give windows inside the canvas, at most 25, never a panic.
func FuzzLayout(f *testing.F) {
	f.Add(3, 640, 360, 5, "u1", false, 0, 0, 10, 10)
	f.Add(2, 1920, 1080, 24, "u0", true, 0, 0, 0, 0)
	f.Add(4, 100, 100, 3, "", false, -5, 90, 50, 50)
	f.Fuzz(func(t *testing.T, mode, w, h, n int, main string, right bool, top, left, sw, sh int) {
		w, h, n = w%4097, h%4097, n%40
		if n < 0 {
			n = -n
		}
		p := Params{Mode: mode, Width: w, Height: h, Members: members(n), MainUser: main, AlignRight: right,
			Custom: []Slot{{Top: top, Left: left, Width: sw, Height: sh}, {UserId: main, Width: sw, Height: sh}}}
		ws := Compute(p)
		if len(ws) > MaxWindows {
			t.Fatalf("%d windows", len(ws))
		}
		if w > 0 && h > 0 {
			inside(t, p, ws)
		}
	})
}
