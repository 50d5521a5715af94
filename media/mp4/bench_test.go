package mp4

import (
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
	ffmpeg, ffprobe := testpeer.FFmpeg(b), testpeer.FFprobe(b)
	in, err := mpegtstest.Generate(ffmpeg, ffprobe, b.TempDir(), mpegtstest.Options{
		Video: true, Audio: true, Width: 640, Height: 360, FPS: 30, Seconds: 20, Channels: 2,
		Offset: time.Second, VideoBitrate: "2M", Pattern: "testsrc2",
	})
	if err != nil {
		b.Fatal(err)
	}
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
