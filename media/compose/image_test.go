package compose

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

var (
	red  = color.RGBA{0xff, 0, 0, 0xff}
	blue = color.RGBA{0, 0, 0xff, 0xff}
)

func flat(w, h int, col color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, col)
		}
	}
	return m
}

func pngOf(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(t testing.TB, data []byte) *Image {
	t.Helper()
	img, err := DecodeImage(data)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ycc is the canvas's samples at (x, y).
func ycc(c *image.YCbCr, x, y int) [3]uint8 {
	return [3]uint8{c.Y[c.YOffset(x, y)], c.Cb[c.COffset(x, y)], c.Cr[c.COffset(x, y)]}
}

func studio(col color.RGBA) [3]uint8 {
	y, cb, cr := Studio(col)
	return [3]uint8{y, cb, cr}
}

func near(a, b [3]uint8, tol int) bool {
	for i := range a {
		if d := int(a[i]) - int(b[i]); d > tol || d < -tol {
			return false
		}
	}
	return true
}

// in says (x, y) is inside r, for any r (no overflow).
func in(r mixlayout.Rect, x, y int) bool {
	return r.W > 0 && r.H > 0 && x >= r.X && y >= r.Y && uint(x-r.X) < uint(r.W) && uint(y-r.Y) < uint(r.H)
}

// changedOutside counts the samples of c that differ from before outside r: luma pixels
// outside r, and chroma samples none of whose 2x2 block is inside r.
func changedOutside(before, c *image.YCbCr, r mixlayout.Rect) int {
	n := 0
	b := c.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !in(r, x, y) && before.Y[before.YOffset(x, y)] != c.Y[c.YOffset(x, y)] {
				n++
			}
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			if in(r, x, y) || in(r, x+1, y) || in(r, x, y+1) || in(r, x+1, y+1) {
				continue
			}
			o := c.COffset(x, y)
			if before.Cb[o] != c.Cb[o] || before.Cr[o] != c.Cr[o] {
				n++
			}
		}
	}
	return n
}

func clone(c *image.YCbCr) *image.YCbCr {
	d := NewCanvas(c.Rect.Dx(), c.Rect.Dy())
	copy(d.Y, c.Y)
	copy(d.Cb, c.Cb)
	copy(d.Cr, c.Cr)
	return d
}

// TestDrawImageRed: a red PNG drawn into a rect is exactly Studio(red) there (a colour
// drawn as an image equals the colour filled), and nothing outside changes.
func TestDrawImageRed(t *testing.T) {
	img := decode(t, pngOf(t, flat(64, 32, color.NRGBA{0xff, 0, 0, 0xff})))
	if img.Alpha != nil || img.Picture.Rect != image.Rect(0, 0, 64, 32) {
		t.Fatalf("an opaque 64x32 PNG decodes to %v, alpha %v", img.Picture.Rect, img.Alpha != nil)
	}
	c := solid(320, 180, blue)
	before := clone(c)
	r := mixlayout.Rect{X: 100, Y: 50, W: 96, H: 40} // stretched
	DrawImage(c, img, r)
	for y := r.Y; y < r.Y+r.H; y++ {
		for x := r.X; x < r.X+r.W; x++ {
			if got := ycc(c, x, y); got != studio(red) {
				t.Fatalf("(%d,%d) is %v, want %v", x, y, got, studio(red))
			}
		}
	}
	if n := changedOutside(before, c, r); n != 0 {
		t.Fatalf("%d samples changed outside the rect", n)
	}
}

// TestDrawImageStretch: a picture of two halves keeps them, scaled, and its odd column is
// dropped.
func TestDrawImageStretch(t *testing.T) {
	m := flat(5, 2, color.NRGBA{0, 0xff, 0, 0xff})
	for y := range 2 {
		for x := range 2 {
			m.SetNRGBA(x, y, color.NRGBA{0xff, 0, 0, 0xff})
		}
	}
	img := decode(t, pngOf(t, m))
	if img.Picture.Rect.Dx() != 4 {
		t.Fatalf("a 5-wide picture is %d wide, want 4", img.Picture.Rect.Dx())
	}
	c := solid(320, 180, blue)
	DrawImage(c, img, mixlayout.Rect{X: 20, Y: 20, W: 200, H: 100})
	green := color.RGBA{0, 0xff, 0, 0xff}
	for _, p := range []struct {
		x   int
		col color.RGBA
	}{{20, red}, {118, red}, {120, green}, {219, green}, {220, blue}} {
		if got := ycc(c, p.x, 60); got != studio(p.col) {
			t.Errorf("column %d is %v, want %v", p.x, got, studio(p.col))
		}
	}
}

