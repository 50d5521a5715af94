package handlers_test

import (
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

func TestClockOnTheSystemClock(t *testing.T) {
	e := startEmulator(t)
	status, body := controlDo(t, e, "GET", "/_emulator/v1/clock", "")
	if status != 200 || body["Mode"] != "system" || body["Scale"] != 1.0 {
		t.Fatalf("GET clock: %d %v", status, body)
	}
	if now, _ := time.Parse(time.RFC3339Nano, body["Now"].(string)); time.Since(now).Abs() > time.Minute {
		t.Fatalf("the system clock says %v", body["Now"])
	}
	status, body = controlDo(t, e, "POST", "/_emulator/v1/clock", `{"Advance":"90s"}`)
	if status != 409 || errorCode(body) != "FailedOperation.ClockNotVirtual" {
		t.Fatalf("advance the system clock: %d %v", status, body)
	}
}

// TestClockVirtual: the control API moves a virtual clock forward only, and what the
// emulator stamps and checks follows it: the UserSig the control API signs for an entry
// verifies at the virtual time, 30 days past the real one.
func TestClockVirtual(t *testing.T) {
	t0 := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second).UTC()
	e := startEmulatorWith(t, clock.NewVirtual(t0, 0))
	at := func(body map[string]any) time.Time {
		t.Helper()
		now, err := time.Parse(time.RFC3339Nano, body["Now"].(string))
		if err != nil || int64(body["NowMs"].(float64)) != now.UnixMilli() {
			t.Fatalf("clock body %v", body)
		}
		return now
	}
	status, body := controlDo(t, e, "GET", "/_emulator/v1/clock", "")
	if status != 200 || body["Mode"] != "virtual" || body["Scale"] != 0.0 || !at(body).Equal(t0) {
		t.Fatalf("GET clock: %d %v, want virtual at %v", status, body, t0)
	}
	status, body = controlDo(t, e, "POST", "/_emulator/v1/clock", `{"Advance":"90s"}`)
	if status != 200 || !at(body).Equal(t0.Add(90*time.Second)) {
		t.Fatalf("advance 90s: %d %v", status, body)
	}
	set := t0.Add(time.Hour).Format(time.RFC3339)
	status, body = controlDo(t, e, "POST", "/_emulator/v1/clock", `{"Set":"`+set+`"}`)
	if status != 200 || !at(body).Equal(t0.Add(time.Hour)) {
		t.Fatalf("set %s: %d %v", set, status, body)
	}
	for _, bad := range []string{`{"Set":"` + t0.Format(time.RFC3339) + `"}`, `{"Advance":"-1s"}`, `{"Advance":"soon"}`,
		`{"Advance":"9000h"}`, `{"Set":"tomorrow"}`, `{"Advance":"1s","Set":"` + set + `"}`, `{}`, `{"Rewind":"1s"}`} {
		if status, body := controlDo(t, e, "POST", "/_emulator/v1/clock", bad); status != 400 || errorCode(body) == "" {
			t.Errorf("%s: %d %v, want 400", bad, status, body)
		}
	}
	if status, body := controlDo(t, e, "GET", "/_emulator/v1/clock", ""); !at(body).Equal(t0.Add(time.Hour)) {
		t.Fatalf("refused moves moved the clock: %d %v", status, body)
	}
	status, body = controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":"5","UserId":"alice"}`)
	if status != 200 {
		t.Fatalf("enter at a virtual time 30 days ahead: %d %v", status, body)
	}
}
