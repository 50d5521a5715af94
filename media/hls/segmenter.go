package hls

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts"
)

// Sink creates the files the segmenter writes: segments once each, the playlist again after
// every segment. A file is complete when its Close returns.
type Sink interface {
	Create(name string) (io.WriteCloser, error)
}

// Config describes one recorded stream.
type Config struct {
	Sink         Sink
	PlaylistName string
	// SegmentName names segment index (from 0) starting at start on the wall clock.
	SegmentName func(index int, start time.Time) string
	// TargetDuration: a segment is cut at the first keyframe at or after it (audio-only
	// streams: the first frame). 10 s when 0.
	TargetDuration time.Duration
	Video, Audio   bool
	// Width and Height go to #EXT-X-TRTC-VIDEO-METADATA; SetVideoSize changes them.
	Width, Height int
	// StartTime is the wall-clock time of this run's first unit: the origin of its segments'
	// start times, and #EXT-X-TRTC-START-REC-TIME unless RecordingStart is set.
	StartTime time.Time
	// RecordingStart, when set, is #EXT-X-TRTC-START-REC-TIME: the start of a recording that
	// runs several times (see Resume).
	RecordingStart time.Time
	// Resume lists the segments earlier runs of the same stream left in the sink under the same
	// playlist name (their Segments, stored by the caller), after a Suspend or a crash. Every
	// playlist this segmenter writes lists them first; this run's segments continue their
	// indexes, and its first segment is marked Discontinuity (timestamps and encoder restart).
	// Their indexes must be 0, 1, … in order.
	Resume []Segment
	// AudioPerPES groups consecutive AAC frames into one PES packet until it holds this much
	// audio: less TS overhead for small frames (a 13 kbit/s tone frame is 35 bytes, a packet
	// 188). 100 ms when 0; negative writes one frame per PES.
	AudioPerPES time.Duration
}

