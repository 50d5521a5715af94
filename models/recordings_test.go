package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

func (h *historyStore) sig(t *testing.T, user string) string {
	t.Helper()
	sig, err := usersig.Gen(usersig.Params{SdkAppId: histApp, Key: testSeed.SdkSecretKey, UserId: user, Expire: 48 * time.Hour, Now: time.UnixMilli(h.now)})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (h *historyStore) record(t *testing.T, room, robot string, maxIdle int) (*RecordingTask, error) {
	t.Helper()
	spec := &RecordingSpec{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdInt, RobotUserId: robot, RecordMode: 1,
		MaxIdleTime: maxIdle, MaxMediaFileMinutes: 1440, ResourceExpiredHour: 6,
		Storage: StorageTarget{Region: "ap-guangzhou", Bucket: "b-1250000000", AccessKey: "a", SecretKey: "s"}}
	return h.CreateRecording(context.Background(), histUin, spec, h.sig(t, robot), "")
}

func (h *historyStore) enter(t *testing.T, room, user string) {
	t.Helper()
	_, err := h.Enter(context.Background(), EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdInt, UserId: user},
		UserSig: h.sig(t, user), Publish: Publish{Audio: true, Video: true}})
	if err != nil {
		t.Fatal(err)
	}
}

// taskEvents lists the callbacks written about a task: "type" or "type:payload".
func (h *historyStore) taskEvents(t *testing.T, taskId string) []string {
	t.Helper()
	var rows []CallbackEvent
	if err := h.db.Where("task_id = ?", taskId).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		var body struct {
			EventInfo struct {
				TaskId  string
				UserId  string
				Payload json.RawMessage
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.EventInfo.TaskId != taskId {
			t.Fatalf("event %s: %v", r.Body, err)
		}
		out = append(out, fmt.Sprintf("%d:%s", r.EventType, body.EventInfo.Payload))
	}
	return out
}

func (h *historyStore) roomEvents(t *testing.T, room string) []string {
	t.Helper()
	var rows []CallbackEvent
	if err := h.db.Where("room_id = ? AND event_group_id = 1", room).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		var body struct{ EventInfo struct{ UserId string } }
		json.Unmarshal(r.Body, &body)
		out = append(out, fmt.Sprintf("%d %s", r.EventType, body.EventInfo.UserId))
	}
	return out
}

