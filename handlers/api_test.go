package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
)

func roomWindow() map[string]any {
	now := time.Now().Unix()
	return map[string]any{"SdkAppId": testSdkAppId, "StartTime": now - 3600, "EndTime": now + 60}
}

func TestDescribeRoomInfoThroughSDK(t *testing.T) {
	e := startEmulator(t)
	ctx := context.Background()
	for _, r := range []struct {
		id   string
		kind int
	}{{"1234", models.RoomIdInt}, {"1234", models.RoomIdString}, {"room-b", models.RoomIdString}} {
		if _, err := e.store.OpenRoom(ctx, testSdkAppId, r.id, r.kind, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	styles := map[string]func(*profile.ClientProfile){
		"json post":          func(*profile.ClientProfile) {},
		"get":                func(p *profile.ClientProfile) { p.HttpProfile.ReqMethod = "GET" },
		"unsigned payload":   func(p *profile.ClientProfile) { p.UnsignedPayload = true },
		"endpoint with path": func(p *profile.ClientProfile) { p.HttpProfile.Endpoint += "/trtc/api" },
		"v1 HmacSHA256 post": func(p *profile.ClientProfile) { p.SignMethod = "HmacSHA256" },
		"v1 HmacSHA1 get": func(p *profile.ClientProfile) {
			p.SignMethod = "HmacSHA1"
			p.HttpProfile.ReqMethod = "GET"
		},
	}
	for name, style := range styles {
		t.Run(name, func(t *testing.T) {
			w := roomWindow()
			resp, err := sendStruct(t, e.client(style), newDescribeRoomInfoRequest(w["StartTime"].(int64), w["EndTime"].(int64)))
			if err != nil {
				t.Fatal(err)
			}
			if resp["Total"] != 3.0 {
				t.Fatalf("Total = %v, want 3: %v", resp["Total"], resp)
			}
			list := resp["RoomList"].([]any)
			first := list[0].(map[string]any)
			if first["RoomString"] != "1234" || first["UserId"] != "alice" || first["IsFinished"] != false {
				t.Fatalf("first room = %v", first)
			}
			if !strings.HasPrefix(first["CommId"].(string), "1400000001_1234_") {
				t.Fatalf("CommId = %v", first["CommId"])
			}
		})
	}
	// Paging and the RoomId filter.
	params := roomWindow()
	params["PageNumber"], params["PageSize"] = 1, 2
	resp, err := call(t, e.client(), "DescribeRoomInfo", params)
	if err != nil {
		t.Fatal(err)
	}
	if resp["Total"] != 3.0 || len(resp["RoomList"].([]any)) != 1 {
		t.Fatalf("page 1 of size 2: %v", resp)
	}
	params = roomWindow()
	params["RoomId"] = "room-b"
	resp, err = call(t, e.client(), "DescribeRoomInfo", params)
	if err != nil || resp["Total"] != 1.0 {
		t.Fatalf("filter by RoomId: %v %v", resp, err)
	}
}

func TestDismissRoomNamespaces(t *testing.T) {
	e := startEmulator(t)
	ctx := context.Background()
	if _, err := e.store.OpenRoom(ctx, testSdkAppId, "1234", models.RoomIdString, "bob"); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	// The string room "1234" is not the integer room 1234.
	_, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1234})
	expectCode(t, err, "FailedOperation.RoomNotExist")
	if _, err := call(t, c, "DismissRoomByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "RoomId": "1234"}); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, c, "DismissRoomByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "RoomId": "1234"})
	expectCode(t, err, "FailedOperation.RoomNotExist")

	if _, err := e.store.OpenRoom(ctx, testSdkAppId, "1234", models.RoomIdInt, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1234}); err != nil {
		t.Fatal(err)
	}
	// The dismissed lifetimes stay in the history, finished.
	resp, err := call(t, c, "DescribeRoomInfo", roomWindow())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp["RoomList"].([]any) {
		if r.(map[string]any)["IsFinished"] != true {
			t.Fatalf("room not finished after dismissal: %v", r)
		}
	}
	_, err = call(t, c, "DismissRoom", map[string]any{"SdkAppId": 1400000099, "RoomId": 1})
	expectCode(t, err, "FailedOperation.SdkAppIdNotExist")
	_, err = call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 0})
	expectCode(t, err, "InvalidParameter.RoomId")
}

