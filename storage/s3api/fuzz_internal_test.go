package s3api

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

func FuzzCompleteXML(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><CompleteMultipartUpload><Part><PartNumber>&e;</PartNumber></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber></Part>`))
	f.Add([]byte(`<a:CompleteMultipartUpload xmlns:a="x"><a:Part><a:PartNumber>1</a:PartNumber></a:Part></a:CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := parseComplete(data)
		if err != nil {
			if _, ok := storage.As(err); !ok {
				t.Fatalf("not a storage error: %v", err)
			}
			return
		}
		if len(parts) == 0 || len(parts) > storage.MaxPartNumber {
			t.Fatalf("%d parts accepted", len(parts))
		}
	})
}

// FuzzAWSChunked decodes arbitrary aws-chunked bodies: no panic, no more content than
// the body holds, and a clean encoding of any content decodes back to it.
func FuzzAWSChunked(f *testing.F) {
	f.Add([]byte("5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), []byte("hello"))
	f.Add([]byte("0\r\n\r\n"), []byte{})
	f.Add([]byte("ffffffffffffffff\r\nx\r\n"), []byte("x"))
	f.Add([]byte("-1\r\n"), []byte("ab"))
	f.Fuzz(func(t *testing.T, body, content []byte) {
		c := &chunkReader{r: bufio.NewReaderSize(bytes.NewReader(body), 16), left: -1}
		out, err := io.ReadAll(io.LimitReader(c, int64(len(body))+1))
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from a body of %d", len(out), len(body))
		}
		if err != nil {
			if _, ok := storage.As(err); !ok {
				t.Fatalf("not a storage error: %v", err)
			}
		}
		// round trip
		var enc bytes.Buffer
		for rest := content; len(rest) > 0; {
			n := min(len(rest), 7)
			enc.WriteString(strconv.FormatInt(int64(n), 16) + ";chunk-signature=00\r\n")
			enc.Write(rest[:n])
			enc.WriteString("\r\n")
			rest = rest[n:]
		}
		enc.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
		c = &chunkReader{r: bufio.NewReaderSize(&enc, 16), left: -1}
		out, err = io.ReadAll(c)
		if err != nil || !bytes.Equal(out, content) || c.trailers["x-amz-checksum-crc32"] != "AAAAAA==" {
			t.Fatalf("round trip: %q %v %v", out, err, c.trailers)
		}
	})
}

func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=-5", "bytes=3-", "bytes=9-2", "bytes=--1", "bytes=0-99999999999999999999", "items=0-1"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			return
		}
		start, n, partial, err := parseRange(s, size)
		if err != nil {
			if !storage.IsCode(err, storage.CodeInvalidRange) {
				t.Fatal(err)
			}
			return
		}
		if start < 0 || n < 0 || start+n > size || (!partial && (start != 0 || n != size)) {
			t.Fatalf("parseRange(%q, %d) = %d, %d, %v", s, size, start, n, partial)
		}
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "")
	f.Add("q-sign-algorithm=sha1&q-ak=AK&q-signature=%zz", "")
	f.Add("AWS AK:sig", "")
	f.Add("", "X-Amz-Credential=AK%2F2024&q-sign-algorithm=sha1")
	f.Fuzz(func(t *testing.T, header, query string) {
		r, err := http.NewRequest("GET", "http://x/?"+query, nil)
		if err != nil {
			return
		}
		r.Header.Set("Authorization", header)
		parseAuth(r)
	})
}
