package ingest

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// The wrapper every file demuxer is read through (fileMedia), over a demuxer that returns
// what it is given.

type fakeDemuxer struct {
	ps     []Packet
	end    error // after ps; io.EOF when nil
	closed int
}

func (d *fakeDemuxer) next() (Packet, error) {
	if len(d.ps) == 0 {
		if d.end != nil {
			return Packet{}, d.end
		}
		return Packet{}, io.EOF
	}
	p := d.ps[0]
	d.ps = d.ps[1:]
	return p, nil
}

func (d *fakeDemuxer) close() error { d.closed++; return nil }

// skippingDemuxer also passes over units on a seek, as the MP4 demuxer does.
type skippingDemuxer struct {
	fakeDemuxer
	skippedTo []time.Duration
}

func (d *skippingDemuxer) skipTo(t time.Duration) {
	d.skippedTo = append(d.skippedTo, t)
	var rest []Packet
	for _, p := range d.ps {
		if p.Unit.DTS >= t {
			rest = append(rest, p)
		}
	}
	d.ps = rest
}

const ms = time.Millisecond

// idr and slice are a keyframe's and a picture's NAL units.
var (
	idr   = [][]byte{{0x65, 1, 2}}
	slice = [][]byte{{0x41, 1, 2}}
)

func vid(at time.Duration, key bool) Packet {
	au := slice
	if key {
		au = idr
	}
	p, _ := videoUnit(at, at, au)
	return p
}

func aud(at time.Duration) Packet { return audioUnit(at, []byte{0x21, 0x10}) }

var (
	testVideo = &hub.Params{Codec: hub.H264, Width: 320, Height: 240}
	testAudio = &hub.Params{Codec: hub.AAC, SampleRate: 48000, Channels: 2}
)

// times lists the units as track letters and times: "v0 a10 …", a "k" for a keyframe.
func times(t *testing.T, m Media) (string, error) {
	t.Helper()
	s := ""
	for range 1000 {
		p, err := m.Next(context.Background())
		if err != nil {
			return s, err
		}
		if s != "" {
			s += " "
		}
		switch p.Track {
		case hub.MainVideo:
			s += "v"
			if p.Unit.Key {
				s += "k"
			}
		case hub.Audio:
			s += "a"
		}
		s += strconv.FormatInt(int64(p.Unit.DTS/ms), 10)
	}
	t.Fatal("no end")
	return "", nil
}

