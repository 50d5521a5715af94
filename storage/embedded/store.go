package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/storage"
)

// Options tune a Store; the zero value is what the emulator uses.
type Options struct {
	// MinPartSize is the smallest size of every part but the last that
	// CompleteMultipartUpload accepts; 0 means storage.MinPartSize (S3's 5 MiB).
	MinPartSize int64
	// NoSync skips fsync before renames: faster, but a power cut may lose recent objects.
	NoSync bool
	// Clock is the time of LastModified and of the stale-upload sweep; clock.System when nil.
	Clock clock.Clock
}

// Store is the embedded object store.
type Store struct {
	root *os.Root
	opt  Options

	mu      sync.Mutex
	buckets map[string]*bucketIndex
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir and removes temp files left by a
// previous process.
func Open(dir string, opt Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if opt.MinPartSize <= 0 {
		opt.MinPartSize = storage.MinPartSize
	}
	if opt.Clock == nil {
		opt.Clock = clock.System
	}
	s := &Store{root: root, opt: opt, buckets: map[string]*bucketIndex{}}
	buckets, err := s.ListBuckets(context.Background())
	if err != nil {
		root.Close()
		return nil, err
	}
	for _, b := range buckets {
		_ = root.RemoveAll(path.Join(b.Name, "t")) // an escaping symlink is refused, not followed
	}
	return s, nil
}

// Close releases the root directory.
func (s *Store) Close() error { return s.root.Close() }

func objectPath(bucket, key string) string {
	h := keyHash(key)
	return path.Join(bucket, "o", h[:2], h)
}

func (s *Store) now() time.Time { return s.opt.Clock.Now().UTC() }

// bucketExists reports whether bucket is a directory of the root. An entry of that name
// that is not a plain directory (a symlink, a file) is refused with AccessDenied: it was
// not made by the store, and a symlink may lead out of it.
func (s *Store) bucketExists(bucket string) (bool, error) {
	st, err := s.root.Lstat(bucket)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !st.IsDir():
		return false, storage.New(storage.CodeAccessDenied, "Access Denied: the bucket's entry in the store is not a directory.")
	}
	return true, nil
}

// needBucket returns NoSuchBucket unless bucket exists.
func (s *Store) needBucket(bucket string) error {
	ok, err := s.bucketExists(bucket)
	if err != nil {
		return err
	}
	if !ok {
		return storage.ErrNoSuchBucket()
	}
	return nil
}

