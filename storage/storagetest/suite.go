package storagetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// Bucket is the bucket the suite writes to; backends that do not create buckets on
// first upload must have it. Keys are under a prefix of the subtest's name, so a shared
// bucket of a real service works too. MissingBucket must not exist.
const (
	Bucket        = "storagetest-1250000000"
	MissingBucket = "storagetest-missing-1250000000"
)

// LargeSize is the size of the suite's large object: above 2 parts of storage.MinPartSize.
const LargeSize = 2*storage.MinPartSize + 12345

// Run is the conformance suite. newStore is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	cases := []struct {
		name string
		f    func(t *testing.T, s storage.Store, p string)
	}{
		{"PutGetHead", testPutGetHead},
		{"Missing", testMissing},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Empty", testEmpty},
		{"UnknownSize", testUnknownSize},
		{"ShortBody", testShortBody},
		{"ReaderFails", testReaderFails},
		{"List", testList},
		{"ListPages", testListPages},
		{"SpecialKeys", testSpecialKeys},
		{"BadKeys", testBadKeys},
		{"Large", testLarge},
		{"Concurrent", testConcurrent},
		{"Canceled", testCanceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			p := fmt.Sprintf("storagetest/%s-%d/", c.name, time.Now().UnixNano())
			c.f(t, s, p)
		})
	}
}

var ctx = context.Background()

func content(n int, seed uint64) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

func put(t *testing.T, s storage.Store, key string, b []byte, ct string) {
	t.Helper()
	if err := s.Put(ctx, Bucket, key, bytes.NewReader(b), int64(len(b)), ct); err != nil {
		t.Fatalf("Put %q: %v", key, err)
	}
}

func get(t *testing.T, s storage.Store, key string) ([]byte, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(ctx, Bucket, key)
	if err != nil {
		t.Fatalf("Get %q: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %q: reading: %v", key, err)
	}
	return b, info
}

func wantCode(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	e, ok := storage.As(err)
	if !ok || !slices.Contains(codes, e.Code) {
		t.Errorf("%s: error %v, want *storage.Error with code %v", what, err, codes)
	}
}

// checkInfo compares what a backend says about an object with its content.
func checkInfo(t *testing.T, what string, info storage.ObjectInfo, key string, b []byte, ct string, onePiece bool) {
	t.Helper()
	if info.Key != key {
		t.Errorf("%s: Key %q, want %q", what, info.Key, key)
	}
	if info.Size != int64(len(b)) {
		t.Errorf("%s: Size %d, want %d", what, info.Size, len(b))
	}
	if onePiece && info.ETag != md5hex(b) {
		t.Errorf("%s: ETag %q, want %q", what, info.ETag, md5hex(b))
	}
	if !onePiece && info.ETag == "" {
		t.Errorf("%s: no ETag", what)
	}
	if ct != "" && info.ContentType != ct {
		t.Errorf("%s: ContentType %q, want %q", what, info.ContentType, ct)
	}
	if d := time.Since(info.LastModified); d < -time.Hour || d > time.Hour {
		t.Errorf("%s: LastModified %v is not about now", what, info.LastModified)
	}
	if c := info.Checksums.CRC64ECMA; c != "" {
		want := strconv.FormatUint(crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)), 10)
		if c != want {
			t.Errorf("%s: CRC64ECMA %s, want %s", what, c, want)
		}
	}
}

func testPutGetHead(t *testing.T, s storage.Store, p string) {
	key := p + "video_1.ts"
	b := content(100_000, 1)
	put(t, s, key, b, "video/mp2t")
	got, info := get(t, s, key)
	if !bytes.Equal(got, b) {
		t.Fatalf("Get returned %d bytes, not the %d put", len(got), len(b))
	}
	checkInfo(t, "Get", info, key, b, "video/mp2t", true)
	hinfo, err := s.Head(ctx, Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, "Head", hinfo, key, b, "video/mp2t", true)
}

