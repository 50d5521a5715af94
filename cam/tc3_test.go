package cam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
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

// docSigned signs a request step by step as Tencent's "Signature v3" document and its
// demo programs do (TencentCloud/signature-process-demo), independently of the package's
// own canonicalisation: header names and values lower-cased and trimmed, here with
// x-tc-action signed too. canonicalValue lets a case sign values another way.
func docSigned(t *testing.T, signedHeaders []string, canonicalValue func(name, value string) string) *Request {
	t.Helper()
	const ts = "1795489416"
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-TC-Action", "DescribeRoomInfo")
	h.Set("X-TC-Timestamp", ts)
	r := &Request{Method: "POST", Host: "127.0.0.1:18080", Path: "/", Header: h,
		Body: []byte(`{"SdkAppId":1400000001,"StartTime":1795485816,"EndTime":1795489416}`)}
	hexSum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	canonicalHeaders := ""
	for _, name := range signedHeaders {
		value := h.Get(name)
		if name == "host" {
			value = r.Host
		}
		canonicalHeaders += name + ":" + canonicalValue(name, value) + "\n"
	}
	canonical := "POST\n/\n\n" + canonicalHeaders + "\n" + strings.Join(signedHeaders, ";") + "\n" + hexSum(r.Body)
	scope := "2026-11-24/trtc/tc3_request"
	stringToSign := "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + hexSum([]byte(canonical))
	key := mac(mac(mac([]byte("TC3"+testKey.SecretKey), "2026-11-24"), "trtc"), "tc3_request")
	h.Set("Authorization", "TC3-HMAC-SHA256 Credential="+testKey.SecretId+"/"+scope+", SignedHeaders="+
		strings.Join(signedHeaders, ";")+", Signature="+hex.EncodeToString(mac(key, stringToSign)))
	return r
}

func lowerTrimmed(_, v string) string { return strings.ToLower(strings.TrimSpace(v)) }

// TestVerifyTC3DocumentForm: a client signing exactly as Tencent's document shows
// (x-tc-action:describeroominfo) is accepted; the as-sent value (DescribeRoomInfo) is
// not, as the document's algorithm would not produce it.
func TestVerifyTC3DocumentForm(t *testing.T) {
	withAction := []string{"content-type", "host", "x-tc-action"}
	if _, err := VerifyTC3(docSigned(t, withAction, lowerTrimmed), lookupTestKey, vectorNow); err != nil {
		t.Fatalf("document form rejected: %v", err)
	}
	if _, err := VerifyTC3(docSigned(t, []string{"content-type", "host"}, lowerTrimmed), lookupTestKey, vectorNow); err != nil {
		t.Fatalf("document form without x-tc-action rejected: %v", err)
	}
	asSent := func(_, v string) string { return v }
	_, err := VerifyTC3(docSigned(t, withAction, asSent), lookupTestKey, vectorNow)
	if !tcerr.Is(err, tcerr.CodeSignatureFailure) {
		t.Fatalf("as-sent value x-tc-action:DescribeRoomInfo: err = %v, want %s", err, tcerr.CodeSignatureFailure)
	}
	// Padding around a value is trimmed before signing.
	r := docSigned(t, withAction, lowerTrimmed)
	r.Header.Set("X-TC-Action", "  DescribeRoomInfo ")
	if _, err := VerifyTC3(r, lookupTestKey, vectorNow); err != nil {
		t.Fatalf("padded value rejected: %v", err)
	}
}

// TestVerifyTC3MandatorySignedHeaders: content-type and host must both be signed; a
// signature that is otherwise correct over fewer headers is refused as malformed.
func TestVerifyTC3MandatorySignedHeaders(t *testing.T) {
	for _, signed := range [][]string{{"host"}, {"content-type"}, {"host", "x-tc-action"}, {"content-type", "x-tc-action"}} {
		_, err := VerifyTC3(docSigned(t, signed, lowerTrimmed), lookupTestKey, vectorNow)
		if !tcerr.Is(err, tcerr.CodeInvalidAuthorization) {
			t.Errorf("SignedHeaders=%s: err = %v, want %s", strings.Join(signed, ";"), err, tcerr.CodeInvalidAuthorization)
		}
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
	f.Add("TC3-HMAC-SHA256 Credential=a/2026-01-01/trtc/tc3_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32))
	f.Add("TC3-HMAC-SHA256 Credential=a/2026-01-01/trtc/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=" + strings.Repeat("ab", 32))
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
		if a.SecretId == "" || a.Service == "" || len(a.Signature) != 32 ||
			!slices.Contains(a.SignedHeaders, "content-type") || !slices.Contains(a.SignedHeaders, "host") {
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
