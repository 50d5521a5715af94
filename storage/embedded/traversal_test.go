package embedded

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// HostileKeys are keys and prefixes that escape a naive key-to-path mapping. All but
// the invalid ones (NUL, too long) are legal S3 keys and must round-trip unharmed.
var HostileKeys = []string{
	"../x", "..%2fx", "%2e%2e/x", "a/../../x", "/etc/passwd", `C:\x`, `..\x`, `..\..\outside\pwned`,
	"x\x00y", strings.Repeat("k", 2000), strings.Repeat("../", 300), "../../outside/pwned",
	"../../../outside/secret.txt", "....//....//x", "/", ".", "..", "a/./b", "~/x",
	`\\server\share\x`, "%00", "%c0%ae%c0%ae/x", strings.Repeat("a", 255), strings.Repeat("é", 300),
	"t/../../outside/pwned", "o/00/../../../outside/pwned", "created", "u/../created",
}

// snapshot records every entry under dir: type, size, content hash, link target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := info.Mode().String() + " " + info.ModTime().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTraversal attacks the store with hostile keys, bucket names and symlinks planted
// in its directory, and checks with a walk that nothing outside the root changed and
// no outside content was returned.
func TestTraversal(t *testing.T) {
	ctx := context.Background()
	top := t.TempDir()
	outside := filepath.Join(top, "outside")
	secret := []byte("SECRET outside the store")
	must(t, os.MkdirAll(filepath.Join(outside, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "secret.txt"), secret, 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "sub", "x"), secret, 0o644))
	dataDir := filepath.Join(top, "data")

	s, err := Open(dataDir, Options{NoSync: true, MinPartSize: 1})
	must(t, err)
	defer s.Close()
	must(t, s.Put(ctx, "bkt", "seed", strings.NewReader("seed"), 4, ""))

	// Symlinks an attacker (or a confused tool) planted in the data dir.
	kShard, kFile := "shard-is-a-symlink", "file-is-a-symlink"
	shard := filepath.Join(dataDir, filepath.Dir(objectPath("bkt", kShard)))
	must(t, os.MkdirAll(filepath.Dir(shard), 0o755))
	must(t, os.Symlink("../../../outside", shard))
	file := filepath.Join(dataDir, objectPath("bkt", kFile))
	must(t, os.MkdirAll(filepath.Dir(file), 0o755))
	must(t, os.Symlink("../../../../outside/secret.txt", file))
	fileAbs := filepath.Join(dataDir, objectPath("bkt", "absolute-symlink"))
	must(t, os.MkdirAll(filepath.Dir(fileAbs), 0o755))
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), fileAbs))
	must(t, os.Symlink("../outside", filepath.Join(dataDir, "evil-bucket")))
	must(t, os.Symlink(outside, filepath.Join(dataDir, "evil-abs")))
	must(t, os.MkdirAll(filepath.Join(dataDir, "bkt2"), 0o755))
	must(t, os.Symlink("../../outside", filepath.Join(dataDir, "bkt2", "u")))
	must(t, os.Symlink("../../outside", filepath.Join(dataDir, "bkt2", "o")))
	must(t, os.MkdirAll(filepath.Join(dataDir, "bkt3"), 0o755))
	must(t, os.Symlink("../../outside/sub", filepath.Join(dataDir, "bkt3", "t")))

	before := snapshot(t, outside)
	leaked := func(what string, b []byte) {
		if bytes.Contains(b, secret) {
			t.Errorf("%s returned content from outside the root", what)
		}
	}
	read := func(bucket, key string) {
		rc, _, err := s.Get(ctx, bucket, key)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			leaked("Get "+key, b)
		} else {
			leaked("Get error", []byte(err.Error()))
		}
	}

	// Reads through planted symlinks fail.
	for _, k := range []string{kFile, "absolute-symlink", kShard} {
		read("bkt", k)
		if _, err := s.Head(ctx, "bkt", k); err == nil {
			t.Errorf("Head %q through a symlink out of the root succeeded", k)
		}
	}
	objs, _, err := s.List(ctx, "bkt", "", "", 0)
	must(t, err)
	for _, o := range objs {
		if o.Key != "seed" {
			t.Errorf("List shows %q", o.Key)
		}
	}

	// Hostile keys in a normal bucket: legal ones round-trip, none escapes.
	for _, k := range HostileKeys {
		body := []byte("hostile " + k)
		err := s.Put(ctx, "bkt", k, bytes.NewReader(body), int64(len(body)), "")
		if storage.CheckKey(k) != nil {
			if err == nil {
				t.Errorf("Put %.40q: accepted an invalid key", k)
			}
			read("bkt", k)
			continue
		}
		if err != nil {
			t.Errorf("Put %.40q: %v", k, err)
			continue
		}
		rc, info, err := s.Get(ctx, "bkt", k)
		if err != nil {
			t.Errorf("Get %.40q: %v", k, err)
			continue
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, body) || info.Key != k {
			t.Errorf("Get %.40q returned %.40q", k, got)
		}
		// the same key as a prefix and a start-after
		if _, _, err := s.List(ctx, "bkt", k, k, 10); err != nil {
			t.Errorf("List %.40q: %v", k, err)
		}
		id, err := s.CreateMultipartUpload(ctx, "bkt", k, "")
		if err != nil {
			t.Errorf("CreateMultipartUpload %.40q: %v", k, err)
			continue
		}
		part, err := s.UploadPart(ctx, "bkt", k, id, 1, bytes.NewReader(body), int64(len(body)))
		if err == nil {
			_, err = s.CompleteMultipartUpload(ctx, "bkt", k, id, []storage.CompletedPart{{Number: 1, ETag: part.ETag}})
		}
		if err != nil {
			t.Errorf("multipart %.40q: %v", k, err)
		}
		if err := s.Delete(ctx, "bkt", k); err != nil {
			t.Errorf("Delete %.40q: %v", k, err)
		}
	}

	// Hostile upload ids and part numbers.
	for _, id := range []string{"../../outside", "..", "/etc", strings.Repeat("0", 32) + "/../..", "", "ABCDEF0123456789ABCDEF0123456789"} {
		if _, err := s.UploadPart(ctx, "bkt", "k", id, 1, strings.NewReader("x"), 1); !storage.IsCode(err, storage.CodeNoSuchUpload) {
			t.Errorf("UploadPart with id %q: %v", id, err)
		}
		if err := s.AbortMultipartUpload(ctx, "bkt", "k", id); !storage.IsCode(err, storage.CodeNoSuchUpload) {
			t.Errorf("Abort with id %q: %v", id, err)
		}
	}

	// Hostile bucket names are refused before any file operation.
	for _, b := range []string{"..", ".", "../outside", "/etc", "bkt/../..", `..\x`, "bkt/o", "", "a\x00b", "outside/..", "%2e%2e"} {
		if err := s.Put(ctx, b, "k", strings.NewReader("x"), 1, ""); !storage.IsCode(err, storage.CodeInvalidBucketName) {
			t.Errorf("Put in bucket %q: %v", b, err)
		}
		if _, _, err := s.List(ctx, b, "", "", 0); !storage.IsCode(err, storage.CodeInvalidBucketName) {
			t.Errorf("List of bucket %q: %v", b, err)
		}
	}

	// Buckets that are symlinks out of the root are not buckets, and cannot be written.
	for _, b := range []string{"evil-bucket", "evil-abs"} {
		if err := s.Put(ctx, b, "pwned", strings.NewReader("x"), 1, ""); err == nil {
			t.Errorf("Put into symlinked bucket %s succeeded", b)
		}
		read(b, "secret.txt")
		if _, _, err := s.List(ctx, b, "", "", 0); err == nil {
			t.Errorf("List of symlinked bucket %s succeeded", b)
		}
		if err := s.Delete(ctx, b, "secret.txt"); err == nil {
			t.Logf("Delete in symlinked bucket %s: no error", b)
		}
		if err := s.DeleteBucket(ctx, b); err == nil {
			t.Errorf("DeleteBucket of symlinked bucket %s succeeded", b)
		}
	}
	bs, err := s.ListBuckets(ctx)
	must(t, err)
	for _, b := range bs {
		if strings.HasPrefix(b.Name, "evil") {
			t.Errorf("ListBuckets shows %s", b.Name)
		}
	}

	// Planted symlinks in place of a shard, the upload dir, the object dir, the temp dir.
	if err := s.Put(ctx, "bkt", kShard, strings.NewReader("pwned"), 5, ""); err == nil {
		t.Errorf("Put through a symlinked shard succeeded")
	}
	s.Delete(ctx, "bkt", kShard)
	if _, err := s.CreateMultipartUpload(ctx, "bkt2", "k", ""); err == nil {
		t.Errorf("CreateMultipartUpload through a symlinked upload dir succeeded")
	}
	if err := s.Put(ctx, "bkt2", "k", strings.NewReader("pwned"), 5, ""); err == nil {
		t.Errorf("Put through a symlinked object dir succeeded")
	}
	if _, _, err := s.List(ctx, "bkt2", "", "", 0); err == nil {
		t.Logf("List of bkt2 with a symlinked object dir: no error")
	}
	if err := s.Put(ctx, "bkt3", "k", strings.NewReader("pwned"), 5, ""); err == nil {
		t.Errorf("Put through a symlinked temp dir succeeded")
	}
	if err := s.DeleteBucket(ctx, "bkt3"); err != nil {
		t.Logf("DeleteBucket bkt3: %v", err)
	}
	// Overwriting and deleting an object that is a symlink replace the link, never the target.
	must(t, s.Put(ctx, "bkt", kFile, strings.NewReader("new"), 3, ""))
	must(t, s.Delete(ctx, "bkt", "absolute-symlink"))

	// A restart cleans temp dirs: a symlinked one is unlinked, not followed.
	must(t, os.MkdirAll(filepath.Join(dataDir, "bkt4"), 0o755))
	must(t, os.Symlink("../../outside", filepath.Join(dataDir, "bkt4", "t")))
	s.Close()
	s2, err := Open(dataDir, Options{NoSync: true})
	must(t, err)
	s2.Close()

	after := snapshot(t, outside)
	if !maps.Equal(before, after) {
		t.Errorf("the directory outside the root changed:\nbefore %v\nafter  %v", before, after)
	}
	// And nothing was created beside the data dir.
	entries, err := os.ReadDir(top)
	must(t, err)
	if len(entries) != 2 {
		t.Errorf("entries beside the data dir: %v", entries)
	}
	// Inside the root, no path contains a key.
	filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if strings.Contains(p, "pwned") || strings.Contains(p, "passwd") || strings.Contains(path.Base(p), "..") {
			t.Errorf("a key reached a path: %s", p)
		}
		return nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
