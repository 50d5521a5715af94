package aac

import "math"

// LongWindowLen is the length of the time block one long-window MDCT transforms.
const LongWindowLen = 2 * SamplesPerFrame

// SineWindow returns the long sine window (window_shape 0) the decoder applies after its IMDCT:
// w[n] = sin(π/2048·(n+½)). An encoder applies the same window before its MDCT.
func SineWindow() []float64 {
	w := make([]float64, LongWindowLen)
	for n := range w {
		w[n] = math.Sin(math.Pi / LongWindowLen * (float64(n) + 0.5))
	}
	return w
}

// MDCT writes coefficients first … first+len(dst)-1 of the long-window MDCT of block, 2048
// time samples already windowed:
//
//	X[k] = 2·Σ block[n]·cos(2π/2048·(n + n0)·(k + ½)),  n0 = 512.5
//
// the forward transform of ISO/IEC 14496-3 4.6.11.3.1, which the decoder's IMDCT (with its
// 2/N factor), windowing and overlap-add invert: with PCM samples in the 16-bit range (full
// scale 32768) the coefficients are in the scale LongBlockEncoder.Encode expects. Cost is 2048 steps per coefficient: callers
// that know their signal's band compute only those lines.
func MDCT(dst, block []float64, first int) {
	if len(block) != LongWindowLen {
		panic("aac: MDCT block must be 2048 samples")
	}
	const n0 = LongWindowLen/4 + 0.5
	for i := range dst {
		theta := 2 * math.Pi / LongWindowLen * (float64(first+i) + 0.5)
		// cos(θ(n+n0)) by rotation: exact enough over 2048 steps in float64.
		c, s := math.Cos(theta*n0), math.Sin(theta*n0)
		dc, ds := math.Cos(theta), math.Sin(theta)
		var sum float64
		for _, x := range block {
			sum += x * c
			c, s = c*dc-s*ds, s*dc+c*ds
		}
		dst[i] = 2 * sum
	}
}
