package synth

import (
	"crypto/sha256"
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// busyTexture is a wrapping luma and chroma texture like camera content: smooth shapes over
// three scales of detail and a little grain, so every macroblock costs bits at any QP.
type busyTexture struct {
	size   int // luma side; chroma is half
	y      []uint8
	cb, cr []uint8
}

func newBusyTexture(seed uint64) *busyTexture {
	const size = 512
	rng := rand.New(rand.NewPCG(seed, 1))
	tx := &busyTexture{size: size}
	octaves := func(n int, cells []int, amps []float64, grain int, base float64, lo, hi float64) []uint8 {
		out := make([]uint8, n*n)
		acc := make([]float64, n*n)
		for o, cell := range cells {
			g := n / cell
			grid := make([]float64, g*g)
			for i := range grid {
				grid[i] = rng.Float64()*2 - 1
			}
			for y := range n {
				for x := range n {
					fx, fy := float64(x)/float64(cell), float64(y)/float64(cell)
					x0, y0 := int(fx), int(fy)
					ax, ay := fx-float64(x0), fy-float64(y0)
					at := func(i, j int) float64 { return grid[(j%g)*g+i%g] }
					v := (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
					acc[y*n+x] += amps[o] * v
				}
			}
		}
		for i, v := range acc {
			if grain > 0 {
				v += float64(rng.IntN(2*grain+1) - grain)
			}
			out[i] = uint8(max(lo, min(hi, base+v)))
		}
		return out
	}
	tx.y = octaves(size, []int{64, 16, 4}, []float64{60, 25, 10}, 6, 128, 16, 235)
	tx.cb = octaves(size/2, []int{32, 8}, []float64{30, 8}, 0, 128, 16, 240)
	tx.cr = octaves(size/2, []int{32, 8}, []float64{30, 8}, 0, 128, 16, 240)
	return tx
}

// picture fills img with the texture panned to frame: 3 samples right and 1 down per frame
// (chroma moves every other frame), so every macroblock changes every frame.
func (tx *busyTexture) picture(img *image.YCbCr, frame int) {
	n, c := tx.size, tx.size/2
	ox, oy := 3*frame, frame
	for y := range img.Rect.Dy() {
		row := img.Y[y*img.YStride:]
		src := tx.y[((y+oy)%n)*n:]
		for x := range img.Rect.Dx() {
			row[x] = src[(x+ox)%n]
		}
	}
	for y := range img.Rect.Dy() / 2 {
		o := y * img.CStride
		sy := ((y + oy/2) % c) * c
		for x := range img.Rect.Dx() / 2 {
			img.Cb[o+x] = tx.cb[sy+(x+ox/2)%c]
			img.Cr[o+x] = tx.cr[sy+(x+ox/2)%c]
		}
	}
}

// encodeSequence codes frames pictures from fill with a fresh encoder at bps (0: no
// target) and returns the encoder, the access units and a hash of the encoder's picture
// after each, and the slice QPs.
func encodeSequence(t testing.TB, w, h, fps, gop, bps, frames int, fill func(img *image.YCbCr, frame int)) (*PictureEncoder, []AccessUnit, [][32]byte, []int) {
	t.Helper()
	enc, err := NewPictureEncoder(w, h, fps, gop)
	if err != nil {
		t.Fatal(err)
	}
	enc.SetBitrate(bps)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var aus []AccessUnit
	var recon [][32]byte
	var qps []int
	for n := range frames {
		fill(img, n)
		au, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, au)
		recon = append(recon, sha256.Sum256(enc.enc.recon.cropped(w, h)))
		qps = append(qps, enc.QP())
	}
	return enc, aus, recon, qps
}

// syntheticFill returns a fill that copies a synthetic participant's picture: one colour,
// the user id and a running clock, like the windows of a mix.
func syntheticFill(t testing.TB, w, h, fps int) func(img *image.YCbCr, frame int) {
	v, err := NewVideo(VideoConfig{UserId: "user_1234", Width: w, Height: h, Fps: fps, Start: videoStart})
	if err != nil {
		t.Fatal(err)
	}
	return func(img *image.YCbCr, frame int) {
		v.Next()
		p := v.Picture()
		for y := range h {
			copy(img.Y[y*img.YStride:][:w], p.Y[y*p.YStride:])
		}
		for y := range h / 2 {
			copy(img.Cb[y*img.CStride:][:w/2], p.Cb[y*p.CStride:])
			copy(img.Cr[y*img.CStride:][:w/2], p.Cr[y*p.CStride:])
		}
	}
}

// checkDecodes has ffmpeg decode aus (any message at -v error fails) and ffprobe count them
// at w x h; every decoded picture must be the encoder's own.
func checkDecodes(t *testing.T, aus []AccessUnit, recon [][32]byte, w, h int) {
	t.Helper()
	stream := videoAnnexB(aus)
	st, _ := videoProbe(t, videoWriteTemp(t, "rated.h264", stream))
	if st.Width != w || st.Height != h || st.NbReadFrames != fmt.Sprint(len(aus)) {
		t.Fatalf("ffprobe: %dx%d, %s frames; want %dx%d, %d", st.Width, st.Height, st.NbReadFrames, w, h, len(aus))
	}
	decoded := videoDecodeYUV(t, stream, w, h)
	if len(decoded) != len(aus) {
		t.Fatalf("ffmpeg decoded %d frames of %d", len(decoded), len(aus))
	}
	for i, d := range decoded {
		if sha256.Sum256(d) != recon[i] {
			t.Fatalf("frame %d: ffmpeg's picture is not the encoder's", i)
		}
	}
}

// checkSliceHeaders reads the slice headers of aus: frame_num counts up from each IDR
// picture with no gap (the SPS allows none, though ffmpeg decodes through one), consecutive
// IDR pictures differ in idr_pic_id, and the slice QPs are qps.
func checkSliceHeaders(t *testing.T, aus []AccessUnit, qps []int) {
	t.Helper()
	var frameNum, idrPicID uint32
	for i, au := range aus {
		slice := au.NALUs[len(au.NALUs)-1]
		r := h264.NewBitReader(h264.UnescapeRBSP(slice[1:]))
		r.UE() // first_mb_in_slice
		r.UE() // slice_type
		r.UE() // pic_parameter_set_id
		fn := r.U(log2MaxFrameNum)
		if au.Key {
			id := r.UE()
			if i > 0 && id == idrPicID {
				t.Fatalf("frame %d: idr_pic_id %d again", i, id)
			}
			idrPicID = id
			r.U(2) // no_output_of_prior_pics_flag, long_term_reference_flag
			if fn != 0 {
				t.Fatalf("frame %d: IDR picture with frame_num %d", i, fn)
			}
		} else {
			r.U(3) // num_ref_idx_active_override_flag, ref_pic_list_modification_flag_l0, adaptive_ref_pic_marking_mode_flag
			if want := (frameNum + 1) % (1 << log2MaxFrameNum); fn != want {
				t.Fatalf("frame %d: frame_num %d, want %d", i, fn, want)
			}
		}
		frameNum = fn
		if qp := 26 + int(r.SE()); r.Err() != nil || qp != qps[i] {
			t.Fatalf("frame %d: slice QP %d, want %d (%v)", i, qp, qps[i], r.Err())
		}
	}
}

// bitrate is the bitrate of aus at fps.
func bitrate(aus []AccessUnit, fps int) float64 {
	bits := 0
	for _, au := range aus {
		bits += nalBits(au.NALUs)
	}
	return float64(bits) * float64(fps) / float64(len(aus))
}

// TestPictureEncoderBitrate: 10 s of busy, moving 640x360@15 pictures, which take 2.7 Mbit/s
// at the fixed QP, keep to each target within 25% overall and in every 2 s after the first
// two; the QP stays in range and moves by bounded steps; ffmpeg decodes every picture to
// the encoder's own.
func TestPictureEncoderBitrate(t *testing.T) {
	const w, h, fps, frames = 640, 360, 15, 150
	tx := newBusyTexture(1)
	for _, bps := range []int{300000, 550000, 2000000} {
		t.Run(fmt.Sprint(bps), func(t *testing.T) {
			t.Parallel()
			enc, err := NewPictureEncoder(w, h, fps, 0)
			if err != nil {
				t.Fatal(err)
			}
			enc.SetBitrate(bps)
			img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			var aus []AccessUnit
			var recon [][32]byte
			var qps []int
			lastQP, recoded := 0, 0
			for n := range frames {
				tx.picture(img, n)
				au, err := enc.Encode(img)
				if err != nil {
					t.Fatal(err)
				}
				aus = append(aus, au)
				recon = append(recon, sha256.Sum256(enc.enc.recon.cropped(w, h)))
				qp := enc.QP()
				qps = append(qps, qp)
				if qp < rcMinQP || qp > rcMaxQP {
					t.Fatalf("frame %d: QP %d", n, qp)
				}
				if n > 0 && !au.Key && enc.rc.recoded == recoded && (qp < lastQP-rcStepDown || qp > lastQP+rcStepUp) {
					t.Errorf("frame %d: QP %d after %d", n, qp, lastQP)
				}
				lastQP, recoded = qp, enc.rc.recoded
			}
			bits, n := enc.Stats()
			got := bitrate(aus, fps)
			if n != frames || float64(bits)*fps/frames != got {
				t.Errorf("Stats() = %d bits, %d frames; the stream has %.0f bit/s", bits, n, got)
			}
			if r := got / float64(bps); r < 0.75 || r > 1.25 {
				t.Errorf("%.0f bit/s achieved, %.2f of the target", got, r)
			}
			var windows []string
			for start := 2 * fps; start < frames; start += 2 * fps {
				r := bitrate(aus[start:start+2*fps], fps) / float64(bps)
				windows = append(windows, fmt.Sprintf("%.2f", r))
				if r < 0.75 || r > 1.25 {
					t.Errorf("seconds %d to %d: %.2f of the target", start/fps, start/fps+2, r)
				}
			}
			t.Logf("%d bit/s: %.0f achieved (%.3f), 2 s windows %v, final QP %d, %d pictures coded twice",
				bps, got, got/float64(bps), windows, enc.QP(), enc.rc.recoded)
			checkSliceHeaders(t, aus, qps)
			checkDecodes(t, aus, recon, w, h)
		})
	}
}

// TestPictureEncoderBitrateCheapContent: content that needs less than the target is not
// brought up to it: a mix of synthetic participants (a colour, the user id, a clock) and a
// still camera-like picture stay well below 550 kbit/s, and decode.
func TestPictureEncoderBitrateCheapContent(t *testing.T) {
	const w, h, fps, frames, bps = 640, 360, 15, 150, 550000
	tx := newBusyTexture(2)
	for name, fill := range map[string]func(*image.YCbCr, int){
		"synthetic": syntheticFill(t, w, h, fps),
		"still":     func(img *image.YCbCr, _ int) { tx.picture(img, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			_, aus, recon, qps := encodeSequence(t, w, h, fps, 0, bps, frames, fill)
			_, free, _, _ := encodeSequence(t, w, h, fps, 0, 0, frames, fill)
			got := bitrate(aus, fps)
			t.Logf("%s: %.0f bit/s at a target of %d, %.0f without one", name, got, bps, bitrate(free, fps))
			if got > bps/2 {
				t.Errorf("%.0f bit/s: cheap content brought up towards the target", got)
			}
			checkSliceHeaders(t, aus, qps)
			checkDecodes(t, aus, recon, w, h)
		})
	}
}

// TestPictureEncoderBitrateSceneChanges: synthetic pictures at 300 kbit/s cut to busy ones
// at an IDR picture (frame 30) and again in the middle of a GOP (frame 75). The first busy
// picture of each, coded at the synthetic pictures' fine QP, overflows the bucket and is
// coded again coarser; the stream stays near the target, its slice headers count on and
// ffmpeg decodes the recoded pictures to the encoder's own.
func TestPictureEncoderBitrateSceneChanges(t *testing.T) {
	const w, h, fps, frames, bps = 640, 360, 15, 150, 300000
	tx := newBusyTexture(3)
	synthetic := syntheticFill(t, w, h, fps)
	enc, err := NewPictureEncoder(w, h, fps, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc.SetBitrate(bps)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var aus []AccessUnit
	var recon [][32]byte
	var qps, recoded []int
	for n := range frames {
		if n >= 30 && n < 60 || n >= 75 && n < 110 {
			tx.picture(img, n)
		} else {
			synthetic(img, n)
		}
		before := enc.rc.recoded
		au, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		if enc.rc.recoded > before {
			recoded = append(recoded, n)
		}
		aus = append(aus, au)
		recon = append(recon, sha256.Sum256(enc.enc.recon.cropped(w, h)))
		qps = append(qps, enc.QP())
	}
	got := bitrate(aus, fps)
	t.Logf("%.0f bit/s achieved, pictures %v coded twice", got, recoded)
	if !slices.Contains(recoded, 30) || !slices.Contains(recoded, 75) {
		t.Errorf("pictures %v coded twice, want 30 (IDR) and 75 (P) among them", recoded)
	}
	if got > 1.1*bps {
		t.Errorf("%.0f bit/s achieved, target %d", got, bps)
	}
	checkSliceHeaders(t, aus, qps)
	checkDecodes(t, aus, recon, w, h)
}

// TestPictureEncoderBitrateOff: without a target, or after SetBitrate(0), the stream is the
// one the encoder wrote before it had rate control, bit for bit.
func TestPictureEncoderBitrateOff(t *testing.T) {
	tx := newBusyTexture(1)
	for _, tc := range []struct {
		name              string
		w, h, gop, frames int
		fill              func(*image.YCbCr, int)
		want              string
	}{
		{"busy", 640, 360, 15, 40, tx.picture, "c5a349c53f215e83217cc676922047a9eac9589ca4da0a0edbdace1afed22e5f"},
		{"synthetic", 322, 178, 10, 25, syntheticFill(t, 322, 178, 15), "f1e0c7bc8785b40b520127d3b0cbd01dc97de65fdbf07a8588649661f003780a"},
	} {
		enc, err := NewPictureEncoder(tc.w, tc.h, 15, tc.gop)
		if err != nil {
			t.Fatal(err)
		}
		enc.SetBitrate(550000)
		enc.SetBitrate(0)
		img := image.NewYCbCr(image.Rect(0, 0, tc.w, tc.h), image.YCbCrSubsampleRatio420)
		var stream []byte
		for n := range tc.frames {
			tc.fill(img, n)
			au, err := enc.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			stream = h264.AppendAnnexB(stream, au.NALUs)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(stream)); got != tc.want {
			t.Errorf("%s: stream hashes to %s, want %s", tc.name, got, tc.want)
		}
		if bits, frames := enc.Stats(); frames != int64(tc.frames) || bits == 0 {
			t.Errorf("%s: Stats() = %d bits, %d frames", tc.name, bits, frames)
		}
	}
}

// TestQPDelta: mb_qp_delta stays in its range and the decoder's modulo arithmetic lands on
// the QP, for every pair (the jump from a slice QP of 51 to flatQP is -35 unwrapped).
func TestQPDelta(t *testing.T) {
	for pred := range 52 {
		for qp := range 52 {
			d := int(qpDelta(qp, pred))
			if d < -26 || d > 25 || (pred+d+52)%52 != qp {
				t.Fatalf("qpDelta(%d, %d) = %d", qp, pred, d)
			}
		}
	}
}

// BenchmarkPictureEncoder codes 640x360@15 pictures, busy and moving or synthetic, without
// a target and with two: the cost of a picture and the bitrate that comes out.
func BenchmarkPictureEncoder(b *testing.B) {
	const w, h, fps = 640, 360, 15
	tx := newBusyTexture(1)
	for _, content := range []string{"busy", "synthetic"} {
		for _, bps := range []int{0, 550000, 2000000} {
			b.Run(fmt.Sprintf("%s/%d", content, bps), func(b *testing.B) {
				fill := tx.picture
				if content == "synthetic" {
					fill = syntheticFill(b, w, h, fps)
				}
				// The pictures are made before the clock starts: 4 s of them, in a loop.
				pics := make([]*image.YCbCr, 4*fps)
				for i := range pics {
					pics[i] = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
					fill(pics[i], i)
				}
				enc, err := NewPictureEncoder(w, h, fps, 0)
				if err != nil {
					b.Fatal(err)
				}
				enc.SetBitrate(bps)
				n := 0
				for b.Loop() {
					if _, err := enc.Encode(pics[n%len(pics)]); err != nil {
						b.Fatal(err)
					}
					n++
				}
				bits, frames := enc.Stats()
				b.ReportMetric(float64(bits)*fps/float64(frames)/1000, "kbit/s")
				b.ReportMetric(float64(enc.QP()), "QP")
			})
		}
	}
}
