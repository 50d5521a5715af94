package ingest

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	amp4 "github.com/abema/go-mp4"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// An MP4, MOV or M4A file is spooled to a temporary file (its index may be at its end,
// and its samples are read out of order) and read with mediacommon: pmp4 for a plain file
// (its sample tables), fmp4 for a fragmented one (moof and mdat pairs). The first video
// and the first audio track are the ones read (others are ignored); each must be H.264
// (avc1) or AAC.

// Limits on what a file may ask to be held in memory.
const (
	maxMP4Sample   = 64 << 20  // one sample
	maxMP4Fragment = 256 << 20 // one moof and its mdat
)

// openMP4 reads an MP4/MOV/M4A file from r.
func openMP4(r io.Reader, opts Options) (Media, error) {
	f, size, err := spool(r, opts, "ingest-*.mp4")
	if err != nil {
		return nil, err
	}
	d := &mp4Demuxer{f: f, size: size}
	vp, ap, err := d.open()
	if err != nil {
		d.close()
		return nil, err
	}
	return newFileMedia(d, vp, ap, opts), nil
}

// spool copies r to a temporary file in opts.TempDir, at most opts.MaxBytes of it.
func spool(r io.Reader, opts Options, pattern string) (*os.File, int64, error) {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	f, err := os.CreateTemp(opts.TempDir, pattern)
	if err != nil {
		return nil, 0, fmt.Errorf("ingest: the download's temporary file: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = unsupported("the source is more than the %d bytes taken", limit)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		if !errors.Is(err, ErrUnsupported) {
			err = fmt.Errorf("ingest: downloading the file: %w", err)
		}
		return nil, 0, err
	}
	return f, n, nil
}

// mp4Demuxer reads the spooled file.
type mp4Demuxer struct {
	f    *os.File
	size int64
	err  error

	// A plain file: the tracks' samples, read in DTS order.
	tracks []*mp4Track

	// A fragmented file: the top-level boxes, the next moof among them, the tracks by ID,
	// and the units of the fragment in hand, in DTS order.
	boxes    []*amp4.BoxInfo
	scanErr  error // why the boxes listed end before the file does
	box      int
	fragged  map[int]*mp4Track
	fragment []Packet
}

// mp4Track is a track read.
type mp4Track struct {
	kind      hub.Track
	timeScale uint32
	samples   []*pmp4.Sample // a plain file's
	i         int            // the next sample
	dts       uint64         // its DTS, in timeScale units (a plain file's)
}

func (t *mp4Track) time(v int64) time.Duration { return ticks(v, int64(t.timeScale)) }

func (d *mp4Demuxer) open() (*hub.Params, *hub.Params, error) {
	boxes, err := topBoxes(d.f, d.size)
	fragmented := false
	for _, b := range boxes {
		if b.Type == amp4.BoxTypeMoof() {
			fragmented = true
		}
	}
	if err := d.unwrapWave(); err != nil {
		return nil, nil, err
	}
	if !fragmented {
		if err := d.checkTables(); err != nil {
			return nil, nil, err
		}
		var pres pmp4.Presentation
		if err := pres.Unmarshal(d.f); err != nil {
			return nil, nil, d.explain(err)
		}
		var tracks []mp4TrackInfo
		for _, t := range pres.Tracks {
			tracks = append(tracks, mp4TrackInfo{id: t.ID, timeScale: t.TimeScale, codec: t.Codec, samples: t.Samples})
		}
		return d.choose(tracks, false)
	}
	if err != nil && len(boxes) == 0 {
		return nil, nil, fmt.Errorf("ingest: MP4: %w", err)
	}
	d.boxes, d.scanErr = boxes, err
	var init fmp4.Init
	if err := init.Unmarshal(d.f); err != nil {
		return nil, nil, d.explain(err)
	}
	var tracks []mp4TrackInfo
	for _, t := range init.Tracks {
		tracks = append(tracks, mp4TrackInfo{id: t.ID, timeScale: t.TimeScale, codec: t.Codec})
	}
	return d.choose(tracks, true)
}

