package s3api

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

var errBodyTooLarge = errors.New("s3api: body larger than allowed")

// checksum algorithms of x-amz-checksum-*, each as S3 names it in messages.
var checksums = []struct {
	header string
	name   string
	new    func() hash.Hash
}{
	{"x-amz-checksum-crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"x-amz-checksum-crc32c", "CRC32C", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{"x-amz-checksum-crc64nvme", "CRC64NVME", func() hash.Hash { return crc64.New(crc64NVME) }},
	{"x-amz-checksum-sha1", "SHA1", func() hash.Hash { return sha1.New() }},
	{"x-amz-checksum-sha256", "SHA256", func() hash.Hash { return sha256.New() }},
}

// crc64NVME is the CRC-64/NVME polynomial (0xad93d23594c93659), bit-reversed as Go wants.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// body is a request's decoded content.
type body struct {
	io.Reader
	size int64 // -1 when unknown (HTTP chunked transfer without aws-chunked)
	v    *verifier
}

// readBody prepares the content of a PUT: it undoes aws-chunked encoding and verifies
// Content-MD5, x-amz-checksum-* (as headers or aws-chunked trailers) and a hex
// x-amz-content-sha256 when the content ends; a mismatch is a read error, so the
// backend never commits the object.
func readBody(r *http.Request, max int64) (*body, error) {
	hd := r.Header
	sha := hd.Get("x-amz-content-sha256")
	chunked := strings.HasPrefix(sha, "STREAMING-") || hasToken(hd.Get("Content-Encoding"), "aws-chunked")
	b := &body{Reader: r.Body, size: r.ContentLength}
	if chunked {
		dl := hd.Get("x-amz-decoded-content-length")
		if dl == "" {
			return nil, storage.New(storage.CodeMissingContentLength, "You must provide the Content-Length HTTP header.")
		}
		n, err := strconv.ParseInt(dl, 10, 64)
		if err != nil || n < 0 {
			return nil, storage.New(storage.CodeInvalidArgument, "x-amz-decoded-content-length is not a valid length.")
		}
		b.size = n
	}
	if b.size > max {
		return nil, storage.ErrEntityTooLarge()
	}
	v, err := newVerifier(hd, chunked)
	if err != nil {
		return nil, err
	}
	var src io.Reader = r.Body
	var cr *chunkReader
	if chunked {
		cr = &chunkReader{r: bufio.NewReaderSize(r.Body, 64<<10), left: -1}
		src = cr
	}
	vr := &verifyingReader{r: src, cr: cr, v: v, left: max, tooLong: errBodyTooLarge}
	if b.size >= 0 {
		vr.left = b.size
		vr.tooLong = storage.New(storage.CodeIncompleteBody, "The body is longer than its declared length %d.", b.size)
	}
	b.v = v
	b.Reader = vr
	return b, nil
}

func hasToken(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// verifier computes the digests the client declared and compares them at the end.
type verifier struct {
	md5        hash.Hash
	wantMD5    []byte
	sha256     hash.Hash
	wantSHA256 []byte
	sums       []declaredSum
	w          io.Writer
}

type declaredSum struct {
	header, name string
	h            hash.Hash
	want         string // base64; "" until a trailer gives it
	trailer      bool
}

func newVerifier(hd http.Header, chunked bool) (*verifier, error) {
	v := &verifier{}
	var ws []io.Writer
	if s := hd.Get("Content-MD5"); s != "" {
		want, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(want) != md5.Size {
			return nil, storage.New(storage.CodeInvalidDigest, "The Content-MD5 you specified is not valid.")
		}
		v.md5, v.wantMD5 = md5.New(), want
		ws = append(ws, v.md5)
	}
	// The SigV4 payload hash is checked only when nothing cheaper covers the content:
	// aws-sdk-go-v2 sends it beside a CRC32 over plain HTTP, and SHA-256 would double
	// the server's hashing.
	covered := hd.Get("Content-MD5") != ""
	for _, c := range checksums {
		covered = covered || hd.Get(c.header) != ""
	}
	if s := hd.Get("x-amz-content-sha256"); !chunked && !covered && len(s) == 64 {
		want, err := hex.DecodeString(s)
		if err != nil {
			return nil, storage.New(storage.CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a hex SHA-256.")
		}
		v.sha256, v.wantSHA256 = sha256.New(), want
		ws = append(ws, v.sha256)
	}
	trailers := map[string]bool{}
	if chunked {
		for _, t := range strings.Split(hd.Get("x-amz-trailer"), ",") {
			trailers[strings.ToLower(strings.TrimSpace(t))] = true
		}
	}
	for _, c := range checksums {
		want := hd.Get(c.header)
		if want == "" && !trailers[c.header] {
			continue
		}
		d := declaredSum{header: c.header, name: c.name, h: c.new(), want: want, trailer: want == ""}
		if want != "" && !validSum(want, d.h.Size()) {
			return nil, storage.New(storage.CodeInvalidRequest, "Value for %s header is invalid.", c.header)
		}
		v.sums = append(v.sums, d)
		ws = append(ws, d.h)
	}
	v.w = io.MultiWriter(ws...)
	return v, nil
}

func validSum(b64 string, size int) bool {
	b, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(b) == size
}

// check compares the digests once the content is complete.
func (v *verifier) check(trailers map[string]string) error {
	if v.md5 != nil && !bytes.Equal(v.md5.Sum(nil), v.wantMD5) {
		return storage.New(storage.CodeBadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	if v.sha256 != nil && !bytes.Equal(v.sha256.Sum(nil), v.wantSHA256) {
		return storage.New(storage.CodeSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	for i := range v.sums {
		d := &v.sums[i]
		if d.trailer {
			d.want = trailers[d.header]
			if d.want == "" {
				return storage.New(storage.CodeInvalidRequest, "The trailer %s was declared but not sent.", d.header)
			}
		}
		if base64.StdEncoding.EncodeToString(d.h.Sum(nil)) != d.want {
			return storage.New(storage.CodeBadDigest, "The %s you specified did not match the calculated checksum.", d.name)
		}
	}
	return nil
}

// responseHeaders echoes the verified checksums, as S3 does.
func (v *verifier) responseHeaders(hd http.Header) {
	for _, d := range v.sums {
		hd.Set(d.header, d.want)
	}
}

// verifyingReader feeds the content to the verifier and turns a mismatch into the
// error of the read that reaches the end.
type verifyingReader struct {
	r       io.Reader
	cr      *chunkReader
	v       *verifier
	left    int64 // bytes still allowed; a longer body is refused with tooLong
	tooLong error
	done    bool
	err     error
}

func (vr *verifyingReader) Read(p []byte) (int, error) {
	if vr.done {
		return 0, vr.err
	}
	if int64(len(p)) > vr.left+1 {
		p = p[:vr.left+1]
	}
	n, err := vr.r.Read(p)
	if int64(n) > vr.left {
		vr.done, vr.err = true, vr.tooLong
		return 0, vr.err
	}
	vr.left -= int64(n)
	vr.v.w.Write(p[:n])
	if err == io.EOF {
		var trailers map[string]string
		if vr.cr != nil {
			trailers = vr.cr.trailers
		}
		if cerr := vr.v.check(trailers); cerr != nil {
			vr.done, vr.err = true, cerr
			return n, nil // the next Read reports the mismatch, before any commit
		}
		vr.done, vr.err = true, io.EOF
	} else if err != nil {
		if _, ok := storage.As(err); !ok {
			// the client sent less than it announced, or went away
			err = storage.New(storage.CodeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		}
		vr.done, vr.err = true, err
	}
	return n, err
}

// chunkReader decodes aws-chunked content:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;…]\r\n[<trailer>:<value>\r\n…]\r\n
//
// Chunk signatures are not checked (see the package doc on authentication).
type chunkReader struct {
	r        *bufio.Reader
	left     int64 // bytes left in the current chunk; -1 before a chunk header
	eof      bool
	trailers map[string]string
}

func malformedChunk(why string) error {
	return storage.New(storage.CodeIncompleteBody, "The aws-chunked body is malformed: %s.", why)
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if c.eof {
			return 0, io.EOF
		}
		if c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.r.Read(p)
			c.left -= int64(n)
			if err == io.EOF {
				return n, malformedChunk("the body ends inside a chunk")
			}
			if c.left == 0 {
				if err := c.crlf(); err != nil {
					return n, err
				}
				c.left = -1
			}
			return n, err
		}
		line, err := c.line()
		if err != nil {
			return 0, err
		}
		sizeStr, _, _ := strings.Cut(line, ";")
		size, perr := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
		if perr != nil || size < 0 {
			return 0, malformedChunk("a chunk size is not hexadecimal")
		}
		if size == 0 {
			return 0, c.readTrailers()
		}
		c.left = size
	}
}

func (c *chunkReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return malformedChunk("a chunk does not end with CRLF")
	}
	return nil
}

// line reads one CRLF-terminated line of at most 4 KiB.
func (c *chunkReader) line() (string, error) {
	var b []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > 4096 {
			return "", malformedChunk("a chunk header is too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(b) == 0 {
			return "", io.EOF
		}
		if err != nil {
			return "", malformedChunk("the body ends inside a chunk header")
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

func (c *chunkReader) readTrailers() error {
	c.trailers = map[string]string{}
	for i := 0; ; i++ {
		line, err := c.line()
		if err == io.EOF || (err == nil && line == "") {
			c.eof = true
			return io.EOF
		}
		if err != nil {
			return err
		}
		if i == 64 {
			return malformedChunk("too many trailers")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return malformedChunk("a trailer has no colon")
		}
		c.trailers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
}

// answerStored answers the upload of an object or a part: its ETag, the checksums the
// client sent (aws-sdk-go-v2 compares them) and COS's CRC-64 (cos-go-sdk-v5 insists on it).
func answerStored(c *call, info storage.ObjectInfo, b *body) {
	hd := c.w.Header()
	hd.Set("ETag", quoteETag(info.ETag))
	b.v.responseHeaders(hd)
	if info.Checksums.CRC64ECMA != "" {
		hd.Set("x-cos-hash-crc64ecma", info.Checksums.CRC64ECMA)
	}
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
}
