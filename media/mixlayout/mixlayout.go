// Package mixlayout owns the geometry of mixed streams (mixed recording, transcoded relay):
// which user's picture goes where on the canvas for each MixLayoutMode of the seed (grid,
// floating, screen sharing, custom), in which order windows are drawn, and how a picture
// of one size is placed in a window of another (RenderMode). It is a pure function of the
// room's present anchors and the task's layout parameters: no pixels, no codec.
//
// Numbers the seed leaves out are chosen here: every position and size is rounded down to
// an even pixel (4:2:0 chroma is subsampled by two); grid cells tile the canvas exactly
// (a cell's right edge is the next one's left); screen sharing fills the column beside the
// large window first, top to bottom.
package mixlayout

import "sort"

// Layout modes (MixLayoutParams.MixLayoutMode).
const (
	Floating      = 1
	ScreenSharing = 2
	Grid          = 3
	Custom        = 4
)

// Render modes of a window (MixLayout.RenderMode): how a picture of another aspect fills it.
const (
	Stretch = 0 // scaled to the window, distorted
	Crop    = 1 // scaled to cover the window, the overflow cut (the default)
	Fit     = 2 // scaled to fit inside the window, letterboxed in the background colour
)

// Limits of the seed: windows per layout.
const (
	MaxWindows              = 25
	MaxScreenSharingWindows = 24
)

// Member is a present anchor of the room, in entry order, as the task subscribes it.
type Member struct {
	UserId       string
	Video, Audio bool // the main stream's tracks it publishes
	Aux          bool // it publishes the substream (screen sharing)
}

// Slot is a window of a custom layout (MixLayoutList).
type Slot struct {
	Top, Left, Width, Height int
	UserId                   string // "": filled by the next anchor in entry order
	Alpha                    int
	RenderMode               int
	MediaId                  int // 0 main, 1 substream
	ImageLayer               int
	SubBackgroundImage       string
	Crop                     *Rect // the part of the user's picture shown; nil: all of it
}

// Params is what a layout is computed from.
type Params struct {
	Mode          int
	Width, Height int // the canvas
	Members       []Member
	// MainUser is MaxResolutionUserId (floating, screen sharing); MainMediaId its stream.
	MainUser    string
	MainMediaId int
	// AlignRight (MaxResolutionUserAlign 1) puts screen sharing's large window on the right.
	AlignRight bool
	// PureAudioDisableLayout: users who publish audio only get no window in template layouts.
	PureAudioDisableLayout bool
	RenderMode             int // of template layouts' windows
	Custom                 []Slot
}

// Window is one picture on the canvas.
type Window struct {
	UserId     string // "": an empty window (the background, or its placeholder, shows)
	MediaId    int
	X, Y, W, H int
	Z          int // drawn in increasing Z, then in list order
	RenderMode int
	Alpha      int
	// HasVideo says the user publishes the window's stream: otherwise the window shows its
	// placeholder (or the background).
	HasVideo    bool
	Placeholder string
	Crop        *Rect // the part of the user's picture shown (custom slots); nil: all
}

// Compute lays the members out on the canvas. Windows come in drawing order.
func Compute(p Params) []Window {
	if p.Width <= 0 || p.Height <= 0 {
		return nil
	}
	var out []Window
	switch p.Mode {
	case Floating:
		out = floating(p)
	case ScreenSharing:
		out = screenSharing(p)
	case Custom:
		out = custom(p)
	default:
		out = grid(p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Z < out[j].Z })
	return out
}

func even(v int) int { return v &^ 1 }

// pct is v percent (in tenths: 235 is 23.5%) of side, rounded down to even.
func pct(side, tenths int) int { return even(side * tenths / 1000) }

// frac is num/den of side, rounded down to even.
func frac(side, num, den int) int { return even(side * num / den) }

// shown is the members a template layout gives windows: audio-only ones unless
// PureAudioDisableLayout, at most max.
func shown(p Params, max int) []Member {
	var out []Member
	for _, m := range p.Members {
		if !m.Video && (p.PureAudioDisableLayout || !m.Audio) {
			continue
		}
		if len(out) == max {
			break
		}
		out = append(out, m)
	}
	return out
}

