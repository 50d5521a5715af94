// Package parts cuts an upload's content into the parts of a multipart upload, for the
// uploaders (s3up, cosup): one buffer, reused; the declared size enforced.
package parts

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// Splitter reads content of a declared size (-1 if unknown) in parts of at most
// partSize bytes.
type Splitter struct {
	r        *bufio.Reader
	declared int64
	buf      []byte
	read     int64
	done     bool
}

// New returns a Splitter; partSize must be positive. A nil r is empty.
func New(r io.Reader, declared, partSize int64) *Splitter {
	if r == nil {
		r = eof{}
	}
	n := partSize
	if declared >= 0 && declared < n {
		n = declared
	}
	return &Splitter{r: bufio.NewReader(r), declared: declared, buf: make([]byte, n, max(n, 1))}
}

// Next returns the next part (valid until the next call) or io.EOF after the last one.
// Content shorter than declared is storage's IncompleteBody, longer is InvalidRequest,
// and a failing reader's error is returned wrapped.
func (s *Splitter) Next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	want := int64(cap(s.buf))
	if s.declared >= 0 {
		want = min(want, s.declared-s.read)
	}
	n, err := io.ReadFull(s.r, s.buf[:want])
	s.read += int64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if s.declared >= 0 {
			return nil, storage.ErrIncompleteBody()
		}
		s.done = true
		return s.buf[:n], nil
	default:
		return nil, fmt.Errorf("reading the content: %w", err)
	}
	// Is there more? A full buffer may be the end of the content.
	_, err = s.r.Peek(1)
	switch {
	case err == nil:
		if s.declared >= 0 && s.read == s.declared {
			return nil, storage.New(storage.CodeInvalidRequest, "The body is longer than its declared size %d.", s.declared)
		}
	case errors.Is(err, io.EOF):
		if s.declared >= 0 && s.read < s.declared {
			return nil, storage.ErrIncompleteBody()
		}
		s.done = true
	default:
		return nil, fmt.Errorf("reading the content: %w", err)
	}
	return s.buf[:n], nil
}

// Done reports whether the content has been read to its end.
func (s *Splitter) Done() bool { return s.done }

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
