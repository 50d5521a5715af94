package h264

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// testUUID is the 16-byte UUID of the user_data_unregistered messages below; its zeros are
// there for emulation prevention to act on.
var testUUID = []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0xff}

func sameMessages(a, b []SEIMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Payload, b[i].Payload) {
			return false
		}
	}
	return true
}

// checkEscaped applies the rules of 7.4.1 to a NAL unit: no 0x000000, 0x000001 or 0x000002
// anywhere, 0x000003 followed only by a byte <= 3 (or by nothing), and no final zero byte.
func checkEscaped(t *testing.T, nalu []byte) {
	t.Helper()
	for i := 2; i < len(nalu); i++ {
		if nalu[i-2] != 0 || nalu[i-1] != 0 {
			continue
		}
		if nalu[i] < 3 {
			t.Fatalf("unescaped 0000%02x at byte %d", nalu[i], i-2)
		}
		if nalu[i] == 3 && i+1 < len(nalu) && nalu[i+1] > 3 {
			t.Fatalf("000003%02x at byte %d", nalu[i+1], i-2)
		}
	}
	if len(nalu) > 0 && nalu[len(nalu)-1] == 0 {
		t.Fatal("NAL unit ends in a zero byte")
	}
}

// testPayload is n bytes holding 00 00 00, 00 00 01, 00 00 02 and 00 00 03 among others.
func testPayload(n int) []byte {
	pattern := []byte{0, 0, 0, 0x41, 0, 0, 1, 0x42, 0, 0, 2, 0, 0, 3, 0xff, 0, 0, 0, 0}
	p := make([]byte, n)
	for i := range p {
		p[i] = pattern[i%len(pattern)]
		if i%len(pattern) == 3 {
			p[i] = byte(i / len(pattern))
		}
	}
	return p
}

// Each vector worked out by hand from 7.3.2.3.1 (sei_message: payloadType as 0xFF bytes for
// each 255 then last_payload_type_byte, payloadSize likewise, the payload), 7.3.2.11
// (rbsp_trailing_bits: 0x80 once byte aligned) and 7.4.1 (0x03 after 00 00 before a byte
// <= 3).
func TestSEIGolden(t *testing.T) {
	ff255 := bytes.Repeat([]byte{0x11}, 255)
	for _, tc := range []struct {
		name string
		msgs []SEIMessage
		want []byte
	}{{
		// Header 0x06 (forbidden 0, nal_ref_idc 00, type 00110); type 100 = 0x64; size 3;
		// payload 00 00 01 escaped to 00 00 03 01; trailing 0x80.
		"type 100, 00 00 01",
		[]SEIMessage{{Type: 100, Payload: []byte{0, 0, 1}}},
		[]byte{0x06, 0x64, 0x03, 0x00, 0x00, 0x03, 0x01, 0x80},
	}, {
		// Type 5, size 16+2 = 0x12; the UUID escaped, [03] marking the inserted bytes:
		// de ad be ef | 00 00 [03] 00 01 | 00 00 [03] 00 00 [03] 00 00 [03] 03 ff; "hi" = 68 69;
		// then a second message, type 254 = 0xfe, size 0; trailing 0x80.
		"user data unregistered and an empty type 254",
		[]SEIMessage{{Type: 5, Payload: append(append([]byte{}, testUUID...), 'h', 'i')}, {Type: 254}},
		[]byte{0x06, 0x05, 0x12, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x03, 0x00, 0x01,
			0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x03, 0xff, 0x68, 0x69, 0xfe, 0x00, 0x80},
	}, {
		// Type 300 = 255 + 45: ff 2d; size 255 = 255 + 0: ff 00; 255 bytes of 0x11; 0x80.
		"type 300, 255 bytes",
		[]SEIMessage{{Type: 300, Payload: ff255}},
		append(append([]byte{0x06, 0xff, 0x2d, 0xff, 0x00}, ff255...), 0x80),
	}, {
		// Type 510 = 255 + 255 + 0: ff ff 00; size 1; payload 00; 0x80.
		"type 510",
		[]SEIMessage{{Type: 510, Payload: []byte{0}}},
		[]byte{0x06, 0xff, 0xff, 0x00, 0x01, 0x00, 0x80},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := SEI(tc.msgs...)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("SEI = % x\nwant  % x", got, tc.want)
			}
			back, err := ParseSEI(tc.want)
			if err != nil || !sameMessages(back, tc.msgs) {
				t.Fatalf("ParseSEI = %x, %v", back, err)
			}
		})
	}
}

