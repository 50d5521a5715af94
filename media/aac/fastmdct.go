package aac

import (
	"math"
	"math/bits"
)

// FastMDCT computes the same long-window MDCT as MDCT, all 1024 coefficients at once, in
// O(N log N): the block is folded into a 1024-point DCT-IV, which is computed with a
// 512-point complex FFT. Its scratch space makes it unsafe for concurrent use.
type FastMDCT struct {
	fold       []float64    // the DCT-IV input
	pre, post  []complex128 // twiddles around the FFT
	z          []complex128 // FFT data
	roots      []complex128 // exp(-2πi·j/fftLen), j < fftLen/2
	bitReverse []int
}

const (
	dct4Len = SamplesPerFrame // the DCT-IV length M
	fftLen  = dct4Len / 2     // each FFT point packs u[2n] and u[M-1-2n]
)

// NewFastMDCT returns a transform for 2048-sample blocks.
func NewFastMDCT() *FastMDCT {
	m := &FastMDCT{
		fold:       make([]float64, dct4Len),
		pre:        make([]complex128, fftLen),
		post:       make([]complex128, fftLen),
		z:          make([]complex128, fftLen),
		roots:      make([]complex128, fftLen/2),
		bitReverse: make([]int, fftLen),
	}
	for n := range fftLen {
		m.pre[n] = cmplxExp(-math.Pi * (4*float64(n) + 1) / (4 * dct4Len))
		m.post[n] = cmplxExp(-math.Pi * float64(n) / dct4Len)
	}
	for j := range m.roots {
		m.roots[j] = cmplxExp(-2 * math.Pi * float64(j) / fftLen)
	}
	shift := bits.UintSize - bits.Len(uint(fftLen-1))
	for i := range m.bitReverse {
		m.bitReverse[i] = int(bits.Reverse(uint(i)) >> shift)
	}
	return m
}

// Transform writes the 1024 coefficients of block (2048 samples, already windowed) to dst:
// MDCT(dst, block, 0) up to rounding.
func (m *FastMDCT) Transform(dst, block []float64) {
	if len(block) != LongWindowLen || len(dst) != SamplesPerFrame {
		panic("aac: FastMDCT takes a 2048-sample block and 1024 coefficients")
	}
	// With the block's quarters (a, b, c, d), the MDCT is the DCT-IV of (-c_r - d, a - b_r).
	const q = LongWindowLen / 4
	u := m.fold
	for j := range q {
		u[j] = -block[3*q-1-j] - block[3*q+j]
		u[q+j] = block[j] - block[2*q-1-j]
	}
	// DCT-IV: X[2k] + i·X[M-1-2k]·(-1) = post[k]·FFT(pre[n]·(u[2n] + i·u[M-1-2n]))[k].
	z := m.z
	for n := range fftLen {
		z[m.bitReverse[n]] = complex(u[2*n], u[dct4Len-1-2*n]) * m.pre[n]
	}
	m.fft(z)
	for k := range fftLen {
		y := z[k] * m.post[k]
		dst[2*k] = 2 * real(y)
		dst[dct4Len-1-2*k] = -2 * imag(y)
	}
}

// fft transforms z in place, its input in bit-reversed order: radix 2, decimation in time.
func (m *FastMDCT) fft(z []complex128) {
	for size := 2; size <= len(z); size <<= 1 {
		half, step := size/2, len(z)/size
		for start := 0; start < len(z); start += size {
			for j := range half {
				t := z[start+j+half] * m.roots[j*step]
				z[start+j+half] = z[start+j] - t
				z[start+j] += t
			}
		}
	}
}

func cmplxExp(theta float64) complex128 {
	s, c := math.Sincos(theta)
	return complex(c, s)
}
