package storage

import (
	"net/netip"
	"unicode/utf8"
)

// CheckBucket accepts S3's bucket names (3 to 63 of a-z 0-9 . -, starting and ending
// with a letter or digit, no "..", not an IPv4 address); COS names ("name-appid") are a
// subset. A valid name is a single, harmless path component.
func CheckBucket(name string) error {
	bad := func(why string) error {
		return New(CodeInvalidBucketName, "The specified bucket is not valid: %s.", why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("length must be 3 to 63")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' || c == '.':
			if i == 0 || i == len(name)-1 {
				return bad("must start and end with a letter or digit")
			}
			if c == '.' && (name[i-1] == '.' || name[i-1] == '-' || name[i+1] == '-') {
				return bad("dots may not be adjacent to dots or hyphens")
			}
		default:
			return bad("only lowercase letters, digits, dots and hyphens")
		}
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return bad("must not be an IP address")
	}
	return nil
}

// CheckKey accepts object keys of 1 to 1024 bytes of UTF-8 without control characters.
// S3 allows control characters, but they cannot be written in its XML listings, and no
// recording needs them. Everything else ("../x", "/etc/passwd", "C:\x", "%2e%2e") is a
// legal key: backends must never turn keys into paths.
func CheckKey(key string) error {
	if key == "" {
		return New(CodeInvalidObjectName, "The object key must not be empty.")
	}
	if len(key) > MaxKeyLength {
		return New(CodeKeyTooLong, "Your key is too long")
	}
	if !utf8.ValidString(key) {
		return New(CodeInvalidObjectName, "The object key is not valid UTF-8.")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return New(CodeInvalidObjectName, "The object key must not contain control characters.")
		}
	}
	return nil
}
