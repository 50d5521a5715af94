package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// loadConnections is the concurrency of the throughput benchmarks (64, as in
// research/reliability-perf.md, so the figures compare).
const loadConnections = 64

// signedRequest returns a body and TC3 headers valid for the next few minutes.
func signedRequest(addr, action string, body []byte, secretKey string) http.Header {
	return signedRequestAs(addr, action, body, cam.Key{SecretId: testSecretId, SecretKey: secretKey})
}

func signedRequestAs(addr, action string, body []byte, key cam.Key) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-TC-Action", action)
	h.Set("X-TC-Version", "2019-07-22")
	ts := time.Now().Unix()
	h.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	r := &cam.Request{Method: "POST", Host: addr, Path: "/", Header: h, Body: body}
	h.Set("Authorization", cam.SignTC3(key, "trtc", r, ts))
	return h
}

// load sends the same signed request from 64 concurrent keep-alive connections and
// reports requests per second.
func load(b *testing.B, addr string, header http.Header, body []byte) {
	tr := &http.Transport{MaxIdleConnsPerHost: loadConnections, MaxConnsPerHost: loadConnections}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://" + addr + "/"
	// Warm the connections so that the measurement does not include dialing.
	for i := 0; i < loadConnections; i++ {
		send(b, client, url, header, body)
	}
	b.SetParallelism((loadConnections + 1) / 2) // GOMAXPROCS is 2 on this machine class
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			send(b, client, url, header, body)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func send(b *testing.B, client *http.Client, url string, header http.Header, body []byte) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("status %d", resp.StatusCode)
	}
	if wantError := strings.HasPrefix(b.Name(), "BenchmarkAPIThroughput/error-"); wantError != bytes.Contains(answer, []byte(`"Error":`)) {
		b.Errorf("answer %.200s", answer)
	}
}

