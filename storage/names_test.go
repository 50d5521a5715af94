package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckBucket(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"records-1250000000", true}, {"abc", true}, {"a.b-c", true}, {strings.Repeat("a", 63), true},
		{"ab", false}, {strings.Repeat("a", 64), false}, {"Records", false}, {"a_b", false},
		{"-ab", false}, {"ab-", false}, {".ab", false}, {"ab.", false}, {"a..b", false}, {"a.-b", false},
		{"a-.b", false}, {"192.168.1.1", false}, {"..", false}, {"../x", false}, {"a/b", false},
		{"a\\b", false}, {"a\x00b", false}, {"", false}, {"%2e%2e", false}, {"é-bucket", false},
	} {
		err := CheckBucket(tc.name)
		if (err == nil) != tc.ok || (err != nil && !IsCode(err, CodeInvalidBucketName)) {
			t.Errorf("CheckBucket(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		code string
	}{
		{"a", ""}, {"../x", ""}, {"/etc/passwd", ""}, {`C:\x`, ""}, {"录制.ts", ""}, {strings.Repeat("k", 1024), ""},
		{"", CodeInvalidObjectName}, {strings.Repeat("k", 1025), CodeKeyTooLong}, {"a\x00b", CodeInvalidObjectName},
		{"a\tb", CodeInvalidObjectName}, {"a\x7fb", CodeInvalidObjectName}, {"\xff", CodeInvalidObjectName},
	} {
		err := CheckKey(tc.key)
		if tc.code == "" && err != nil || tc.code != "" && !IsCode(err, tc.code) {
			t.Errorf("CheckKey(%.20q) = %v, want %q", tc.key, err, tc.code)
		}
	}
}

func TestError(t *testing.T) {
	err := fmt.Errorf("upload: %w", ErrNoSuchBucket())
	if !errors.Is(err, &Error{Code: CodeNoSuchBucket}) || errors.Is(err, &Error{Code: CodeNoSuchKey}) {
		t.Error("errors.Is by code")
	}
	e, ok := As(err)
	if !ok || e.Code != CodeNoSuchBucket || e.Error() != "NoSuchBucket: The specified bucket does not exist" {
		t.Errorf("As: %v %v", e, ok)
	}
	if IsCode(errors.New("x"), CodeNoSuchKey) || IsCode(nil, CodeNoSuchKey) {
		t.Error("IsCode of a plain error")
	}
	if New(CodeInvalidArgument, "%d%%", 5).Message != "5%" {
		t.Error("New formats")
	}
}
