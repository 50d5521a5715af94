package s3api_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// FuzzHandler feeds whole requests to the handler over a real embedded store: whatever
// the bytes, no panic, no 5xx but 501, and every error is an S3 error document.
func FuzzHandler(f *testing.F) {
	seeds := []string{
		"GET /storage HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT /storage/bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"PUT /storage/bkt/k%2F..%2F.. HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-MD5: xx\r\n\r\nh",
		"PUT /storage/bkt/k HTTP/1.1\r\nHost: x\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 5\r\nx-amz-trailer: x-amz-checksum-crc32\r\nContent-Length: 46\r\n\r\n5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
		"GET /storage/bkt?list-type=2&delimiter=/&prefix=a&max-keys=1&continuation-token=YQ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /storage/bkt?marker=a/&delimiter=/&encoding-type=url HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /storage/bkt/k?uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /storage/bkt/k?uploadId=00000000000000000000000000000000 HTTP/1.1\r\nHost: x\r\nContent-Length: 79\r\n\r\n<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
		"POST /storage/bkt?delete HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n\r\n<Delete><Object><Key>k</Key></Object></Delete>",
		"GET /storage/bkt/k HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\nIf-None-Match: *\r\n\r\n",
		"GET /k HTTP/1.1\r\nHost: bkt.cos.ap-guangzhou.myqcloud.com\r\n\r\n",
		"DELETE /storage/bkt HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /storage/bkt HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	st, err := embedded.Open(f.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	h := s3api.New(st, s3api.Config{Prefix: "/storage", MaxObjectSize: 1 << 16, MaxXMLSize: 1 << 14})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s: %d %s", r.Method, r.RequestURI, w.Code, w.Body)
		}
		if w.Code >= 400 && r.Method != http.MethodHead {
			var doc struct {
				XMLName xml.Name `xml:"Error"`
				Code    string
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Code == "" || strings.ContainsAny(doc.Code, " <") {
				t.Fatalf("%s %s: %d, not an error document: %q", r.Method, r.RequestURI, w.Code, w.Body)
			}
		}
	})
}
