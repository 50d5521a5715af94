package models

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSweepHistoryDeletesOnlyOldClosedRooms drives the sweep with the store's clock: rooms
// closed more than the retention ago go with their members, events, messages and ended
// recording tasks; newer and open rooms stay, and so does a room whose task has not ended.
func TestSweepHistoryDeletesOnlyOldClosedRooms(t *testing.T) {
	ctx := context.Background()
	h := newHistoryStore(t)
	task, err := h.record(t, "701", "rec", 30)
	if err != nil {
		t.Fatal(err)
	}
	h.enter(t, "701", "alice")
	if err := h.DismissRoom(ctx, histUin, histApp, "701", RoomIdInt); err != nil {
		t.Fatal(err)
	}
	h.enter(t, "702", "bob")
	if err := h.Leave(ctx, Identity{SdkAppId: histApp, RoomId: "702", RoomIdType: RoomIdInt, UserId: "bob"}, 1); err != nil {
		t.Fatal(err)
	}
	h.enter(t, "703", "carol") // stays open
	closedAt := h.now

	h.now = closedAt + (31 * 24 * time.Hour).Milliseconds()
	recent := closedAt + (2 * 24 * time.Hour).Milliseconds() // closed 29 days before the sweep
	h.room(t, "704", RoomIdInt, recent-60_000, &recent)

	count := func(table string) int64 {
		t.Helper()
		var n int64
		if err := h.db.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	rooms := func() []string {
		var ids []string
		h.db.Model(&Room{}).Order("room_id").Pluck("room_id", &ids)
		return ids
	}
	n, err := h.SweepHistory(ctx, DefaultHistoryRetention)
	if err != nil {
		t.Fatal(err)
	}
	if got := rooms(); n != 1 || len(got) != 3 || got[0] != "701" || got[1] != "703" || got[2] != "704" {
		t.Fatalf("first sweep deleted %d, left %v: want 702 gone, 701 kept while its task has not ended", n, got)
	}
	if err := h.db.Model(&RecordingTask{}).Where("task_id = ?", task.TaskId).Update("state", TaskEnded).Error; err != nil {
		t.Fatal(err)
	}
	if n, err := h.SweepHistory(ctx, DefaultHistoryRetention); err != nil || n != 1 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
	if got := rooms(); len(got) != 2 || got[0] != "703" || got[1] != "704" {
		t.Fatalf("left %v", got)
	}
	if c := count("recording_tasks"); c != 0 {
		t.Fatalf("%d recording tasks left", c)
	}
	var members []string
	h.db.Model(&Member{}).Pluck("user_id", &members)
	if len(members) != 1 || members[0] != "carol" {
		t.Fatalf("members left %v", members)
	}
	var events int64
	h.db.Table("member_events").Where("member_ref NOT IN (SELECT id FROM members)").Count(&events)
	if events != 0 {
		t.Fatalf("%d member events of deleted members left", events)
	}
	if count("member_events") == 0 {
		t.Fatal("carol's events went too")
	}
	// Nothing is older now: a sweep deletes nothing.
	if n, err := h.SweepHistory(ctx, DefaultHistoryRetention); err != nil || n != 0 {
		t.Fatalf("third sweep: %d %v", n, err)
	}
}

// TestSweepPlanIsBounded: the sweep finds its rooms by rooms_by_end, not by a scan.
func TestSweepPlanIsBounded(t *testing.T) {
	s := openPlanStore(t)
	plan := queryPlan(t, s, `SELECT id FROM rooms WHERE sdk_app_id = ? AND destroyed_at_ms < ? ORDER BY destroyed_at_ms LIMIT 5`, 1, 2)
	if want := "SEARCH rooms USING COVERING INDEX rooms_by_end (sdk_app_id=? AND destroyed_at_ms<?)"; !strings.Contains(plan, want) {
		t.Fatalf("plan:\n%s\nwant %s", plan, want)
	}
}

// TestSweepCallbackLog: delivered and failed events finished more than the retention ago
// go with their attempts; newer ones and pending ones (however old) stay; the sweep reads
// by callback_events_finished.
func TestSweepCallbackLog(t *testing.T) {
	ctx := context.Background()
	h := newHistoryStore(t)
	day := int64(24 * time.Hour / time.Millisecond)
	add := func(state CallbackState, finishedDaysAgo int64) int64 {
		t.Helper()
		ev := CallbackEvent{SdkAppId: histApp, EventGroupId: 1, EventType: 103, Url: "http://127.0.0.1:9/", Body: []byte(`{}`),
			EventMsTs: h.now - 10*day, CreatedAtMs: h.now - 10*day, State: state, NextAttemptAtMs: h.now - 10*day}
		if state != CallbackPending {
			f := h.now - finishedDaysAgo*day
			ev.FinishedAtMs = &f
		}
		if err := h.db.Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
		if err := h.db.Create(&CallbackAttempt{EventId: ev.ID, AtMs: h.now - 10*day, Body: []byte(`{}`), StatusCode: 200}).Error; err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	oldDelivered, oldFailed := add("delivered", 8), add("failed", 9)
	recent, pending := add("delivered", 6), add(CallbackPending, 0)
	n, err := h.SweepCallbackLog(ctx, 7*24*time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("swept %d (%v), want 2", n, err)
	}
	var events, attempts []int64
	h.db.Raw(`SELECT id FROM callback_events ORDER BY id`).Scan(&events)
	h.db.Raw(`SELECT event_id FROM callback_attempts ORDER BY event_id`).Scan(&attempts)
	if fmt.Sprint(events) != fmt.Sprint([]int64{recent, pending}) || fmt.Sprint(attempts) != fmt.Sprint(events) {
		t.Fatalf("left events %v, attempts of %v; want %d and %d (swept %d, %d)", events, attempts, recent, pending, oldDelivered, oldFailed)
	}
	plan := queryPlan(t, h.Store, `SELECT id FROM callback_events WHERE state <> 'pending' AND finished_at_ms < ? ORDER BY finished_at_ms LIMIT ?`, 1, 10)
	if !strings.Contains(plan, "callback_events_finished") {
		t.Fatalf("the sweep's plan does not use callback_events_finished:\n%s", plan)
	}
}
