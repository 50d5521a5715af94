// Package audiomix owns the audio of a mixed stream: the subscribed users' PCM summed into
// one signal without clipping, frame by frame, ready for the AAC encoder. Sources the
// emulator cannot decode contribute silence (the caller leaves them out).
package audiomix

import "math"

// Mixer sums interleaved 16-bit PCM of one layout (rate and channels are the caller's).
// When a frame's sum would clip, the whole frame is scaled down to full scale, and the
// gain comes back up over the next frames (a limiter: no wrap-around, no hard clipping).
type Mixer struct {
	gain float64 // the limiter's gain, 1 when nothing clipped lately
	acc  []int32
}

// New returns a mixer.
func New() *Mixer { return &Mixer{gain: 1} }

// release is how much of the way back to unity gain each frame after a limited one goes.
const release = 0.05

// Mix writes into dst the sum of srcs (each as long as dst; a shorter one counts as
// silence past its end) and returns dst.
func (m *Mixer) Mix(dst []int16, srcs ...[]int16) []int16 {
	if cap(m.acc) < len(dst) {
		m.acc = make([]int32, len(dst))
	}
	acc := m.acc[:len(dst)]
	clear(acc)
	for _, s := range srcs {
		for i, v := range s[:min(len(s), len(acc))] {
			acc[i] += int32(v)
		}
	}
	peak := int32(0)
	for _, v := range acc {
		peak = max(peak, v, -v)
	}
	gain := m.gain + (1-m.gain)*release
	if peak > 0 && float64(peak)*gain > math.MaxInt16 {
		gain = math.MaxInt16 / float64(peak)
	}
	m.gain = gain
	for i, v := range acc {
		dst[i] = int16(math.Round(float64(v) * gain))
	}
	return dst
}
