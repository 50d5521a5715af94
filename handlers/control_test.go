package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/handlers"
)

func controlDo(t *testing.T, e *emulator, method, path, body string) (int, map[string]any) {
	t.Helper()
	return controlDoWith(t, e, nil, method, path, body)
}

// controlDoWith is controlDo with extra request headers.
func controlDoWith(t *testing.T, e *emulator, header http.Header, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+e.addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, data)
	}
	return resp.StatusCode, out
}

func TestHealthAndInfo(t *testing.T) {
	e := startEmulator(t)
	status, body := controlDo(t, e, "GET", "/_emulator/health", "")
	if status != 200 || body["Status"] != "ok" {
		t.Fatalf("health: %d %v", status, body)
	}
	status, body = controlDo(t, e, "GET", "/_emulator/v1/info", "")
	if status != 200 {
		t.Fatalf("info: %d %v", status, body)
	}
	endpoints := body["Endpoints"].(map[string]any)
	if endpoints["Api"] != "http://"+e.addr || body["Uin"] != testUin || body["Auth"] != true {
		t.Fatalf("info = %v", body)
	}
	if body["DefaultApp"].(map[string]any)["SdkAppId"] != float64(testSdkAppId) {
		t.Fatalf("info default app = %v", body["DefaultApp"])
	}
	// Only what listens is announced: no RTMP listener exists, so no Rtmp endpoint, and
	// every endpoint listed accepts a connection.
	if rtmp, ok := endpoints["Rtmp"]; ok {
		t.Errorf("info announces Rtmp %v, but nothing listens for RTMP", rtmp)
	}
	for name, v := range endpoints {
		u, err := url.Parse(v.(string))
		if err != nil {
			t.Fatalf("Endpoints.%s = %v: %v", name, v, err)
		}
		conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
		if err != nil {
			t.Errorf("Endpoints.%s = %v does not listen: %v", name, v, err)
			continue
		}
		conn.Close()
	}
}

func TestAppsControlAPI(t *testing.T) {
	e := startEmulator(t)
	status, app := controlDo(t, e, "GET", "/_emulator/v1/apps/1400000001", "")
	if status != 200 || app["SdkSecretKey"] != testSdkSecretKey || app["Name"] != "default" {
		t.Fatalf("default app: %d %v", status, app)
	}
	status, body := controlDo(t, e, "GET", "/_emulator/v1/apps/1400000002", "")
	if status != 404 || body["Error"].(map[string]any)["Code"] != "FailedOperation.SdkAppIdNotExist" {
		t.Fatalf("missing app: %d %v", status, body)
	}

	// PUT creates a new app with a generated key, then replaces only what is given.
	status, app = controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000002",
		`{"Name":"second","AdvancedPermissionControl":true,"Callbacks":[{"EventGroupId":1,"Url":"http://127.0.0.1:9/cb","Key":"abc123"},{"EventGroupId":3,"Url":"https://example.invalid/rec"}]}`)
	if status != 200 || app["Name"] != "second" || app["AdvancedPermissionControl"] != true || len(app["SdkSecretKey"].(string)) != 64 {
		t.Fatalf("create: %d %v", status, app)
	}
	cbs := app["Callbacks"].([]any)
	if len(cbs) != 2 || cbs[0].(map[string]any)["Key"] != "abc123" || cbs[1].(map[string]any)["EventGroupId"] != 3.0 {
		t.Fatalf("callbacks = %v", cbs)
	}
	key := app["SdkSecretKey"]
	status, app = controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000002", `{"AdvancedPermissionControl":false}`)
	if status != 200 || app["Name"] != "second" || app["SdkSecretKey"] != key || len(app["Callbacks"].([]any)) != 2 || app["AdvancedPermissionControl"] != false {
		t.Fatalf("partial update: %d %v", status, app)
	}
	status, app = controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000002", `{"Callbacks":[]}`)
	if status != 200 || len(app["Callbacks"].([]any)) != 0 {
		t.Fatalf("clear callbacks: %d %v", status, app)
	}
	// The new app is usable by the API at once.
	_, err := call(t, e.client(), "DismissRoom", map[string]any{"SdkAppId": 1400000002, "RoomId": 5})
	expectCode(t, err, "FailedOperation.RoomNotExist")

	bad := []struct{ path, body, code, inMsg string }{
		{"/_emulator/v1/apps/0", `{}`, "InvalidParameter.SdkAppId", "SdkAppId"},
		{"/_emulator/v1/apps/abc", `{}`, "InvalidParameter.SdkAppId", "SdkAppId"},
		{"/_emulator/v1/apps/1400000002", `{"Colour":"red"}`, "UnknownParameter", "Colour"},
		{"/_emulator/v1/apps/1400000002", `{"Name":5}`, "InvalidParameter", "Name"},
		{"/_emulator/v1/apps/1400000002", `{"Name":""}`, "InvalidParameterValue", "Name"},
		{"/_emulator/v1/apps/1400000002", `{"Callbacks":[{"EventGroupId":5,"Url":"http://x/"}]}`, "InvalidParameterValue", "EventGroupId"},
		{"/_emulator/v1/apps/1400000002", `{"Callbacks":[{"EventGroupId":1,"Url":"ftp://x/"}]}`, "InvalidParameterValue", "Url"},
		{"/_emulator/v1/apps/1400000002", `{"Callbacks":[{"EventGroupId":1,"Url":"http://169.254.169.254/latest"}]}`, "InvalidParameterValue", "Url"},
		{"/_emulator/v1/apps/1400000002", `{"Callbacks":[{"EventGroupId":1,"Url":"http://x/","Key":"has space"}]}`, "InvalidParameterValue", "Key"},
		{"/_emulator/v1/apps/1400000002", `{"Callbacks":[{"EventGroupId":1,"Url":"http://x/"},{"EventGroupId":1,"Url":"http://y/"}]}`, "InvalidParameterValue", "twice"},
		{"/_emulator/v1/apps/1400000002", `{"SdkSecretKey":"short"}`, "InvalidParameterValue", "SdkSecretKey"},
		{"/_emulator/v1/apps/1400000002", `{"Name":"x"} trailing`, "InvalidParameter", "after"},
		{"/_emulator/v1/apps/1400000002", ``, "InvalidParameter", "empty"},
		{"/_emulator/v1/apps/1400000002", `{"Name":`, "InvalidParameter", "JSON"},
		{"/_emulator/v1/apps/1400000002", `null`, "InvalidParameter", "object"},
		{"/_emulator/v1/apps/1400000002", `[]`, "InvalidParameter", "object"},
	}
	for _, b := range bad {
		status, body := controlDo(t, e, "PUT", b.path, b.body)
		errObj, _ := body["Error"].(map[string]any)
		if status != 400 || errObj["Code"] != b.code || !strings.Contains(errObj["Message"].(string), b.inMsg) {
			t.Errorf("PUT %s %s: %d %v, want 400 %s naming %q", b.path, b.body, status, body, b.code, b.inMsg)
		}
	}
	// Failed PUTs changed nothing.
	_, app = controlDo(t, e, "GET", "/_emulator/v1/apps/1400000002", "")
	if app["Name"] != "second" {
		t.Fatalf("app after failed PUTs: %v", app)
	}
	// Unknown control routes are JSON 404s.
	status, body = controlDo(t, e, "GET", "/_emulator/v1/nothing", "")
	if status != 404 || body["Error"] == nil {
		t.Fatalf("unknown route: %d %v", status, body)
	}
	big := bytes.Repeat([]byte("a"), 2<<20)
	status, _ = controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000002", `{"Name":"`+string(big)+`"}`)
	if status != 413 {
		t.Fatalf("2 MB control body: %d", status)
	}
}

