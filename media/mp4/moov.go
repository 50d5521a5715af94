package mp4

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Finish writes the file to w: ftyp, moov, then mdat with the sample data copied from scratch.
// Tracks without samples are left out; a file without any sample is an error. Chunk offsets are
// 32-bit (stco) when the file stays below 4 GiB, 64-bit (co64) otherwise. The muxer cannot be
// used afterwards.
func (m *Muxer) Finish(w io.Writer) error {
	if m.finished {
		return ErrFinished
	}
	m.finished = true
	pending := slices.DeleteFunc(slices.Clone(m.tracks), func(t *track) bool { return t.pendingN == 0 })
	slices.SortStableFunc(pending, func(a, b *track) int { return cmp.Compare(a.pendingAt, b.pendingAt) })
	for _, t := range pending {
		m.flush(t)
	}
	if m.err != nil {
		return m.err
	}
	tracks := slices.DeleteFunc(slices.Clone(m.tracks), func(t *track) bool { return len(t.samples) == 0 })
	if len(tracks) == 0 {
		return errors.New("mp4: no samples to write")
	}
	start, _, _ := m.span()

	head := ftyp(m.video != nil && len(m.video.samples) > 0)
	mdatHeader := 8
	if m.wide || m.written+8 > math.MaxUint32 {
		mdatHeader = 16
	}
	co64 := m.wide
	// The tables' size depends on the width of the offsets only, not on their values.
	moovLen := int64(len(m.moov(tracks, start, 0, co64)))
	if !co64 && int64(len(head))+moovLen+int64(mdatHeader)+m.written > math.MaxUint32 {
		co64 = true
		moovLen = int64(len(m.moov(tracks, start, 0, co64)))
	}
	dataStart := int64(len(head)) + moovLen + int64(mdatHeader)
	out := append(head, m.moov(tracks, start, dataStart, co64)...)
	if int64(len(out)) != dataStart-int64(mdatHeader) {
		return errors.New("mp4: internal error: moov size changed with its offsets")
	}
	if mdatHeader == 16 {
		out = binary.BigEndian.AppendUint32(out, 1)
		out = append(out, "mdat"...)
		out = binary.BigEndian.AppendUint64(out, uint64(m.written+16))
	} else {
		out = binary.BigEndian.AppendUint32(out, uint32(m.written+8))
		out = append(out, "mdat"...)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("mp4: %w", err)
	}
	if _, err := m.scratch.Seek(m.scratchStart, io.SeekStart); err != nil {
		return fmt.Errorf("mp4: scratch: %w", err)
	}
	if n, err := io.CopyN(w, m.scratch, m.written); err != nil {
		return fmt.Errorf("mp4: copying sample data (%d of %d bytes): %w", n, m.written, err)
	}
	return nil
}

// ftyp is the file type box: major brand isom, compatible with the brands players look for.
func ftyp(video bool) []byte {
	var b boxes
	i := b.open("ftyp")
	b.str("isom")
	b.u32(0x200)
	b.str("isomiso2")
	if video {
		b.str("avc1")
	}
	b.str("mp41")
	b.close(i)
	return b.b
}

// moov renders the movie box; chunk offsets are dataStart plus the chunk's place in the scratch
// data. start is the presentation time movie time 0 stands for.
func (m *Muxer) moov(tracks []*track, start time.Duration, dataStart int64, co64 bool) []byte {
	var b boxes
	moov := b.open("moov")
	var movieDur int64
	for _, t := range tracks {
		movieDur = max(movieDur, m.edit(t, start).total())
	}
	v := version(movieDur)
	i := b.openFull("mvhd", v, 0)
	b.times(v, 0, 0)
	b.u32(MovieTimescale)
	b.sized(v, movieDur)
	b.u32(0x00010000) // rate 1.0
	b.u16(0x0100)     // volume 1.0
	b.zeros(2 + 8)
	b.matrix()
	b.zeros(24) // pre_defined
	b.u32(uint32(len(tracks) + 1))
	b.close(i)
	for n, t := range tracks {
		b.trak(m, t, uint32(n+1), start, dataStart, co64)
	}
	b.close(moov)
	return b.b
}

