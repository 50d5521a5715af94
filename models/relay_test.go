package models

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

func (h *historyStore) relay(t *testing.T, room, robot string, urls ...string) *RelayTask {
	t.Helper()
	var cdns []RelayCdn
	for _, u := range urls {
		cdns = append(cdns, RelayCdn{Url: u, IsTencentCdn: 1})
	}
	spec := &RelaySpec{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdInt, UserId: robot, MaxIdleTime: 30,
		Audio: RelayAudio{SampleRate: 48000, Channels: 1, BitRateKbps: 50}}
	task, err := h.StartRelay(context.Background(), histUin, spec, cdns, h.sig(t, robot))
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// relayEvents are the 401 payloads written for a task, in order.
func (h *historyStore) relayEvents(t *testing.T, taskId string) []relayPayload {
	t.Helper()
	var evs []CallbackEvent
	if err := h.db.Where("task_id = ? AND event_type = ?", taskId, EventRelayStatus).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	var out []relayPayload
	for _, e := range evs {
		var body struct {
			EventGroupId int
			EventInfo    relayEventInfo
		}
		if err := json.Unmarshal(e.Body, &body); err != nil || body.EventGroupId != EventGroupRelay {
			t.Fatalf("401 body %s: %v", e.Body, err)
		}
		out = append(out, body.EventInfo.Payload)
	}
	return out
}

// TestRelayLifecycle: Start enters the robot (a member of the room) and lists the URLs;
// Update's SequenceNumber must grow and WithTranscoding cannot change; a new URL list
// removes those left out and adds the new ones; RelayStatus writes each 401; MaxIdleTime
// stops a task whose room has no anchor; End takes the robot out.
func TestRelayLifecycle(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	h.enter(t, "901", "alice")
	task := h.relay(t, "901", "relay_bot", "rtmp://a/live/1", "rtmp://b/live/2")
	v, err := h.RelayTick(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.URLs) != 2 || len(v.Members) != 2 || !v.Members[1].Robot || v.Members[1].Source != SourceRelay || v.Task.State != RelayTaskRunning {
		t.Fatalf("after Start: %+v", v)
	}
	// The robot's id is taken: a user of that id is refused.
	_, err = h.StartRelay(ctx, histUin, &RelaySpec{SdkAppId: histApp, RoomId: "901", RoomIdType: RoomIdInt, UserId: "alice", MaxIdleTime: 30}, nil, "")
	wantCode(t, err, "InvalidParameter.UserId")

	wantCode(t, h.UpdateRelay(ctx, histUin, histApp, task.TaskId, RelayChange{SequenceNumber: 0}), CodeRelaySequence)
	wantCode(t, h.UpdateRelay(ctx, histUin, histApp, task.TaskId, RelayChange{SequenceNumber: 1, Transcode: true}), tcerr.CodeInvalidParameter)
	cdns := []RelayCdn{{Url: "rtmp://b/live/2"}, {Url: "rtmp://c/live/3"}}
	if err := h.UpdateRelay(ctx, histUin, histApp, task.TaskId, RelayChange{SequenceNumber: 5, Cdns: &cdns}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, h.UpdateRelay(ctx, histUin, histApp, task.TaskId, RelayChange{SequenceNumber: 5}), CodeRelaySequence)
	v, _ = h.RelayTick(ctx, task.ID)
	state := map[string]bool{}
	for _, u := range v.URLs {
		state[u.Url] = u.Removed
	}
	if len(state) != 3 || !state["rtmp://a/live/1"] || state["rtmp://b/live/2"] || state["rtmp://c/live/3"] {
		t.Fatalf("URLs after the update: %v (removed?)", state)
	}
	for _, u := range v.URLs {
		if err := h.RelayStatus(ctx, u.ID, RelayConnecting, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.RelayStatus(ctx, v.URLs[0].ID, RelayFailure, 1, "refused"); err != nil {
		t.Fatal(err)
	}
	if err := h.RelayStatus(ctx, v.URLs[0].ID, RelayIdle, 0, ""); err != nil {
		t.Fatal(err)
	}
	evs := h.relayEvents(t, task.TaskId)
	if len(evs) != 5 || evs[3] != (relayPayload{Url: "rtmp://a/live/1", Status: RelayFailure, ErrorCode: 1, ErrorMsg: "refused"}) {
		t.Fatalf("401s %+v", evs)
	}
	if v, _ = h.RelayTick(ctx, task.ID); len(v.URLs) != 2 {
		t.Fatalf("an IDLE URL is done: %d URLs left", len(v.URLs))
	}

	// alice leaves: after MaxIdleTime without anchors the task stops.
	if err := h.Leave(ctx, Identity{SdkAppId: histApp, RoomId: "901", RoomIdType: RoomIdInt, UserId: "alice"}, ExitVoluntary); err != nil {
		t.Fatal(err)
	}
	h.RelayTick(ctx, task.ID)
	h.now += 29_999
	if v, _ = h.RelayTick(ctx, task.ID); v.Task.State != RelayTaskRunning {
		t.Fatalf("stopped before MaxIdleTime: %s", v.Task.State)
	}
	h.now++
	if v, _ = h.RelayTick(ctx, task.ID); v.Task.State != RelayTaskStopping || v.Task.EndReason == "" {
		t.Fatalf("after MaxIdleTime: %s %q", v.Task.State, v.Task.EndReason)
	}
	if err := h.EndRelay(ctx, task.ID, ""); err != nil {
		t.Fatal(err)
	}
	if m, _ := h.PresentMember(ctx, Identity{SdkAppId: histApp, RoomId: "901", RoomIdType: RoomIdInt, UserId: "relay_bot"}); m != nil {
		t.Fatalf("the robot is still in the room: %+v", m)
	}
	wantCode(t, h.StopRelay(ctx, histUin, histApp, task.TaskId), tcerr.CodeResourceNotFound)
}
