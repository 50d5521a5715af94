package webhooks

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestStamp(t *testing.T) {
	at := time.UnixMilli(1741064767123)
	for _, tc := range []struct{ name, body, field, want string }{
		{"room event", `{"EventGroupId":1,"EventType":103,"CallbackTs":1,"EventInfo":{"RoomId":5,"CallbackTs":2}}`, "CallbackTs",
			`{"EventGroupId":1,"EventType":103,"CallbackTs":1741064767123,"EventInfo":{"RoomId":5,"CallbackTs":2}}`},
		{"nested field of the same name first", `{"EventInfo":{"CallbackTs":2},"CallbackTs":0}`, "CallbackTs",
			`{"EventInfo":{"CallbackTs":2},"CallbackTs":1741064767123}`},
		{"spaces kept", "{ \"CallbackTs\" :  0 , \"x\":\"CallbackTs\"}", "CallbackTs", "{ \"CallbackTs\" :  1741064767123 , \"x\":\"CallbackTs\"}"},
		{"stream ingest names it CallbackMsTs", `{"EventGroupId":7,"CallbackMsTs":0}`, "CallbackMsTs", `{"EventGroupId":7,"CallbackMsTs":1741064767123}`},
		{"a string value is replaced too", `{"CallbackTs":"x"}`, "CallbackTs", `{"CallbackTs":1741064767123}`},
	} {
		got, ok := Stamp([]byte(tc.body), tc.field, at)
		if !ok || string(got) != tc.want {
			t.Errorf("%s: Stamp = %s, %v; want %s", tc.name, got, ok, tc.want)
		}
	}
	for _, body := range []string{``, `[]`, `{"EventInfo":{"CallbackTs":1}}`, `{"CallbackTs":`, `{"a":1,,"CallbackTs":1}`, `"CallbackTs"`} {
		if got, ok := Stamp([]byte(body), "CallbackTs", at); ok || string(got) != body {
			t.Errorf("Stamp(%q) = %q, %v; want it unchanged and false", body, got, ok)
		}
	}
}

// Stamp never panics; a stamped body is valid JSON whose field is the time and whose other
// top-level fields are unchanged.
func FuzzStamp(f *testing.F) {
	for _, s := range []string{`{"EventGroupId":1,"EventType":103,"CallbackTs":1,"EventInfo":{"RoomId":"a"}}`,
		`{"CallbackTs":0}`, `{ "CallbackTs" : 12 }`, `{"a":{"CallbackTs":1},"CallbackTs":[1,2]}`, `{"CallbackTs":1`, `[`, ``} {
		f.Add([]byte(s))
	}
	at := time.UnixMilli(1700000000001)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := Stamp(body, "CallbackTs", at)
		if !ok {
			if !bytes.Equal(got, body) {
				t.Fatalf("not stamped but changed: %q → %q", body, got)
			}
			return
		}
		var before, after map[string]json.RawMessage
		if err := json.Unmarshal(got, &after); err != nil {
			if json.Unmarshal(body, &before) == nil {
				t.Fatalf("stamped %q into invalid JSON %q: %v", body, got, err)
			}
			return // body itself is not valid JSON past the field: nothing to compare
		}
		if string(after["CallbackTs"]) != "1700000000001" && json.Unmarshal(body, &before) == nil && !hasDuplicateKey(body) {
			t.Fatalf("stamped %q → %q: CallbackTs %s", body, got, after["CallbackTs"])
		}
		if json.Unmarshal(body, &before) == nil && !hasDuplicateKey(body) {
			for k, v := range before {
				if k != "CallbackTs" && string(after[k]) != string(v) {
					t.Fatalf("field %s changed: %s → %s", k, v, after[k])
				}
			}
		}
	})
}

// hasDuplicateKey reports a top-level key that occurs twice (json.Unmarshal keeps the last).
func hasDuplicateKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := tok.(string)
		if seen[k] {
			return true
		}
		seen[k] = true
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return false
		}
	}
	return false
}