// TestRecordingLifecycle: the robot enters the room it records (101, 103), 301; the task is
// Idle without anchors and InProgress with one; Delete writes 302 LeaveCode 0 and the robot
// leaves; Exited until the files settle (305), then DescribeCloudRecording refuses it.
func TestRecordingLifecycle(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	task, err := h.record(t, "501", "rec", 30)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.roomEvents(t, "501"); !slices.Equal(got, []string{"101 rec", "103 rec"}) {
		t.Fatalf("room events %v", got)
	}
	st, err := h.DescribeRecording(ctx, histUin, histApp, task.TaskId)
	if err != nil || st.Status != "Idle" {
		t.Fatalf("describe %+v %v", st, err)
	}
	h.enter(t, "501", "alice")
	if st, _ := h.DescribeRecording(ctx, histUin, histApp, task.TaskId); st.Status != "InProgress" {
		t.Fatalf("status %s with a publishing anchor", st.Status)
	}
	if _, err := h.DescribeRecording(ctx, histUin, histApp, "nope"); !tcerr.Is(err, tcerr.CodeResourceNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	if _, err := h.DescribeRecording(ctx, "999", histApp, task.TaskId); !tcerr.Is(err, tcerr.CodeUnauthorizedSdkAppId) {
		t.Fatalf("another account: %v", err)
	}
	if err := h.StopRecording(ctx, histUin, histApp, task.TaskId); err != nil {
		t.Fatal(err)
	}
	if err := h.StopRecording(ctx, histUin, histApp, task.TaskId); err != nil {
		t.Fatalf("a second Delete: %v", err)
	}
	if st, _ := h.DescribeRecording(ctx, histUin, histApp, task.TaskId); st.Status != "Exited" {
		t.Fatalf("status %s after Delete", st.Status)
	}
	if got := h.roomEvents(t, "501"); !slices.Equal(got, []string{"101 rec", "103 rec", "103 alice", "104 rec"}) {
		t.Fatalf("room events %v", got)
	}
	if err := h.FinishWriting(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if ended, err := h.SettleUploads(ctx, task.ID); err != nil || !ended {
		t.Fatalf("settle: %v %v", ended, err)
	}
	wantCode(t, func() error { _, err := h.DescribeRecording(ctx, histUin, histApp, task.TaskId); return err }(), tcerr.CodeResourceNotFound)
	got := h.taskEvents(t, task.TaskId)
	want := []string{`301:{"Status":0}`, `302:{"LeaveCode":0}`, `305:{"LeaveCode":0,"Status":0}`}
	if !slices.Equal(got, want) {
		t.Fatalf("task events %v, want %v", got, want)
	}
}

// TestRecordingStops: each way a task ends by itself, with the seed's LeaveCode.
func TestRecordingStops(t *testing.T) {
	ctx := context.Background()
	leaveCode := func(t *testing.T, h *historyStore, taskId string) string {
		t.Helper()
		for _, e := range h.taskEvents(t, taskId) {
			if e[:4] == "302:" {
				return e[4:]
			}
		}
		return "none"
	}
	t.Run("DismissRoom", func(t *testing.T) {
		h := newHistoryStore(t)
		task, _ := h.record(t, "601", "rec", 30)
		h.enter(t, "601", "alice")
		if err := h.DismissRoom(ctx, histUin, histApp, "601", RoomIdInt); err != nil {
			t.Fatal(err)
		}
		if c := leaveCode(t, h, task.TaskId); c != `{"LeaveCode":2}` {
			t.Fatalf("302 %s", c)
		}
	})
	t.Run("RemoveUser robot", func(t *testing.T) {
		h := newHistoryStore(t)
		task, _ := h.record(t, "602", "rec", 30)
		if err := h.RemoveUsers(ctx, histUin, Identity{SdkAppId: histApp, RoomId: "602", RoomIdType: RoomIdInt}, []string{"rec"}); err != nil {
			t.Fatal(err)
		}
		if c := leaveCode(t, h, task.TaskId); c != `{"LeaveCode":1}` {
			t.Fatalf("302 %s", c)
		}
		// The robot was the last member: the room closed.
		if got := h.roomEvents(t, "602"); got[len(got)-1] != "102 " {
			t.Fatalf("room events %v", got)
		}
	})
	t.Run("MaxIdleTime", func(t *testing.T) {
		h := newHistoryStore(t)
		task, _ := h.record(t, "603", "rec", 5)
		h.enter(t, "603", "alice")
		if v, err := h.RecordingTick(ctx, task.ID); err != nil || v.Task.IdleSinceMs != nil || len(v.Members) != 2 {
			t.Fatalf("tick with an anchor: %+v %v", v, err)
		}
		if err := h.Leave(ctx, Identity{SdkAppId: histApp, RoomId: "603", RoomIdType: RoomIdInt, UserId: "alice"}, 0); err != nil {
			t.Fatal(err)
		}
		v, _ := h.RecordingTick(ctx, task.ID) // idle from now
		if v.Task.IdleSinceMs == nil || *v.Task.IdleSinceMs != h.now {
			t.Fatalf("idle since %v", v.Task.IdleSinceMs)
		}
		h.now += 4999
		if v, _ := h.RecordingTick(ctx, task.ID); v.Task.State != TaskRecording {
			t.Fatal("stopped before MaxIdleTime")
		}
		h.now++
		if v, _ := h.RecordingTick(ctx, task.ID); v.Task.State != TaskExiting {
			t.Fatal("still recording after MaxIdleTime")
		}
		if c := leaveCode(t, h, task.TaskId); c != `{"LeaveCode":99}` {
			t.Fatalf("302 %s", c)
		}
	})
	t.Run("same user id enters", func(t *testing.T) {
		h := newHistoryStore(t)
		task, _ := h.record(t, "604", "rec", 30)
		h.enter(t, "604", "rec")
		if c := leaveCode(t, h, task.TaskId); c != `{"LeaveCode":101}` {
			t.Fatalf("302 %s", c)
		}
		// And a new task with the robot id of a running one takes it over.
		task2, err := h.record(t, "605", "rec2", 30)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.record(t, "605", "rec2", 30); err != nil {
			t.Fatal(err)
		}
		if c := leaveCode(t, h, task2.TaskId); c != `{"LeaveCode":101}` {
			t.Fatalf("302 %s", c)
		}
	})
}

// TestRecordingRules: refusals of CreateCloudRecording and the task's lifetime in the API.
func TestRecordingRules(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	h.enter(t, "701", "alice")
	_, err := h.record(t, "701", "alice", 30)
	wantCode(t, err, "InvalidParameter.UserId")
	spec := &RecordingSpec{SdkAppId: histApp, RoomId: "701", RoomIdType: RoomIdInt, RobotUserId: "rec", RecordMode: 1, MaxIdleTime: 30, ResourceExpiredHour: 6}
	_, err = h.CreateRecording(ctx, histUin, spec, h.sig(t, "someone-else"), "")
	wantCode(t, err, CodeInvalidUserSig)
	_, err = h.CreateRecording(ctx, "999", spec, h.sig(t, "rec"), "")
	wantCode(t, err, tcerr.CodeUnauthorizedSdkAppId)

	for i := 0; i < MaxOngoingRecordings; i++ {
		if _, err := h.record(t, fmt.Sprint(1000+i), "rec", 30); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	_, err = h.record(t, "2000", "rec", 30)
	wantCode(t, err, CodeRestrictedConcurrency)
	var first RecordingTask
	h.db.Where("room_id = ?", "1000").Take(&first)
	if err := h.StopRecording(ctx, histUin, histApp, first.TaskId); err != nil {
		t.Fatal(err)
	}
	if _, err := h.record(t, "2000", "rec", 30); err != nil {
		t.Fatalf("after one stopped: %v", err)
	}

	// ResourceExpiredHour: the TaskId answers for 6 hours, then not (the task keeps running).
	var second RecordingTask
	h.db.Where("room_id = ?", "1001").Take(&second)
	h.now += 6*3600_000 - 1
	if err := h.ModifyRecording(ctx, histUin, histApp, second.TaskId, RecordingChange{Subscribe: Subscription{AudioAllow: []string{"1.*$"}}}); err != nil {
		t.Fatal(err)
	}
	h.now++
	wantCode(t, h.ModifyRecording(ctx, histUin, histApp, second.TaskId, RecordingChange{}), tcerr.CodeResourceNotFound)
	wantCode(t, h.StopRecording(ctx, histUin, histApp, second.TaskId), tcerr.CodeResourceNotFound)
	task, _ := h.Recording(ctx, second.TaskId)
	spec2, _ := task.RecordingSpec()
	if task.State != TaskRecording || task.SpecVersion != 2 || !slices.Equal(spec2.Subscribe.AudioAllow, []string{"1.*$"}) {
		t.Fatalf("task after modify and expiry: %+v %+v", task, spec2.Subscribe)
	}
}

// TestModifyValidates: a layout is refused for a single-stream task (the lists themselves
// are checked by handlers, like Create's).
func TestModifyValidates(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	task, _ := h.record(t, "801", "rec", 30)
	err := h.ModifyRecording(ctx, histUin, histApp, task.TaskId, RecordingChange{MixLayout: &MixLayout{Mode: 3}})
	wantCode(t, err, tcerr.CodeInvalidParameter) // layouts are for mixed recordings

	// A mixed task: a new layout replaces the whole old one (a new spec version); one whose
	// windows leave the canvas is refused and changes nothing; no layout keeps it.
	spec := &RecordingSpec{SdkAppId: histApp, RoomId: "802", RoomIdType: RoomIdInt, RobotUserId: "mixer", RecordMode: 2,
		MaxIdleTime: 30, MaxMediaFileMinutes: 1440, ResourceExpiredHour: 6,
		Storage: StorageTarget{Region: "ap-guangzhou", Bucket: "b-1250000000", AccessKey: "a", SecretKey: "s"},
		Mix: &MixSpec{Width: 640, Height: 360, Fps: 15, BitRate: 550000, Gop: 10, SampleRate: 48000, Channels: 2, AudioBitRate: 64000,
			Layout: MixLayout{Mode: 3, BackgroundColor: "#102030", Watermarks: []Watermark{{Type: 1, Width: 100, Height: 20, Chars: "x"}}}}}
	mixed, err := h.CreateRecording(ctx, histUin, spec, h.sig(t, "mixer"), "")
	if err != nil {
		t.Fatal(err)
	}
	layoutOf := func() (int, MixLayout) {
		task, _ := h.Recording(ctx, mixed.TaskId)
		s, err := task.RecordingSpec()
		if err != nil {
			t.Fatal(err)
		}
		return task.SpecVersion, s.Mix.Layout
	}
	floating := MixLayout{Mode: 1, MainUserId: "bob"}
	if err := h.ModifyRecording(ctx, histUin, histApp, mixed.TaskId, RecordingChange{MixLayout: &floating}); err != nil {
		t.Fatal(err)
	}
	if v, l := layoutOf(); v != 2 || l.Mode != 1 || l.MainUserId != "bob" || l.BackgroundColor != "" || len(l.Watermarks) != 0 {
		t.Fatalf("after the modify: version %d, layout %+v, want the floating one alone", v, l)
	}
	wide := MixLayout{Mode: 4, Slots: []MixSlot{{Left: 600, Width: 100, Height: 100}}}
	wantCode(t, h.ModifyRecording(ctx, histUin, histApp, mixed.TaskId, RecordingChange{MixLayout: &wide}), tcerr.CodeInvalidParameter)
	if err := h.ModifyRecording(ctx, histUin, histApp, mixed.TaskId, RecordingChange{Subscribe: Subscription{AudioAllow: []string{"bob"}}}); err != nil {
		t.Fatal(err)
	}
	if v, l := layoutOf(); v != 3 || l.Mode != 1 || l.MainUserId != "bob" {
		t.Fatalf("after a refused and a subscription-only modify: version %d, layout %+v", v, l)
	}
}

// TestUploadSettlement: 307 with a stream's first segment, 304 with the first playlist
// uploaded, 308 once per failing spell with the service's Code and Message, 305 Status 1
// when the task ended with files spooled and Status 2 once they were uploaded.
func TestUploadSettlement(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	task, _ := h.record(t, "901", "rec", 30)
	st, err := h.OpenStream(ctx, RecordingStream{TaskRef: task.ID, UserId: "alice", MediaId: "main", TrackType: "video",
		Playlist: task.TaskId + "/p_video.m3u8", BeginAtMs: 1234})
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := h.OpenStream(ctx, RecordingStream{TaskRef: task.ID, UserId: "alice", MediaId: "main", TrackType: "video",
		Playlist: "other", BeginAtMs: 99}); again.ID != st.ID || again.BeginAtMs != 1234 {
		t.Fatalf("reopened stream %+v", again)
	}
	spool := func(key, kind string, segments string) {
		f := SpooledFile{TaskRef: task.ID, StreamRef: &st.ID, ObjectKey: key, Kind: kind, Spool: key, Bytes: 10}
		if segments != "" {
			f.Segments = []byte(segments)
		}
		if err := h.SpoolFile(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	spool("s0.ts", "ts", "")
	spool(st.Playlist, "m3u8", `[{"index":0}]`)
	spool("s1.ts", "ts", "")
	spool(st.Playlist, "m3u8", `[{"index":0},{"index":1}]`)
	due, _ := h.DueUploads(ctx, task.ID, 10)
	if len(due) != 3 || due[0].Kind != "ts" || due[2].Kind != "m3u8" || due[2].Version != 2 {
		t.Fatalf("due %+v", due)
	}
	// A failing store: one 308, however many attempts fail.
	for _, f := range due {
		if err := h.UploadFailed(ctx, &f, "NoSuchBucket", "The specified bucket does not exist", time.UnixMilli(h.now)); err != nil {
			t.Fatal(err)
		}
	}
	h.FinishWriting(ctx, task.ID)
	h.StopRecording(ctx, histUin, histApp, task.TaskId)
	if ended, _ := h.SettleUploads(ctx, task.ID); ended {
		t.Fatal("ended with files spooled")
	}
	h.SettleUploads(ctx, task.ID) // no second Status 1
	due, _ = h.DueUploads(ctx, task.ID, 10)
	stale := due[2]
	stale.Version = 1
	if err := h.Uploaded(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.DueUploads(ctx, task.ID, 10); len(n) != 3 {
		t.Fatal("an upload of an older playlist marked the newer one uploaded")
	}
	for _, f := range due {
		if err := h.Uploaded(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if ended, _ := h.SettleUploads(ctx, task.ID); !ended {
		t.Fatal("not ended after every file was uploaded")
	}
	got := h.taskEvents(t, task.TaskId)
	want := []string{`301:{"Status":0}`,
		`307:{"FileName":"p_video.m3u8","UserId":"alice","TrackType":"video","BeginTimeStamp":1234}`,
		`308:{"Code":"NoSuchBucket","Message":"The specified bucket does not exist"}`,
		`302:{"LeaveCode":0}`, `305:{"LeaveCode":1,"Status":1}`, `304:{"FileList":"p_video.m3u8"}`, `305:{"LeaveCode":2,"Status":2}`}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
}

// TestRecordedUsers: anchors publishing what the task subscribes to, robots and audience
// left out, the first 25 by entry.
func TestRecordedUsers(t *testing.T) {
	var members []Member
	members = append(members, Member{UserId: "robot", Robot: true, Role: RoleAnchor, PubAudio: true})
	members = append(members, Member{UserId: "viewer", Role: RoleAudience})
	for i := 0; i < 30; i++ {
		members = append(members, Member{UserId: fmt.Sprintf("u%02d", i), Role: RoleAnchor, PubAudio: true, PubVideo: true})
	}
	spec := &RecordingSpec{}
	got := spec.RecordedUsers(members)
	if len(got) != MaxRecordedUsers || got[0].UserId != "u00" || got[24].UserId != "u24" {
		t.Fatalf("recorded %d users from %s", len(got), got[0].UserId)
	}
	spec.Subscribe = Subscription{AudioAllow: []string{"u1.*$"}, VideoBlock: []string{"u.*$"}}
	got = spec.RecordedUsers(members)
	if len(got) != 10 || got[0].UserId != "u10" {
		t.Fatalf("pattern allow list recorded %d users", len(got))
	}
	spec.Subscribe = Subscription{}
	spec.StreamType = 2 // video only: a user publishing audio only is not recorded
	if got := spec.RecordedUsers([]Member{{UserId: "a", Role: RoleAnchor, PubAudio: true}}); len(got) != 0 {
		t.Fatalf("video-only task recorded %v", got)
	}
}

// TestRecordingReadsScanTheirColumns: the prepared reads behind DescribeCloudRecording
// return, field for field, what gorm reads of the columns they select, with those fields
// set to distinct values.
func TestRecordingReadsScanTheirColumns(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	h.enter(t, "7", "alice")
	task, err := h.record(t, "7", "rec", 60)
	if err != nil {
		t.Fatal(err)
	}
	var full RecordingTask
	if err := h.db.Take(&full, task.ID).Error; err != nil {
		t.Fatal(err)
	}
	want := RecordingTask{ID: full.ID, TaskId: full.TaskId, State: full.State, ExpiresAtMs: full.ExpiresAtMs,
		RobotMemberRef: full.RobotMemberRef, Spec: full.Spec}
	got, err := h.taskStatus(ctx, histApp, task.TaskId)
	if err != nil || got == nil || !reflect.DeepEqual(*got, want) || want.RobotMemberRef == nil || len(want.Spec) == 0 {
		t.Fatalf("taskStatus %+v (%v),\nwant %+v", got, err, want)
	}
	if got, err := h.taskStatus(ctx, histApp, "nope"); got != nil || err != nil {
		t.Fatalf("an unknown task: %+v %v", got, err)
	}
	if err := h.db.Exec(`UPDATE members SET pub_video = 0, pub_substream = 1, blocked = 3 WHERE user_id = 'alice'`).Error; err != nil {
		t.Fatal(err)
	}
	var stored []Member
	h.db.Where("room_ref = (SELECT room_ref FROM members WHERE id = ?) AND left_at_ms IS NULL", *full.RobotMemberRef).Order("joined_at_ms, id").Find(&stored)
	var wantMembers []Member
	for _, m := range stored {
		wantMembers = append(wantMembers, Member{UserId: m.UserId, Role: m.Role, Robot: m.Robot, PubVideo: m.PubVideo,
			PubAudio: m.PubAudio, PubSubstream: m.PubSubstream, Blocked: m.Blocked})
	}
	members, err := h.robotRoomPresence(ctx, *full.RobotMemberRef)
	if err != nil || len(wantMembers) != 2 || !reflect.DeepEqual(members, wantMembers) || !members[1].Robot || !members[0].PubSubstream {
		t.Fatalf("robotRoomPresence %+v (%v),\nwant %+v", members, err, wantMembers)
	}
	stream := RecordingStream{TaskRef: task.ID, Generation: 2, UserId: "alice", MediaId: "main", TrackType: "audio_video",
		Playlist: "p.m3u8", BeginAtMs: 21, Width: 22, Height: 23, Segments: []byte(`[{"n":1}]`)}
	if err := h.db.Create(&stream).Error; err != nil {
		t.Fatal(err)
	}
	stream.Segments = nil
	streams, err := h.taskPlaylists(ctx, task.ID)
	if err != nil || len(streams) != 1 || !reflect.DeepEqual(streams[0], stream) {
		t.Fatalf("taskPlaylists %+v (%v), want %+v", streams, err, stream)
	}
}

// TestDescribeSaysWhatIsRecorded: DescribeCloudRecording's InProgress follows the same
// rules as the recorder (RecordedStreams): a publisher whose tracks are all blocked, or a
// task recording only aux streams (MediaId 2) of a member publishing its main stream only,
// records nothing: Idle.
func TestDescribeSaysWhatIsRecorded(t *testing.T) {
	ctx := context.Background()
	h := newHistoryStore(t)
	task, err := h.record(t, "601", "rec", 30)
	if err != nil {
		t.Fatal(err)
	}
	h.enter(t, "601", "alice") // audio and video
	status := func() string {
		t.Helper()
		st, err := h.DescribeRecording(ctx, histUin, histApp, task.TaskId)
		if err != nil {
			t.Fatal(err)
		}
		return st.Status
	}
	if s := status(); s != "InProgress" {
		t.Fatalf("a publishing anchor: %s", s)
	}
	alice := Identity{SdkAppId: histApp, RoomId: "601", RoomIdType: RoomIdInt, UserId: "alice"}
	if err := h.SetUserBlocked(ctx, histUin, alice, 1); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != "Idle" {
		t.Fatalf("the only publisher blocked: %s, want Idle", s)
	}
	if err := h.SetUserBlocked(ctx, histUin, alice, 0); err != nil {
		t.Fatal(err)
	}
	auxOnly, err := h.CreateRecording(ctx, histUin, &RecordingSpec{SdkAppId: histApp, RoomId: "601", RoomIdType: RoomIdInt,
		RobotUserId: "rec-aux", RecordMode: 1, MediaId: 2, MaxIdleTime: 30, MaxMediaFileMinutes: 1440, ResourceExpiredHour: 6,
		Storage: StorageTarget{Region: "ap-guangzhou", Bucket: "b-1250000000", AccessKey: "a", SecretKey: "s"}}, h.sig(t, "rec-aux"), "")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.DescribeRecording(ctx, histUin, histApp, auxOnly.TaskId); err != nil || st.Status != "Idle" {
		t.Fatalf("MediaId 2 with no aux stream: %+v %v, want Idle", st, err)
	}
}
