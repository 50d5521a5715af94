package models

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestEntryRowsAsStored: the room, member and callback rows an entry writes through its
// prepared statements read back through gorm with every field as entered, the callback
// rows carrying the application's targets (a strict lane for group 1 only).
func TestEntryRowsAsStored(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	if _, _, err := h.PutApp(ctx, testSeed.Uin, histApp, AppSettings{Callbacks: []AppCallback{
		{EventGroupId: EventGroupRoom, Url: "http://127.0.0.1:9/room", Key: "kr", CallbackOrder: CallbackOrderStrict},
		{EventGroupId: EventGroupMedia, Url: "http://127.0.0.1:9/media", Key: "km"},
	}}); err != nil {
		t.Fatal(err)
	}
	m, err := h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: "s-1", RoomIdType: RoomIdString, UserId: "alice"},
		UserSig: h.sig(t, "alice"), Role: RoleAnchor, TerminalType: 2, UserType: 1, Reason: 2, Publish: Publish{Audio: true},
		VideoWidth: 1280, VideoHeight: 720, VideoFps: 30})
	if err != nil {
		t.Fatal(err)
	}
	var room Room
	if err := h.db.Take(&room, m.RoomRef).Error; err != nil {
		t.Fatal(err)
	}
	if want := (Room{ID: m.RoomRef, SdkAppId: histApp, RoomId: "s-1", RoomIdType: RoomIdString, CreatorUserId: "alice", CreatedAtMs: h.now}); room != want {
		t.Errorf("room %+v, want %+v", room, want)
	}
	var stored Member
	if err := h.db.Take(&stored, m.ID).Error; err != nil {
		t.Fatal(err)
	}
	want := Member{ID: m.ID, RoomRef: room.ID, UserId: "alice", Role: RoleAnchor, TerminalType: 2, UserType: 1, PubAudio: true,
		VideoWidth: 1280, VideoHeight: 720, VideoFps: 30, JoinedAtMs: h.now}
	if stored != want || *m != want {
		t.Errorf("member stored %+v, returned %+v, want %+v", stored, *m, want)
	}
	var events []CallbackEvent
	if err := h.db.Order("id").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	lane := fmt.Sprintf("room/%d/%d/s-1", histApp, RoomIdString)
	wantEvents := []struct {
		group, event int
		lane, url    string
		key          string
	}{
		{EventGroupRoom, EventCreateRoom, lane, "http://127.0.0.1:9/room", "kr"},
		{EventGroupRoom, EventEnterRoom, lane, "http://127.0.0.1:9/room", "kr"},
		{EventGroupMedia, EventStartAudio, "", "http://127.0.0.1:9/media", "km"},
	}
	if len(events) != len(wantEvents) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(wantEvents), events)
	}
	for i, w := range wantEvents {
		ev := events[i]
		if ev.SdkAppId != histApp || ev.EventGroupId != w.group || ev.EventType != w.event || ev.Lane != w.lane || ev.RoomId != "s-1" ||
			ev.TaskId != "" || ev.Url != w.url || ev.Key != w.key || ev.EventMsTs != h.now || ev.CreatedAtMs != h.now ||
			ev.State != CallbackPending || ev.Attempts != 0 || ev.FirstAttemptAtMs != nil || ev.NextAttemptAtMs != h.now || ev.FinishedAtMs != nil {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
		if want := fmt.Sprintf(`{"EventGroupId":%d,"EventType":%d,"CallbackTs":%d,`, w.group, w.event, h.now); len(ev.Body) < len(want) || string(ev.Body[:len(want)]) != want {
			t.Errorf("event %d body %s", i, ev.Body)
		}
	}
	// Entering again while present is refused, and writes nothing.
	if _, err := h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: "s-1", RoomIdType: RoomIdString, UserId: "alice"},
		UserSig: h.sig(t, "alice")}); err == nil {
		t.Error("a second entry of a present user was accepted")
	}
	var count int64
	if err := h.db.Model(&CallbackEvent{}).Count(&count).Error; err != nil || count != 3 {
		t.Errorf("%d events after a refused entry (%v), want 3", count, err)
	}
}

