package s3api_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// TestAWSCLI drives the aws CLI (botocore, another client family) against the handler:
// cp up (single and multipart), ls with prefixes, cp down, rm. Skipped when aws is not
// installed.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: starts the CLI six times")
	}
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	e := newEnv(t, false, s3api.Config{})
	raw(t, e, "PUT", "/storage/cli-1250000000", nil, "")
	home := t.TempDir()
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--endpoint-url", e.url, "--region", "ap-guangzhou"}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=AKIDtest", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "index.m3u8")
	big := filepath.Join(dir, "big.mp4")
	os.WriteFile(small, []byte("#EXTM3U\n"), 0o644)
	os.WriteFile(big, bytes.Repeat([]byte("mp4 "), 5<<20), 0o644) // 20 MiB: multipart at the CLI's 8 MiB threshold
	aws("s3", "cp", small, "s3://cli-1250000000/rec/room 1/index.m3u8")
	aws("s3", "cp", big, "s3://cli-1250000000/rec/room 1/big.mp4")
	if out := aws("s3", "ls", "s3://cli-1250000000/rec/"); !strings.Contains(out, "PRE room 1/") {
		t.Errorf("ls: %s", out)
	}
	if out := aws("s3", "ls", "--recursive", "s3://cli-1250000000/"); !strings.Contains(out, "rec/room 1/big.mp4") || !strings.Contains(out, "20971520") {
		t.Errorf("ls --recursive: %s", out)
	}
	aws("s3", "cp", "s3://cli-1250000000/rec/room 1/big.mp4", filepath.Join(dir, "back.mp4"))
	a, _ := os.ReadFile(big)
	b, _ := os.ReadFile(filepath.Join(dir, "back.mp4"))
	if !bytes.Equal(a, b) {
		t.Errorf("downloaded %d bytes, uploaded %d", len(b), len(a))
	}
	aws("s3", "rm", "--recursive", "s3://cli-1250000000/rec/")
	if out := aws("s3api", "list-objects-v2", "--bucket", "cli-1250000000"); strings.Contains(out, "Key") {
		t.Errorf("after rm: %s", out)
	}
}
