package mpegts

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

// PacketSize is the size of a transport stream packet.
const PacketSize = 188

// The PIDs the muxer writes: ffmpeg's defaults, so our files look like the usual ones.
const (
	PIDPAT   = 0x0000
	PIDPMT   = 0x1000
	PIDVideo = 0x0100
	PIDAudio = 0x0101
)

// Stream types of the PMT (ISO/IEC 13818-1 Table 2-34).
const (
	StreamTypeH264 = 0x1B
	StreamTypeAAC  = 0x0F // ISO/IEC 13818-7 audio with ADTS transport syntax
)

const (
	streamIDVideo = 0xE0
	streamIDAudio = 0xC0
	programNumber = 1
	maxTimestamp  = 1<<33 - 1
	// pcrLead is how far the PCR runs behind the DTS of the unit it rides with (90 kHz): the
	// decoder's clock then reaches a unit's time after the unit has arrived, with room for the
	// audio the HLS segmenter groups into one PES (about 100 ms) to arrive before its time too.
	pcrLead = 200 * 90
	// An AUD (nal_unit_type 9) with primary_pic_type 7 (any slice type) and its stop bit.
	audNAL = "\x00\x00\x00\x01\x09\xF0"
)

// Tracks says which elementary streams the program has.
type Tracks struct {
	Video bool // H.264, PID 0x100; carries the PCR when present
	Audio bool // AAC in ADTS, PID 0x101; carries the PCR in an audio-only stream
}

// Muxer writes one program of H.264 and/or AAC to an io.Writer. Each Write call writes whole
// packets in a single w.Write. Timestamps are time.Durations on the caller's media clock,
// written at 90 kHz modulo 2^33; they must not be negative. A Muxer is not safe for concurrent use.
type Muxer struct {
	w      io.Writer
	tracks Tracks
	pcrPID uint16
	cc     [4]uint8 // continuity counters: PAT, PMT, video, audio
	tables bool     // PAT/PMT written at least once
	pes    []byte   // scratch: one PES packet
	out    []byte   // scratch: its transport packets
	pat    []byte   // PAT section with CRC
	pmt    []byte   // PMT section with CRC
}

// NewMuxer returns a muxer for tracks writing to w. Nothing is written until the first call:
// the first WriteVideo or WriteAudio writes PAT and PMT before it when WriteTables was not called.
func NewMuxer(w io.Writer, tracks Tracks) (*Muxer, error) {
	if !tracks.Video && !tracks.Audio {
		return nil, errors.New("mpegts: a program needs a video or an audio track")
	}
	m := &Muxer{w: w, tracks: tracks, pcrPID: PIDAudio}
	if tracks.Video {
		m.pcrPID = PIDVideo
	}
	m.pat = section(0x00, 1, []byte{0, programNumber, 0xE0 | PIDPMT>>8, PIDPMT & 0xFF})
	pmt := []byte{0xE0 | byte(m.pcrPID>>8), byte(m.pcrPID), 0xF0, 0} // PCR_PID, no program_info
	if tracks.Video {
		pmt = append(pmt, StreamTypeH264, 0xE0|PIDVideo>>8, PIDVideo&0xFF, 0xF0, 0)
	}
	if tracks.Audio {
		pmt = append(pmt, StreamTypeAAC, 0xE0|PIDAudio>>8, PIDAudio&0xFF, 0xF0, 0)
	}
	m.pmt = section(0x02, programNumber, pmt)
	return m, nil
}