func TestSEIRoundTrip(t *testing.T) {
	var all []SEIMessage
	for _, typ := range []int{5, 100, 254, 300} {
		for _, size := range []int{0, 1, 254, 255, 256, 1000, 5000} {
			p := testPayload(size)
			if typ == 5 {
				p = append(append([]byte{}, testUUID...), p...)
			}
			m := SEIMessage{Type: typ, Payload: p}
			all = append(all, m)
			t.Run(fmt.Sprintf("type %d size %d", typ, len(p)), func(t *testing.T) {
				nalu := SEI(m)
				if nalu[0] != 0x06 {
					t.Fatalf("header %#x, want 0x06", nalu[0])
				}
				checkEscaped(t, nalu)
				if size >= 3 && len(nalu) <= 1+len(p)+2 {
					t.Errorf("%d-byte NAL unit for a %d-byte payload with 00 00 0x: nothing escaped", len(nalu), len(p))
				}
				got, err := ParseSEI(nalu)
				if err != nil || !sameMessages(got, []SEIMessage{m}) {
					t.Fatalf("ParseSEI: %d messages, %v", len(got), err)
				}
			})
		}
	}
	nalu := SEI(all...)
	checkEscaped(t, nalu)
	got, err := ParseSEI(nalu)
	if err != nil || !sameMessages(got, all) {
		t.Fatalf("%d messages in one NAL unit: got %d, %v", len(all), len(got), err)
	}
}

func TestParseSEILenient(t *testing.T) {
	want := []SEIMessage{{Type: 100, Payload: []byte{0xaa}}}
	for _, nalu := range [][]byte{
		{0x06, 0x64, 0x01, 0xaa, 0x80, 0x00, 0x00}, // zero bytes after the trailing bits
		{0x26, 0x64, 0x01, 0xaa, 0x80},             // nal_ref_idc 1
	} {
		got, err := ParseSEI(nalu)
		if err != nil || !sameMessages(got, want) {
			t.Errorf("ParseSEI(% x) = %x, %v", nalu, got, err)
		}
	}
}

