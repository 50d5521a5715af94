package h264

import (
	"errors"
	"fmt"
)

// SPS is what the pipeline needs from a sequence parameter set (7.3.2.1.1).
type SPS struct {
	ProfileIDC      uint8
	ConstraintFlags uint8 // the byte after profile_idc: constraint_set0_flag is 0x80, set1 0x40…
	LevelIDC        uint8 // level × 10 (9 is level 1b)
	ID              uint32

	ChromaFormatIDC     uint32 // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	SeparateColourPlane bool
	BitDepthLuma        int
	BitDepthChroma      int

	Log2MaxFrameNum         int
	PicOrderCntType         int
	Log2MaxPicOrderCntLsb   int  // PicOrderCntType 0 only
	DeltaPicOrderAlwaysZero bool // PicOrderCntType 1 only

	MaxNumRefFrames       int
	GapsInFrameNumAllowed bool

	WidthInMbs           int
	HeightInMapUnits     int
	FrameMbsOnly         bool // false: the stream may hold fields (interlaced)
	MbAdaptiveFrameField bool
	Direct8x8Inference   bool

	// Cropping in luma samples, already multiplied by the crop unit.
	CropLeft, CropRight, CropTop, CropBottom int
	// Width and Height are the displayed size: coded size minus cropping.
	Width, Height int

	VUI *VUI // nil when vui_parameters are absent or cut short
}

// VUI holds the video usability information fields the pipeline reads (Annex E).
type VUI struct {
	SARWidth, SARHeight int // sample aspect ratio; 0:0 when unspecified

	VideoFullRange          bool
	ColourPrimaries         uint8 // 2 (unspecified) when absent
	TransferCharacteristics uint8
	MatrixCoefficients      uint8

	TimingInfoPresent bool
	NumUnitsInTick    uint32
	TimeScale         uint32 // frame rate = TimeScale / (2 × NumUnitsInTick) for frames
	FixedFrameRate    bool

	BitstreamRestriction bool
	MaxNumReorderFrames  int // frames a decoder may hold back: 0 means no B-frame reordering
	MaxDecFrameBuffering int
}

// CodedWidth is the width in luma samples before cropping.
func (s *SPS) CodedWidth() int { return s.WidthInMbs * 16 }

// CodedHeight is the frame height in luma samples before cropping.
func (s *SPS) CodedHeight() int {
	h := s.HeightInMapUnits * 16
	if !s.FrameMbsOnly {
		h *= 2
	}
	return h
}

// FrameRate is the frame rate from the VUI timing info; ok is false without it.
func (s *SPS) FrameRate() (fps float64, ok bool) {
	if s.VUI == nil || !s.VUI.TimingInfoPresent || s.VUI.NumUnitsInTick == 0 || s.VUI.TimeScale == 0 {
		return 0, false
	}
	return float64(s.VUI.TimeScale) / (2 * float64(s.VUI.NumUnitsInTick)), true
}

