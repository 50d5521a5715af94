package embedded

import (
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/storagetest"
)

func openTemp(t testing.TB, opt Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTemp(t, Options{NoSync: true}) })
}
