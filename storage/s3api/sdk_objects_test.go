package s3api_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

func status(err error) int {
	var re *awshttp.ResponseError
	if errors_As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestSDKObjects(t *testing.T) {
	e := newEnv(t, false, s3api.Config{})
	c := e.s3Client("eu-central-1")
	b := "objects-1250000000"
	body := []byte("0123456789abcdefghij")
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k.ts"), Body: bytes.NewReader(body), ContentType: aws.String("video/mp2t")})
	if err != nil {
		t.Fatal(err)
	}

	// ranges
	for _, tc := range []struct{ rng, want, contentRange string }{
		{"bytes=0-3", "0123", "bytes 0-3/20"},
		{"bytes=10-", "abcdefghij", "bytes 10-19/20"},
		{"bytes=-5", "fghij", "bytes 15-19/20"},
		{"bytes=18-100", "ij", "bytes 18-19/20"},
		{"bytes=5-5", "5", "bytes 5-5/20"},
	} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k.ts"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Errorf("%s: %v", tc.rng, err)
			continue
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(got) != tc.want || aws.ToString(out.ContentRange) != tc.contentRange {
			t.Errorf("%s: %q %q, want %q %q", tc.rng, got, aws.ToString(out.ContentRange), tc.want, tc.contentRange)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k.ts"), Range: aws.String("bytes=20-")})
	if apiCode(err) != "InvalidRange" || status(err) != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %v", err)
	}

	// whole-object checksum validation by the SDK (it asks with x-amz-checksum-mode)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k.ts"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, body) || aws.ToString(out.ChecksumCRC32) == "" {
		t.Errorf("GetObject with checksum mode: %q, %v, crc32 %q", got, err, aws.ToString(out.ChecksumCRC32))
	}

	// errors the SDK reads back
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("absent")})
	var nsk *types.NoSuchKey
	if !errors_As(err, &nsk) || status(err) != 404 {
		t.Errorf("GetObject of a missing key: %v", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("absent")})
	var nf *types.NotFound
	if !errors_As(err, &nf) {
		t.Errorf("HeadObject of a missing key: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("absent-1250000000"), Key: aws.String("k")})
	if apiCode(err) != "NoSuchBucket" {
		t.Errorf("GetObject in a missing bucket: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad"), Body: bytes.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
	if apiCode(err) != "BadDigest" {
		t.Errorf("PutObject with a wrong CRC32: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad"), Body: bytes.NewReader(body), ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
	if apiCode(err) != "BadDigest" {
		t.Errorf("PutObject with a wrong Content-MD5: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("bad")}); status(err) != 404 {
		t.Errorf("a refused upload was stored: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String(strings.Repeat("k", 1025)), Body: bytes.NewReader(body)})
	if apiCode(err) != "KeyTooLongError" {
		t.Errorf("PutObject with a long key: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("Bad_Name"), Key: aws.String("k"), Body: bytes.NewReader(body)})
	if apiCode(err) != "InvalidBucketName" {
		t.Errorf("PutObject to a bad bucket name: %v", err)
	}
	for _, unsupported := range []func() error{
		func() error {
			_, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("k.ts")})
			return err
		},
		func() error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: aws.String(b + "/k.ts")})
			return err
		},
		func() error {
			_, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
			return err
		},
	} {
		if err := unsupported(); apiCode(err) != "NotImplemented" || status(err) != 501 {
			t.Errorf("unsupported operation: %v", err)
		}
	}

	// conditional requests
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("k.ts")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != 20 || aws.ToString(head.ContentType) != "video/mp2t" || aws.ToString(head.ETag) != `"`+md5hex(string(body))+`"` {
		t.Errorf("HeadObject: %d %s %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ContentType), aws.ToString(head.ETag))
	}
	if d := time.Since(aws.ToTime(head.LastModified)); d < 0 || d > time.Minute {
		t.Errorf("LastModified %v", head.LastModified)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k.ts"), IfNoneMatch: head.ETag})
	if status(err) != http.StatusNotModified {
		t.Errorf("If-None-Match: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k.ts"), IfMatch: aws.String(`"other"`)})
	if apiCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match: %v", err)
	}

	// DeleteObjects
	putS3(t, c, b, "d1", "x")
	putS3(t, c, b, "d2", "x")
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("d1")}, {Key: aws.String("d2")}, {Key: aws.String("never-existed")},
	}}})
	if err != nil || len(del.Deleted) != 3 || len(del.Errors) != 0 {
		t.Fatalf("DeleteObjects: %v %+v", err, del)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("never-existed")}); err != nil {
		t.Errorf("DeleteObject of a missing key: %v", err)
	}

	// buckets
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b, CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuCentral1}}); err != nil {
		t.Errorf("CreateBucket of an existing bucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("absent-1250000000")}); status(err) != 404 {
		t.Errorf("HeadBucket of a missing bucket: %v", err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &b})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation: %v %q", err, loc.LocationConstraint)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("empty-1250000000")}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, bk := range lb.Buckets {
		names = append(names, aws.ToString(bk.Name))
		if d := time.Since(aws.ToTime(bk.CreationDate)); d < 0 || d > time.Minute {
			t.Errorf("bucket %s created %v", aws.ToString(bk.Name), bk.CreationDate)
		}
	}
	if !slices.Equal(names, []string{"empty-1250000000", b}) {
		t.Errorf("ListBuckets: %q", names)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b}); apiCode(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket of a full bucket: %v", err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("empty-1250000000")}); err != nil {
		t.Errorf("DeleteBucket: %v", err)
	}
}

// TestSDKStreamingTrailer: over HTTPS the SDK streams unseekable bodies with
// aws-chunked encoding and a trailing CRC32 (x-amz-trailer), which must be decoded,
// verified and stored as the plain content.
func TestSDKStreamingTrailer(t *testing.T) {
	e := newEnv(t, true, s3api.Config{})
	c := e.s3Client("ap-guangzhou")
	b := "stream-1250000000"
	body := bytes.Repeat([]byte("trtc recording segment "), 300_000) // ~6.9 MB: several chunks
	var seen http.Header
	c2 := s3.New(c.Options(), func(o *s3.Options) {
		o.HTTPClient = headerSpy{e.ts.Client(), &seen}
	})
	_, err := c2.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("streamed.ts"), Body: io.MultiReader(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(seen.Get("Content-Encoding"), "aws-chunked") || seen.Get("X-Amz-Trailer") == "" {
		t.Fatalf("the SDK did not stream with aws-chunked and a trailer: %v", seen)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("streamed.ts")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(body))
	}
	// UploadPart streams the same way
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	pout, err := c2.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: io.MultiReader(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pout.ETag) != `"`+md5hex(string(body))+`"` {
		t.Errorf("part ETag %s", aws.ToString(pout.ETag))
	}
}

type headerSpy struct {
	c    *http.Client
	seen *http.Header
}

func (h headerSpy) Do(r *http.Request) (*http.Response, error) {
	*h.seen = r.Header.Clone()
	return h.c.Do(r)
}