// TestEntryTargetsFollowAppChanges: entries use cached callback targets, yet no entry
// committed after a change of the application's callbacks carries the targets before it.
// Entries run while the URL changes back and forth; in commit (id) order the events' URLs
// change at most once per change of the application.
func TestEntryTargetsFollowAppChanges(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	const changes, enterers, entries = 40, 8, 60
	sigs := make([]string, enterers*entries)
	for i := range sigs {
		sigs[i] = h.sig(t, fmt.Sprint("u", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, enterers+1)
	for g := range enterers {
		wg.Go(func() {
			for i := range entries {
				n := g*entries + i
				if _, err := h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: fmt.Sprint("r", g), RoomIdType: RoomIdString,
					UserId: fmt.Sprint("u", n)}, UserSig: sigs[n]}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range changes {
			url := fmt.Sprintf("http://127.0.0.1:9/cb-%d", i%2)
			if _, _, err := h.PutApp(ctx, testSeed.Uin, histApp, AppSettings{Callbacks: []AppCallback{{EventGroupId: EventGroupRoom, Url: url}}}); err != nil {
				errs <- err
				return
			}
			runtime.Gosched() // let entries run between the changes
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var urls []string
	if err := h.db.Model(&CallbackEvent{}).Where("event_type = ?", EventEnterRoom).Order("id").Pluck("url", &urls).Error; err != nil {
		t.Fatal(err)
	}
	switches := 0
	for i := 1; i < len(urls); i++ {
		if urls[i] != urls[i-1] {
			switches++
		}
	}
	if len(urls) != enterers*entries || switches > changes {
		t.Errorf("%d 103 events (want %d), their URL switches %d times in commit order for %d changes", len(urls), enterers*entries, switches, changes)
	}
}

// TestDueCallbacksSkipsInFlight: the events in flight, passed as one JSON array, are left
// out before the limit applies; NextCallbackDue is the earliest later attempt.
func TestDueCallbacksSkipsInFlight(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		ev := CallbackEvent{SdkAppId: histApp, EventGroupId: 1, EventType: 103, Url: "http://127.0.0.1:9/", Body: []byte(`{}`),
			EventMsTs: h.now, CreatedAtMs: h.now, State: CallbackPending, NextAttemptAtMs: h.now + int64(i)}
		if err := h.db.Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	inFlight := map[int64]bool{ids[0]: true, ids[1]: true, ids[3]: true}
	for _, tc := range []struct {
		limit int
		want  []int64
	}{{1, []int64{ids[2]}}, {2, []int64{ids[2], ids[4]}}, {10, []int64{ids[2], ids[4]}}} {
		due, err := h.DueCallbacks(ctx, time.UnixMilli(h.now+10), inFlight, tc.limit)
		var got []int64
		for _, ev := range due {
			got = append(got, ev.ID)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("limit %d: due %v (%v), want %v", tc.limit, got, err, tc.want)
		}
	}
	if due, err := h.DueCallbacks(ctx, time.UnixMilli(h.now+10), nil, 10); err != nil || len(due) != 5 {
		t.Errorf("nothing in flight: %d due (%v), want 5", len(due), err)
	}
	if next, ok, err := h.NextCallbackDue(ctx, time.UnixMilli(h.now+1)); err != nil || !ok || next.UnixMilli() != h.now+2 {
		t.Errorf("next due after +1 ms: %v %v %v, want +2 ms", next, ok, err)
	}
	if next, ok, err := h.NextCallbackDue(ctx, time.UnixMilli(h.now+4)); err != nil || ok {
		t.Errorf("next due after the last: %v %v %v, want none", next, ok, err)
	}
}

// TestWriteStatementsBindInTransactions: inside a writer transaction the prepared entry and
// attempt statements bind to its connection (not the plain-SQL fallback).
func TestWriteStatementsBindInTransactions(t *testing.T) {
	h := newHistoryStore(t)
	err := h.db.Transaction(func(tx *gorm.DB) error {
		for _, p := range h.writeStmts.all() {
			if *p.st == nil || inTx(tx, *p.st) == nil {
				t.Errorf("statement %.40q is not prepared or does not bind", p.query)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDueCallbacksLooksPastHeldLanes: an event held back by its strict lane (its head in
// flight) does not hide a due event after it, whatever the limit.
func TestDueCallbacksLooksPastHeldLanes(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	var ids []int64
	for i, lane := range []string{"room/x", "room/x", "room/x", ""} {
		ev := CallbackEvent{SdkAppId: histApp, EventGroupId: 1, EventType: 103, Lane: lane, Url: "http://127.0.0.1:9/", Body: []byte(`{}`),
			EventMsTs: h.now + int64(i), CreatedAtMs: h.now, State: CallbackPending, NextAttemptAtMs: h.now + int64(i)}
		if err := h.db.Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	for _, limit := range []int{1, 2, 16} {
		due, err := h.DueCallbacks(ctx, time.UnixMilli(h.now+10), map[int64]bool{ids[0]: true}, limit)
		if err != nil || len(due) != 1 || due[0].ID != ids[3] {
			t.Errorf("limit %d: due %+v (%v), want only the lane-less event", limit, due, err)
		}
	}
}
