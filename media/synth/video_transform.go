package synth

// Integer transforms, quantisation and intra prediction of H.264 (clause 8.3 and 8.5) for the
// macroblock types the synthetic encoder writes. The decoder-side steps (scaling, inverse
// transforms) follow the standard to the bit, because the encoder predicts from the same
// reconstruction the decoder makes.

// zigzag4x4 maps scan position to raster index (row*4 + col) of a 4x4 frame block.
var zigzag4x4 = [16]int{0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15}

// normAdjust4x4 is v of 8-315: [qP%6][class], class 0 for (even, even), 1 for (odd, odd),
// 2 for the others.
var normAdjust4x4 = [6][3]int32{{10, 16, 13}, {11, 18, 14}, {13, 20, 16}, {14, 23, 18}, {16, 25, 20}, {18, 29, 23}}

// quantMF is the forward quantisation multiplier for the same classes.
var quantMF = [6][3]int32{
	{13107, 5243, 8066}, {11916, 4660, 7490}, {10082, 4194, 6554},
	{9362, 3647, 5825}, {8192, 3355, 5243}, {7282, 2893, 4559},
}

// posClass is the class of each raster position of a 4x4 block.
var posClass = [16]int{0, 2, 0, 2, 2, 1, 2, 1, 0, 2, 0, 2, 2, 1, 2, 1}

// chromaQP is Table 8-15: QPc for qPI 30 to 51 (below 30 QPc = qPI).
var chromaQPTable = [22]int{29, 30, 31, 32, 32, 33, 34, 34, 35, 35, 36, 36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39}

func chromaQP(qp int) int {
	if qp < 30 {
		return qp
	}
	return chromaQPTable[qp-30]
}

// forward4x4 is the core transform W = Cf X Cf^T of a residual block in raster order.
func forward4x4(x *[16]int32) {
	for i := 0; i < 16; i += 4 { // rows
		s03, d03 := x[i]+x[i+3], x[i]-x[i+3]
		s12, d12 := x[i+1]+x[i+2], x[i+1]-x[i+2]
		x[i], x[i+2] = s03+s12, s03-s12
		x[i+1], x[i+3] = 2*d03+d12, d03-2*d12
	}
	for j := range 4 { // columns
		s03, d03 := x[j]+x[12+j], x[j]-x[12+j]
		s12, d12 := x[4+j]+x[8+j], x[4+j]-x[8+j]
		x[j], x[8+j] = s03+s12, s03-s12
		x[4+j], x[12+j] = 2*d03+d12, d03-2*d12
	}
}

// inverse4x4 is 8.5.12.2: rows, then columns, then (x + 32) >> 6.
func inverse4x4(d *[16]int32) {
	for i := 0; i < 16; i += 4 {
		e0, e1 := d[i]+d[i+2], d[i]-d[i+2]
		e2, e3 := d[i+1]>>1-d[i+3], d[i+1]+d[i+3]>>1
		d[i], d[i+1], d[i+2], d[i+3] = e0+e3, e1+e2, e1-e2, e0-e3
	}
	for j := range 4 {
		g0, g1 := d[j]+d[8+j], d[j]-d[8+j]
		g2, g3 := d[4+j]>>1-d[12+j], d[4+j]+d[12+j]>>1
		d[j], d[4+j], d[8+j], d[12+j] = (g0+g3+32)>>6, (g1+g2+32)>>6, (g1-g2+32)>>6, (g0-g3+32)>>6
	}
}

// hadamard4x4 computes H X H for the luma DC (without the encoder's halving).
func hadamard4x4(x *[16]int32) {
	for i := 0; i < 16; i += 4 {
		s01, d01 := x[i]+x[i+1], x[i]-x[i+1]
		s23, d23 := x[i+2]+x[i+3], x[i+2]-x[i+3]
		x[i], x[i+1], x[i+2], x[i+3] = s01+s23, s01-s23, d01-d23, d01+d23
	}
	for j := range 4 {
		s01, d01 := x[j]+x[4+j], x[j]-x[4+j]
		s23, d23 := x[8+j]+x[12+j], x[8+j]-x[12+j]
		x[j], x[4+j], x[8+j], x[12+j] = s01+s23, s01-s23, d01-d23, d01+d23
	}
}

func clampLevel(v int32) int32 { return max(-maxLevel, min(maxLevel, v)) }

// quantize is the forward quantiser for intra blocks: |W|·MF + f >> qbits with f = 2^qbits/3.
func quantize(w int32, mf int32, qbits int) int32 {
	f := int64(1) << qbits / 3
	a := int64(abs32(w))*int64(mf) + f
	l := int32(a >> qbits)
	if w < 0 {
		l = -l
	}
	return clampLevel(l)
}

// scaleAC dequantises a non-DC level with flat scaling matrices (8-336/8-337).
func scaleAC(c int32, qp, pos int) int32 {
	ls := 16 * normAdjust4x4[qp%6][posClass[pos]]
	if qp >= 24 {
		return c * ls << (qp/6 - 4)
	}
	return (c*ls + 1<<(3-qp/6)) >> (4 - qp/6)
}

// scaleLumaDC dequantises the inverse-Hadamard output of Intra16x16 DC levels (8-326/8-327).
func scaleLumaDC(f int32, qp int) int32 {
	ls := 16 * normAdjust4x4[qp%6][0]
	if qp >= 36 {
		return f * ls << (qp/6 - 6)
	}
	return (f*ls + 1<<(5-qp/6)) >> (6 - qp/6)
}

// scaleChromaDC dequantises the inverse-Hadamard output of chroma DC levels (8-330).
func scaleChromaDC(f int32, qpc int) int32 {
	ls := 16 * normAdjust4x4[qpc%6][0]
	return (f * ls << (qpc / 6)) >> 5
}

func clip1(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
