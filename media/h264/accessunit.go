package h264

import "time"

// AccessUnit is one coded picture with the NAL units that precede it (SPS and PPS before an
// IDR), each without start code or length prefix.
type AccessUnit struct {
	PTS   time.Duration // presentation time from the start of the stream
	Key   bool          // an IDR picture: decoding can start here
	NALUs [][]byte
}

// AnnexB returns the access unit as an Annex B byte stream (4-byte start codes).
func (au AccessUnit) AnnexB() []byte { return AppendAnnexB(nil, au.NALUs) }
