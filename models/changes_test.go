package models

import (
	"context"
	"sync"
	"testing"
)

// TestChangesToldAfterCommit: each committed write tells the OnChange hooks what it
// changed, after its commit (the hook reads what was written); a read, a refused write
// and a recorder pass that changed nothing tell nothing.
func TestChangesToldAfterCommit(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	var told []Change
	var pendingSeen int64
	h.OnChange(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, c)
		// After the commit: another connection (the read pool) sees its events.
		h.reader(ctx).Model(&CallbackEvent{}).Where("state = ?", CallbackPending).Count(&pendingSeen)
	})
	take := func() (Change, int64) {
		mu.Lock()
		defer mu.Unlock()
		var all Change
		for _, c := range told {
			all |= c
		}
		told = nil
		return all, pendingSeen
	}
	want := func(what string, got, want Change) {
		t.Helper()
		if got != want {
			t.Errorf("%s told %04b, want %04b", what, got, want)
		}
	}

	h.enter(t, "901", "alice") // the group writer's path
	c, pending := take()
	want("an entry", c, ChangeRooms|ChangeCallbacks)
	if pending == 0 {
		t.Error("the hook ran before the entry's events were visible")
	}
	if _, err := h.App(ctx, histApp); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: "901", RoomIdType: RoomIdInt, UserId: "bob"},
		UserSig: "not a signature"}); err == nil {
		t.Fatal("a bad UserSig entered")
	}
	c, _ = take()
	want("a read and a refused entry", c, 0)

	task, err := h.record(t, "901", "rec", 30)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = take()
	want("CreateRecording", c, ChangeRooms|ChangeRecordings|ChangeJobs|ChangeCallbacks)
	for range 2 {
		if _, err := h.RecordingTick(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = take()
	want("recorder passes that changed nothing", c, 0)
	if err := h.ModifyRecording(ctx, histUin, histApp, task.TaskId, RecordingChange{Subscribe: Subscription{AudioAllow: []string{"alice"}}}); err != nil {
		t.Fatal(err)
	}
	c, _ = take()
	want("ModifyRecording", c, ChangeRecordings)
	if err := h.SetUserBlocked(ctx, histUin, Identity{SdkAppId: histApp, RoomId: "901", RoomIdType: RoomIdInt, UserId: "alice"}, BlockAudio); err != nil {
		t.Fatal(err)
	}
	c, _ = take()
	want("SetUserBlocked", c&ChangeRooms, ChangeRooms)
}
