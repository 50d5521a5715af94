package cam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// TC3Algorithm is the only algorithm name API 3.0 signs with.
const TC3Algorithm = "TC3-HMAC-SHA256"

// MaxClockSkew is how far X-TC-Timestamp may be from the server clock.
const MaxClockSkew = 5 * time.Minute

// Key is an API key: SecretId, its SecretKey, the root account it acts for (Uin) and the
// user it belongs to (User: a sub-user's uin, or Uin itself for the root account's keys).
type Key struct {
	SecretId  string
	SecretKey string
	Uin       string
	User      string
}

// Root reports whether the key is the root account's own: always allowed by CAM.
func (k Key) Root() bool { return k.User == "" || k.User == k.Uin }

// KeyLookup finds the key with a SecretId; ok is false when there is none.
type KeyLookup func(secretId string) (key Key, ok bool, err error)

// Request is what a signature covers, as received.
type Request struct {
	Method   string
	Host     string // the Host header, with port when the client sent one
	Path     string // the escaped URL path
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Authorization is a parsed TC3 Authorization header.
type Authorization struct {
	SecretId      string
	Date          string // YYYY-MM-DD
	Service       string // whatever the client put in the scope (Node puts the endpoint's first label)
	SignedHeaders []string
	Signature     []byte
}

// Scope is the credential scope the signature was made for.
func (a *Authorization) Scope() string { return a.Date + "/" + a.Service + "/tc3_request" }

// ParseAuthorization parses "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
// SignedHeaders=a;b, Signature=<hex>".
func ParseAuthorization(header string) (*Authorization, error) {
	algo, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || algo != TC3Algorithm {
		return nil, tcerr.InvalidAuthorization("it must start with " + TC3Algorithm)
	}
	a := &Authorization{}
	var seen [3]bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, tcerr.InvalidAuthorization("element " + strconv.Quote(part) + " is not key=value")
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 4 || f[0] == "" || f[2] == "" || f[3] != "tc3_request" {
				return nil, tcerr.InvalidAuthorization("Credential must be <SecretId>/<YYYY-MM-DD>/<service>/tc3_request")
			}
			if _, err := time.Parse(time.DateOnly, f[1]); err != nil {
				return nil, tcerr.InvalidAuthorization("the Credential date " + strconv.Quote(f[1]) + " is not YYYY-MM-DD")
			}
			a.SecretId, a.Date, a.Service = f[0], f[1], f[2]
			seen[0] = true
		case "SignedHeaders":
			for _, h := range strings.Split(v, ";") {
				if h == "" || h != strings.ToLower(h) {
					return nil, tcerr.InvalidAuthorization("SignedHeaders must be lower-case names separated by ';'")
				}
				a.SignedHeaders = append(a.SignedHeaders, h)
			}
			// Tencent's signature v3: "content-type and host are mandatory".
			if !slices.Contains(a.SignedHeaders, "content-type") || !slices.Contains(a.SignedHeaders, "host") {
				return nil, tcerr.InvalidAuthorization("SignedHeaders must include content-type and host")
			}
			seen[1] = true
		case "Signature":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return nil, tcerr.InvalidAuthorization("Signature must be 64 hex digits")
			}
			a.Signature = sig
			seen[2] = true
		default:
			return nil, tcerr.InvalidAuthorization("unknown element " + strconv.Quote(k))
		}
	}
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[i] {
			return nil, tcerr.InvalidAuthorization(name + " is missing")
		}
	}
	return a, nil
}

// VerifyTC3 checks a TC3-HMAC-SHA256 signed request and returns the key that signed it.
// Canonical header values are lower-cased and trimmed, as Tencent's signature v3 document
// specifies (x-tc-action:describeroominfo); the official SDKs sign only content-type and
// host, whose values they already send in lower case. The SDKs differ in what they sign
// (Go: host with port and URI "/"; Node: host without port and the real path), so each of
// those forms is accepted.
func VerifyTC3(r *Request, lookup KeyLookup, now time.Time) (Key, error) {
	auth, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return Key{}, err
	}
	tsText := r.Header.Get("X-TC-Timestamp")
	if tsText == "" {
		return Key{}, tcerr.MissingParameter("X-TC-Timestamp")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return Key{}, tcerr.InvalidParameter("X-TC-Timestamp", "it must be a Unix time in seconds")
	}
	key, ok, err := lookup(auth.SecretId)
	if err != nil {
		return Key{}, tcerr.InternalError("key lookup failed")
	}
	if !ok {
		return Key{}, tcerr.SecretIdNotFound(auth.SecretId)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return Key{}, tcerr.SignatureExpire(ts, now.Unix())
	}
	if time.Unix(ts, 0).UTC().Format(time.DateOnly) != auth.Date {
		return Key{}, tcerr.SignatureFailure()
	}
	payloadHash := sha256Hex(r.Body)
	if r.Header.Get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD" {
		payloadHash = sha256Hex([]byte("UNSIGNED-PAYLOAD"))
	}
	signingKey := tc3SigningKey(key.SecretKey, auth.Date, auth.Service)
	for _, host := range hostForms(r.Host) {
		for _, uri := range uriForms(r.Path) {
			canonical := canonicalRequest(r, auth.SignedHeaders, host, uri, payloadHash)
			stringToSign := TC3Algorithm + "\n" + tsText + "\n" + auth.Scope() + "\n" + sha256Hex([]byte(canonical))
			if hmac.Equal(hmacSHA256(signingKey, stringToSign), auth.Signature) {
				return key, nil
			}
		}
	}
	return Key{}, tcerr.SignatureFailure()
}

// SignTC3 computes the Authorization header for a request, as the Go SDK does
// (SignedHeaders content-type;host). Tests and tools use it.
func SignTC3(key Key, service string, r *Request, ts int64) string {
	return SignTC3Headers(key, service, r, ts, []string{"content-type", "host"})
}

// SignTC3Headers is SignTC3 over the given lower-case header names, in that order
// (Tencent's document sorts them and signs x-tc-action too).
func SignTC3Headers(key Key, service string, r *Request, ts int64, signedHeaders []string) string {
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	uri := r.Path
	if uri == "" {
		uri = "/"
	}
	canonical := canonicalRequest(r, signedHeaders, r.Host, uri, sha256Hex(r.Body))
	scope := date + "/" + service + "/tc3_request"
	sts := TC3Algorithm + "\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	sig := hmacSHA256(tc3SigningKey(key.SecretKey, date, service), sts)
	return TC3Algorithm + " Credential=" + key.SecretId + "/" + scope + ", SignedHeaders=" + strings.Join(signedHeaders, ";") +
		", Signature=" + hex.EncodeToString(sig)
}

func canonicalRequest(r *Request, signedHeaders []string, host, uri, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(r.RawQuery)
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		v := host
		if h != "host" {
			v = r.Header.Get(h)
		}
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(strings.ToLower(strings.TrimSpace(v)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func tc3SigningKey(secretKey, date, service string) []byte {
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "tc3_request")
}

// hostForms is the Host header as sent, then without its port (Node signs the hostname).
func hostForms(host string) []string {
	if h, _, err := net.SplitHostPort(host); err == nil && h != "" {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		return []string{host, h}
	}
	return []string{host}
}

// uriForms is "/" (what Go always signs), then the real path (what Node signs).
func uriForms(path string) []string {
	if path == "" || path == "/" {
		return []string{"/"}
	}
	return []string{"/", path}
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
