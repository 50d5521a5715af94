package mp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// ErrNothingRecovered says a fragmented file holds no complete header and fragment.
var ErrNothingRecovered = errors.New("mp4: no complete fragment")

// Limits of what Defragment reads as one box: the header is small, a fragment is about a second.
const (
	maxHeaderBox   = 1 << 20
	maxFragmentBox = 256 << 20
)

// Recovered is what Defragment found in a fragmented file.
type Recovered struct {
	Bytes        int64 // the valid prefix: header and complete fragments; what follows is cut off
	Fragments    int
	Video, Audio bool          // the tracks of the file written
	Start, End   time.Duration // its presentation interval on the writer's clock
}

// Defragment reads the fragmented MP4 of FragmentWriter in src (size bytes, cut anywhere:
// after a crash) up to its last complete fragment and writes its samples to dst as a
// progressive MP4 (Muxer, with scratch for the sample data). A fragment that does not parse
// ends the file as a cut would. Without a header and one complete fragment it returns
// ErrNothingRecovered and writes nothing.
func Defragment(src io.ReaderAt, size int64, dst io.Writer, scratch io.ReadWriteSeeker) (Recovered, error) {
	return DefragmentUntil(src, size, dst, scratch, -1)
}

// DefragmentUntil is Defragment with the presentation ending at end (Muxer.EndAt) when end
// is not negative.
func DefragmentUntil(src io.ReaderAt, size int64, dst io.Writer, scratch io.ReadWriteSeeker, end time.Duration) (Recovered, error) {
	var rec Recovered
	var pos int64
	next := func(limit int64) (typ string, body []byte, ok bool) {
		var h [16]byte
		if size-pos < 8 {
			return "", nil, false
		}
		if _, err := src.ReadAt(h[:8], pos); err != nil {
			return "", nil, false
		}
		n, hl := int64(binary.BigEndian.Uint32(h[:4])), int64(8)
		if n == 1 {
			if size-pos < 16 {
				return "", nil, false
			}
			if _, err := src.ReadAt(h[8:16], pos+8); err != nil {
				return "", nil, false
			}
			n, hl = int64(binary.BigEndian.Uint64(h[8:16])), 16
		}
		if n < hl || n > limit || n > size-pos {
			return "", nil, false // size 0 (to the end), a bad size or a cut box
		}
		b := make([]byte, n)
		if _, err := src.ReadAt(b, pos); err != nil {
			return "", nil, false
		}
		pos += n
		return string(h[4:8]), b, true
	}
	ftypT, ftypB, ok1 := next(maxHeaderBox)
	moovT, moovB, ok2 := next(maxHeaderBox)
	if !ok1 || !ok2 || ftypT != "ftyp" || moovT != "moov" {
		return rec, ErrNothingRecovered
	}
	var init fmp4.Init
	if err := guard(func() error { return init.Unmarshal(bytes.NewReader(append(ftypB, moovB...))) }); err != nil {
		return rec, fmt.Errorf("%w: header: %v", ErrNothingRecovered, err)
	}
	c, err := newConverter(&init, scratch)
	if err != nil {
		return rec, fmt.Errorf("%w: %v", ErrNothingRecovered, err)
	}
	rec.Bytes = pos
	for {
		start := pos
		moofT, moofB, ok1 := next(maxFragmentBox)
		mdatT, mdatB, ok2 := next(maxFragmentBox)
		if !ok1 || !ok2 || moofT != "moof" || mdatT != "mdat" {
			break
		}
		var parts fmp4.Parts
		if err := guard(func() error { return parts.Unmarshal(append(moofB, mdatB...)) }); err != nil || len(parts) != 1 {
			break
		}
		if !c.fits(parts[0]) {
			break
		}
		if err := c.write(parts[0]); err != nil {
			return rec, err // the muxer's scratch failed, or a sample it refused after fits
		}
		pos = start + int64(len(moofB)+len(mdatB))
		rec.Bytes = pos
		rec.Fragments++
	}
	if rec.Fragments == 0 {
		return rec, ErrNothingRecovered
	}
	rec.Video = c.video != nil && len(c.m.video.samples) > 0
	rec.Audio = c.audio != nil && len(c.m.audio.samples) > 0
	if end >= 0 {
		c.m.EndAt(end)
	}
	rec.Start, rec.End, _ = c.m.span()
	if err := c.m.Finish(dst); err != nil {
		return rec, err
	}
	return rec, nil
}

// guard runs a parser of spool bytes, turning a panic into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mp4: parse: %v", r)
		}
	}()
	return fn()
}

