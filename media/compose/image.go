package compose

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/bits"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

// Bounds of a layout image (watermark, background, placeholder): the contract's 5 MB and
// "no more than 2K", read as at most 2560 pixels on either side.
const (
	MaxImageBytes = 5 << 20
	MaxImageSide  = 2560
)

// Why DecodeImage refuses an image; its errors wrap one of these.
var (
	ErrImageFormat = errors.New("compose: not a valid PNG or JPEG image")
	ErrImageSize   = errors.New("compose: image size out of bounds")
)

// Image is a decoded layout image in the canvas's colours: studio-range 4:2:0 of even
// size, and its opacity per pixel (Alpha nil: opaque everywhere).
type Image struct {
	Picture *image.YCbCr
	Alpha   *image.Alpha
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// DecodeImage decodes a PNG or JPEG (told by its first bytes) of at most MaxImageBytes and
// MaxImageSide x MaxImageSide pixels. Odd sides lose their last column or row; a side of
// one pixel is doubled, so the picture is at least 2x2. A PNG keeps its transparency.
func DecodeImage(data []byte) (*Image, error) {
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than 5 MB (%d)", ErrImageSize, len(data), MaxImageBytes)
	}
	var decodeConfig func([]byte) (image.Config, error)
	var decode func([]byte) (image.Image, error)
	switch {
	case bytes.HasPrefix(data, pngSignature):
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	default:
		return nil, fmt.Errorf("%w: it starts with neither signature", ErrImageFormat)
	}
	// The header first: a picture too large is refused before its pixels are allocated.
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImageFormat, err)
	}
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImageFormat, err)
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	return studioImage(img), nil
}

func checkSize(w, h int) error {
	if w <= 0 || h <= 0 || w > MaxImageSide || h > MaxImageSide {
		return fmt.Errorf("%w: %dx%d, not within 1x1 to %dx%d", ErrImageSize, w, h, MaxImageSide, MaxImageSide)
	}
	return nil
}

// studioImage converts img to the canvas's colours with Studio, so a colour drawn as an
// image equals the same colour filled. A block's chroma is its pixels' mean weighted by
// their alpha (premultiplied), so invisible pixels do not tint visible ones.
func studioImage(img image.Image) *Image {
	b := img.Bounds()
	w, h := max(2, b.Dx()&^1), max(2, b.Dy()&^1)
	out := &Image{
		Picture: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		Alpha:   image.NewAlpha(image.Rect(0, 0, w, h)),
	}
	pixel := straightRGBA(img)
	var last [3]uint8 // black, converted:
	lastY, lastCb, lastCr := Studio(color.RGBA{A: 0xff})
	opaque := true
	pic, alpha := out.Picture, out.Alpha
	for by := 0; by < h; by += 2 {
		for bx := 0; bx < w; bx += 2 {
			var sumA, sumCb, sumCr, sumCbA, sumCrA int
			for i := range 4 {
				x, y := bx+i&1, by+i>>1
				r, g, bl, a := pixel(b.Min.X+min(x, b.Dx()-1), b.Min.Y+min(y, b.Dy()-1))
				if [3]uint8{r, g, bl} != last { // layout images are mostly flat: convert runs once
					last = [3]uint8{r, g, bl}
					lastY, lastCb, lastCr = Studio(color.RGBA{r, g, bl, 0xff})
				}
				pic.Y[pic.YOffset(x, y)] = lastY
				alpha.Pix[alpha.PixOffset(x, y)] = a
				opaque = opaque && a == 0xff
				sumA += int(a)
				sumCb += int(lastCb)
				sumCr += int(lastCr)
				sumCbA += int(a) * int(lastCb)
				sumCrA += int(a) * int(lastCr)
			}
			o := pic.COffset(bx, by)
			if sumA > 0 {
				pic.Cb[o], pic.Cr[o] = uint8(divRound(sumCbA, sumA)), uint8(divRound(sumCrA, sumA))
			} else {
				pic.Cb[o], pic.Cr[o] = uint8(divRound(sumCb, 4)), uint8(divRound(sumCr, 4))
			}
		}
	}
	if opaque {
		out.Alpha = nil
	}
	return out
}

