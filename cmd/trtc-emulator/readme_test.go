package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// TestReadmeSnippetsRun checks that README.md quotes the example programs verbatim and
// that both run as written against a started emulator (Go and Node official SDKs).
func TestReadmeSnippetsRun(t *testing.T) {
	root := testpeer.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, example := range []string{"examples/go-sdk/main.go", "examples/node-sdk/index.js", "examples/cam-go/main.go", "examples/cam-node/index.js"} {
		src, err := os.ReadFile(filepath.Join(root, example))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(src)) {
			t.Errorf("README.md does not quote %s verbatim", example)
		}
	}
	if !strings.HasPrefix(strings.SplitN(string(readme), "```sh\n", 2)[1], "make run") {
		t.Error("README.md must open with the run command")
	}

	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir()})
	env := append(os.Environ(), "TRTC_EMULATOR_ENDPOINT="+p.addr)

	goRun := exec.Command("go", "run", "./examples/go-sdk")
	goRun.Dir, goRun.Env = root, env
	out, err := goRun.Output()
	if err != nil {
		t.Fatalf("Go example: %v\n%s", err, exitStderr(err))
	}
	var goResp struct{ Response map[string]any }
	if err := json.Unmarshal(out, &goResp); err != nil || goResp.Response["RequestId"] == nil || goResp.Response["Total"] != 0.0 {
		t.Fatalf("Go example printed %s", out)
	}

	nodeBin, nodeModules := testpeer.Node(t, "tencentcloud-sdk-nodejs")
	node := exec.Command(nodeBin, "examples/node-sdk/index.js")
	node.Dir, node.Env = root, append(env, "NODE_PATH="+nodeModules)
	out, err = node.Output()
	if err != nil {
		t.Fatalf("Node example: %v\n%s", err, exitStderr(err))
	}
	var nodeResp map[string]any
	if err := json.Unmarshal(out, &nodeResp); err != nil || nodeResp["RequestId"] == nil || nodeResp["Total"] != 0.0 {
		t.Fatalf("Node example printed %s", out)
	}

	// The CAM examples: a restricted key refused what its policy denies.
	camGo := exec.Command("go", "run", "./examples/cam-go", "ops-go")
	camGo.Dir, camGo.Env = root, env
	out, err = camGo.Output()
	if err != nil || !strings.Contains(string(out), "Code=AuthFailure.UnauthorizedOperation") || !strings.Contains(string(out), "trtc:RemoveUser") {
		t.Fatalf("Go CAM example: %v %s\n%s", err, out, exitStderr(err))
	}
	camNode := exec.Command(nodeBin, "examples/cam-node/index.js", "ops-node")
	camNode.Dir, camNode.Env = root, append(env, "NODE_PATH="+nodeModules)
	out, err = camNode.Output()
	if err != nil || strings.TrimSpace(string(out)) != `{"Total":0,"DismissRoom":"AuthFailure.UnauthorizedOperation"}` {
		t.Fatalf("Node CAM example: %v %s\n%s", err, out, exitStderr(err))
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestReadmeDocumentsEverySetting: each env var that -h lists has a row in README.md.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testpeer.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(binary, "-h").CombinedOutput()
	vars := regexp.MustCompile(`\$(TRTC_EMULATOR_[A-Z0-9_]+)`).FindAllStringSubmatch(string(out), -1)
	if len(vars) < 15 {
		t.Fatalf("-h lists only %d env vars:\n%s", len(vars), out)
	}
	for _, v := range vars {
		if !strings.Contains(string(readme), "| `"+v[1]+"` |") {
			t.Errorf("README.md has no row for %s", v[1])
		}
	}
}

// TestReadmeWalkthroughRuns runs README's walkthrough script as written: two anchors enter
// with curl, the Go SDK starts a recording, and both anchors' HLS reaches bucket demo,
// listed with aws-sdk-go-v2.
func TestReadmeWalkthroughRuns(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the walkthrough needs curl (.ci/run installs it)")
	}
	root := testpeer.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "examples/walkthrough/walkthrough.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```sh\n"+string(script)+"```") {
		t.Error("README.md does not quote examples/walkthrough/walkthrough.sh verbatim")
	}
	if i := strings.Index(string(readme), "## A room with two anchors"); i < 0 || i > strings.Index(string(readme), "## Calling it with the official SDKs") {
		t.Error("the walkthrough must come near the top, before the SDK section")
	}

	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_RECORDING_SEGMENT=1s"})
	run := exec.Command("bash", "examples/walkthrough/walkthrough.sh")
	run.Dir, run.Env = root, append(os.Environ(), "TRTC_EMULATOR_ENDPOINT="+p.addr)
	out, err := run.Output()
	if err != nil {
		t.Fatalf("walkthrough: %v\n%s\n%s", err, out, exitStderr(err))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("walkthrough printed %d lines, want 4:\n%s", len(lines), out)
	}
	var created struct{ Response struct{ TaskId string } }
	if err := json.Unmarshal([]byte(lines[2]), &created); err != nil || created.Response.TaskId == "" {
		t.Fatalf("record-go printed %s", lines[2])
	}
	var rooms struct {
		Rooms []struct {
			RoomId  string
			Members []struct {
				UserId string
				Robot  bool
			}
		}
	}
	if err := json.Unmarshal([]byte(lines[3]), &rooms); err != nil || len(rooms.Rooms) != 1 || rooms.Rooms[0].RoomId != "demo" ||
		len(rooms.Rooms[0].Members) != 3 || !rooms.Rooms[0].Members[2].Robot {
		t.Fatalf("rooms: %s", lines[3])
	}
	client := s3Client("http://" + p.addr + "/storage")
	waitFor(t, "both anchors' playlists in bucket demo", 30*time.Second, func() bool {
		keys := listKeys(t, client, "demo", created.Response.TaskId+"/")
		var alice, bob bool
		for _, k := range keys {
			alice = alice || strings.Contains(k, "_UserId_s_YWxpY2U") && strings.HasSuffix(k, ".m3u8")
			bob = bob || strings.Contains(k, "_UserId_s_Ym9i") && strings.HasSuffix(k, ".m3u8")
		}
		return alice && bob
	})
}

// listKeys lists the object keys under prefix with aws-sdk-go-v2.
func listKeys(t *testing.T, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil // the bucket appears with the first upload
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}