func testMissing(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"present", []byte("x"), "")
	_, _, err := s.Get(ctx, Bucket, p+"absent")
	wantCode(t, "Get of a missing key", err, storage.CodeNoSuchKey)
	_, err = s.Head(ctx, Bucket, p+"absent")
	wantCode(t, "Head of a missing key", err, storage.CodeNoSuchKey)
	if err := s.Delete(ctx, Bucket, p+"absent"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	_, _, err = s.Get(ctx, MissingBucket, p+"x")
	wantCode(t, "Get in a missing bucket", err, storage.CodeNoSuchBucket)
	_, err = s.Head(ctx, MissingBucket, p+"x")
	wantCode(t, "Head in a missing bucket", err, storage.CodeNoSuchBucket)
	_, _, err = s.List(ctx, MissingBucket, p, "", 10)
	wantCode(t, "List of a missing bucket", err, storage.CodeNoSuchBucket)
	err = s.Delete(ctx, MissingBucket, p+"x")
	wantCode(t, "Delete in a missing bucket", err, storage.CodeNoSuchBucket)
}

func testOverwrite(t *testing.T, s storage.Store, p string) {
	key := p + "index.m3u8"
	put(t, s, key, []byte("first version, longer"), "text/plain")
	put(t, s, key, []byte("second"), "application/vnd.apple.mpegurl")
	got, info := get(t, s, key)
	if string(got) != "second" {
		t.Errorf("Get after overwrite: %q", got)
	}
	checkInfo(t, "Get after overwrite", info, key, []byte("second"), "application/vnd.apple.mpegurl", true)
	objs, _, err := s.List(ctx, Bucket, p, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Size != 6 || objs[0].ETag != md5hex([]byte("second")) {
		t.Errorf("List after overwrite: %+v", objs)
	}
}

func testDelete(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"a", []byte("a"), "")
	put(t, s, p+"b", []byte("b"), "")
	if err := s.Delete(ctx, Bucket, p+"a"); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get(ctx, Bucket, p+"a")
	wantCode(t, "Get after Delete", err, storage.CodeNoSuchKey)
	objs, _, err := s.List(ctx, Bucket, p, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != p+"b" {
		t.Errorf("List after Delete: %+v", objs)
	}
}

func testEmpty(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"empty", nil, "")
	got, info := get(t, s, p+"empty")
	if len(got) != 0 {
		t.Errorf("Get of an empty object: %d bytes", len(got))
	}
	checkInfo(t, "Get of an empty object", info, p+"empty", nil, "", true)
}

// onlyReader hides any Seek or Len of its reader.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(b []byte) (int, error) { return o.r.Read(b) }

func testUnknownSize(t *testing.T, s storage.Store, p string) {
	b := content(300_000, 2)
	if err := s.Put(ctx, Bucket, p+"stream", onlyReader{bytes.NewReader(b)}, -1, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	got, info := get(t, s, p+"stream")
	if !bytes.Equal(got, b) {
		t.Errorf("Get returned %d bytes, not the %d put", len(got), len(b))
	}
	checkInfo(t, "Get", info, p+"stream", b, "video/mp4", true)
}

func testShortBody(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"seed", nil, "") // the bucket exists
	err := s.Put(ctx, Bucket, p+"short", onlyReader{strings.NewReader("12345")}, 10, "")
	if err == nil {
		t.Fatal("Put of 5 bytes declared as 10 succeeded")
	}
	_, err = s.Head(ctx, Bucket, p+"short")
	wantCode(t, "Head after a short Put", err, storage.CodeNoSuchKey)
}

// failingReader returns some bytes and then an error.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	n := min(len(b), f.n)
	clear(b[:n])
	f.n -= n
	return n, nil
}

func testReaderFails(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"kept", []byte("old"), "")
	boom := errors.New("spool disk failed")
	err := s.Put(ctx, Bucket, p+"kept", &failingReader{n: 1000, err: boom}, 2000, "")
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if got, _ := get(t, s, p+"kept"); string(got) != "old" {
		t.Errorf("after a failed Put the object is %q, want the old one", got)
	}
}

func keysOf(objs []storage.ObjectInfo) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Key)
	}
	return ks
}

