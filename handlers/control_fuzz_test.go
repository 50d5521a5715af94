package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

// fuzzControl sends fuzzed bodies to a control API route in process: whatever the body,
// the answer is JSON, never a 5xx, and errors carry a code and a message.
func fuzzControl(f *testing.F, method, path string, seeds ...string) {
	fuzzControlOn(f, startEmulator(f), method, path, seeds...)
}

func fuzzControlOn(f *testing.F, e *emulator, method, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("not JSON: %s", rec.Body)
		}
		if rec.Code >= 400 {
			errObj, _ := out["Error"].(map[string]any)
			if code, _ := errObj["Code"].(string); code == "" || errObj["Message"] == "" {
				t.Fatalf("error without code or message: %s", rec.Body)
			}
		}
	})
}

// FuzzAppSettings fuzzes the callback configuration (URLs, keys, groups) of PUT apps.
func FuzzAppSettings(f *testing.F) {
	fuzzControl(f, http.MethodPut, "/_emulator/v1/apps/1400000003",
		`{"Name":"x","Callbacks":[{"EventGroupId":1,"Url":"http://127.0.0.1:9/cb","Key":"k"}]}`,
		`{"Callbacks":[{"EventGroupId":3,"Url":"http://[::ffff:169.254.169.254]/","Key":""}]}`,
		`{"SdkSecretKey":"0123456789abcdef","AdvancedPermissionControl":true}`,
		`{"Callbacks":null}`)
}

// FuzzParticipants fuzzes participant entry bodies.
func FuzzParticipants(f *testing.F) {
	fuzzControl(f, http.MethodPost, "/_emulator/v1/participants",
		`{"RoomId":"r1","RoomIdType":0,"UserId":"a","Publish":{"Video":true}}`,
		`{"RoomId":12,"UserId":"b","Role":21,"Video":{"Width":640,"Height":360,"Fps":15}}`,
		`{"RoomId":"1","UserId":"c","UserSig":"eJw","PrivateMapKey":"x","TerminalType":2,"UserType":1,"Reason":4}`)
}

// FuzzParticipantPatch fuzzes PATCH bodies: partial Publish patches, roles, keys.
func FuzzParticipantPatch(f *testing.F) {
	fuzzControl(f, http.MethodPatch, "/_emulator/v1/participants",
		`{"RoomId":12,"UserId":"b","Publish":{"Audio":false}}`,
		`{"RoomId":12,"UserId":"b","Role":20,"Publish":{"Substream":true,"Video":null}}`,
		`{"RoomId":"x","RoomIdType":0,"UserId":"a","Publish":{}}`,
		`{"RoomId":12,"UserId":"b","Publish":{"Video":"yes"}}`)
}

// FuzzClockMoves fuzzes the moves of a virtual clock: durations, times, both, neither.
func FuzzClockMoves(f *testing.F) {
	e := startEmulatorWith(f, clock.NewVirtual(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), 0))
	fuzzControlOn(f, e, http.MethodPost, "/_emulator/v1/clock",
		`{"Advance":"90s"}`, `{"Advance":"1h30m"}`, `{"Set":"2027-01-01T00:00:00Z"}`, `{"Advance":"-1s"}`,
		`{"Advance":"1s","Set":"2027-01-01T00:00:00Z"}`, `{"Advance":90}`, `{}`)
}

// FuzzClientRelay fuzzes an anchor's client starting a relay: the identity split from
// StartPublishCdnStream's fields, then their validation (anchor "a" is in room 12).
func FuzzClientRelay(f *testing.F) {
	e := startEmulator(f)
	req := httptest.NewRequest(http.MethodPost, "/_emulator/v1/participants", strings.NewReader(`{"RoomId":12,"UserId":"a","Role":20}`))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		f.Fatalf("enter the anchor: %d %s", rec.Code, rec.Body)
	}
	fuzzControlOn(f, e, http.MethodPost, "/_emulator/v1/participants/publish-media-stream",
		`{"RoomId":12,"UserId":"a","WithTranscoding":0,"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":1,"BitRate":50}},"PublishCdnParams":[{"PublishCdnUrl":"rtmp://127.0.0.1:1/live/x"}]}`,
		`{"RoomId":12,"UserId":"a","WithTranscoding":1,"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":2,"BitRate":64}},"VideoParams":{"VideoEncode":{"Width":640,"Height":360,"Fps":15,"BitRate":800,"Gop":3}},"FeedBackRoomParams":[{"RoomId":"s","RoomIdType":1,"UserId":"f","UserSig":"x"}]}`,
		`{"RoomId":"12","RoomIdType":1,"UserId":"a","AgentParams":{}}`,
		`{"RoomId":12,"UserId":"b","SdkAppId":"x"}`, `{"UserId":7}`, `{}`)
}