// TestControlToken: with a control token set, every control route but the health check
// answers 401 without "Authorization: Bearer <token>" or with another token, and works
// with it; the API 3.0 endpoint is not affected (it has its own signatures).
func TestControlToken(t *testing.T) {
	const token = "control-token-0123456789"
	e := startEmulator(t, func(s *handlers.Settings) { s.ControlToken = token })
	if status, body := controlDo(t, e, "GET", "/_emulator/health", ""); status != 200 || body["Status"] != "ok" {
		t.Fatalf("health without a token: %d %v", status, body)
	}
	bearer := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	routes := []struct{ method, path, body string }{
		{"GET", "/_emulator/v1/info", ""},
		{"GET", "/_emulator/v1/apps/1400000001", ""},
		{"PUT", "/_emulator/v1/apps/1400000001", `{"Name":"x"}`},
		{"POST", "/_emulator/v1/participants", `{"RoomId":1,"UserId":"a"}`},
		{"GET", "/_emulator/v1/rooms", ""},
		{"GET", "/_emulator/v1/callbacks", ""},
		{"POST", "/_emulator/v1/cam/simulate", `{"Uin":"100000000001","Action":"DismissRoom"}`},
		{"GET", "/_emulator/v1/no-such-route", ""},
	}
	for _, r := range routes {
		for _, h := range []http.Header{nil, bearer("Bearer wrong-token"), bearer(token), bearer("Basic " + token), bearer("Bearer " + token + "x")} {
			status, body := controlDoWith(t, e, h, r.method, r.path, r.body)
			errObj, _ := body["Error"].(map[string]any)
			if status != http.StatusUnauthorized || errObj["Code"] != "AuthFailure.InvalidAuthorization" {
				t.Errorf("%s %s with %v: %d %v, want 401 AuthFailure.InvalidAuthorization", r.method, r.path, h, status, body)
			}
			if msg, _ := errObj["Message"].(string); strings.Contains(msg, token) {
				t.Errorf("the refusal echoes the token: %q", msg)
			}
		}
	}
	status, body := controlDoWith(t, e, bearer("Bearer "+token), "GET", "/_emulator/v1/apps/1400000001", "")
	if status != 200 || body["SdkSecretKey"] != testSdkSecretKey {
		t.Fatalf("with the token: %d %v", status, body)
	}
	if status, body := controlDoWith(t, e, bearer("bearer "+token), "GET", "/_emulator/v1/info", ""); status != 200 {
		t.Fatalf("scheme name is case-insensitive (RFC 9110): %d %v", status, body)
	}
	if _, err := call(t, e.client(), "DescribeRoomInfo", roomWindow()); err != nil {
		t.Fatalf("API 3.0 with a control token set: %v", err)
	}
	// No spelling of a path reaches a control route around the check.
	for _, path := range []string{"//_emulator/v1/apps/1400000001", "/_emulator//v1/apps/1400000001", "/%5Femulator/v1/apps/1400000001",
		"/_emulator/v1/apps/1400000001/", "/_emulator/./v1/apps/1400000001", "/x/../_emulator/v1/apps/1400000001", "/_emulator/v1/apps/1400000001?a=1"} {
		resp, err := http.Get("http://" + e.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(data), testSdkSecretKey) {
			t.Errorf("GET %s without a token: %d %s", path, resp.StatusCode, data)
		}
	}
}
