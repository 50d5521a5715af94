package storagetest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/storagetest"
)

func newEmbedded(t *testing.T) storage.Store {
	s, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A Faulty without rules is the store it wraps.
func TestFaultyConforms(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.NewFaulty(newEmbedded(t)) })
}

func TestFaulty(t *testing.T) {
	ctx := t.Context()
	f := storagetest.NewFaulty(newEmbedded(t))
	put := func() error { return f.Put(ctx, "bkt", "k", strings.NewReader("x"), 1, "") }
	boom := errors.New("boom")
	f.FailNth(storagetest.Put, 2, nil)
	f.FailNth(storagetest.Any, 4, boom)
	if err := put(); err != nil {
		t.Fatalf("call 1: %v", err)
	}
	if err := put(); !errors.Is(err, storagetest.ErrInjected) || !storage.IsCode(err, storage.CodeServiceUnavailable) {
		t.Fatalf("Put 2: %v", err)
	}
	if _, err := f.Head(ctx, "bkt", "k"); err != nil {
		t.Fatalf("call 3: %v", err)
	}
	if _, err := f.Head(ctx, "bkt", "k"); err != boom {
		t.Fatalf("call 4: %v", err)
	}
	f.FailAll(storagetest.Get, nil)
	for range 3 {
		if _, _, err := f.Get(ctx, "bkt", "k"); err == nil {
			t.Fatal("Get while down succeeded")
		}
	}
	if _, _, err := f.List(ctx, "bkt", "", "", 0); err != nil {
		t.Fatalf("List while Get is down: %v", err)
	}
	f.FailAll(storagetest.Any, nil)
	if err := f.Delete(ctx, "bkt", "k"); err == nil {
		t.Fatal("Delete while down succeeded")
	}
	f.Heal()
	rc, _, err := f.Get(ctx, "bkt", "k")
	if err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	rc.Close()
	if f.Calls(storagetest.Put) != 2 || f.Calls(storagetest.Get) != 4 || f.Calls(storagetest.Any) != 10 {
		t.Errorf("calls: put %d get %d all %d", f.Calls(storagetest.Put), f.Calls(storagetest.Get), f.Calls(storagetest.Any))
	}
}
