package embedded

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// uploadMeta is an unfinished multipart upload.
type uploadMeta struct {
	Key         string    `json:"key"`
	ContentType string    `json:"type,omitempty"`
	Initiated   time.Time `json:"initiated"`
}

func uploadDir(bucket, id string) string { return path.Join(bucket, "u", id) }

func partPath(bucket, id string, n int) string {
	return path.Join(uploadDir(bucket, id), strconv.Itoa(n))
}

// CreateMultipartUpload starts an upload of key and returns its id; the bucket is
// created if needed.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (string, error) {
	if err := checkNames(bucket, key); err != nil {
		return "", err
	}
	if err := s.makeBucket(bucket); err != nil {
		return "", err
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	dir := uploadDir(bucket, id)
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	meta, err := json.Marshal(uploadMeta{Key: key, ContentType: contentType, Initiated: s.now()})
	if err != nil {
		return "", err
	}
	tmp, f, err := s.createTemp(bucket)
	if err != nil {
		return "", err
	}
	_, err = f.Write(meta)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, path.Join(dir, "upload"))
	}
	if err != nil {
		s.root.Remove(tmp)
		s.root.RemoveAll(dir)
		return "", err
	}
	return id, nil
}

// upload reads an upload's metadata; NoSuchUpload unless id names an upload of key.
func (s *Store) upload(bucket, key, id string) (*uploadMeta, error) {
	if err := checkNames(bucket, key); err != nil {
		return nil, err
	}
	if err := s.needBucket(bucket); err != nil {
		return nil, err
	}
	if !isHex(id, 32) {
		return nil, storage.ErrNoSuchUpload()
	}
	b, err := s.root.ReadFile(path.Join(uploadDir(bucket, id), "upload"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, storage.ErrNoSuchUpload()
	}
	if err != nil {
		return nil, err
	}
	var m uploadMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("embedded: upload %s: %w", id, err)
	}
	if m.Key != key {
		return nil, storage.ErrNoSuchUpload()
	}
	return &m, nil
}

// UploadPart stores part n (1 to 10000) of an upload and returns its ETag (hex MD5).
// Uploading a part number again replaces the part.
func (s *Store) UploadPart(ctx context.Context, bucket, key, id string, n int, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if _, err := s.upload(bucket, key, id); err != nil {
		return storage.ObjectInfo{}, err
	}
	if n < 1 || n > storage.MaxPartNumber {
		return storage.ObjectInfo{}, storage.New(storage.CodeInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	meta := &fileMeta{Part: n}
	tmp, err := s.writeTemp(ctx, bucket, r, size, storage.MaxPutSize, meta)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := s.root.Rename(tmp, partPath(bucket, id, n)); err != nil {
		s.root.Remove(tmp)
		if errors.Is(err, fs.ErrNotExist) { // aborted or completed meanwhile
			return storage.ObjectInfo{}, storage.ErrNoSuchUpload()
		}
		return storage.ObjectInfo{}, err
	}
	return meta.info(), nil
}

// CompleteMultipartUpload joins the listed parts, in ascending part order, into the
// object. Every part but the last must be at least Options.MinPartSize.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, id string, parts []storage.CompletedPart) (storage.ObjectInfo, error) {
	up, err := s.upload(bucket, key, id)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if len(parts) == 0 {
		return storage.ObjectInfo{}, storage.New(storage.CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	if len(parts) > storage.MaxPartNumber {
		return storage.ObjectInfo{}, storage.New(storage.CodeInvalidArgument, "Too many parts.")
	}
	files := make([]*os.File, 0, len(parts))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	etags := md5.New()
	var total int64
	var sizes []int64
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return storage.ObjectInfo{}, storage.New(storage.CodeInvalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		invalid := storage.New(storage.CodeInvalidPart, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
		if p.Number < 1 || p.Number > storage.MaxPartNumber {
			return storage.ObjectInfo{}, invalid
		}
		f, err := s.root.Open(partPath(bucket, id, p.Number))
		if errors.Is(err, fs.ErrNotExist) {
			return storage.ObjectInfo{}, invalid
		}
		if err != nil {
			return storage.ObjectInfo{}, err
		}
		files = append(files, f)
		m, err := readMeta(f)
		if err != nil {
			return storage.ObjectInfo{}, err
		}
		if !strings.EqualFold(strings.Trim(p.ETag, `"`), m.ETag) {
			return storage.ObjectInfo{}, invalid
		}
		sum, _ := hex.DecodeString(m.ETag)
		etags.Write(sum)
		total += m.Size
		sizes = append(sizes, m.Size)
	}
	for _, n := range sizes[:len(sizes)-1] {
		if n < s.opt.MinPartSize {
			return storage.ObjectInfo{}, storage.New(storage.CodeEntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.")
		}
	}
	if total > storage.MaxObjectSize {
		return storage.ObjectInfo{}, storage.ErrEntityTooLarge()
	}

	// S3 reports the multipart form of ETag: MD5 of the parts' MD5s, dash, part count.
	meta := &fileMeta{Key: key, ContentType: up.ContentType, ETag: fmt.Sprintf("%x-%d", etags.Sum(nil), len(parts))}
	readers := make([]io.Reader, len(files))
	for i, f := range files {
		readers[i] = io.NewSectionReader(f, 0, sizes[i])
	}
	tmp, err := s.writeTemp(ctx, bucket, io.MultiReader(readers...), total, storage.MaxObjectSize, meta)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if _, err := s.root.Stat(path.Join(uploadDir(bucket, id), "upload")); err != nil {
		s.root.Remove(tmp)
		return storage.ObjectInfo{}, storage.ErrNoSuchUpload()
	}
	if err := s.commit(bucket, tmp, meta); err != nil {
		return storage.ObjectInfo{}, err
	}
	s.root.RemoveAll(uploadDir(bucket, id))
	return meta.info(), nil
}

// AbortMultipartUpload discards an upload and its parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, id string) error {
	if _, err := s.upload(bucket, key, id); err != nil {
		return err
	}
	return s.root.RemoveAll(uploadDir(bucket, id))
}

// AbortStaleUploads discards the multipart uploads initiated before cutoff and never
// completed or aborted, with their parts (S3's lifecycle rule
// AbortIncompleteMultipartUpload), and returns how many it discarded.
func (s *Store) AbortStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	buckets, err := s.ListBuckets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range buckets {
		uploads, err := s.readDir(path.Join(b.Name, "u"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		for _, u := range uploads {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			if !u.IsDir() || !isHex(u.Name(), 32) {
				continue
			}
			dir := uploadDir(b.Name, u.Name())
			raw, err := s.root.ReadFile(path.Join(dir, "upload"))
			var m uploadMeta
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// Created without its metadata (a crash in CreateMultipartUpload): age by the directory.
				st, serr := s.root.Lstat(dir)
				if serr != nil {
					continue
				}
				m.Initiated = st.ModTime()
			case err != nil:
				return n, err
			default:
				if json.Unmarshal(raw, &m) != nil {
					continue // not ours to judge
				}
			}
			if m.Initiated.Before(cutoff) {
				if err := s.root.RemoveAll(dir); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, nil
}
