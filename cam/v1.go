package cam

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// V1Params are the common parameters of the legacy signature style; they are not action
// parameters and are removed before decoding.
var V1Params = []string{"Action", "Version", "Region", "Timestamp", "Nonce", "SecretId",
	"Signature", "SignatureMethod", "Token", "Language", "RequestClient"}

// VerifyV1 checks a request signed with the legacy HmacSHA1/HmacSHA256 "Signature"
// parameter (form body or query). StringToSign is method + host + path + "?" + the sorted
// raw key=value pairs; the Go SDK signs the host with port, so that is tried first.
func VerifyV1(r *Request, params url.Values, lookup KeyLookup, now time.Time) (Key, error) {
	for _, name := range []string{"SecretId", "Signature", "Timestamp", "Nonce"} {
		if params.Get(name) == "" {
			return Key{}, tcerr.MissingParameter(name)
		}
	}
	var newHash func() hash.Hash
	switch m := params.Get("SignatureMethod"); m {
	case "", "HmacSHA1":
		newHash = sha1.New
	case "HmacSHA256":
		newHash = sha256.New
	default:
		return Key{}, tcerr.InvalidParameterValue("SignatureMethod", "it must be HmacSHA1 or HmacSHA256, not "+strconv.Quote(m))
	}
	ts, err := strconv.ParseInt(params.Get("Timestamp"), 10, 64)
	if err != nil {
		return Key{}, tcerr.InvalidParameter("Timestamp", "it must be a Unix time in seconds")
	}
	sig, err := base64.StdEncoding.DecodeString(params.Get("Signature"))
	if err != nil {
		return Key{}, tcerr.InvalidParameter("Signature", "it must be standard base64")
	}
	key, ok, err := lookup(params.Get("SecretId"))
	if err != nil {
		return Key{}, tcerr.InternalError("key lookup failed")
	}
	if !ok {
		return Key{}, tcerr.SecretIdNotFound(params.Get("SecretId"))
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return Key{}, tcerr.SignatureExpire(ts, now.Unix())
	}
	query := v1SortedParams(params)
	path := r.Path
	if path == "" {
		path = "/"
	}
	for _, host := range hostForms(r.Host) {
		mac := hmac.New(newHash, []byte(key.SecretKey))
		mac.Write([]byte(r.Method + host + path + "?" + query))
		if hmac.Equal(mac.Sum(nil), sig) {
			return key, nil
		}
	}
	return Key{}, tcerr.SignatureFailure()
}

// SignV1 adds SecretId, SignatureMethod and Signature to params as the Go SDK does.
func SignV1(key Key, method, host, path string, params url.Values, signatureMethod string) {
	params.Set("SecretId", key.SecretId)
	params.Set("SignatureMethod", signatureMethod)
	params.Del("Signature")
	newHash := sha1.New
	if signatureMethod == "HmacSHA256" {
		newHash = sha256.New
	}
	mac := hmac.New(newHash, []byte(key.SecretKey))
	mac.Write([]byte(method + host + path + "?" + v1SortedParams(params)))
	params.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func v1SortedParams(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	return b.String()
}
