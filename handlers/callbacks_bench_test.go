package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// BenchmarkCallbackDeliveryUnderLoad produces room events at a fixed rate through the
// control API (participants entering, each entry one 103, each new room a 101) for a few
// seconds while the dispatcher delivers them to a real local receiver that verifies Sign.
// It reports the delay from an event's commit (EventMsTs) to its first attempt arriving
// (p50, p99, max, in ms), the fraction delivered by the end of production, and the
// production rate reached. Run it with -benchtime=1x: each iteration is one whole run.
//
//	go test ./handlers -run '^$' -bench CallbackDeliveryUnderLoad -benchtime=1x
func BenchmarkCallbackDeliveryUnderLoad(b *testing.B) {
	for _, rate := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("events=%d/s", rate), func(b *testing.B) {
			for b.Loop() {
				deliveryUnderLoad(b, rate, 5*time.Second)
			}
		})
	}
}

func deliveryUnderLoad(b *testing.B, rate int, duration time.Duration) {
	const key = "benchKey1"
	var (
		mu       sync.Mutex
		firstAt  = map[string]time.Duration{} // event (room, user, type) → commit to first arrival
		received atomic.Int64
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		body, _ := io.ReadAll(r.Body)
		if !webhooks.Verify(key, body, r.Header.Get("Sign")) {
			b.Errorf("bad Sign for %s", body)
		}
		var ev struct {
			EventType int
			EventInfo struct {
				RoomId    string
				UserId    string
				EventMsTs int64
			}
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			b.Errorf("callback body: %v", err)
		}
		id := fmt.Sprint(ev.EventInfo.RoomId, "/", ev.EventInfo.UserId, "/", ev.EventType)
		mu.Lock()
		if _, seen := firstAt[id]; !seen {
			firstAt[id] = arrived.Sub(time.UnixMilli(ev.EventInfo.EventMsTs))
			received.Add(1)
		}
		mu.Unlock()
		io.WriteString(w, `{"code":0}`)
	}))
	defer rcv.Close()
	e := startDelivering(b, clock.System)
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/_emulator/v1/apps/1400000001",
		strings.NewReader(`{"Callbacks":[{"EventGroupId":1,"Url":"`+rcv.URL+`","Key":"`+key+`"}]}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatal(resp, err)
	}

	const rooms, producers = 100, 32
	tr := &http.Transport{MaxIdleConnsPerHost: producers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	entries := make(chan int, producers)
	var produced atomic.Int64 // events committed (entries answered 200, rooms created)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for i := range entries {
				body := `{"RoomId":"load` + strconv.Itoa(i%rooms) + `","RoomIdType":0,"UserId":"u` + strconv.Itoa(i) + `"}`
				resp, err := client.Post("http://"+e.addr+"/_emulator/v1/participants", "application/json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("enter: HTTP %d", resp.StatusCode)
					continue
				}
				produced.Add(1)
				if i < rooms {
					produced.Add(1) // the room's 101
				}
			}
		})
	}
	// Pace entries (one 103 each; the first in each room adds a 101): every millisecond
	// tick sends what is owed by then.
	start := time.Now()
	sent := 0
	tick := time.NewTicker(time.Millisecond)
	for now := range tick.C {
		elapsed := now.Sub(start)
		if elapsed >= duration {
			break
		}
		for owed := int(elapsed.Seconds() * float64(rate)); sent < owed; sent++ {
			entries <- sent
		}
	}
	tick.Stop()
	close(entries)
	wg.Wait()
	productionTime := time.Since(start)
	deliveredByEnd := received.Load()
	total := produced.Load()
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < total && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	drained := time.Since(start)

	mu.Lock()
	delays := make([]time.Duration, 0, len(firstAt))
	for _, d := range firstAt {
		delays = append(delays, d)
	}
	mu.Unlock()
	if len(delays) == 0 {
		b.Fatal("nothing delivered")
	}
	slices.Sort(delays)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(total)/productionTime.Seconds(), "produced-events/s")
	b.ReportMetric(ms(delays[len(delays)/2]), "p50-ms")
	b.ReportMetric(ms(delays[len(delays)*99/100]), "p99-ms")
	b.ReportMetric(ms(delays[len(delays)-1]), "max-ms")
	b.ReportMetric(float64(deliveredByEnd)/float64(total), "delivered-by-end")
	b.ReportMetric(float64(received.Load())/float64(total), "delivered-after-30s")
	b.Logf("%d events in %v (%d delivered by then), all %d delivered %v after the start",
		total, productionTime.Round(time.Millisecond), deliveredByEnd, received.Load(), drained.Round(time.Millisecond))
}