func TestAuthErrorsThroughSDK(t *testing.T) {
	e := startEmulator(t)
	_, err := call(t, e.clientWithKey(testSecretId, "wrong-key"), "DescribeRoomInfo", roomWindow())
	expectCode(t, err, "AuthFailure.SignatureFailure")
	_, err = call(t, e.clientWithKey("AKIDunknown", testSecretKey), "DescribeRoomInfo", roomWindow())
	expectCode(t, err, "AuthFailure.SecretIdNotFound")
	_, err = call(t, e.clientWithKey(testSecretId, "wrong-key", func(p *profile.ClientProfile) { p.SignMethod = "HmacSHA256" }), "DescribeRoomInfo", roomWindow())
	expectCode(t, err, "AuthFailure.SignatureFailure")

	for _, skew := range []time.Duration{301 * time.Second, -301 * time.Second} {
		late := startEmulator(t, func(s *handlers.Settings) { s.SignClock = clock.NewFake(time.Now().Add(skew)) })
		_, err = call(t, late.client(), "DescribeRoomInfo", roomWindow())
		expectCode(t, err, "AuthFailure.SignatureExpire")
	}
	near := startEmulator(t, func(s *handlers.Settings) { s.SignClock = clock.NewFake(time.Now().Add(240 * time.Second)) })
	if _, err = call(t, near.client(), "DescribeRoomInfo", roomWindow()); err != nil {
		t.Fatalf("4 minutes of skew must be accepted: %v", err)
	}
}

func TestActionAndParameterErrorsThroughSDK(t *testing.T) {
	e := startEmulator(t)
	c := e.client()
	cases := []struct {
		action string
		params map[string]any
		code   string
		inMsg  string
	}{
		{"NoSuchAction", map[string]any{}, "InvalidAction", "NoSuchAction"},
		{"StartPublishCdnStream", map[string]any{}, "MissingParameter", "SdkAppId"},
		{"StartStreamIngest", map[string]any{}, "MissingParameter", "SdkAppId"},
		{"StartWebRecord", map[string]any{"RecordUrl": "x"}, "UnsupportedOperation", "StartWebRecord"},
		{"DescribeTrtcUsage", map[string]any{"SdkAppId": testSdkAppId}, "UnsupportedOperation", "DescribeTrtcUsage"},
		{"DescribeRoomInfo", map[string]any{"SdkAppId": testSdkAppId, "StartTime": 1}, "MissingParameter", "EndTime"},
		{"DescribeRoomInfo", map[string]any{"SdkAppId": "1400000001", "StartTime": 1, "EndTime": 2}, "InvalidParameter", "SdkAppId"},
		{"DescribeRoomInfo", map[string]any{"SdkAppId": -5, "StartTime": 1, "EndTime": 2}, "InvalidParameter", "SdkAppId"},
		{"DescribeRoomInfo", map[string]any{"SdkAppId": 1.5, "StartTime": 1, "EndTime": 2}, "InvalidParameter", "SdkAppId"},
		{"DescribeRoomInfo", map[string]any{"SdkAppId": testSdkAppId, "StartTime": 1, "EndTime": 2, "Colour": "red"}, "UnknownParameter", "Colour"},
		{"RemoveUser", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1, "UserIds": "alice"}, "InvalidParameter", "UserIds"},
		{"DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": "1"}, "InvalidParameter", "RoomId"},
		{"DescribeRoomInfo", func() map[string]any {
			p := roomWindow()
			p["StartTime"] = time.Now().Add(-15 * 24 * time.Hour).Unix()
			return p
		}(), "InvalidParameter.StartTimeExpire", "14 days"},
		{"DescribeRoomInfo", func() map[string]any {
			p := roomWindow()
			p["EndTime"] = p["StartTime"].(int64) + 25*3600
			return p
		}(), "InvalidParameter.QueryScaleOversize", "24 hours"},
		{"DescribeRoomInfo", func() map[string]any {
			p := roomWindow()
			p["PageNumber"], p["PageSize"] = 0, 101
			return p
		}(), "InvalidParameter.PageSize", "1 to 100"},
	}
	for _, tc := range cases {
		_, err := call(t, c, tc.action, tc.params)
		expectCode(t, err, tc.code)
		if !strings.Contains(err.Error(), tc.inMsg) {
			t.Errorf("%s: message %q does not name %q", tc.action, err.Error(), tc.inMsg)
		}
	}
}

