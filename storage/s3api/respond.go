package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// status is the HTTP status S3 answers each code with.
var status = map[string]int{
	storage.CodeAccessDenied:         http.StatusForbidden,
	storage.CodeBadDigest:            http.StatusBadRequest,
	storage.CodeBucketNotEmpty:       http.StatusConflict,
	storage.CodeEntityTooLarge:       http.StatusBadRequest,
	storage.CodeEntityTooSmall:       http.StatusBadRequest,
	storage.CodeIncompleteBody:       http.StatusBadRequest,
	storage.CodeInternalError:        http.StatusInternalServerError,
	storage.CodeInvalidArgument:      http.StatusBadRequest,
	storage.CodeInvalidBucketName:    http.StatusBadRequest,
	storage.CodeInvalidDigest:        http.StatusBadRequest,
	storage.CodeInvalidObjectName:    http.StatusBadRequest,
	storage.CodeInvalidPart:          http.StatusBadRequest,
	storage.CodeInvalidPartOrder:     http.StatusBadRequest,
	storage.CodeInvalidRange:         http.StatusRequestedRangeNotSatisfiable,
	storage.CodeInvalidRequest:       http.StatusBadRequest,
	storage.CodeKeyTooLong:           http.StatusBadRequest,
	storage.CodeMalformedXML:         http.StatusBadRequest,
	storage.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	storage.CodeMissingContentLength: http.StatusLengthRequired,
	storage.CodeNoSuchBucket:         http.StatusNotFound,
	storage.CodeNoSuchKey:            http.StatusNotFound,
	storage.CodeNoSuchUpload:         http.StatusNotFound,
	storage.CodeNotImplemented:       http.StatusNotImplemented,
	storage.CodePreconditionFailed:   http.StatusPreconditionFailed,
	storage.CodeRequestTimeout:       http.StatusBadRequest,
	storage.CodeSHA256Mismatch:       http.StatusBadRequest,
	storage.CodeServiceUnavailable:   http.StatusServiceUnavailable,
	storage.CodeSlowDown:             http.StatusServiceUnavailable,
}

type errorDoc struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Key        string `xml:",omitempty"`
	BucketName string `xml:",omitempty"`
	Resource   string
	RequestId  string
	HostId     string
}

// fail answers with err: its S3 code and status if it is a *storage.Error, else 500
// InternalError (and the error is logged, not shown).
func (h *Handler) fail(c *call, err error) {
	e, ok := storage.As(err)
	if !ok {
		if errors.Is(err, errBodyTooLarge) {
			e = storage.ErrEntityTooLarge()
		} else if c.r.Context().Err() != nil {
			e = storage.New(storage.CodeRequestTimeout, "Your socket connection to the server was not read from or written to within the timeout period.")
		} else {
			h.log.Error("s3api: internal error", "op", c.op, "bucket", c.bucket, "key", c.key, "err", err)
			e = storage.New(storage.CodeInternalError, "We encountered an internal error. Please try again.")
		}
	}
	st, ok := status[e.Code]
	if !ok {
		st = http.StatusBadRequest
	}
	doc := errorDoc{Code: e.Code, Message: e.Message, Resource: c.r.URL.Path, RequestId: c.id, HostId: c.id}
	switch e.Code {
	case storage.CodeNoSuchKey:
		doc.Key = c.key
	case storage.CodeNoSuchBucket:
		doc.BucketName = c.bucket
	}
	hd := c.w.Header()
	for _, name := range []string{"ETag", "Last-Modified", "Content-Range", "Accept-Ranges", "Content-Length"} {
		hd.Del(name)
	}
	if c.r.Method == http.MethodHead {
		// HEAD answers carry no body; S3 sends the status alone.
		c.status = st
		c.w.WriteHeader(st)
		return
	}
	h.writeXML(c, st, doc)
}

func (h *Handler) writeXML(c *call, st int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		h.log.Error("s3api: encoding a response", "op", c.op, "err", err)
		st = http.StatusInternalServerError
		b = []byte("<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>")
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.status = st
	c.w.WriteHeader(st)
	c.w.Write([]byte(xml.Header))
	c.w.Write(b)
}

// s3Time is the time format of S3's XML.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func quoteETag(etag string) string { return `"` + etag + `"` }

// owner is the one account of the emulator, as listings name it.
type owner struct {
	ID          string
	DisplayName string
}

var theOwner = owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "trtc-emulator"}

// encodeKey is S3's encoding-type=url: the query encoding, with '/' kept.
func encodeKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
