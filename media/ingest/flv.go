package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// An FLV file is a header and tags whose bodies are RTMP audio and video message bodies.
// The tags are read here; gortmplib reads the rest as it reads an RTMP publisher: each
// tag becomes an RTMP message in a chunk stream that gortmplib's message reader parses,
// and a gortmplib.Reader over them (through flvConn, a gortmplib.Conn) finds the tracks
// and splits the access units. Before a tag reaches gortmplib it is checked here, so that
// a codec TRTC does not carry is refused by name (gortmplib only knows some of FLV's).

// maxFLVTag is the largest tag body taken: gortmplib's limit on an RTMP message body.
const maxFLVTag = 10 << 20

// FLV tag types, and the RTMP chunk streams their messages are put in.
const (
	flvTagAudio  = 8
	flvTagVideo  = 9
	flvAudioCSID = 4
	flvVideoCSID = 6
)

// openFLV reads an FLV file from r.
func openFLV(r io.Reader, opts Options) (Media, error) {
	tags, err := newFLVTags(r)
	if err != nil {
		return nil, err
	}
	conn := newFLVConn(tags)
	rd := &gortmplib.Reader{Conn: conn}
	conn.analysing = true
	if err := rd.Initialize(); err != nil {
		return nil, flvError(err, "finding its tracks")
	}
	conn.analysing = false
	var video, audio *gortmplib.Track
	var vp, ap *hub.Params
	for _, tr := range rd.Tracks() {
		switch c := tr.Codec.(type) {
		case *codecs.H264:
			if video != nil {
				continue
			}
			if vp, err = h264Params(c.SPS, c.PPS); err != nil {
				return nil, err
			}
			video = tr
		case *codecs.MPEG4Audio:
			if audio != nil {
				continue
			}
			if ap, err = aacParams(c.Config); err != nil {
				return nil, err
			}
			audio = tr
		default:
			return nil, unsupported("the FLV track's codec %s (H.264 and AAC are taken)", rtmpCodecName(c))
		}
	}
	if video == nil && audio == nil {
		return nil, unsupported("the FLV file has no H.264 or AAC track")
	}
	conn.wantVideo, conn.wantAudio = video != nil, audio != nil
	d := &flvDemuxer{conn: conn, r: rd}
	if video != nil {
		d.sps, d.pps = vp.SPS, vp.PPS
		rd.OnDataH264(video, d.onVideo)
	}
	if audio != nil {
		rd.OnDataMPEG4Audio(audio, d.onAudio)
	}
	return newFileMedia(d, vp, ap, opts), nil
}

// flvError is a failure of gortmplib or of the tags, said as one of the FLV file.
func flvError(err error, doing string) error {
	switch {
	case errors.Is(err, ErrUnsupported), strings.HasPrefix(err.Error(), "ingest: FLV: "):
		return err // said already
	case err == io.EOF:
		return fmt.Errorf("ingest: FLV: the file ends before its tracks are found: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("ingest: FLV: %s: %w", doing, err)
}

// flvDemuxer reads the units gortmplib's Reader hands to its callbacks.
type flvDemuxer struct {
	conn     *flvConn
	r        *gortmplib.Reader
	queue    []Packet
	sps, pps []byte   // the decoder configuration in force
	config   [][]byte // a new one (a sequence header mid-stream), for the next access unit
	err      error
}

func (d *flvDemuxer) next() (Packet, error) {
	for len(d.queue) == 0 {
		if d.err != nil {
			return Packet{}, d.err
		}
		if err := d.r.Read(); err != nil {
			if err != io.EOF {
				err = flvError(err, "reading")
			}
			d.err = err
		}
	}
	p := d.queue[0]
	d.queue[0] = Packet{}
	d.queue = d.queue[1:]
	return p, nil
}

func (d *flvDemuxer) close() error {
	d.queue = nil
	d.err = errors.New("ingest: the source is closed")
	return nil
}

// onVideo takes an access unit, or a decoder configuration (SPS and PPS): one other than
// the configuration in force goes in front of the next access unit.
func (d *flvDemuxer) onVideo(pts, dts time.Duration, au [][]byte) {
	if paramSetsOnly(au) {
		if len(au) == 2 && bytes.Equal(au[0], d.sps) && bytes.Equal(au[1], d.pps) {
			d.config = nil
		} else {
			d.config = au
		}
		return
	}
	if d.config != nil {
		au = append(append([][]byte(nil), d.config...), au...)
		if len(d.config) == 2 {
			d.sps, d.pps = d.config[0], d.config[1]
		}
		d.config = nil
	}
	if p, ok := videoUnit(pts, dts, au); ok {
		d.queue = append(d.queue, p)
	}
}

func (d *flvDemuxer) onAudio(pts time.Duration, au []byte) {
	if len(au) > 0 {
		d.queue = append(d.queue, audioUnit(pts, au))
	}
}

// flvTags reads an FLV file's tags.
type flvTags struct {
	r   io.Reader
	hdr [11]byte
	err error // returned after the tag in hand (a truncated trailer)
}

type flvTag struct {
	typ  byte
	ts   uint32 // milliseconds
	body []byte
}

// newFLVTags reads the FLV header.
func newFLVTags(r io.Reader) (*flvTags, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("ingest: FLV: the header: %w", noEOF(err))
	}
	if string(h[:3]) != "FLV" {
		return nil, unsupported("the content is not FLV")
	}
	if h[3] != 1 {
		return nil, unsupported("the FLV version %d", h[3])
	}
	off := uint32(h[5])<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])
	if off < 9 || off > 1<<16 {
		return nil, fmt.Errorf("ingest: FLV: the header says the data start at %d", off)
	}
	// The header's remainder, and PreviousTagSize0.
	if _, err := io.CopyN(io.Discard, r, int64(off-9)+4); err != nil {
		return nil, fmt.Errorf("ingest: FLV: the header: %w", noEOF(err))
	}
	return &flvTags{r: r}, nil
}

