package mp4

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts/mpegtstest"
)

// BenchmarkMuxer measures muxing throughput in MB/s of input bytes (Annex B and ADTS) on the
// input media/mpegts's BenchmarkMux uses (20 s of 640x360@30 H.264 at 2 Mbit/s and stereo AAC,
// made by ffmpeg): every unit through WriteVideo/WriteAudio into an in-memory scratch, then
// Finish into io.Discard.
func BenchmarkMuxer(b *testing.B) {
	in := benchInput(b)
	var err error
	b.SetBytes(int64(in.VideoBytes + in.AudioBytes))
	var scratch memScratch
	for b.Loop() {
		scratch.b, scratch.pos = scratch.b[:0], 0
		m, _ := NewMuxer(&scratch, Tracks{Video: true, Audio: true})
		for _, u := range in.Units {
			if u.Video {
				err = m.WriteVideo(u.PTS, u.DTS, u.Key, u.Data)
			} else {
				err = m.WriteAudio(u.PTS, u.Data)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := m.Finish(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFragmentWriter is BenchmarkMuxer through the FragmentWriter the recorder spools
// with (a fragment flushed each second into memory, then Close).
func BenchmarkFragmentWriter(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(in.VideoBytes + in.AudioBytes))
	var out memScratch
	for b.Loop() {
		out.b, out.pos = out.b[:0], 0
		if err := writeFragmented(&out, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFragmentWriterDefragment adds what the recorder does at the end of each file:
// Defragment into a progressive MP4. Its throughput is that of the whole path.
func BenchmarkFragmentWriterDefragment(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(in.VideoBytes + in.AudioBytes))
	var frag, scratch memScratch
	for b.Loop() {
		frag.b, frag.pos, scratch.b, scratch.pos = frag.b[:0], 0, scratch.b[:0], 0
		if err := writeFragmented(&frag, in); err != nil {
			b.Fatal(err)
		}
		if _, err := Defragment(bytes.NewReader(frag.b), int64(len(frag.b)), io.Discard, &scratch); err != nil {
			b.Fatal(err)
		}
	}
}

func writeFragmented(w io.Writer, in *mpegtstest.Input) error {
	f, err := NewFragmentWriter(w, Tracks{Video: true, Audio: true})
	if err != nil {
		return err
	}
	var flushed time.Duration
	for _, u := range in.Units {
		if u.DTS-flushed >= time.Second {
			if err := f.Flush(); err != nil {
				return err
			}
			flushed = u.DTS
		}
		if u.Video {
			err = f.WriteVideo(u.PTS, u.DTS, u.Key, u.Data)
		} else {
			err = f.WriteAudio(u.PTS, u.Data)
		}
		if err != nil {
			return err
		}
	}
	return f.Close()
}

func benchInput(b *testing.B) *mpegtstest.Input {
	ffmpeg, ffprobe := testpeer.FFmpeg(b), testpeer.FFprobe(b)
	in, err := mpegtstest.Generate(ffmpeg, ffprobe, b.TempDir(), mpegtstest.Options{
		Video: true, Audio: true, Width: 640, Height: 360, FPS: 30, Seconds: 20, Channels: 2,
		Offset: time.Second, VideoBitrate: "2M", Pattern: "testsrc2",
	})
	if err != nil {
		b.Fatal(err)
	}
	return in
}
