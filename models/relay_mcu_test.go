package models

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// mcuSpec is a transcoding spec of integer room room: 640x360 at kbps, layout mode.
func mcuSpec(room string, kbps, mode int) *RelaySpec {
	return &RelaySpec{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdInt, MaxIdleTime: 30, Transcode: true,
		Audio: RelayAudio{SampleRate: 48000, Channels: 2, BitRateKbps: 64},
		Video: &RelayVideo{Width: 640, Height: 360, Fps: 15, BitRateKbps: kbps, Gop: 2, Layout: MixLayout{Mode: mode}}}
}

// mcuURLs maps a task's destinations not done to whether they are removed.
func (h *historyStore) mcuURLs(t *testing.T, task *RelayTask) map[string]bool {
	t.Helper()
	v, err := h.RelayTick(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, u := range v.URLs {
		out[u.Url] = u.Removed
	}
	return out
}

func TestMCURobotId(t *testing.T) {
	if got := MCURobotId("1234"); got != "mcu_1234" {
		t.Fatalf("MCURobotId(1234) = %q", got)
	}
	long := strings.Repeat("r", 64)
	if got := MCURobotId(long); len(got) != 32 || got != "mcu_"+long[:28] {
		t.Fatalf("MCURobotId of a 64-byte room = %q (%d bytes)", got, len(got))
	}
}

// TestMCUStartUpdatesAndStops: Start needs an open room and enters the MCU robot; a second
// Start with the same encoding replaces the spec and the URLs of the same task; one with
// another encoding restarts it; Stop stops it, and a second Stop finds no mix.
func TestMCUStartUpdatesAndStops(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	var relayChanges atomic.Int32
	h.OnChange(func(c Change) {
		if c&ChangeRelay != 0 {
			relayChanges.Add(1)
		}
	})

	_, err := h.StartMCU(ctx, histUin, mcuSpec("911", 800, 3), nil)
	wantCode(t, err, tcerr.CodeRoomNotExist)
	wantCode(t, h.StopMCU(ctx, histUin, histApp, "911", RoomIdInt), tcerr.CodeRoomNotExist)

	h.enter(t, "911", "alice")
	wantCode(t, h.StopMCU(ctx, histUin, histApp, "911", RoomIdInt), CodeMixSessionNotExist)
	_, err = h.StartMCU(ctx, "999999", mcuSpec("911", 800, 3), nil)
	wantCode(t, err, tcerr.CodeUnauthorizedSdkAppId)

	task, err := h.StartMCU(ctx, histUin, mcuSpec("0911", 800, 3), []RelayCdn{{Url: "rtmp://a/live/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if task.UserId != "mcu_911" || task.RoomId != "911" || task.State != RelayTaskRunning || task.JobRef == nil || task.SpecVersion != 1 {
		t.Fatalf("the task %+v", task)
	}
	if relayChanges.Load() == 0 {
		t.Fatal("Start marked no ChangeRelay")
	}
	robot, err := h.PresentMember(ctx, Identity{SdkAppId: histApp, RoomId: "911", RoomIdType: RoomIdInt, UserId: "mcu_911"})
	if err != nil || robot == nil || !robot.Robot || robot.Source != SourceMCU || robot.ID != *task.MemberRef {
		t.Fatalf("the robot %+v, %v", robot, err)
	}
	if got, err := h.MCUTask(ctx, histApp, "911", RoomIdInt); err != nil || got == nil || got.TaskId != task.TaskId {
		t.Fatalf("MCUTask = %+v, %v", got, err)
	}

	// The same encoding: the task is updated in place.
	before := relayChanges.Load()
	again, err := h.StartMCU(ctx, histUin, mcuSpec("911", 800, 1), []RelayCdn{{Url: "rtmp://b/live/2"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.TaskId != task.TaskId || again.SpecVersion != 2 {
		t.Fatalf("the second Start made %+v, want task %s at version 2", again, task.TaskId)
	}
	if relayChanges.Load() == before {
		t.Fatal("the update marked no ChangeRelay")
	}
	stored, _ := h.RelayByRef(ctx, task.ID)
	spec, err := stored.RelaySpec()
	if err != nil || spec.Video.Layout.Mode != 1 || spec.UserId != "mcu_911" {
		t.Fatalf("the stored spec %+v, %v", spec, err)
	}
	if urls := h.mcuURLs(t, task); len(urls) != 2 || !urls["rtmp://a/live/1"] || urls["rtmp://b/live/2"] {
		t.Fatalf("URLs after the update (removed?): %v", urls)
	}

	// Another encoding: a new task, the old one stopping, its robot replaced.
	restarted, err := h.StartMCU(ctx, histUin, mcuSpec("911", 1200, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if restarted.TaskId == task.TaskId {
		t.Fatal("a new encoding kept the task")
	}
	if old, _ := h.RelayByRef(ctx, task.ID); old.State != RelayTaskStopping || old.EndReason == "" {
		t.Fatalf("the old task is %s (%q)", old.State, old.EndReason)
	}
	robot, _ = h.PresentMember(ctx, Identity{SdkAppId: histApp, RoomId: "911", RoomIdType: RoomIdInt, UserId: "mcu_911"})
	if robot == nil || robot.ID != *restarted.MemberRef {
		t.Fatalf("the robot %+v is not the new task's %d", robot, *restarted.MemberRef)
	}
	if got, _ := h.MCUTask(ctx, histApp, "911", RoomIdInt); got == nil || got.TaskId != restarted.TaskId {
		t.Fatalf("MCUTask = %+v, want %s", got, restarted.TaskId)
	}

	// Audio only (no video) is another encoding too.
	audio := mcuSpec("911", 1200, 1)
	audio.Video = nil
	audioTask, err := h.StartMCU(ctx, histUin, audio, nil)
	if err != nil || audioTask.TaskId == restarted.TaskId {
		t.Fatalf("audio only: %+v, %v", audioTask, err)
	}

	if err := h.StopMCU(ctx, histUin, histApp, "911", RoomIdInt); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.RelayByRef(ctx, audioTask.ID); got.State != RelayTaskStopping {
		t.Fatalf("after Stop the task is %s", got.State)
	}
	wantCode(t, h.StopMCU(ctx, histUin, histApp, "911", RoomIdInt), CodeMixSessionNotExist)
	if got, err := h.MCUTask(ctx, histApp, "911", RoomIdInt); err != nil || got != nil {
		t.Fatalf("MCUTask after Stop = %+v, %v", got, err)
	}
}

// TestMCURobotIdentity: the mix of a room is its SourceMCU robot's task only: a relay task
// whose robot has the MCU id is not the mix (and is replaced by it); a user of that id
// keeps the mix out; string rooms are their own namespace.
func TestMCURobotIdentity(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	h.enter(t, "912", "alice")
	relay := h.relay(t, "912", "mcu_912", "rtmp://a/live/1")
	wantCode(t, h.StopMCU(ctx, histUin, histApp, "912", RoomIdInt), CodeMixSessionNotExist)
	task, err := h.StartMCU(ctx, histUin, mcuSpec("912", 800, 3), nil)
	if err != nil || task.TaskId == relay.TaskId {
		t.Fatalf("Start beside a relay robot of the MCU id: %+v, %v", task, err)
	}
	if v, _ := h.RelayTick(ctx, relay.ID); v.Task.State != RelayTaskStopping {
		t.Fatalf("the replaced relay task is %s", v.Task.State)
	}

	h.enter(t, "913", "mcu_913")
	_, err = h.StartMCU(ctx, histUin, mcuSpec("913", 800, 3), nil)
	wantCode(t, err, "InvalidParameter.UserId")

	room := "room-" + strings.Repeat("x", 40)
	_, err = h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: room, RoomIdType: RoomIdString, UserId: "bob"},
		UserSig: h.sig(t, "bob"), Publish: Publish{Audio: true}})
	if err != nil {
		t.Fatal(err)
	}
	spec := mcuSpec(room, 800, 3)
	spec.RoomIdType = RoomIdString
	str, err := h.StartMCU(ctx, histUin, spec, nil)
	if err != nil || str.UserId != MCURobotId(room) || len(str.UserId) != 32 || str.RoomIdType != RoomIdString {
		t.Fatalf("a string room's mix: %+v, %v", str, err)
	}
	wantCode(t, h.StopMCU(ctx, histUin, histApp, "912", RoomIdString), tcerr.CodeRoomNotExist)
	if err := h.StopMCU(ctx, histUin, histApp, room, RoomIdString); err != nil {
		t.Fatal(err)
	}
	_, err = h.StartMCU(ctx, histUin, mcuSpec("0", 800, 3), nil)
	wantCode(t, err, tcerr.CodeInvalidRoomId)
}