// edit says where a track sits in the movie: after empty (movie ticks) it plays media from
// mediaTime (media ticks) for segment (movie ticks).
type edit struct {
	empty, mediaTime, segment int64
}

func (e edit) total() int64 { return e.empty + e.segment }

func (m *Muxer) edit(t *track, start time.Duration) edit {
	e := edit{
		empty:     ticks(t.minPTS-start, MovieTimescale),
		mediaTime: t.mediaStart(),
		segment:   rescale(t.mediaDuration(), t.timescale, MovieTimescale),
	}
	if m.endSet && m.end > t.minPTS {
		e.segment = min(e.segment, ticks(m.end-t.minPTS, MovieTimescale))
	}
	return e
}

func (b *boxes) trak(m *Muxer, t *track, id uint32, start time.Duration, dataStart int64, co64 bool) {
	trak := b.open("trak")
	e := m.edit(t, start)
	v := version(e.total())
	i := b.openFull("tkhd", v, 3) // enabled, in movie
	b.times(v, 0, 0)
	b.u32(id)
	b.u32(0)
	b.sized(v, e.total())
	b.zeros(8)
	b.u16(0) // layer
	b.u16(0) // alternate_group
	if t.handler == "soun" {
		b.u16(0x0100)
	} else {
		b.u16(0)
	}
	b.u16(0)
	b.matrix()
	if t.handler == "vide" {
		first := t.entries[0]
		width := first.width
		if first.sarW > 0 {
			width = first.width * first.sarW / first.sarH
		}
		b.u32(uint32(width) << 16)
		b.u32(uint32(first.height) << 16)
	} else {
		b.zeros(8)
	}
	b.close(i)

	if e.empty > 0 || e.mediaTime != 0 {
		edts := b.open("edts")
		v := version(max(e.empty, e.segment, e.mediaTime))
		i := b.openFull("elst", v, 0)
		n := uint32(1)
		if e.empty > 0 {
			n = 2
		}
		b.u32(n)
		if e.empty > 0 {
			b.sized(v, e.empty)
			b.sized(v, -1) // an empty edit
			b.u32(0x00010000)
		}
		b.sized(v, e.segment)
		b.sized(v, e.mediaTime)
		b.u32(0x00010000) // media_rate 1.0
		b.close(i)
		b.close(edts)
	}

	mdia := b.open("mdia")
	mediaDur := t.mediaDuration()
	v = version(mediaDur)
	i = b.openFull("mdhd", v, 0)
	b.times(v, 0, 0)
	b.u32(t.timescale)
	b.sized(v, mediaDur)
	b.u16(0x55C4) // language "und"
	b.u16(0)
	b.close(i)
	i = b.openFull("hdlr", 0, 0)
	b.u32(0)
	b.str(t.handler)
	b.zeros(12)
	if t.handler == "vide" {
		b.str("VideoHandler\x00")
	} else {
		b.str("SoundHandler\x00")
	}
	b.close(i)

	minf := b.open("minf")
	if t.handler == "vide" {
		i = b.openFull("vmhd", 0, 1)
		b.zeros(8) // graphicsmode, opcolor
	} else {
		i = b.openFull("smhd", 0, 0)
		b.zeros(4) // balance, reserved
	}
	b.close(i)
	dinf := b.open("dinf")
	i = b.openFull("dref", 0, 0)
	b.u32(1)
	b.close(b.openFull("url ", 0, 1)) // the data is in this file
	b.close(i)
	b.close(dinf)
	b.stbl(t, dataStart, co64)
	b.close(minf)
	b.close(mdia)
	b.close(trak)
}

