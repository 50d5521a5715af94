package models

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The dispatcher's due-queue query is a bounded covering scan of callback_events_next in its
// order (no sort of all pending events), then reads of the rows by id, and the strict-lane check is an index lookup.
func TestDueCallbacksQueryPlan(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "e.db"))
	t.Cleanup(func() { s.Close() })
	ids := queryPlan(t, s, dueIdsSQL, 5, "[1,2]", 16)
	if !strings.Contains(ids, "COVERING INDEX callback_events_next") || strings.Contains(ids, "TEMP B-TREE") {
		t.Fatalf("due ids plan is not a covering scan of callback_events_next in order:\n%s", ids)
	}
	all := queryPlan(t, s, dueRowsSQL, "[1,2]", 5, 16)
	t.Log(all)
	if !strings.Contains(all, "INTEGER PRIMARY KEY") && !strings.Contains(all, "rowid=?") {
		t.Fatalf("due rows are not read by id:\n%s", all)
	}
	if !strings.Contains(all, "callback_events_pending") {
		t.Fatalf("the strict-lane head lookup does not use callback_events_pending:\n%s", all)
	}
}

// Batches of outcomes are recorded with their bodies and Signs; an outcome of an event no
// longer pending is skipped, not an error for the batch.
func TestRecordCallbackAttemptsBatch(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, filepath.Join(t.TempDir(), "e.db"))
	t.Cleanup(func() { s.Close() })
	now := time.UnixMilli(1_700_000_000_000)
	var ids []int64
	for i := range 3 {
		ev := CallbackEvent{SdkAppId: 1, EventGroupId: 1, EventType: 103, Url: "http://127.0.0.1:9/", Body: []byte(`{"CallbackTs":0}`),
			EventMsTs: now.UnixMilli() + int64(i), CreatedAtMs: now.UnixMilli(), State: CallbackPending, NextAttemptAtMs: now.UnixMilli()}
		if err := s.db.Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if err := s.db.Model(&CallbackEvent{}).Where("id = ?", ids[2]).Update("state", CallbackDelivered).Error; err != nil {
		t.Fatal(err)
	}
	due, err := s.DueCallbacks(ctx, now, map[int64]bool{ids[1]: true}, 10)
	if err != nil || len(due) != 1 || due[0].ID != ids[0] {
		t.Fatalf("DueCallbacks without the in-flight one: %v %v", due, err)
	}
	batch := []CallbackOutcome{
		{EventId: ids[0], At: now, Duration: 3 * time.Millisecond, Body: []byte(`{"CallbackTs":1700000000000}`), Sign: "s0", StatusCode: 200, State: CallbackDelivered},
		{EventId: ids[1], At: now, Body: []byte(`{"CallbackTs":1700000000000}`), Sign: "s1", StatusCode: 503, Error: "HTTP status 503",
			State: CallbackPending, NextAttemptAt: now},
		{EventId: ids[2], At: now, Body: []byte(`{}`), StatusCode: 200, State: CallbackDelivered}, // not pending: skipped
	}
	if err := s.RecordCallbackAttempts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	events, err := s.Callbacks(ctx, CallbackQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]CallbackEvent{}
	for _, e := range events {
		byID[e.ID] = e
	}
	if e := byID[ids[0]]; e.State != CallbackDelivered || len(e.AttemptLog) != 1 || string(e.AttemptLog[0].Body) != `{"CallbackTs":1700000000000}` || e.AttemptLog[0].Sign != "s0" {
		t.Fatalf("event 0: %+v", e)
	}
	if e := byID[ids[1]]; e.State != CallbackPending || e.Attempts != 1 || len(e.AttemptLog) != 1 || e.AttemptLog[0].StatusCode != 503 {
		t.Fatalf("event 1: %+v", e)
	}
	if e := byID[ids[2]]; len(e.AttemptLog) != 0 {
		t.Fatalf("an outcome of a delivered event was recorded: %+v", e)
	}
}
