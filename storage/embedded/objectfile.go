package embedded

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// An object file is the content, then the metadata as JSON, then a footer of the
// metadata's length (uint32, big endian) and footerMagic. The content comes first so
// that a file in the data dir is the object itself as far as a media tool cares.
const (
	footerMagic   = "TEO1"
	footerLen     = 8
	maxMetaLength = 16 << 10
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// fileMeta is what an object or part file says about itself.
type fileMeta struct {
	Key         string    `json:"key,omitempty"`
	Part        int       `json:"part,omitempty"`
	Size        int64     `json:"size"`
	ETag        string    `json:"etag"`
	ContentType string    `json:"type,omitempty"`
	Modified    time.Time `json:"mtime"`
	CRC32       string    `json:"crc32,omitempty"`
	CRC64       string    `json:"crc64ecma,omitempty"`
}

func (m *fileMeta) info() storage.ObjectInfo {
	return storage.ObjectInfo{
		Key: m.Key, Size: m.Size, ETag: m.ETag, ContentType: m.ContentType,
		LastModified: m.Modified,
		Checksums:    storage.Checksums{CRC32: m.CRC32, CRC64ECMA: m.CRC64},
	}
}

// keyHash names a key's file: fixed length, hex only, whatever the key holds.
func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// contentHashes accumulates what the metadata records while content is written.
type contentHashes struct {
	md5   hash.Hash
	crc32 hash.Hash32
	crc64 hash.Hash64
	w     io.Writer
}

func newContentHashes() *contentHashes {
	h := &contentHashes{md5: md5.New(), crc32: crc32.NewIEEE(), crc64: crc64.New(crc64Table)}
	h.w = io.MultiWriter(h.md5, h.crc32, h.crc64)
	return h
}

func (h *contentHashes) fill(m *fileMeta) {
	if m.ETag == "" {
		m.ETag = hex.EncodeToString(h.md5.Sum(nil))
	}
	m.CRC32 = base64.StdEncoding.EncodeToString(h.crc32.Sum(nil))
	m.CRC64 = strconv.FormatUint(h.crc64.Sum64(), 10)
}

// writeFooter appends the metadata and footer after the content.
func writeFooter(w io.Writer, m *fileMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var foot [footerLen]byte
	binary.BigEndian.PutUint32(foot[:4], uint32(len(b)))
	copy(foot[4:], footerMagic)
	_, err = w.Write(append(b, foot[:]...))
	return err
}

var errCorrupt = errors.New("embedded: object file has no valid metadata footer")

// readMeta reads the metadata of an open object or part file.
func readMeta(f *os.File) (*fileMeta, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() < footerLen {
		return nil, errCorrupt
	}
	var foot [footerLen]byte
	if _, err := f.ReadAt(foot[:], st.Size()-footerLen); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(foot[:4]))
	if string(foot[4:]) != footerMagic || n > maxMetaLength || n > st.Size()-footerLen {
		return nil, errCorrupt
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, st.Size()-footerLen-n); err != nil {
		return nil, err
	}
	var m fileMeta
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if m.Size != st.Size()-footerLen-n {
		return nil, errCorrupt
	}
	return &m, nil
}

// objectReader reads an object's content from its file.
type objectReader struct {
	*io.SectionReader
	f *os.File
}

func (r *objectReader) Close() error { return r.f.Close() }
