// Package hub owns the live media of the emulator's rooms: each member's published tracks
// (main video, aux video, audio) as live streams of timestamped access units, published
// once by a source and read by any number of sinks. It knows no database, no HTTP and no
// codec beyond telling a keyframe from the rest and reading an H.264 SPS (H264Params):
// sources (virtual participants, RTMP, WHIP, ingest) hand in units as they come; sinks
// (recordings, relays, mixes) read them.
//
// A source never waits for a sink. Each sink has a bounded queue; a sink that falls behind
// loses its queue and skips to the next keyframe (a video stream) or to the next unit (an
// audio stream), and counts what it skipped in its Stats. A sink that joins a video stream
// late starts at the keyframe of the group of pictures in progress, replayed from the
// stream's cache, so it can decode from its first unit. When the source leaves, each sink
// reads what is queued and then ErrEnded.
//
// Units are shared, never copied: once written, a unit's bytes belong to the hub and no
// one may change them. The types plug into gortmplib's and mediacommon's callbacks as they
// are: an H.264 access unit is its NAL units without start codes (OnDataH264's au), an AAC
// access unit a raw frame without ADTS header (OnDataMPEG4Audio's au), timestamps are
// time.Duration from the stream's start.
package hub

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"
)

// Codec is a stream's coding.
type Codec int

const (
	H264 Codec = iota + 1
	AAC
	Opus
)

