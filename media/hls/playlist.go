package hls

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Playlist renders the media playlist of the finished segments, with #EXT-X-ENDLIST when
// ended. The header lines and their order are the real service's:
//
//	#EXTM3U
//	#EXT-X-VERSION:3
//	#EXT-X-ALLOW-CACHE:NO
//	#EXT-X-MEDIA-SEQUENCE:0
//	#EXT-X-TARGETDURATION:<s>
//	#EXT-X-TRTC-START-REC-TIME:<unix ms>
//	#EXT-X-TRTC-VIDEO-METADATA:WIDTH:<w> HEIGHT:<h>
//
// (seed: On-Cloud Recording, "Recording start time"). The metadata line is left out of an
// audio-only playlist. START-REC-TIME is Config.RecordingStart, or StartTime when unset.
// Resumed segments come first; #EXT-X-DISCONTINUITY precedes the first segment of each later
// run. #EXTINF carries three decimals like the service's, followed by the comma
// RFC 8216 requires (the service's sample omits it; players accept both).
func (s *Segmenter) Playlist(ended bool) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n#EXT-X-MEDIA-SEQUENCE:0\n")
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", s.targetDuration())
	start := s.cfg.RecordingStart
	if start.IsZero() {
		start = s.cfg.StartTime
	}
	fmt.Fprintf(&b, "#EXT-X-TRTC-START-REC-TIME:%d\n", start.UnixMilli())
	if s.cfg.Video {
		fmt.Fprintf(&b, "#EXT-X-TRTC-VIDEO-METADATA:WIDTH:%d HEIGHT:%d\n", s.cfg.Width, s.cfg.Height)
	}
	for _, seg := range s.segments {
		if seg.Discontinuity {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		fmt.Fprintf(&b, "#EXTINF:%s,\n%s\n", extinf(seg.Duration), seg.Name)
	}
	if ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return []byte(b.String())
}

// targetDuration is the configured target in whole seconds, raised to cover every segment:
// RFC 8216 4.3.3.1 wants each EXTINF, rounded to the nearest integer, not above it, and a
// segment runs to the first keyframe after the target.
func (s *Segmenter) targetDuration() int {
	t := int(math.Ceil(s.cfg.TargetDuration.Seconds()))
	for _, seg := range s.segments {
		secs, _ := strconv.ParseFloat(extinf(seg.Duration), 64) // as written, not as measured
		t = max(t, int(math.Round(secs)))
	}
	return t
}

func extinf(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
