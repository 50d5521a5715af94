package mp4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// Timescales of the file: the movie's (mvhd, tkhd, elst) and the video media's. Audio media
// counts in samples: its timescale is the sample rate.
const (
	MovieTimescale = 1000
	VideoTimescale = 90000
)

const (
	// A chunk holds consecutive samples of one track covering at most chunkDuration (or
	// maxChunkBytes): chunks of equal length keep stsc to a few entries, and a second of
	// interleaving is what players read ahead anyway.
	chunkDuration = time.Second
	maxChunkBytes = 1 << 20
	// defaultFrameTicks is the duration of the last video sample when the stream has only one
	// and its SPS names no frame rate: 1/30 s.
	defaultFrameTicks = VideoTimescale / 30
)

// ErrFinished is returned by every call after Finish.
var ErrFinished = errors.New("mp4: muxer already finished")

// Tracks says what the file holds.
type Tracks struct {
	Video bool // H.264, SPS and PPS found in-band
	Audio bool // AAC in ADTS frames
	// AudioConfig is written to the esds when set (e.g. to signal HE-AAC, which ADTS cannot);
	// otherwise the AudioSpecificConfig comes from the first ADTS header. The ADTS frames must
	// have its SampleRate.
	AudioConfig *aac.AudioSpecificConfig
	// VideoSPS and VideoPPS, when set, are the video track's parameter sets from the start
	// (FragmentWriter only: its header then holds a video track whose first sample may come
	// at any time); in-band ones must be equal.
	VideoSPS, VideoPPS []byte
}

// Muxer writes one H.264 and/or one AAC track as a progressive MP4. Timestamps are
// time.Durations on the caller's media clock; the file starts at the earliest presentation time
// of its samples, and a track that starts later gets an edit list that keeps it in sync. It is
// not safe for concurrent use.
type Muxer struct {
	scratch      io.ReadWriteSeeker
	scratchStart int64 // where the sample data starts in scratch
	written      int64 // sample bytes written to scratch
	video, audio *track
	tracks       []*track // video first
	err          error    // the first scratch write error: it sticks
	finished     bool

	// The parameter sets last seen in the video stream; paramsNew says they differ from those of
	// the video track's current sample entry.
	sps, pps  [][]byte
	paramsNew bool
	avcc      [][]byte // scratch: the NAL units of one sample

	audioConfig *aac.AudioSpecificConfig // given or from the first ADTS header
	configGiven bool                     // audioConfig came from Tracks
	wide        bool                     // tests: co64 and a 64-bit mdat size even for small files
	end         time.Duration            // EndAt
	endSet      bool
}

// EndAt makes the presentation end at end (caller's clock): a track that goes on past it is
// cut there by its edit list. A recording split at a keyframe ends each file where the next
// begins, though the audio frame that straddles the split is in the earlier file.
func (m *Muxer) EndAt(end time.Duration) { m.end, m.endSet = end, true }

// NewMuxer returns a muxer for tracks that writes sample data to scratch from its current
// position on (a temporary file, say, which the caller removes after Finish).
func NewMuxer(scratch io.ReadWriteSeeker, tracks Tracks) (*Muxer, error) {
	if !tracks.Video && !tracks.Audio {
		return nil, errors.New("mp4: a file needs a video or an audio track")
	}
	if scratch == nil {
		return nil, errors.New("mp4: no scratch file")
	}
	start, err := scratch.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("mp4: scratch: %w", err)
	}
	m := &Muxer{scratch: scratch, scratchStart: start}
	if tracks.Video {
		m.video = &track{handler: "vide", timescale: VideoTimescale}
		m.tracks = append(m.tracks, m.video)
	}
	if tracks.Audio {
		if c := tracks.AudioConfig; c != nil {
			if err := c.Validate(); err != nil {
				return nil, fmt.Errorf("mp4: audio config: %w", err)
			}
			cc := *c
			m.audioConfig, m.configGiven = &cc, true
		}
		m.audio = &track{handler: "soun"}
		m.tracks = append(m.tracks, m.audio)
	}
	return m, nil
}

