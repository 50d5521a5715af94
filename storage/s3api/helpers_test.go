package s3api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// env is an embedded store served under /storage on 127.0.0.1, as on the emulator's
// listener; requests outside the prefix get 404 from "the rest of the emulator".
type env struct {
	dir   string
	store *embedded.Store
	h     *s3api.Handler
	ts    *httptest.Server
	url   string // the S3 endpoint: <server>/storage
}

func newEnv(t testing.TB, tls bool, cfg s3api.Config) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	var err error
	e.store, err = embedded.Open(e.dir, embedded.Options{NoSync: true, MinPartSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	if cfg.Prefix == "" {
		cfg.Prefix = "/storage"
	}
	e.h = s3api.New(e.store, cfg)
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.h.Match(r) {
			e.h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	if tls {
		e.ts = httptest.NewTLSServer(mux)
	} else {
		e.ts = httptest.NewServer(mux)
	}
	t.Cleanup(e.ts.Close)
	e.url = e.ts.URL + cfg.Prefix
	return e
}

// s3Client is aws-sdk-go-v2 configured as a user would: BaseEndpoint and path style, any
// region and any credentials, and the checksum defaults config.LoadDefaultConfig gives
// (CRC32 on uploads, response validation when supported); LoadDefaultConfig itself is
// not used, so the environment (AWS_CA_BUNDLE…) cannot change the test.
func (e *env) s3Client(region string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     region,
		BaseEndpoint:               aws.String(e.url),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
		HTTPClient:                 e.ts.Client(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}
