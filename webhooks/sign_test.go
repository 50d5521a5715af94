package webhooks

import "testing"

// The expected value was computed independently with Python's hmac and base64 modules.
func TestSign(t *testing.T) {
	body := []byte(`{"EventGroupId":1,"EventType":103}`)
	const want = "CNBX6pn+pBCJoCPi2XkR76Zz13x5+6g8Fn5n8zeGp18="
	if got := Sign("1234567890abcdef", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify("1234567890abcdef", body, want) {
		t.Fatal("Verify rejected a good signature")
	}
	for _, bad := range []struct{ key, body, sign string }{
		{"1234567890abcdeg", string(body), want},
		{"1234567890abcdef", string(body) + " ", want},
		{"1234567890abcdef", string(body), "not base64!"},
	} {
		if Verify(bad.key, []byte(bad.body), bad.sign) {
			t.Fatalf("Verify accepted %+v", bad)
		}
	}
}
