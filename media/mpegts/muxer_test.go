package mpegts

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

// demuxed is what a minimal reader of our own finds in a stream: PES payloads per PID with
// their timestamps, and the transport-level facts the muxer promises.
type demuxed struct {
	pes      map[uint16][]demuxedPES
	pat, pmt int // sections seen
	pmtBody  []byte
}

type demuxedPES struct {
	streamID byte
	pts, dts uint64
	hasDTS   bool
	pcr      int64 // -1 when the first packet had none
	rai      bool
	data     []byte
}

// demux checks packet sync, continuity counters, adaptation-field lengths, PSI CRCs and PES
// headers, and reassembles the PES packets.
func demux(t *testing.T, ts []byte) *demuxed {
	t.Helper()
	if len(ts)%PacketSize != 0 {
		t.Fatalf("%d bytes is not a whole number of packets", len(ts))
	}
	d := &demuxed{pes: map[uint16][]demuxedPES{}}
	lastCC := map[uint16]int{}
	cur := map[uint16]*demuxedPES{}
	pesLen := map[uint16]int{}
	flush := func(pid uint16) {
		p := cur[pid]
		if p == nil {
			return
		}
		if n := pesLen[pid]; n != 0 && n != len(p.data) {
			t.Fatalf("PID %#x: PES_packet_length says %d payload bytes, got %d", pid, n, len(p.data))
		}
		d.pes[pid] = append(d.pes[pid], *p)
		cur[pid] = nil
	}
	for off := 0; off < len(ts); off += PacketSize {
		p := ts[off : off+PacketSize]
		if p[0] != 0x47 {
			t.Fatalf("packet %d: sync byte %#x", off/PacketSize, p[0])
		}
		pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
		pusi := p[1]&0x40 != 0
		afc := p[3] >> 4 & 3
		cc := int(p[3] & 0xF)
		if afc&1 == 0 {
			t.Fatalf("packet %d: no payload", off/PacketSize)
		}
		if last, ok := lastCC[pid]; ok && cc != (last+1)&0xF {
			t.Fatalf("packet %d PID %#x: continuity counter %d after %d", off/PacketSize, pid, cc, last)
		}
		lastCC[pid] = cc
		i := 4
		pcr, rai := int64(-1), false
		if afc&2 != 0 {
			n := int(p[4])
			if 5+n > PacketSize {
				t.Fatalf("packet %d: adaptation field of %d bytes", off/PacketSize, n)
			}
			if n > 0 {
				flags := p[5]
				rai = flags&0x40 != 0
				j := 6
				if flags&0x10 != 0 {
					pcr = int64(p[6])<<25 | int64(p[7])<<17 | int64(p[8])<<9 | int64(p[9])<<1 | int64(p[10]>>7)
					j += 6
				}
				for ; j < 5+n; j++ {
					if p[j] != 0xFF {
						t.Fatalf("packet %d: stuffing byte %#x", off/PacketSize, p[j])
					}
				}
			}
			i = 5 + n
		}
		payload := p[i:]
		switch pid {
		case PIDPAT, PIDPMT:
			if !pusi || payload[0] != 0 {
				t.Fatalf("PSI packet without pointer_field 0")
			}
			sec := payload[1:]
			n := 3 + int(sec[1]&0x0F)<<8 + int(sec[2])
			if crc32MPEG2(sec[:n]) != 0 {
				t.Fatalf("PID %#x: section CRC wrong", pid)
			}
			if pid == PIDPAT {
				d.pat++
			} else {
				d.pmt++
				d.pmtBody = sec[8 : n-4]
			}
			continue
		}
		if pusi {
			flush(pid)
			if !bytes.HasPrefix(payload, []byte{0, 0, 1}) {
				t.Fatalf("PID %#x: PES without start code", pid)
			}
			e := &demuxedPES{streamID: payload[3], pcr: pcr, rai: rai}
			pesLen[pid] = int(payload[4])<<8 | int(payload[5])
			if pesLen[pid] != 0 {
				pesLen[pid] -= 3 + int(payload[8])
			}
			flags := payload[7] >> 6
			e.pts = readTimestamp(payload[9:])
			e.dts = e.pts
			if flags == 3 {
				e.hasDTS = true
				e.dts = readTimestamp(payload[14:])
			}
			e.data = append(e.data, payload[9+int(payload[8]):]...)
			cur[pid] = e
		} else {
			if cur[pid] == nil {
				t.Fatalf("PID %#x: payload before a PES start", pid)
			}
			cur[pid].data = append(cur[pid].data, payload...)
		}
	}
	for pid := range cur {
		flush(pid)
	}
	return d
}