func (c Codec) String() string {
	switch c {
	case H264:
		return "H264"
	case AAC:
		return "AAC"
	case Opus:
		return "Opus"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// Video says whether c is a video coding.
func (c Codec) Video() bool { return c == H264 }

// Track is which of a member's streams: the main video, the aux (screen sharing) video, or
// the audio.
type Track int

const (
	MainVideo Track = iota + 1
	AuxVideo
	Audio
)

func (t Track) String() string {
	switch t {
	case MainVideo:
		return "main-video"
	case AuxVideo:
		return "aux-video"
	case Audio:
		return "audio"
	}
	return fmt.Sprintf("Track(%d)", int(t))
}

// Key names a stream: a member's track in a room. Room is the caller's name for the room
// (any string; the hub compares it whole).
type Key struct {
	Room   string
	UserId string
	Track  Track
}

// Params describe a stream's coding.
type Params struct {
	Codec Codec
	// H.264: the parameter sets (without start codes) and the picture, as the SPS says.
	SPS, PPS      []byte
	Width, Height int
	FPS           int // nominal frame rate; 0 if unknown
	// AAC: the AudioSpecificConfig as bytes (aac.ParseAudioSpecificConfig and
	// mediacommon's mpeg4audio.AudioSpecificConfig.Unmarshal read it); Opus: empty.
	AudioConfig []byte
	SampleRate  int
	Channels    int
}

// Unit is one access unit.
type Unit struct {
	PTS, DTS time.Duration // from the stream's start; DTS = PTS without reordering
	// Key marks a unit a decoder can start at: an IDR picture. Every audio unit is a Key.
	Key bool
	// NALUs are an H.264 access unit's NAL units, without start codes.
	NALUs [][]byte
	// Frame is an AAC access unit (no ADTS header) or an Opus packet.
	Frame []byte
	// Params is set on the first unit coded with new parameters (a resolution change, new
	// SPS/PPS), a keyframe; nil otherwise.
	Params *Params
	// Picture and PCM are the unit's media uncoded, which a synthetic source attaches while
	// a Raw sink reads it (a mix composites pictures and sums samples without decoding).
	// They are shared by every reader: read-only. PCM is interleaved at the stream's
	// SampleRate and Channels.
	Picture *image.YCbCr
	PCM     []int16
}

// coded is u without its uncoded media: what caches and the other sinks keep.
func (u Unit) coded() Unit {
	u.Picture, u.PCM = nil, nil
	return u
}

// Errors.
var (
	ErrPublished    = errors.New("hub: the stream is already published")
	ErrNotPublished = errors.New("hub: no such stream")
	ErrEnded        = errors.New("hub: the stream ended")
	ErrClosed       = errors.New("hub: closed")
)

// Limits of a stream: how many units a sink may have queued (DefaultQueue, or
// SinkOptions.Queue), and how many units of a group of pictures are kept for late sinks
// (a longer group is not replayed: a late sink waits for its next keyframe).
const (
	DefaultQueue = 512
	maxGOPCache  = 1024
	// A stream keeps its first HeadSpan of media (at most maxHead units) for sinks that
	// subscribe FromStart: a recording that sees a publisher late, after a source that
	// analysed its input first, still gets it from its first keyframe.
	HeadSpan = 5 * time.Second
	maxHead  = 2048
)

// Hub is a set of live streams. The zero value is not usable: call New.
type Hub struct {
	mu      sync.Mutex
	streams map[Key]*stream
}

// New returns an empty hub.
func New() *Hub { return &Hub{streams: map[Key]*stream{}} }

// Publish starts the stream key with params. It fails with ErrPublished while another
// source holds key.
func (h *Hub) Publish(key Key, params Params) (*Source, error) {
	return h.PublishAt(key, params, time.Time{})
}

// PublishAt is Publish for a stream whose media time 0 is start on the emulator's clock
// (Sink.Start): sinks map units' times onto their own time lines with it.
func (h *Hub) PublishAt(key Key, params Params, start time.Time) (*Source, error) {
	if err := validParams(params); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.streams[key]; ok {
		return nil, ErrPublished
	}
	st := &stream{key: key, params: params, start: start, sinks: map[*Sink]struct{}{}, headOK: true}
	h.streams[key] = st
	return &Source{hub: h, st: st}, nil
}

func validParams(p Params) error {
	switch p.Codec {
	case H264, AAC, Opus:
		return nil
	}
	return fmt.Errorf("hub: unknown codec %v", p.Codec)
}

// SinkOptions configure a subscription.
type SinkOptions struct {
	Queue int // units queued at most; DefaultQueue when 0
	// AtNextKeyframe starts a video sink at the next keyframe instead of replaying the
	// group in progress, and asks the source for one (Source.KeyframeWanted): the sink's
	// media starts when it subscribed, as a new viewer's picture loss indication does.
	AtNextKeyframe bool
	// FromStart replays the stream from its first unit (a video stream from its first
	// keyframe) while it is younger than HeadSpan; after that it is ignored.
	FromStart bool
	// Raw reads the uncoded media (Unit.Picture, Unit.PCM) a synthetic source attaches
	// while such a sink exists (Source.RawWanted). A raw sink needs no keyframe: it starts
	// at the next unit, and one that falls behind goes on from the unit that arrives.
	Raw bool
}

// Subscribe reads the stream key from now: for video, from the keyframe of the group in
// progress (replayed), or from the next keyframe if none is cached. It fails with
// ErrNotPublished when no source holds key.
func (h *Hub) Subscribe(key Key, opts SinkOptions) (*Sink, error) {
	h.mu.Lock()
	st, ok := h.streams[key]
	h.mu.Unlock()
	if !ok {
		return nil, ErrNotPublished
	}
	return st.subscribe(opts)
}

// Streams lists the published streams, in no order.
func (h *Hub) Streams() []Key {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]Key, 0, len(h.streams))
	for k := range h.streams {
		keys = append(keys, k)
	}
	return keys
}

