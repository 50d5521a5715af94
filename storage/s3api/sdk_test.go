package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

var ctx = context.Background()

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprintf("not an API error: %v", err)
}

func putS3(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// recordingKeys is a bucket laid out like TRTC's recordings.
var recordingKeys = []string{
	"rec/1400000001/room1/a.m3u8", "rec/1400000001/room1/a_1.ts", "rec/1400000001/room1/a_2.ts",
	"rec/1400000001/room2/b.m3u8", "rec/1400000002/room9/c.m3u8", "rec/top.txt", "other/x", "rec-sibling",
}

func TestSDKListDelimiter(t *testing.T) {
	e := newEnv(t, false, s3api.Config{})
	c := e.s3Client("ap-guangzhou")
	b := "records-1250000000"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	for _, k := range recordingKeys {
		putS3(t, c, b, k, k)
	}
	tests := []struct {
		prefix, delimiter string
		maxKeys           int32
		keys, prefixes    []string
	}{
		{"rec/", "/", 0, []string{"rec/top.txt"}, []string{"rec/1400000001/", "rec/1400000002/"}},
		{"rec/1400000001/", "/", 0, nil, []string{"rec/1400000001/room1/", "rec/1400000001/room2/"}},
		{"rec/1400000001/room1/", "/", 0, []string{"rec/1400000001/room1/a.m3u8", "rec/1400000001/room1/a_1.ts", "rec/1400000001/room1/a_2.ts"}, nil},
		{"", "/", 0, []string{"rec-sibling"}, []string{"other/", "rec/"}},
		{"rec", "", 0, []string{"rec-sibling", "rec/1400000001/room1/a.m3u8", "rec/1400000001/room1/a_1.ts", "rec/1400000001/room1/a_2.ts", "rec/1400000001/room2/b.m3u8", "rec/1400000002/room9/c.m3u8", "rec/top.txt"}, nil},
		{"", ".m3u8", 0, []string{"other/x", "rec-sibling", "rec/1400000001/room1/a_1.ts", "rec/1400000001/room1/a_2.ts", "rec/top.txt"}, []string{"rec/1400000001/room1/a.m3u8", "rec/1400000001/room2/b.m3u8", "rec/1400000002/room9/c.m3u8"}},
		// one entry per page: the paginator must walk prefixes and keys alike
		{"rec/", "/", 1, []string{"rec/top.txt"}, []string{"rec/1400000001/", "rec/1400000002/"}},
		{"", "/", 1, []string{"rec-sibling"}, []string{"other/", "rec/"}},
		{"nothing/", "/", 0, nil, nil},
	}
	for _, tc := range tests {
		in := &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String(tc.prefix)}
		if tc.delimiter != "" {
			in.Delimiter = aws.String(tc.delimiter)
		}
		if tc.maxKeys > 0 {
			in.MaxKeys = aws.Int32(tc.maxKeys)
		}
		var keys, prefixes []string
		pages := 0
		for p := s3.NewListObjectsV2Paginator(c, in); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("%+v: %v", tc, err)
			}
			pages++
			if tc.maxKeys > 0 && int32(len(out.Contents)+len(out.CommonPrefixes)) > tc.maxKeys {
				t.Errorf("%+v: page of %d", tc, len(out.Contents)+len(out.CommonPrefixes))
			}
			if aws.ToInt32(out.KeyCount) != int32(len(out.Contents)+len(out.CommonPrefixes)) {
				t.Errorf("%+v: KeyCount %d", tc, aws.ToInt32(out.KeyCount))
			}
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
				if aws.ToString(o.ETag) != `"`+md5hex(aws.ToString(o.Key))+`"` || aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) {
					t.Errorf("%s: ETag %s size %d", aws.ToString(o.Key), aws.ToString(o.ETag), aws.ToInt64(o.Size))
				}
			}
			for _, cp := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(cp.Prefix))
			}
		}
		if !slices.Equal(keys, tc.keys) || !slices.Equal(prefixes, tc.prefixes) {
			t.Errorf("prefix %q delimiter %q max %d:\n keys %q\n want %q\n prefixes %q\n want %q", tc.prefix, tc.delimiter, tc.maxKeys, keys, tc.keys, prefixes, tc.prefixes)
		}
		if want := len(tc.keys) + len(tc.prefixes); tc.maxKeys == 1 && pages != max(want, 1) {
			t.Errorf("%+v: %d pages for %d entries", tc, pages, want)
		}
	}
	// start-after, and the V1 listing with markers (what the aws CLI's "ls" may use)
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String("rec/1400000001/room2/b.m3u8"), Prefix: aws.String("rec/")})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(out.Contents); !slices.Equal(got, []string{"rec/1400000002/room9/c.m3u8", "rec/top.txt"}) {
		t.Errorf("start-after: %q", got)
	}
	var v1 []string
	marker := ""
	for range 20 {
		out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b, Prefix: aws.String("rec/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1), Marker: aws.String(marker)})
		if err != nil {
			t.Fatal(err)
		}
		v1 = append(v1, keysOf(out.Contents)...)
		for _, cp := range out.CommonPrefixes {
			v1 = append(v1, aws.ToString(cp.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = aws.ToString(out.NextMarker)
	}
	if !slices.Equal(v1, []string{"rec/1400000001/", "rec/1400000002/", "rec/top.txt"}) {
		t.Errorf("V1 with markers: %q", v1)
	}
	// encoding-type=url keeps odd keys intact through the SDK's decoding
	putS3(t, c, b, "odd key+%&/é", "x")
	out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("odd"), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(out.Contents); len(got) != 1 {
		t.Errorf("encoding-type=url: %q", got)
	} else if got[0] != "odd key+%&/é" && got[0] != "odd+key%2B%25%26/%C3%A9" {
		t.Errorf("encoding-type=url: %q", got)
	}
}

func keysOf(objs []types.Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestSDKMultipart(t *testing.T) {
	e := newEnv(t, false, s3api.Config{})
	c := e.s3Client("us-west-2")
	b, k := "mp-1250000000", "rec/big.mp4"
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &k, ContentType: aws.String("video/mp4")})
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int32, body []byte) types.CompletedPart {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &k, UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
	}
	p1 := bytes.Repeat([]byte("1"), 2000)
	p2 := bytes.Repeat([]byte("2"), 2000)
	p3 := []byte("tail")
	parts := []types.CompletedPart{part(1, p1), part(2, []byte("replaced below")), part(3, p3)}
	parts[1] = part(2, p2) // uploading a part number again replaces it
	complete := func(ps []types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &k, UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: ps}})
		return err
	}
	badETag := parts[0]
	badETag.ETag = aws.String(`"00000000000000000000000000000000"`)
	missing := types.CompletedPart{PartNumber: aws.Int32(9), ETag: parts[0].ETag}
	for _, tc := range []struct {
		parts []types.CompletedPart
		code  string
	}{
		{[]types.CompletedPart{parts[1], parts[0], parts[2]}, "InvalidPartOrder"},
		{[]types.CompletedPart{badETag, parts[1], parts[2]}, "InvalidPart"},
		{[]types.CompletedPart{parts[0], missing}, "InvalidPart"},
		{[]types.CompletedPart{parts[2], {PartNumber: aws.Int32(4), ETag: parts[0].ETag}}, "InvalidPart"},
	} {
		if err := complete(tc.parts); apiCode(err) != tc.code {
			t.Errorf("Complete %v: %v, want %s", tc.parts, err, tc.code)
		}
	}
	if err := complete(parts); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &k})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if want := slices.Concat(p1, p2, p3); !bytes.Equal(body, want) {
		t.Errorf("completed object: %d bytes, want %d", len(body), len(want))
	}
	if etag := aws.ToString(got.ETag); !strings.HasSuffix(etag, `-3"`) || aws.ToString(got.ContentType) != "video/mp4" {
		t.Errorf("ETag %s, type %s", etag, aws.ToString(got.ContentType))
	}
	// the upload is gone
	if err := complete(parts); apiCode(err) != "NoSuchUpload" {
		t.Errorf("Complete twice: %v", err)
	}
	// abort
	up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("aborted"), UploadId: up2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("UploadPart after abort: %v", err)
	}
	// parts below the minimum size (the test server's is 1 KiB; S3's 5 MiB)
	up3, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("small")})
	k = "small"
	up.UploadId = up3.UploadId
	if err := complete([]types.CompletedPart{part(1, []byte("tiny")), part(2, []byte("tail"))}); apiCode(err) != "EntityTooSmall" {
		t.Errorf("small parts: %v", err)
	}
}