// ProfileName names the profile as ffprobe does ("Constrained Baseline", "High"…).
func (s *SPS) ProfileName() string {
	set1, set3 := s.ConstraintFlags&0x40 != 0, s.ConstraintFlags&0x10 != 0
	switch s.ProfileIDC {
	case 66:
		if set1 {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		if set3 {
			return "High 10 Intra"
		}
		return "High 10"
	case 122:
		if set3 {
			return "High 4:2:2 Intra"
		}
		return "High 4:2:2"
	case 244:
		if set3 {
			return "High 4:4:4 Intra"
		}
		return "High 4:4:4 Predictive"
	case 44:
		return "CAVLC 4:4:4"
	}
	return fmt.Sprintf("profile %d", s.ProfileIDC)
}

// CodecString is the RFC 6381 codec parameter ("avc1.42C01E"), as HLS CODECS and MP4 use it.
func (s *SPS) CodecString() string {
	return fmt.Sprintf("avc1.%02X%02X%02X", s.ProfileIDC, s.ConstraintFlags, s.LevelIDC)
}

// Limits that keep a hostile SPS from asking for absurd sizes (level 6.2 allows 139264
// macroblocks per frame; 1<<11 macroblocks per side is 32768 samples).
const maxMbsPerSide = 1 << 11

// highProfile reports whether the SPS carries chroma format, bit depth and scaling lists.
func highProfile(p uint8) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// ParseSPS parses a sequence parameter set NAL unit (header byte included, emulation
// prevention bytes in place, as SplitAnnexB or SplitAVCC return it).
func ParseSPS(nalu []byte) (*SPS, error) {
	h, err := ParseNALHeader(nalu)
	if err != nil {
		return nil, err
	}
	if h.Type != NALUSPS {
		return nil, fmt.Errorf("h264: NAL unit type %v is not an SPS", h.Type)
	}
	r := NewBitReader(UnescapeRBSP(nalu[1:]))
	s := &SPS{
		ProfileIDC:      uint8(r.U(8)),
		ConstraintFlags: uint8(r.U(8)),
		LevelIDC:        uint8(r.U(8)),
		ID:              r.UE(),
		ChromaFormatIDC: 1,
		BitDepthLuma:    8,
		BitDepthChroma:  8,
	}
	if s.ID > 31 {
		return nil, fmt.Errorf("h264: seq_parameter_set_id %d > 31", s.ID)
	}
	if highProfile(s.ProfileIDC) {
		s.ChromaFormatIDC = r.UE()
		if s.ChromaFormatIDC > 3 {
			return nil, fmt.Errorf("h264: chroma_format_idc %d > 3", s.ChromaFormatIDC)
		}
		if s.ChromaFormatIDC == 3 {
			s.SeparateColourPlane = r.Flag()
		}
		luma, chroma := r.UE(), r.UE()
		if luma > 6 || chroma > 6 {
			return nil, errors.New("h264: bit depth above 14")
		}
		s.BitDepthLuma, s.BitDepthChroma = 8+int(luma), 8+int(chroma)
		r.Skip(1)     // qpprime_y_zero_transform_bypass_flag
		if r.Flag() { // seq_scaling_matrix_present_flag
			lists := 8
			if s.ChromaFormatIDC == 3 {
				lists = 12
			}
			for i := range lists {
				if r.Flag() {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(r, size)
				}
			}
		}
	}
	log2MaxFrameNum := r.UE()
	if log2MaxFrameNum > 12 {
		return nil, fmt.Errorf("h264: log2_max_frame_num_minus4 %d > 12", log2MaxFrameNum)
	}
	s.Log2MaxFrameNum = 4 + int(log2MaxFrameNum)
	poc := r.UE()
	switch poc {
	case 0:
		lsb := r.UE()
		if lsb > 12 {
			return nil, fmt.Errorf("h264: log2_max_pic_order_cnt_lsb_minus4 %d > 12", lsb)
		}
		s.Log2MaxPicOrderCntLsb = 4 + int(lsb)
	case 1:
		s.DeltaPicOrderAlwaysZero = r.Flag()
		r.SE() // offset_for_non_ref_pic
		r.SE() // offset_for_top_to_bottom_field
		n := r.UE()
		if n > 255 {
			return nil, fmt.Errorf("h264: num_ref_frames_in_pic_order_cnt_cycle %d > 255", n)
		}
		for range n {
			r.SE()
		}
	case 2:
	default:
		if r.Err() == nil {
			return nil, fmt.Errorf("h264: pic_order_cnt_type %d > 2", poc)
		}
	}
	s.PicOrderCntType = int(poc)
	refs := r.UE()
	if refs > 16 {
		return nil, fmt.Errorf("h264: max_num_ref_frames %d > 16", refs)
	}
	s.MaxNumRefFrames = int(refs)
	s.GapsInFrameNumAllowed = r.Flag()
	w, hm := r.UE(), r.UE()
	if w >= maxMbsPerSide || hm >= maxMbsPerSide {
		return nil, fmt.Errorf("h264: picture of %dx%d macroblocks is too large", uint64(w)+1, uint64(hm)+1)
	}
	s.WidthInMbs, s.HeightInMapUnits = int(w)+1, int(hm)+1
	s.FrameMbsOnly = r.Flag()
	if !s.FrameMbsOnly {
		s.MbAdaptiveFrameField = r.Flag()
	}
	s.Direct8x8Inference = r.Flag()
	var crop [4]uint32
	if r.Flag() {
		for i := range crop {
			crop[i] = r.UE()
		}
	}
	vuiPresent := r.Flag()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("h264: SPS: %w", err)
	}

	// Crop units (7-19 to 7-22).
	unitX, unitY := 1, 2
	if s.FrameMbsOnly {
		unitY = 1
	}
	if s.ChromaFormatIDC != 0 && !s.SeparateColourPlane {
		subW, subH := 2, 2 // 4:2:0
		switch s.ChromaFormatIDC {
		case 2:
			subH = 1
		case 3:
			subW, subH = 1, 1
		}
		unitX, unitY = subW, subH*unitY
	}
	cw, ch := s.CodedWidth(), s.CodedHeight()
	if uint64(crop[0])+uint64(crop[1]) >= uint64(cw/unitX) || uint64(crop[2])+uint64(crop[3]) >= uint64(ch/unitY) {
		return nil, fmt.Errorf("h264: cropping %v leaves no picture of %dx%d", crop, cw, ch)
	}
	s.CropLeft, s.CropRight = int(crop[0])*unitX, int(crop[1])*unitX
	s.CropTop, s.CropBottom = int(crop[2])*unitY, int(crop[3])*unitY
	s.Width = cw - s.CropLeft - s.CropRight
	s.Height = ch - s.CropTop - s.CropBottom

	if vuiPresent {
		// A cut-short or malformed VUI is common in the wild and decoders ignore it; so do we.
		if v, err := parseVUI(r); err == nil {
			s.VUI = v
		}
	}
	return s, nil
}

