package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets: any bytes opened as FLV, MPEG-TS or MP4 and read to their end never
// panic and end. The seeds are tiny files ffmpeg made (testdata/tiny.*: 64x48 at 10 fps
// and 22.05 kHz mono AAC, 0.6 s), whole and cut.

func FuzzFLV(f *testing.F) { fuzzOpener(f, openFLV, "tiny.flv") }

func FuzzMPEGTS(f *testing.F) { fuzzOpener(f, openTS, "tiny.ts") }

func FuzzMP4(f *testing.F) { fuzzOpener(f, openMP4, "tiny.mp4", "tiny-frag.mp4", "tiny.mov") }

func fuzzOpener(f *testing.F, open func(io.Reader, Options) (Media, error), seeds ...string) {
	for _, s := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-7])
	}
	dir := f.TempDir() // one for all inputs: a t.TempDir for each makes fuzzing crawl
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := open(bytes.NewReader(b), Options{TempDir: dir, MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		defer func() {
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		}()
		m.Video()
		m.Audio()
		// Each unit is some of the input's bytes: more units than bytes is a loop.
		for n := 0; ; n++ {
			p, err := m.Next(context.Background())
			if err != nil {
				return
			}
			if n > 2*len(b)+16 {
				t.Fatalf("%d units from %d bytes", n, len(b))
			}
			for _, nalu := range p.Unit.NALUs {
				if len(nalu) == 0 {
					t.Fatal("an empty NAL unit")
				}
			}
		}
	})
}

// TestSeeds: the fuzz seeds are read whole (they are what the fuzzers start from).
func TestSeeds(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(io.Reader, Options) (Media, error)
	}{{"tiny.flv", openFLV}, {"tiny.ts", openTS}, {"tiny.mp4", openMP4}, {"tiny-frag.mp4", openMP4}, {"tiny.mov", openMP4}} {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.open(bytes.NewReader(b), Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if v, a := m.Video(), m.Audio(); v == nil || v.Width != 64 || v.Height != 48 || v.FPS != 10 || a == nil || a.SampleRate != 22050 {
				t.Fatalf("video %+v audio %+v", v, a)
			}
			ps, err := drain(t, m)
			video, audio := split(ps)
			if err != io.EOF || len(video) != 6 || len(audio) < 12 {
				t.Fatalf("%d pictures, %d audio frames, then %v", len(video), len(audio), err)
			}
		})
	}
}
