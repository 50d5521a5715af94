package cam

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

var testKey = Key{SecretId: "AKIDexampleSecretId0000000000000000", SecretKey: "exampleSecretKey00000000000000000", Uin: "100000000001"}

func lookupTestKey(id string) (Key, bool, error) {
	if id == testKey.SecretId {
		return testKey, true, nil
	}
	return Key{}, false, nil
}

// The vector captured from tencentcloud-sdk-go common v1.3.210 (research/api-protocol.md §1.3).
func vectorRequest() *Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-TC-Timestamp", "1795489416")
	h.Set("Authorization", "TC3-HMAC-SHA256 Credential=AKIDexampleSecretId0000000000000000/2026-11-24/trtc/tc3_request, SignedHeaders=content-type;host, Signature=8ab21d61d4036f800dd286e4c41b8a4a7596fcdbe7f8f78e73e8a355d89f6114")
	return &Request{Method: "POST", Host: "127.0.0.1:18080", Path: "/", Header: h,
		Body: []byte(`{"SdkAppId":1400000001,"TaskId":"task-abc"}`)}
}

var vectorNow = time.Unix(1795489416, 0)

func TestVerifyTC3SDKVector(t *testing.T) {
	key, err := VerifyTC3(vectorRequest(), lookupTestKey, vectorNow)
	if err != nil {
		t.Fatalf("the Go SDK's own signature was rejected: %v", err)
	}
	if key.Uin != testKey.Uin {
		t.Fatalf("uin = %q", key.Uin)
	}
	r := vectorRequest()
	if got, want := SignTC3(testKey, "trtc", r, 1795489416), r.Header.Get("Authorization"); got != want {
		t.Fatalf("SignTC3 =\n%s\nwant\n%s", got, want)
	}
}

func TestVerifyTC3Errors(t *testing.T) {
	// nodeStyle signs like tencentcloud-sdk-nodejs: hostname without port, real path, scope service "127".
	nodeStyle := func(path string) *Request {
		r := vectorRequest()
		r.Path = path
		signed := *r
		signed.Host = "127.0.0.1"
		auth := SignTC3(testKey, "127", &signed, 1795489416)
		r.Header.Set("Authorization", auth)
		return r
	}
	cases := []struct {
		name   string
		mutate func(r *Request) *Request
		code   string // "" = accepted
	}{
		{"sdk vector", func(r *Request) *Request { return r }, ""},
		{"node style host without port", func(*Request) *Request { return nodeStyle("/") }, ""},
		{"node style real path", func(*Request) *Request { return nodeStyle("/sub/path/") }, ""},
		{"unsigned payload", func(r *Request) *Request {
			r.Header.Set("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD")
			return r
		}, tcerr.CodeSignatureFailure},
		{"body changed", func(r *Request) *Request { r.Body = append(r.Body, ' '); return r }, tcerr.CodeSignatureFailure},
		{"host changed", func(r *Request) *Request { r.Host = "127.0.0.1:18081"; return r }, tcerr.CodeSignatureFailure},
		{"content type changed", func(r *Request) *Request {
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			return r
		}, tcerr.CodeSignatureFailure},
		{"method changed", func(r *Request) *Request { r.Method = "GET"; return r }, tcerr.CodeSignatureFailure},
		{"query added", func(r *Request) *Request { r.RawQuery = "a=1"; return r }, tcerr.CodeSignatureFailure},
		{"wrong key", func(r *Request) *Request {
			r.Header.Set("Authorization", SignTC3(Key{SecretId: testKey.SecretId, SecretKey: "other"}, "trtc", r, 1795489416))
			return r
		}, tcerr.CodeSignatureFailure},
		{"unknown secret id", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDexample", "AKIDunknown", 1))
			return r
		}, tcerr.CodeSecretIdNotFound},
		{"timestamp 301 s old", func(r *Request) *Request { r.Header.Set("X-TC-Timestamp", "1795489115"); return r }, tcerr.CodeSignatureExpire},
		{"timestamp 301 s ahead", func(r *Request) *Request { r.Header.Set("X-TC-Timestamp", "1795489717"); return r }, tcerr.CodeSignatureExpire},
		{"timestamp 299 s old still signed for other ts", func(r *Request) *Request { r.Header.Set("X-TC-Timestamp", "1795489117"); return r }, tcerr.CodeSignatureFailure},
		{"timestamp missing", func(r *Request) *Request { r.Header.Del("X-TC-Timestamp"); return r }, tcerr.CodeMissingParameter},
		{"timestamp not a number", func(r *Request) *Request { r.Header.Set("X-TC-Timestamp", "soon"); return r }, tcerr.CodeInvalidParameter},
		{"scope date not the timestamp's", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "2026-11-24", "2026-11-23", 1))
			return r
		}, tcerr.CodeSignatureFailure},
		{"scope service changed", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/trtc/", "/cam/", 1))
			return r
		}, tcerr.CodeSignatureFailure},
		{"no authorization", func(r *Request) *Request { r.Header.Del("Authorization"); return r }, tcerr.CodeInvalidAuthorization},
		{"other algorithm", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "TC3-HMAC-SHA256", "AWS4-HMAC-SHA256", 1))
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"credential short", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/trtc/tc3_request", "/tc3_request", 1))
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"credential bad date", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "2026-11-24", "20261124", 1))
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"signature not hex", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=8ab2", "Signature=zzzz", 1))
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"signature missing", func(r *Request) *Request {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature")])
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"signed headers upper case", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;host", "Content-Type;host", 1))
			return r
		}, tcerr.CodeInvalidAuthorization},
		{"signed headers reordered", func(r *Request) *Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;host", "host;content-type", 1))
			return r
		}, tcerr.CodeSignatureFailure},
		{"unknown element", func(r *Request) *Request {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+", Extra=1")
			return r
		}, tcerr.CodeInvalidAuthorization},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyTC3(tc.mutate(vectorRequest()), lookupTestKey, vectorNow)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !tcerr.Is(err, tc.code) {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
		})
	}
}