func testList(t *testing.T, s storage.Store, p string) {
	keys := []string{"a/1.ts", "a/2.ts", "a/3.ts", "a0", "a-b", "b/1.ts", "c.m3u8"}
	for i, k := range keys {
		put(t, s, p+k, content(10+i, uint64(i)), "")
	}
	put(t, s, strings.TrimSuffix(p, "/")+"-other/x", []byte("not under p"), "")
	want := []string{"a-b", "a/1.ts", "a/2.ts", "a/3.ts", "a0", "b/1.ts", "c.m3u8"} // bytewise: '-' < '/' < '0'
	for i := range want {
		want[i] = p + want[i]
	}
	objs, more, err := s.List(ctx, Bucket, p, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keysOf(objs), want) || more {
		t.Fatalf("List(%q) = %q, %v; want %q, false", p, keysOf(objs), more, want)
	}
	for i, o := range objs {
		n := 10 + slices.Index(keys, strings.TrimPrefix(o.Key, p))
		if o.Size != int64(n) || o.ETag != md5hex(content(n, uint64(n-10))) {
			t.Errorf("List entry %d: %+v", i, o)
		}
	}
	tests := []struct {
		prefix, after string
		max           int
		want          []string
		more          bool
	}{
		{"", "", 2, want[:2], true},
		{"", want[1], 2, want[2:4], true},
		{"", want[3], 3, want[4:7], false},
		{"", want[6], 3, nil, false},
		{"a/", "", 0, want[1:4], false},
		{"a/", want[1], 1, want[2:3], true},
		{"a/", "", 3, want[1:4], false},
		{"a/2", "", 0, want[2:3], false},
		{"", p + "a/15", 2, want[2:4], true},
		{"", p, 1, want[:1], true},
		{"zz", "", 0, nil, false},
	}
	for _, tc := range tests {
		objs, more, err := s.List(ctx, Bucket, p+tc.prefix, tc.after, tc.max)
		if err != nil {
			t.Errorf("List(%q, %q, %d): %v", tc.prefix, tc.after, tc.max, err)
			continue
		}
		if !slices.Equal(keysOf(objs), tc.want) || more != tc.more {
			t.Errorf("List(%q, %q, %d) = %q, %v; want %q, %v", tc.prefix, tc.after, tc.max, keysOf(objs), more, tc.want, tc.more)
		}
	}
}

// testListPages lists more objects than one page holds.
func testListPages(t *testing.T, s storage.Store, p string) {
	const n = storage.MaxListKeys + 25
	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		k := fmt.Sprintf("%sseg_%05d.ts", p, i)
		want = append(want, k)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.Put(ctx, Bucket, k, strings.NewReader(k), int64(len(k)), ""); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		objs, more, err := s.List(ctx, Bucket, p, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) > storage.MaxListKeys || (more && len(objs) == 0) {
			t.Fatalf("page %d: %d objects, more=%v", pages, len(objs), more)
		}
		got = append(got, keysOf(objs)...)
		if !more {
			break
		}
		after = objs[len(objs)-1].Key
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d keys, want %d in order", len(got), len(want))
	}
}

// SpecialKeys are legal keys that a naive backend mishandles.
var SpecialKeys = []string{
	"with space.ts", "plus+sign", "percent%41%2F", "question?x=1&y=2", "hash#frag",
	"double//slash", "/leading-slash", "trailing-slash/", "a/../b", "../up", `..\win`,
	`C:\x`, "%2e%2e/x", "~tilde", "录制/文件.ts", "emoji-🎥", "quote\"'<>&", "semi;colon",
	"=equals,comma", "*star", "(paren)", "!bang$", "[b]{c}|^`",
}