// next is the next tag, io.EOF at the end of the file.
func (t *flvTags) next() (flvTag, error) {
	if t.err != nil {
		return flvTag{}, t.err
	}
	if _, err := io.ReadFull(t.r, t.hdr[:]); err != nil {
		if err != io.EOF {
			err = fmt.Errorf("ingest: FLV: a tag's header: %w", noEOF(err))
		}
		t.err = err
		return flvTag{}, err
	}
	tag := flvTag{
		typ: t.hdr[0],
		ts:  uint32(t.hdr[7])<<24 | uint32(t.hdr[4])<<16 | uint32(t.hdr[5])<<8 | uint32(t.hdr[6]),
	}
	size := int64(t.hdr[1])<<16 | int64(t.hdr[2])<<8 | int64(t.hdr[3])
	if size > maxFLVTag {
		t.err = fmt.Errorf("ingest: FLV: a tag of %d bytes, more than the %d taken", size, maxFLVTag)
		return flvTag{}, t.err
	}
	body, err := io.ReadAll(io.LimitReader(t.r, size))
	if err == nil && int64(len(body)) < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		t.err = fmt.Errorf("ingest: FLV: a tag's body: %w", err)
		return flvTag{}, t.err
	}
	tag.body = body
	// PreviousTagSize: a file may end without the last one.
	if _, err := io.ReadFull(t.r, t.hdr[:4]); err != nil && err != io.EOF {
		t.err = fmt.Errorf("ingest: FLV: a tag's trailer: %w", err)
	}
	return tag, nil
}

// flvConn is a gortmplib.Conn whose messages are an FLV file's tags. It hands gortmplib
// only the audio and video tags of the codecs taken, and stops at one of another codec.
type flvConn struct {
	tags *flvTags
	buf  bytes.Buffer // the RTMP chunks of the tag in hand, read by mr
	w    *rawmessage.Writer
	mr   *message.Reader
	err  error // why the tags ended (io.EOF at the end of the file)

	videoConfig, audioConfig bool // a decoder configuration has been seen
	maxTS                    uint32

	// gortmplib's Reader finds the tracks in the first 2 s of messages; a file that ends
	// sooner (or is cut sooner) ends its analysis with a message saying nothing (marker).
	analysing, marker    bool
	analysed             bool
	wantVideo, wantAudio bool // after the analysis: the tracks taken
}

