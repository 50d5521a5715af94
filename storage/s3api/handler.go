package s3api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// Backend is what the handler serves: a storage.Store with buckets and multipart
// uploads. embedded.Store is one.
type Backend interface {
	storage.Store
	// PutObject is Put returning the stored object's metadata.
	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (storage.ObjectInfo, error)
	ListBuckets(ctx context.Context) ([]storage.BucketInfo, error)
	CreateBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) error
	DeleteBucket(ctx context.Context, bucket string) error
	CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (uploadID string, err error)
	UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, size int64) (storage.ObjectInfo, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []storage.CompletedPart) (storage.ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
}

// Config of a Handler.
type Config struct {
	// Prefix is the path the handler is mounted at, without a trailing slash:
	// "/storage" on the emulator's listener, "" for a listener of its own.
	Prefix string
	// Region is reported by GetBucketLocation and HeadBucket; "" means "us-east-1".
	Region string
	// MaxObjectSize caps one PutObject or UploadPart body; 0 means storage.MaxPutSize.
	MaxObjectSize int64
	// MaxXMLSize caps XML request bodies (CompleteMultipartUpload, DeleteObjects);
	// 0 means 4 MiB, enough for 10000 parts.
	MaxXMLSize int64
	// Logger gets one debug line per request and the internal errors; nil is silent.
	Logger *slog.Logger
}

// Handler serves the S3 API over a Backend.
type Handler struct {
	b   Backend
	cfg Config
	log *slog.Logger
}

// New returns a Handler for b.
func New(b Backend, cfg Config) *Handler {
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = storage.MaxPutSize
	}
	if cfg.MaxXMLSize <= 0 {
		cfg.MaxXMLSize = 4 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{b: b, cfg: cfg, log: log}
}

// Match reports whether r is addressed to the store: a virtual-hosted bucket Host, or a
// path equal to or under the prefix.
func (h *Handler) Match(r *http.Request) bool {
	if _, ok := hostBucket(r.Host); ok {
		return true
	}
	_, ok := h.trimPrefix(r.URL.EscapedPath())
	return ok
}

func (h *Handler) trimPrefix(p string) (string, bool) {
	if h.cfg.Prefix == "" {
		return p, strings.HasPrefix(p, "/")
	}
	rest, ok := strings.CutPrefix(p, h.cfg.Prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}

// call is one request being served.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	id        string
	op        string
	bucket    string
	key       string
	status    int
	principal principal
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b [8]byte
	rand.Read(b[:])
	c := &call{w: w, r: r, id: strings.ToUpper(hex.EncodeToString(b[:])), principal: parseAuth(r)}
	hd := w.Header()
	hd.Set("x-amz-request-id", c.id)
	hd.Set("x-amz-id-2", c.id)
	hd.Set("x-cos-request-id", c.id)
	hd.Set("Server", "trtc-emulator")
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("s3api: panic", "panic", p, "method", r.Method, "uri", r.RequestURI)
			h.fail(c, fmt.Errorf("panic: %v", p))
		}
		h.log.Debug("s3api", "op", c.op, "method", r.Method, "bucket", c.bucket, "key", c.key,
			"status", c.status, "access_key", c.principal.AccessKey, "auth", c.principal.Scheme, "request_id", c.id)
	}()
	rt, err := h.route(r)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.op, c.bucket, c.key = rt.op, rt.bucket, rt.key
	if rt.serve == nil {
		h.fail(c, storage.New(storage.CodeNotImplemented, "A header you provided implies functionality that is not implemented."))
		return
	}
	rt.serve(h, c)
}

// route names the operation a request asks for.
type route struct {
	op          string
	bucket, key string
	serve       func(*Handler, *call)
}

// Sub-resources of S3 the emulator does not offer; a request naming one is 501, not
// mistaken for a plain GET or PUT.
var unsupported = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true,
	"encryption": true, "intelligent-tiering": true, "inventory": true, "legal-hold": true,
	"lifecycle": true, "logging": true, "metrics": true, "notification": true,
	"object-lock": true, "ownershipControls": true, "policy": true, "policyStatus": true,
	"publicAccessBlock": true, "replication": true, "requestPayment": true, "restore": true,
	"retention": true, "select": true, "tagging": true, "torrent": true, "versionId": true,
	"versioning": true, "versions": true, "website": true, "symlink": true, "append": true,
	"referer": true, "domain": true, "origin": true, "inventory-configuration": true,
}

