package layout

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/trtc-emulator/trtc-emulator/"

// allowed lists, per package (prefix of its path below the module), the packages of ours
// it may import directly. Packages not listed may import anything of ours.
var allowed = map[string][]string{
	"tcerr":      {},
	"migrations": {},
	"wire":       {"wire"}, // wire/camwire uses wire's schema types
	"cam":        {"tcerr", "cam/"},
	"media":      {"media/"},
	"storage":    {"storage", "internal/clock"},
	"webhooks":   {"internal/clock"},
	"models":     {"migrations", "tcerr", "cam/usersig", "internal/clock"}, // not wire: handlers translate
	"jobs":       {"models", "media", "storage", "webhooks", "internal/clock", "tcerr"},
	"handlers":   {"models", "cam", "webhooks", "tcerr", "wire", "internal/clock"},
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(pkg.ImportPath, module)
		rules, ok := rule(rel)
		if !ok {
			continue
		}
		checked++
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if !permitted(dep, rules) {
				t.Errorf("%s imports %s, which its layer may not", rel, dep)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d packages checked", checked)
	}
}

// rule finds the rules of the package's top-level directory (media/h264 → media).
func rule(rel string) ([]string, bool) {
	top, _, _ := strings.Cut(rel, "/")
	r, ok := allowed[top]
	return r, ok
}

func permitted(dep string, rules []string) bool {
	for _, r := range rules {
		if dep == strings.TrimSuffix(r, "/") || strings.HasPrefix(dep, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

// TestBinaryRunsNoMediaTools: the packages that run ffmpeg/ffprobe (test peers only) are
// not in the binary's dependency graph; the product's media pipeline stays pure Go.
func TestBinaryRunsNoMediaTools(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"cmd/trtc-emulator").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("only %d dependencies listed", len(deps))
	}
	for _, dep := range deps {
		if strings.HasSuffix(dep, "/mpegtstest") || strings.HasSuffix(dep, "/internal/testpeer") {
			t.Errorf("the binary depends on %s, a test peer that runs ffmpeg/ffprobe", dep)
		}
	}
}
