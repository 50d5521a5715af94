package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

var binary string

// buildFlags are the go build flags of the binary under test.
var buildFlags []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trtc-emulator-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "trtc-emulator")
	args := append([]string{"build", "-o", binary}, buildFlags...)
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running emulator binary.
type proc struct {
	cmd      *exec.Cmd
	addr     string
	stdout   *syncBuffer
	stderr   *syncBuffer
	exited   chan error
	startDur time.Duration
}

// syncBuffer collects a child's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var endpointLine = regexp.MustCompile(`API endpoint\s+http://(\S+)`)

// start runs the binary on a random loopback port and waits for /_emulator/health.
func start(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	return startBinary(t, binary, env, args...)
}

// plainBinary is the emulator built without the test run's build flags (no -race): the
// build users run, for the tests whose figure is its speed. Built on first use.
var plainBinary = sync.OnceValues(func() (string, error) {
	if len(buildFlags) == 0 {
		return binary, nil
	}
	path := binary + "-plain"
	if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return path, nil
})

func startBinary(t testing.TB, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append([]string{"TRTC_EMULATOR_ADDR=127.0.0.1:0", "TRTC_EMULATOR_RTMP_ADDR=127.0.0.1:0"}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the emulator had a data race:\n%s", p.stderr)
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		addr := ""
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			if m := endpointLine.FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
			}
			if strings.HasPrefix(sc.Text(), "  Database") { // the banner's last line
				found <- addr
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case p.addr = <-found:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("emulator exited: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no endpoint printed:\n%s\n%s", p.stdout, p.stderr)
	}
	for {
		resp, err := http.Get("http://" + p.addr + "/_emulator/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(began) > 30*time.Second {
			t.Fatalf("health never answered 200: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.startDur = time.Since(began)
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
}

func sdkCall(addr, id, key, action string, params map[string]any) (map[string]any, error) {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = addr
	cpf.HttpProfile.Scheme = "http"
	c := common.NewCommonClient(common.NewCredential(id, key), "ap-guangzhou", cpf)
	req := tchttp.NewCommonRequest("trtc", "2019-07-22", action)
	req.SetActionParameters(params)
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return nil, err
	}
	var body struct{ Response map[string]any }
	err := json.Unmarshal(resp.GetBody(), &body)
	return body.Response, err
}

func codeOf(err error) string {
	if e, ok := err.(*tcerrors.TencentCloudSDKError); ok {
		return e.GetCode()
	}
	return fmt.Sprint(err)
}

func TestServeWithDefaultsAndRestart(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + dataDir}
	p := start(t, env)
	t.Logf("start to first health 200: %v", p.startDur)
	for _, want := range []string{defaultSecretId, defaultSecretKey, "1400000001", defaultSdkSecretKey, "Control API"} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Fatalf("start-up banner lacks %q:\n%s", want, p.stdout)
		}
	}
	_, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DismissRoom", map[string]any{"SdkAppId": 1400000001, "RoomId": 7})
	if codeOf(err) != "FailedOperation.RoomNotExist" {
		t.Fatalf("default credentials: %v", err)
	}
	// Create a second app through the control API; it must survive a restart.
	req, _ := http.NewRequest("PUT", "http://"+p.addr+"/_emulator/v1/apps/1400000077", strings.NewReader(`{"Name":"kept"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT app: %v %v", resp, err)
	}
	resp.Body.Close()
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dataDir, "emulator.db")); err != nil {
		t.Fatalf("database not in the data dir: %v", err)
	}

	p = start(t, env)
	resp, err = http.Get("http://" + p.addr + "/_emulator/v1/apps/1400000077")
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	json.NewDecoder(resp.Body).Decode(&app)
	resp.Body.Close()
	if app["Name"] != "kept" {
		t.Fatalf("app after restart = %v", app)
	}
	p.stop(t)
}

func TestEnvAndFlags(t *testing.T) {
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_SECRET_ID=AKIDfromEnv", "TRTC_EMULATOR_SECRET_KEY=keyFromEnv",
		"TRTC_EMULATOR_SDKAPPID=1400000005", "TRTC_EMULATOR_LOG_FORMAT=json", "TRTC_EMULATOR_LOG_LEVEL=debug"}
	// The flag wins over the env var.
	p := start(t, env, "-secret-key", "keyFromFlag")
	if _, err := sdkCall(p.addr, "AKIDfromEnv", "keyFromEnv", "DismissRoom", map[string]any{"SdkAppId": 1400000005, "RoomId": 7}); codeOf(err) != "AuthFailure.SignatureFailure" {
		t.Fatalf("env key should be overridden by the flag: %v", err)
	}
	if _, err := sdkCall(p.addr, "AKIDfromEnv", "keyFromFlag", "DismissRoom", map[string]any{"SdkAppId": 1400000005, "RoomId": 7}); codeOf(err) != "FailedOperation.RoomNotExist" {
		t.Fatalf("flag key: %v", err)
	}
	p.stop(t)
	// JSON logs: every stderr line is a JSON object; the debug level logs each API call.
	sawCall := false
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "api call" && rec["action"] == "DismissRoom" {
			sawCall = true
		}
	}
	if !sawCall {
		t.Fatalf("no debug log of the API call:\n%s", p.stderr)
	}

	p = start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_AUTH=off"})
	if _, err := sdkCall(p.addr, "anything", "wrong", "DismissRoom", map[string]any{"SdkAppId": 1400000001, "RoomId": 7}); codeOf(err) != "FailedOperation.RoomNotExist" {
		t.Fatalf("auth off: %v", err)
	}
	p.stop(t)

	for _, bad := range [][]string{{"-auth", "maybe"}, {"-sdkappid", "0"}, {"-addr", "nowhere"}, {"-rate-limit", "-1"},
		{"-rate-limits", "X"}, {"-log-level", "loud"}, {"-shutdown-timeout", "0s"}, {"extra"}} {
		out, err := exec.Command(binary, bad...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), strings.TrimPrefix(bad[0], "-")) {
			t.Errorf("%v: err = %v, output %q", bad, err, out)
		}
	}
	if out, err := exec.Command(binary, "-h").CombinedOutput(); err != nil || !strings.Contains(string(out), "TRTC_EMULATOR_CALLBACK_URL") {
		t.Errorf("-h: %v %s", err, out)
	}
	if out, err := exec.Command(binary, "version").Output(); err != nil || strings.TrimSpace(string(out)) != version {
		t.Errorf("version: %v %q", err, out)
	}
}

// TestGracefulShutdown starts a request, sends SIGTERM while its body is half sent, then
// finishes the body: the request must still be answered and the process exit 0.
func TestGracefulShutdown(t *testing.T) {
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir()})
	body := []byte(`{"SdkAppId":1400000001,"RoomId":7}`)
	ts := time.Now().Unix()
	header := http.Header{"Content-Type": {"application/json"}}
	r := &cam.Request{Method: "POST", Host: p.addr, Path: "/", Header: header, Body: body}
	auth := cam.SignTC3(cam.Key{SecretId: defaultSecretId, SecretKey: defaultSecretKey}, "trtc", r, ts)

	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-TC-Action: DismissRoom\r\nX-TC-Version: 2019-07-22\r\nX-TC-Timestamp: %d\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n",
		p.addr, ts, auth, len(body))
	conn.Write(body[:10])
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-p.exited:
		t.Fatalf("exited with a request in flight: %v", err)
	default:
	}
	conn.Write(body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(data), "FailedOperation.RoomNotExist") {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, data)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after the in-flight request finished")
	}
	// New connections are refused once it is down.
	if _, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func TestTicketCommands(t *testing.T) {
	out, err := exec.Command(binary, "usersig", "-userid", "alice", "-expire", "1h").Output()
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.TrimSpace(string(out))
	if _, err := usersig.Verify(sig, defaultSdkAppId, defaultSdkSecretKey, "alice", time.Now()); err != nil {
		t.Fatalf("usersig output does not verify: %v", err)
	}
	if _, err := usersig.Verify(sig, defaultSdkAppId, defaultSdkSecretKey, "alice", time.Now().Add(2*time.Hour)); err == nil {
		t.Fatal("a 1 h UserSig verified 2 h later")
	}
	cmd := exec.Command(binary, "privatemapkey", "-userid", "bob", "-strroomid", "room-a", "-privileges", "42")
	cmd.Env = append(os.Environ(), "TRTC_EMULATOR_SDKAPPID=1400000009", "TRTC_EMULATOR_SDKSECRETKEY=another-key-0123456789")
	out, err = cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := usersig.VerifyPrivateMapKey(strings.TrimSpace(string(out)), 1400000009, "another-key-0123456789", "bob", time.Now())
	if err != nil {
		t.Fatalf("privatemapkey output does not verify: %v", err)
	}
	if !pm.MatchesRoom("room-a", true) || pm.MatchesRoom("room-b", true) || pm.Privileges != 42 {
		t.Fatalf("private map = %+v", pm)
	}
	for _, bad := range [][]string{{"usersig"}, {"privatemapkey", "-userid", "a"}, {"privatemapkey", "-userid", "a", "-roomid", "1", "-strroomid", "x"}} {
		if out, err := exec.Command(binary, bad...).CombinedOutput(); err == nil {
			t.Errorf("%v succeeded: %s", bad, out)
		}
	}
}
