package aac

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

func TestADTSHeaderRoundTrip(t *testing.T) {
	for _, h := range []ADTSHeader{
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2, BufferFullness: ADTSBufferFullnessVBR, RawDataBlocks: 1},
		{ObjectType: ObjectTypeLC, SampleRate: 16000, ChannelConfig: 1, BufferFullness: 0x123, RawDataBlocks: 1},
		{ObjectType: ObjectTypeMain, SampleRate: 96000, ChannelConfig: 7, BufferFullness: 1, RawDataBlocks: 4, MPEG2: true},
		{ObjectType: ObjectTypeLTP, SampleRate: 7350, ChannelConfig: 6, BufferFullness: ADTSBufferFullnessVBR, RawDataBlocks: 2},
	} {
		payload := bytes.Repeat([]byte{0xA5}, 300)
		b, err := AppendADTSHeader(nil, h, len(payload))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, payload...)
		got, err := ParseADTSHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		h.FrameLength = ADTSHeaderLen + len(payload)
		if got != h {
			t.Errorf("ParseADTSHeader = %+v, want %+v", got, h)
		}
		if p, err := ADTSPayload(b); err != nil || !bytes.Equal(p, payload) {
			t.Errorf("ADTSPayload = %d bytes, %v", len(p), err)
		}
		if got.Samples() != 1024*h.RawDataBlocks {
			t.Errorf("Samples = %d", got.Samples())
		}
	}
}

// A frame with protection_absent = 0: the header is 9 bytes, the payload starts after the CRC.
func TestADTSWithCRC(t *testing.T) {
	// FFF1 → FFF0 (CRC present); LC, 44.1 kHz (4), stereo; length 9+4 = 13; fullness 0x7FF.
	b, _ := hex.DecodeString("fff05080" + "01bffc" + "beef" + "01020304")
	h, err := ParseADTSHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if !h.CRC || h.HeaderLen() != 9 || h.FrameLength != 13 || h.SampleRate != 44100 || h.ChannelConfig != 2 {
		t.Fatalf("header = %+v", h)
	}
	p, err := ADTSPayload(b)
	if err != nil || !bytes.Equal(p, []byte{1, 2, 3, 4}) {
		t.Errorf("payload = %x, %v", p, err)
	}
	frames, err := SplitADTS(append(b, b...))
	if err != nil || len(frames) != 2 {
		t.Errorf("SplitADTS = %d frames, %v", len(frames), err)
	}
	if _, err := ParseADTSHeader(b[:8]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a CRC header cut at 8 bytes: %v", err)
	}
}

func TestADTSErrors(t *testing.T) {
	good, _ := AppendADTSHeader(nil, ADTSHeader{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, 4)
	good = append(good, 1, 2, 3, 4)
	mut := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"short", good[:6]},
		{"no sync", mut(func(b []byte) { b[1] = 0xE1 })},
		{"layer 1", mut(func(b []byte) { b[1] |= 0x02 })},
		{"rate index 13", mut(func(b []byte) { b[2] = b[2]&^0x3C | 13<<2 })},
		{"length below header", mut(func(b []byte) { b[3] &^= 3; b[4] = 0; b[5] = b[5]&0x1F | 6<<5 })},
	} {
		if _, err := ParseADTSHeader(tc.b); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	frames, err := SplitADTS(append(bytes.Clone(good), good[:5]...))
	if len(frames) != 1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a truncated second frame: %d frames, %v", len(frames), err)
	}
	frames, err = SplitADTS(append(bytes.Clone(good), 0, 0, 0, 0, 0, 0, 0, 0))
	if len(frames) != 1 || !errors.Is(err, ErrNoSync) {
		t.Errorf("garbage after a frame: %d frames, %v", len(frames), err)
	}
	for _, h := range []ADTSHeader{
		{ObjectType: ObjectTypeLC, SampleRate: 50000, ChannelConfig: 1},
		{ObjectType: ObjectTypeSBR, SampleRate: 48000, ChannelConfig: 1},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 8},
		{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1, RawDataBlocks: 5},
	} {
		if _, err := AppendADTSHeader(nil, h, 10); err == nil {
			t.Errorf("AppendADTSHeader(%+v): no error", h)
		}
	}
	if _, err := AppendADTSHeader(nil, ADTSHeader{ObjectType: ObjectTypeLC, SampleRate: 48000, ChannelConfig: 1}, 8192); err == nil {
		t.Error("a frame over 8191 bytes: no error")
	}
}

// ffmpeg's AAC encoder and ADTS muxer as the outside reference: our split must find the frames
// ffprobe counts, with the stream parameters ffprobe reports, and our ASC parser must read the
// extradata ffmpeg writes into an MP4 (which carries an SBR sync extension after the GA config).
func TestADTSFromFFmpeg(t *testing.T) {
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		rate, channels int
	}{{44100, 2}, {48000, 1}, {16000, 1}} {
		adts := filepath.Join(dir, "a.aac")
		m4a := filepath.Join(dir, "a.m4a")
		for _, out := range []string{adts, m4a} {
			cmd := exec.Command(ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate="+itoa(tc.rate),
				"-t", "2", "-ac", itoa(tc.channels), "-c:a", "aac", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, b)
			}
		}
		data, err := os.ReadFile(adts)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := SplitADTS(data)
		if err != nil {
			t.Fatal(err)
		}
		probe := probeStreams(t, ffprobe, adts)
		if probe.NbReadPackets != itoa(len(frames)) {
			t.Errorf("%d Hz: %d frames, ffprobe counts %s", tc.rate, len(frames), probe.NbReadPackets)
		}
		for i, f := range frames {
			h, err := ParseADTSHeader(f)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if h.SampleRate != tc.rate || h.ChannelConfig != tc.channels || h.ObjectType != ObjectTypeLC || h.RawDataBlocks != 1 {
				t.Fatalf("frame %d: %+v", i, h)
			}
		}
		mp4 := probeStreams(t, ffprobe, m4a)
		asc, err := ParseAudioSpecificConfig(mp4.extradata(t))
		if err != nil {
			t.Fatal(err)
		}
		want := AudioSpecificConfig{ObjectType: ObjectTypeLC, SampleRate: tc.rate, ChannelConfig: tc.channels}
		if asc != want || mp4.SampleRate != itoa(tc.rate) || mp4.Channels != tc.channels {
			t.Errorf("ASC %+v, ffprobe %s Hz %d ch; want %+v", asc, mp4.SampleRate, mp4.Channels, want)
		}
	}
}

type probedStream struct {
	SampleRate    string `json:"sample_rate"`
	Channels      int    `json:"channels"`
	Profile       string `json:"profile"`
	NbReadPackets string `json:"nb_read_packets"`
	Extradata     string `json:"extradata"`
}

// extradata decodes ffprobe's hexdump ("00000000: 1210 56e5 00    ..V..").
func (p probedStream) extradata(t *testing.T) []byte {
	t.Helper()
	var out []byte
	for _, line := range strings.Split(p.Extradata, "\n") {
		_, rest, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		hexPart, _, _ := strings.Cut(rest, "  ")
		b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
		if err != nil {
			t.Fatalf("extradata line %q: %v", line, err)
		}
		out = append(out, b...)
	}
	return out
}

func probeStreams(t *testing.T, ffprobe, path string) probedStream {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-count_packets", "-show_streams", "-show_data", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct{ Streams []probedStream }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v %s", path, err, out)
	}
	return r.Streams[0]
}

func itoa(i int) string { return strconv.Itoa(i) }