// straightRGBA reads img's pixels as 8-bit RGB not premultiplied by their alpha, and the
// alpha; a fully transparent pixel is black.
func straightRGBA(img image.Image) func(x, y int) (r, g, b, a uint8) {
	switch m := img.(type) {
	case *image.NRGBA:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(x, y):]
			return p[0], p[1], p[2], p[3]
		}
	case *image.YCbCr: // baseline JPEG, any subsampling
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			r, g, b := color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
			return r, g, b, 0xff
		}
	case *image.Gray:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			v := m.Pix[m.PixOffset(x, y)]
			return v, v, v, 0xff
		}
	}
	return func(x, y int) (uint8, uint8, uint8, uint8) {
		r, g, b, a := img.At(x, y).RGBA() // premultiplied, 16 bits
		if a == 0 {
			return 0, 0, 0, 0
		}
		un := func(v uint32) uint8 { return uint8(min(0xffff, v*0xffff/a) >> 8) }
		return un(r), un(g), un(b), uint8(a >> 8)
	}
}

// DrawImage stretches img over dst on the canvas, blending by its alpha. Sampling is
// nearest (like Draw): layout images are mostly drawn at or near their size, and a flat
// colour stays exactly that colour. Luma blends per pixel; chroma per 2x2 block by the
// mean alpha of the block's pixels (those outside dst or the canvas count as
// transparent). What of dst lies outside the canvas is clipped.
func DrawImage(c *image.YCbCr, img *Image, dst mixlayout.Rect) {
	DrawImageFaded(c, img, dst, 0xff)
}

// DrawImageFaded is DrawImage with every pixel's opacity scaled by opacity/255 (a
// window's Alpha: 0xff draws as DrawImage does, 0 draws nothing).
func DrawImageFaded(c *image.YCbCr, img *Image, dst mixlayout.Rect, opacity uint8) {
	if img == nil || img.Picture == nil || opacity == 0 {
		return
	}
	op := int(opacity)
	opaque := img.Alpha == nil && op == 0xff
	pic, alpha := img.Picture, img.Alpha
	pb := pic.Rect
	if pb.Empty() || (alpha != nil && !pb.In(alpha.Rect)) {
		return
	}
	vis := visible(c, dst)
	if vis.Empty() {
		return
	}
	// xs and ys: the picture's column and row (from its origin) each visible pixel shows;
	// cxs and cys: the parts of its chroma offset.
	xs, cxs := make([]int, vis.Dx()), make([]int, vis.Dx())
	c0 := pic.COffset(pb.Min.X, pb.Min.Y)
	for i := range xs {
		xs[i] = scaleDown(vis.Min.X+i-dst.X, pb.Dx(), dst.W)
		cxs[i] = pic.COffset(pb.Min.X+xs[i], pb.Min.Y) - c0
	}
	ys, cys := make([]int, vis.Dy()), make([]int, vis.Dy())
	for i := range ys {
		ys[i] = scaleDown(vis.Min.Y+i-dst.Y, pb.Dy(), dst.H)
		cys[i] = pic.COffset(pb.Min.X, pb.Min.Y+ys[i])
	}
	alphaRow := func(i int) []uint8 { return alpha.Pix[alpha.PixOffset(pb.Min.X, pb.Min.Y+ys[i]):] }
	for i, sy := range ys {
		row := c.Y[c.YOffset(vis.Min.X, vis.Min.Y+i):][:len(xs)]
		srow := pic.Y[pic.YOffset(pb.Min.X, pb.Min.Y+sy):]
		switch {
		case opaque:
			for j, sx := range xs {
				row[j] = srow[sx]
			}
		case alpha == nil:
			for j, sx := range xs {
				row[j] = blend(row[j], srow[sx], uint8(op))
			}
		default:
			arow := alphaRow(i)
			for j, sx := range xs {
				row[j] = blend(row[j], srow[sx], fade(arow[sx], op))
			}
		}
	}
	// Chroma: per block row, the sums of alpha and alpha x chroma over each block's
	// visible pixels.
	blocks := make([]blockSum, (vis.Max.X-1)>>1-vis.Min.X>>1+1)
	for by := vis.Min.Y &^ 1; by < vis.Max.Y; by += 2 {
		clear(blocks)
		for y := max(by, vis.Min.Y); y < min(by+2, vis.Max.Y); y++ {
			i := y - vis.Min.Y
			var arow []uint8
			if alpha != nil {
				arow = alphaRow(i)
			}
			scb, scr := pic.Cb[cys[i]:], pic.Cr[cys[i]:]
			first := vis.Min.X >> 1
			for j, sx := range xs {
				a := op
				if arow != nil {
					a = int(fade(arow[sx], op))
				}
				cb, cr := int(scb[cxs[j]]), int(scr[cxs[j]])
				b := &blocks[(vis.Min.X+j)>>1-first]
				b.a, b.cb, b.cr = b.a+a, b.cb+a*cb, b.cr+a*cr
			}
		}
		blendBlocks(c, vis.Min.X&^1, by, blocks)
	}
}