func testSpecialKeys(t *testing.T, s storage.Store, p string) {
	var want []string
	for i, k := range SpecialKeys {
		key := p + k
		b := []byte(fmt.Sprintf("object %d: %s", i, k))
		put(t, s, key, b, "")
		got, info := get(t, s, key)
		if !bytes.Equal(got, b) || info.Key != key {
			t.Errorf("%q: Get returned %q as %q", k, got, info.Key)
		}
		if _, err := s.Head(ctx, Bucket, key); err != nil {
			t.Errorf("%q: Head: %v", k, err)
		}
		want = append(want, key)
	}
	slices.Sort(want)
	objs, more, err := s.List(ctx, Bucket, p, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keysOf(objs), want) || more {
		t.Errorf("List = %q, want %q", keysOf(objs), want)
	}
	for _, k := range want {
		if err := s.Delete(ctx, Bucket, k); err != nil {
			t.Errorf("Delete %q: %v", k, err)
		}
	}
	if objs, _, err := s.List(ctx, Bucket, p, "", 0); err != nil || len(objs) != 0 {
		t.Errorf("List after deleting all: %q, %v", keysOf(objs), err)
	}
}

func testBadKeys(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"ok", []byte("ok"), "")
	bad := []struct {
		key   string
		codes []string
	}{
		{"", []string{storage.CodeInvalidObjectName}},
		{p + strings.Repeat("k", storage.MaxKeyLength), []string{storage.CodeKeyTooLong}},
		{p + "nul\x00byte", []string{storage.CodeInvalidObjectName}},
		{p + "new\nline", []string{storage.CodeInvalidObjectName}},
		{p + "bad-utf8-\xff", []string{storage.CodeInvalidObjectName}},
	}
	for _, b := range bad {
		err := s.Put(ctx, Bucket, b.key, strings.NewReader("x"), 1, "")
		wantCode(t, fmt.Sprintf("Put %.40q", b.key), err, b.codes...)
		_, _, err = s.Get(ctx, Bucket, b.key)
		wantCode(t, fmt.Sprintf("Get %.40q", b.key), err, b.codes...)
	}
	err := s.Put(ctx, "Bad_Bucket", p+"x", strings.NewReader("x"), 1, "")
	wantCode(t, "Put to an invalid bucket name", err, storage.CodeInvalidBucketName)
	if objs, _, err := s.List(ctx, Bucket, p, "", 0); err != nil || len(objs) != 1 {
		t.Errorf("bad keys left objects: %q, %v", keysOf(objs), err)
	}
}

func testLarge(t *testing.T, s storage.Store, p string) {
	b := content(LargeSize, 3)
	put(t, s, p+"large.mp4", b, "video/mp4")
	got, info := get(t, s, p+"large.mp4")
	if !bytes.Equal(got, b) {
		t.Fatalf("Get returned %d bytes (md5 %s), want %d (md5 %s)", len(got), md5hex(got), len(b), md5hex(b))
	}
	checkInfo(t, "Get", info, p+"large.mp4", b, "video/mp4", false)
}

func testConcurrent(t *testing.T, s storage.Store, p string) {
	var wg sync.WaitGroup
	var want []string
	for i := range 16 {
		k := fmt.Sprintf("%sc%02d", p, i)
		want = append(want, k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := content(50_000, uint64(i))
			for range 3 { // the same key, over and over
				if err := s.Put(ctx, Bucket, k, bytes.NewReader(b), int64(len(b)), ""); err != nil {
					t.Error(err)
					return
				}
			}
			rc, _, err := s.Get(ctx, Bucket, k)
			if err != nil {
				t.Error(err)
				return
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, b) {
				t.Errorf("%s: wrong content", k)
			}
		}()
	}
	wg.Wait()
	objs, _, err := s.List(ctx, Bucket, p, "", 0)
	if err != nil || !slices.Equal(keysOf(objs), want) {
		t.Errorf("List = %q, %v; want %q", keysOf(objs), err, want)
	}
}

func testCanceled(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"seed", nil, "")
	c, cancel := context.WithCancel(ctx)
	cancel()
	b := content(10_000, 4)
	if err := s.Put(c, Bucket, p+"canceled", bytes.NewReader(b), int64(len(b)), ""); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	if _, err := s.Head(ctx, Bucket, p+"canceled"); !storage.IsCode(err, storage.CodeNoSuchKey) {
		t.Errorf("after a canceled Put, Head: %v", err)
	}
}
