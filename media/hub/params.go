package hub

import (
	"errors"
	"fmt"
	"math"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// ErrReordered is H264Params' refusal of an SPS that announces reordered pictures
// (B-frames): TRTC rooms carry none.
var ErrReordered = errors.New("hub: the H.264 SPS announces reordered pictures (B-frames)")

// H264Params are the parameters of an H.264 stream with these parameter sets (without
// start codes): its picture and nominal frame rate as the SPS says.
func H264Params(sps, pps []byte) (Params, error) {
	if len(sps) == 0 || len(pps) == 0 {
		return Params{}, errors.New("hub: an H.264 stream needs its SPS and PPS")
	}
	var s mch264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return Params{}, fmt.Errorf("hub: the H.264 SPS: %w", err)
	}
	if v := s.VUI; v != nil && v.BitstreamRestriction != nil && v.BitstreamRestriction.MaxNumReorderFrames > 0 {
		return Params{}, ErrReordered
	}
	fps := s.FPS()
	if math.IsNaN(fps) || math.IsInf(fps, 0) || fps < 0 || fps > 240 {
		fps = 0
	}
	w, h := s.Width(), s.Height()
	if w <= 0 || h <= 0 {
		return Params{}, fmt.Errorf("hub: the H.264 SPS says the picture is %dx%d", w, h)
	}
	return Params{Codec: H264, SPS: sps, PPS: pps, Width: w, Height: h, FPS: int(math.Round(fps))}, nil
}
