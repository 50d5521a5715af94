package jobs

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestRecordedVideoIsWhatMembersShow: a member that entered without a Video format and
// one with odd sides are recorded (ffprobe's word) at the size their member row holds,
// which is what GET /_emulator/v1/rooms shows.
func TestRecordedVideoIsWhatMembersShow(t *testing.T) {
	testpeer.FFprobe(t)
	rig := newRecorderRig(t)
	ctx := context.Background()
	for _, u := range []struct {
		user string
		w, h int
	}{{"erin", 0, 0}, {"fay", 323, 181}} {
		sig, _ := usersig.Gen(usersig.Params{SdkAppId: recApp, Key: recKey, UserId: u.user, Expire: time.Hour, Now: rig.clock.Now()})
		if _, err := rig.store.Enter(ctx, models.EnterParams{Identity: models.Identity{SdkAppId: recApp, RoomId: "14",
			RoomIdType: models.RoomIdInt, UserId: u.user}, UserSig: sig, Publish: models.Publish{Video: true},
			VideoWidth: u.w, VideoHeight: u.h}); err != nil {
			t.Fatal(err)
		}
	}
	rooms, err := rig.store.OpenRooms(ctx, recApp)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("rooms %v %v", rooms, err)
	}
	shown := map[string]models.VideoFormat{}
	for _, m := range rooms[0].Members {
		shown[m.UserId] = models.VideoFormat{Width: m.VideoWidth, Height: m.VideoHeight, Fps: m.VideoFps}
	}
	if shown["erin"] != models.DefaultMainVideo {
		t.Errorf("erin (no Video format) is stored as %v, want %v", shown["erin"], models.DefaultMainVideo)
	}
	task := rig.create(t, "14", models.RecordingSpec{})
	rig.run(5 * time.Second)
	rig.finish(t, task)
	dir := t.TempDir()
	rig.fetch(t, task.TaskId+"/", dir)
	for user, b64 := range map[string]string{"erin": "ZXJpbg..", "fay": "ZmF5"} {
		p := testpeer.ProbeFile(t, filepath.Join(dir, "1400000001_14__UserId_s_"+b64+"__UserId_e_main_video.m3u8"))
		if len(p.Streams) != 1 || p.Streams[0].Width != shown[user].Width || p.Streams[0].Height != shown[user].Height {
			t.Errorf("%s is shown as %v but recorded as %+v", user, shown[user], p.Streams)
		}
	}
}
