package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