func (p Params) window(m Member, mediaId, x, y, w, h, z int) Window {
	has := m.Video
	if mediaId == 1 {
		has = m.Aux
	}
	return Window{UserId: m.UserId, MediaId: mediaId, X: x, Y: y, W: w, H: h, Z: z, RenderMode: p.RenderMode, HasVideo: has}
}

// gridSide is the grid's columns (= rows) for n videos; 2 videos are one row of two.
func gridSide(n int) int {
	switch {
	case n <= 1:
		return 1
	case n <= 4:
		return 2
	case n <= 9:
		return 3
	case n <= 16:
		return 4
	}
	return 5
}

func grid(p Params) []Window {
	ms := shown(p, MaxWindows)
	n := len(ms)
	if n == 0 {
		return nil
	}
	cols, rows := gridSide(n), gridSide(n)
	if n == 2 {
		rows = 1 // side by side, each the canvas's height
	}
	edge := func(i, n, side int) int {
		if i == n {
			return side
		}
		return even(side * i / n)
	}
	out := make([]Window, 0, n)
	for i, m := range ms {
		c, r := i%cols, i/cols
		x, y := edge(c, cols, p.Width), edge(r, rows, p.Height)
		out = append(out, p.window(m, 0, x, y, edge(c+1, cols, p.Width)-x, edge(r+1, rows, p.Height)-y, 0))
	}
	return out
}

// mainFirst is the members with the named main user first (or the first one when unnamed
// or absent), and whether one is named and present.
func mainFirst(ms []Member, main string) ([]Member, bool) {
	for i, m := range ms {
		if m.UserId == main && main != "" {
			out := append([]Member{m}, ms[:i]...)
			return append(out, ms[i+1:]...), true
		}
	}
	return ms, false
}

func floating(p Params) []Window {
	all := shown(p, len(p.Members))
	ordered, _ := mainFirst(all, p.MainUser)
	if len(ordered) > MaxWindows {
		ordered = ordered[:MaxWindows]
	}
	if len(ordered) == 0 {
		return nil
	}
	out := []Window{p.window(ordered[0], p.MainMediaId, 0, 0, p.Width, p.Height, 0)}
	small := ordered[1:]
	size, gap, perRow := 235, 12, 4 // tenths of a percent
	if len(ordered) > 17 {
		size, gap, perRow = 188, 10, 5
	}
	w, h := pct(p.Width, size), pct(p.Height, size)
	for i, m := range small {
		c, r := i%perRow, i/perRow // rows from the bottom
		x := pct(p.Width, gap+c*(size+gap))
		y := p.Height - pct(p.Height, gap+(r+1)*size+r*gap)
		out = append(out, p.window(m, 0, x, even(y), w, h, 1))
	}
	return out
}

// screenClass is screen sharing's size class for n windows (the large one counted): the
// small windows' width and height as fractions of the canvas, the large window's width.
func screenClass(n int) (sw, sh [2]int, lw [2]int) {
	switch {
	case n <= 5:
		return [2]int{1, 5}, [2]int{1, 4}, [2]int{4, 5}
	case n <= 7:
		return [2]int{1, 7}, [2]int{1, 6}, [2]int{6, 7}
	case n <= 9:
		return [2]int{1, 9}, [2]int{1, 8}, [2]int{8, 9}
	}
	return [2]int{1, 10}, [2]int{1, 8}, [2]int{4, 5}
}