// blockSum is what a 2x2 block of the canvas takes: the sum of its pixels' alpha (0 to
// 4x255), and of alpha x chroma.
type blockSum struct{ a, cb, cr int }

// blendBlocks blends the chroma of the canvas's blocks from (x, y) rightwards with sums:
// each by its mean alpha, towards the alpha-weighted mean of its chroma.
func blendBlocks(c *image.YCbCr, x, y int, sums []blockSum) {
	o := c.COffset(x, y)
	cb, cr := c.Cb[o:][:len(sums)], c.Cr[o:][:len(sums)]
	for k, s := range sums {
		if s.a == 0 {
			continue
		}
		cb[k] = uint8((s.cb + int(cb[k])*(4*0xff-s.a) + 2*0xff) / (4 * 0xff))
		cr[k] = uint8((s.cr + int(cr[k])*(4*0xff-s.a) + 2*0xff) / (4 * 0xff))
	}
}

// visible is r inside the canvas, to the pixel (not rounded to even), safe from overflow
// for any r.
func visible(c *image.YCbCr, r mixlayout.Rect) image.Rectangle {
	if r.W <= 0 || r.H <= 0 {
		return image.Rectangle{}
	}
	end := func(v, n int) int {
		if e := v + n; e >= v {
			return e
		}
		return int(^uint(0) >> 1) // v+n overflowed: the canvas ends first
	}
	v := image.Rectangle{
		Min: image.Pt(max(r.X, c.Rect.Min.X), max(r.Y, c.Rect.Min.Y)),
		Max: image.Pt(min(end(r.X, r.W), c.Rect.Max.X), min(end(r.Y, r.H), c.Rect.Max.Y)),
	}
	if v.Empty() {
		return image.Rectangle{}
	}
	return v
}

// scaleDown is off*n/d for 0 <= off < d and n >= 0, without overflow.
func scaleDown(off, n, d int) int {
	hi, lo := bits.Mul64(uint64(off), uint64(n))
	q, _ := bits.Div64(hi, lo, uint64(d))
	return int(q)
}

// fade is a scaled by op/255, rounded.
func fade(a uint8, op int) uint8 { return uint8((int(a)*op + 0x7f) / 0xff) }

// Part is the part r of img (from its origin), sharing its pixels; r is clipped to img.
func (img *Image) Part(r mixlayout.Rect) *Image {
	b := img.Picture.Rect
	rr := image.Rect(b.Min.X+r.X, b.Min.Y+r.Y, b.Min.X+r.X+r.W, b.Min.Y+r.Y+r.H).Intersect(b)
	out := &Image{Picture: img.Picture.SubImage(rr).(*image.YCbCr)}
	if img.Alpha != nil {
		out.Alpha = img.Alpha.SubImage(rr).(*image.Alpha)
	}
	return out
}

// blend is d moved towards s by a/255, rounded.
func blend(d, s, a uint8) uint8 {
	return uint8((int(s)*int(a) + int(d)*(0xff-int(a)) + 0x7f) / 0xff)
}

// divRound is n/d rounded half away from zero, for d > 0.
func divRound(n, d int) int {
	if n < 0 {
		return -((-n + d/2) / d)
	}
	return (n + d/2) / d
}
