package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// The FLV tag reader and the tags it hands gortmplib, on files rebuilt from ffmpeg's tags.

// flvFile is an FLV file's header and tags.
type flvFile struct {
	header []byte
	tags   []flvTag
}

func readFLV(t testing.TB, path string) flvFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := newFLVTags(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f := flvFile{header: b[:9]}
	for {
		tag, err := tags.next()
		if err == io.EOF {
			return f
		}
		if err != nil {
			t.Fatal(err)
		}
		f.tags = append(f.tags, tag)
	}
}

// bytes writes the file back.
func (f flvFile) bytes() []byte {
	var b bytes.Buffer
	b.Write(f.header)
	b.Write([]byte{0, 0, 0, 0})
	for _, tag := range f.tags {
		n := len(tag.body)
		b.Write([]byte{tag.typ, byte(n >> 16), byte(n >> 8), byte(n), byte(tag.ts >> 16), byte(tag.ts >> 8), byte(tag.ts), byte(tag.ts >> 24), 0, 0, 0})
		b.Write(tag.body)
		n += 11
		b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	return b.Bytes()
}

func (f flvFile) with(tags []flvTag) flvFile { return flvFile{header: f.header, tags: tags} }

// readAll opens b as FLV and reads it to its end.
func readAll(t testing.TB, b []byte, opts Options) (Media, []Packet, error) {
	t.Helper()
	m, err := openFLV(bytes.NewReader(b), opts)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	ps, err := drain(t, m)
	return m, ps, err
}

// enhanced is an AVC video tag as Enhanced RTMP has it (a FourCC instead of a codec id).
func enhanced(tag flvTag) flvTag {
	b := tag.body
	if tag.typ != flvTagVideo || len(b) < 5 || b[0]&0x0f != 7 {
		return tag
	}
	frame := b[0] >> 4
	var body []byte
	switch b[1] {
	case 0: // sequence start: the record without the composition time
		body = append([]byte{0x80 | frame<<4 | 0, 'a', 'v', 'c', '1'}, b[5:]...)
	case 1: // coded frames: the composition time kept
		body = append([]byte{0x80 | frame<<4 | 1, 'a', 'v', 'c', '1'}, b[2:]...)
	default:
		body = []byte{0x80 | frame<<4 | 2, 'a', 'v', 'c', '1'} // sequence end
	}
	tag.body = body
	return tag
}

func TestFLVTags(t *testing.T) {
	needFFmpeg(t)
	f := readFLV(t, ffmpeg(t, t.TempDir(), "a.flv", ffmpegSource...))
	_, want, err := readAll(t, f.bytes(), Options{})
	if err != io.EOF || len(want) < 150 {
		t.Fatalf("%d units, %v", len(want), err)
	}
	var audioConfig, videoConfig flvTag
	for _, tag := range f.tags {
		switch {
		case tag.typ == flvTagAudio && tag.body[1] == 0:
			audioConfig = tag
		case tag.typ == flvTagVideo && tag.body[1] == 0:
			videoConfig = tag
		}
	}
	if audioConfig.body == nil || videoConfig.body == nil {
		t.Fatal("no sequence headers")
	}
	var ext, enh, clutter []flvTag
	for _, tag := range f.tags {
		e := tag
		e.ts += 0x01234567
		ext = append(ext, e)
		enh = append(enh, enhanced(tag))
	}
	clutter = append(clutter,
		flvTag{typ: 18, body: []byte("\x02\x00\x0aonMetaData garbage")},
		flvTag{typ: flvTagAudio, body: []byte{0xaf, 1, 0x21, 0x10}},                // AAC before its configuration
		flvTag{typ: flvTagVideo, body: []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}}, // AVC before it
		flvTag{typ: flvTagAudio},                        // empty
		flvTag{typ: flvTagVideo, body: []byte{0x57, 0}}, // a command frame
		flvTag{typ: 15, body: []byte{1, 2, 3}},
	)
	clutter = append(clutter, f.tags...)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"no trailer after the last tag", f.bytes()[:len(f.bytes())-4]},
		{"clutter", f.with(clutter).bytes()},
		{"extended timestamps", f.with(ext).bytes()},
		{"Enhanced RTMP", f.with(enh).bytes()},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, got, err := readAll(t, c.b, Options{})
			if err != io.EOF {
				t.Fatalf("ended with %v after %d units", err, len(got))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d units, not the %d of the file as it is", len(got), len(want))
			}
		})
	}

	// Shorter than gortmplib's 2 s of analysis, and with one track.
	var second, audioOnly, videoOnly []flvTag
	for _, tag := range f.tags {
		if tag.ts < 1000 {
			second = append(second, tag)
		}
		if tag.typ == flvTagAudio {
			audioOnly = append(audioOnly, tag)
		} else {
			videoOnly = append(videoOnly, tag)
		}
	}
	for _, c := range []struct {
		name         string
		tags         []flvTag
		video, audio bool
		span         time.Duration
	}{
		{"one second", second, true, true, time.Second},
		{"audio only", audioOnly, false, true, 3 * time.Second},
		{"video only", videoOnly, true, false, 3 * time.Second},
		{"a sequence header alone", []flvTag{videoConfig}, true, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ps, err := readAll(t, f.with(c.tags).bytes(), Options{})
			if err != io.EOF {
				t.Fatalf("ended with %v after %d units", err, len(ps))
			}
			if (m.Video() != nil) != c.video || (m.Audio() != nil) != c.audio {
				t.Errorf("video %v audio %v", m.Video(), m.Audio())
			}
			if c.span == 0 {
				if len(ps) != 0 {
					t.Errorf("%d units", len(ps))
				}
				return
			}
			if last := ps[len(ps)-1].Unit.DTS; !near(last, c.span, 100*time.Millisecond) {
				t.Errorf("%d units to %v", len(ps), last)
			}
		})
	}
}