// TestDecodeImageSmall: a 1x1 picture doubles to 2x2; 3x3 loses a row and a column.
func TestDecodeImageSmall(t *testing.T) {
	for _, c := range []struct{ w, h, ww, wh int }{{1, 1, 2, 2}, {3, 3, 2, 2}, {1, 6, 2, 6}, {2560, 1, 2560, 2}} {
		img := decode(t, pngOf(t, flat(c.w, c.h, color.NRGBA{0x20, 0x40, 0x60, 0xff})))
		if got := img.Picture.Rect; got != image.Rect(0, 0, c.ww, c.wh) {
			t.Errorf("%dx%d decodes to %v, want %dx%d", c.w, c.h, got, c.ww, c.wh)
		}
		if ycc(img.Picture, c.ww-1, c.wh-1) != studio(color.RGBA{0x20, 0x40, 0x60, 0xff}) {
			t.Errorf("%dx%d: the last pixel is %v", c.w, c.h, ycc(img.Picture, c.ww-1, c.wh-1))
		}
	}
}

// TestDrawImageHalfTransparent: 50% red over blue is their midpoint, from a straight-alpha
// PNG and a paletted one with a translucent entry (premultiplied by the decoder).
func TestDrawImageHalfTransparent(t *testing.T) {
	half := color.NRGBA{0xff, 0, 0, 0x80}
	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{half, color.NRGBA{0, 0xff, 0, 0xff}})
	for name, m := range map[string]image.Image{"nrgba": flat(8, 8, half), "paletted": pal} {
		img := decode(t, pngOf(t, m))
		if img.Alpha == nil || img.Alpha.Pix[0] != 0x80 {
			t.Fatalf("%s: alpha %v, want 0x80", name, img.Alpha)
		}
		c := solid(64, 64, blue)
		DrawImage(c, img, mixlayout.Rect{X: 8, Y: 8, W: 16, H: 16})
		r, b := studio(red), studio(blue)
		var mid [3]uint8
		for i := range mid {
			mid[i] = uint8((int(r[i]) + int(b[i]) + 1) / 2)
		}
		if got := ycc(c, 12, 12); !near(got, mid, 1) {
			t.Errorf("%s: 50%% red over blue is %v, want the midpoint %v", name, got, mid)
		}
		if got := at(c, 12, 12); !close(got, color.RGBA{0x80, 0, 0x7f, 0xff}) {
			t.Errorf("%s: in RGB %v, want about 80,00,7f", name, got)
		}
		if ycc(c, 4, 4) != b {
			t.Errorf("%s: outside is %v, want blue", name, ycc(c, 4, 4))
		}
	}
}

// TestDrawImageChromaMeanAlpha: a block of two opaque red pixels and two transparent ones
// keeps the canvas's luma where transparent and takes half of red's chroma; a transparent
// pixel's colour does not tint the block.
func TestDrawImageChromaMeanAlpha(t *testing.T) {
	m := flat(4, 4, color.NRGBA{0, 0xff, 0, 0}) // transparent green
	for y := range 4 {
		m.SetNRGBA(0, y, color.NRGBA{0xff, 0, 0, 0xff})
		m.SetNRGBA(2, y, color.NRGBA{0xff, 0, 0, 0xff})
	}
	img := decode(t, pngOf(t, m))
	if got, want := ycc(img.Picture, 0, 0), studio(red); got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("the image's block chroma is %v, want red's %v", got[1:], want[1:])
	}
	c := solid(16, 16, blue)
	DrawImage(c, img, mixlayout.Rect{X: 4, Y: 4, W: 4, H: 4})
	r, b := studio(red), studio(blue)
	if got := c.Y[c.YOffset(4, 4)]; got != r[0] {
		t.Errorf("opaque pixel luma %d, want %d", got, r[0])
	}
	if got := c.Y[c.YOffset(5, 4)]; got != b[0] {
		t.Errorf("transparent pixel luma %d, want %d", got, b[0])
	}
	o := c.COffset(4, 4)
	want := [2]uint8{uint8((int(r[1]) + int(b[1]) + 1) / 2), uint8((int(r[2]) + int(b[2]) + 1) / 2)}
	if got := [2]uint8{c.Cb[o], c.Cr[o]}; got != want {
		t.Errorf("block chroma %v, want the mean-alpha blend %v", got, want)
	}
}

// TestDecodeImageGray: a grey PNG is grey, as filled.
func TestDecodeImageGray(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range g.Pix {
		g.Pix[i] = 0x80
	}
	img := decode(t, pngOf(t, g))
	if got, want := ycc(img.Picture, 1, 1), studio(color.RGBA{0x80, 0x80, 0x80, 0xff}); got != want || img.Alpha != nil {
		t.Fatalf("grey decodes to %v (alpha %v), want %v", got, img.Alpha != nil, want)
	}
}