// Segment is a finished segment. It round-trips through encoding/json (durations in
// nanoseconds, times in RFC 3339), so a caller can store a stream's segments and pass them
// back as Config.Resume.
type Segment struct {
	Index    int           `json:"index"`
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`    // wall clock of its first unit
	PTS      time.Duration `json:"pts"`      // media time of its first unit, in its run
	Duration time.Duration `json:"duration"` // to the next segment's start; for the last, to the end of its last unit
	Bytes    int64         `json:"bytes"`
	// Discontinuity: the first segment of a run after the first; the playlist precedes it with
	// #EXT-X-DISCONTINUITY (RFC 8216 4.3.2.3).
	Discontinuity bool `json:"discontinuity,omitempty"`
}

// Segmenter cuts one stream into segments. Units must come in decoding order, audio and video
// interleaved as they arrive. It is not safe for concurrent use.
type Segmenter struct {
	cfg      Config
	mux      *mpegts.Muxer
	out      segmentWriter
	segments []Segment
	cur      *Segment // open segment, nil between segments
	err      error    // sticky: the first write or sink error
	closed   bool

	started   bool
	firstPTS  time.Duration // media time of the recording's first unit
	end       time.Duration // end of the latest unit written to the open segment
	needKey   bool          // drop video until a keyframe (start, or after an audio-cut segment)
	lastVideo struct {
		seen     bool
		pts, dts time.Duration
		interval time.Duration // last DTS step, the frame duration estimate
	}
	audio      []byte // pending ADTS frames for one PES
	audioPTS   time.Duration
	audioCount int
	audioDur   time.Duration
}

// segmentWriter forwards the muxer's packets to the open segment file and counts them.
type segmentWriter struct {
	w io.WriteCloser
	n int64
}

func (s *segmentWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return 0, errors.New("hls: no open segment")
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// New checks cfg and returns a segmenter; nothing is written before the first unit.
func New(cfg Config) (*Segmenter, error) {
	if cfg.Sink == nil || cfg.PlaylistName == "" {
		return nil, errors.New("hls: a sink and a playlist name are required")
	}
	if cfg.SegmentName == nil {
		return nil, errors.New("hls: SegmentName is required")
	}
	if cfg.StartTime.IsZero() {
		return nil, errors.New("hls: StartTime is required")
	}
	if cfg.TargetDuration == 0 {
		cfg.TargetDuration = 10 * time.Second
	}
	if cfg.TargetDuration < 0 {
		return nil, fmt.Errorf("hls: target duration %v", cfg.TargetDuration)
	}
	if cfg.AudioPerPES == 0 {
		cfg.AudioPerPES = 100 * time.Millisecond
	}
	names := make(map[string]bool, len(cfg.Resume))
	for i, seg := range cfg.Resume {
		if seg.Index != i || seg.Name == "" || names[seg.Name] || seg.Duration < 0 {
			return nil, fmt.Errorf("hls: resumed segment %d: index %d, name %q, duration %v", i, seg.Index, seg.Name, seg.Duration)
		}
		names[seg.Name] = true
	}
	cfg.Resume = append([]Segment(nil), cfg.Resume...)
	s := &Segmenter{cfg: cfg, needKey: cfg.Video, segments: append([]Segment(nil), cfg.Resume...)}
	mux, err := mpegts.NewMuxer(&s.out, mpegts.Tracks{Video: cfg.Video, Audio: cfg.Audio})
	if err != nil {
		return nil, fmt.Errorf("hls: %w", err)
	}
	s.mux = mux
	return s, nil
}

// SetVideoSize updates the size the playlist announces (from the stream's SPS, say); it is
// written with the next playlist.
func (s *Segmenter) SetVideoSize(width, height int) { s.cfg.Width, s.cfg.Height = width, height }

// Segments returns the finished segments, the resumed ones first.
func (s *Segmenter) Segments() []Segment { return append([]Segment(nil), s.segments...) }

// WriteVideo adds an H.264 access unit (Annex B). Units before the first keyframe are dropped:
// every segment must start decodable.
func (s *Segmenter) WriteVideo(pts, dts time.Duration, key bool, annexB []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	if !s.cfg.Video {
		return errors.New("hls: no video track")
	}
	if s.needKey && !key {
		return nil
	}
	if s.cur != nil && key && pts-s.cur.PTS >= s.cfg.TargetDuration {
		if err := s.finishSegment(pts); err != nil {
			return err
		}
	}
	if err := s.ensureSegment(pts); err != nil {
		return err
	}
	s.needKey = false
	if s.lastVideo.seen && dts > s.lastVideo.dts {
		s.lastVideo.interval = dts - s.lastVideo.dts
	}
	s.lastVideo.seen, s.lastVideo.pts, s.lastVideo.dts = true, pts, dts
	if err := s.mux.WriteVideo(pts, dts, key, annexB); err != nil {
		return s.fail(err)
	}
	s.end = max(s.end, pts+s.lastVideo.interval)
	return nil
}

// WriteAudio adds one ADTS frame (or several back to back, pts being the first one's).
func (s *Segmenter) WriteAudio(pts time.Duration, adts []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	if !s.cfg.Audio {
		return errors.New("hls: no audio track")
	}
	frames, err := aac.SplitADTS(adts)
	if err != nil {
		return err
	}
	var dur time.Duration
	for _, f := range frames {
		h, _ := aac.ParseADTSHeader(f)
		dur += h.Duration()
	}
	// Audio cuts when there is no video to cut at: audio-only streams, or video that has not
	// come (or stopped) for a whole target duration.
	if s.cur != nil && pts-s.cur.PTS >= s.cfg.TargetDuration &&
		(!s.cfg.Video || !s.lastVideo.seen || pts-s.lastVideo.pts >= s.cfg.TargetDuration) {
		if err := s.finishSegment(pts); err != nil {
			return err
		}
		s.needKey = s.cfg.Video
	}
	if err := s.ensureSegment(pts); err != nil {
		return err
	}
	if s.audioCount == 0 {
		s.audioPTS = pts
	}
	s.audio = append(s.audio, adts...)
	s.audioCount += len(frames)
	s.audioDur += dur
	if s.audioDur >= s.cfg.AudioPerPES {
		if err := s.flushAudio(); err != nil {
			return err
		}
	}
	s.end = max(s.end, pts+dur)
	return nil
}

func (s *Segmenter) flushAudio() error {
	if s.audioCount == 0 {
		return nil
	}
	err := s.mux.WriteAudio(s.audioPTS, s.audio)
	s.audio, s.audioCount, s.audioDur = s.audio[:0], 0, 0
	if err != nil {
		return s.fail(err)
	}
	return nil
}

// Close finishes the open segment and writes the final playlist with #EXT-X-ENDLIST (listing
// the resumed segments even if no unit came). After Suspend it does nothing.
func (s *Segmenter) Close() error { return s.finish(true) }

// Suspend finishes the open segment and writes the playlist without #EXT-X-ENDLIST, for a later
// run to resume (Config.Resume = Segments()); the segmenter is then closed.
func (s *Segmenter) Suspend() error { return s.finish(false) }

func (s *Segmenter) finish(ended bool) error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	if s.cur != nil {
		if err := s.finishSegment(s.end); err != nil {
			return err
		}
	}
	return s.fail(s.writePlaylist(ended))
}

func (s *Segmenter) check() error {
	if s.closed {
		return errors.New("hls: segmenter closed")
	}
	return s.err
}

func (s *Segmenter) fail(err error) error {
	if err != nil && s.err == nil {
		s.err = err
	}
	return err
}

// ensureSegment opens a segment starting at pts when none is open.
func (s *Segmenter) ensureSegment(pts time.Duration) error {
	if s.cur != nil {
		return nil
	}
	if !s.started {
		s.started, s.firstPTS = true, pts
	}
	index := len(s.segments)
	start := s.cfg.StartTime.Add(pts - s.firstPTS)
	name := s.cfg.SegmentName(index, start)
	for _, seg := range s.segments {
		if seg.Name == name { // it would overwrite a segment the playlist lists
			return s.fail(fmt.Errorf("hls: segment %d is named %s like segment %d", index, name, seg.Index))
		}
	}
	w, err := s.cfg.Sink.Create(name)
	if err != nil {
		return s.fail(fmt.Errorf("hls: create %s: %w", name, err))
	}
	s.out = segmentWriter{w: w}
	s.cur = &Segment{Index: index, Name: name, Start: start, PTS: pts,
		Discontinuity: len(s.cfg.Resume) > 0 && index == len(s.cfg.Resume)}
	s.end = pts
	if err := s.mux.WriteTables(); err != nil {
		return s.fail(err)
	}
	return nil
}

// finishSegment closes the open segment as ending at end and rewrites the playlist.
func (s *Segmenter) finishSegment(end time.Duration) error {
	if err := s.flushAudio(); err != nil {
		return err
	}
	seg := *s.cur
	seg.Duration = max(end-seg.PTS, 0)
	seg.Bytes = s.out.n
	err := s.out.w.Close()
	s.out, s.cur = segmentWriter{}, nil
	if err != nil {
		return s.fail(fmt.Errorf("hls: close %s: %w", seg.Name, err))
	}
	s.segments = append(s.segments, seg)
	if !s.closed {
		return s.fail(s.writePlaylist(false))
	}
	return nil
}

func (s *Segmenter) writePlaylist(ended bool) error {
	w, err := s.cfg.Sink.Create(s.cfg.PlaylistName)
	if err != nil {
		return fmt.Errorf("hls: create %s: %w", s.cfg.PlaylistName, err)
	}
	if _, err := w.Write(s.Playlist(ended)); err != nil {
		w.Close()
		return fmt.Errorf("hls: write %s: %w", s.cfg.PlaylistName, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("hls: close %s: %w", s.cfg.PlaylistName, err)
	}
	return nil
}