func BenchmarkAPIThroughput(b *testing.B) {
	e := startEmulator(b)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := e.store.OpenRoom(ctx, testSdkAppId, "room-"+strconv.Itoa(i), models.RoomIdString, "alice"); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now().Unix()
	roomInfo := []byte(`{"SdkAppId":1400000001,"StartTime":` + strconv.FormatInt(now-3600, 10) + `,"EndTime":` + strconv.FormatInt(now+600, 10) + `}`)
	// A real task (its robot in room-0, idle), so the benchmark measures the answer, not an
	// error path.
	sig, err := usersig.Gen(usersig.Params{SdkAppId: testSdkAppId, Key: testSdkSecretKey, UserId: "bench-recorder", Expire: time.Hour, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	task, err := e.store.CreateRecording(ctx, testUin, &models.RecordingSpec{SdkAppId: testSdkAppId, RoomId: "room-0",
		RoomIdType: models.RoomIdString, RobotUserId: "bench-recorder", RecordMode: 1, MaxIdleTime: 86400,
		MaxMediaFileMinutes: 1440, ResourceExpiredHour: 72,
		Storage: models.StorageTarget{Region: "ap-guangzhou", Bucket: "bench-1250000000", AccessKey: "a", SecretKey: "s"}}, sig, "")
	if err != nil {
		b.Fatal(err)
	}
	describeRec := []byte(`{"SdkAppId":1400000001,"TaskId":"` + task.TaskId + `"}`)
	dismiss := []byte(`{"SdkAppId":1400000001,"RoomId":4242}`)

	bare := startBareTC3(b)
	b.Run("bare-echo-tc3", func(b *testing.B) {
		load(b, bare, signedRequest(bare, "DescribeCloudRecording", describeRec, testSecretKey), describeRec)
	})
	b.Run("DescribeCloudRecording", func(b *testing.B) {
		load(b, e.addr, signedRequest(e.addr, "DescribeCloudRecording", describeRec, testSecretKey), describeRec)
	})
	b.Run("DescribeRoomInfo-20-rooms", func(b *testing.B) {
		load(b, e.addr, signedRequest(e.addr, "DescribeRoomInfo", roomInfo, testSecretKey), roomInfo)
	})
	b.Run("error-RoomNotExist", func(b *testing.B) {
		load(b, e.addr, signedRequest(e.addr, "DismissRoom", dismiss, testSecretKey), dismiss)
	})
	// A sub-user's call also loads its attached policies and evaluates them: one policy of
	// 10 statements, the allowing one last.
	user, key, err := e.store.AddSubUser(ctx, testUin, models.NewSubUser{Name: "bench", UseApi: true})
	if err != nil {
		b.Fatal(err)
	}
	var stmts []string
	for i := 0; i < 9; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"effect":"allow","action":"name/trtc:Start%d*","resource":"qcs::trtc::uin/%s:sdkappid/%d"}`, i, testUin, 1400000100+i))
	}
	stmts = append(stmts, `{"effect":"allow","action":"name/trtc:Describe*","resource":"*"}`)
	p, err := e.store.CreatePolicy(ctx, testUin, "bench", "", `{"version":"2.0","statement":[`+strings.Join(stmts, ",")+`]}`)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.store.AttachPolicy(ctx, testUin, p.ID, user.Uin); err != nil {
		b.Fatal(err)
	}
	b.Run("DescribeRoomInfo-20-rooms-subuser-CAM-10-statements", func(b *testing.B) {
		load(b, e.addr, signedRequestAs(e.addr, "DescribeRoomInfo", roomInfo, cam.Key{SecretId: key.SecretId, SecretKey: key.SecretKey}), roomInfo)
	})
	b.Run("error-SignatureFailure", func(b *testing.B) {
		load(b, e.addr, signedRequest(e.addr, "DescribeRoomInfo", roomInfo, "wrong-key"), roomInfo)
	})
}

// startBareTC3 is the ceiling to compare with: a bare echo handler that reads the body,
// does the same TC3 check against an in-memory key, decodes the JSON and answers an
// envelope, with nothing else.
func startBareTC3(b *testing.B) string {
	keys := map[string]cam.Key{testSecretId: {SecretId: testSecretId, SecretKey: testSecretKey, Uin: testUin}}
	lookup := func(id string) (cam.Key, bool, error) { k, ok := keys[id]; return k, ok, nil }
	e := echo.New()
	e.POST("/", func(c echo.Context) error {
		r := c.Request()
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 10<<20))
		if err != nil {
			return err
		}
		signed := &cam.Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Header: r.Header, Body: body}
		if _, err := cam.VerifyTC3(signed, lookup, time.Now()); err != nil {
			return c.JSON(200, map[string]any{"Response": map[string]any{"Error": map[string]string{"Code": "AuthFailure.SignatureFailure"}, "RequestId": uuid.NewString()}})
		}
		var params map[string]any
		if err := json.Unmarshal(body, &params); err != nil {
			return err
		}
		return c.JSON(200, map[string]any{"Response": map[string]any{"TaskId": "task-abc", "RequestId": uuid.NewString()}})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// BenchmarkCallbackLatency measures the delay from a state change (a participant entering,
// through the control API) to its 103 callback arriving at a local receiver, and reports
// p50/p99.
func BenchmarkCallbackLatency(b *testing.B) {
	arrived := make(chan string, 1024)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			EventType int
			EventInfo struct{ UserId string }
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.EventType == 103 {
			arrived <- body.EventInfo.UserId
		}
	}))
	defer rcv.Close()
	e := startDelivering(b, clock.System)
	body := `{"Callbacks":[{"EventGroupId":1,"Url":"` + rcv.URL + `","Key":"k"}]}`
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/_emulator/v1/apps/1400000001", strings.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatal(resp, err)
	}
	delays := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		user := "u" + strconv.Itoa(i)
		start := time.Now()
		resp, err := http.Post("http://"+e.addr+"/_emulator/v1/participants", "application/json",
			strings.NewReader(`{"RoomId":"lat`+strconv.Itoa(i%50)+`","RoomIdType":0,"UserId":"`+user+`"}`))
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp, err)
		}
		resp.Body.Close()
		for got := range arrived {
			if got == user {
				break
			}
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEntryThroughput: participants entering through the control API from 64
// connections, each a new user in one of 50 rooms, callbacks of groups 1 and 2 delivered
// to a local receiver (the entry scenario of cmd/bench, in process, for profiling).
func BenchmarkEntryThroughput(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer rcv.Close()
	e := startDelivering(b, clock.System)
	body := `{"Callbacks":[{"EventGroupId":1,"Url":"` + rcv.URL + `","Key":"k"},{"EventGroupId":2,"Url":"` + rcv.URL + `","Key":"k"}]}`
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/_emulator/v1/apps/1400000001", strings.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatal(resp, err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: loadConnections, MaxConnsPerHost: loadConnections}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	b.SetParallelism((loadConnections + 1) / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			resp, err := client.Post("http://"+e.addr+"/_emulator/v1/participants", "application/json",
				strings.NewReader(`{"RoomId":"entry-`+strconv.FormatInt(i%50, 10)+`","RoomIdType":0,"UserId":"user-`+strconv.FormatInt(i, 10)+`"}`))
			if err != nil {
				b.Error(err)
				return
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("entry: HTTP %d: %.200s", resp.StatusCode, answer)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