// TestDecodeJPEG: a JPEG of one colour decodes to about that colour, whatever its chroma
// subsampling (4:2:0 from Go's encoder; 4:4:4 and 4:2:2 from ffmpeg, and every ratio Go's
// decoder yields, converted directly).
func TestDecodeJPEG(t *testing.T) {
	col := color.RGBA{0x30, 0x90, 0xd0, 0xff}
	check := func(name string, img *Image) {
		t.Helper()
		if img.Alpha != nil {
			t.Errorf("%s: a JPEG has alpha", name)
		}
		b := img.Picture.Rect
		if got := ycc(img.Picture, b.Dx()/2, b.Dy()/2); !near(got, studio(col), 3) {
			t.Errorf("%s: decodes to %v, want about %v", name, got, studio(col))
		}
	}
	check("go", decode(t, jpegOf(t, flat(64, 48, color.NRGBA(col)))))
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		m := image.NewYCbCr(image.Rect(0, 0, 32, 32), ratio)
		y, cb, cr := color.RGBToYCbCr(col.R, col.G, col.B)
		for i := range m.Y {
			m.Y[i] = y
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = cb, cr
		}
		check(ratio.String(), studioImage(m))
	}
	ffmpeg := testpeer.FFmpeg(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "in.png")
	if err := os.WriteFile(src, pngOf(t, flat(64, 48, color.NRGBA(col))), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pf := range []string{"yuvj444p", "yuvj422p", "yuvj420p"} {
		out := filepath.Join(dir, pf+".jpg")
		if b, err := exec.Command(ffmpeg, "-loglevel", "error", "-y", "-i", src, "-pix_fmt", pf, "-q:v", "2", out).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v: %s", pf, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		check(pf, decode(t, data))
	}
}

// TestDrawImageClipping: a rect partly or wholly off every edge of the canvas draws what
// is inside, exactly there, and never panics.
func TestDrawImageClipping(t *testing.T) {
	img := decode(t, pngOf(t, flat(40, 30, color.NRGBA{0xff, 0, 0, 0xff})))
	const maxInt = int(^uint(0) >> 1)
	for _, r := range []mixlayout.Rect{
		{X: -20, Y: 50, W: 40, H: 30},      // left
		{X: 300, Y: 50, W: 40, H: 30},      // right
		{X: 100, Y: -15, W: 40, H: 30},     // top
		{X: 100, Y: 165, W: 40, H: 30},     // bottom
		{X: -21, Y: -13, W: 41, H: 31},     // top-left, odd
		{X: 301, Y: 171, W: 40, H: 30},     // bottom-right, odd
		{X: -100, Y: -100, W: 600, H: 400}, // over all of it
		{X: 400, Y: 0, W: 40, H: 30},       // wholly outside
		{X: -40, Y: 0, W: 40, H: 30},       // ends where the canvas starts
		{X: 10, Y: 10, W: 0, H: 30},        // empty
		{X: 10, Y: 10, W: -5, H: 30},       // negative
		{X: -maxInt - 1, Y: 0, W: maxInt, H: 30},
		{X: 5, Y: 5, W: maxInt, H: maxInt},
	} {
		c := solid(320, 180, blue)
		before := clone(c)
		DrawImage(c, img, r)
		if n := changedOutside(before, c, r); n != 0 {
			t.Errorf("%+v: %d samples changed outside", r, n)
		}
		inside := 0
		for y := range 180 {
			for x := range 320 {
				if !in(r, x, y) {
					continue
				}
				inside++
				if c.Y[c.YOffset(x, y)] != studio(red)[0] {
					t.Fatalf("%+v: (%d,%d) luma %d, want red's", r, x, y, c.Y[c.YOffset(x, y)])
				}
			}
		}
		t.Logf("%+v: %d pixels drawn", r, inside)
	}
}

// TestDrawImageMalformed: images DecodeImage would not make draw nothing rather than panic.
func TestDrawImageMalformed(t *testing.T) {
	c := solid(64, 64, blue)
	before := clone(c)
	r := mixlayout.Rect{W: 64, H: 64}
	DrawImage(c, nil, r)
	DrawImage(c, &Image{}, r)
	DrawImage(c, &Image{Picture: NewCanvas(0, 0)}, r)
	DrawImage(c, &Image{Picture: NewCanvas(8, 8), Alpha: image.NewAlpha(image.Rect(0, 0, 4, 4))}, r)
	if n := changedOutside(before, c, mixlayout.Rect{}); n != 0 {
		t.Fatalf("%d samples changed", n)
	}
	// A picture not at the origin draws from its own origin.
	p := solid(8, 8, red).SubImage(image.Rect(2, 2, 8, 8)).(*image.YCbCr)
	DrawImage(c, &Image{Picture: p, Alpha: image.NewAlpha(image.Rect(0, 0, 8, 8))}, r) // all transparent
	DrawImage(c, &Image{Picture: p}, mixlayout.Rect{W: 6, H: 6})
	if ycc(c, 0, 0) != studio(red) || ycc(c, 6, 6) != studio(blue) {
		t.Fatalf("a sub-image draws %v, %v", ycc(c, 0, 0), ycc(c, 6, 6))
	}
}