func (b *boxes) stbl(t *track, dataStart int64, co64 bool) {
	stbl := b.open("stbl")
	i := b.openFull("stsd", 0, 0)
	b.u32(uint32(len(t.entries)))
	for _, e := range t.entries {
		if t.handler == "vide" {
			b.avc1(e)
		} else {
			b.mp4a(e, t)
		}
	}
	b.close(i)

	// stts: runs of equal durations.
	i = b.openFull("stts", 0, 0)
	count := b.reserve()
	var runs uint32
	for n := 0; n < len(t.samples); {
		d, k := t.sampleDuration(n), 1
		for n+k < len(t.samples) && t.sampleDuration(n+k) == d {
			k++
		}
		b.u32(uint32(k))
		b.u32(uint32(d))
		runs++
		n += k
	}
	b.put(count, runs)
	b.close(i)

	if t.hasCTO {
		i = b.openFull("ctts", 0, 0)
		count, runs = b.reserve(), 0
		for n := 0; n < len(t.samples); {
			o, k := t.samples[n].cto, 1
			for n+k < len(t.samples) && t.samples[n+k].cto == o {
				k++
			}
			b.u32(uint32(k))
			b.u32(uint32(o))
			runs++
			n += k
		}
		b.put(count, runs)
		b.close(i)
	}

	if t.handler == "vide" {
		i = b.openFull("stss", 0, 0)
		b.u32(uint32(len(t.syncs)))
		for _, s := range t.syncs {
			b.u32(s)
		}
		b.close(i)
	}

	// stsc: a row where the samples per chunk or the sample description change.
	i = b.openFull("stsc", 0, 0)
	count, runs = b.reserve(), 0
	for n, c := range t.chunks {
		if n > 0 && c.samples == t.chunks[n-1].samples && c.entry == t.chunks[n-1].entry {
			continue
		}
		b.u32(uint32(n + 1))
		b.u32(c.samples)
		b.u32(c.entry)
		runs++
	}
	b.put(count, runs)
	b.close(i)

	i = b.openFull("stsz", 0, 0)
	same := true
	for _, s := range t.samples {
		same = same && s.size == t.samples[0].size
	}
	if same {
		b.u32(t.samples[0].size)
		b.u32(uint32(len(t.samples)))
	} else {
		b.u32(0)
		b.u32(uint32(len(t.samples)))
		for _, s := range t.samples {
			b.u32(s.size)
		}
	}
	b.close(i)

	if co64 {
		i = b.openFull("co64", 0, 0)
	} else {
		i = b.openFull("stco", 0, 0)
	}
	b.u32(uint32(len(t.chunks)))
	for _, c := range t.chunks {
		if co64 {
			b.u64(uint64(dataStart + c.offset))
		} else {
			b.u32(uint32(dataStart + c.offset))
		}
	}
	b.close(i)
	b.close(stbl)
}

// avc1 writes a visual sample entry (ISO/IEC 14496-12 12.1.3, 14496-15 5.4.2).
func (b *boxes) avc1(e entry) {
	i := b.open("avc1")
	b.zeros(6)
	b.u16(1)    // data_reference_index
	b.zeros(16) // pre_defined, reserved, pre_defined[3]
	b.u16(uint16(e.width))
	b.u16(uint16(e.height))
	b.u32(0x00480000) // 72 dpi
	b.u32(0x00480000)
	b.u32(0)
	b.u16(1)    // frame_count
	b.zeros(32) // compressorname
	b.u16(0x0018)
	b.u16(0xFFFF) // pre_defined -1
	c := b.open("avcC")
	b.b = append(b.b, e.config...)
	b.close(c)
	if e.sarW > 0 && e.sarW != e.sarH {
		p := b.open("pasp")
		b.u32(uint32(e.sarW))
		b.u32(uint32(e.sarH))
		b.close(p)
	}
	b.close(i)
}

