package s3api_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// raw sends a request exactly as written (no client normalises its target) and reads
// the answer.
func raw(t testing.TB, e *env, method, target string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	host := e.ts.Listener.Addr().String()
	if h, ok := header["Host"]; ok {
		host = h
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, host)
	if _, ok := header["Transfer-Encoding"]; !ok && (body != "" || method == "PUT" || method == "POST") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	for k, v := range header {
		if k == "Host" {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, "http://x/", nil)
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}

type errorXML struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Key        string
	BucketName string
	Resource   string
	RequestId  string
}

func TestErrorDocument(t *testing.T) {
	e := newEnv(t, false, s3api.Config{})
	raw(t, e, "PUT", "/storage/bkt-1/present", nil, "x")
	resp, body := raw(t, e, "GET", "/storage/bkt-1/absent%20key", nil, "")
	var doc errorXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/xml" || !bytes.HasPrefix(body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) ||
		doc.Code != "NoSuchKey" || doc.Message != "The specified key does not exist." || doc.Key != "absent key" ||
		doc.RequestId == "" || doc.RequestId != resp.Header.Get("x-amz-request-id") || doc.Resource != "/storage/bkt-1/absent key" {
		t.Errorf("%d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	resp, body = raw(t, e, "GET", "/storage/absent-bucket/k", nil, "")
	xml.Unmarshal(body, &doc)
	if resp.StatusCode != 404 || doc.Code != "NoSuchBucket" || doc.BucketName != "absent-bucket" {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	resp, body = raw(t, e, "HEAD", "/storage/bkt-1/absent", nil, "")
	if resp.StatusCode != 404 || len(body) != 0 {
		t.Errorf("HEAD of a missing key: %d %q", resp.StatusCode, body)
	}
}

func awsChunked(chunks []string, signed bool, trailer string) string {
	var b strings.Builder
	sig := ""
	if signed {
		sig = ";chunk-signature=" + strings.Repeat("a", 64)
	}
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x%s\r\n%s\r\n", len(c), sig, c)
	}
	fmt.Fprintf(&b, "0%s\r\n", sig)
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func crc32b64(s string) string {
	var b [4]byte
	c := crc32.ChecksumIEEE([]byte(s))
	b[0], b[1], b[2], b[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return base64.StdEncoding.EncodeToString(b[:])
}

// TestRequests: status and code of each kind of request, good and bad.
func TestRequests(t *testing.T) {
	e := newEnv(t, false, s3api.Config{MaxObjectSize: 1 << 20, MaxXMLSize: 4 << 10})
	raw(t, e, "PUT", "/storage/bkt/obj", nil, "0123456789")
	sum := sha256.Sum256([]byte("hello"))
	chunkedHeaders := func(sha, decoded, trailer string) map[string]string {
		h := map[string]string{"Content-Encoding": "aws-chunked", "x-amz-content-sha256": sha, "x-amz-decoded-content-length": decoded}
		if trailer != "" {
			h["x-amz-trailer"] = trailer
		}
		return h
	}
	tests := []struct {
		name, method, target string
		header               map[string]string
		body                 string
		status               int
		code                 string
		get                  string // then GET target returns this
	}{
		{"list buckets", "GET", "/storage", nil, "", 200, "", ""},
		{"list buckets slash", "GET", "/storage/", nil, "", 200, "", ""},
		{"bad bucket name", "GET", "/storage/Bad_Bucket/k", nil, "", 400, "InvalidBucketName", ""},
		{"dot-dot bucket", "GET", "/storage/../k", nil, "", 400, "InvalidBucketName", ""},
		{"empty bucket, key", "GET", "/storage//k", nil, "", 400, "InvalidBucketName", ""},
		{"NUL in key", "PUT", "/storage/bkt/a%00b", nil, "x", 400, "InvalidObjectName", ""},
		{"long key", "PUT", "/storage/bkt/" + strings.Repeat("k", 1025), nil, "x", 400, "KeyTooLongError", ""},
		{"method", "PATCH", "/storage/bkt/obj", nil, "", 405, "MethodNotAllowed", ""},
		{"method on service", "DELETE", "/storage", nil, "", 405, "MethodNotAllowed", ""},
		{"acl", "GET", "/storage/bkt?acl", nil, "", 501, "NotImplemented", ""},
		{"tagging", "PUT", "/storage/bkt/obj?tagging", nil, "<Tagging/>", 501, "NotImplemented", ""},
		{"copy", "PUT", "/storage/bkt/copy", map[string]string{"x-amz-copy-source": "/bkt/obj"}, "", 501, "NotImplemented", ""},
		{"list parts", "GET", "/storage/bkt/obj?uploadId=x", nil, "", 501, "NotImplemented", ""},
		{"bad Content-MD5", "PUT", "/storage/bkt/k", map[string]string{"Content-MD5": "nope"}, "x", 400, "InvalidDigest", ""},
		{"wrong sha256", "PUT", "/storage/bkt/k", map[string]string{"x-amz-content-sha256": strings.Repeat("0", 64)}, "x", 400, "XAmzContentSHA256Mismatch", ""},
		{"right sha256", "PUT", "/storage/bkt/sha", map[string]string{"x-amz-content-sha256": hex.EncodeToString(sum[:])}, "hello", 200, "", "hello"},
		{"bad checksum header", "PUT", "/storage/bkt/k", map[string]string{"x-amz-checksum-crc32": "!!"}, "x", 400, "InvalidRequest", ""},
		{"right crc32", "PUT", "/storage/bkt/crc", map[string]string{"x-amz-checksum-crc32": crc32b64("hello")}, "hello", 200, "", "hello"},
		{"too large", "PUT", "/storage/bkt/big", nil, strings.Repeat("x", 1<<20+1), 400, "EntityTooLarge", ""},
		{"chunked transfer", "PUT", "/storage/bkt/te", map[string]string{"Transfer-Encoding": "chunked"}, "5\r\nhello\r\n0\r\n\r\n", 200, "", "hello"},
		{"chunked transfer too large", "PUT", "/storage/bkt/te2", map[string]string{"Transfer-Encoding": "chunked"}, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 1<<20+1, strings.Repeat("x", 1<<20+1)), 400, "EntityTooLarge", ""},
		{"aws-chunked unsigned trailer", "PUT", "/storage/bkt/ac1", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "11", "x-amz-checksum-crc32"),
			awsChunked([]string{"hello ", "world"}, false, "x-amz-checksum-crc32:"+crc32b64("hello world")), 200, "", "hello world"},
		{"aws-chunked signed", "PUT", "/storage/bkt/ac2", chunkedHeaders("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "11", ""),
			awsChunked([]string{"hello ", "world"}, true, ""), 200, "", "hello world"},
		{"aws-chunked signed trailer", "PUT", "/storage/bkt/ac3", chunkedHeaders("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "5", "x-amz-checksum-crc32"),
			awsChunked([]string{"hello"}, true, "x-amz-checksum-crc32:"+crc32b64("hello")+"\r\nx-amz-trailer-signature:"+strings.Repeat("b", 64)), 200, "", "hello"},
		{"aws-chunked wrong trailer", "PUT", "/storage/bkt/ac4", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", "x-amz-checksum-crc32"),
			awsChunked([]string{"hello"}, false, "x-amz-checksum-crc32:"+crc32b64("jello")), 400, "BadDigest", ""},
		{"aws-chunked missing trailer", "PUT", "/storage/bkt/ac5", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", "x-amz-checksum-crc32"),
			awsChunked([]string{"hello"}, false, ""), 400, "InvalidRequest", ""},
		{"aws-chunked no length", "PUT", "/storage/bkt/ac6", map[string]string{"Content-Encoding": "aws-chunked"}, awsChunked([]string{"x"}, false, ""), 411, "MissingContentLength", ""},
		{"aws-chunked bad size", "PUT", "/storage/bkt/ac7", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", ""), "zz\r\nhello\r\n0\r\n\r\n", 400, "IncompleteBody", ""},
		{"aws-chunked truncated", "PUT", "/storage/bkt/ac8", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", ""), "5\r\nhel", 400, "IncompleteBody", ""},
		{"aws-chunked no CRLF", "PUT", "/storage/bkt/ac9", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", ""), "5\r\nhelloXX0\r\n\r\n", 400, "IncompleteBody", ""},
		{"aws-chunked longer than declared", "PUT", "/storage/bkt/ac10", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "3", ""), awsChunked([]string{"hello"}, false, ""), 400, "IncompleteBody", ""},
		{"aws-chunked shorter than declared", "PUT", "/storage/bkt/ac11", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "9", ""), awsChunked([]string{"hello"}, false, ""), 400, "IncompleteBody", ""},
		{"aws-chunked huge size", "PUT", "/storage/bkt/ac12", chunkedHeaders("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "5", ""), "ffffffffffffffff\r\nhello\r\n", 400, "IncompleteBody", ""},
		{"range syntax ignored", "GET", "/storage/bkt/obj", map[string]string{"Range": "bytes=abc"}, "", 200, "", ""},
		{"multiple ranges ignored", "GET", "/storage/bkt/obj", map[string]string{"Range": "bytes=0-1,3-4"}, "", 200, "", ""},
		{"range", "GET", "/storage/bkt/obj", map[string]string{"Range": "bytes=2-4"}, "", 206, "", ""},
		{"range past end", "GET", "/storage/bkt/obj", map[string]string{"Range": "bytes=10-"}, "", 416, "InvalidRange", ""},
		{"max-keys", "GET", "/storage/bkt?list-type=2&max-keys=-1", nil, "", 400, "InvalidArgument", ""},
		{"max-keys word", "GET", "/storage/bkt?max-keys=ten", nil, "", 400, "InvalidArgument", ""},
		{"token", "GET", "/storage/bkt?list-type=2&continuation-token=!!!", nil, "", 400, "InvalidArgument", ""},
		{"encoding-type", "GET", "/storage/bkt?encoding-type=base64", nil, "", 400, "InvalidArgument", ""},
		{"list missing bucket", "GET", "/storage/nobucket?list-type=2", nil, "", 404, "NoSuchBucket", ""},
		{"part number", "PUT", "/storage/bkt/obj?partNumber=0&uploadId=x", nil, "x", 400, "InvalidArgument", ""},
		{"part number big", "PUT", "/storage/bkt/obj?partNumber=10001&uploadId=x", nil, "x", 400, "InvalidArgument", ""},
		{"unknown upload", "PUT", "/storage/bkt/obj?partNumber=1&uploadId=0123456789abcdef0123456789abcdef", nil, "x", 404, "NoSuchUpload", ""},
		{"hostile upload id", "PUT", "/storage/bkt/obj?partNumber=1&uploadId=..%2F..%2Fx", nil, "x", 404, "NoSuchUpload", ""},
		{"complete malformed", "POST", "/storage/bkt/obj?uploadId=x", nil, "<CompleteMultipartUpload><Part>", 400, "MalformedXML", ""},
		{"complete empty", "POST", "/storage/bkt/obj?uploadId=x", nil, "<CompleteMultipartUpload></CompleteMultipartUpload>", 400, "MalformedXML", ""},
		{"complete wrong root", "POST", "/storage/bkt/obj?uploadId=x", nil, "<Other><Part><PartNumber>1</PartNumber></Part></Other>", 400, "MalformedXML", ""},
		{"complete bad number", "POST", "/storage/bkt/obj?uploadId=x", nil, "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part></CompleteMultipartUpload>", 400, "MalformedXML", ""},
		{"complete too big", "POST", "/storage/bkt/obj?uploadId=x", nil, "<CompleteMultipartUpload>" + strings.Repeat("<Part><PartNumber>1</PartNumber></Part>", 200) + "</CompleteMultipartUpload>", 400, "MalformedXML", ""},
		{"complete unknown upload", "POST", "/storage/bkt/obj?uploadId=x", nil, `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`, 404, "NoSuchUpload", ""},
		{"abort unknown", "DELETE", "/storage/bkt/obj?uploadId=x", nil, "", 404, "NoSuchUpload", ""},
		{"delete objects malformed", "POST", "/storage/bkt?delete", nil, "<Delete><Object>", 400, "MalformedXML", ""},
		{"delete objects empty", "POST", "/storage/bkt?delete", nil, "<Delete></Delete>", 400, "MalformedXML", ""},
		{"post object", "POST", "/storage/bkt", nil, "x", 501, "NotImplemented", ""},
		{"no auth at all", "PUT", "/storage/bkt/anon", nil, "anon", 200, "", "anon"},
		{"garbage auth", "PUT", "/storage/bkt/g", map[string]string{"Authorization": "AWS4-HMAC-SHA256 garbage"}, "g", 200, "", "g"},
		{"cos auth", "PUT", "/storage/bkt/c", map[string]string{"Authorization": "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=x"}, "c", 200, "", "c"},
		{"sigv2 auth", "PUT", "/storage/bkt/v2", map[string]string{"Authorization": "AWS AKID:c2ln"}, "v2", 200, "", "v2"},
		{"presigned", "GET", "/storage/bkt/v2?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00", nil, "", 200, "", ""},
		{"virtual host", "GET", "/obj", map[string]string{"Host": "bkt.cos.ap-guangzhou.myqcloud.com"}, "", 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			resp, body := raw(t, e, tc.method, target, tc.header, tc.body)
			var doc errorXML
			if resp.StatusCode >= 300 && tc.method != "HEAD" {
				if err := xml.Unmarshal(body, &doc); err != nil {
					t.Errorf("error body is not an S3 error document: %q", body)
				}
			}
			if resp.StatusCode != tc.status || (tc.code != "" && doc.Code != tc.code) {
				t.Errorf("%s %.60s: %d %s (%s), want %d %s", tc.method, target, resp.StatusCode, doc.Code, doc.Message, tc.status, tc.code)
			}
			if resp.StatusCode >= 300 && tc.method == "PUT" && !strings.Contains(target, "?") {
				if r, _ := raw(t, e, "HEAD", target, nil, ""); r.StatusCode != 404 && r.StatusCode != 400 && !strings.HasSuffix(target, "/obj") {
					t.Errorf("a refused PUT left an object: HEAD %d", r.StatusCode)
				}
			}
			if tc.get != "" {
				_, got := raw(t, e, "GET", target, nil, "")
				if string(got) != tc.get {
					t.Errorf("stored %q, want %q", got, tc.get)
				}
			}
		})
	}
}
