package mp4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// ErrParamsChanged is returned by FragmentWriter.WriteVideo for parameter sets that differ from
// those of the file's sample description (a fragmented file has one per track): the caller
// starts a new file.
var ErrParamsChanged = errors.New("mp4: the video's SPS or PPS changed within a fragmented file")

// unconfiguredWait is how long a FragmentWriter waits for a declared track's first sample
// (which gives its configuration) before it writes the header without that track.
const unconfiguredWait = 3 * time.Second

// FragmentWriter writes one H.264 and/or one AAC track as a fragmented MP4 (ISO/IEC 14496-12
// 8.8): ftyp and a moov with mvex, then a moof+mdat fragment at each Flush. Everything up to the
// last complete fragment is a valid file, which is what makes it crash-safe in the spool:
// Defragment turns it, whole or cut anywhere, into a progressive MP4. The boxes are written by
// mediacommon's fmp4 package.
//
// The input is that of Muxer (Annex B access units, ADTS frames, times on the caller's clock,
// which must not be negative). A sample's duration is known when the next one of its track
// comes, so each track's last sample waits for the next Flush; Close writes it with the
// duration of the one before. A track may pause: the sample before the gap lasts until the
// next one. Not safe for concurrent use.
type FragmentWriter struct {
	w            io.Writer
	video, audio *fragTrack
	tracks       []*fragTrack // video first
	sps, pps     []byte
	audioConfig  *aac.AudioSpecificConfig
	configGiven  bool
	headerDone   bool
	seq          uint32
	written      int64
	pending      int64 // bytes of the samples not yet written
	samples      int64 // received
	buf          seekablebuffer.Buffer
	err          error
	closed       bool
}

type fragTrack struct {
	id        int
	timescale uint32
	video     bool
	samples   []fragSample // not yet written; the last one waits for its duration
	lastDTS   int64
	started   bool
	lastDur   uint32        // duration of the last sample written, ticks
	start     time.Duration // earliest presentation time
	end       time.Duration // presentation end of the latest sample
	dropped   bool          // left out of the header: no sample came in time
	preset    bool          // configured by NewFragmentWriter: in the header without a sample
}

type fragSample struct {
	dts     int64
	cto     int32
	key     bool
	payload []byte
}

// NewFragmentWriter returns a writer of tracks to w; nothing is written before the first Flush.
func NewFragmentWriter(w io.Writer, tracks Tracks) (*FragmentWriter, error) {
	if !tracks.Video && !tracks.Audio {
		return nil, errors.New("mp4: a file needs a video or an audio track")
	}
	f := &FragmentWriter{w: w}
	if tracks.Video {
		f.video = &fragTrack{timescale: VideoTimescale, video: true}
		f.tracks = append(f.tracks, f.video)
		if tracks.VideoSPS != nil || tracks.VideoPPS != nil {
			if _, err := videoEntry([][]byte{tracks.VideoSPS}, [][]byte{tracks.VideoPPS}); err != nil {
				return nil, err
			}
			f.sps, f.pps, f.video.preset = bytes.Clone(tracks.VideoSPS), bytes.Clone(tracks.VideoPPS), true
		}
	}
	if tracks.Audio {
		if c := tracks.AudioConfig; c != nil {
			if err := c.Validate(); err != nil {
				return nil, fmt.Errorf("mp4: audio config: %w", err)
			}
			cc := *c
			f.audioConfig, f.configGiven = &cc, true
		}
		f.audio = &fragTrack{}
		if f.configGiven {
			f.audio.timescale, f.audio.preset = uint32(f.audioConfig.SampleRate), true
		}
		f.tracks = append(f.tracks, f.audio)
	}
	for i, t := range f.tracks {
		t.id = i + 1
	}
	return f, nil
}

func (f *FragmentWriter) usable() error {
	if f.closed {
		return ErrFinished
	}
	return f.err
}

