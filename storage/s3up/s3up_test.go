package s3up_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trtc-emulator/trtc-emulator/storage"
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
	"github.com/trtc-emulator/trtc-emulator/storage/s3up"
	"github.com/trtc-emulator/trtc-emulator/storage/storagetest"
)

// serve starts h on a real listener on 127.0.0.1.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// emulator serves an embedded store under /storage, as the emulator's listener does.
func emulator(t *testing.T) string {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := s3api.New(st, s3api.Config{Prefix: "/storage"})
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Match(r) {
			h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})) + "/storage"
}

func TestConformanceThroughS3API(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return s3up.NewS3(s3up.Config{Endpoint: emulator(t), Region: "ap-guangzhou", AccessKey: "AKIDtest", SecretKey: "secret", PartSize: storage.MinPartSize})
	})
}

// TestConformanceGofakes3 proves the uploader against an S3 server that is not ours.
func TestConformanceGofakes3(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		backend := s3mem.New()
		if err := backend.CreateBucket(storagetest.Bucket); err != nil {
			t.Fatal(err)
		}
		url := serve(t, gofakes3.New(backend).Server())
		return s3up.NewS3(s3up.Config{Endpoint: url, Region: "us-east-1", AccessKey: "a", SecretKey: "b", PartSize: storage.MinPartSize})
	})
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := s3up.NewS3(s3up.Config{Endpoint: "http://" + addr, AccessKey: "a", SecretKey: "b", MaxAttempts: 1})
	_, err = s.Head(t.Context(), "bkt", "k")
	if !storage.IsCode(err, storage.CodeNetworkError) {
		t.Errorf("Head on a closed port: %v, want NetworkError", err)
	}
	s = s3up.NewS3(s3up.Config{Endpoint: "::not a url", AccessKey: "a", SecretKey: "b"})
	if _, err := s.Head(t.Context(), "bkt", "k"); !storage.IsCode(err, storage.CodeInvalidArgument) {
		t.Errorf("bad endpoint: %v, want InvalidArgument", err)
	}
}

// TestServiceErrors: the service's Code and Message reach the caller unchanged, for the
// 308 callback; body-less HEAD answers get a code from their status.
func TestServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		status      int
		code, msg   string
		wantHeadErr string
		permanent   bool // a refusal retrying will not change (the recorder gives up on it)
	}{
		{403, "AccessDenied", "Access Denied", storage.CodeAccessDenied, true},
		{403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", storage.CodeAccessDenied, true},
		{503, "SlowDown", "Please reduce your request rate.", storage.CodeServiceUnavailable, false},
		{404, "NoSuchBucket", "The specified bucket does not exist", storage.CodeNoSuchBucket, true},
		{429, "Throttling", "Too many requests.", "Too Many Requests", false},
		{400, "InvalidBucketName", "The specified bucket is not valid.", storage.CodeInvalidRequest, true},
	} {
		url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(tc.status)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>", tc.code, tc.msg)
			}
		}))
		s := s3up.NewS3(s3up.Config{Endpoint: url, AccessKey: "a", SecretKey: "b", MaxAttempts: 1})
		err := s.Put(t.Context(), "bkt", "k", strings.NewReader("x"), 1, "")
		if e, ok := storage.As(err); !ok || e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("Put: %v, want %s: %s", err, tc.code, tc.msg)
		} else if e.Status != tc.status || e.Permanent() != tc.permanent {
			t.Errorf("Put: %v has status %d, permanent %v; want %d, %v", err, e.Status, e.Permanent(), tc.status, tc.permanent)
		}
		_, err = s.Head(t.Context(), "bkt", "k")
		if !storage.IsCode(err, tc.wantHeadErr) {
			t.Errorf("Head with %d: %v, want %s", tc.status, err, tc.wantHeadErr)
		}
	}
}