// TestDecodeImageRefused: too many bytes, too many pixels, what is not an image, and a
// truncated one are refused with the reason.
func TestDecodeImageRefused(t *testing.T) {
	good := pngOf(t, flat(16, 16, color.NRGBA{0xff, 0, 0, 0x80}))
	big := append(append([]byte{}, pngSignature...), make([]byte, MaxImageBytes)...)
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"more than 5 MB", big, ErrImageSize},
		{"wider than 2560", pngOf(t, image.NewGray(image.Rect(0, 0, 2561, 2))), ErrImageSize},
		{"higher than 2560", pngOf(t, image.NewGray(image.Rect(0, 0, 2, 2561))), ErrImageSize},
		{"a wide JPEG", jpegOf(t, image.NewGray(image.Rect(0, 0, 2561, 8))), ErrImageSize},
		{"empty", nil, ErrImageFormat},
		{"text", []byte("<html>not found</html>"), ErrImageFormat},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ErrImageFormat},
		{"PNG signature only", pngSignature, ErrImageFormat},
		{"truncated PNG", good[:len(good)-20], ErrImageFormat},
		{"PNG header only", good[:40], ErrImageFormat},
		{"truncated JPEG", jpegOf(t, flat(64, 64, color.NRGBA{1, 2, 3, 0xff}))[:200], ErrImageFormat},
	} {
		img, err := DecodeImage(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v (image %v), want %v", c.name, err, img != nil, c.want)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	if _, err := DecodeImage(pngOf(t, image.NewGray(image.Rect(0, 0, 2560, 2560)))); err != nil {
		t.Errorf("2560x2560 is refused: %v", err)
	}
}

// FuzzDecodeImage: whatever decodes has an even size within bounds, alpha to match, and
// draws into any rect without panicking or drawing outside it.
func FuzzDecodeImage(f *testing.F) {
	f.Add(pngOf(f, flat(6, 4, color.NRGBA{0xff, 0, 0, 0x80})), 3, -1, 9, 7)
	f.Add(pngOf(f, image.NewPaletted(image.Rect(0, 0, 3, 5), color.Palette{color.NRGBA{1, 2, 3, 4}})), -5, 30, 80, 3)
	f.Add(pngOf(f, image.NewGray16(image.Rect(0, 0, 1, 1))), 0, 0, 64, 36)
	f.Add(jpegOf(f, flat(17, 9, color.NRGBA{0x30, 0x90, 0xd0, 0xff})), 60, 30, 100, 100)
	f.Fuzz(func(t *testing.T, data []byte, x, y, w, h int) {
		img, err := DecodeImage(data)
		if err != nil {
			if img != nil {
				t.Fatal("an image and an error")
			}
			return
		}
		b := img.Picture.Rect
		if b.Min != (image.Point{}) || b.Dx()%2 != 0 || b.Dy()%2 != 0 || b.Dx() < 2 || b.Dy() < 2 ||
			b.Dx() > MaxImageSide || b.Dy() > MaxImageSide || img.Picture.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			t.Fatalf("decoded to %v %v", b, img.Picture.SubsampleRatio)
		}
		if img.Alpha != nil && img.Alpha.Rect != b {
			t.Fatalf("alpha %v, picture %v", img.Alpha.Rect, b)
		}
		c := solid(64, 36, blue)
		before := clone(c)
		r := mixlayout.Rect{X: x, Y: y, W: w, H: h}
		DrawImage(c, img, r)
		if n := changedOutside(before, c, r); n != 0 {
			t.Fatalf("%+v: %d samples changed outside", r, n)
		}
	})
}

// BenchmarkDrawImage: a 200x100 PNG with alpha drawn at its size on a 640x360 canvas.
func BenchmarkDrawImage(b *testing.B) {
	m := flat(200, 100, color.NRGBA{0xff, 0x80, 0, 0xc0})
	for x := range 200 {
		m.SetNRGBA(x, 50, color.NRGBA{0, 0, 0, 0})
	}
	img := decode(b, pngOf(b, m))
	c := solid(640, 360, blue)
	for b.Loop() {
		DrawImage(c, img, mixlayout.Rect{X: 420, Y: 20, W: 200, H: 100})
	}
}
