package parts

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(b []byte) (int, error) { return o.r.Read(b) }

func TestSplitter(t *testing.T) {
	tests := []struct {
		content  string
		declared int64
		partSize int64
		want     []string
		code     string
	}{
		{"", 0, 4, []string{""}, ""},
		{"", -1, 4, []string{""}, ""},
		{"abcd", 4, 4, []string{"abcd"}, ""},
		{"abcd", -1, 4, []string{"abcd"}, ""},
		{"abcdefghij", 10, 4, []string{"abcd", "efgh", "ij"}, ""},
		{"abcdefghij", -1, 4, []string{"abcd", "efgh", "ij"}, ""},
		{"abcdefgh", -1, 4, []string{"abcd", "efgh"}, ""},
		{"abcdefgh", 8, 4, []string{"abcd", "efgh"}, ""},
		{"abc", 4, 4, nil, storage.CodeIncompleteBody},
		{"abcdefgh", 6, 4, []string{"abcd"}, storage.CodeInvalidRequest},
		{"abcdefgh", 7, 4, []string{"abcd"}, storage.CodeInvalidRequest},
		{"abcdef", 8, 4, []string{"abcd"}, storage.CodeIncompleteBody},
		{"abcd", 8, 4, nil, storage.CodeIncompleteBody},
		{"abcde", 4, 8, nil, storage.CodeInvalidRequest},
	}
	for _, tc := range tests {
		s := New(onlyReader{strings.NewReader(tc.content)}, tc.declared, tc.partSize)
		var got []string
		var err error
		for {
			var p []byte
			p, err = s.Next()
			if err != nil {
				break
			}
			got = append(got, string(p))
		}
		if tc.code == "" && err != io.EOF || tc.code != "" && !storage.IsCode(err, tc.code) {
			t.Errorf("%q declared %d: error %v, want %q", tc.content, tc.declared, err, tc.code)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q declared %d: parts %q, want %q", tc.content, tc.declared, got, tc.want)
		}
	}
	boom := errors.New("boom")
	s := New(io.MultiReader(strings.NewReader("ab"), errReader{boom}), -1, 4)
	if _, err := s.Next(); !errors.Is(err, boom) {
		t.Errorf("failing reader: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
