package synth

import (
	"slices"

	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// The encoder writes a Constrained Baseline H.264 stream (CAVLC, one slice per picture,
// deblocking off, one reference frame, pic_order_cnt_type 2, so no reordering). Every coded
// macroblock is Intra 16x16 (vertical, horizontal or DC prediction); in P pictures a
// macroblock whose source did not change is P_Skip. Flat macroblocks (the background) cost a
// few bits because a neighbour predicts them exactly, or a single DC level at flatQP corrects
// them to the sample; text macroblocks carry a residual quantised at the encoder's QP.
// The encoder keeps the decoder's reconstruction, bit for bit, to predict from.

// picture holds the three planes of a frame padded to whole macroblocks.
type picture struct {
	mbW, mbH int
	y        []uint8 // stride 16*mbW
	cb, cr   []uint8 // stride 8*mbW
}

func newPicture(mbW, mbH int) *picture {
	return &picture{
		mbW: mbW, mbH: mbH,
		y:  make([]uint8, 256*mbW*mbH),
		cb: make([]uint8, 64*mbW*mbH),
		cr: make([]uint8, 64*mbW*mbH),
	}
}

func (p *picture) clone() *picture {
	return &picture{mbW: p.mbW, mbH: p.mbH, y: slices.Clone(p.y), cb: slices.Clone(p.cb), cr: slices.Clone(p.cr)}
}

func (p *picture) strideY() int { return 16 * p.mbW }
func (p *picture) strideC() int { return 8 * p.mbW }

// mbState is what later macroblocks of the same picture need from a coded one: the total
// coefficient counts that select their coeff_token tables.
type mbState struct {
	nzY [16]uint8   // luma 4x4 blocks, raster order within the macroblock
	nzC [2][4]uint8 // Cb and Cr 4x4 blocks
}

type encoder struct {
	mbW, mbH      int
	width, height int
	fps           int
	qp            int
	levelIDC      uint8

	recon *picture // the decoder's picture: the reference for P_Skip and for intra prediction
	mbs   []mbState

	frameNum uint32
	idrPicID uint32
	lastQP   int // QP of the previous coded macroblock of the slice (QP_Y,PRED)

	bw       h264.BitWriter
	sps, pps []byte

	// levelHook, when set (by tests), replaces the quantised levels of each coded macroblock.
	levelHook func(dc *[16]int32, ac *[16][16]int32, chromaDC *[2][4]int32, chromaAC *[2][4][16]int32)
}

const log2MaxFrameNum = 8

func newEncoder(width, height, fps, qp int) *encoder {
	mbW, mbH := (width+15)/16, (height+15)/16
	e := &encoder{
		mbW: mbW, mbH: mbH, width: width, height: height, fps: fps, qp: qp,
		levelIDC: levelFor(mbW*mbH, fps),
		recon:    newPicture(mbW, mbH),
		mbs:      make([]mbState, mbW*mbH),
	}
	e.sps = e.writeSPS()
	e.pps = e.writePPS()
	return e
}

// levelTable lists level_idc with MaxMBPS and MaxFS (Table A-1).
var levelTable = []struct {
	idc          uint8
	mbps, frameS int
}{
	{30, 40500, 1620}, {31, 108000, 3600}, {32, 216000, 5120}, {40, 245760, 8192},
	{42, 522240, 8704}, {50, 589824, 22080}, {51, 983040, 36864}, {52, 2073600, 36864},
}

// levelFor picks the lowest level from 3.0 up that fits the frame size and macroblock rate;
// 3.0 is the floor because the I pictures' bursts would break the bitrate limits below it.
func levelFor(mbs, fps int) uint8 {
	for _, l := range levelTable {
		if mbs <= l.frameS && mbs*fps <= l.mbps {
			return l.idc
		}
	}
	return 52
}

func (e *encoder) nal(header byte) []byte {
	e.bw.TrailingBits()
	rbsp := e.bw.Data()
	out := make([]byte, 1, len(rbsp)+len(rbsp)/64+2)
	out[0] = header
	return h264.AppendEscapedRBSP(out, rbsp)
}

func (e *encoder) writeSPS() []byte {
	w := &e.bw
	w.Reset()
	w.U(8, 66)   // profile_idc: Baseline
	w.U(8, 0xc0) // constraint_set0_flag and constraint_set1_flag: Constrained Baseline
	w.U(8, uint32(e.levelIDC))
	w.UE(0)                   // seq_parameter_set_id
	w.UE(log2MaxFrameNum - 4) // log2_max_frame_num_minus4
	w.UE(2)                   // pic_order_cnt_type: output order is decoding order
	w.UE(1)                   // max_num_ref_frames
	w.Flag(false)             // gaps_in_frame_num_value_allowed_flag
	w.UE(uint32(e.mbW - 1))
	w.UE(uint32(e.mbH - 1))
	w.Flag(true) // frame_mbs_only_flag
	w.Flag(true) // direct_8x8_inference_flag
	padW, padH := 16*e.mbW-e.width, 16*e.mbH-e.height
	w.Flag(padW > 0 || padH > 0) // frame_cropping_flag, in units of 2 samples for 4:2:0
	if padW > 0 || padH > 0 {
		w.UE(0)
		w.UE(uint32(padW / 2))
		w.UE(0)
		w.UE(uint32(padH / 2))
	}
	w.Flag(true)  // vui_parameters_present_flag
	w.Flag(false) // aspect_ratio_info_present_flag
	w.Flag(false) // overscan_info_present_flag
	w.Flag(true)  // video_signal_type_present_flag
	w.U(3, 5)     // video_format: unspecified
	w.Flag(false) // video_full_range_flag: studio range, as the colours are computed
	w.Flag(true)  // colour_description_present_flag: BT.601 (SMPTE 170M)
	w.U(8, 6)
	w.U(8, 6)
	w.U(8, 6)
	w.Flag(false) // chroma_loc_info_present_flag
	w.Flag(true)  // timing_info_present_flag
	w.U(32, 1)    // num_units_in_tick
	w.U(32, uint32(2*e.fps))
	w.Flag(true)  // fixed_frame_rate_flag
	w.Flag(false) // nal_hrd_parameters_present_flag
	w.Flag(false) // vcl_hrd_parameters_present_flag
	w.Flag(false) // pic_struct_present_flag
	w.Flag(true)  // bitstream_restriction_flag
	w.Flag(true)  // motion_vectors_over_pic_boundaries_flag
	w.UE(0)       // max_bytes_per_pic_denom: no limit
	w.UE(0)       // max_bits_per_mb_denom: no limit
	w.UE(16)      // log2_max_mv_length_horizontal
	w.UE(16)      // log2_max_mv_length_vertical
	w.UE(0)       // max_num_reorder_frames: no B-frames
	w.UE(1)       // max_dec_frame_buffering
	return e.nal(0x67)
}

func (e *encoder) writePPS() []byte {
	w := &e.bw
	w.Reset()
	w.UE(0)       // pic_parameter_set_id
	w.UE(0)       // seq_parameter_set_id
	w.Flag(false) // entropy_coding_mode_flag: CAVLC
	w.Flag(false) // bottom_field_pic_order_in_frame_present_flag
	w.UE(0)       // num_slice_groups_minus1
	w.UE(0)       // num_ref_idx_l0_default_active_minus1
	w.UE(0)       // num_ref_idx_l1_default_active_minus1
	w.Flag(false) // weighted_pred_flag
	w.U(2, 0)     // weighted_bipred_idc
	w.SE(0)       // pic_init_qp_minus26
	w.SE(0)       // pic_init_qs_minus26
	w.SE(0)       // chroma_qp_index_offset
	w.Flag(true)  // deblocking_filter_control_present_flag
	w.Flag(false) // constrained_intra_pred_flag
	w.Flag(false) // redundant_pic_cnt_present_flag
	return e.nal(0x68)
}

func (e *encoder) sliceHeader(idr bool) {
	w := &e.bw
	w.UE(0) // first_mb_in_slice
	if idr {
		w.UE(7) // slice_type: I, and every slice of the picture is I
	} else {
		w.UE(5) // P
	}
	w.UE(0) // pic_parameter_set_id
	w.U(log2MaxFrameNum, e.frameNum)
	if idr {
		w.UE(e.idrPicID)
	} else {
		w.Flag(false) // num_ref_idx_active_override_flag
		w.Flag(false) // ref_pic_list_modification_flag_l0
	}
	// dec_ref_pic_marking: nal_ref_idc is nonzero for every picture.
	if idr {
		w.Flag(false) // no_output_of_prior_pics_flag
		w.Flag(false) // long_term_reference_flag
	} else {
		w.Flag(false) // adaptive_ref_pic_marking_mode_flag: sliding window
	}
	w.SE(int32(e.qp - 26)) // slice_qp_delta
	e.lastQP = e.qp
	w.UE(1) // disable_deblocking_filter_idc: off, so pictures stay exact
}

// encodeIDR codes src as an IDR picture and returns SPS, PPS and the slice.
func (e *encoder) encodeIDR(src *picture) [][]byte {
	e.frameNum = 0
	w := &e.bw
	w.Reset()
	e.sliceHeader(true)
	for my := range e.mbH {
		for mx := range e.mbW {
			e.codeIntraMB(mx, my, src, 0)
		}
	}
	slice := e.nal(0x65)
	e.idrPicID = (e.idrPicID + 1) & 0xffff
	e.frameNum = 1
	return [][]byte{append([]byte(nil), e.sps...), append([]byte(nil), e.pps...), slice}
}

// encodeP codes a P picture in which the macroblocks marked in code are intra coded from src
// and all others are P_Skip (a copy of the previous picture: motion vectors are all zero,
// since no macroblock ever has a motion vector to predict from).
func (e *encoder) encodeP(src *picture, code []bool) []byte {
	w := &e.bw
	w.Reset()
	e.sliceHeader(false)
	run := 0
	for my := range e.mbH {
		for mx := range e.mbW {
			i := my*e.mbW + mx
			if !code[i] {
				e.mbs[i] = mbState{}
				run++
				continue
			}
			w.UE(uint32(run)) // mb_skip_run
			run = 0
			e.codeIntraMB(mx, my, src, 5)
		}
	}
	if run > 0 {
		w.UE(uint32(run))
	}
	slice := e.nal(0x41)
	e.frameNum = (e.frameNum + 1) & (1<<log2MaxFrameNum - 1)
	return slice
}

// Intra 16x16 prediction modes (Table 8-4) and intra chroma modes (Table 8-5).
const (
	i16Vertical   = 0
	i16Horizontal = 1
	i16DC         = 2

	chromaDC         = 0
	chromaHorizontal = 1
	chromaVertical   = 2
)

// codeIntraMB codes macroblock (mx, my) of src as Intra 16x16 (mb_type offset 0 in I slices,
// 5 in P slices), writes its reconstruction to e.recon and its coefficient counts to e.mbs.
func (e *encoder) codeIntraMB(mx, my int, src *picture, mbTypeOffset int) {
	haveTop, haveLeft := my > 0, mx > 0
	sy, sc := src.strideY(), src.strideC()
	ry, rc := e.recon.strideY(), e.recon.strideC()

	// Luma.
	var cur [256]int32
	for y := range 16 {
		row := src.y[(16*my+y)*sy+16*mx:]
		for x := range 16 {
			cur[16*y+x] = int32(row[x])
		}
	}
	var top, left [16]int32
	if haveTop {
		row := e.recon.y[(16*my-1)*ry+16*mx:]
		for x := range 16 {
			top[x] = int32(row[x])
		}
	}
	if haveLeft {
		for y := range 16 {
			left[y] = int32(e.recon.y[(16*my+y)*ry+16*mx-1])
		}
	}
	lumaMode, lumaPred, lumaSAD := chooseLuma(&cur, &top, &left, haveTop, haveLeft)
	if lumaSAD != 0 && lumaMode != i16DC && flat(cur[:]) {
		// A flat prediction leaves a flat residual, which one DC level makes exact.
		lumaMode = i16DC
		predLuma(&lumaPred, i16DC, &top, &left, haveTop, haveLeft)
	}

	// Chroma: both components share the prediction mode.
	var curC [2][64]int32
	var topC, leftC [2][8]int32
	for c, plane := range [2][]uint8{src.cb, src.cr} {
		for y := range 8 {
			for x := range 8 {
				curC[c][8*y+x] = int32(plane[(8*my+y)*sc+8*mx+x])
			}
		}
	}
	for c, plane := range [2][]uint8{e.recon.cb, e.recon.cr} {
		for i := range 8 {
			if haveTop {
				topC[c][i] = int32(plane[(8*my-1)*rc+8*mx+i])
			}
			if haveLeft {
				leftC[c][i] = int32(plane[(8*my+i)*rc+8*mx-1])
			}
		}
	}
	chromaMode, chromaPred, chromaSAD := chooseChroma(&curC, &topC, &leftC, haveTop, haveLeft)
	qp := e.lastQP // no residual: any QP will do, and keeping it costs one bit
	if lumaSAD != 0 || chromaSAD != 0 {
		qp = e.mbQP(&cur, &curC)
	}
	var dcLevels [16]int32 // raster over the 4x4 grid of blocks
	var acLevels [16][16]int32
	var reconY [256]uint8
	if lumaSAD == 0 { // exact prediction (most background): nothing to code
		for i, p := range lumaPred {
			reconY[i] = uint8(p)
		}
	} else {
		lumaResidual(&cur, &lumaPred, qp, &dcLevels, &acLevels, &reconY)
	}

	var cDC [2][4]int32
	var cAC [2][4][16]int32
	var reconC [2][64]uint8
	qpc := chromaQP(qp)
	for c := range 2 {
		if chromaSAD == 0 {
			for i, p := range chromaPred[c] {
				reconC[c][i] = uint8(p)
			}
			continue
		}
		chromaResidual(&curC[c], &chromaPred[c], qpc, &cDC[c], &cAC[c], &reconC[c])
	}
	if e.levelHook != nil { // tests: replace the levels, reconstruct from them
		e.levelHook(&dcLevels, &acLevels, &cDC, &cAC)
		reconstructLuma(&lumaPred, qp, &dcLevels, &acLevels, &reconY)
		for c := range 2 {
			reconstructChroma(&chromaPred[c], qpc, &cDC[c], &cAC[c], &reconC[c])
		}
	}
	cbpLuma := 0
	for b := range 16 {
		for _, l := range acLevels[b][1:] {
			if l != 0 {
				cbpLuma = 15
			}
		}
	}
	cbpChroma := 0
	for c := range 2 {
		for b := range 4 {
			if cDC[c][b] != 0 {
				cbpChroma = max(cbpChroma, 1)
			}
			for _, l := range cAC[c][b][1:] {
				if l != 0 {
					cbpChroma = 2
				}
			}
		}
	}

	// Write the reconstruction.
	for y := range 16 {
		copy(e.recon.y[(16*my+y)*ry+16*mx:][:16], reconY[16*y:16*y+16])
	}
	for c, plane := range [2][]uint8{e.recon.cb, e.recon.cr} {
		for y := range 8 {
			copy(plane[(8*my+y)*rc+8*mx:][:8], reconC[c][8*y:8*y+8])
		}
	}

	// Syntax: macroblock_layer with mb_pred and residual (7.3.5).
	w := &e.bw
	mbType := mbTypeOffset + 1 + lumaMode + 4*cbpChroma
	if cbpLuma == 15 {
		mbType += 12
	}
	w.UE(uint32(mbType))
	w.UE(uint32(chromaMode))    // intra_chroma_pred_mode
	w.SE(qpDelta(qp, e.lastQP)) // mb_qp_delta
	e.lastQP = qp
	st := &e.mbs[my*e.mbW+mx]
	*st = mbState{}
	var scan [16]int32
	for i, r := range zigzag4x4 {
		scan[i] = dcLevels[r]
	}
	writeResidualBlock(w, scan[:], e.nC(mx, my, 0, 0, -1))
	if cbpLuma == 15 {
		for blk := range 16 {
			bx, by := blkX(blk), blkY(blk)
			ac := &acLevels[4*by+bx]
			var scan15 [15]int32
			for i := 1; i < 16; i++ {
				scan15[i-1] = ac[zigzag4x4[i]]
			}
			st.nzY[4*by+bx] = uint8(writeResidualBlock(w, scan15[:], e.nC(mx, my, bx, by, -1)))
		}
	}
	if cbpChroma > 0 {
		for c := range 2 {
			writeResidualBlock(w, cDC[c][:], -1)
		}
	}
	if cbpChroma == 2 {
		for c := range 2 {
			for b := range 4 {
				var scan15 [15]int32
				for i := 1; i < 16; i++ {
					scan15[i-1] = cAC[c][b][zigzag4x4[i]]
				}
				st.nzC[c][b] = uint8(writeResidualBlock(w, scan15[:], e.nC(mx, my, b%2, b/2, c)))
			}
		}
	}
}

// flatQP codes flat macroblocks that no neighbour predicts exactly: at QP 17 and below a single
// DC level moves a whole luma or chroma block by any whole number of samples (the steps are
// at most 0.56 sample), so the background comes out exact wherever it starts.
const flatQP = 16

// mbQP is the quantiser of a macroblock that needs a residual: flatQP when the macroblock is
// one colour, so it comes out exact, the encoder's QP otherwise.
func (e *encoder) mbQP(luma *[256]int32, chroma *[2][64]int32) int {
	if flat(luma[:]) && flat(chroma[0][:]) && flat(chroma[1][:]) {
		return min(e.qp, flatQP)
	}
	return e.qp
}

// qpDelta is the mb_qp_delta from QP pred to qp: the difference taken modulo 52 into
// -26…25, its legal range, as the decoder adds it modulo 52 (7.4.5).
func qpDelta(qp, pred int) int32 {
	return int32((qp-pred+26+52)%52 - 26)
}

// blkX and blkY place luma4x4BlkIdx in the macroblock's 4x4 grid (6.4.3).
func blkX(i int) int { return i/4%2*2 + i%2 }
func blkY(i int) int { return i/8*2 + i%4/2 }

// nC is the predicted coefficient count of a 4x4 block from its left and upper neighbours
// (9.2.1): component -1 is luma, 0 and 1 are Cb and Cr (a 2x2 grid per macroblock).
func (e *encoder) nC(mx, my, bx, by, component int) int {
	grid := 4
	if component >= 0 {
		grid = 2
	}
	count := func(mbx, mby, x, y int) int {
		st := &e.mbs[mby*e.mbW+mbx]
		if component < 0 {
			return int(st.nzY[4*y+x])
		}
		return int(st.nzC[component][2*y+x])
	}
	nA, availA := 0, true
	switch {
	case bx > 0:
		nA = count(mx, my, bx-1, by)
	case mx > 0:
		nA = count(mx-1, my, grid-1, by)
	default:
		availA = false
	}
	nB, availB := 0, true
	switch {
	case by > 0:
		nB = count(mx, my, bx, by-1)
	case my > 0:
		nB = count(mx, my-1, bx, grid-1)
	default:
		availB = false
	}
	switch {
	case availA && availB:
		return (nA + nB + 1) >> 1
	case availA:
		return nA
	case availB:
		return nB
	}
	return 0
}

// chooseLuma picks the Intra 16x16 mode with the smallest absolute residual, preferring an
// exact prediction (no residual at all) and the cheaper mode codes.
func chooseLuma(cur *[256]int32, top, left *[16]int32, haveTop, haveLeft bool) (int, [256]int32, int64) {
	var best [256]int32
	bestMode, bestSAD := -1, int64(-1)
	try := func(mode int) {
		if bestSAD == 0 {
			return
		}
		var p [256]int32
		predLuma(&p, mode, top, left, haveTop, haveLeft)
		var sad int64
		for i := range p {
			d := cur[i] - p[i]
			if d < 0 {
				d = -d
			}
			sad += int64(d)
		}
		if bestSAD < 0 || sad < bestSAD {
			bestMode, bestSAD, best = mode, sad, p
		}
	}
	if haveTop {
		try(i16Vertical)
	}
	if haveLeft {
		try(i16Horizontal)
	}
	try(i16DC)
	return bestMode, best, bestSAD
}

func predLuma(p *[256]int32, mode int, top, left *[16]int32, haveTop, haveLeft bool) {
	switch mode {
	case i16Vertical:
		for y := range 16 {
			copy(p[16*y:16*y+16], top[:])
		}
	case i16Horizontal:
		for y := range 16 {
			for x := range 16 {
				p[16*y+x] = left[y]
			}
		}
	default:
		var dc int32 = 128
		var st, sl int32
		for i := range 16 {
			st += top[i]
			sl += left[i]
		}
		switch {
		case haveTop && haveLeft:
			dc = (st + sl + 16) >> 5
		case haveLeft:
			dc = (sl + 8) >> 4
		case haveTop:
			dc = (st + 8) >> 4
		}
		for i := range p {
			p[i] = dc
		}
	}
}

// lumaResidual transforms and quantises cur - pred as Intra 16x16 and reconstructs the
// result as the decoder will. A flat macroblock over a flat prediction is made exact when a
// DC level can do it, so the background never drifts.
func lumaResidual(cur, pred *[256]int32, qp int, dc *[16]int32, ac *[16][16]int32, recon *[256]uint8) {
	qbits := 15 + qp/6
	var blocks [16][16]int32 // raster over blocks, raster within
	for by := range 4 {
		for bx := range 4 {
			b := &blocks[4*by+bx]
			for y := range 4 {
				for x := range 4 {
					i := (4*by+y)*16 + 4*bx + x
					b[4*y+x] = cur[i] - pred[i]
				}
			}
			forward4x4(b)
		}
	}
	var dcW [16]int32
	for b := range 16 {
		dcW[b] = blocks[b][0]
	}
	hadamard4x4(&dcW)
	for i := range dcW {
		dc[i] = quantize(dcW[i]>>1, quantMF[qp%6][0], qbits+1)
	}
	for b := range 16 {
		ac[b][0] = 0
		for i := 1; i < 16; i++ {
			ac[b][i] = quantize(blocks[b][i], quantMF[qp%6][posClass[i]], qbits)
		}
	}
	reconstructLuma(pred, qp, dc, ac, recon)
	if !flat(cur[:]) || !flat(pred[:]) || exact(cur[:], recon[:]) {
		return
	}
	// Only dc[0] can be nonzero for a flat residual; try its neighbours for an exact result.
	base := dc[0]
	for _, d := range []int32{-1, 1, -2, 2, -3, 3} {
		var try [16]int32
		try[0] = base + d
		var r [256]uint8
		reconstructLuma(pred, qp, &try, ac, &r)
		if exact(cur[:], r[:]) {
			*dc, *recon = try, r
			return
		}
	}
}

// reconstructLuma is the decoder's Intra 16x16 path: inverse Hadamard and scaling of the DC
// levels, scaling of AC levels, inverse transform, prediction added and clipped.
func reconstructLuma(pred *[256]int32, qp int, dc *[16]int32, ac *[16][16]int32, recon *[256]uint8) {
	f := *dc
	hadamard4x4(&f)
	for b := range 16 {
		var d [16]int32
		d[0] = scaleLumaDC(f[b], qp)
		nonzero := d[0] != 0
		for i := 1; i < 16; i++ {
			if ac[b][i] != 0 {
				d[i] = scaleAC(ac[b][i], qp, i)
				nonzero = true
			}
		}
		if nonzero {
			inverse4x4(&d)
		}
		bx, by := b%4, b/4
		for y := range 4 {
			for x := range 4 {
				i := (4*by+y)*16 + 4*bx + x
				recon[i] = clip1(pred[i] + d[4*y+x])
			}
		}
	}
}

// chooseChroma picks the chroma mode with the smallest absolute residual over Cb and Cr.
func chooseChroma(cur *[2][64]int32, top, left *[2][8]int32, haveTop, haveLeft bool) (int, [2][64]int32, int64) {
	var best [2][64]int32
	bestMode, bestSAD := -1, int64(-1)
	try := func(mode int) {
		if bestSAD == 0 {
			return
		}
		var p [2][64]int32
		var sad int64
		for c := range 2 {
			predChroma(&p[c], mode, &top[c], &left[c], haveTop, haveLeft)
			for i := range p[c] {
				d := cur[c][i] - p[c][i]
				if d < 0 {
					d = -d
				}
				sad += int64(d)
			}
		}
		if bestSAD < 0 || sad < bestSAD {
			bestMode, bestSAD, best = mode, sad, p
		}
	}
	try(chromaDC)
	if haveTop {
		try(chromaVertical)
	}
	if haveLeft {
		try(chromaHorizontal)
	}
	return bestMode, best, bestSAD
}

// predChroma is 8.3.4 for one 8x8 chroma block of 4:2:0.
func predChroma(p *[64]int32, mode int, top, left *[8]int32, haveTop, haveLeft bool) {
	switch mode {
	case chromaVertical:
		for y := range 8 {
			copy(p[8*y:8*y+8], top[:])
		}
	case chromaHorizontal:
		for y := range 8 {
			for x := range 8 {
				p[8*y+x] = left[y]
			}
		}
	default:
		for by := range 2 {
			for bx := range 2 {
				var st, sl int32
				for i := range 4 {
					st += top[4*bx+i]
					sl += left[4*by+i]
				}
				var dc int32 = 128
				useTop, useLeft := haveTop, haveLeft
				switch {
				case bx == 1 && by == 0: // top edge block prefers the top
					if haveTop {
						useLeft = false
					}
				case bx == 0 && by == 1: // left edge block prefers the left
					if haveLeft {
						useTop = false
					}
				}
				switch {
				case useTop && useLeft:
					dc = (st + sl + 4) >> 3
				case useLeft:
					dc = (sl + 2) >> 2
				case useTop:
					dc = (st + 2) >> 2
				}
				for y := range 4 {
					for x := range 4 {
						p[8*(4*by+y)+4*bx+x] = dc
					}
				}
			}
		}
	}
}

// chromaResidual transforms and quantises one chroma component (DC by a 2x2 Hadamard) and
// reconstructs it; like luma, a flat component over a flat prediction is made exact.
func chromaResidual(cur, pred *[64]int32, qpc int, dc *[4]int32, ac *[4][16]int32, recon *[64]uint8) {
	qbits := 15 + qpc/6
	var blocks [4][16]int32
	for b := range 4 {
		bx, by := b%2, b/2
		for y := range 4 {
			for x := range 4 {
				i := (4*by+y)*8 + 4*bx + x
				blocks[b][4*y+x] = cur[i] - pred[i]
			}
		}
		forward4x4(&blocks[b])
	}
	w0, w1, w2, w3 := blocks[0][0], blocks[1][0], blocks[2][0], blocks[3][0]
	f := [4]int32{w0 + w1 + w2 + w3, w0 - w1 + w2 - w3, w0 + w1 - w2 - w3, w0 - w1 - w2 + w3}
	for i := range f {
		dc[i] = quantize(f[i], quantMF[qpc%6][0], qbits+1)
	}
	for b := range 4 {
		ac[b][0] = 0
		for i := 1; i < 16; i++ {
			ac[b][i] = quantize(blocks[b][i], quantMF[qpc%6][posClass[i]], qbits)
		}
	}
	reconstructChroma(pred, qpc, dc, ac, recon)
	if !flat(cur[:]) || !flat(pred[:]) || exact(cur[:], recon[:]) {
		return
	}
	base := dc[0]
	for _, d := range []int32{-1, 1, -2, 2, -3, 3} {
		try := [4]int32{base + d}
		var r [64]uint8
		reconstructChroma(pred, qpc, &try, ac, &r)
		if exact(cur[:], r[:]) {
			*dc, *recon = try, r
			return
		}
	}
}

func reconstructChroma(pred *[64]int32, qpc int, dc *[4]int32, ac *[4][16]int32, recon *[64]uint8) {
	c0, c1, c2, c3 := dc[0], dc[1], dc[2], dc[3]
	f := [4]int32{c0 + c1 + c2 + c3, c0 - c1 + c2 - c3, c0 + c1 - c2 - c3, c0 - c1 - c2 + c3}
	for b := range 4 {
		var d [16]int32
		d[0] = scaleChromaDC(f[b], qpc)
		nonzero := d[0] != 0
		for i := 1; i < 16; i++ {
			if ac[b][i] != 0 {
				d[i] = scaleAC(ac[b][i], qpc, i)
				nonzero = true
			}
		}
		if nonzero {
			inverse4x4(&d)
		}
		bx, by := b%2, b/2
		for y := range 4 {
			for x := range 4 {
				i := (4*by+y)*8 + 4*bx + x
				recon[i] = clip1(pred[i] + d[4*y+x])
			}
		}
	}
}

func flat(v []int32) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

func exact(want []int32, got []uint8) bool {
	for i, x := range want {
		if int32(got[i]) != x {
			return false
		}
	}
	return true
}
