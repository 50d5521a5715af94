package embedded

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// ListBuckets returns the buckets, by name. Entries of the root that are not
// directories (symlinks included) or not valid bucket names are not buckets.
func (s *Store) ListBuckets(ctx context.Context) ([]storage.BucketInfo, error) {
	entries, err := s.readDir(".")
	if err != nil {
		return nil, err
	}
	var out []storage.BucketInfo
	for _, e := range entries {
		if !e.IsDir() || storage.CheckBucket(e.Name()) != nil {
			continue
		}
		b := storage.BucketInfo{Name: e.Name()}
		if st, err := s.root.Lstat(path.Join(e.Name(), "created")); err == nil {
			b.Created = st.ModTime().UTC()
		} else if st, err := e.Info(); err == nil {
			b.Created = st.ModTime().UTC()
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b storage.BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateBucket creates bucket; an existing bucket is not an error.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if err := storage.CheckBucket(bucket); err != nil {
		return err
	}
	return s.makeBucket(bucket)
}

// HeadBucket returns NoSuchBucket unless bucket exists.
func (s *Store) HeadBucket(ctx context.Context, bucket string) error {
	if err := storage.CheckBucket(bucket); err != nil {
		return err
	}
	return s.needBucket(bucket)
}

// DeleteBucket removes an empty bucket (and its unfinished multipart uploads).
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	if err := s.HeadBucket(ctx, bucket); err != nil {
		return err
	}
	x := s.index(bucket)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := s.load(bucket, x); err != nil {
		return err
	}
	if len(x.keys) > 0 {
		return storage.New(storage.CodeBucketNotEmpty, "The bucket you tried to delete is not empty")
	}
	if err := s.root.RemoveAll(bucket); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.buckets, bucket)
	s.mu.Unlock()
	return nil
}