// TestFLVNewConfig: a sequence header with other parameter sets mid-stream goes in front of
// the next picture, which says what they are.
func TestFLVNewConfig(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	a := readFLV(t, ffmpeg(t, dir, "a.flv", ffmpegSource...))
	small := append([]string(nil), ffmpegSource...)
	small[3] = "testsrc2=size=160x120:rate=15"
	b := readFLV(t, ffmpeg(t, dir, "b.flv", small...))
	tags := append([]flvTag(nil), a.tags...)
	for _, tag := range b.tags {
		tag.ts += 3000
		tags = append(tags, tag)
	}
	m, ps, err := readAll(t, a.with(tags).bytes(), Options{})
	if err != io.EOF {
		t.Fatal(err)
	}
	if v := m.Video(); v.Width != 320 {
		t.Errorf("the track is %dx%d", v.Width, v.Height)
	}
	changes := 0
	for _, p := range ps {
		if p.Track != hub.MainVideo || p.Unit.Params == nil {
			continue
		}
		changes++
		u := p.Unit
		if u.Params.Width != 160 || u.Params.Height != 120 || !u.Key || u.DTS < 2900*time.Millisecond || len(u.NALUs) < 3 ||
			!bytes.Equal(u.NALUs[0], u.Params.SPS) || !bytes.Equal(u.NALUs[1], u.Params.PPS) {
			t.Errorf("the change at %v: %+v, key %v, %d NAL units", u.DTS, u.Params, u.Key, len(u.NALUs))
		}
	}
	if changes != 1 {
		t.Errorf("%d changes", changes)
	}
	video, _ := split(ps)
	if len(video) != 90 {
		t.Errorf("%d pictures", len(video))
	}
}

func TestFLVRefused(t *testing.T) {
	needFFmpeg(t)
	f := readFLV(t, ffmpeg(t, t.TempDir(), "a.flv", ffmpegSource...))
	first := func(tag flvTag) []byte { return f.with(append([]flvTag{tag}, f.tags...)).bytes() }
	enc := f.tags[0]
	enc.typ |= 0x20
	for _, c := range []struct {
		name string
		b    []byte
		says string
	}{
		{"encrypted", first(enc), "encrypted"},
		{"HEVC", first(flvTag{typ: flvTagVideo, body: []byte{0x1c, 0, 0, 0, 0, 1}}), "HEVC"},
		{"enhanced HEVC", first(flvTag{typ: flvTagVideo, body: []byte{0x90, 'h', 'v', 'c', '1', 1}}), "HEVC"},
		{"enhanced VP8", first(flvTag{typ: flvTagVideo, body: []byte{0x90, 'v', 'p', '0', '8', 1}}), `"vp08"`},
		{"multitrack", first(flvTag{typ: flvTagVideo, body: []byte{0x96, 0, 'a', 'v', 'c', '1'}}), "multitrack"},
		{"VP6", first(flvTag{typ: flvTagVideo, body: []byte{0x14, 0, 0, 0, 0, 1}}), "VP6"},
		{"Speex", first(flvTag{typ: flvTagAudio, body: []byte{0xb6, 1, 2}}), "Speex"},
		{"enhanced Opus", first(flvTag{typ: flvTagAudio, body: []byte{0x90, 'O', 'p', 'u', 's', 1}}), "Opus"},
		{"version 2", append([]byte("FLV\x02"), f.bytes()[4:]...), "version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(t, c.b, Options{})
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err %v, not ErrUnsupported saying %q", err, c.says)
			}
		})
	}
	// A tag of another codec after the 2 s gortmplib analyses ends the file there.
	i := 0
	for f.tags[i].ts < 2500 {
		i++
	}
	mp3 := flvTag{typ: flvTagAudio, ts: f.tags[i].ts, body: []byte{0x2f, 0xff, 0xfb}}
	mid := append(append(append([]flvTag(nil), f.tags[:i]...), mp3), f.tags[i:]...)
	m, err := openFLV(bytes.NewReader(f.with(mid).bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ps, err := drain(t, m)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "MP3") || len(ps) < 100 {
		t.Fatalf("%d units, then %v", len(ps), err)
	}
	if _, err := m.Next(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("then %v", err)
	}
}
