package ingest

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// maxTSProbe bounds the units read at the start of an MPEG-TS file to find the H.264
// parameter sets (the PMT does not carry them: the first keyframe does).
const maxTSProbe = 8192

// openTS reads an MPEG-TS file from r with mediacommon's reader. The first video and the
// first audio track of the PMT are the ones read (others are ignored); each must be H.264
// or AAC (in ADTS).
func openTS(r io.Reader, opts Options) (Media, error) {
	rd := &mpegts.Reader{R: r}
	if err := rd.Initialize(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("ingest: MPEG-TS: finding its tracks: %w", err)
	}
	var video, audio *mpegts.Track
	var sawVideo, sawAudio bool
	for _, tr := range rd.Tracks() {
		switch c := tr.Codec.(type) {
		case *tscodecs.H264, *tscodecs.H265, *tscodecs.MPEG4Video, *tscodecs.MPEG1Video:
			if sawVideo {
				continue
			}
			sawVideo = true
			if _, ok := c.(*tscodecs.H264); !ok {
				return nil, unsupported("the MPEG-TS video codec %s (H.264 is taken)", tsCodecName(c))
			}
			video = tr
		case *tscodecs.MPEG4Audio, *tscodecs.MPEG4AudioLATM, *tscodecs.MPEG1Audio, *tscodecs.AC3, *tscodecs.EAC3, *tscodecs.Opus:
			if sawAudio {
				continue
			}
			sawAudio = true
			if _, ok := c.(*tscodecs.MPEG4Audio); !ok {
				return nil, unsupported("the MPEG-TS audio codec %s (AAC is taken)", tsCodecName(c))
			}
			audio = tr
		}
	}
	if video == nil && audio == nil {
		return nil, unsupported("the MPEG-TS file has no H.264 or AAC track")
	}
	d := &tsDemuxer{r: rd}
	rd.OnDecodeError(func(error) { d.decodeErrors++ })
	var ap *hub.Params
	if audio != nil {
		conf := &audio.Codec.(*tscodecs.MPEG4Audio).Config
		var err error
		if ap, err = aacParams(conf); err != nil {
			return nil, err
		}
		d.frame = aacFrameDuration(conf)
		rd.OnDataMPEG4Audio(audio, d.onAudio)
	}
	var vp *hub.Params
	if video != nil {
		rd.OnDataH264(video, d.onVideo)
		var err error
		if vp, err = d.probeVideo(); err != nil {
			return nil, err
		}
	}
	return newFileMedia(d, vp, ap, opts), nil
}

// tsDemuxer reads the units mediacommon's reader hands to its callbacks.
type tsDemuxer struct {
	r            *mpegts.Reader
	td           mpegts.TimeDecoder // one for all tracks: they share the program's clock
	frame        time.Duration      // an AAC frame's duration
	queue        []Packet
	head         int // the next of queue to return
	err          error
	decodeErrors int
}

// probeVideo reads on to the first parameter sets of the video, keeping what it reads.
func (d *tsDemuxer) probeVideo() (*hub.Params, error) {
	checked := 0
	for len(d.queue) < maxTSProbe {
		for ; checked < len(d.queue); checked++ {
			p := d.queue[checked]
			if p.Track != hub.MainVideo {
				continue
			}
			var sps, pps []byte
			for _, n := range p.Unit.NALUs {
				switch n[0] & 0x1f {
				case 7:
					sps = n
				case 8:
					pps = n
				}
			}
			if sps != nil && pps != nil {
				return h264Params(sps, pps)
			}
		}
		if d.err != nil {
			break
		}
		if err := d.read(); err != nil {
			d.err = err
		}
	}
	if d.err != nil && d.err != io.EOF {
		return nil, d.err
	}
	return nil, fmt.Errorf("ingest: MPEG-TS: no H.264 SPS and PPS in the first %d units", len(d.queue))
}

// read has the reader read one more PES packet.
func (d *tsDemuxer) read() error {
	err := d.r.Read()
	if err == nil || err == io.EOF || errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("ingest: MPEG-TS: %w", err)
}

func (d *tsDemuxer) next() (Packet, error) {
	for d.head == len(d.queue) {
		d.queue, d.head = d.queue[:0], 0
		if d.err != nil {
			return Packet{}, d.err
		}
		if err := d.read(); err != nil {
			d.err = err
		}
	}
	p := d.queue[d.head]
	d.queue[d.head] = Packet{}
	d.head++
	return p, nil
}

func (d *tsDemuxer) close() error {
	d.queue, d.head = nil, 0
	d.err = errors.New("ingest: the source is closed")
	return nil
}

// time is a 90 kHz timestamp of the program as a duration from the first one.
func (d *tsDemuxer) time(v int64) time.Duration { return ticks(d.td.Decode(v), 90000) }

func (d *tsDemuxer) onVideo(pts, dts int64, au [][]byte) error {
	dt := d.time(dts)
	pt := d.time(pts)
	if p, ok := videoUnit(pt, dt, au); ok {
		d.queue = append(d.queue, p)
	}
	return nil
}

func (d *tsDemuxer) onAudio(pts int64, aus [][]byte) error {
	t := d.time(pts)
	for i, au := range aus {
		if len(au) > 0 {
			d.queue = append(d.queue, audioUnit(t+time.Duration(i)*d.frame, au))
		}
	}
	return nil
}

func tsCodecName(c tscodecs.Codec) string {
	switch c.(type) {
	case *tscodecs.H265:
		return "HEVC"
	case *tscodecs.MPEG4Video:
		return "MPEG-4 Visual"
	case *tscodecs.MPEG1Video:
		return "MPEG-1/2 video"
	case *tscodecs.MPEG4AudioLATM:
		return "AAC in LATM"
	case *tscodecs.MPEG1Audio:
		return "MPEG-1 audio (MP3)"
	case *tscodecs.AC3:
		return "AC-3"
	case *tscodecs.EAC3:
		return "E-AC-3"
	case *tscodecs.Opus:
		return "Opus"
	}
	return fmt.Sprintf("%T", c)
}
