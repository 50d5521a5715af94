package storage

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// The package docs' promise: storage imports nothing of ours, its backends only storage
// (and the uploaders their shared part splitter); nothing here knows TRTC.
func TestImports(t *testing.T) {
	const module = "github.com/trtc-emulator/trtc-emulator/"
	allowed := map[string][]string{
		".":              nil,
		"embedded":       {"storage", "internal/clock"}, // the emulator's one clock (a leaf)
		"s3api":          {"storage"},
		"s3up":           {"storage", "storage/internal/parts"},
		"cosup":          {"storage", "storage/internal/parts"},
		"storagetest":    {"storage"},
		"internal/parts": {"storage"},
	}
	for dir, ok := range allowed {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			if rest, ours := strings.CutPrefix(imp, module); ours && !slices.Contains(ok, rest) {
				t.Errorf("storage/%s imports %s", dir, imp)
			}
		}
	}
}
