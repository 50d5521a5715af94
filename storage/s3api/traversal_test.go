package s3api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// snapshot records every entry under dir: type, time, size and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		desc := info.Mode().String() + " " + info.ModTime().String()
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
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

// TestTraversalOverHTTP sends hostile request targets, as bytes on the wire, for every
// operation, with symlinks planted in the store's directory, and checks that nothing
// outside the store changed and nothing from outside was served.
func TestTraversalOverHTTP(t *testing.T) {
	top := t.TempDir()
	outside := filepath.Join(top, "outside")
	secret := "SECRET outside the store"
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644)
	os.WriteFile(filepath.Join(outside, "pwned"), []byte(secret), 0o644)

	e := newEnv(t, false, s3api.Config{})
	raw(t, e, "PUT", "/storage/bkt/seed", nil, "seed")
	// a bucket that is a symlink out of the store, and one to the outside file
	if err := os.Symlink(outside, filepath.Join(e.dir, "evil-bucket")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("../../outside", filepath.Join(e.dir, "rel-bucket"))
	before := snapshot(t, outside)

	keys := []string{
		"../x", "..%2fx", "..%2Fx", "%2e%2e/x", "%2E%2E%2F%2E%2E%2Foutside%2Fpwned", "a/../../x",
		"/etc/passwd", "%2Fetc%2Fpasswd", "C:%5Cx", "..%5C..%5Coutside%5Cpwned", "x%00y",
		strings.Repeat("k", 2000), strings.Repeat("../", 300) + "outside/pwned", "../../outside/pwned",
		"../../../outside/secret.txt", "%252e%252e/x", "%c0%ae%c0%ae/x", ".", "..", "./..//../outside/pwned",
	}
	buckets := []string{"bkt", "..", "%2e%2e", "..%2f..%2foutside", "evil-bucket", "rel-bucket", "evil-bucket%2F..", "bkt%2F..%2F..", "."}
	var targets []string
	for _, b := range buckets {
		for _, k := range keys {
			targets = append(targets, "/storage/"+b+"/"+k)
		}
		targets = append(targets,
			"/storage/"+b+"?list-type=2&prefix=../../outside/&delimiter=/",
			"/storage/"+b+"?prefix=..%2F..%2F&start-after=../../outside",
			"/storage/"+b+"?list-type=2&continuation-token=Li4vLi4vb3V0c2lkZQ",
		)
	}
	targets = append(targets, "/storage/../outside/pwned", "/storage/..%2F..%2Foutside/pwned", "/storage/%2e%2e/outside/secret.txt")

	check := func(what string, status int, body []byte) {
		t.Helper()
		if status >= 500 && status != 501 {
			t.Errorf("%s: status %d: %s", what, status, body)
		}
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("%s served content from outside the store", what)
		}
	}
	for _, target := range targets {
		for _, m := range []struct{ method, query, body string }{
			{"PUT", "", "pwned"}, {"GET", "", ""}, {"HEAD", "", ""}, {"POST", "?uploads", ""},
			{"PUT", "?partNumber=1&uploadId=..%2F..%2Foutside", "pwned"}, {"DELETE", "", ""},
			{"POST", "?uploadId=..%2F..%2Foutside", `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>`},
			{"POST", "?delete", "<Delete><Object><Key>../../outside/pwned</Key></Object><Object><Key>../../outside/secret.txt</Key></Object></Delete>"},
		} {
			tg := target
			if m.query != "" {
				if strings.Contains(tg, "?") {
					continue
				}
				tg += m.query
			}
			resp, body := raw(t, e, m.method, tg, nil, m.body)
			check(m.method+" "+tg[:min(len(tg), 80)], resp.StatusCode, body)
		}
	}
	// Legal hostile keys are stored in the bucket, under hashed names.
	raw(t, e, "PUT", "/storage/bkt/../../outside/pwned", nil, "pwned")
	resp, body := raw(t, e, "GET", "/storage/bkt?list-type=2", nil, "")
	check("list", resp.StatusCode, body)
	if !bytes.Contains(body, []byte("<Key>../../outside/pwned</Key>")) {
		t.Errorf("the key ../../outside/pwned was not stored as a key: %s", body)
	}

	if after := snapshot(t, outside); !maps.Equal(before, after) {
		t.Errorf("outside the store changed:\nbefore %v\nafter  %v", before, after)
	}
	entries, _ := os.ReadDir(top)
	if len(entries) != 1 {
		t.Errorf("created beside the store: %v", entries)
	}
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if strings.Contains(p, "pwned") || strings.Contains(p, "passwd") || strings.Contains(filepath.Base(p), "..") {
			t.Errorf("a key became a path: %s", p)
		}
		return nil
	})
}
