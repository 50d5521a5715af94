package h264

// UnescapeRBSP removes emulation_prevention_three_byte (the 0x03 in 0x000003) from a NAL
// unit's payload, giving the raw byte sequence payload the bit readers expect. It returns b
// itself when there is nothing to remove.
func UnescapeRBSP(b []byte) []byte {
	first := -1
	for i := 2; i < len(b); i++ {
		if b[i] == 3 && b[i-1] == 0 && b[i-2] == 0 {
			first = i
			break
		}
	}
	if first < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// AppendEscapedRBSP appends rbsp to dst with emulation prevention: a 0x03 goes after any two
// zero bytes followed by a byte <= 3, and after two trailing zero bytes (cabac_zero_words
// aside, an RBSP never ends in zero, but the rule keeps any payload safe).
func AppendEscapedRBSP(dst, rbsp []byte) []byte {
	zeros := 0
	for _, c := range rbsp {
		if zeros == 2 && c <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	if zeros == 2 {
		dst = append(dst, 3)
	}
	return dst
}