type mp4TrackInfo struct {
	id        int
	timeScale uint32
	codec     mp4codecs.Codec
	samples   []*pmp4.Sample
}

// choose takes the first video and the first audio track.
func (d *mp4Demuxer) choose(tracks []mp4TrackInfo, fragmented bool) (vp, ap *hub.Params, err error) {
	var sawVideo, sawAudio bool
	if fragmented {
		d.fragged = map[int]*mp4Track{}
	}
	for _, t := range tracks {
		if t.codec == nil || t.timeScale == 0 {
			continue
		}
		tr := &mp4Track{timeScale: t.timeScale, samples: t.samples}
		if t.codec.IsVideo() {
			if sawVideo {
				continue
			}
			sawVideo = true
			c, ok := t.codec.(*mp4codecs.H264)
			if !ok {
				return nil, nil, unsupported("the MP4 video codec %s (H.264 is taken)", mp4CodecName(t.codec))
			}
			if vp, err = h264Params(c.SPS, c.PPS); err != nil {
				return nil, nil, err
			}
			tr.kind = hub.MainVideo
		} else {
			if sawAudio {
				continue
			}
			sawAudio = true
			c, ok := t.codec.(*mp4codecs.MPEG4Audio)
			if !ok {
				return nil, nil, unsupported("the MP4 audio codec %s (AAC is taken)", mp4CodecName(t.codec))
			}
			if ap, err = aacParams(&c.Config); err != nil {
				return nil, nil, err
			}
			tr.kind = hub.Audio
		}
		if fragmented {
			d.fragged[t.id] = tr
		} else {
			d.tracks = append(d.tracks, tr)
		}
	}
	if vp == nil && ap == nil {
		return nil, nil, unsupported("the MP4 file has no H.264 or AAC track")
	}
	return vp, ap, nil
}

// topBoxes lists the file's top-level boxes, up to the first that is not whole.
func topBoxes(f io.ReadSeeker, size int64) ([]*amp4.BoxInfo, error) {
	var out []*amp4.BoxInfo
	for off := int64(0); off < size; {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return out, err
		}
		bi, err := amp4.ReadBoxInfo(f)
		if err != nil {
			return out, err
		}
		if bi.Size < bi.HeaderSize || bi.Size > uint64(size-off) {
			return out, fmt.Errorf("the box %q at %d is cut short", bi.Type.String(), off)
		}
		out = append(out, bi)
		off += int64(bi.Size)
	}
	return out, nil
}

// unwrapWave lets mediacommon find the esds of QuickTime's AAC sample entries (version 1
// sound descriptions, which put it in a wave box with a copy of the format): the spooled
// file's wave boxes become empty free boxes, and the mp4a in them free, so that their
// children (frma, esds, the terminator) are the sample entry's own. No size changes.
func (d *mp4Demuxer) unwrapWave() error {
	stsd := amp4.BoxPath{amp4.BoxTypeMoov(), amp4.BoxTypeTrak(), amp4.BoxTypeMdia(), amp4.BoxTypeMinf(), amp4.BoxTypeStbl(), amp4.BoxTypeStsd()}
	waves, err := amp4.ExtractBox(d.f, nil, append(stsd, amp4.BoxTypeMp4a(), amp4.BoxTypeWave()))
	if err != nil || len(waves) == 0 {
		return nil // nothing to do, or for mediacommon to say what is wrong
	}
	free := amp4.BoxTypeFree()
	for _, w := range waves {
		inner, err := amp4.ExtractBox(d.f, w, amp4.BoxPath{amp4.BoxTypeMp4a()})
		if err != nil {
			return nil
		}
		for _, b := range inner {
			if _, err := d.f.WriteAt(free[:], int64(b.Offset)+4); err != nil {
				return fmt.Errorf("ingest: MP4: %w", err)
			}
		}
		if w.HeaderSize != 8 {
			continue
		}
		if _, err := d.f.WriteAt([]byte{0, 0, 0, 8, free[0], free[1], free[2], free[3]}, int64(w.Offset)); err != nil {
			return fmt.Errorf("ingest: MP4: %w", err)
		}
	}
	return nil
}

