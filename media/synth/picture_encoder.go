package synth

import (
	"errors"
	"fmt"
	"image"
	"time"
)

// PictureEncoder codes pictures it is handed (a mix's composited frames) as the synthetic
// participants' are coded: an IDR picture every GOP frames, and between them P pictures
// that intra-code the macroblocks that changed since the last picture and skip the rest.
// That suits flat, mostly still pictures (windows of synthetic participants, labelled
// tiles); it is no encoder for camera video. SetBitrate gives it a bitrate target.
type PictureEncoder struct {
	enc           *encoder
	fps, gop      int
	frame         int64
	sinceIDR      int
	wantIDR       bool
	cur, prev     *picture
	code          []bool
	width, height int

	rc     *rateControl // nil: every picture at videoQP
	bits   int64
	frames int64
}

// NewPictureEncoder returns an encoder of width x height pictures (even, 16x16 to
// 4096x2304) at fps, an IDR picture every gop frames (2 s when 0).
func NewPictureEncoder(width, height, fps, gop int) (*PictureEncoder, error) {
	switch {
	case width < 16 || width > 4096 || height < 16 || height > 2304 || width%2 != 0 || height%2 != 0:
		return nil, fmt.Errorf("synth: picture size %dx%d: even, 16x16 to 4096x2304", width, height)
	case fps < 1 || fps > 120:
		return nil, fmt.Errorf("synth: frame rate %d outside 1 to 120", fps)
	}
	if gop <= 0 {
		gop = 2 * fps
	}
	e := newEncoder(width, height, fps, videoQP)
	return &PictureEncoder{enc: e, fps: fps, gop: gop, width: width, height: height,
		cur: newPicture(e.mbW, e.mbH), prev: newPicture(e.mbW, e.mbH), code: make([]bool, e.mbW*e.mbH)}, nil
}

// SPS and PPS are the parameter sets the IDR pictures carry.
func (p *PictureEncoder) SPS() []byte { return append([]byte(nil), p.enc.sps...) }
func (p *PictureEncoder) PPS() []byte { return append([]byte(nil), p.enc.pps...) }

// RequestKeyframe makes the next picture an IDR one.
func (p *PictureEncoder) RequestKeyframe() { p.wantIDR = true }

// Encode codes img (4:2:0, the encoder's size, studio-range BT.601) as the next frame.
func (p *PictureEncoder) Encode(img *image.YCbCr) (AccessUnit, error) {
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || img.Rect.Dx() != p.width || img.Rect.Dy() != p.height {
		return AccessUnit{}, errors.New("synth: Encode takes 4:2:0 pictures of the encoder's size")
	}
	p.cur, p.prev = p.prev, p.cur
	p.load(img)
	n := p.frame
	p.frame++
	pts := time.Duration(n * int64(time.Second) / int64(p.fps))
	if n == 0 || p.wantIDR || p.sinceIDR >= p.gop {
		p.sinceIDR, p.wantIDR = 1, false
		return AccessUnit{PTS: pts, Key: true, NALUs: p.encodeIDR()}, nil
	}
	p.sinceIDR++
	changed := 0
	for my := range p.enc.mbH {
		for mx := range p.enc.mbW {
			c := !sameMB(p.cur, p.prev, mx, my) || !sameChroma(p.cur, p.prev, mx, my)
			p.code[my*p.enc.mbW+mx] = c
			if c {
				changed++
			}
		}
	}
	return AccessUnit{PTS: pts, NALUs: p.encodeP(changed)}, nil
}

// SetBitrate sets the bitrate, in bits per second, that the rate control holds the stream
// to from the next picture on (see rateControl): content that needs less stays below it.
// 0 turns rate control off: every picture at the fixed QP of the synthetic participants.
func (p *PictureEncoder) SetBitrate(bps int) {
	if bps <= 0 {
		p.rc = nil
		p.enc.qp = videoQP
		return
	}
	rc := newRateControl(bps, p.fps)
	if p.rc != nil { // a new target keeps what was learned of the content
		rc.qp, rc.complexity, rc.known = p.rc.qp, p.rc.complexity, p.rc.known
		rc.fullness = min(p.rc.fullness, rc.size)
	}
	p.rc = rc
}