func TestRequestLimitExceeded(t *testing.T) {
	e := startEmulator(t, func(s *handlers.Settings) {
		s.RateLimit = 20
		s.RateLimits = map[string]float64{"DescribeRoomInfo": 3}
	})
	c := e.client()
	var limited int
	for i := 0; i < 10; i++ {
		_, err := call(t, c, "DescribeRoomInfo", roomWindow())
		if sdkCode(t, err) == "RequestLimitExceeded" {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited == 0 {
		t.Fatal("10 calls at a limit of 3/s were all accepted")
	}
	// Another action has its own bucket.
	_, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1})
	expectCode(t, err, "FailedOperation.RoomNotExist")
}

// rawPost sends a TC3-signed request built by hand, for what the SDK cannot send.
func rawPost(t *testing.T, e *emulator, header http.Header, body []byte) map[string]any {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+e.addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	var env struct{ Response map[string]any }
	if err := json.Unmarshal(data, &env); err != nil || env.Response == nil {
		t.Fatalf("not an envelope: %s", data)
	}
	return env.Response
}

func signedHeader(e *emulator, action string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-TC-Action", action)
	h.Set("X-TC-Version", "2019-07-22")
	ts := time.Now().Unix()
	h.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	r := &cam.Request{Method: "POST", Host: e.addr, Path: "/", Header: h, Body: body}
	h.Set("Authorization", cam.SignTC3(cam.Key{SecretId: testSecretId, SecretKey: testSecretKey}, "trtc", r, ts))
	return h
}

func errorCode(resp map[string]any) string {
	e, _ := resp["Error"].(map[string]any)
	code, _ := e["Code"].(string)
	return code
}

func TestRawProtocolErrors(t *testing.T) {
	e := startEmulator(t)
	body := []byte(`{"SdkAppId":1400000001,"RoomId":1}`)

	h := signedHeader(e, "DismissRoom", body)
	h.Set("Authorization", "TC3-HMAC-SHA256 Credential=broken")
	if got := errorCode(rawPost(t, e, h, body)); got != "AuthFailure.InvalidAuthorization" {
		t.Fatalf("malformed Authorization: %s", got)
	}
	h = signedHeader(e, "DismissRoom", body)
	h.Del("X-TC-Version")
	if got := errorCode(rawPost(t, e, h, body)); got != "MissingParameter" {
		t.Fatalf("no version: %s", got)
	}
	h = signedHeader(e, "DismissRoom", body)
	h.Set("X-TC-Version", "2020-01-01")
	h.Set("Authorization", signedHeader(e, "DismissRoom", body).Get("Authorization"))
	if got := errorCode(rawPost(t, e, h, body)); got != "NoSuchVersion" {
		t.Fatalf("unknown version: %s", got)
	}
	bad := []byte(`{"SdkAppId":1400000001,`)
	if got := errorCode(rawPost(t, e, signedHeader(e, "DismissRoom", bad), bad)); got != "InvalidParameter" {
		t.Fatalf("truncated JSON: %s", got)
	}
	arr := []byte(`[1,2]`)
	if got := errorCode(rawPost(t, e, signedHeader(e, "DismissRoom", arr), arr)); got != "InvalidParameter" {
		t.Fatalf("JSON array body: %s", got)
	}
	// Over Tencent's 10 MB limit for TC3 POST: refused before it is read.
	big := bytes.Repeat([]byte(" "), 10<<20+1)
	if got := errorCode(rawPost(t, e, signedHeader(e, "DismissRoom", big), big)); got != "RequestSizeLimitExceeded" {
		t.Fatalf("11 MB body: %s", got)
	}
	// No signature at all.
	resp := rawPost(t, e, http.Header{"Content-Type": {"application/json"}}, body)
	if got := errorCode(resp); got != "AuthFailure.InvalidAuthorization" {
		t.Fatalf("unsigned: %s", got)
	}
	// Other methods get the envelope too, never a bare 405.
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(data), "UnsupportedProtocol") {
		t.Fatalf("PUT /: %d %s", r.StatusCode, data)
	}
}