// WriteVideo adds one access unit, as Muxer.WriteVideo does; SPS and PPS other than the
// first (or Tracks.VideoSPS and VideoPPS) are refused with ErrParamsChanged.
func (f *FragmentWriter) WriteVideo(pts, dts time.Duration, key bool, annexB []byte) error {
	if err := f.usable(); err != nil {
		return err
	}
	t := f.video
	if t == nil || t.dropped {
		return errors.New("mp4: no video track")
	}
	if dts < 0 || pts < dts {
		return fmt.Errorf("mp4: video pts %v, dts %v: dts must not be negative nor after pts", pts, dts)
	}
	dtsTicks := ticks(dts, VideoTimescale)
	if t.started && dtsTicks <= t.lastDTS {
		return fmt.Errorf("mp4: video dts %v does not follow the previous one", dts)
	}
	if t.started && dtsTicks-t.lastDTS > math.MaxUint32 {
		return fmt.Errorf("mp4: video dts %v too far after the previous one", dts)
	}
	cto := ticks(pts, VideoTimescale) - dtsTicks
	if cto > math.MaxInt32 {
		return fmt.Errorf("mp4: video pts %v too far after dts %v", pts, dts)
	}
	nalus, err := h264.SplitAnnexB(annexB)
	if err != nil {
		return fmt.Errorf("mp4: video: %w", err)
	}
	var sps, pps []byte
	var rest [][]byte
	for _, n := range nalus {
		switch h264.TypeOf(n) {
		case h264.NALUSPS:
			sps = n
		case h264.NALUPPS:
			pps = n
		case h264.NALUAUD:
		default:
			rest = append(rest, n)
		}
	}
	if t.started || t.preset {
		if sps != nil && !bytes.Equal(sps, f.sps) || pps != nil && !bytes.Equal(pps, f.pps) {
			return ErrParamsChanged
		}
	} else if sps != nil || pps != nil {
		if sps == nil {
			sps = f.sps
		}
		if pps == nil {
			pps = f.pps
		}
		if sps != nil && pps != nil {
			if _, err := videoEntry([][]byte{sps}, [][]byte{pps}); err != nil {
				return err
			}
		}
		f.sps, f.pps = bytes.Clone(sps), bytes.Clone(pps)
	}
	if !t.started && !key || len(rest) == 0 {
		return nil // before the first keyframe, or parameter sets alone
	}
	if !t.started && (len(f.sps) == 0 || len(f.pps) == 0) {
		return errors.New("mp4: video: the first keyframe comes without SPS and PPS")
	}
	payload, err := h264.AppendAVCC(nil, rest, 4)
	if err != nil {
		return fmt.Errorf("mp4: video: %w", err)
	}
	f.add(t, pts, dtsTicks, int32(cto), key, payload, time.Second/30)
	return nil
}

// WriteAudio adds ADTS frames, as Muxer.WriteAudio does.
func (f *FragmentWriter) WriteAudio(pts time.Duration, adts []byte) error {
	if err := f.usable(); err != nil {
		return err
	}
	t := f.audio
	if t == nil || t.dropped {
		return errors.New("mp4: no audio track")
	}
	if pts < 0 {
		return fmt.Errorf("mp4: audio pts %v is negative", pts)
	}
	payloads, samples, cfg, err := adtsFrames(adts, f.audioConfig, f.configGiven)
	if err != nil {
		return err
	}
	if !t.started {
		if _, err := cfg.Marshal(); err != nil {
			return fmt.Errorf("mp4: audio config: %w", err)
		}
		f.audioConfig = cfg
		t.timescale = uint32(cfg.SampleRate)
	}
	first := ticks(pts, t.timescale)
	if t.started && first <= t.lastDTS {
		return fmt.Errorf("mp4: audio pts %v does not follow the previous frame", pts)
	}
	if t.started && first-t.lastDTS > math.MaxUint32 {
		return fmt.Errorf("mp4: audio pts %v too far after the previous frame", pts)
	}
	frame := aac.SamplesDuration(int64(samples), int(t.timescale))
	for i, p := range payloads {
		at := pts + aac.SamplesDuration(int64(i*samples), int(t.timescale))
		f.add(t, at, first+int64(i*samples), 0, true, append([]byte(nil), p...), frame)
	}
	return nil
}

func (f *FragmentWriter) add(t *fragTrack, pts time.Duration, dts int64, cto int32, key bool, payload []byte, nominal time.Duration) {
	if !t.started || pts < t.start {
		t.start = pts
	}
	if !t.started {
		t.lastDur = uint32(ticks(nominal, t.timescale))
	}
	t.started = true
	t.lastDTS = dts
	t.samples = append(t.samples, fragSample{dts: dts, cto: cto, key: key, payload: payload})
	t.end = max(t.end, pts+duration(int64(t.lastDur), t.timescale))
	if n := len(t.samples); n > 1 {
		t.end = max(t.end, pts+duration(dts-t.samples[n-2].dts, t.timescale))
	}
	f.pending += int64(len(payload))
	f.samples++
}

// Flush writes the samples received so far as one fragment, each track's last one excepted
// (the header first, once every declared track has had a sample, or a track is dropped after
// waiting unconfiguredWait for its first one). It returns the first write error, which sticks.
func (f *FragmentWriter) Flush() error {
	if err := f.usable(); err != nil {
		return err
	}
	return f.flush(false)
}

