package models

import (
	"context"
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
