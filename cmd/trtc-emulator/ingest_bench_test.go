package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// BenchmarkIngestCPU: N stream ingest tasks, each looping (RepeatNum -1) a source made by
// ffmpeg and served by the test, into rooms of their own, on the virtual clock. It
// measures the emulator process's CPU time (/proc/<pid>/stat; Linux only; use
// -benchtime=1x) while the clock is advanced by 60 s: an advance returns once every task
// has published the media due, so that is the CPU 60 s of media cost, with no wall-time
// window to wait out:
//
//	go test -run '^$' -bench BenchmarkIngestCPU -benchtime=1x ./cmd/trtc-emulator
//
// cpu-%/task is CPU seconds per second of media per task × 100 (100: a core busy for a
// task played in real time). Sources: flv, 640x360 H.264 at 15 fps + 48 kHz AAC passed
// through; mp3, 44.1 kHz stereo decoded and re-encoded to AAC. The advance also runs the
// emulator's other settlers (nothing else is due).
func BenchmarkIngestCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("runs in real time")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc/<pid>/stat")
	}
	ffmpeg := testpeer.FFmpeg(b)
	dir := b.TempDir()
	for _, args := range [][]string{
		{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "20", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
			filepath.Join(dir, "src.flv")},
		{"-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2", "-t", "20", "-c:a", "libmp3lame",
			"-b:a", "128k", filepath.Join(dir, "src.mp3")},
	} {
		if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	}
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer files.Close()
	for _, c := range []struct {
		n   int
		src string
	}{{1, "flv"}, {8, "flv"}, {1, "mp3"}, {8, "mp3"}} {
		b.Run(fmt.Sprintf("N=%d/%s", c.n, c.src), func(b *testing.B) {
			p := start(b, []string{"TRTC_EMULATOR_DATA_DIR=" + b.TempDir(), "TRTC_EMULATOR_RATE_LIMIT=0", "TRTC_EMULATOR_CLOCK=virtual"})
			defer p.stop(b)
			pid, tick := p.cmd.Process.Pid, clockTicks()
			for i := range c.n {
				user := fmt.Sprintf("puller_%d", i)
				sig, _ := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: user, Expire: time.Hour,
					Now: advance(b, p.addr, 0)})
				if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartStreamIngest", map[string]any{
					"SdkAppId": defaultSdkAppId, "RoomId": fmt.Sprintf("bench_%d", i), "RoomIdType": 0, "UserId": user, "UserSig": sig,
					"StreamUrl": files.URL + "/src." + c.src, "RepeatNum": -1}); err != nil {
					b.Fatal(err)
				}
			}
			waitFor(b, "every task playing", 30*time.Second, func() bool {
				advance(b, p.addr, 0)
				for i := range c.n {
					if ingestRoom(b, p.addr, fmt.Sprintf("bench_%d", i), fmt.Sprintf("puller_%d", i)) == "" {
						return false
					}
				}
				return true
			})
			advance(b, p.addr, time.Second) // warm-up
			b.ResetTimer()
			const media = 60 * time.Second
			for range b.N {
				cpu0 := procCPU(b, pid, tick)
				advance(b, p.addr, media)
				b.ReportMetric((procCPU(b, pid, tick)-cpu0).Seconds()/media.Seconds()/float64(c.n)*100, "cpu-%/task")
			}
			for i := range c.n {
				if ingestRoom(b, p.addr, fmt.Sprintf("bench_%d", i), fmt.Sprintf("puller_%d", i)) == "" {
					b.Fatalf("task %d's anchor is not in its room: it did not keep playing", i)
				}
			}
		})
	}
}
