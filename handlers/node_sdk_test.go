package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// seenRequest is what the server received for one call of the script.
type seenRequest struct {
	Method, Host, Path, RawQuery string
	Header                       http.Header
	Body                         []byte
}

// recorder serves the emulator's handler and keeps each request by its X-TC-TraceId,
// so that the test checks what the SDK really sent (method, signature style).
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]seenRequest
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if id := r.Header.Get("X-TC-TraceId"); id != "" {
		rec.mu.Lock()
		rec.seen[id] = seenRequest{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body}
		rec.mu.Unlock()
	}
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) get(traceId string) (seenRequest, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r, ok := rec.seen[traceId]
	return r, ok
}

// nodeOutcome is one line printed by sdk_blackbox.js.
type nodeOutcome struct {
	Name, Action, Style, TraceId string
	OK                           bool
	Response                     map[string]any
	Error                        *struct {
		Code, Message, RequestId, TraceId, Type string
		HttpCode                                int
	}
}

// TestNodeSDKBlackBox drives the emulator with the official Node SDK
// (tencentcloud-sdk-nodejs, tools/npm) through testdata/node/sdk_blackbox.js: TC3 over
// JSON POST and GET, the legacy HmacSHA256/HmacSHA1 signature over form POST and GET,
// and the error envelope as the SDK reports it.
func TestNodeSDKBlackBox(t *testing.T) {
	node, modules := testpeer.Node(t, "tencentcloud-sdk-nodejs")
	e := startEmulator(t)
	if _, err := e.store.OpenRoom(context.Background(), testSdkAppId, "1234", models.RoomIdString, "alice"); err != nil {
		t.Fatal(err)
	}

	// The script talks to the emulator's handler through a recorder, on its own port.
	rec := &recorder{next: e.h, seen: map[string]seenRequest{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := handlers.NewServer(ln.Addr().String(), rec, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	endpoint := ln.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "sdk_blackbox.js"))
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(nodeEnv(),
		"NODE_PATH="+modules,
		"TRTC_ENDPOINT="+endpoint,
		"TRTC_SECRET_ID="+testSecretId,
		"TRTC_SECRET_KEY="+testSecretKey,
		"TRTC_SDKAPPID=1400000001",
		"TRTC_REGION=ap-guangzhou",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node did not finish within 60 s (killed): %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
		}
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args[1], err, stdout.Bytes(), stderr.Bytes())
	}

	outcomes := map[string]nodeOutcome{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var o nodeOutcome
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("script printed a line that is not JSON: %v: %s", err, line)
		}
		if o.Name == "" {
			t.Logf("node: %s", line)
			continue
		}
		if !o.OK && o.Error == nil {
			t.Fatalf("%s: failed without an error object: %s", o.Name, line)
		}
		outcomes[o.Name] = o
	}
	if stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.Bytes())
	}
	outcome := func(t *testing.T, name string) nodeOutcome {
		t.Helper()
		o, ok := outcomes[name]
		if !ok {
			t.Fatalf("the script printed no outcome for %s; output:\n%s", name, stdout.Bytes())
		}
		return o
	}
	sent := func(t *testing.T, o nodeOutcome) seenRequest {
		t.Helper()
		r, ok := rec.get(o.TraceId)
		if !ok {
			t.Fatalf("%s: the server received no request with X-TC-TraceId %s", o.Name, o.TraceId)
		}
		t.Logf("sent: %s %s?%s Host=%s Content-Type=%q Authorization=%q body=%q",
			r.Method, r.Path, r.RawQuery, r.Host, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Body)
		if o.OK {
			t.Logf("outcome: ok %v", o.Response)
		} else {
			t.Logf("outcome: error %+v", *o.Error)
		}
		return r
	}

	// What each style must look like on the wire.
	checkWire := func(t *testing.T, o nodeOutcome, r seenRequest) {
		t.Helper()
		// Styles are "tc3-<verb>" and "v1-<sha256|sha1>-<verb>".
		sig, verb, _ := strings.Cut(o.Style, "-")
		if sig == "v1" {
			sig, verb, _ = strings.Cut(verb, "-")
		}
		if want := strings.ToUpper(verb); r.Method != want {
			t.Errorf("%s: sent %s, want %s", o.Name, r.Method, want)
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "node-fetch") {
			t.Errorf("%s: User-Agent %q is not node-fetch's", o.Name, r.Header.Get("User-Agent"))
		}
		var params url.Values
		if r.Method == http.MethodGet {
			if len(r.Body) != 0 {
				t.Errorf("%s: GET with a body: %q", o.Name, r.Body)
			}
			params, _ = url.ParseQuery(r.RawQuery)
		}
		if sig == "tc3" {
			auth := r.Header.Get("Authorization")
			// The Node SDK puts the endpoint's first label in the scope: "127".
			if !strings.HasPrefix(auth, "TC3-HMAC-SHA256 Credential="+testSecretId+"/") || !strings.Contains(auth, "/127/tc3_request,") {
				t.Errorf("%s: Authorization %q: want a TC3 credential with service 127", o.Name, auth)
			}
			if !strings.Contains(auth, "SignedHeaders=content-type;host,") {
				t.Errorf("%s: Authorization %q: want SignedHeaders=content-type;host", o.Name, auth)
			}
			if r.Header.Get("X-TC-Action") != o.Action || r.Header.Get("X-TC-Version") != "2019-07-22" {
				t.Errorf("%s: X-TC-Action %q X-TC-Version %q", o.Name, r.Header.Get("X-TC-Action"), r.Header.Get("X-TC-Version"))
			}
			if rc := r.Header.Get("X-TC-RequestClient"); !strings.HasPrefix(rc, "SDK_NODEJS_") {
				t.Errorf("%s: X-TC-RequestClient %q", o.Name, rc)
			}
			if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: TC3 POST Content-Type %q, want application/json", o.Name, r.Header.Get("Content-Type"))
			}
			if params != nil && params.Get("Action") != "" {
				t.Errorf("%s: TC3 GET query has Action: %s", o.Name, r.RawQuery)
			}
			return
		}
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("%s: legacy style sent Authorization %q", o.Name, auth)
		}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("%s: legacy POST Content-Type %q", o.Name, ct)
			}
			params, _ = url.ParseQuery(string(r.Body))
		}
		wantMethod := map[string]string{"sha256": "HmacSHA256", "sha1": "HmacSHA1"}[sig]
		if params.Get("SignatureMethod") != wantMethod || params.Get("Signature") == "" ||
			params.Get("Action") != o.Action || params.Get("Version") != "2019-07-22" || params.Get("SecretId") != testSecretId {
			t.Errorf("%s: legacy parameters: want SignatureMethod=%s, Signature, Action, Version, SecretId; got %v", o.Name, wantMethod, params)
		}
	}

	for _, style := range []string{"tc3-post", "tc3-get", "v1-sha256-post", "v1-sha256-get", "v1-sha1-post", "v1-sha1-get"} {
		t.Run("DescribeRoomInfo/"+style, func(t *testing.T) {
			o := outcome(t, "describe-"+style)
			checkWire(t, o, sent(t, o))
			if !o.OK {
				t.Fatalf("%s failed: %+v", o.Name, *o.Error)
			}
			resp := o.Response
			if id, _ := resp["RequestId"].(string); id == "" {
				t.Errorf("no RequestId: %v", resp)
			}
			list, _ := resp["RoomList"].([]any)
			if resp["Total"] != 1.0 || len(list) != 1 {
				t.Fatalf("Total = %v, RoomList = %v; want the one open room", resp["Total"], resp["RoomList"])
			}
			room, _ := list[0].(map[string]any)
			if room["RoomString"] != "1234" || room["UserId"] != "alice" || room["IsFinished"] != false {
				t.Errorf("room = %v, want RoomString 1234 by alice, not finished", room)
			}
			if comm, _ := room["CommId"].(string); !strings.HasPrefix(comm, "1400000001_1234_") {
				t.Errorf("CommId = %v", room["CommId"])
			}
		})
	}

	errorCases := []struct {
		name, code, inMessage string
	}{
		{"dismiss-missing-tc3-post", "FailedOperation.RoomNotExist", ""},
		{"dismiss-missing-tc3-get", "FailedOperation.RoomNotExist", ""},
		{"dismiss-missing-v1-sha256-post", "FailedOperation.RoomNotExist", ""},
		{"wrong-key-tc3-post", "AuthFailure.SignatureFailure", ""},
		{"wrong-key-tc3-get", "AuthFailure.SignatureFailure", ""},
		{"wrong-key-v1-sha256-post", "AuthFailure.SignatureFailure", ""},
		{"wrong-key-v1-sha1-get", "AuthFailure.SignatureFailure", ""},
		{"unknown-action-tc3-post", "InvalidAction", "NoSuchAction"},
		{"unknown-action-v1-sha256-get", "InvalidAction", "NoSuchAction"},
		{"sdkappid-string-tc3-post", "InvalidParameter", "SdkAppId"},
		{"sdkappid-text-tc3-get", "InvalidParameter", "SdkAppId"},
		{"sdkappid-text-v1-sha256-post", "InvalidParameter", "SdkAppId"},
		{"missing-endtime-tc3-post", "MissingParameter", "EndTime"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			o := outcome(t, tc.name)
			checkWire(t, o, sent(t, o))
			if o.OK {
				t.Fatalf("succeeded, want %s: %v", tc.code, o.Response)
			}
			e := o.Error
			if e.Code != tc.code {
				t.Errorf("code = %q (HTTP %d, %s: %q), want %q", e.Code, e.HttpCode, e.Type, e.Message, tc.code)
			}
			if e.HttpCode != 0 {
				t.Errorf("HTTP status %d: API errors must be HTTP 200 with the error envelope", e.HttpCode)
			}
			if e.RequestId == "" {
				t.Errorf("the SDK error has no RequestId: %+v", *e)
			}
			if e.TraceId != o.TraceId {
				t.Errorf("X-TC-TraceId not echoed: the SDK error has %q, sent %q", e.TraceId, o.TraceId)
			}
			if !strings.Contains(e.Message, tc.inMessage) {
				t.Errorf("message %q does not name %q", e.Message, tc.inMessage)
			}
		})
	}
}

// nodeEnv is the test's environment without what would redirect or alter node: the
// SDK sends through process.env.http_proxy when it is set.
func nodeEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(name) {
		case "http_proxy", "https_proxy", "all_proxy", "node_options", "node_path":
			continue
		}
		if strings.HasPrefix(name, "TRTC_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