func TestVerifyV1(t *testing.T) {
	for _, method := range []string{"HmacSHA1", "HmacSHA256"} {
		params := url.Values{"Action": {"DescribeRoomInfo"}, "Version": {"2019-07-22"}, "SdkAppId": {"1400000001"},
			"Timestamp": {"1795489416"}, "Nonce": {"42"}, "Region": {"ap-guangzhou"}}
		SignV1(testKey, "POST", "127.0.0.1:18080", "/", params, method)
		r := &Request{Method: "POST", Host: "127.0.0.1:18080", Path: "/", Header: http.Header{}}
		if _, err := VerifyV1(r, params, lookupTestKey, vectorNow); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		params.Set("SdkAppId", "1400000002")
		if _, err := VerifyV1(r, params, lookupTestKey, vectorNow); !tcerr.Is(err, tcerr.CodeSignatureFailure) {
			t.Fatalf("%s tampered: err = %v", method, err)
		}
		params.Set("SdkAppId", "1400000001")
		if _, err := VerifyV1(r, params, lookupTestKey, vectorNow.Add(10*time.Minute)); !tcerr.Is(err, tcerr.CodeSignatureExpire) {
			t.Fatalf("%s late: err = %v", method, err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(vectorRequest().Header.Get("Authorization"))
	f.Add("TC3-HMAC-SHA256 Credential=a/2026-01-01/trtc/tc3_request, SignedHeaders=host, Signature=00")
	f.Add("TC3-HMAC-SHA256 ,,,==")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if !tcerr.Is(err, tcerr.CodeInvalidAuthorization) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if a.SecretId == "" || a.Service == "" || len(a.Signature) != 32 || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted an incomplete header %q: %+v", header, a)
		}
		r := vectorRequest()
		r.Header.Set("Authorization", header)
		_, _ = VerifyTC3(r, lookupTestKey, vectorNow)
	})
}

func BenchmarkVerifyTC3(b *testing.B) {
	r := vectorRequest()
	for b.Loop() {
		if _, err := VerifyTC3(r, lookupTestKey, vectorNow); err != nil {
			b.Fatal(err)
		}
	}
}