// checkTables refuses sample tables that list more samples than the file could hold,
// before pmp4 makes them (each is at least a byte).
func (d *mp4Demuxer) checkTables() error {
	stts, err := amp4.ExtractBoxWithPayload(d.f, nil, amp4.BoxPath{amp4.BoxTypeMoov(), amp4.BoxTypeTrak(),
		amp4.BoxTypeMdia(), amp4.BoxTypeMinf(), amp4.BoxTypeStbl(), amp4.BoxTypeStts()})
	if err != nil {
		return fmt.Errorf("ingest: MP4: the sample tables: %w", err)
	}
	var n uint64
	for _, b := range stts {
		if s, ok := b.Payload.(*amp4.Stts); ok {
			for _, e := range s.Entries {
				n += uint64(e.SampleCount)
			}
		}
	}
	if n > uint64(d.size) {
		return fmt.Errorf("ingest: MP4: the sample tables list %d samples in %d bytes", n, d.size)
	}
	return nil
}

// explain is a failure of mediacommon's reader; where a track's sample entry is one it
// does not know, that is what is said (unsupported).
func (d *mp4Demuxer) explain(err error) error {
	entries, _ := amp4.ExtractBox(d.f, nil, amp4.BoxPath{amp4.BoxTypeMoov(), amp4.BoxTypeTrak(), amp4.BoxTypeMdia(),
		amp4.BoxTypeMinf(), amp4.BoxTypeStbl(), amp4.BoxTypeStsd(), amp4.BoxTypeAny()})
	for _, e := range entries {
		switch e.Type.String() {
		case "avc1", "mp4a", "hvc1", "hev1", "vp09", "av01", "Opus", "fLaC", "mp4v", "ac-3", "ec-3", "ipcm":
		default:
			return unsupported("a track coded as %q in the MP4 file (H.264 avc1 and AAC mp4a are taken)", printable([]byte(e.Type.String()), 4))
		}
	}
	return fmt.Errorf("ingest: MP4: %w", err)
}

func (d *mp4Demuxer) next() (Packet, error) {
	if d.err != nil {
		return Packet{}, d.err
	}
	var p Packet
	var err error
	if d.fragged != nil {
		p, err = d.nextFragmented()
	} else {
		p, err = d.nextPlain()
	}
	if err != nil {
		d.err = err
	}
	return p, err
}

// nextPlain is the sample of the smallest DTS across the tracks.
func (d *mp4Demuxer) nextPlain() (Packet, error) {
	for {
		var t *mp4Track
		for _, c := range d.tracks {
			if c.i < len(c.samples) && (t == nil || c.time(int64(c.dts)) < t.time(int64(t.dts))) {
				t = c
			}
		}
		if t == nil {
			return Packet{}, io.EOF
		}
		s := t.samples[t.i]
		dts := t.time(int64(t.dts))
		t.i++
		t.dts += uint64(s.Duration)
		if int64(s.PayloadSize) > min(d.size, maxMP4Sample) {
			return Packet{}, fmt.Errorf("ingest: MP4: a sample of %d bytes", s.PayloadSize)
		}
		b, err := s.GetPayload()
		if err != nil {
			return Packet{}, fmt.Errorf("ingest: MP4: reading a sample: %w", noEOF(err))
		}
		if p, ok, err := mp4Unit(t.kind, dts, dts+t.time(int64(s.PTSOffset)), b); err != nil || ok {
			return p, err
		}
	}
}

// skipTo passes over a plain file's samples before t (their DTS); a fragmented file's
// are read through.
func (d *mp4Demuxer) skipTo(t time.Duration) {
	for _, tr := range d.tracks {
		for tr.i < len(tr.samples) && tr.time(int64(tr.dts)) < t {
			tr.dts += uint64(tr.samples[tr.i].Duration)
			tr.i++
		}
	}
}

// nextFragmented is the next unit of the fragment in hand, reading the next fragment
// when it is done.
func (d *mp4Demuxer) nextFragmented() (Packet, error) {
	for len(d.fragment) == 0 {
		if err := d.readFragment(); err != nil {
			return Packet{}, err
		}
	}
	p := d.fragment[0]
	d.fragment[0] = Packet{}
	d.fragment = d.fragment[1:]
	return p, nil
}