// converter feeds a fragmented file's samples to a Muxer.
type converter struct {
	m            *Muxer
	video, audio *fmp4.InitTrack
	sps, pps     []byte
	samples      int // audio samples per frame
	last         map[int]int64
	started      bool
}

func newConverter(init *fmp4.Init, scratch io.ReadWriteSeeker) (*converter, error) {
	c := &converter{last: map[int]int64{}}
	var tracks Tracks
	for _, it := range init.Tracks {
		switch codec := it.Codec.(type) {
		case *fmp4.CodecH264:
			if c.video != nil || it.TimeScale == 0 {
				return nil, errors.New("mp4: a second or bad video track")
			}
			c.video, c.sps, c.pps = it, codec.SPS, codec.PPS
			if _, err := videoEntry([][]byte{c.sps}, [][]byte{c.pps}); err != nil {
				return nil, err
			}
			tracks.Video = true
		case *fmp4.CodecMPEG4Audio:
			if c.audio != nil {
				return nil, errors.New("mp4: a second audio track")
			}
			asc, err := codec.Config.Marshal()
			if err != nil {
				return nil, err
			}
			cfg, err := aac.ParseAudioSpecificConfig(asc)
			if err != nil {
				return nil, err
			}
			if cfg.Validate() != nil || uint32(cfg.SampleRate) != it.TimeScale {
				return nil, fmt.Errorf("mp4: audio track of %d Hz in a timescale of %d", cfg.SampleRate, it.TimeScale)
			}
			c.audio = it
			c.samples = aac.SamplesPerFrame
			if cfg.FrameLength960 {
				c.samples = 960
			}
			tracks.Audio, tracks.AudioConfig = true, &cfg
		default:
			return nil, fmt.Errorf("mp4: a %T track", it.Codec)
		}
	}
	m, err := NewMuxer(scratch, tracks)
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

// fits checks that a fragment continues the file: known tracks, decoding times that go on
// increasing, a keyframe first, H.264 samples that split into NAL units.
func (c *converter) fits(p *fmp4.Part) bool {
	last := map[int]int64{}
	for k, v := range c.last {
		last[k] = v
	}
	for _, pt := range p.Tracks {
		if c.trackOf(pt.ID) == nil || pt.BaseTime > 1<<62 {
			return false
		}
		dts := int64(pt.BaseTime)
		for i, s := range pt.Samples {
			if l, ok := last[pt.ID]; ok && dts <= l {
				return false
			}
			if c.video != nil && pt.ID == c.video.ID {
				if !c.started && i == 0 && s.IsNonSyncSample || s.PTSOffset < 0 {
					return false
				}
				if _, err := h264.SplitAVCC(s.Payload, 4); err != nil {
					return false
				}
			}
			last[pt.ID] = dts
			dts += int64(s.Duration)
		}
	}
	return true
}

func (c *converter) trackOf(id int) *fmp4.InitTrack {
	switch {
	case c.video != nil && c.video.ID == id:
		return c.video
	case c.audio != nil && c.audio.ID == id:
		return c.audio
	}
	return nil
}

// write feeds a fragment's samples to the muxer, the tracks interleaved by decoding time.
func (c *converter) write(p *fmp4.Part) error {
	type cursor struct {
		t   *fmp4.PartTrack
		i   int
		dts int64
	}
	var cs []*cursor
	for _, pt := range p.Tracks {
		cs = append(cs, &cursor{t: pt, dts: int64(pt.BaseTime)})
	}
	for {
		var best *cursor
		var bestAt time.Duration
		for _, cu := range cs {
			if cu.i == len(cu.t.Samples) {
				continue
			}
			at := duration(cu.dts, c.trackOf(cu.t.ID).TimeScale)
			if best == nil || at < bestAt {
				best, bestAt = cu, at
			}
		}
		if best == nil {
			return nil
		}
		s := best.t.Samples[best.i]
		ts := c.trackOf(best.t.ID).TimeScale
		var err error
		if c.video != nil && best.t.ID == c.video.ID {
			nalus, _ := h264.SplitAVCC(s.Payload, 4)
			if !c.started {
				nalus = append([][]byte{c.sps, c.pps}, nalus...)
				c.started = true
			}
			pts := duration(best.dts+int64(s.PTSOffset), ts)
			err = c.m.writeVideoNALUs(pts, bestAt, !s.IsNonSyncSample, nalus)
		} else {
			err = c.m.addAudio(bestAt, c.m.audioConfig, c.samples, [][]byte{s.Payload})
		}
		if err != nil {
			return err
		}
		c.last[best.t.ID] = best.dts
		best.dts += int64(s.Duration)
		best.i++
	}
}