// mp4a writes an audio sample entry with its esds (ISO/IEC 14496-14 5.6, 14496-1 7.2.6).
func (b *boxes) mp4a(e entry, t *track) {
	i := b.open("mp4a")
	b.zeros(6)
	b.u16(1) // data_reference_index
	b.zeros(8)
	b.u16(uint16(e.channels))
	b.u16(16) // samplesize
	b.zeros(4)
	if e.rate < 1<<16 {
		b.u32(uint32(e.rate) << 16)
	} else {
		b.u32(0) // does not fit 16.16; the esds has the rate
	}
	esds := b.openFull("esds", 0, 0)
	dsi := descriptor(0x05, e.config)
	dcd := []byte{
		0x40,        // objectTypeIndication: ISO/IEC 14496-3 audio
		0x05<<2 | 1, // streamType audio, upStream 0, reserved 1
		0, 0, 0,     // bufferSizeDB
		0, 0, 0, 0, 0, 0, 0, 0, // maxBitrate, avgBitrate
	}
	size := min(t.maxSize, 1<<24-1)
	dcd[2], dcd[3], dcd[4] = byte(size>>16), byte(size>>8), byte(size)
	binary.BigEndian.PutUint32(dcd[5:], t.maxBitrate())
	binary.BigEndian.PutUint32(dcd[9:], t.avgBitrate())
	es := []byte{0, 0, 0} // ES_ID 0 (14496-14 3.1.2), no dependence, URL or OCR
	es = append(es, descriptor(0x04, append(dcd, dsi...))...)
	es = append(es, descriptor(0x06, []byte{0x02})...) // SLConfigDescriptor: predefined for MP4
	b.b = append(b.b, descriptor(0x03, es)...)
	b.close(esds)
	b.close(i)
}

// descriptor renders an MPEG-4 descriptor (ISO/IEC 14496-1 8.3.3): tag, expandable size, body.
func descriptor(tag byte, body []byte) []byte {
	out := []byte{tag}
	n := len(body)
	var size []byte
	for {
		size = append([]byte{byte(n & 0x7F)}, size...)
		n >>= 7
		if n == 0 {
			break
		}
	}
	for k := 0; k < len(size)-1; k++ {
		size[k] |= 0x80
	}
	return append(append(out, size...), body...)
}

// version is 1 when a duration needs 64 bits.
func version(d int64) byte {
	if d > math.MaxUint32 || d < 0 {
		return 1
	}
	return 0
}

// rescale converts n ticks of one timescale to another, rounding to the nearest.
func rescale(n int64, from, to uint32) int64 {
	return ticks(duration(n, from), to)
}

// boxes appends ISO BMFF boxes to a buffer; open returns where a box starts and close writes its
// size there.
type boxes struct{ b []byte }

func (x *boxes) open(typ string) int {
	i := len(x.b)
	x.b = append(x.b, 0, 0, 0, 0)
	x.b = append(x.b, typ...)
	return i
}

func (x *boxes) openFull(typ string, version byte, flags uint32) int {
	i := x.open(typ)
	x.u32(uint32(version)<<24 | flags&0xFFFFFF)
	return i
}

func (x *boxes) close(i int) { binary.BigEndian.PutUint32(x.b[i:], uint32(len(x.b)-i)) }

// reserve leaves room for a count written later with put.
func (x *boxes) reserve() int        { x.u32(0); return len(x.b) - 4 }
func (x *boxes) put(i int, v uint32) { binary.BigEndian.PutUint32(x.b[i:], v) }

func (x *boxes) u16(v uint16) { x.b = binary.BigEndian.AppendUint16(x.b, v) }
func (x *boxes) u32(v uint32) { x.b = binary.BigEndian.AppendUint32(x.b, v) }
func (x *boxes) u64(v uint64) { x.b = binary.BigEndian.AppendUint64(x.b, v) }
func (x *boxes) str(s string) { x.b = append(x.b, s...) }
func (x *boxes) zeros(n int)  { x.b = append(x.b, make([]byte, n)...) }

// sized writes a duration or time field: 32 bits in version 0 boxes, 64 in version 1.
func (x *boxes) sized(version byte, v int64) {
	if version == 1 {
		x.u64(uint64(v))
	} else {
		x.u32(uint32(v))
	}
}

// times writes creation_time and modification_time.
func (x *boxes) times(version byte, created, modified int64) {
	x.sized(version, created)
	x.sized(version, modified)
}

// matrix writes the identity transformation matrix.
func (x *boxes) matrix() {
	for _, v := range []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
		x.u32(v)
	}
}
