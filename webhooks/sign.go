package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// Sign is the value of a callback's Sign header: base64(HMAC-SHA256(key, body)) over the
// exact bytes sent (seed: "Verify Signature Example").
func Sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sign is the signature of body under key, in constant time.
func Verify(key string, body []byte, sign string) bool {
	got, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}
