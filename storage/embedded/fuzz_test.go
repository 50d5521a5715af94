package embedded

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// FuzzKeyPath: whatever the key, its file is <bucket>/o/<2 hex>/<64 hex> (local, no key
// byte in it), and a valid key round-trips through the store and is listed by itself.
func FuzzKeyPath(f *testing.F) {
	for _, k := range HostileKeys {
		f.Add(k)
	}
	f.Add("recordings/1400000001/room_1/user_main_video_2024-01-01-00-00-00.ts")
	s, err := Open(f.TempDir(), Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, key string) {
		p := objectPath("bkt", key)
		parts := strings.Split(p, "/")
		if !filepath.IsLocal(p) || len(parts) != 4 || parts[0] != "bkt" || parts[1] != "o" ||
			!isHex(parts[2], 2) || !isHex(parts[3], 64) || !strings.HasPrefix(parts[3], parts[2]) {
			t.Fatalf("objectPath(%q) = %q", key, p)
		}
		body := []byte(key)
		err := s.Put(ctx, "bkt", key, bytes.NewReader(body), int64(len(body)), "")
		if storage.CheckKey(key) != nil {
			if err == nil {
				t.Fatalf("invalid key %q stored", key)
			}
			return
		}
		if err != nil {
			t.Fatalf("Put %q: %v", key, err)
		}
		rc, info, err := s.Get(ctx, "bkt", key)
		if err != nil {
			t.Fatalf("Get %q: %v", key, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, body) || info.Key != key {
			t.Fatalf("Get %q = %q as %q", key, got, info.Key)
		}
		objs, _, err := s.List(ctx, "bkt", key, "", 1)
		if err != nil || len(objs) != 1 || objs[0].Key != key {
			t.Fatalf("List %q = %v, %v", key, objs, err)
		}
		if err := s.Delete(ctx, "bkt", key); err != nil {
			t.Fatal(err)
		}
	})
}