// Stats returns the bits (of every NAL unit, parameter sets included) and the number of
// pictures coded so far: bits·fps/frames is the bitrate achieved.
func (p *PictureEncoder) Stats() (bits, frames int64) { return p.bits, p.frames }

// QP is the slice QP of the last picture.
func (p *PictureEncoder) QP() int { return p.enc.qp }

func (p *PictureEncoder) encodeIDR() [][]byte {
	id := p.enc.idrPicID
	return p.encodeRated(true, len(p.code),
		func() [][]byte { return p.enc.encodeIDR(p.cur) },
		func() { p.enc.idrPicID = id })
}

// encodeP codes a P picture. Coding it again needs only its frame_num back: a second pass
// rewrites each coded macroblock's reconstruction before any later one predicts from it,
// and the skipped ones were never touched.
func (p *PictureEncoder) encodeP(changed int) [][]byte {
	frameNum := p.enc.frameNum
	return p.encodeRated(false, changed,
		func() [][]byte { return [][]byte{p.enc.encodeP(p.cur, p.code)} },
		func() { p.enc.frameNum = frameNum })
}

// encodeRated codes a picture of n coded macroblocks with code at the QP the rate control
// picks, and when the rate control asks for it undoes that and codes it again.
func (p *PictureEncoder) encodeRated(idr bool, n int, code func() [][]byte, undo func()) [][]byte {
	if p.rc == nil {
		nalus := code()
		p.count(nalus)
		return nalus
	}
	p.enc.qp = p.rc.pick(idr, n)
	nalus := code()
	bits := nalBits(nalus)
	p.rc.learn(idr, n, p.enc.qp, bits)
	if qp, ok := p.rc.retry(idr, n, p.enc.qp, bits); ok {
		undo()
		p.enc.qp = qp
		p.rc.recoded++
		nalus = code()
		bits = nalBits(nalus)
		p.rc.learn(idr, n, qp, bits)
	}
	p.rc.done(n, p.enc.qp, bits)
	p.count(nalus)
	return nalus
}

func (p *PictureEncoder) count(nalus [][]byte) {
	p.bits += int64(nalBits(nalus))
	p.frames++
}

func nalBits(nalus [][]byte) int {
	n := 0
	for _, nalu := range nalus {
		n += 8 * len(nalu)
	}
	return n
}

// load copies img into the current picture; the padding past the picture repeats its
// last row and column.
func (p *PictureEncoder) load(img *image.YCbCr) {
	pic := p.cur
	sy, sc := pic.strideY(), pic.strideC()
	for y := range 16 * pic.mbH {
		srcY := img.Rect.Min.Y + min(y, p.height-1)
		row := img.Y[img.YOffset(img.Rect.Min.X, srcY):]
		dst := pic.y[y*sy : (y+1)*sy]
		n := copy(dst[:p.width], row[:p.width])
		for x := n; x < sy; x++ {
			dst[x] = row[p.width-1]
		}
	}
	cw, ch := p.width/2, p.height/2
	for y := range 8 * pic.mbH {
		srcY := img.Rect.Min.Y + 2*min(y, ch-1)
		o := img.COffset(img.Rect.Min.X, srcY)
		for plane, dstPlane := range [][]uint8{pic.cb, pic.cr} {
			src := [][]uint8{img.Cb, img.Cr}[plane][o:]
			dst := dstPlane[y*sc : (y+1)*sc]
			n := copy(dst[:cw], src[:cw])
			for x := n; x < sc; x++ {
				dst[x] = src[cw-1]
			}
		}
	}
}

func sameChroma(a, b *picture, mx, my int) bool {
	s := a.strideC()
	for y := range 8 {
		o := (8*my+y)*s + 8*mx
		if string(a.cb[o:o+8]) != string(b.cb[o:o+8]) || string(a.cr[o:o+8]) != string(b.cr[o:o+8]) {
			return false
		}
	}
	return true
}
