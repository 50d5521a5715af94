package webhooks

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Stamp returns body with the value of its top-level field set to at in Unix
// milliseconds, every other byte unchanged: the stored body is a template, and each attempt
// sends it with its own send time (seed: CallbackTs is "the Unix timestamp (ms) when the
// callback was sent"). ok is false, and body is returned as it is, when body is not a JSON
// object with that field.
func Stamp(body []byte, field string, at time.Time) (stamped []byte, ok bool) {
	start, end, found := topLevelValue(body, field)
	if !found {
		return body, false
	}
	out := make([]byte, 0, len(body)+8)
	out = append(out, body[:start]...)
	out = strconv.AppendInt(out, at.UnixMilli(), 10)
	return append(out, body[end:]...), true
}

// topLevelValue finds the bytes body[start:end] of the value of the first top-level key
// field of a JSON object.
func topLevelValue(body []byte, field string) (start, end int, found bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if key == field {
			end := int(dec.InputOffset())
			return end - len(raw), end, true
		}
	}
	return 0, 0, false
}