// WriteVideo adds one H.264 access unit in Annex B form. SPS and PPS come in-band: units before
// the first keyframe are dropped, the first keyframe needs parameter sets in front (or in an
// earlier unit), and new ones start a new sample description. Samples hold the other NAL units
// with 4-byte lengths (no SPS, PPS or AUD). dts must increase from unit to unit and pts must not
// be before dts; the composition offsets (ctts) are written only when some pts differs from its dts.
func (m *Muxer) WriteVideo(pts, dts time.Duration, key bool, annexB []byte) error {
	if err := m.usable(); err != nil {
		return err
	}
	if m.video == nil {
		return errors.New("mp4: no video track")
	}
	nalus, err := h264.SplitAnnexB(annexB)
	if err != nil {
		return fmt.Errorf("mp4: video: %w", err)
	}
	return m.writeVideoNALUs(pts, dts, key, nalus)
}

// writeVideoNALUs is WriteVideo on the access unit's NAL units.
func (m *Muxer) writeVideoNALUs(pts, dts time.Duration, key bool, nalus [][]byte) error {
	t := m.video
	if pts < dts {
		return fmt.Errorf("mp4: video pts %v before dts %v", pts, dts)
	}
	dtsTicks := ticks(dts, VideoTimescale)
	if len(t.samples) > 0 && dtsTicks <= t.lastDTS() {
		return fmt.Errorf("mp4: video dts %v does not follow the previous one", dts)
	}
	var err error
	var sps, pps [][]byte
	m.avcc = m.avcc[:0]
	for _, n := range nalus {
		switch h264.TypeOf(n) {
		case h264.NALUSPS:
			sps = append(sps, n)
		case h264.NALUPPS:
			pps = append(pps, n)
		case h264.NALUAUD:
		default:
			m.avcc = append(m.avcc, n)
		}
	}
	// New parameter sets are checked before they replace the old ones: a unit with a broken SPS
	// is refused and leaves the muxer as it was.
	newSPS, newPPS := len(sps) > 0 && !equalSets(sps, m.sps), len(pps) > 0 && !equalSets(pps, m.pps)
	if newSPS || newPPS {
		if !newSPS {
			sps = m.sps
		}
		if !newPPS {
			pps = m.pps
		}
		if len(sps) > 0 && len(pps) > 0 {
			if _, err := videoEntry(sps, pps); err != nil {
				return err
			}
		}
		m.sps, m.pps, m.paramsNew = cloneSets(sps), cloneSets(pps), true
	}
	if len(t.samples) == 0 && !key || len(m.avcc) == 0 {
		return nil // before the first keyframe, or parameter sets alone
	}
	cto := ticks(pts, VideoTimescale) - dtsTicks
	if cto > math.MaxInt32 {
		return fmt.Errorf("mp4: video pts %v too far after dts %v", pts, dts)
	}
	if len(t.samples) > 0 && dtsTicks-t.lastDTS() > math.MaxUint32 {
		return fmt.Errorf("mp4: video dts %v too far after the previous one", dts)
	}
	if m.paramsNew || len(t.entries) == 0 {
		e, err := videoEntry(m.sps, m.pps)
		if err != nil {
			return err
		}
		t.entries = append(t.entries, e)
		m.paramsNew = false
	}
	size := 0
	for _, n := range m.avcc {
		size += 4 + len(n)
	}
	m.place(t, dts, size)
	t.pending, err = h264.AppendAVCC(t.pending, m.avcc, 4)
	if err != nil { // not reached: no NAL unit of an Annex B stream outgrows 4-byte lengths
		return fmt.Errorf("mp4: video: %w", err)
	}
	t.add(dts, pts, dtsTicks, cto, size, key)
	return m.err
}

// WriteAudio adds one ADTS frame or several back to back, pts being the first one's; each frame
// is a sample, stored without its header. Frames must follow each other in time and keep the
// sample rate, channels and object type of the first.
func (m *Muxer) WriteAudio(pts time.Duration, adts []byte) error {
	if err := m.usable(); err != nil {
		return err
	}
	t := m.audio
	if t == nil {
		return errors.New("mp4: no audio track")
	}
	// Check every frame before storing any, so a rejected call stores nothing.
	payloads, samples, cfg, err := adtsFrames(adts, m.audioConfig, m.configGiven)
	if err != nil {
		return err
	}
	return m.addAudio(pts, cfg, samples, payloads)
}

