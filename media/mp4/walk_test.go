package mp4

import (
	"encoding/binary"
	"fmt"
)

// A box walker for tests: it reads back what the muxer wrote, checks that the tables agree with
// each other and with mdat, and hands each track's samples out again. It trusts nothing: every
// length is checked, so a broken file gives an error, not a panic.

type fileBox struct {
	typ    string
	offset int64 // of the header
	header int   // 8, or 16 with a 64-bit size
	body   []byte
}

// boxesIn splits b into boxes.
func boxesIn(b []byte, base int64) ([]fileBox, error) {
	var out []fileBox
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%d stray bytes at %d", len(b)-off, base+int64(off))
		}
		size, header := uint64(binary.BigEndian.Uint32(b[off:])), 8
		typ := string(b[off+4 : off+8])
		switch size {
		case 1:
			if len(b)-off < 16 {
				return nil, fmt.Errorf("%s at %d: short 64-bit size", typ, base+int64(off))
			}
			size, header = binary.BigEndian.Uint64(b[off+8:]), 16
		case 0:
			size = uint64(len(b) - off)
		}
		if size < uint64(header) || size > uint64(len(b)-off) {
			return nil, fmt.Errorf("%s at %d: size %d, %d bytes left", typ, base+int64(off), size, len(b)-off)
		}
		out = append(out, fileBox{typ: typ, offset: base + int64(off), header: header, body: b[off+header : off+int(size)]})
		off += int(size)
	}
	return out, nil
}

// child returns the only box of type typ among the children of a container body.
func child(body []byte, typ string) ([]byte, error) {
	bs, err := boxesIn(body, 0)
	if err != nil {
		return nil, err
	}
	var found []byte
	n := 0
	for _, b := range bs {
		if b.typ == typ {
			found, n = b.body, n+1
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%d %s boxes", n, typ)
	}
	return found, nil
}

// path descends through containers: path(moov, "trak", "mdia") and so on.
func path(body []byte, types ...string) ([]byte, error) {
	for _, t := range types {
		var err error
		if body, err = child(body, t); err != nil {
			return nil, fmt.Errorf("%v: %w", types, err)
		}
	}
	return body, nil
}

// reader reads big-endian fields and remembers running short.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		if r.err == nil {
			r.err = fmt.Errorf("short box: want %d bytes, %d left", n, len(r.b))
		}
		return make([]byte, max(n, 0))
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) sized(version uint8) uint64 {
	if version == 1 {
		return r.u64()
	}
	return uint64(r.u32())
}

// readTrack is a trak as the walker understood it.
type readTrack struct {
	handler     string
	id          uint32
	timescale   uint32
	duration    uint64 // mdhd
	tkhdDur     uint64
	width       uint32 // tkhd, 16.16
	height      uint32
	entries     []string // sample entry types
	configs     [][]byte // avcC record or esds body per entry
	sizes       []uint32
	durations   []uint32 // stts, one per sample
	offsets     []int32  // ctts, one per sample; nil without ctts
	syncs       []uint32 // nil without stss
	chunkOffs   []uint64
	stscRows    int
	chunkSizes  []uint32 // samples per chunk, from stsc
	chunkEntry  []uint32
	co64        bool
	edits       [][2]int64 // elst: segment duration, media time
	samples     [][]byte
	sampleEntry []uint32 // sample description of each sample
}

// readFile walks a whole file: the top-level box types in order, mvhd's timescale and duration,
// and the tracks with their samples cut out of mdat.
type readMovie struct {
	top       []string
	mdatHdr   int
	timescale uint32
	duration  uint64
	nextID    uint32
	tracks    []*readTrack
}