// Close writes every sample left, the last ones included, and ends the file; the writer cannot
// be used afterwards. A file without any sample is an error.
func (f *FragmentWriter) Close() error {
	if err := f.usable(); err != nil {
		return err
	}
	err := f.flush(true)
	f.closed = true
	if err == nil && !f.headerDone {
		return errors.New("mp4: no samples to write")
	}
	return err
}

func (f *FragmentWriter) flush(all bool) error {
	if !f.headerDone {
		ready := true
		var first, last time.Duration
		some := false
		for _, t := range f.tracks {
			if !t.started {
				ready = ready && t.preset
				continue
			}
			if !some || t.start < first {
				first = t.start
			}
			last = max(last, t.end)
			some = true
		}
		if !some || !ready && !all && last-first < unconfiguredWait {
			return nil
		}
		if err := f.writeHeader(); err != nil {
			return err
		}
	}
	part := fmp4.Part{SequenceNumber: f.seq + 1}
	var n int64
	for _, t := range f.tracks {
		if t.dropped || len(t.samples) == 0 {
			continue
		}
		keep := 1
		if all {
			keep = 0
		}
		if len(t.samples) <= keep {
			continue
		}
		out := t.samples[:len(t.samples)-keep]
		pt := &fmp4.PartTrack{ID: t.id, BaseTime: uint64(out[0].dts), Samples: make([]*fmp4.Sample, len(out))}
		for i, s := range out {
			d := t.lastDur
			if i+1 < len(t.samples) {
				d = uint32(t.samples[i+1].dts - s.dts)
			}
			t.lastDur = d
			pt.Samples[i] = &fmp4.Sample{Duration: d, PTSOffset: s.cto, IsNonSyncSample: !s.key, Payload: s.payload}
			n += int64(len(s.payload))
		}
		part.Tracks = append(part.Tracks, pt)
		t.samples = append(t.samples[:0], t.samples[len(out):]...)
	}
	if len(part.Tracks) == 0 {
		return nil
	}
	f.buf.Reset()
	if err := part.Marshal(&f.buf); err != nil {
		f.err = fmt.Errorf("mp4: fragment: %w", err)
		return f.err
	}
	if err := f.out(f.buf.Bytes()); err != nil {
		return err
	}
	f.seq++
	f.pending -= n
	return nil
}

// writeHeader writes ftyp and moov with the tracks that have a sample or were configured up
// front; the others are dropped.
func (f *FragmentWriter) writeHeader() error {
	var init fmp4.Init
	for _, t := range f.tracks {
		if !t.started && !t.preset {
			t.dropped = true
			continue
		}
		it := &fmp4.InitTrack{ID: t.id, TimeScale: t.timescale}
		if t.video {
			it.Codec = &fmp4.CodecH264{SPS: f.sps, PPS: f.pps}
		} else {
			asc, err := f.audioConfig.Marshal()
			if err != nil {
				return fmt.Errorf("mp4: audio config: %w", err)
			}
			var c mpeg4audio.AudioSpecificConfig
			if err := c.Unmarshal(asc); err != nil {
				return fmt.Errorf("mp4: audio config: %w", err)
			}
			it.Codec = &fmp4.CodecMPEG4Audio{Config: c}
		}
		init.Tracks = append(init.Tracks, it)
	}
	f.buf.Reset()
	if err := init.Marshal(&f.buf); err != nil {
		f.err = fmt.Errorf("mp4: header: %w", err)
		return f.err
	}
	if err := f.out(f.buf.Bytes()); err != nil {
		return err
	}
	f.headerDone = true
	return nil
}

func (f *FragmentWriter) out(b []byte) error {
	n, err := f.w.Write(b)
	f.written += int64(n)
	if err != nil {
		f.err = fmt.Errorf("mp4: %w", err)
	}
	return f.err
}

// Size is an upper bound of the progressive file Defragment makes of what was received: the
// sample data written and waiting plus the fragments' headers, which outweigh the moov tables
// (at most 20 bytes a sample, Muxer's tableEstimate).
func (f *FragmentWriter) Size() int64 { return f.written + f.pending + 20*f.samples }

// Duration is the presentation time of the samples received: from the earliest presentation
// time to the end of the track that ends last.
func (f *FragmentWriter) Duration() time.Duration {
	start, end, ok := f.span()
	if !ok {
		return 0
	}
	return end - start
}

func (f *FragmentWriter) span() (start, end time.Duration, ok bool) {
	for _, t := range f.tracks {
		if !t.started || t.dropped {
			continue
		}
		if !ok || t.start < start {
			start = t.start
		}
		end = max(end, t.end)
		ok = true
	}
	return start, end, ok
}