// addAudio stores AAC frames of samples samples each (raw, without ADTS headers) from pts on.
func (m *Muxer) addAudio(pts time.Duration, cfg *aac.AudioSpecificConfig, samples int, payloads [][]byte) error {
	t := m.audio
	if len(t.entries) == 0 {
		asc, err := cfg.Marshal()
		if err != nil {
			return fmt.Errorf("mp4: audio config: %w", err)
		}
		m.audioConfig = cfg
		t.timescale = uint32(cfg.SampleRate)
		t.nominal = int64(samples)
		t.entries = append(t.entries, entry{config: asc, channels: cfg.Channels(), rate: cfg.SampleRate})
	}
	first := ticks(pts, t.timescale)
	if len(t.samples) > 0 && first <= t.lastDTS() {
		return fmt.Errorf("mp4: audio pts %v does not follow the previous frame", pts)
	}
	if len(t.samples) > 0 && first-t.lastDTS() > math.MaxUint32 {
		return fmt.Errorf("mp4: audio pts %v too far after the previous frame", pts)
	}
	for i, p := range payloads {
		at := pts + aac.SamplesDuration(int64(i*samples), int(t.timescale))
		m.place(t, at, len(p))
		t.pending = append(t.pending, p...)
		t.add(at, at, first+int64(i*samples), 0, len(p), true)
	}
	return m.err
}

// adtsFrames checks every ADTS frame of adts against the track's config cfg (nil: the first
// frame's becomes it; configGiven: only the sample rate must match) and returns their raw
// payloads, the samples per frame and the config.
func adtsFrames(adts []byte, cfg *aac.AudioSpecificConfig, configGiven bool) ([][]byte, int, *aac.AudioSpecificConfig, error) {
	frames, err := aac.SplitADTS(adts)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("mp4: audio: %w", err)
	}
	if len(frames) == 0 {
		return nil, 0, nil, errors.New("mp4: audio: no ADTS frame")
	}
	payloads := make([][]byte, len(frames))
	var samples int
	for i, f := range frames {
		h, err := aac.ParseADTSHeader(f)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("mp4: audio: %w", err)
		}
		if h.RawDataBlocks != 1 {
			return nil, 0, nil, fmt.Errorf("mp4: audio: %d raw data blocks in one ADTS frame; one is supported", h.RawDataBlocks)
		}
		if cfg == nil {
			c := h.Config()
			cfg = &c
		}
		if h.SampleRate != cfg.SampleRate {
			return nil, 0, nil, fmt.Errorf("mp4: audio: ADTS sample rate %d, the track's is %d", h.SampleRate, cfg.SampleRate)
		}
		if c := h.Config(); !configGiven && (c.ObjectType != cfg.ObjectType || c.ChannelConfig != cfg.ChannelConfig) {
			return nil, 0, nil, fmt.Errorf("mp4: audio: ADTS object type %d with channel configuration %d, the track has %d with %d",
				c.ObjectType, c.ChannelConfig, cfg.ObjectType, cfg.ChannelConfig)
		}
		if payloads[i], err = aac.ADTSPayload(f); err != nil {
			return nil, 0, nil, fmt.Errorf("mp4: audio: %w", err)
		}
		samples = h.Samples()
	}
	return payloads, samples, cfg, nil
}

func (m *Muxer) usable() error {
	if m.finished {
		return ErrFinished
	}
	return m.err
}

// place makes room in t's pending chunk for a sample of size bytes at time at: it writes out
// the pending chunk of any track that is a chunk's length behind, and t's own when the sample
// would make it too long or belongs to another sample description.
func (m *Muxer) place(t *track, at time.Duration, size int) {
	for _, o := range m.tracks {
		if o.pendingN == 0 {
			continue
		}
		if at-o.pendingAt >= chunkDuration ||
			o == t && (len(o.pending)+size > maxChunkBytes || o.pendingEntry != len(t.entries)) {
			m.flush(o)
		}
	}
	if t.pendingN == 0 {
		t.pendingAt, t.pendingEntry = at, len(t.entries)
	}
}