func newFLVConn(tags *flvTags) *flvConn {
	c := &flvConn{tags: tags}
	bw := bytecounter.NewWriter(&c.buf)
	c.w = rawmessage.NewWriter(bw, bw, false)
	br := bytecounter.NewReader(flvPump{c})
	c.mr = message.NewReader(br, br, func(uint32) error { return nil })
	// One chunk per message: the reader is told the chunk size first.
	c.w.Write(&rawmessage.Message{ChunkStreamID: message.ControlChunkStreamID, Type: uint8(message.TypeSetChunkSize),
		Body: []byte{maxFLVTag >> 24, maxFLVTag >> 16 & 0xff, maxFLVTag >> 8 & 0xff, maxFLVTag & 0xff}})
	c.w.SetChunkSize(maxFLVTag)
	return c
}

func (c *flvConn) BytesReceived() uint64       { return 0 }
func (c *flvConn) BytesSent() uint64           { return 0 }
func (c *flvConn) Write(message.Message) error { return errors.New("ingest: an FLV file is read only") }

func (c *flvConn) Read() (message.Message, error) {
	msg, err := c.mr.Read()
	if err == nil {
		return msg, nil
	}
	if c.err != nil {
		err = c.err
	}
	// The end of the file, or a cut in it, ends the analysis; the cut is told after the
	// units before it.
	if c.analysing && !c.marker && (err == io.EOF || err == c.err && !errors.Is(err, ErrUnsupported)) {
		c.marker = true
		ts := time.Duration(c.maxTS)*time.Millisecond + time.Hour
		switch {
		case c.videoConfig:
			return &message.Video{ChunkStreamID: flvVideoCSID, MessageStreamID: 1, DTS: ts,
				Codec: message.CodecH264, Type: message.VideoTypeEOS}, nil
		case c.audioConfig:
			return &message.Audio{ChunkStreamID: flvAudioCSID, MessageStreamID: 1, DTS: ts,
				Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeConfig}, nil
		}
	}
	return nil, err
}

// flvPump is the chunk stream mr reads: the tags, one at a time.
type flvPump struct{ c *flvConn }

func (p flvPump) Read(b []byte) (int, error) {
	c := p.c
	for c.buf.Len() == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if err := c.feed(); err != nil {
			c.err = err
		}
	}
	return c.buf.Read(b)
}

// feed reads a tag and puts it in buf as an RTMP message if it is one gortmplib is to see.
func (c *flvConn) feed() error {
	tag, err := c.tags.next()
	if err != nil {
		return err
	}
	if tag.typ&0x20 != 0 {
		return unsupported("encrypted FLV tags")
	}
	b := tag.body
	var csid byte
	switch tag.typ & 0x1f {
	case flvTagAudio:
		ok, err := c.audioTag(b)
		if err != nil || !ok || (!c.analysing && !c.wantAudio) {
			return err
		}
		csid = flvAudioCSID
	case flvTagVideo:
		ok, err := c.videoTag(b)
		if err != nil || !ok || (!c.analysing && !c.wantVideo) {
			return err
		}
		csid = flvVideoCSID
	default:
		return nil // script data (onMetaData) and the rest: not media
	}
	c.maxTS = max(c.maxTS, tag.ts)
	return c.w.Write(&rawmessage.Message{ChunkStreamID: csid, Timestamp: time.Duration(tag.ts) * time.Millisecond,
		Type: tag.typ & 0x1f, MessageStreamID: 1, Body: b})
}

// audioTag says whether an audio tag's body goes to gortmplib, or refuses its codec.
func (c *flvConn) audioTag(b []byte) (bool, error) {
	if len(b) < 2 {
		return false, nil
	}
	switch codec := b[0] >> 4; codec {
	case message.CodecMPEG4Audio:
		switch message.AudioAACType(b[1]) {
		case message.AudioAACTypeConfig:
			if len(b) < 4 {
				return false, nil // no AudioSpecificConfig
			}
			c.audioConfig = true
			return true, nil
		case message.AudioAACTypeAU:
			return c.audioConfig && len(b) > 2, nil // frames before the configuration are dropped
		}
		return false, nil
	case 9: // Enhanced RTMP
		if len(b) < 5 {
			return false, nil
		}
		exType := message.AudioExType(b[0] & 0x0f)
		if exType == message.AudioExTypeMultitrack {
			return false, unsupported("FLV multitrack audio")
		}
		if fcc := message.FourCC(uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])); fcc != message.FourCCMP4A {
			return false, unsupported("the FLV audio codec %s (AAC is taken)", fourCCName(fcc))
		}
		switch exType {
		case message.AudioExTypeSequenceStart:
			c.audioConfig = true
			return true, nil
		case message.AudioExTypeCodedFrames:
			return c.audioConfig && len(b) > 5, nil
		}
		return false, nil
	default:
		return false, unsupported("the FLV audio codec %s (AAC is taken)", flvAudioCodec(codec))
	}
}

