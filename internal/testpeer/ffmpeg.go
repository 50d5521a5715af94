package testpeer

import (
	"os/exec"
	"testing"
)

const installFFmpeg = "install Debian's ffmpeg (`apt-get install -y ffmpeg`; .ci/run does)"

// FFprobe returns the ffprobe binary, the independent judge of media the emulator writes.
func FFprobe(t testing.TB) string { return tool(t, "ffprobe") }

// FFmpeg returns the ffmpeg binary, used by tests only as an outside peer (decoding what we
// write, producing reference inputs); the product never runs it.
func FFmpeg(t testing.TB) string { return tool(t, "ffmpeg") }

func tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if testing.Short() {
			t.Skipf("-short: %s is not in PATH; %s", name, installFFmpeg)
		}
		t.Fatalf("%s is not in PATH: %s (or run with -short to skip this test)", name, installFFmpeg)
	}
	return path
}