// flush writes t's pending chunk to scratch.
func (m *Muxer) flush(t *track) {
	if t.pendingN == 0 {
		return
	}
	if m.err == nil {
		if _, err := m.scratch.Write(t.pending); err != nil {
			m.err = fmt.Errorf("mp4: scratch: %w", err)
		}
	}
	t.chunks = append(t.chunks, chunk{offset: m.written, samples: uint32(t.pendingN), entry: uint32(t.pendingEntry)})
	m.written += int64(len(t.pending))
	t.pending, t.pendingN = t.pending[:0], 0
}

// Size is an upper bound of the size the file would have if finished now: the sample data plus
// an estimate of the tables, which is never below their real size.
func (m *Muxer) Size() int64 {
	n := int64(len(ftyp(m.video != nil))) + 16 + m.written + 256 // ftyp, mdat header, moov, mvhd
	for _, t := range m.tracks {
		n += int64(len(t.pending)) + t.tableEstimate()
	}
	return n
}

// Duration is the playing time of the file if finished now: from the earliest presentation time
// to the end of the track that ends last.
func (m *Muxer) Duration() time.Duration {
	start, end, ok := m.span()
	if !ok {
		return 0
	}
	return end - start
}

func (m *Muxer) span() (start, end time.Duration, ok bool) {
	defer func() {
		if ok && m.endSet && m.end > start {
			end = min(end, m.end)
		}
	}()
	for _, t := range m.tracks {
		if len(t.samples) == 0 {
			continue
		}
		s, e := t.span()
		if !ok || s < start {
			start = s
		}
		if !ok || e > end {
			end = e
		}
		ok = true
	}
	return start, end, ok
}

// videoEntry builds the sample description of parameter sets.
func videoEntry(sps, pps [][]byte) (entry, error) {
	if len(sps) == 0 || len(pps) == 0 {
		return entry{}, errors.New("mp4: video: the first keyframe comes without SPS and PPS")
	}
	s, err := h264.ParseSPS(sps[0])
	if err != nil {
		return entry{}, fmt.Errorf("mp4: video: %w", err)
	}
	cfg, err := h264.NewDecoderConfig(sps, pps)
	if err != nil {
		return entry{}, fmt.Errorf("mp4: video: %w", err)
	}
	rec, err := cfg.Marshal()
	if err != nil {
		return entry{}, fmt.Errorf("mp4: video: %w", err)
	}
	if s.Width <= 0 || s.Height <= 0 || s.Width > math.MaxUint16 || s.Height > math.MaxUint16 {
		return entry{}, fmt.Errorf("mp4: video: SPS gives a picture of %dx%d", s.Width, s.Height)
	}
	e := entry{config: rec, width: s.Width, height: s.Height, frameTicks: defaultFrameTicks}
	if s.VUI != nil && s.VUI.SARWidth > 0 && s.VUI.SARHeight > 0 {
		e.sarW, e.sarH = s.VUI.SARWidth, s.VUI.SARHeight
	}
	if fps, ok := s.FrameRate(); ok && fps >= 1 && fps <= 1000 {
		e.frameTicks = int64(VideoTimescale/fps + 0.5)
	}
	return e, nil
}

func equalSets(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func cloneSets(a [][]byte) [][]byte {
	out := make([][]byte, len(a))
	for i, b := range a {
		out[i] = bytes.Clone(b)
	}
	return out
}

// ticks converts d to a timescale, rounding to the nearest tick, without overflow for any d.
func ticks(d time.Duration, timescale uint32) int64 {
	s, ns := int64(d/time.Second), int64(d%time.Second)
	r := ns * int64(timescale)
	half := int64(time.Second / 2)
	if r < 0 {
		half = -half
	}
	return s*int64(timescale) + (r+half)/int64(time.Second)
}

// duration converts ticks of a timescale to a time.Duration.
func duration(n int64, timescale uint32) time.Duration {
	ts := int64(timescale)
	return time.Duration(n/ts)*time.Second + time.Duration(n%ts*int64(time.Second)/ts)
}