func TestParseSEIErrors(t *testing.T) {
	for _, nalu := range [][]byte{
		SEI(SEIMessage{Type: 100, Payload: []byte{1, 2, 3}}),
		SEI(SEIMessage{Type: 300, Payload: testPayload(600)}, SEIMessage{Type: 5, Payload: testUUID}),
		SEI(SEIMessage{Type: 254, Payload: testPayload(3)}, SEIMessage{Type: 100}),
	} {
		for n := range len(nalu) {
			if msgs, err := ParseSEI(nalu[:n]); err == nil {
				t.Errorf("%d of %d bytes of % x parsed to %x", n, len(nalu), nalu[:min(len(nalu), 16)], msgs)
			}
		}
	}
	for _, tc := range []struct {
		name string
		nalu []byte
		is   error
	}{
		{"empty", nil, ErrEmptyNALU},
		{"forbidden bit", []byte{0x86, 0x64, 0x01, 0xaa, 0x80}, nil},
		{"an SPS", []byte{0x67, 0x64, 0x01, 0xaa, 0x80}, nil},
		{"header only", []byte{0x06}, errSEITrailingBits},
		{"no message", []byte{0x06, 0x80}, ErrShortData},
		{"no trailing bits", []byte{0x06, 0x64, 0x01, 0xaa}, errSEITrailingBits},
		{"zeros for trailing bits", []byte{0x06, 0x64, 0x01, 0xaa, 0x00}, errSEITrailingBits},
		{"stop bit out of place", []byte{0x06, 0x64, 0x01, 0xaa, 0x40}, ErrShortData},
		{"size past the end", []byte{0x06, 0x64, 0x05, 0xaa, 0x80}, nil},
		{"size run cut", []byte{0x06, 0x64, 0xff, 0xff}, ErrShortData},
		{"type run cut", []byte{0x06, 0xff}, ErrShortData},
		{"user data without a whole UUID", append(append([]byte{0x06, 0x05, 0x0f}, testUUID[:15]...), 0x80), nil},
		{"type beyond 2^31-1", append(append([]byte{0x06}, bytes.Repeat([]byte{0xff}, 1<<31/255+1)...), 0, 0, 0x80), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := ParseSEI(tc.nalu)
			if err == nil {
				t.Fatalf("parsed to %x", msgs)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestSEIPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []SEIMessage
	}{
		{"no message", nil},
		{"negative type", []SEIMessage{{Type: -1}}},
		{"type beyond 2^31-1", []SEIMessage{{Type: 1 << 31}}},
		{"user data without a whole UUID", []SEIMessage{{Type: 100}, {Type: 5, Payload: testUUID[:15]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			SEI(tc.msgs...)
		})
	}
}

func FuzzParseSEI(f *testing.F) {
	seedNALUs(f, func(t NALUType) bool { return t == NALUSEI })
	f.Add(SEI(SEIMessage{Type: 100, Payload: []byte{0, 0, 1}}))
	f.Add(SEI(SEIMessage{Type: 5, Payload: append(append([]byte{}, testUUID...), 'h', 'i')}, SEIMessage{Type: 254}))
	f.Add(SEI(SEIMessage{Type: 300, Payload: testPayload(300)}))
	f.Add([]byte{0x06, 0x64, 0x01, 0xaa, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := ParseSEI(b)
		if err != nil {
			return
		}
		if len(msgs) == 0 {
			t.Fatal("parsed with no messages")
		}
		for _, m := range msgs {
			if m.Type < 0 || m.Type == 5 && len(m.Payload) < 16 {
				t.Fatalf("parsed type %d with %d bytes", m.Type, len(m.Payload))
			}
		}
		again := SEI(msgs...)
		checkEscaped(t, again)
		back, err := ParseSEI(again)
		if err != nil || !sameMessages(back, msgs) {
			t.Fatalf("re-encoded % x parses to %x, %v; first %x", again, back, err, msgs)
		}
	})
}

// traceField is one field line of ffmpeg's trace_headers bitstream filter: bit position, name
// (subscripts kept), bits, value.
var traceField = regexp.MustCompile(`^\[trace_headers @ [^\]]*\] \d+\s+(\S+)\s+[01]+ = (-?\d+)$`)

// traceSEIs reads the sei_messages of each SEI NAL unit from trace_headers output.
func traceSEIs(t *testing.T, trace []byte) [][]SEIMessage {
	var (
		out      [][]SEIMessage
		in       bool
		typ, val int
		haveType bool
	)
	sc := bufio.NewScanner(bytes.NewReader(trace))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := traceField.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		v, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatalf("trace line %q: %v", sc.Text(), err)
		}
		if name == "nal_unit_type" {
			in = v == int(NALUSEI)
			if in {
				out = append(out, nil)
				val, haveType = 0, false
			}
			continue
		}
		if !in {
			continue
		}
		msgs := &out[len(out)-1]
		switch {
		case name == "ff_byte":
			val += v
		case name == "last_payload_type_byte":
			typ, val, haveType = val+v, 0, true
		case name == "last_payload_size_byte":
			if !haveType {
				t.Fatalf("payload size before a type in %q", sc.Text())
			}
			*msgs = append(*msgs, SEIMessage{Type: typ, Payload: []byte{}})
			val, haveType = 0, false
		case strings.HasPrefix(name, "uuid_iso_iec_11578["), strings.HasPrefix(name, "user_data_payload_byte["),
			strings.HasPrefix(name, "payload_byte["):
			last := &(*msgs)[len(*msgs)-1]
			last.Payload = append(last.Payload, byte(v))
		case name == "rbsp_stop_one_bit":
			in = false
		}
	}
	return out
}

// ffmpeg's H.264 bitstream reader (trace_headers) as the outside judge: an SEI NAL unit from
// SEI, put before the first slice of an x264 stream, must read as the messages we wrote, and
// x264's own SEI as what ParseSEI reads; the stream must still decode without error.
func TestSEIFFmpeg(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	stream, err := os.ReadFile("testdata/x264_322x178_baseline.h264")
	if err != nil {
		t.Fatal(err)
	}
	nalus, err := SplitAnnexB(stream)
	if err != nil {
		t.Fatal(err)
	}
	ours := []SEIMessage{
		{Type: 5, Payload: append(append([]byte{}, testUUID...), `{"layout":[0,0,1]}`...)},
		{Type: 100, Payload: testPayload(300)},
		{Type: 244 + 10, Payload: testPayload(256)},
		{Type: 300, Payload: []byte{0, 0, 3}},
		{Type: 100},
	}
	var out [][]byte
	var want [][]SEIMessage
	inserted := false
	for _, n := range nalus {
		if !inserted && TypeOf(n).IsVCL() {
			out = append(out, SEI(ours...))
			want = append(want, ours)
			inserted = true
		}
		if TypeOf(n) == NALUSEI {
			msgs, err := ParseSEI(n)
			if err != nil {
				t.Fatalf("x264's SEI: %v", err)
			}
			want = append(want, msgs)
		}
		out = append(out, n)
	}
	annexB := JoinAnnexB(out)

	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostats", "-f", "h264", "-i", "pipe:0", "-c", "copy",
		"-bsf:v", "trace_headers", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(annexB)
	trace, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg trace_headers: %v\n%s", err, trace)
	}
	got := traceSEIs(t, trace)
	if len(got) != len(want) {
		t.Fatalf("ffmpeg read %d SEI NAL units, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameMessages(got[i], want[i]) {
			t.Errorf("SEI NAL unit %d: ffmpeg read %d messages %x\nwant %d %x", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}

	cmd = exec.Command(ffmpeg, "-v", "error", "-xerror", "-f", "h264", "-i", "pipe:0", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(annexB)
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("ffmpeg decode: %v\n%s", err, b)
	}
}
