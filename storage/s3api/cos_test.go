package s3api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/trtc-emulator/trtc-emulator/storage/cosup"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

const cosBucket = "records-1250000000"

// cosClients are cos-go-sdk-v5 clients addressing the store both ways it can: BucketURL
// with the path /storage/<bucket> and a transport that keeps that path (the SDK drops
// it), and BucketURL at the listener with Client.Host naming the bucket (virtual-hosted,
// as real COS).
func cosClients(e *env) map[string]*cos.Client {
	sign := func(next http.RoundTripper) *http.Client {
		return &http.Client{Transport: &cos.AuthorizationTransport{SecretID: "AKIDexample", SecretKey: "secret", Transport: next}}
	}
	bu, _ := url.Parse(e.url + "/" + cosBucket)
	su, _ := url.Parse(e.url)
	pathStyle := cos.NewClient(&cos.BaseURL{BucketURL: bu, ServiceURL: su},
		sign(cosup.PathPrefix("/storage/"+cosBucket, e.ts.Client().Transport)))
	root, _ := url.Parse(e.ts.URL)
	hostStyle := cos.NewClient(&cos.BaseURL{BucketURL: root}, sign(e.ts.Client().Transport))
	hostStyle.Host = cosBucket + ".cos.ap-guangzhou.myqcloud.com"
	return map[string]*cos.Client{"path": pathStyle, "host": hostStyle}
}

// TestCOSDropsBucketURLPath records the SDK's behaviour that cosClients works around: a
// BucketURL path is not part of the request.
func TestCOSDropsBucketURLPath(t *testing.T) {
	var paths []string
	ts := newEnv(t, false, s3api.Config{})
	bu, _ := url.Parse(ts.url + "/" + cosBucket)
	c := cos.NewClient(&cos.BaseURL{BucketURL: bu}, &http.Client{Transport: spyTransport{ts.ts.Client().Transport, &paths}})
	c.Object.Put(ctx, "k", strings.NewReader("x"), nil)
	if len(paths) == 0 || paths[0] != "/k" {
		t.Errorf("cos-go-sdk-v5 sent %q: if it now keeps BucketURL's path, PathPrefix is no longer needed", paths)
	}
}

type spyTransport struct {
	next  http.RoundTripper
	paths *[]string
}

func (s spyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*s.paths = append(*s.paths, r.URL.EscapedPath())
	return s.next.RoundTrip(r)
}

