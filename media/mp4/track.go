package mp4

import "time"

// track is one trak in the making: its sample tables and the chunk it is filling.
type track struct {
	handler   string // "vide" or "soun"
	timescale uint32
	nominal   int64 // duration of a lone last sample in ticks (audio: samples per frame)

	samples []sample
	syncs   []uint32 // 1-based numbers of the sync samples (video)
	chunks  []chunk
	entries []entry
	bytes   int64
	maxSize uint32
	hasCTO  bool // some sample has pts != dts

	minPTS      time.Duration // earliest presentation time
	minPTSTicks int64

	pending      []byte
	pendingN     int
	pendingAt    time.Duration // decoding time of the pending chunk's first sample
	pendingEntry int           // its sample description, 1-based
}

type sample struct {
	dts  int64 // decoding time in ticks of the caller's clock
	cto  int32 // composition offset: pts - dts in ticks
	size uint32
}

type chunk struct {
	offset  int64 // in the scratch data
	samples uint32
	entry   uint32 // sample description index, 1-based
}

// entry is a sample description: avc1 or mp4a.
type entry struct {
	config []byte // AVCDecoderConfigurationRecord or AudioSpecificConfig
	// video
	width, height int
	sarW, sarH    int   // pixel aspect ratio when the SPS gives one
	frameTicks    int64 // one frame at the SPS's frame rate, or 1/30 s
	// audio
	channels, rate int
}

func (t *track) add(dts, pts time.Duration, dtsTicks, cto int64, size int, key bool) {
	if len(t.samples) == 0 || pts < t.minPTS {
		t.minPTS, t.minPTSTicks = pts, dtsTicks+cto
	}
	t.samples = append(t.samples, sample{dts: dtsTicks, cto: int32(cto), size: uint32(size)})
	if cto != 0 {
		t.hasCTO = true
	}
	if key && t.handler == "vide" {
		t.syncs = append(t.syncs, uint32(len(t.samples)))
	}
	t.pendingN++
	t.bytes += int64(size)
	t.maxSize = max(t.maxSize, uint32(size))
}

func (t *track) lastDTS() int64 { return t.samples[len(t.samples)-1].dts }

// sampleDuration is the duration of sample i: to the next one's dts; the last one lasts as
// long as the one before it, or a frame when it is alone.
func (t *track) sampleDuration(i int) int64 {
	switch {
	case i+1 < len(t.samples):
		return t.samples[i+1].dts - t.samples[i].dts
	case i > 0:
		return t.samples[i].dts - t.samples[i-1].dts
	case t.handler == "vide":
		return t.entries[len(t.entries)-1].frameTicks
	}
	return t.nominal
}

// mediaDuration is the sum of the sample durations, in ticks.
func (t *track) mediaDuration() int64 {
	n := len(t.samples)
	return t.samples[n-1].dts - t.samples[0].dts + t.sampleDuration(n-1)
}

// mediaStart is the media time the presentation starts at: the composition time of the
// earliest picture (0 without reordering).
func (t *track) mediaStart() int64 { return t.minPTSTicks - t.samples[0].dts }

// span is the presentation interval on the caller's clock.
func (t *track) span() (start, end time.Duration) {
	return t.minPTS, t.minPTS + duration(t.mediaDuration(), t.timescale)
}

// tableEstimate is an upper bound of the trak box's size.
func (t *track) tableEstimate() int64 {
	n := int64(1024) // trak … stbl headers, tkhd, mdhd, hdlr, vmhd/smhd, dinf, elst, counts
	for _, e := range t.entries {
		n += 256 + int64(len(e.config))
	}
	perSample := int64(4 + 8) // stsz, stts
	if t.hasCTO {
		perSample += 8
	}
	n += perSample*int64(len(t.samples)) + 4*int64(len(t.syncs))
	return n + (8+12)*int64(len(t.chunks)+1) // co64, stsc
}

// maxBitrate is the highest bit rate over any one-second window of decoding time.
func (t *track) maxBitrate() uint32 {
	var best, sum int64
	window := int64(t.timescale)
	j := 0
	for _, s := range t.samples {
		sum += int64(s.size)
		for s.dts-t.samples[j].dts >= window {
			sum -= int64(t.samples[j].size)
			j++
		}
		best = max(best, sum)
	}
	return uint32(min(best*8, 1<<32-1))
}

// avgBitrate is the mean bit rate of the track.
func (t *track) avgBitrate() uint32 {
	d := t.mediaDuration()
	if d <= 0 {
		return 0
	}
	return uint32(min(t.bytes*8*int64(t.timescale)/d, 1<<32-1))
}