// videoTag says whether a video tag's body goes to gortmplib, or refuses its codec.
func (c *flvConn) videoTag(b []byte) (bool, error) {
	if len(b) < 5 {
		return false, nil
	}
	if b[0]&0x80 != 0 { // Enhanced RTMP
		exType := message.VideoExType(b[0] & 0x0f)
		if (b[0]>>4)&0x07 == 5 {
			return false, nil // a command frame
		}
		if exType == message.VideoExTypeMultitrack {
			return false, unsupported("FLV multitrack video")
		}
		if fcc := message.FourCC(uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])); fcc != message.FourCCAVC {
			return false, unsupported("the FLV video codec %s (H.264 is taken)", fourCCName(fcc))
		}
		switch exType {
		case message.VideoExTypeSequenceStart:
			c.videoConfig = true
			return len(b) > 5, nil
		case message.VideoExTypeCodedFrames:
			return c.videoConfig && len(b) > 8, nil
		case message.VideoExTypeFramesX:
			return c.videoConfig && len(b) > 5, nil
		}
		return false, nil
	}
	if b[0]>>4 == 5 {
		return false, nil // video info / command frame
	}
	if codec := b[0] & 0x0f; codec != message.CodecH264 {
		return false, unsupported("the FLV video codec %s (H.264 is taken)", flvVideoCodec(codec))
	}
	switch message.VideoType(b[1]) {
	case message.VideoTypeConfig:
		c.videoConfig = true
		return len(b) > 5, nil
	case message.VideoTypeAU:
		return c.videoConfig && len(b) > 5, nil // pictures before the configuration are dropped
	}
	return false, nil // the end of the sequence, and the unknown
}

func flvAudioCodec(id byte) string {
	switch id {
	case 0, 3:
		return "linear PCM"
	case 1:
		return "ADPCM"
	case 2, 14:
		return "MP3"
	case 4, 5, 6:
		return "Nellymoser"
	case 7:
		return "G.711 A-law"
	case 8:
		return "G.711 mu-law"
	case 11:
		return "Speex"
	case 15:
		return "device-specific sound"
	}
	return fmt.Sprintf("with id %d", id)
}

func flvVideoCodec(id byte) string {
	switch id {
	case 1:
		return "JPEG"
	case 2:
		return "Sorenson H.263"
	case 3:
		return "Screen video"
	case 4:
		return "On2 VP6"
	case 5:
		return "On2 VP6 with alpha"
	case 6:
		return "Screen video v2"
	case 12:
		return "HEVC"
	case 13:
		return "AV1"
	}
	return fmt.Sprintf("with id %d", id)
}

func fourCCName(f message.FourCC) string {
	switch f {
	case message.FourCCHEVC:
		return "HEVC"
	case message.FourCCAV1:
		return "AV1"
	case message.FourCCVP9:
		return "VP9"
	case message.FourCCOpus:
		return "Opus"
	case message.FourCCAC3:
		return "AC-3"
	case message.FourCCMP3:
		return "MP3"
	case message.FourCCFLAC:
		return "FLAC"
	}
	b := []byte{byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)}
	return fmt.Sprintf("%q", printable(b, 4))
}

// rtmpCodecName names a gortmplib codec.
func rtmpCodecName(c codecs.Codec) string {
	switch c.(type) {
	case *codecs.H265:
		return "HEVC"
	case *codecs.AV1:
		return "AV1"
	case *codecs.VP9:
		return "VP9"
	case *codecs.MPEG1Audio:
		return "MP3"
	case *codecs.Opus:
		return "Opus"
	case *codecs.AC3:
		return "AC-3"
	case *codecs.G711:
		return "G.711"
	case *codecs.LPCM:
		return "linear PCM"
	case *codecs.FLAC:
		return "FLAC"
	}
	return fmt.Sprintf("%T", c)
}
