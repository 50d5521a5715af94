// Package s3up uploads to S3, or any endpoint speaking S3's API (the emulator's own
// /storage, MinIO, gofakes3), with aws-sdk-go-v2: TRTC's StorageParams Vendor 1. It is a
// storage.Store whose errors are *storage.Error carrying the service's Code and Message;
// an endpoint that never answered is CodeNetworkError.
//
// Content is uploaded from memory in parts of Config.PartSize: one PutObject up to that
// size, a multipart upload above it or when the size is unknown. The SDK needs seekable
// bodies over plain HTTP (its default CRC32 checksum is computed before sending), and a
// buffer is also what lets it retry.
package s3up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/internal/parts"
)

// Config of an S3 uploader.
type Config struct {
	// Endpoint is the service's base URL, addressed path-style, e.g.
	// "http://127.0.0.1:4599/storage"; "" is AWS S3 itself (virtual-hosted).
	Endpoint string
	// Region signs the requests; "" means "us-east-1".
	Region string
	// Bucket is used by calls that name no bucket ("").
	Bucket               string
	AccessKey, SecretKey string
	// PartSize is the largest single PUT and the size of multipart parts; 0 means
	// 16 MiB, and it is at least storage.MinPartSize.
	PartSize int64
	// MaxAttempts per request, retries included; 0 is the SDK's default (3).
	MaxAttempts int
	// HTTPClient is optional (tests give one trusting their TLS server).
	HTTPClient *http.Client
}

// Store is an S3 uploader.
type Store struct {
	cfg    Config
	client *s3.Client
	err    error // a configuration error, answered by every call
}

var _ storage.Store = (*Store)(nil)

// NewS3 returns the uploader. A bad Config is not reported here but by every call, as
// an InvalidArgument *storage.Error, so it reaches whoever reports upload failures.
func NewS3(cfg Config) *Store {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = 16 << 20
	}
	cfg.PartSize = min(max(cfg.PartSize, storage.MinPartSize), storage.MaxPutSize)
	s := &Store{cfg: cfg}
	opts := s3.Options{
		Region:           cfg.Region,
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: cfg.MaxAttempts,
		// What config.LoadDefaultConfig would choose: CRC32 on every upload, and
		// responses validated when they carry a checksum.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.err = storage.New(storage.CodeInvalidArgument, "s3up: endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
		opts.UsePathStyle = true
	}
	s.client = s3.New(opts)
	return s
}

// Client is the SDK client the Store uses, for what the Store does not offer.
func (s *Store) Client() *s3.Client { return s.client }

func (s *Store) check(bucket, key *string) error {
	if s.err != nil {
		return s.err
	}
	if *bucket == "" {
		*bucket = s.cfg.Bucket
	}
	if err := storage.CheckBucket(*bucket); err != nil {
		return err
	}
	if key != nil {
		return storage.CheckKey(*key)
	}
	return nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error {
	if err := s.check(&bucket, &key); err != nil {
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
	var ct *string
	if contentType != "" {
		ct = aws.String(contentType)
	}
	if sp.Done() {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(first),
			ContentLength: aws.Int64(int64(len(first))), ContentType: ct,
		})
		return mapErr(err)
	}
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ContentType: ct})
	if err != nil {
		return mapErr(err)
	}
	if err := s.uploadParts(ctx, bucket, key, up.UploadId, sp, first); err != nil {
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.client.AbortMultipartUpload(abortCtx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId})
		return err
	}
	return nil
}