// readFragment reads the next moof and the mdat after it into d.fragment.
func (d *mp4Demuxer) readFragment() error {
	for ; d.box < len(d.boxes) && d.boxes[d.box].Type != amp4.BoxTypeMoof(); d.box++ {
	}
	if d.box >= len(d.boxes) {
		if d.scanErr != nil {
			return fmt.Errorf("ingest: MP4: %w", d.scanErr)
		}
		return io.EOF
	}
	moof := d.boxes[d.box]
	d.box++
	if d.box >= len(d.boxes) || d.boxes[d.box].Type != amp4.BoxTypeMdat() {
		return errors.New("ingest: MP4: a moof without its mdat")
	}
	mdat := d.boxes[d.box]
	d.box++
	n := mdat.Offset + mdat.Size - moof.Offset
	if n > maxMP4Fragment {
		return fmt.Errorf("ingest: MP4: a fragment of %d bytes, more than the %d taken", n, maxMP4Fragment)
	}
	buf := make([]byte, n)
	if _, err := d.f.ReadAt(buf, int64(moof.Offset)); err != nil {
		return fmt.Errorf("ingest: MP4: reading a fragment: %w", noEOF(err))
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(buf); err != nil {
		return fmt.Errorf("ingest: MP4: a fragment: %w", err)
	}
	for _, part := range parts {
		for _, pt := range part.Tracks {
			t := d.fragged[pt.ID]
			if t == nil {
				continue
			}
			dts := pt.BaseTime
			for _, s := range pt.Samples {
				at := t.time(int64(dts))
				dts += uint64(s.Duration)
				p, ok, err := mp4Unit(t.kind, at, at+t.time(int64(s.PTSOffset)), s.Payload)
				if err != nil {
					return err
				}
				if ok {
					d.fragment = append(d.fragment, p)
				}
			}
		}
	}
	slices.SortStableFunc(d.fragment, func(a, b Packet) int { return cmp.Compare(a.Unit.DTS, b.Unit.DTS) })
	return nil
}

// mp4Unit is a sample as a unit (ok false: a sample with nothing in it).
func mp4Unit(kind hub.Track, dts, pts time.Duration, b []byte) (Packet, bool, error) {
	if kind == hub.Audio {
		return audioUnit(dts, b), len(b) > 0, nil
	}
	var au mch264.AVCC
	if err := au.Unmarshal(b); err != nil {
		if errors.Is(err, mch264.ErrAVCCNoNALUs) {
			return Packet{}, false, nil
		}
		return Packet{}, false, fmt.Errorf("ingest: MP4: an H.264 sample: %w", err)
	}
	p, ok := videoUnit(pts, dts, au)
	return p, ok, nil
}

func (d *mp4Demuxer) close() error {
	if d.f == nil {
		return nil
	}
	d.err = errors.New("ingest: the source is closed")
	d.tracks, d.fragment, d.fragged = nil, nil, nil
	err := d.f.Close()
	if rerr := os.Remove(d.f.Name()); err == nil {
		err = rerr
	}
	d.f = nil
	return err
}

func mp4CodecName(c mp4codecs.Codec) string {
	switch c.(type) {
	case *mp4codecs.H265:
		return "HEVC"
	case *mp4codecs.VP9:
		return "VP9"
	case *mp4codecs.AV1:
		return "AV1"
	case *mp4codecs.MPEG4Video:
		return "MPEG-4 Visual"
	case *mp4codecs.MPEG1Video:
		return "MPEG-1/2 video"
	case *mp4codecs.MJPEG:
		return "Motion JPEG"
	case *mp4codecs.MPEG1Audio:
		return "MPEG-1 audio (MP3)"
	case *mp4codecs.Opus:
		return "Opus"
	case *mp4codecs.AC3:
		return "AC-3"
	case *mp4codecs.EAC3:
		return "E-AC-3"
	case *mp4codecs.FLAC:
		return "FLAC"
	case *mp4codecs.LPCM:
		return "linear PCM"
	}
	return fmt.Sprintf("%T", c)
}
