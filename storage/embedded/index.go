package embedded

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// bucketIndex is the sorted key list of one bucket. mu also orders renames into the
// bucket with their index updates, so the index never disagrees with the files.
type bucketIndex struct {
	made   atomic.Bool // the bucket's directories exist
	mu     sync.Mutex
	loaded bool
	keys   []string // sorted bytewise
	objs   map[string]storage.ObjectInfo
}

func (s *Store) index(bucket string) *bucketIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.buckets[bucket]
	if idx == nil {
		idx = &bucketIndex{}
		s.buckets[bucket] = idx
	}
	return idx
}

// put records an object; before the first load the files are the truth.
func (x *bucketIndex) put(info storage.ObjectInfo) {
	if !x.loaded {
		return
	}
	if _, ok := x.objs[info.Key]; !ok {
		i, _ := slices.BinarySearch(x.keys, info.Key)
		x.keys = slices.Insert(x.keys, i, info.Key)
	}
	x.objs[info.Key] = info
}

func (x *bucketIndex) remove(key string) {
	if !x.loaded {
		return
	}
	if _, ok := x.objs[key]; !ok {
		return
	}
	delete(x.objs, key)
	if i, found := slices.BinarySearch(x.keys, key); found {
		x.keys = slices.Delete(x.keys, i, i+1)
	}
}

// load reads every object file's metadata. Files that are not regular, are misnamed or
// hold a key that does not hash to their name are not objects and are skipped.
func (s *Store) load(bucket string, x *bucketIndex) error {
	if x.loaded {
		return nil
	}
	objs := map[string]storage.ObjectInfo{}
	shards, err := s.readDir(path.Join(bucket, "o"))
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if !sh.IsDir() || !isHex(sh.Name(), 2) {
			continue
		}
		files, err := s.readDir(path.Join(bucket, "o", sh.Name()))
		if err != nil {
			return err
		}
		for _, fe := range files {
			if !fe.Type().IsRegular() || !isHex(fe.Name(), 64) || !strings.HasPrefix(fe.Name(), sh.Name()) {
				continue
			}
			f, err := s.root.Open(path.Join(bucket, "o", sh.Name(), fe.Name()))
			if err != nil {
				continue // removed meanwhile
			}
			m, err := readMeta(f)
			f.Close()
			if err != nil || keyHash(m.Key) != fe.Name() {
				continue
			}
			objs[m.Key] = m.info()
		}
	}
	x.keys = make([]string, 0, len(objs))
	for k := range objs {
		x.keys = append(x.keys, k)
	}
	slices.Sort(x.keys)
	x.objs = objs
	x.loaded = true
	return nil
}

// readDir lists a directory of the root; a missing one is empty.
func (s *Store) readDir(name string) ([]fs.DirEntry, error) {
	d, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, bucket, prefix, startAfter string, limit int) ([]storage.ObjectInfo, bool, error) {
	if err := storage.CheckBucket(bucket); err != nil {
		return nil, false, err
	}
	if err := s.needBucket(bucket); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		limit = storage.DefaultListMax
	}
	x := s.index(bucket)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := s.load(bucket, x); err != nil {
		return nil, false, err
	}
	from := max(startAfter, prefix)
	i, found := slices.BinarySearch(x.keys, from)
	if found && from == startAfter {
		i++
	}
	var out []storage.ObjectInfo
	for ; i < len(x.keys) && strings.HasPrefix(x.keys[i], prefix); i++ {
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, x.objs[x.keys[i]])
	}
	return out, false, nil
}