func TestFileMedia(t *testing.T) {
	cases := []struct {
		name         string
		video, audio *hub.Params
		seek         time.Duration
		in           []Packet
		end          error
		want         string
		wantErr      error
	}{
		{"from the first unit at 0", testVideo, testAudio, 0,
			[]Packet{vid(10*ms, true), aud(12 * ms), vid(76*ms, false), aud(33 * ms)}, nil,
			"vk0 a2 a23 v66", io.EOF},
		{"leading pictures dropped, audio kept", testVideo, testAudio, 0,
			[]Packet{aud(0), vid(0, false), vid(66*ms, false), aud(50 * ms), vid(133*ms, true), aud(140 * ms), vid(200*ms, false)}, nil,
			"a0 a50 vk133 a140 v200", io.EOF},
		{"interleaved by DTS", testVideo, testAudio, 0,
			[]Packet{vid(0, true), vid(100*ms, false), vid(200*ms, false), aud(0), aud(50 * ms), aud(150 * ms), aud(250 * ms)}, nil,
			"vk0 a0 a50 v100 a150 v200 a250", io.EOF},
		{"seek to the next keyframe, audio from it", testVideo, testAudio, 1000 * ms,
			[]Packet{vid(500*ms, true), aud(500 * ms), vid(1000*ms, false), aud(1000 * ms), aud(1100 * ms), vid(1500*ms, true),
				aud(1400 * ms), aud(1500 * ms), vid(1600*ms, false), aud(1600 * ms)}, nil,
			"vk0 a0 v100 a100", io.EOF},
		{"seek counted from the first unit", testVideo, nil, 1000 * ms,
			[]Packet{vid(10000*ms, true), vid(10500*ms, false), vid(11000*ms, true), vid(11500*ms, false)}, nil,
			"vk0 v500", io.EOF},
		{"seek audio-only", nil, testAudio, 100 * ms,
			[]Packet{aud(0), aud(50 * ms), aud(100 * ms), aud(150 * ms)}, nil,
			"a0 a50", io.EOF},
		{"seek past the end", testVideo, testAudio, 5 * time.Second,
			[]Packet{vid(0, true), aud(0), vid(1000*ms, true)}, nil,
			"", io.EOF},
		{"a track not announced is dropped", nil, testAudio, 0,
			[]Packet{vid(0, true), aud(0), aud(20 * ms)}, nil,
			"a0 a20", io.EOF},
		{"units before a failure are read", testVideo, testAudio, 0,
			[]Packet{vid(0, true), aud(0), vid(100*ms, false)}, io.ErrUnexpectedEOF,
			"vk0 a0 v100", io.ErrUnexpectedEOF},
		{"B-frames", testVideo, nil, 0,
			[]Packet{vid(0, true), {Track: hub.MainVideo, Unit: hub.Unit{PTS: 200 * ms, DTS: 100 * ms, NALUs: slice}}, vid(200*ms, false)}, nil,
			"vk0", ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &fakeDemuxer{ps: c.in, end: c.end}
			m := newFileMedia(d, c.video, c.audio, Options{Seek: c.seek})
			got, err := times(t, m)
			if got != c.want || !errors.Is(err, c.wantErr) {
				t.Errorf("got %q, %v; want %q, %v", got, err, c.want, c.wantErr)
			}
			if _, again := m.Next(context.Background()); again != err {
				t.Errorf("then %v, not %v again", again, err)
			}
			m.Close()
			m.Close()
			if d.closed != 1 {
				t.Errorf("the demuxer closed %d times", d.closed)
			}

			// The same, from a demuxer that skips.
			sd := &skippingDemuxer{fakeDemuxer: fakeDemuxer{ps: c.in, end: c.end}}
			m = newFileMedia(sd, c.video, c.audio, Options{Seek: c.seek})
			got, err = times(t, m)
			if got != c.want || !errors.Is(err, c.wantErr) {
				t.Errorf("skipping: got %q, %v; want %q, %v", got, err, c.want, c.wantErr)
			}
			if c.seek > 0 && len(c.in) > 0 && (len(sd.skippedTo) != 1 || sd.skippedTo[0] != c.in[0].Unit.DTS+c.seek) {
				t.Errorf("skipped to %v", sd.skippedTo)
			}
		})
	}
}

// TestFileMediaInterleaveBound: a container that holds one track back does not make the
// wrapper hold the other without bound.
func TestFileMediaInterleaveBound(t *testing.T) {
	var in []Packet
	in = append(in, vid(0, true))
	for i := range maxPending + 10 {
		in = append(in, vid(time.Duration(i+1)*ms, false))
	}
	in = append(in, aud(0))
	m := newFileMedia(&fakeDemuxer{ps: in}, testVideo, testAudio, Options{})
	for i := range 11 {
		p, err := m.Next(context.Background())
		if err != nil || p.Track != hub.MainVideo || p.Unit.DTS != time.Duration(i)*ms {
			t.Fatalf("unit %d: %v %v at %v", i, err, p.Track, p.Unit.DTS)
		}
	}
	if got := len(m.pending[0]) + len(m.pending[1]); got > maxPending {
		t.Errorf("%d units pending", got)
	}
}

// TestFileMediaParams: a keyframe with parameter sets other than the track's says so.
func TestFileMediaParams(t *testing.T) {
	p320, err := h264Params(sps320, pps)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := videoUnit(0, 0, [][]byte{sps320, pps, idr[0]})
	other, _ := videoUnit(100*ms, 100*ms, [][]byte{sps160, pps, idr[0]})
	m := newFileMedia(&fakeDemuxer{ps: []Packet{same, other}}, p320, nil, Options{})
	a, err := m.Next(context.Background())
	if err != nil || a.Unit.Params != nil {
		t.Fatalf("the first keyframe: %v, params %+v", err, a.Unit.Params)
	}
	b, err := m.Next(context.Background())
	if err != nil || b.Unit.Params == nil || b.Unit.Params.Width != 160 || b.Unit.Params.Height != 120 {
		t.Fatalf("the keyframe with a new SPS: %v, params %+v", err, b.Unit.Params)
	}
}

// Parameter sets of x264 (baseline, 320x240 and 160x120 at 15 fps).
var (
	sps320 = []byte{0x67, 0x42, 0xc0, 0x0c, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x01, 0xe0, 0xf1, 0x42, 0xa4, 0x80}
	sps160 = []byte{0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x02, 0x84, 0x7e, 0x5c, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x07, 0x83, 0xc4, 0x89, 0x92}
	pps    = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)