func skipScalingList(r *BitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			delta := r.SE()
			if delta < -128 || delta > 127 {
				r.fail(errors.New("h264: delta_scale out of range"))
				return
			}
			next = (last + delta + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}

func parseVUI(r *BitReader) (*VUI, error) {
	v := &VUI{ColourPrimaries: 2, TransferCharacteristics: 2, MatrixCoefficients: 2}
	if r.Flag() { // aspect_ratio_info_present_flag
		idc := r.U(8)
		if idc == 255 { // Extended_SAR
			v.SARWidth, v.SARHeight = int(r.U(16)), int(r.U(16))
		} else if int(idc) < len(sarTable) {
			v.SARWidth, v.SARHeight = sarTable[idc][0], sarTable[idc][1]
		}
	}
	if r.Flag() { // overscan_info_present_flag
		r.Skip(1)
	}
	if r.Flag() { // video_signal_type_present_flag
		r.Skip(3) // video_format
		v.VideoFullRange = r.Flag()
		if r.Flag() {
			v.ColourPrimaries = uint8(r.U(8))
			v.TransferCharacteristics = uint8(r.U(8))
			v.MatrixCoefficients = uint8(r.U(8))
		}
	}
	if r.Flag() { // chroma_loc_info_present_flag
		r.UE()
		r.UE()
	}
	if v.TimingInfoPresent = r.Flag(); v.TimingInfoPresent {
		v.NumUnitsInTick = r.U(32)
		v.TimeScale = r.U(32)
		v.FixedFrameRate = r.Flag()
	}
	nal := r.Flag()
	if nal {
		skipHRD(r)
	}
	vcl := r.Flag()
	if vcl {
		skipHRD(r)
	}
	if nal || vcl {
		r.Skip(1) // low_delay_hrd_flag
	}
	r.Skip(1) // pic_struct_present_flag
	if v.BitstreamRestriction = r.Flag(); v.BitstreamRestriction {
		r.Skip(1) // motion_vectors_over_pic_boundaries_flag
		r.UE()    // max_bytes_per_pic_denom
		r.UE()    // max_bits_per_mb_denom
		r.UE()    // log2_max_mv_length_horizontal
		r.UE()    // log2_max_mv_length_vertical
		reorder, buffering := r.UE(), r.UE()
		if reorder > 16 || buffering > 16 {
			return nil, errors.New("h264: VUI reorder depth above 16")
		}
		v.MaxNumReorderFrames, v.MaxDecFrameBuffering = int(reorder), int(buffering)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return v, nil
}

func skipHRD(r *BitReader) {
	n := r.UE() // cpb_cnt_minus1
	if n > 31 {
		r.fail(errors.New("h264: cpb_cnt_minus1 > 31"))
		return
	}
	r.Skip(8) // bit_rate_scale, cpb_size_scale
	for range n + 1 {
		r.UE()
		r.UE()
		r.Skip(1)
	}
	r.Skip(20) // four 5-bit lengths
}

// sarTable is Table E-1, aspect_ratio_idc 0 to 16.
var sarTable = [...][2]int{
	{0, 0}, {1, 1}, {12, 11}, {10, 11}, {16, 11}, {40, 33}, {24, 11}, {20, 11}, {32, 11},
	{80, 33}, {18, 11}, {15, 11}, {64, 33}, {160, 99}, {4, 3}, {3, 2}, {2, 1},
}
