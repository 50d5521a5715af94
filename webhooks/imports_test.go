package webhooks

import (
	"go/build"
	"strings"
	"testing"
)

// The package doc's promise: nothing of ours but internal/clock.
func TestImportsNothingOfOursButClock(t *testing.T) {
	const module = "github.com/trtc-emulator/trtc-emulator/"
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, module) && imp != module+"internal/clock" {
			t.Errorf("webhooks imports %s", imp)
		}
	}
}
