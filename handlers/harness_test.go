package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/jobs"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

const (
	testUin          = "100000000001"
	testSecretId     = "AKIDtestSecretId000000000000000000000"
	testSecretKey    = "testSecretKey0000000000000000000"
	testSdkAppId     = 1400000001
	testSdkSecretKey = "testSdkSecretKey-0123456789abcdef"
)

// emulator is a real server on a loopback port over a store in a temp dir.
type emulator struct {
	addr  string // host:port
	store *models.Store
	h     *handlers.Handlers
}

type emuOption func(*handlers.Settings)

func startEmulator(t testing.TB, opts ...emuOption) *emulator {
	t.Helper()
	return startEmulatorWith(t, nil, opts...)
}

// startDelivering is startEmulator with the callback dispatcher running on clk.
func startDelivering(t testing.TB, clk clock.Clock, opts ...emuOption) *emulator {
	t.Helper()
	return startEmulatorWith(t, clk, opts...)
}

func startEmulatorWith(t testing.TB, clk clock.Clock, opts ...emuOption) *emulator {
	t.Helper()
	ctx := context.Background()
	storeOpts := models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "emulator.db")}
	if clk != nil {
		storeOpts.Clock = clk // events and their attempts on one time line
	}
	store, err := models.Open(ctx, storeOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Seed(ctx, models.Seed{Uin: testUin, SecretId: testSecretId, SecretKey: testSecretKey,
		SdkAppId: testSdkAppId, SdkSecretKey: testSdkSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := handlers.SeedPresets(ctx, store); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	settings := handlers.Settings{Version: "test", Region: "ap-guangzhou", Uin: testUin, SdkAppId: testSdkAppId,
		APIEndpoint: "http://" + ln.Addr().String(), RateLimit: 0}
	if clk != nil {
		settings.Clock = clk
	}
	for _, o := range opts {
		o(&settings)
	}
	if clk != nil {
		d := webhooks.NewDispatcher(webhooks.Config{Outbox: jobs.CallbackOutbox{Store: store}, Clock: clk,
			Logger: slog.New(slog.DiscardHandler)})
		settings.Rescan = d.Rescan
		store.OnChange(func(c models.Change) {
			if c&models.ChangeCallbacks != 0 {
				d.Notify()
			}
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	h := handlers.New(settings, store)
	srv := handlers.NewServer(ln.Addr().String(), h, nil)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &emulator{addr: ln.Addr().String(), store: store, h: h}
}

// client is the official Go SDK's CommonClient pointed at the emulator.
func (e *emulator) client(mod ...func(*profile.ClientProfile)) *common.Client {
	return e.clientWithKey(testSecretId, testSecretKey, mod...)
}

func (e *emulator) clientWithKey(id, key string, mod ...func(*profile.ClientProfile)) *common.Client {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = e.addr
	cpf.HttpProfile.Scheme = "http"
	for _, m := range mod {
		m(cpf)
	}
	return common.NewCommonClient(common.NewCredential(id, key), "ap-guangzhou", cpf)
}

// call sends one TRTC action with the SDK and decodes the Response object.
func call(t testing.TB, c *common.Client, action string, params map[string]any) (map[string]any, error) {
	t.Helper()
	return callService(t, c, "trtc", "2019-07-22", action, params)
}

// callService is call for any service and version (cam 2019-01-16).
func callService(t testing.TB, c *common.Client, service, version, action string, params map[string]any) (map[string]any, error) {
	t.Helper()
	req := tchttp.NewCommonRequest(service, version, action)
	if err := req.SetActionParameters(params); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return nil, err
	}
	var body struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, resp.GetBody())
	}
	if body.Response == nil {
		t.Fatalf("response has no Response object: %s", resp.GetBody())
	}
	if id, _ := body.Response["RequestId"].(string); id == "" {
		t.Fatalf("response has no RequestId: %s", resp.GetBody())
	}
	return body.Response, nil
}

// sdkCode returns the Tencent error code the SDK reports ("" if err is nil).
func sdkCode(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var sdkErr *tcerrors.TencentCloudSDKError
	if !errors.As(err, &sdkErr) {
		t.Fatalf("not an SDK API error: %v", err)
	}
	if sdkErr.GetRequestId() == "" {
		t.Fatalf("error without RequestId: %v", err)
	}
	return sdkErr.GetCode()
}

func expectCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := sdkCode(t, err); got != want {
		t.Fatalf("code = %q, want %q (err: %v)", got, want, err)
	}
}

var _ http.Handler = (*handlers.Handlers)(nil)

// describeRoomInfoRequest is written the way the SDK's generated trtc package writes its
// request types. CommonRequest cannot be sent with GET or the legacy signature (the SDK
// flattens only struct fields into the query), so those styles use this type, still
// signed and sent by the SDK's own common client.
type describeRoomInfoRequest struct {
	*tchttp.BaseRequest
	SdkAppId   *uint64 `json:"SdkAppId,omitnil,omitempty" name:"SdkAppId"`
	StartTime  *uint64 `json:"StartTime,omitnil,omitempty" name:"StartTime"`
	EndTime    *uint64 `json:"EndTime,omitnil,omitempty" name:"EndTime"`
	RoomId     *string `json:"RoomId,omitnil,omitempty" name:"RoomId"`
	PageNumber *uint64 `json:"PageNumber,omitnil,omitempty" name:"PageNumber"`
	PageSize   *uint64 `json:"PageSize,omitnil,omitempty" name:"PageSize"`
}

func newDescribeRoomInfoRequest(start, end int64) *describeRoomInfoRequest {
	u := func(v int64) *uint64 { x := uint64(v); return &x }
	r := &describeRoomInfoRequest{BaseRequest: &tchttp.BaseRequest{}, SdkAppId: u(testSdkAppId), StartTime: u(start), EndTime: u(end)}
	r.Init().WithApiInfo("trtc", "2019-07-22", "DescribeRoomInfo")
	return r
}

// sendStruct sends a generated-style request and decodes the Response object.
func sendStruct(t testing.TB, c *common.Client, req tchttp.Request) (map[string]any, error) {
	t.Helper()
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return nil, err
	}
	var body struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil || body.Response == nil {
		t.Fatalf("bad response: %v: %s", err, resp.GetBody())
	}
	return body.Response, nil
}