func readTimestamp(b []byte) uint64 {
	return uint64(b[0]>>1&7)<<30 | uint64(b[1])<<22 | uint64(b[2]>>1)<<15 | uint64(b[3])<<7 | uint64(b[4]>>1)
}

// Every payload size from 0 to 600 bytes around the packet boundaries: the stuffing and
// adaptation-field arithmetic must give whole packets whose payload reassembles exactly.
func TestPESRoundTripAllSizes(t *testing.T) {
	var buf bytes.Buffer
	m, err := NewMuxer(&buf, Tracks{Video: true, Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var wantV, wantA [][]byte
	for n := 0; n <= 600; n++ {
		au := append([]byte{0, 0, 0, 1, 0x65}, make([]byte, n)...)
		for i := 5; i < len(au); i++ {
			au[i] = byte(rng.IntN(256))
		}
		pts := time.Duration(n) * 40 * time.Millisecond
		if err := m.WriteVideo(pts+80*time.Millisecond, pts, n%30 == 0, au); err != nil {
			t.Fatal(err)
		}
		wantV = append(wantV, append([]byte(audNAL), au...))
		frame, _ := aac.AppendADTSHeader(nil, aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, n)
		frame = append(frame, au[5:]...)
		if err := m.WriteAudio(pts, frame); err != nil {
			t.Fatal(err)
		}
		wantA = append(wantA, frame)
	}
	d := demux(t, buf.Bytes())
	if d.pat != 1 || d.pmt != 1 {
		t.Errorf("%d PAT and %d PMT, want one of each at the start", d.pat, d.pmt)
	}
	wantPMT := []byte{0xE1, 0x00, 0xF0, 0x00, StreamTypeH264, 0xE1, 0x00, 0xF0, 0x00, StreamTypeAAC, 0xE1, 0x01, 0xF0, 0x00}
	if !bytes.Equal(d.pmtBody, wantPMT) {
		t.Errorf("PMT body %x, want %x", d.pmtBody, wantPMT)
	}
	check := func(pid uint16, want [][]byte, video bool) {
		got := d.pes[pid]
		if len(got) != len(want) {
			t.Fatalf("PID %#x: %d PES, want %d", pid, len(got), len(want))
		}
		for i, p := range got {
			if !bytes.Equal(p.data, want[i]) {
				t.Fatalf("PID %#x PES %d: %d bytes differ from the %d written", pid, i, len(p.data), len(want[i]))
			}
			dts := uint64(i) * 40 * 90
			if video {
				if !p.hasDTS || p.pts != dts+80*90 || p.dts != dts || p.streamID != 0xE0 {
					t.Fatalf("video PES %d: stream %#x pts %d dts %d (has %v)", i, p.streamID, p.pts, p.dts, p.hasDTS)
				}
				if want := max(int64(dts)-pcrLead, 0); p.pcr != want {
					t.Fatalf("video PES %d: PCR %d, want %d", i, p.pcr, want)
				}
				if p.rai != (i%30 == 0) {
					t.Fatalf("video PES %d: random_access_indicator %v", i, p.rai)
				}
			} else if p.hasDTS || p.pts != dts || p.streamID != 0xC0 || p.pcr != -1 || !p.rai {
				t.Fatalf("audio PES %d: %+v", i, p)
			}
		}
	}
	check(PIDVideo, wantV, true)
	check(PIDAudio, wantA, false)
}

func TestAUDNotDuplicated(t *testing.T) {
	var buf bytes.Buffer
	m, _ := NewMuxer(&buf, Tracks{Video: true})
	au := []byte("\x00\x00\x00\x01\x09\x10\x00\x00\x01\x65\x88\x84")
	if err := m.WriteVideo(0, 0, true, au); err != nil {
		t.Fatal(err)
	}
	d := demux(t, buf.Bytes())
	if got := d.pes[PIDVideo][0]; !bytes.Equal(got.data, au) || got.hasDTS {
		t.Errorf("PES %x (DTS %v), want the unit unchanged and no DTS", got.data, got.hasDTS)
	}
}

func TestAudioOnlyCarriesPCR(t *testing.T) {
	var buf bytes.Buffer
	m, _ := NewMuxer(&buf, Tracks{Audio: true})
	frame, _ := aac.AppendADTSHeader(nil, aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, 2)
	frame = append(frame, 0x21, 0x00)
	for i := range 30 {
		if err := m.WriteAudio(aac.SamplesDuration(int64(i)*1024, 48000), frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.WriteTables(); err != nil {
		t.Fatal(err)
	}
	d := demux(t, buf.Bytes())
	if d.pat != 2 || d.pmt != 2 {
		t.Errorf("%d PAT, %d PMT", d.pat, d.pmt)
	}
	if !bytes.Equal(d.pmtBody, []byte{0xE1, 0x01, 0xF0, 0x00, StreamTypeAAC, 0xE1, 0x01, 0xF0, 0x00}) {
		t.Errorf("PMT body %x", d.pmtBody)
	}
	for i, p := range d.pes[PIDAudio] {
		want := (int64(i)*1024*90000 + 24000) / 48000
		if int64(p.pts) != want || p.pcr != max(want-pcrLead, 0) {
			t.Errorf("audio PES %d: PCR %d PTS %d, want %d and %d", i, p.pcr, p.pts, max(want-pcrLead, 0), want)
		}
	}
}

func TestMuxerErrors(t *testing.T) {
	if _, err := NewMuxer(&bytes.Buffer{}, Tracks{}); err == nil {
		t.Error("no tracks: no error")
	}
	vOnly, _ := NewMuxer(&bytes.Buffer{}, Tracks{Video: true})
	aOnly, _ := NewMuxer(&bytes.Buffer{}, Tracks{Audio: true})
	frame, _ := aac.AppendADTSHeader(nil, aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, 0)
	for name, err := range map[string]error{
		"audio on video-only":  vOnly.WriteAudio(0, frame),
		"video on audio-only":  aOnly.WriteVideo(0, 0, true, []byte{0, 0, 1, 0x65}),
		"not Annex B":          vOnly.WriteVideo(0, 0, true, []byte{0x65, 1, 2}),
		"empty unit":           vOnly.WriteVideo(0, 0, true, nil),
		"start code only":      vOnly.WriteVideo(0, 0, true, []byte{0, 0, 1}),
		"negative PTS":         vOnly.WriteVideo(-time.Millisecond, 0, true, []byte{0, 0, 1, 0x65}),
		"negative DTS":         vOnly.WriteVideo(0, -time.Millisecond, true, []byte{0, 0, 1, 0x65}),
		"audio not ADTS":       aOnly.WriteAudio(0, []byte("hello")),
		"audio over one PES":   aOnly.WriteAudio(0, append(frame, make([]byte, 70000)...)),
		"negative audio stamp": aOnly.WriteAudio(-1, frame),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	failing, _ := NewMuxer(failWriter{}, Tracks{Audio: true})
	if err := failing.WriteAudio(0, frame); !errors.Is(err, errWrite) {
		t.Errorf("write error: %v", err)
	}
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

// Timestamps wrap at 2^33 ticks (about 26.5 hours), as the format says.
func TestTimestampWraps(t *testing.T) {
	wrap := time.Duration(1<<33) * time.Second / 90000
	for _, tc := range []struct {
		d    time.Duration
		want uint64
	}{
		{0, 0},
		{time.Second, 90000},
		{time.Second / 15, 6000}, // rounded, not truncated: 66666666 ns
		{wrap + time.Second, 90000},
	} {
		got, err := to90k(tc.d)
		if err != nil || got != tc.want {
			t.Errorf("to90k(%v) = %d, %v; want %d", tc.d, got, err, tc.want)
		}
	}
}

func ExampleMuxer() {
	var ts bytes.Buffer
	m, _ := NewMuxer(&ts, Tracks{Video: true, Audio: true})
	idr := []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xCE, 0, 0, 0, 1, 0x65, 0x88}
	_ = m.WriteVideo(0, 0, true, idr)
	frame, _ := aac.AppendADTSHeader(nil, aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, 2)
	_ = m.WriteAudio(0, append(frame, 0x21, 0x00))
	fmt.Println(ts.Len()/PacketSize, "packets")
	// Output: 4 packets
}
