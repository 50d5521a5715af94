// Package cosup uploads to Tencent Cloud COS, or any endpoint speaking its API (the
// emulator's own /storage), with cos-go-sdk-v5: TRTC's StorageParams Vendor 0. It is a
// storage.Store whose errors are *storage.Error carrying the service's Code and Message;
// an endpoint that never answered is CodeNetworkError.
//
// cos-go-sdk-v5 resolves each request path ("/<key>") against BucketURL, so a path in
// BucketURL is dropped; for a path-style Endpoint the client's transport puts it back
// (PathPrefix). The SDK's own CRC-64 check is replaced by ours, which also accepts
// servers that send no x-cos-hash-crc64ecma.
package cosup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/internal/parts"
)

// Config of a COS uploader.
type Config struct {
	// Endpoint is a path-style base URL, e.g. "http://127.0.0.1:4599/storage", under
	// which "/<bucket>/<key>" is addressed; "" is COS itself:
	// https://<bucket>.cos.<region>.myqcloud.com.
	Endpoint string
	// Region of the bucket (ap-guangzhou…); needed without Endpoint.
	Region string
	// Bucket is used by calls that name no bucket (""); COS names are "<name>-<appid>".
	Bucket              string
	SecretId, SecretKey string
	// PartSize is the largest single PUT and the size of multipart parts; 0 means
	// 16 MiB, and it is at least storage.MinPartSize.
	PartSize int64
	// MaxAttempts per request, retries included; 0 is the SDK's default (3).
	MaxAttempts int
	// Transport is the HTTP transport under the signing one; nil is http.DefaultTransport.
	Transport http.RoundTripper
}

// Store is a COS uploader.
type Store struct {
	cfg Config

	mu      sync.Mutex
	clients map[string]*cos.Client // by bucket
}

var _ storage.Store = (*Store)(nil)

// NewCOS returns the uploader. A bad Config is not reported here but by every call, as
// an InvalidArgument *storage.Error, so it reaches whoever reports upload failures.
func NewCOS(cfg Config) *Store {
	if cfg.PartSize <= 0 {
		cfg.PartSize = 16 << 20
	}
	cfg.PartSize = min(max(cfg.PartSize, storage.MinPartSize), storage.MaxPutSize)
	return &Store{cfg: cfg, clients: map[string]*cos.Client{}}
}

// Client returns the SDK client for bucket ("" is Config.Bucket), configured as the
// Store uses it: for what the Store does not offer, and for tests.
func (s *Store) Client(bucket string) (*cos.Client, error) {
	if bucket == "" {
		bucket = s.cfg.Bucket
	}
	if err := storage.CheckBucket(bucket); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[bucket]; c != nil {
		return c, nil
	}
	var u *url.URL
	next := s.cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	if s.cfg.Endpoint != "" {
		var err error
		u, err = url.Parse(strings.TrimSuffix(s.cfg.Endpoint, "/") + "/" + bucket)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, storage.New(storage.CodeInvalidArgument, "cosup: endpoint %q is not an http(s) URL", s.cfg.Endpoint)
		}
		next = PathPrefix(u.EscapedPath(), next)
	} else {
		var err error
		if u, err = cos.NewBucketURL(bucket, s.cfg.Region, true); err != nil {
			return nil, storage.New(storage.CodeInvalidArgument, "cosup: %v", err)
		}
	}
	c := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{
		Transport: &cos.AuthorizationTransport{SecretID: s.cfg.SecretId, SecretKey: s.cfg.SecretKey, Transport: next},
	})
	c.Conf.EnableCRC = false // checked here, see verifyCRC
	if s.cfg.MaxAttempts > 0 {
		c.Conf.RetryOpt.Count = s.cfg.MaxAttempts
	}
	s.clients[bucket] = c
	return c, nil
}

// PathPrefix returns a transport that puts prefix (escaped, e.g. "/storage/<bucket>") in
// front of every request path before next sends it: cos-go-sdk-v5 drops the path of its
// BucketURL.
func PathPrefix(prefix string, next http.RoundTripper) http.RoundTripper {
	prefix = strings.TrimSuffix(prefix, "/")
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		raw := prefix + r.URL.EscapedPath()
		p, err := url.PathUnescape(raw)
		if err != nil {
			return nil, err
		}
		r2.URL.Path, r2.URL.RawPath = p, raw
		return next.RoundTrip(r2)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *Store) client(bucket, key *string) (*cos.Client, error) {
	if *bucket == "" {
		*bucket = s.cfg.Bucket
	}
	c, err := s.Client(*bucket)
	if err != nil {
		return nil, err
	}
	if key != nil {
		if err := storage.CheckKey(*key); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error {
	c, err := s.client(&bucket, &key)
	if err != nil {
		return err
	}
	if size > storage.MaxObjectSize {
		return storage.ErrEntityTooLarge()
	}
	sp := parts.New(r, size, s.cfg.PartSize)
	first, err := sp.Next()
	if err != nil {
		return err
	}
	if sp.Done() {
		hd := &cos.ObjectPutHeaderOptions{ContentType: contentType, ContentLength: int64(len(first))}
		resp, err := c.Object.Put(ctx, key, bytes.NewReader(first), &cos.ObjectPutOptions{ObjectPutHeaderOptions: hd})
		if err != nil {
			return mapErr(err)
		}
		return verifyCRC(resp, first)
	}
	init, _, err := c.Object.InitiateMultipartUpload(ctx, key, &cos.InitiateMultipartUploadOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: contentType},
	})
	if err != nil {
		return mapErr(err)
	}
	if err := s.uploadParts(ctx, c, key, init.UploadID, sp, first); err != nil {
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		c.Object.AbortMultipartUpload(abortCtx, key, init.UploadID)
		return err
	}
	return nil
}

