package handlers_test

import (
	"context"
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

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// BenchmarkCallbackDeliveryUnderLoad produces room and media events at a fixed rate through
// the control API (participants entering with audio and video: 103, 201 and 203 each, and a
// 101 for each new room) for a few seconds while the dispatcher delivers them to a real local receiver that verifies Sign.
// It reports the delay from an event's commit (EventMsTs) to its first attempt arriving
// (p50, p99, max, in ms; and p50/p99-stamp-ms, the attempt's own CallbackTs minus EventMsTs,
// which leaves out the receiver's side), the fraction delivered by the end of production, and the
// production rate reached. Run it with -benchtime=1x: each iteration is one whole run.
//
//	go test ./handlers -run '^$' -bench CallbackDeliveryUnderLoad -benchtime=1x
//
// via=store commits the entries with models.Store.Enter directly (the same transactions
// without the HTTP layer, so that the rate is reached on a small machine); via=api posts
// them to POST /_emulator/v1/participants.
func BenchmarkCallbackDeliveryUnderLoad(b *testing.B) {
	for _, via := range []string{"store", "api"} {
		for _, rate := range []int{1000, 2000} {
			b.Run(fmt.Sprintf("via=%s/events=%d/s", via, rate), func(b *testing.B) {
				for b.Loop() {
					deliveryUnderLoad(b, via, rate, 5*time.Second)
				}
			})
		}
	}
}

func deliveryUnderLoad(b *testing.B, via string, rate int, duration time.Duration) {
	const key = "benchKey1"
	var (
		mu       sync.Mutex
		firstAt  = map[string]time.Duration{} // event (room, user, type) → commit to first arrival
		stamped  []time.Duration              // CallbackTs - EventMsTs of first arrivals: enqueue to first attempt
		received atomic.Int64
		newEvent = make(chan struct{}, 1)
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		body, _ := io.ReadAll(r.Body)
		if !webhooks.Verify(key, body, r.Header.Get("Sign")) {
			b.Errorf("bad Sign for %s", body)
		}
		var ev struct {
			EventType  int
			CallbackTs int64
			EventInfo  struct {
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
			stamped = append(stamped, time.Duration(ev.CallbackTs-ev.EventInfo.EventMsTs)*time.Millisecond)
			received.Add(1)
			select { // a new event arrived: the drain below looks again
			case newEvent <- struct{}{}:
			default:
			}
		}
		mu.Unlock()
		io.WriteString(w, `{"code":0}`)
	}))
	defer rcv.Close()
	e := startDelivering(b, clock.System)
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/_emulator/v1/apps/1400000001",
		strings.NewReader(`{"Callbacks":[{"EventGroupId":1,"Url":"`+rcv.URL+`","Key":"`+key+`"},`+
			`{"EventGroupId":2,"Url":"`+rcv.URL+`","Key":"`+key+`"}]}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatal(resp, err)
	}

	const rooms, producers, perEntry = 100, 32, 3
	tr := &http.Transport{MaxIdleConnsPerHost: producers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	app, err := e.store.App(context.Background(), testSdkAppId)
	if err != nil {
		b.Fatal(err)
	}
	enter := func(i int) error {
		roomId, userId := "load"+strconv.Itoa(i%rooms), "u"+strconv.Itoa(i)
		if via == "store" {
			sig, err := usersig.Gen(usersig.Params{SdkAppId: testSdkAppId, Key: app.SdkSecretKey, UserId: userId, Expire: time.Hour, Now: time.Now()})
			if err != nil {
				return err
			}
			_, err = e.store.Enter(context.Background(), models.EnterParams{Identity: models.Identity{SdkAppId: testSdkAppId,
				RoomId: roomId, RoomIdType: models.RoomIdString, UserId: userId}, UserSig: sig, Publish: models.Publish{Audio: true, Video: true}})
			return err // the commit wakes the dispatcher (Store.OnChange)
		}
		body := `{"RoomId":"` + roomId + `","RoomIdType":0,"UserId":"` + userId + `","Publish":{"Audio":true,"Video":true}}`
		resp, err := client.Post("http://"+e.addr+"/_emulator/v1/participants", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("enter: HTTP %d", resp.StatusCode)
		}
		return nil
	}
	entries := make(chan int, producers)
	var produced atomic.Int64 // events committed (entries answered 200, rooms created)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for i := range entries {
				if err := enter(i); err != nil {
					b.Error(err)
					continue
				}
				produced.Add(perEntry)
				if i < rooms {
					produced.Add(1) // the room's 101
				}
			}
		})
	}
	// Pace entries (three events each; the first in each room adds a 101): every
	// millisecond tick sends what is owed by then.
	start := time.Now()
	sent := 0
	tick := time.NewTicker(time.Millisecond)
	for now := range tick.C {
		elapsed := now.Sub(start)
		if elapsed >= duration {
			break
		}
		for owed := int(elapsed.Seconds() * float64(rate) / perEntry); sent < owed; sent++ {
			entries <- sent
		}
	}
	tick.Stop()
	close(entries)
	wg.Wait()
	productionTime := time.Since(start)
	deliveredByEnd := received.Load()
	total := produced.Load()
	giveUp := time.After(30 * time.Second)
drain:
	for received.Load() < total {
		select {
		case <-newEvent:
		case <-giveUp:
			break drain
		}
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
	slices.Sort(stamped)
	b.ReportMetric(ms(stamped[len(stamped)/2]), "p50-stamp-ms")
	b.ReportMetric(ms(stamped[len(stamped)*99/100]), "p99-stamp-ms")
	b.ReportMetric(float64(deliveredByEnd)/float64(total), "delivered-by-end")
	b.ReportMetric(float64(received.Load())/float64(total), "delivered-after-30s")
	b.Logf("%d events in %v (%d delivered by then), all %d delivered %v after the start",
		total, productionTime.Round(time.Millisecond), deliveredByEnd, received.Load(), drained.Round(time.Millisecond))
}
