package mpegts_test

import (
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts/mpegtstest"
)

// BenchmarkMux measures muxing throughput in MB/s of elementary stream bytes on a fixed input
// (20 s of 640x360@30 H.264 and stereo AAC, made by ffmpeg), and times `ffmpeg -i in.flv -c copy
// -f mpegts` on the same streams: the median of 5 whole runs, so process start and FLV demuxing
// are in its figure (ffmpeg-process-MB/s) and in the ratio (x-ffmpeg-process); on an input this
// small they dominate it.
func BenchmarkMux(b *testing.B) {
	ffmpeg, ffprobe := testpeer.FFmpeg(b), testpeer.FFprobe(b)
	dir := b.TempDir()
	in, err := mpegtstest.Generate(ffmpeg, ffprobe, dir, mpegtstest.Options{
		Video: true, Audio: true, Width: 640, Height: 360, FPS: 30, Seconds: 20, Channels: 2,
		Offset: time.Second, VideoBitrate: "2M", Pattern: "testsrc2",
	})
	if err != nil {
		b.Fatal(err)
	}
	esBytes := int64(in.VideoBytes + in.AudioBytes)
	b.SetBytes(esBytes)
	for b.Loop() {
		m, _ := mpegts.NewMuxer(io.Discard, mpegts.Tracks{Video: true, Audio: true})
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
	}
	ours := b.Elapsed() / time.Duration(b.N)

	flv := filepath.Join(dir, "in.flv")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-y", "-i", in.Source, "-c", "copy", flv).CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	var runs []time.Duration
	for range 5 {
		start := time.Now()
		if out, err := exec.Command(ffmpeg, "-v", "error", "-y", "-i", flv, "-c", "copy", "-f", "mpegts", filepath.Join(dir, "ffmpeg.ts")).CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	theirs := runs[len(runs)/2]
	b.ReportMetric(float64(esBytes)/1e6/theirs.Seconds(), "ffmpeg-process-MB/s")
	b.ReportMetric(float64(theirs)/float64(ours), "x-ffmpeg-process")
	b.Logf("%d units, %.1f MB of ES over %v: ours %v a pass, ffmpeg -c copy -f mpegts %v (median of 5 runs: %v)",
		len(in.Units), float64(esBytes)/1e6, in.Span().Round(time.Millisecond), ours, theirs, runs)
}