func TestCOS(t *testing.T) {
	for name, c := range cosClients(newEnv(t, false, s3api.Config{Region: "ap-guangzhou"})) {
		t.Run(name, func(t *testing.T) {
			p := name + "/"
			// Put checks our x-cos-hash-crc64ecma against its own CRC (EnableCRC is on)
			for _, k := range recordingKeys {
				if _, err := c.Object.Put(ctx, p+k, strings.NewReader(k), &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: "video/mp2t"}}); err != nil {
					t.Fatalf("Put %s: %v", k, err)
				}
			}
			resp, err := c.Object.Get(ctx, p+recordingKeys[1], nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != recordingKeys[1] || resp.Header.Get("Content-Type") != "video/mp2t" || resp.Header.Get("x-cos-hash-crc64ecma") == "" {
				t.Errorf("Get: %q %v", got, resp.Header)
			}
			head, err := c.Object.Head(ctx, p+recordingKeys[1], nil)
			if err != nil || head.ContentLength != int64(len(recordingKeys[1])) || head.Header.Get("ETag") != `"`+md5hex(recordingKeys[1])+`"` {
				t.Errorf("Head: %v %v", err, head)
			}
			_, err = c.Object.Get(ctx, p+"absent", nil)
			if er, ok := cos.IsCOSError(err); !ok || er.Code != "NoSuchKey" || !cos.IsNotFoundError(err) {
				t.Errorf("Get of a missing key: %v", err)
			}
			if ok, err := c.Object.IsExist(ctx, p+"absent"); ok || err != nil {
				t.Errorf("IsExist of a missing key: %v %v", ok, err)
			}

			// listing with prefix, delimiter and markers, one entry per page
			var keys, prefixes []string
			marker := ""
			for range 20 {
				res, _, err := c.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: p + "rec/", Delimiter: "/", Marker: marker, MaxKeys: 1})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range res.Contents {
					keys = append(keys, o.Key)
				}
				prefixes = append(prefixes, res.CommonPrefixes...)
				if !res.IsTruncated {
					break
				}
				marker = res.NextMarker
			}
			if !slices.Equal(keys, []string{p + "rec/top.txt"}) || !slices.Equal(prefixes, []string{p + "rec/1400000001/", p + "rec/1400000002/"}) {
				t.Errorf("Bucket.Get with delimiter: keys %q prefixes %q", keys, prefixes)
			}
			res, _, err := c.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: p + "rec/1400000001/room1/"})
			if err != nil || len(res.Contents) != 3 || res.Contents[0].Key != p+"rec/1400000001/room1/a.m3u8" || res.Contents[0].Size != int64(len("rec/1400000001/room1/a.m3u8")) {
				t.Errorf("Bucket.Get with prefix: %v %+v", err, res)
			}
			res, _, err = c.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: p + "rec/1400000001/", Delimiter: "/", EncodingType: "url"})
			if err != nil || len(res.CommonPrefixes) != 2 {
				t.Errorf("Bucket.Get with encoding-type=url: %v %+v", err, res)
			}

			// multipart, by hand
			big := bytes.Repeat([]byte("0123456789"), 300) // the test server accepts parts of 1 KiB
			init, _, err := c.Object.InitiateMultipartUpload(ctx, p+"big.mp4", nil)
			if err != nil {
				t.Fatal(err)
			}
			var parts []cos.Object
			for i, chunk := range [][]byte{big[:1500], big[1500:]} {
				resp, err := c.Object.UploadPart(ctx, p+"big.mp4", init.UploadID, i+1, bytes.NewReader(chunk), nil)
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				parts = append(parts, cos.Object{PartNumber: i + 1, ETag: resp.Header.Get("ETag")})
			}
			cres, _, err := c.Object.CompleteMultipartUpload(ctx, p+"big.mp4", init.UploadID, &cos.CompleteMultipartUploadOptions{Parts: parts})
			if err != nil || !strings.HasSuffix(cres.ETag, `-2"`) {
				t.Fatalf("CompleteMultipartUpload: %v %+v", err, cres)
			}
			resp, err = c.Object.Get(ctx, p+"big.mp4", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, big) {
				t.Errorf("multipart object: %d bytes", len(got))
			}

			// the SDK's own concurrent Upload and ranged Download, CRC-64 checked end to end
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			os.WriteFile(src, bytes.Repeat([]byte("segment "), 300_000), 0o644) // 2.4 MB: 3 parts of 1 MB
			if _, _, err := c.Object.Upload(ctx, p+"uploaded.mp4", src, &cos.MultiUploadOptions{PartSize: 1, ThreadPoolSize: 3}); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			dst := filepath.Join(dir, "dst")
			if _, err := c.Object.Download(ctx, p+"uploaded.mp4", dst, &cos.MultiDownloadOptions{PartSize: 1, ThreadPoolSize: 3}); err != nil {
				t.Fatalf("Download: %v", err)
			}
			a, _ := os.ReadFile(src)
			b, _ := os.ReadFile(dst)
			if !bytes.Equal(a, b) {
				t.Errorf("Download: %d bytes, uploaded %d", len(b), len(a))
			}

			if _, err := c.Object.Delete(ctx, p+"big.mp4"); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if _, err := c.Object.Head(ctx, p+"big.mp4", nil); !cos.IsNotFoundError(err) {
				t.Errorf("Head after Delete: %v", err)
			}
		})
	}
}

func TestCOSService(t *testing.T) {
	e := newEnv(t, false, s3api.Config{Region: "ap-guangzhou"})
	c := cosClients(e)["path"]
	if _, err := c.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	su, _ := url.Parse(e.url)
	svc := cos.NewClient(&cos.BaseURL{ServiceURL: su}, &http.Client{Transport: cosup.PathPrefix("/storage", e.ts.Client().Transport)})
	res, _, err := svc.Service.Get(ctx)
	if err != nil || len(res.Buckets) != 1 || res.Buckets[0].Name != cosBucket || res.Buckets[0].Region != "ap-guangzhou" {
		t.Errorf("Service.Get: %v %+v", err, res)
	}
	if ok, err := c.Bucket.IsExist(ctx); !ok || err != nil {
		t.Errorf("Bucket.IsExist: %v %v", ok, err)
	}
}
