package compose

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// TestComposedFramesEncode: composited frames of a 2x2 grid, coded by synth's
// PictureEncoder, decode with ffmpeg at 640x360; each window's centre has its user's
// colour in the first and the last frame, after one user left (the layout then has two
// windows side by side).
func TestComposedFramesEncode(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	enc, err := synth.NewPictureEncoder(640, 360, 15, 15)
	if err != nil {
		t.Fatal(err)
	}
	pics := map[string]*image.YCbCr{}
	var ms []mixlayout.Member
	for i := range 3 {
		id := fmt.Sprint("u", i)
		ms = append(ms, mixlayout.Member{UserId: id, Video: true})
		pics[id] = solid(320, 240, colours[i])
	}
	source := func(w mixlayout.Window) (Source, bool) {
		p, ok := pics[w.UserId]
		return Source{Picture: p}, ok
	}
	canvas := NewCanvas(640, 360)
	bg := color.RGBA{0x10, 0x10, 0x10, 0xff}
	var stream []byte
	const frames = 30
	var first, last []mixlayout.Window
	for n := range frames {
		members := ms
		if n >= frames/2 {
			members = ms[1:] // u0 left: two windows
		}
		ws := mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: 640, Height: 360, Members: members, RenderMode: mixlayout.Crop})
		if n == 0 {
			first = ws
		}
		last = ws
		Compose(canvas, bg, nil, ws, source)
		au, err := enc.Encode(canvas)
		if err != nil {
			t.Fatal(err)
		}
		stream = h264.AppendAnnexB(stream, au.NALUs)
	}
	dir := t.TempDir()
	in, raw := filepath.Join(dir, "mix.h264"), filepath.Join(dir, "mix.rgb")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", in, "-f", "rawvideo", "-pix_fmt", "rgb24", raw).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg decode: %v\n%s", err, out)
	}
	pixels, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	const frameBytes = 640 * 360 * 3
	if len(pixels) != frames*frameBytes {
		t.Fatalf("decoded %d bytes, want %d frames of 640x360", len(pixels), frames)
	}
	rgb := func(frame, x, y int) color.RGBA {
		o := frame*frameBytes + (y*640+x)*3
		return color.RGBA{pixels[o], pixels[o+1], pixels[o+2], 0xff}
	}
	near := func(a, b color.RGBA) bool {
		d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
		return d(a.R, b.R) <= 12 && d(a.G, b.G) <= 12 && d(a.B, b.B) <= 12
	}
	for _, c := range []struct {
		frame int
		ws    []mixlayout.Window
		first int // the colour index of the first window
	}{{0, first, 0}, {frames - 1, last, 1}} {
		for i, w := range c.ws {
			if got, want := rgb(c.frame, w.X+w.W/2, w.Y+w.H/2), colours[c.first+i]; !near(got, want) {
				t.Fatalf("frame %d, window %d (%s): %v, want %v", c.frame, i, w.UserId, got, want)
			}
		}
	}
}

// BenchmarkComposeEncode: a 4-user 640x360 grid, composed and coded, per frame (frames
// whose pictures do not change cost only the comparison; the IDR pictures, one a second,
// cost the whole picture).
func BenchmarkComposeEncode(b *testing.B) {
	for _, c := range []struct{ w, h, users int }{{640, 360, 4}, {1280, 720, 9}} {
		b.Run(fmt.Sprintf("%dx%d/%d", c.w, c.h, c.users), func(b *testing.B) {
			enc, err := synth.NewPictureEncoder(c.w, c.h, 15, 15)
			if err != nil {
				b.Fatal(err)
			}
			var ms []mixlayout.Member
			pics := map[string]*image.YCbCr{}
			for i := range c.users {
				id := fmt.Sprint("u", i)
				ms = append(ms, mixlayout.Member{UserId: id, Video: true})
				pics[id] = solid(320, 180, colours[i%len(colours)])
			}
			ws := mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: c.w, Height: c.h, Members: ms})
			canvas := NewCanvas(c.w, c.h)
			frames := 0
			for b.Loop() {
				Compose(canvas, color.RGBA{A: 0xff}, nil, ws, func(w mixlayout.Window) (Source, bool) {
					return Source{Picture: pics[w.UserId]}, true
				})
				if _, err := enc.Encode(canvas); err != nil {
					b.Fatal(err)
				}
				frames++
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds()/15, "x-realtime-15fps")
		})
	}
}