// section builds a long-form PSI section: header, body, CRC.
func section(tableID byte, idExt uint16, body []byte) []byte {
	length := 5 + len(body) + 4 // after section_length: id ext, version…last_section, body, CRC
	s := []byte{
		tableID,
		0xB0 | byte(length>>8), byte(length), // section_syntax_indicator 1, '0', reserved '11'
		byte(idExt >> 8), byte(idExt),
		0xC1, // reserved '11', version 0, current_next_indicator 1
		0, 0, // section_number, last_section_number
	}
	s = append(s, body...)
	c := crc32MPEG2(s)
	return append(s, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
}

// Tracks returns the tracks the muxer was made for.
func (m *Muxer) Tracks() Tracks { return m.tracks }

// WriteTables writes a PAT and a PMT. The HLS segmenter calls it at the start of every segment
// so each one can be decoded on its own.
func (m *Muxer) WriteTables() error {
	m.out = m.out[:0]
	m.appendSection(PIDPAT, 0, m.pat)
	m.appendSection(PIDPMT, 1, m.pmt)
	m.tables = true
	_, err := m.w.Write(m.out)
	return err
}

func (m *Muxer) appendSection(pid uint16, ccIndex int, sec []byte) {
	n := len(m.out)
	m.out = append(m.out, make([]byte, PacketSize)...)
	p := m.out[n:]
	p[0] = 0x47
	p[1] = 0x40 | byte(pid>>8) // payload_unit_start_indicator
	p[2] = byte(pid)
	p[3] = 0x10 | m.cc[ccIndex] // payload only
	m.cc[ccIndex] = (m.cc[ccIndex] + 1) & 0xF
	p[4] = 0 // pointer_field
	k := 5 + copy(p[5:], sec)
	for i := k; i < PacketSize; i++ {
		p[i] = 0xFF
	}
}

// WriteVideo writes one H.264 access unit in Annex B form (start codes). An access unit
// delimiter is put in front when the unit does not start with one, as transport streams
// require. key marks an IDR access unit: its first packet gets the random_access_indicator.
// dts may equal pts; it is written only when it differs.
func (m *Muxer) WriteVideo(pts, dts time.Duration, key bool, annexB []byte) error {
	if !m.tracks.Video {
		return errors.New("mpegts: no video track")
	}
	nalType, err := firstNALType(annexB)
	if err != nil {
		return err
	}
	p, err := to90k(pts)
	if err != nil {
		return err
	}
	d, err := to90k(dts)
	if err != nil {
		return err
	}
	prefix := ""
	if nalType != 9 {
		prefix = audNAL
	}
	return m.writePES(pesUnit{
		pid: PIDVideo, ccIndex: 2, streamID: streamIDVideo,
		pts: p, dts: d, hasDTS: d != p, rai: key,
		prefix: prefix, payload: annexB,
	})
}

// WriteAudio writes one PES of AAC: one or more whole ADTS frames, pts being the first one's.
func (m *Muxer) WriteAudio(pts time.Duration, adts []byte) error {
	if !m.tracks.Audio {
		return errors.New("mpegts: no audio track")
	}
	if _, err := aac.ParseADTSHeader(adts); err != nil {
		return fmt.Errorf("mpegts: audio: %w", err)
	}
	p, err := to90k(pts)
	if err != nil {
		return err
	}
	if 3+5+len(adts) > 0xFFFF {
		return fmt.Errorf("mpegts: %d bytes of audio do not fit one PES packet", len(adts))
	}
	return m.writePES(pesUnit{
		pid: PIDAudio, ccIndex: 3, streamID: streamIDAudio,
		pts: p, dts: p, rai: true, bounded: true, payload: adts,
	})
}

type pesUnit struct {
	pid      uint16
	ccIndex  int
	streamID byte
	pts, dts uint64
	hasDTS   bool
	rai      bool   // random_access_indicator in the first packet
	bounded  bool   // write PES_packet_length (audio); video uses 0, "unbounded"
	prefix   string // bytes before payload (an AUD)
	payload  []byte
}

func (m *Muxer) writePES(u pesUnit) error {
	if !m.tables {
		if err := m.WriteTables(); err != nil {
			return err
		}
	}
	// PES header (ISO/IEC 13818-1 2.4.3.6).
	hdrLen := 5
	flags := byte(0x80) // PTS only
	if u.hasDTS {
		hdrLen, flags = 10, 0xC0
	}
	pesLen := 0
	if u.bounded {
		pesLen = 3 + hdrLen + len(u.prefix) + len(u.payload)
	}
	pes := append(m.pes[:0],
		0, 0, 1, u.streamID, byte(pesLen>>8), byte(pesLen),
		0x84, // '10', not scrambled, data_alignment_indicator: the PES starts with an AU / ADTS frame
		flags, byte(hdrLen))
	if u.hasDTS {
		pes = appendTimestamp(pes, 0x3, u.pts)
		pes = appendTimestamp(pes, 0x1, u.dts)
	} else {
		pes = appendTimestamp(pes, 0x2, u.pts)
	}
	pes = append(pes, u.prefix...)
	pes = append(pes, u.payload...)
	m.pes = pes

	// The first packet's adaptation field: PCR on the PCR PID, random access on key frames.
	var af [7]byte
	afBody := af[:0]
	if u.pid == m.pcrPID || u.rai {
		f := byte(0)
		if u.rai {
			f |= 0x40
		}
		afBody = append(afBody, f)
		if u.pid == m.pcrPID {
			afBody[0] |= 0x10
			base := uint64(0) // at the very start, a PCR that stays at 0 until DTS passes the lead
			if u.dts > pcrLead {
				base = u.dts - pcrLead
			}
			afBody = append(afBody, byte(base>>25), byte(base>>17), byte(base>>9), byte(base>>1),
				byte(base&1)<<7|0x7E, 0) // 6 reserved bits, extension 0
		}
	}

	out := m.out[:0]
	data := pes
	for first := true; len(data) > 0; first = false {
		afSize := 0 // adaptation field bytes, its length byte included
		if first && len(afBody) > 0 {
			afSize = 1 + len(afBody)
		}
		room := PacketSize - 4 - afSize
		n := min(room, len(data))
		// The last packet is filled up by growing (or adding) the adaptation field: one byte
		// is a bare length of 0; more are a length, a flags byte of 0 and 0xFF stuffing.
		afSize += room - n
		k := len(out)
		out = append(out, make([]byte, PacketSize)...)
		p := out[k:]
		p[0] = 0x47
		p[1] = byte(u.pid >> 8)
		if first {
			p[1] |= 0x40
		}
		p[2] = byte(u.pid)
		p[3] = 0x10 | m.cc[u.ccIndex]
		m.cc[u.ccIndex] = (m.cc[u.ccIndex] + 1) & 0xF
		i := 4
		if afSize > 0 {
			p[3] |= 0x20
			p[4] = byte(afSize - 1)
			i = 5
			if afSize > 1 {
				if first && len(afBody) > 0 {
					i += copy(p[5:], afBody)
				} else {
					p[5] = 0 // no flags
					i = 6
				}
				for ; i < 4+afSize; i++ {
					p[i] = 0xFF
				}
			}
		}
		copy(p[i:], data[:n])
		data = data[n:]
	}
	m.out = out
	_, err := m.w.Write(out)
	return err
}

// appendTimestamp writes a 33-bit PTS or DTS in its 5-byte form with marker bits.
func appendTimestamp(b []byte, prefix byte, ts uint64) []byte {
	return append(b,
		prefix<<4|byte(ts>>29)&0x0E|1,
		byte(ts>>22),
		byte(ts>>14)|1,
		byte(ts>>7),
		byte(ts<<1)|1)
}

// to90k converts a media time to 90 kHz ticks, rounded, modulo 2^33.
func to90k(d time.Duration) (uint64, error) {
	if d < 0 {
		return 0, fmt.Errorf("mpegts: negative timestamp %v", d)
	}
	return (uint64(d)*9 + 50000) / 100000 & maxTimestamp, nil
}

// firstNALType returns the nal_unit_type of the first NAL unit of an Annex B access unit.
func firstNALType(b []byte) (byte, error) {
	zeros := 0
	for i, v := range b {
		switch {
		case v == 0:
			zeros++
		case v == 1 && zeros >= 2 && i+1 < len(b):
			return b[i+1] & 0x1F, nil
		default:
			return 0, errors.New("mpegts: video is not Annex B (no start code)")
		}
	}
	return 0, errors.New("mpegts: empty video access unit")
}
