package synth

import (
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// vlc is one variable-length code: its value in the low n bits.
type vlc struct {
	code uint32
	n    uint8
}

func parseVLC(s string) vlc {
	var c vlc
	for _, b := range s {
		c.code = c.code<<1 | uint32(b-'0')
		c.n++
	}
	return c
}

func parseVLCs(ss []string) []vlc {
	out := make([]vlc, len(ss))
	for i, s := range ss {
		out[i] = parseVLC(s)
	}
	return out
}

var (
	coeffTokenVLC         [3][17][4]vlc
	chromaDCCoeffTokenVLC [5][4]vlc
	totalZerosVLC         [16][]vlc
	chromaDCTotalZerosVLC [4][]vlc
	runBeforeVLC          [8][]vlc
)

func init() {
	for t := range coeffTokenText {
		for tc := range coeffTokenText[t] {
			for t1, s := range coeffTokenText[t][tc] {
				coeffTokenVLC[t][tc][t1] = parseVLC(s)
			}
		}
	}
	for tc := range chromaDCCoeffTokenText {
		for t1, s := range chromaDCCoeffTokenText[tc] {
			chromaDCCoeffTokenVLC[tc][t1] = parseVLC(s)
		}
	}
	for i, ss := range totalZerosText {
		totalZerosVLC[i] = parseVLCs(ss)
	}
	for i, ss := range chromaDCTotalZerosText {
		chromaDCTotalZerosVLC[i] = parseVLCs(ss)
	}
	for i, ss := range runBeforeText {
		runBeforeVLC[i] = parseVLCs(ss)
	}
}

func writeVLC(w *h264.BitWriter, c vlc) { w.U(int(c.n), c.code) }

// coeffTokenSeen, when set (by tests), sees every coeff_token written.
var coeffTokenSeen func(nC, total, trailingOnes int)

// maxLevel bounds a coefficient level so that CAVLC codes it with level_prefix <= 15, as the
// Baseline profile requires.
const maxLevel = 2047

// writeResidualBlock codes one block with CAVLC (residual_block_cavlc, 7.3.5.3.2): coef holds
// maxNumCoeff levels in scan order, nC selects the coeff_token table (-1 for chroma DC). It
// returns TotalCoeff, which neighbouring blocks use for their nC.
func writeResidualBlock(w *h264.BitWriter, coef []int32, nC int) int {
	maxNum := len(coef)
	// Nonzero levels from the highest frequency down, with the zeros run below each.
	var levels [16]int32
	var runs [16]int
	total := 0
	highest := -1
	prev := -1
	for i := maxNum - 1; i >= 0; i-- {
		if coef[i] == 0 {
			continue
		}
		if highest < 0 {
			highest = i
		}
		if total > 0 {
			runs[total-1] = prev - i - 1
		}
		levels[total] = coef[i]
		prev = i
		total++
	}
	if total > 0 {
		runs[total-1] = prev // zeros below the lowest coefficient
	}
	t1 := 0
	for t1 < total && t1 < 3 && (levels[t1] == 1 || levels[t1] == -1) {
		t1++
	}

	if coeffTokenSeen != nil {
		coeffTokenSeen(nC, total, t1)
	}
	switch {
	case nC == -1:
		writeVLC(w, chromaDCCoeffTokenVLC[total][t1])
	case nC < 2:
		writeVLC(w, coeffTokenVLC[0][total][t1])
	case nC < 4:
		writeVLC(w, coeffTokenVLC[1][total][t1])
	case nC < 8:
		writeVLC(w, coeffTokenVLC[2][total][t1])
	default:
		if total == 0 {
			w.U(6, 3)
		} else {
			w.U(6, uint32(total-1)<<2|uint32(t1))
		}
	}
	if total == 0 {
		return 0
	}

	suffixLength := 0
	if total > 10 && t1 < 3 {
		suffixLength = 1
	}
	for k := range total {
		lv := levels[k]
		if k < t1 {
			if lv < 0 {
				w.U(1, 1)
			} else {
				w.U(1, 0)
			}
			continue
		}
		var code int32
		if lv > 0 {
			code = 2*lv - 2
		} else {
			code = -2*lv - 1
		}
		if k == t1 && t1 < 3 {
			code -= 2
		}
		writeLevel(w, code, suffixLength)
		if suffixLength == 0 {
			suffixLength = 1
		}
		if abs32(lv) > 3<<(suffixLength-1) && suffixLength < 6 {
			suffixLength++
		}
	}

	if total < maxNum {
		zeros := highest + 1 - total
		if maxNum == 4 {
			writeVLC(w, chromaDCTotalZerosVLC[total][zeros])
		} else {
			writeVLC(w, totalZerosVLC[total][zeros])
		}
		left := zeros
		for k := 0; k < total-1 && left > 0; k++ {
			writeVLC(w, runBeforeVLC[min(left, 7)][runs[k]])
			left -= runs[k]
		}
	}
	return total
}

// writeLevel codes levelCode as level_prefix and level_suffix (9.2.2.1).
func writeLevel(w *h264.BitWriter, code int32, suffixLength int) {
	var prefix, suffixSize int
	var suffix int32
	if suffixLength == 0 {
		switch {
		case code < 14:
			prefix = int(code)
		case code < 30:
			prefix, suffix, suffixSize = 14, code-14, 4
		default:
			prefix, suffix, suffixSize = 15, code-30, 12
		}
	} else {
		if code < 15<<suffixLength {
			prefix, suffix, suffixSize = int(code>>suffixLength), code&(1<<suffixLength-1), suffixLength
		} else {
			prefix, suffix, suffixSize = 15, code-15<<suffixLength, 12
		}
	}
	w.U(prefix+1, 1) // prefix zeros, then a one
	w.U(suffixSize, uint32(suffix))
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