// makeBucket creates bucket's directories if needed; after the first time it only
// looks (createTemp makes them again if they were removed behind the store's back).
func (s *Store) makeBucket(bucket string) error {
	ok, err := s.bucketExists(bucket)
	if err != nil {
		return err
	}
	if ok && s.index(bucket).made.Load() {
		return nil
	}
	if err := s.root.MkdirAll(path.Join(bucket, "t"), 0o755); err != nil {
		return err
	}
	f, err := s.root.OpenFile(path.Join(bucket, "created"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		err = f.Close()
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	s.index(bucket).made.Store(true)
	return nil
}

// Put implements storage.Store; the bucket is created on first upload.
func (s *Store) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error {
	_, err := s.PutObject(ctx, bucket, key, r, size, contentType)
	return err
}

// PutObject is Put returning the stored object's metadata.
func (s *Store) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (storage.ObjectInfo, error) {
	if err := checkNames(bucket, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := s.makeBucket(bucket); err != nil {
		return storage.ObjectInfo{}, err
	}
	meta := &fileMeta{Key: key, ContentType: contentType}
	tmp, err := s.writeTemp(ctx, bucket, r, size, storage.MaxPutSize, meta)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := s.commit(bucket, tmp, meta); err != nil {
		return storage.ObjectInfo{}, err
	}
	return meta.info(), nil
}

// writeTemp writes content from r (size bytes, or up to maxSize if size is -1) and
// meta's footer to a new temp file of bucket, and returns its name. meta gets the size,
// checksums, time and, unless set, the content MD5 as ETag.
func (s *Store) writeTemp(ctx context.Context, bucket string, r io.Reader, size, maxSize int64, meta *fileMeta) (string, error) {
	if size > maxSize {
		return "", storage.ErrEntityTooLarge()
	}
	if r == nil {
		r = eof{}
	}
	name, f, err := s.createTemp(bucket)
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			s.root.Remove(name)
		}
	}()
	limit := size
	if limit < 0 {
		limit = maxSize
	}
	h := newContentHashes()
	bufSize := int64(256 << 10) // fewer syscalls than io.Copy's 32 KiB
	if size >= 0 {
		bufSize = min(bufSize, max(size+1, 512))
	}
	buf := make([]byte, bufSize)
	n, err := io.CopyBuffer(io.MultiWriter(f, h.w), io.LimitReader(ctxReader{ctx, r}, limit+1), buf)
	if err != nil {
		return "", err
	}
	switch {
	case size >= 0 && n < size:
		return "", storage.ErrIncompleteBody()
	case size >= 0 && n > size:
		return "", storage.New(storage.CodeInvalidRequest, "The body is longer than its declared size %d.", size)
	case n > limit:
		return "", storage.ErrEntityTooLarge()
	}
	meta.Size = n
	meta.Modified = s.now()
	h.fill(meta)
	if err := writeFooter(f, meta); err != nil {
		return "", err
	}
	if !s.opt.NoSync {
		if err := f.Sync(); err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ok = true
	return name, nil
}

func (s *Store) createTemp(bucket string) (string, *os.File, error) {
	for retried := false; ; {
		var b [12]byte
		rand.Read(b[:])
		name := path.Join(bucket, "t", hex.EncodeToString(b[:]))
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) && !retried {
			retried = true
			s.index(bucket).made.Store(false)
			if err := s.makeBucket(bucket); err != nil {
				return "", nil, err
			}
			continue
		}
		return name, f, err
	}
}

// commit renames a finished temp file over the object's path and updates the index.
func (s *Store) commit(bucket, tmp string, meta *fileMeta) error {
	dst := objectPath(bucket, meta.Key)
	if err := s.root.MkdirAll(path.Dir(dst), 0o755); err != nil {
		s.root.Remove(tmp)
		return err
	}
	idx := s.index(bucket)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if err := s.root.Rename(tmp, dst); err != nil {
		s.root.Remove(tmp)
		return err
	}
	s.syncDir(path.Dir(dst))
	idx.put(meta.info())
	return nil
}

// syncDir makes a rename in dir durable.
func (s *Store) syncDir(dir string) {
	if s.opt.NoSync {
		return
	}
	if d, err := s.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// open opens key's file and reads its metadata.
func (s *Store) open(bucket, key string) (*os.File, *fileMeta, error) {
	if err := checkNames(bucket, key); err != nil {
		return nil, nil, err
	}
	if err := s.needBucket(bucket); err != nil {
		return nil, nil, err
	}
	f, err := s.root.Open(objectPath(bucket, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, storage.ErrNoSuchKey()
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := readMeta(f)
	if err == nil && m.Key != key {
		err = fmt.Errorf("embedded: %s holds another key", objectPath(bucket, key))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, m, nil
}

// Get implements storage.Store. The reader also implements io.Seeker and io.ReaderAt.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	f, m, err := s.open(bucket, key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return &objectReader{io.NewSectionReader(f, 0, m.Size), f}, m.info(), nil
}

// Head implements storage.Store.
func (s *Store) Head(ctx context.Context, bucket, key string) (storage.ObjectInfo, error) {
	f, m, err := s.open(bucket, key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	f.Close()
	return m.info(), nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	if err := s.needBucket(bucket); err != nil {
		return err
	}
	idx := s.index(bucket)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	err := s.root.Remove(objectPath(bucket, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	idx.remove(key)
	return nil
}

func checkNames(bucket, key string) error {
	if err := storage.CheckBucket(bucket); err != nil {
		return err
	}
	return storage.CheckKey(key)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