// Params returns the current parameters of the stream key.
func (h *Hub) Params(key Key) (Params, bool) {
	h.mu.Lock()
	st, ok := h.streams[key]
	h.mu.Unlock()
	if !ok {
		return Params{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.params, true
}

// stream is one publication: from Publish to its source's Close.
type stream struct {
	key   Key
	start time.Time // the clock time of media time 0 (PublishAt)

	mu     sync.Mutex
	params Params
	sinks  map[*Sink]struct{}
	gop    []Unit // video: the units since the last keyframe, that keyframe first
	gopOK  bool   // gop holds a whole group so far (not cut by maxGOPCache)
	head   []Unit // every unit since the start while headOK
	headOK bool   // head holds the stream from its start (younger than HeadSpan)
	closed bool
	// wantKey: a sink waits for a keyframe (it subscribed AtNextKeyframe or fell behind).
	wantKey atomic.Bool
	// rawSinks counts the sinks that read the uncoded media.
	rawSinks atomic.Int32
}

func (st *stream) subscribe(opts SinkOptions) (*Sink, error) {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, ErrNotPublished
	}
	s := &Sink{st: st, max: opts.Queue, params: st.params, wake: make(chan struct{}, 1), raw: opts.Raw}
	if opts.Raw {
		st.rawSinks.Add(1)
		st.sinks[s] = struct{}{}
		return s, nil
	}
	if opts.FromStart && st.headOK && len(st.head) > 0 {
		from := 0
		if st.params.Codec.Video() {
			for from < len(st.head) && !st.head[from].Key {
				from++
			}
		}
		if from < len(st.head) {
			s.queue = append(s.queue, st.head[from:]...)
			if len(s.queue) > s.max {
				s.queue = s.queue[len(s.queue)-s.max:]
			}
			s.waitKey = st.params.Codec.Video() && !s.queue[0].Key
			st.sinks[s] = struct{}{}
			return s, nil
		}
	}
	if st.params.Codec.Video() {
		s.waitKey = true
		if opts.AtNextKeyframe {
			st.wantKey.Store(true)
		} else if st.gopOK && len(st.gop) > 0 {
			start := st.gop[max(0, len(st.gop)-s.max):] // a group longer than the queue: its tail cannot start
			if start[0].Key {
				s.queue = append(s.queue, start...)
				s.waitKey = false
			}
		}
	}
	st.sinks[s] = struct{}{}
	return s, nil
}

// Source publishes one stream. Its methods may be called from one goroutine at a time.
type Source struct {
	hub *Hub
	st  *stream
}

// Key is the stream's name.
func (src *Source) Key() Key { return src.st.key }

// Start is the clock time of the stream's media time 0 (zero when Publish did not say).
func (s *Sink) Start() time.Time { return s.st.start }

// Started is the clock time of the stream key's media time 0 (PublishAt), and whether it
// is published.
func (h *Hub) Started(key Key) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.streams[key]
	if !ok {
		return time.Time{}, false
	}
	return st.start, true
}

// KeyframeWanted reports whether a sink has asked for a keyframe since the last call (it
// subscribed AtNextKeyframe, or fell behind and waits for one); a source that can code one
// on demand (a synthetic encoder) makes its next unit a keyframe. It never blocks.
func (src *Source) KeyframeWanted() bool { return src.st.wantKey.Swap(false) }

// RawWanted reports whether a sink reads the uncoded media (SinkOptions.Raw): a synthetic
// source attaches Unit.Picture and Unit.PCM only then.
func (src *Source) RawWanted() bool { return src.st.rawSinks.Load() > 0 }