func (h *Handler) route(r *http.Request) (route, error) {
	var rt route
	p := r.URL.EscapedPath()
	if b, ok := hostBucket(r.Host); ok {
		rt.bucket = b
		key, err := unescapeKey(strings.TrimPrefix(p, "/"))
		if err != nil {
			return rt, err
		}
		rt.key = key
	} else {
		rest, ok := h.trimPrefix(p)
		if !ok {
			return rt, storage.New(storage.CodeInvalidRequest, "The request path is not under the object store's prefix %q.", h.cfg.Prefix)
		}
		rest = strings.TrimPrefix(rest, "/")
		seg, keyPart, _ := strings.Cut(rest, "/")
		b, err := unescapeKey(seg)
		if err != nil {
			return rt, err
		}
		rt.bucket = b
		if rt.key, err = unescapeKey(keyPart); err != nil {
			return rt, err
		}
	}
	if rt.bucket != "" || rt.key != "" {
		if err := storage.CheckBucket(rt.bucket); err != nil {
			return rt, err
		}
	}
	if rt.key != "" {
		if err := storage.CheckKey(rt.key); err != nil {
			return rt, err
		}
	}
	q := r.URL.Query()
	for name := range q {
		if unsupported[name] {
			rt.op = "Unsupported:" + name
			return rt, nil
		}
	}
	has := func(name string) bool { _, ok := q[name]; return ok }
	copySource := r.Header.Get("x-amz-copy-source") != "" || r.Header.Get("x-cos-copy-source") != ""
	set := func(op string, f func(*Handler, *call)) (route, error) {
		rt.op, rt.serve = op, f
		return rt, nil
	}
	switch {
	case rt.bucket == "":
		if r.Method == http.MethodGet {
			return set("ListBuckets", (*Handler).listBuckets)
		}
	case rt.key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case has("location"):
				return set("GetBucketLocation", (*Handler).getBucketLocation)
			case has("uploads"):
				return set("ListMultipartUploads", nil)
			case q.Get("list-type") == "2":
				return set("ListObjectsV2", (*Handler).listObjectsV2)
			default:
				return set("ListObjects", (*Handler).listObjectsV1)
			}
		case http.MethodHead:
			return set("HeadBucket", (*Handler).headBucket)
		case http.MethodPut:
			return set("CreateBucket", (*Handler).createBucket)
		case http.MethodDelete:
			return set("DeleteBucket", (*Handler).deleteBucket)
		case http.MethodPost:
			if has("delete") {
				return set("DeleteObjects", (*Handler).deleteObjects)
			}
			return set("PostBucket", nil)
		}
	default:
		switch r.Method {
		case http.MethodGet:
			if has("uploadId") {
				return set("ListParts", nil)
			}
			return set("GetObject", (*Handler).getObject)
		case http.MethodHead:
			return set("HeadObject", (*Handler).headObject)
		case http.MethodPut:
			switch {
			case copySource && has("uploadId"):
				return set("UploadPartCopy", nil)
			case copySource:
				return set("CopyObject", nil)
			case has("uploadId") || has("partNumber"):
				return set("UploadPart", (*Handler).uploadPart)
			default:
				return set("PutObject", (*Handler).putObject)
			}
		case http.MethodDelete:
			if has("uploadId") {
				return set("AbortMultipartUpload", (*Handler).abortMultipartUpload)
			}
			return set("DeleteObject", (*Handler).deleteObject)
		case http.MethodPost:
			switch {
			case has("uploads"):
				return set("CreateMultipartUpload", (*Handler).createMultipartUpload)
			case has("uploadId"):
				return set("CompleteMultipartUpload", (*Handler).completeMultipartUpload)
			}
			return set("PostObject", nil)
		}
	}
	rt.op = "MethodNotAllowed"
	return rt, storage.New(storage.CodeMethodNotAllowed, "The specified method is not allowed against this resource.")
}

// unescapeKey decodes a path part; "%zz" is a 400, not a 500.
func unescapeKey(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	k, err := url.PathUnescape(s)
	if err != nil {
		return "", storage.New(storage.CodeInvalidArgument, "The request path is not validly percent-encoded.")
	}
	return k, nil
}

// hostBucket finds the bucket in a virtual-hosted Host header.
func hostBucket(host string) (string, bool) {
	host = strings.ToLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	for _, suffix := range []string{".localhost", ".amazonaws.com", ".myqcloud.com", ".tencentcos.cn"} {
		rest, ok := strings.CutSuffix(host, suffix)
		if !ok {
			continue
		}
		bucket, service, _ := strings.Cut(rest, ".")
		switch {
		case suffix == ".localhost":
			if service != "" {
				return "", false
			}
		case suffix == ".amazonaws.com":
			if service != "s3" && !strings.HasPrefix(service, "s3.") && !strings.HasPrefix(service, "s3-") {
				return "", false
			}
		default:
			if !strings.HasPrefix(service, "cos.") {
				return "", false
			}
		}
		if storage.CheckBucket(bucket) != nil {
			return "", false
		}
		return bucket, true
	}
	return "", false
}
