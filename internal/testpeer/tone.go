package testpeer

import "math"

// ToneLevel is the amplitude of frequency f in mono 16-bit PCM at rate (Goertzel),
// relative to full scale: 0.1 for a sine at a tenth of full scale, about 0 where there is
// no such tone. Tests judge decoded audio with it.
func ToneLevel(pcm []int16, rate int, f float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	w := 2 * math.Pi * f / float64(rate)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v)/32768 + 2*math.Cos(w)*s1 - s2
		s2, s1 = s1, s
	}
	return math.Sqrt(s1*s1+s2*s2-2*math.Cos(w)*s1*s2) / float64(len(pcm)) * 2
}