// Write hands u to every sink, without waiting for any. A video unit that carries new
// Params becomes the stream's parameters and must be a keyframe. It fails with ErrClosed
// after Close.
func (src *Source) Write(u Unit) error {
	st := src.st
	video := st.params.Codec.Video()
	if !video {
		u.Key = true
	}
	if u.Params != nil {
		if err := validParams(*u.Params); err != nil {
			return err
		}
		if video && !u.Key {
			return errors.New("hub: new parameters on a unit that is not a keyframe")
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return ErrClosed
	}
	if u.Params != nil {
		st.params = *u.Params
	}
	cached := u.coded()
	if st.headOK {
		if u.PTS < HeadSpan && len(st.head) < maxHead {
			st.head = append(st.head, cached)
		} else {
			st.head, st.headOK = nil, false
		}
	}
	if video {
		switch {
		case u.Key:
			st.gop, st.gopOK = append(st.gop[:0], cached), true
		case st.gopOK && len(st.gop) < maxGOPCache:
			st.gop = append(st.gop, cached)
		default:
			st.gop, st.gopOK = st.gop[:0], false
		}
	}
	for s := range st.sinks {
		if s.raw {
			s.push(u)
		} else {
			s.push(cached)
		}
	}
	return nil
}

// Close ends the stream: every sink reads what it has queued, then ErrEnded, and the key
// may be published again. Close is idempotent.
func (src *Source) Close() {
	st := src.st
	h := src.hub
	h.mu.Lock()
	if h.streams[st.key] == st {
		delete(h.streams, st.key)
	}
	h.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.closed = true
	st.gop = nil
	for s := range st.sinks {
		s.end()
	}
	clear(st.sinks)
}

// Stats count what a sink got and lost.
type Stats struct {
	Delivered int // units Read returned
	Skipped   int // units dropped because the sink fell behind (queued or arriving)
	Gaps      int // times the sink fell behind
}

// Sink reads one stream. Its methods may be called from one goroutine at a time, but for
// Stats and Close, which may be called from any.
type Sink struct {
	st   *stream
	max  int
	wake chan struct{}
	raw  bool // SinkOptions.Raw

	mu      sync.Mutex
	params  Params
	queue   []Unit
	head    int
	waitKey bool // video: dropping until a keyframe
	ended   bool // the source left (after the queue) or the sink was closed
	closed  bool
	stats   Stats
}

// Params are the stream's parameters as of the last unit read (or the subscription).
func (s *Sink) Params() Params {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// Key is the stream's name.
func (s *Sink) Key() Key { return s.st.key }

func (s *Sink) push(u Unit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	if s.waitKey {
		if !u.Key {
			s.stats.Skipped++
			return
		}
		s.waitKey = false
	}
	if len(s.queue)-s.head >= s.max {
		// Behind: drop the queue; start again at this unit if a decoder can.
		s.stats.Skipped += len(s.queue) - s.head
		s.stats.Gaps++
		clear(s.queue)
		s.queue, s.head = s.queue[:0], 0
		if !u.Key && !s.raw {
			s.stats.Skipped++
			s.waitKey = true
			s.st.wantKey.Store(true)
			return
		}
	}
	s.queue = append(s.queue, u)
	s.notify()
}

func (s *Sink) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.notify()
}

func (s *Sink) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Read returns the next unit, waiting for one. It returns ErrEnded once the source has
// left and the queue is empty (or after Close), and ctx's error if ctx ends first.
func (s *Sink) Read(ctx context.Context) (Unit, error) {
	for {
		u, ok, ended := s.pop()
		switch {
		case ok:
			return u, nil
		case ended:
			return Unit{}, ErrEnded
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Unit{}, ctx.Err()
		}
	}
}

// TryRead returns the next unit if one is queued, without waiting; ok is false otherwise
// (err is ErrEnded once the stream ended and the queue is empty).
func (s *Sink) TryRead() (u Unit, ok bool, err error) {
	u, ok, ended := s.pop()
	if !ok && ended {
		return Unit{}, false, ErrEnded
	}
	return u, ok, nil
}

// pop takes the next queued unit (ok), or says whether the stream is over for this sink.
func (s *Sink) pop() (u Unit, ok, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == len(s.queue) {
		return Unit{}, false, s.ended || s.closed
	}
	u = s.queue[s.head]
	s.queue[s.head] = Unit{}
	s.head++
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
	if u.Params != nil {
		s.params = *u.Params
	}
	s.stats.Delivered++
	return u, true, false
}

// Queued is how many units wait to be read.
func (s *Sink) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) - s.head
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close ends the subscription: the source no longer queues for it, and Read returns
// ErrEnded. Close is idempotent.
func (s *Sink) Close() {
	st := s.st
	st.mu.Lock()
	if _, ok := st.sinks[s]; ok && s.raw {
		st.rawSinks.Add(-1)
	}
	delete(st.sinks, s)
	st.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	clear(s.queue)
	s.queue, s.head = nil, 0
	s.notify()
}