func (s *Store) uploadParts(ctx context.Context, bucket, key string, id *string, sp *parts.Splitter, part []byte) error {
	var done []types.CompletedPart
	for n := int32(1); ; n++ {
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &bucket, Key: &key, UploadId: id, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
		})
		if err != nil {
			return mapErr(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
		if sp.Done() {
			break
		}
		if part, err = sp.Next(); err != nil {
			return err
		}
		if n == storage.MaxPartNumber {
			return storage.New(storage.CodeEntityTooLarge, "s3up: more than %d parts of %d bytes", storage.MaxPartNumber, s.cfg.PartSize)
		}
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	return mapErr(err)
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := s.check(&bucket, &key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, storage.ObjectInfo{}, mapErr(err)
	}
	info := storage.ObjectInfo{
		Key: key, Size: aws.ToInt64(out.ContentLength), ETag: trimETag(out.ETag),
		ContentType: aws.ToString(out.ContentType), LastModified: aws.ToTime(out.LastModified),
		Checksums: storage.Checksums{CRC32: fullObjectCRC32(out.ChecksumCRC32)},
	}
	return out.Body, info, nil
}

// Head implements storage.Store. S3 answers HEAD without a body, so a 404 is told
// apart (NoSuchKey or NoSuchBucket) by asking for the bucket.
func (s *Store) Head(ctx context.Context, bucket, key string) (storage.ObjectInfo, error) {
	if err := s.check(&bucket, &key); err != nil {
		return storage.ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		if status(err) == http.StatusNotFound {
			return storage.ObjectInfo{}, s.notFound(ctx, bucket)
		}
		return storage.ObjectInfo{}, mapErr(err)
	}
	return storage.ObjectInfo{
		Key: key, Size: aws.ToInt64(out.ContentLength), ETag: trimETag(out.ETag),
		ContentType: aws.ToString(out.ContentType), LastModified: aws.ToTime(out.LastModified),
		Checksums: storage.Checksums{CRC32: fullObjectCRC32(out.ChecksumCRC32)},
	}, nil
}

func (s *Store) notFound(ctx context.Context, bucket string) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if status(err) == http.StatusNotFound {
		return storage.ErrNoSuchBucket()
	}
	return storage.ErrNoSuchKey()
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := s.check(&bucket, &key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return mapErr(err)
}

// List implements storage.Store with ListObjectsV2.
func (s *Store) List(ctx context.Context, bucket, prefix, startAfter string, limit int) ([]storage.ObjectInfo, bool, error) {
	if err := s.check(&bucket, nil); err != nil {
		return nil, false, err
	}
	if limit <= 0 || limit > storage.MaxListKeys {
		limit = storage.MaxListKeys
	}
	// One more than asked, when allowed: some servers (gofakes3) say IsTruncated when
	// exactly MaxKeys remain.
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix), MaxKeys: aws.Int32(int32(min(limit+1, storage.MaxListKeys)))}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, mapErr(err)
	}
	more := aws.ToBool(out.IsTruncated)
	if limit < storage.MaxListKeys {
		more = len(out.Contents) > limit
		out.Contents = out.Contents[:min(len(out.Contents), limit)]
	}
	objs := make([]storage.ObjectInfo, 0, len(out.Contents))
	for _, o := range out.Contents {
		objs = append(objs, storage.ObjectInfo{
			Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: trimETag(o.ETag),
			LastModified: aws.ToTime(o.LastModified),
		})
	}
	return objs, more, nil
}

func trimETag(p *string) string { return strings.Trim(aws.ToString(p), `"`) }

// fullObjectCRC32 drops composite (multipart, "…-N") checksums.
func fullObjectCRC32(p *string) string {
	if c := aws.ToString(p); !strings.Contains(c, "-") {
		return c
	}
	return ""
}

// status is the HTTP status of a service's answer, 0 if there was none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// mapErr turns the SDK's errors into *storage.Error: the service's code and message,
// codes for body-less answers by status, CodeNetworkError when nothing answered.
// Context errors stay what they are.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if e, ok := storage.As(err); ok {
		return e
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && status(err) != 0 {
		code, msg, st := ae.ErrorCode(), ae.ErrorMessage(), status(err)
		// Answers without a body (HEAD) get the status text as code from the SDK.
		if code == "" || code == strings.ReplaceAll(http.StatusText(st), " ", "") {
			code = storage.CodeOfStatus(st)
		}
		if msg == "" {
			msg = fmt.Sprintf("%d %s", st, http.StatusText(st))
		}
		return &storage.Error{Code: code, Message: msg, Status: st}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &storage.Error{Code: storage.CodeNetworkError, Message: err.Error()}
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return &storage.Error{Code: storage.CodeNetworkError, Message: err.Error()}
	}
	return err
}
