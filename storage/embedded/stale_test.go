package embedded

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/storage"
)

// TestAbortStaleUploads: an upload initiated before the cutoff and never completed goes
// with its parts (its id is then unknown); a newer one, and completed objects, stay.
func TestAbortStaleUploads(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	s := openTemp(t, Options{Clock: clk, MinPartSize: 1})
	old, err := s.CreateMultipartUpload(ctx, "b-1250000000", "old.ts", "video/mp2t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadPart(ctx, "b-1250000000", "old.ts", old, 1, strings.NewReader("part"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b-1250000000", "kept.ts", strings.NewReader("object"), 6, "video/mp2t"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(36 * time.Hour)
	fresh, err := s.CreateMultipartUpload(ctx, "b-1250000000", "new.ts", "video/mp2t")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.AbortStaleUploads(ctx, clk.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("aborted %d (%v), want 1", n, err)
	}
	if _, err := s.UploadPart(ctx, "b-1250000000", "old.ts", old, 2, strings.NewReader("late"), 4); !storage.IsCode(err, storage.CodeNoSuchUpload) {
		t.Fatalf("a part of the aborted upload: %v, want NoSuchUpload", err)
	}
	if _, err := s.UploadPart(ctx, "b-1250000000", "new.ts", fresh, 1, strings.NewReader("part"), 4); err != nil {
		t.Fatalf("the newer upload: %v", err)
	}
	if _, err := s.Head(ctx, "b-1250000000", "kept.ts"); err != nil {
		t.Fatalf("a stored object: %v", err)
	}
	if n, err := s.AbortStaleUploads(ctx, clk.Now().Add(-24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
}