func screenSharing(p Params) []Window {
	all := shown(p, len(p.Members))
	ordered, named := mainFirst(all, p.MainUser)
	var large *Member
	small := ordered
	if named {
		large, small = &ordered[0], ordered[1:]
	}
	if len(small) > MaxScreenSharingWindows-1 {
		small = small[:MaxScreenSharingWindows-1]
	}
	n := len(small) + 1 // the large window counts, the background's too
	sw, sh, lw := screenClass(n)
	W, H := p.Width, p.Height
	largeW, largeH := frac(W, lw[0], lw[1]), H
	if n > 17 {
		largeH = frac(H, 7, 8)
	}
	w, h := frac(W, sw[0], sw[1]), frac(H, sh[0], sh[1])
	mirror := func(x, width int) int {
		if p.AlignRight {
			return W - x - width
		}
		return x
	}
	var out []Window
	if large != nil {
		out = append(out, p.window(*large, p.MainMediaId, mirror(0, largeW), 0, largeW, largeH, 0))
	} else {
		out = append(out, Window{X: mirror(0, largeW), W: largeW, H: largeH, RenderMode: p.RenderMode})
	}
	for i, m := range small {
		var x, y int
		switch {
		case i < 16:
			col, row := i/8, i%8
			x, y = largeW+even(W*col*sw[0]/sw[1]), even(H*row*sh[0]/sh[1])
		default: // past the two columns: along the bottom, left to right
			x, y = even(W*(i-16)*sw[0]/sw[1]), largeH
		}
		out = append(out, p.window(m, 0, mirror(x, w), y, w, h, 1))
	}
	return out
}

func custom(p Params) []Window {
	fixed := map[string]bool{}
	for _, s := range p.Custom {
		if s.UserId != "" {
			fixed[s.UserId] = true
		}
	}
	present := map[string]Member{}
	var free []Member
	for _, m := range p.Members {
		present[m.UserId] = m
		if !fixed[m.UserId] && (m.Video || (m.Audio && !p.PureAudioDisableLayout)) {
			free = append(free, m)
		}
	}
	out := make([]Window, 0, len(p.Custom))
	for i, s := range p.Custom {
		if i == MaxWindows {
			break
		}
		x, y := min(max(s.Left, 0), p.Width), min(max(s.Top, 0), p.Height)
		w, h := min(max(s.Width, 0), p.Width-x), min(max(s.Height, 0), p.Height-y)
		win := Window{MediaId: s.MediaId, X: x, Y: y, W: w, H: h, Z: s.ImageLayer, RenderMode: s.RenderMode, Alpha: s.Alpha,
			Placeholder: s.SubBackgroundImage, Crop: s.Crop}
		var m Member
		var ok bool
		if s.UserId != "" {
			m, ok = present[s.UserId]
		} else if len(free) > 0 {
			m, ok, free = free[0], true, free[1:]
		}
		if ok {
			win.UserId = m.UserId
			win.HasVideo = m.Video
			if s.MediaId == 1 {
				win.HasVideo = m.Aux
			}
		}
		out = append(out, win)
	}
	return out
}

// Rect is a rectangle in pixels.
type Rect struct{ X, Y, W, H int }

// Place maps a picture of srcW x srcH into a window by mode: src is the part of the
// picture shown, dst where it goes (inside win; Fit leaves bars of background around it).
func Place(srcW, srcH int, win Rect, mode int) (src, dst Rect) {
	src, dst = Rect{0, 0, srcW, srcH}, win
	if srcW <= 0 || srcH <= 0 || win.W <= 0 || win.H <= 0 {
		return src, dst
	}
	switch mode {
	case Crop:
		// The picture's part with the window's aspect, centred.
		if srcW*win.H > win.W*srcH { // the picture is wider: cut its sides
			w := srcH * win.W / win.H
			src = Rect{(srcW - w) / 2, 0, w, srcH}
		} else {
			h := srcW * win.H / win.W
			src = Rect{0, (srcH - h) / 2, srcW, h}
		}
	case Fit:
		if srcW*win.H > win.W*srcH { // wider: bars above and below
			h := even(win.W * srcH / srcW)
			dst = Rect{win.X, win.Y + even((win.H-h)/2), win.W, h}
		} else {
			w := even(win.H * srcW / srcH)
			dst = Rect{win.X + even((win.W-w)/2), win.Y, w, win.H}
		}
	}
	return src, dst
}