func readFile(data []byte) (*readMovie, error) {
	top, err := boxesIn(data, 0)
	if err != nil {
		return nil, err
	}
	mv := &readMovie{}
	var moov []byte
	var mdat fileBox
	for _, b := range top {
		mv.top = append(mv.top, b.typ)
		switch b.typ {
		case "moov":
			moov = b.body
		case "mdat":
			mdat = b
			mv.mdatHdr = b.header
		}
	}
	if moov == nil || mdat.body == nil {
		return nil, fmt.Errorf("top-level boxes %v", mv.top)
	}
	mvhd, err := child(moov, "mvhd")
	if err != nil {
		return nil, err
	}
	r := &reader{b: mvhd}
	v := r.u8()
	r.take(3)
	r.sized(v)
	r.sized(v)
	mv.timescale = r.u32()
	mv.duration = r.sized(v)
	r.take(4 + 2 + 10 + 36 + 24)
	mv.nextID = r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("mvhd: %w", r.err)
	}
	moovBoxes, _ := boxesIn(moov, 0)
	mdatStart := mdat.offset + int64(mdat.header)
	mdatEnd := mdatStart + int64(len(mdat.body))
	for _, b := range moovBoxes {
		if b.typ != "trak" {
			continue
		}
		t, err := readTrak(b.body)
		if err != nil {
			return nil, err
		}
		// Cut the samples out of mdat by stsc, stco and stsz.
		n := 0
		for c, off := range t.chunkOffs {
			pos := int64(off)
			for range t.chunkSizes[c] {
				if n >= len(t.sizes) {
					return nil, fmt.Errorf("track %d: chunks hold more samples than stsz's %d", t.id, len(t.sizes))
				}
				end := pos + int64(t.sizes[n])
				if pos < mdatStart || end > mdatEnd {
					return nil, fmt.Errorf("track %d: sample %d at %d..%d outside mdat %d..%d", t.id, n+1, pos, end, mdatStart, mdatEnd)
				}
				t.samples = append(t.samples, data[pos:end])
				t.sampleEntry = append(t.sampleEntry, t.chunkEntry[c])
				pos = end
				n++
			}
		}
		if n != len(t.sizes) {
			return nil, fmt.Errorf("track %d: chunks hold %d samples, stsz %d", t.id, n, len(t.sizes))
		}
		mv.tracks = append(mv.tracks, t)
	}
	return mv, nil
}

