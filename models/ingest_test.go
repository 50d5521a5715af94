package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

func (h *historyStore) ingest(t *testing.T, room, user string) *IngestTask {
	t.Helper()
	spec := &IngestSpec{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdString, UserId: user,
		StreamUrl: "http://127.0.0.1:9/a.flv", RepeatNum: 1, Volume: 100, Tempo: 1}
	task, err := h.StartIngest(context.Background(), histUin, spec, h.sig(t, user), "")
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// ingestEvents lists a task's group 7 callbacks: "type:Status", checking the body's
// shape (the seed's: CallbackMsTs at the top, EventMsTs, TaskId and Status inside).
func (h *historyStore) ingestEvents(t *testing.T, taskId string) []string {
	t.Helper()
	var rows []CallbackEvent
	if err := h.db.Where("task_id = ? AND event_group_id = ?", taskId, EventGroupIngest).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		var body struct {
			EventGroupId, EventType int
			CallbackMsTs            int64
			EventInfo               struct {
				EventMsTs int64
				TaskId    string
				Status    *int
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.EventInfo.TaskId != taskId || body.EventGroupId != 7 ||
			body.CallbackMsTs == 0 || body.EventInfo.EventMsTs != r.EventMsTs || body.EventInfo.Status == nil {
			t.Fatalf("event %s: %v", r.Body, err)
		}
		out = append(out, fmt.Sprintf("%d:%d", body.EventType, *body.EventInfo.Status))
	}
	return out
}

func (h *historyStore) describeIngest(t *testing.T, taskId string) string {
	t.Helper()
	st, err := h.DescribeIngest(context.Background(), histUin, histApp, taskId)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestIngestLifecycle: a task is InProgress from its start; its anchor enters the room
// only when the source opens (701 Status 0, 101, 103, 201/203); Stop writes 702 and takes
// the anchor out (104, 102) in the same commit; the task is then NotExist, and a second
// Stop is TaskNotExist.
func TestIngestLifecycle(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	task := h.ingest(t, "ing1", "puller")
	if st := h.describeIngest(t, task.TaskId); st != IngestInProgress {
		t.Fatalf("a starting task is %s", st)
	}
	if got := h.roomEvents(t, "ing1"); len(got) != 0 {
		t.Fatalf("room events before the source opened: %v", got)
	}
	got, err := h.IngestStarted(ctx, task.ID, IngestTracks{Video: &VideoFormat{Width: 320, Height: 240, Fps: 15}, Audio: true}, false)
	if err != nil || got.State != IngestRunning || got.MemberRef == nil || got.StartedAtMs == nil {
		t.Fatalf("started: %+v %v", got, err)
	}
	m, err := h.PresentMember(ctx, Identity{SdkAppId: histApp, RoomId: "ing1", RoomIdType: RoomIdString, UserId: "puller"})
	if err != nil || m.Source != SourceIngest || m.Role != RoleAnchor || !m.PubVideo || !m.PubAudio || m.VideoWidth != 320 {
		t.Fatalf("the anchor: %+v %v", m, err)
	}
	// A restart of the source (announce) says 701 Status 0 again; the anchor stays.
	if _, err := h.IngestStarted(ctx, task.ID, IngestTracks{Audio: true}, true); err != nil {
		t.Fatal(err)
	}
	if err := h.StopIngest(ctx, histUin, histApp, task.TaskId); err != nil {
		t.Fatal(err)
	}
	if st := h.describeIngest(t, task.TaskId); st != IngestNotExist {
		t.Fatalf("a stopped task is %s", st)
	}
	if err := h.StopIngest(ctx, histUin, histApp, task.TaskId); !tcerr.Is(err, CodeTaskNotExist) {
		t.Fatalf("a second Stop: %v", err)
	}
	if got := h.ingestEvents(t, task.TaskId); !slices.Equal(got, []string{"701:0", "701:0", "702:0"}) {
		t.Fatalf("ingest events %v", got)
	}
	if got := h.roomEvents(t, "ing1"); !slices.Equal(got, []string{"101 puller", "103 puller", "104 puller", "102 "}) {
		t.Fatalf("room events %v", got)
	}
	// Stopped while its source was opening: nothing enters.
	if got, err := h.IngestStarted(ctx, task.ID, IngestTracks{Audio: true}, false); err != nil || got.State != IngestEnded {
		t.Fatalf("started after the stop: %+v %v", got, err)
	}
	if got := h.roomEvents(t, "ing1"); len(got) != 4 {
		t.Fatalf("an ended task entered the room: %v", got)
	}
}

// TestIngestEnds: each way a task ends by itself.
func TestIngestEnds(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()

	// The source never opens: 701 Status 2 per retry, then 1; the task is gone.
	failing := h.ingest(t, "ing2", "puller")
	for _, final := range []bool{false, false, false, true} {
		ended, err := h.IngestRetry(ctx, failing.ID, final, "connection refused")
		if err != nil || ended != final {
			t.Fatalf("retry (final %v): ended %v, %v", final, ended, err)
		}
	}
	if got := h.ingestEvents(t, failing.TaskId); !slices.Equal(got, []string{"701:2", "701:2", "701:2", "701:1"}) {
		t.Fatalf("failing events %v", got)
	}
	if st := h.describeIngest(t, failing.TaskId); st != IngestNotExist {
		t.Fatalf("a failed task is %s", st)
	}

	// The source played to its end.
	done := h.ingest(t, "ing3", "puller")
	if _, err := h.IngestStarted(ctx, done.ID, IngestTracks{Audio: true}, false); err != nil {
		t.Fatal(err)
	}
	if err := h.FinishIngest(ctx, done.ID, "the source played to its end"); err != nil {
		t.Fatal(err)
	}
	if got := h.ingestEvents(t, done.TaskId); !slices.Equal(got, []string{"701:0", "702:0"}) {
		t.Fatalf("finished events %v", got)
	}

	// RemoveUser takes the anchor out: the task ends with it, 702 in the same commit.
	removed := h.ingest(t, "ing4", "puller")
	if _, err := h.IngestStarted(ctx, removed.ID, IngestTracks{Audio: true}, false); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveUsers(ctx, histUin, Identity{SdkAppId: histApp, RoomId: "ing4", RoomIdType: RoomIdString}, []string{"puller"}); err != nil {
		t.Fatal(err)
	}
	if got := h.ingestEvents(t, removed.TaskId); !slices.Equal(got, []string{"701:0", "702:0"}) {
		t.Fatalf("removed events %v", got)
	}
	if st := h.describeIngest(t, removed.TaskId); st != IngestNotExist {
		t.Fatalf("a removed anchor's task is %s", st)
	}

	// A second task with the same anchor id interrupts the first (702); a user's id is refused.
	first := h.ingest(t, "ing5", "puller")
	if _, err := h.IngestStarted(ctx, first.ID, IngestTracks{Audio: true}, false); err != nil {
		t.Fatal(err)
	}
	second := h.ingest(t, "ing5", "puller")
	if got := h.ingestEvents(t, first.TaskId); !slices.Equal(got, []string{"701:0", "702:0"}) {
		t.Fatalf("interrupted events %v", got)
	}
	if st := h.describeIngest(t, second.TaskId); st != IngestInProgress {
		t.Fatalf("the second task is %s", st)
	}
	h.enter(t, "606", "carol")
	spec := &IngestSpec{SdkAppId: histApp, RoomId: "606", RoomIdType: RoomIdInt, UserId: "carol", StreamUrl: "http://x/a.flv", RepeatNum: 1, Volume: 100}
	if _, err := h.StartIngest(ctx, histUin, spec, h.sig(t, "carol"), ""); !tcerr.Is(err, "InvalidParameter.UserId") {
		t.Fatalf("an ingest anchor with a user's id: %v", err)
	}
	if _, err := h.StartIngest(ctx, histUin, spec, "bad-sig", ""); !tcerr.Is(err, CodeInvalidUserSig) {
		t.Fatalf("a bad UserSig: %v", err)
	}
	// Update answers NotExist for a task that is not live, InProgress otherwise.
	if st, err := h.UpdateIngest(ctx, histUin, histApp, first.TaskId, IngestChange{}); err != nil || st != IngestNotExist {
		t.Fatalf("update of an ended task: %s %v", st, err)
	}
	url, vol := "http://127.0.0.1:9/b.mp4", 50
	if st, err := h.UpdateIngest(ctx, histUin, histApp, second.TaskId, IngestChange{StreamUrl: &url, Volume: &vol}); err != nil || st != IngestInProgress {
		t.Fatalf("update: %s %v", st, err)
	}
	got, err := h.IngestByRef(ctx, second.ID)
	if err != nil || got.StreamUrl != url || got.UrlVersion != 2 || got.Volume != 50 {
		t.Fatalf("after update: %+v %v", got, err)
	}
}