func TestRequestIdsAreFresh(t *testing.T) {
	e := startEmulator(t)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		resp, err := call(t, e.client(), "DescribeRoomInfo", roomWindow())
		if err != nil {
			t.Fatal(err)
		}
		id := resp["RequestId"].(string)
		if seen[id] {
			t.Fatalf("RequestId %s repeated", id)
		}
		seen[id] = true
	}
}

func TestGetQueryLimit(t *testing.T) {
	e := startEmulator(t)
	q := url.Values{"Action": {"DescribeRoomInfo"}, "Version": {"2019-07-22"}, "Pad": {strings.Repeat("a", 33<<10)}}
	r, err := http.Get("http://" + e.addr + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	data, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || !strings.Contains(string(data), "RequestSizeLimitExceeded") {
		t.Fatalf("33 KB query: %d %s", r.StatusCode, data)
	}
}

// TestStoreFailureIsInternalError: a broken store gives InternalError in an HTTP 200
// envelope, never a 5xx; the health check reports it.
func TestStoreFailureIsInternalError(t *testing.T) {
	e := startEmulator(t)
	if _, err := call(t, e.client(), "DescribeRoomInfo", roomWindow()); err != nil {
		t.Fatal(err) // caches the API key, so the failure below is past authentication
	}
	e.store.Close()
	_, err := call(t, e.client(), "DescribeRoomInfo", roomWindow())
	expectCode(t, err, "InternalError")
	r, err := http.Get("http://" + e.addr + "/_emulator/health")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("health with a closed store: %d", r.StatusCode)
	}
}

func TestInvalidParameterValue(t *testing.T) {
	e := startEmulator(t)
	p := roomWindow()
	p["StartTime"] = uint64(1) << 50
	_, err := call(t, e.client(), "DescribeRoomInfo", p)
	expectCode(t, err, "InvalidParameterValue")
	if !strings.Contains(err.Error(), "StartTime") {
		t.Fatalf("message does not name StartTime: %v", err)
	}
}

// TestSlowHeadersAreCut: a client that never finishes its headers is disconnected
// (ReadHeaderTimeout, which echo leaves unset), while others are still served.
func TestSlowHeadersAreCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s header timeout")
	}
	e := startEmulator(t)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, e.client(), "DescribeRoomInfo", roomWindow()); err != nil {
		t.Fatalf("served nobody else while a slow client waited: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the slow connection was not closed by the server: %v", err)
	}
}

// TestTC3AsTencentDocuments: over HTTP, a request signed as Tencent's signature v3
// document shows (charset in the content type, x-tc-action signed with its value
// lower-cased) is served; SignedHeaders lacking content-type or host are refused.
func TestTC3AsTencentDocuments(t *testing.T) {
	e := startEmulator(t)
	now := time.Now()
	body := []byte(fmt.Sprintf(`{"SdkAppId":%d,"StartTime":%d,"EndTime":%d}`, testSdkAppId, now.Unix()-3600, now.Unix()))
	sign := func(signed ...string) http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-TC-Action", "DescribeRoomInfo")
		h.Set("X-TC-Version", "2019-07-22")
		h.Set("X-TC-Timestamp", strconv.FormatInt(now.Unix(), 10))
		r := &cam.Request{Method: "POST", Host: e.addr, Path: "/", Header: h, Body: body}
		h.Set("Authorization", cam.SignTC3Headers(cam.Key{SecretId: testSecretId, SecretKey: testSecretKey}, "trtc", r, now.Unix(), signed))
		return h
	}
	resp := rawPost(t, e, sign("content-type", "host", "x-tc-action"), body)
	if code := errorCode(resp); code != "" || resp["Total"] != 0.0 {
		t.Fatalf("document form: %v", resp)
	}
	for _, signed := range [][]string{{"host"}, {"host", "x-tc-action"}, {"content-type"}} {
		if code := errorCode(rawPost(t, e, sign(signed...), body)); code != "AuthFailure.InvalidAuthorization" {
			t.Errorf("SignedHeaders=%s: %q, want AuthFailure.InvalidAuthorization", strings.Join(signed, ";"), code)
		}
	}
}
