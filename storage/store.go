package storage

import (
	"context"
	"io"
	"time"
)

// Store is what a writer of recordings needs from an object store. Every backend passes
// storagetest.Run; errors the service answered are *Error values.
type Store interface {
	// Put stores size bytes read from r under bucket/key, replacing any object there.
	// size is -1 when unknown. Nothing is visible under key until Put returns nil; if r
	// fails, Put returns r's error (wrapped) and the previous object, if any, stays.
	Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object; the caller closes the reader.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
	// Head returns the object's metadata.
	Head(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, bucket, key string) error
	// List returns up to max objects whose keys start with prefix and sort (bytewise)
	// after startAfter, in key order, and whether more follow. max ≤ 0 means 1000; a
	// backend may return fewer (S3 and COS at most 1000), so page on the bool.
	List(ctx context.Context, bucket, prefix, startAfter string, max int) ([]ObjectInfo, bool, error)
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// ETag is the hex MD5 of the content for objects stored in one piece, and
	// "<hex MD5 of the parts' MD5s>-<part count>" for multipart ones, without quotes.
	ETag         string
	ContentType  string
	LastModified time.Time
	Checksums    Checksums
}

// Checksums of the whole object, in the forms the services' headers use; empty when the
// backend does not know them.
type Checksums struct {
	CRC32     string // base64 of the big-endian IEEE CRC-32 (x-amz-checksum-crc32)
	CRC64ECMA string // decimal CRC-64/XZ, ECMA polynomial (COS's x-cos-hash-crc64ecma)
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string
	Created time.Time
}

// CompletedPart names one part of a multipart upload when completing it.
type CompletedPart struct {
	Number int
	ETag   string // as returned for the part, quotes optional
}

// Limits shared by the backends; S3's own.
const (
	MaxKeyLength   = 1024
	MaxListKeys    = 1000
	MaxObjectSize  = 5 << 40 // 5 TiB, through multipart
	MaxPutSize     = 5 << 30 // 5 GiB in one PUT or one part
	MinPartSize    = 5 << 20 // every part but the last
	MaxPartNumber  = 10000
	DefaultListMax = 1000
)