func readTrak(trak []byte) (*readTrack, error) {
	t := &readTrack{}
	tkhd, err := child(trak, "tkhd")
	if err != nil {
		return nil, err
	}
	r := &reader{b: tkhd}
	v := r.u8()
	r.take(3)
	r.sized(v)
	r.sized(v)
	t.id = r.u32()
	r.u32()
	t.tkhdDur = r.sized(v)
	r.take(8 + 8 + 36)
	t.width, t.height = r.u32(), r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("tkhd: %w", r.err)
	}
	if elst, err := path(trak, "edts", "elst"); err == nil {
		r := &reader{b: elst}
		v := r.u8()
		r.take(3)
		for range r.u32() {
			seg, mt := r.sized(v), r.sized(v)
			if v == 0 {
				t.edits = append(t.edits, [2]int64{int64(seg), int64(int32(mt))})
			} else {
				t.edits = append(t.edits, [2]int64{int64(seg), int64(mt)})
			}
			if rate := r.u32(); rate != 0x00010000 {
				return nil, fmt.Errorf("elst: media rate %#x", rate)
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("elst: %w", r.err)
		}
	}
	mdhd, err := path(trak, "mdia", "mdhd")
	if err != nil {
		return nil, err
	}
	r = &reader{b: mdhd}
	v = r.u8()
	r.take(3)
	r.sized(v)
	r.sized(v)
	t.timescale = r.u32()
	t.duration = r.sized(v)
	hdlr, err := path(trak, "mdia", "hdlr")
	if err != nil {
		return nil, err
	}
	if len(hdlr) < 12 {
		return nil, fmt.Errorf("hdlr of %d bytes", len(hdlr))
	}
	t.handler = string(hdlr[8:12])
	stbl, err := path(trak, "mdia", "minf", "stbl")
	if err != nil {
		return nil, err
	}

	stsd, err := child(stbl, "stsd")
	if err != nil {
		return nil, err
	}
	if len(stsd) < 8 {
		return nil, fmt.Errorf("stsd of %d bytes", len(stsd))
	}
	entries, err := boxesIn(stsd[8:], 0)
	if err != nil {
		return nil, fmt.Errorf("stsd: %w", err)
	}
	if uint32(len(entries)) != binary.BigEndian.Uint32(stsd[4:]) {
		return nil, fmt.Errorf("stsd: %d entries, count %d", len(entries), binary.BigEndian.Uint32(stsd[4:]))
	}
	for _, e := range entries {
		t.entries = append(t.entries, e.typ)
		var skip int // the sample entry's own fields before its child boxes
		var cfg string
		switch e.typ {
		case "avc1":
			skip, cfg = 78, "avcC"
		case "mp4a":
			skip, cfg = 28, "esds"
		default:
			return nil, fmt.Errorf("sample entry %q", e.typ)
		}
		if len(e.body) < skip {
			return nil, fmt.Errorf("%s of %d bytes", e.typ, len(e.body))
		}
		c, err := child(e.body[skip:], cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.typ, err)
		}
		t.configs = append(t.configs, c)
	}

	table := func(typ string) (*reader, uint32, error) {
		b, err := child(stbl, typ)
		if err != nil {
			return nil, 0, err
		}
		r := &reader{b: b}
		r.take(4)
		return r, r.u32(), nil
	}
	stts, n, err := table("stts")
	if err != nil {
		return nil, err
	}
	for range n {
		count, delta := stts.u32(), stts.u32()
		if stts.err != nil || count > 1<<24 {
			return nil, fmt.Errorf("stts: bad row %d×%d (%v)", count, delta, stts.err)
		}
		for range count {
			t.durations = append(t.durations, delta)
		}
	}
	if ctts, n, err := table("ctts"); err == nil {
		for range n {
			count, off := ctts.u32(), int32(ctts.u32())
			if ctts.err != nil || count > 1<<24 {
				return nil, fmt.Errorf("ctts: bad row (%v)", ctts.err)
			}
			for range count {
				t.offsets = append(t.offsets, off)
			}
		}
	}
	if stss, n, err := table("stss"); err == nil {
		t.syncs = []uint32{}
		for range n {
			t.syncs = append(t.syncs, stss.u32())
		}
		if stss.err != nil {
			return nil, fmt.Errorf("stss: %w", stss.err)
		}
	}
	stsz, err := child(stbl, "stsz")
	if err != nil {
		return nil, err
	}
	r = &reader{b: stsz}
	r.take(4)
	size, count := r.u32(), r.u32()
	for range count {
		if size != 0 {
			t.sizes = append(t.sizes, size)
		} else {
			t.sizes = append(t.sizes, r.u32())
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("stsz: %v, %d bytes left", r.err, len(r.b))
	}
	co, n, err := table("stco")
	if err != nil {
		if co, n, err = table("co64"); err != nil {
			return nil, fmt.Errorf("neither stco nor co64: %w", err)
		}
		t.co64 = true
	}
	for range n {
		if t.co64 {
			t.chunkOffs = append(t.chunkOffs, co.u64())
		} else {
			t.chunkOffs = append(t.chunkOffs, uint64(co.u32()))
		}
	}
	if co.err != nil {
		return nil, co.err
	}
	stsc, n, err := table("stsc")
	if err != nil {
		return nil, err
	}
	t.stscRows = int(n)
	type row struct{ first, per, entry uint32 }
	var rows []row
	for range n {
		rows = append(rows, row{stsc.u32(), stsc.u32(), stsc.u32()})
	}
	if stsc.err != nil {
		return nil, stsc.err
	}
	for i, rw := range rows {
		last := uint32(len(t.chunkOffs))
		if i+1 < len(rows) {
			last = rows[i+1].first - 1
		}
		if rw.first < 1 || rw.first > last+1 || rw.entry < 1 || int(rw.entry) > len(t.entries) {
			return nil, fmt.Errorf("stsc row %d: %+v with %d chunks, %d entries", i, rw, len(t.chunkOffs), len(t.entries))
		}
		for c := rw.first; c <= last; c++ {
			t.chunkSizes = append(t.chunkSizes, rw.per)
			t.chunkEntry = append(t.chunkEntry, rw.entry)
		}
	}
	if len(t.chunkSizes) != len(t.chunkOffs) || len(rows) > 0 && rows[0].first != 1 {
		return nil, fmt.Errorf("stsc covers %d chunks, stco has %d", len(t.chunkSizes), len(t.chunkOffs))
	}
	if len(t.durations) != len(t.sizes) {
		return nil, fmt.Errorf("stts has %d samples, stsz %d", len(t.durations), len(t.sizes))
	}
	if t.offsets != nil && len(t.offsets) != len(t.sizes) {
		return nil, fmt.Errorf("ctts has %d samples, stsz %d", len(t.offsets), len(t.sizes))
	}
	var sum uint64
	for _, d := range t.durations {
		sum += uint64(d)
	}
	if sum != t.duration {
		return nil, fmt.Errorf("mdhd duration %d, stts sums to %d", t.duration, sum)
	}
	return t, nil
}