func (s *Store) uploadParts(ctx context.Context, c *cos.Client, key, id string, sp *parts.Splitter, part []byte) error {
	var done []cos.Object
	whole := crc64.New(crcTable)
	for n := 1; ; n++ {
		resp, err := c.Object.UploadPart(ctx, key, id, n, bytes.NewReader(part), &cos.ObjectUploadPartOptions{ContentLength: int64(len(part))})
		if err != nil {
			return mapErr(err)
		}
		if err := verifyCRC(resp, part); err != nil {
			return err
		}
		whole.Write(part)
		done = append(done, cos.Object{PartNumber: n, ETag: resp.Header.Get("ETag")})
		if sp.Done() {
			break
		}
		if part, err = sp.Next(); err != nil {
			return err
		}
		if n == storage.MaxPartNumber {
			return storage.New(storage.CodeEntityTooLarge, "cosup: more than %d parts of %d bytes", storage.MaxPartNumber, s.cfg.PartSize)
		}
	}
	_, resp, err := c.Object.CompleteMultipartUpload(ctx, key, id, &cos.CompleteMultipartUploadOptions{Parts: done})
	if err != nil {
		return mapErr(err)
	}
	return checkCRC(resp, whole.Sum64())
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// verifyCRC compares COS's CRC-64 of what it stored with ours, when it sends one.
func verifyCRC(resp *cos.Response, b []byte) error {
	return checkCRC(resp, crc64.Checksum(b, crcTable))
}

func checkCRC(resp *cos.Response, want uint64) error {
	if resp == nil {
		return nil
	}
	got := resp.Header.Get("x-cos-hash-crc64ecma")
	if got == "" {
		return nil
	}
	if n, err := strconv.ParseUint(got, 10, 64); err != nil || n != want {
		return storage.New(storage.CodeBadDigest, "cosup: the service stored CRC-64 %s, the content has %d", got, want)
	}
	return nil
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	c, err := s.client(&bucket, &key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	resp, err := c.Object.Get(ctx, key, nil)
	if err != nil {
		return nil, storage.ObjectInfo{}, mapErr(err)
	}
	return resp.Body, infoOf(key, resp), nil
}

// Head implements storage.Store. COS answers HEAD without a body, so a 404 is told
// apart (NoSuchKey or NoSuchBucket) by asking for the bucket.
func (s *Store) Head(ctx context.Context, bucket, key string) (storage.ObjectInfo, error) {
	c, err := s.client(&bucket, &key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	resp, err := c.Object.Head(ctx, key, nil)
	if err != nil {
		if cos.IsNotFoundError(err) {
			if _, berr := c.Bucket.Head(ctx); cos.IsNotFoundError(berr) {
				return storage.ObjectInfo{}, storage.ErrNoSuchBucket()
			}
			return storage.ObjectInfo{}, storage.ErrNoSuchKey()
		}
		return storage.ObjectInfo{}, mapErr(err)
	}
	return infoOf(key, resp), nil
}

func infoOf(key string, resp *cos.Response) storage.ObjectInfo {
	info := storage.ObjectInfo{
		Key: key, Size: resp.ContentLength, ETag: strings.Trim(resp.Header.Get("ETag"), `"`),
		ContentType: resp.Header.Get("Content-Type"),
		Checksums:   storage.Checksums{CRC64ECMA: resp.Header.Get("x-cos-hash-crc64ecma")},
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = t
	}
	return info
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	c, err := s.client(&bucket, &key)
	if err != nil {
		return err
	}
	_, err = c.Object.Delete(ctx, key)
	return mapErr(err)
}

// List implements storage.Store with GET Bucket (marker paging).
func (s *Store) List(ctx context.Context, bucket, prefix, startAfter string, limit int) ([]storage.ObjectInfo, bool, error) {
	c, err := s.client(&bucket, nil)
	if err != nil {
		return nil, false, err
	}
	if limit <= 0 || limit > storage.MaxListKeys {
		limit = storage.MaxListKeys
	}
	res, _, err := c.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: prefix, Marker: startAfter, MaxKeys: limit})
	if err != nil {
		return nil, false, mapErr(err)
	}
	objs := make([]storage.ObjectInfo, 0, len(res.Contents))
	for _, o := range res.Contents {
		info := storage.ObjectInfo{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`)}
		if t, err := time.Parse(time.RFC3339, o.LastModified); err == nil {
			info.LastModified = t
		}
		objs = append(objs, info)
	}
	return objs, res.IsTruncated, nil
}

// mapErr turns the SDK's errors into *storage.Error: the service's code and message,
// codes for body-less answers by status, CodeNetworkError when nothing answered.
// Context errors stay what they are.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var re *cos.RetryError
	if errors.As(err, &re) && len(re.Errs) > 0 {
		err = re.Errs[len(re.Errs)-1] // the SDK keeps every attempt's error; the last is the answer
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var er *cos.ErrorResponse
	if errors.As(err, &er) {
		code, msg, st := er.Code, er.Message, 0
		if er.Response != nil {
			st = er.Response.StatusCode
		}
		if code == "" {
			code = storage.CodeOfStatus(st)
		}
		if msg == "" {
			msg = fmt.Sprintf("%d %s", st, http.StatusText(st))
		}
		return &storage.Error{Code: code, Message: msg, Status: st}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &storage.Error{Code: storage.CodeNetworkError, Message: err.Error()}
	}
	return err
}
