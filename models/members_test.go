package models

import (
	"context"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/migrations"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// TestMemberVideoIsWhatIsPublished: a member stores the picture its main stream has
// (DefaultMainVideo without a Video format, sides even), sizes the synthetic source cannot
// encode are refused at entry, and the substream's picture is SubstreamVideo.
func TestMemberVideoIsWhatIsPublished(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	enter := func(user string, w, hgt, fps int) (*Member, error) {
		sig, err := usersig.Gen(usersig.Params{SdkAppId: histApp, Key: testSeed.SdkSecretKey, UserId: user, Expire: time.Hour, Now: time.UnixMilli(h.now)})
		if err != nil {
			t.Fatal(err)
		}
		return h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: "88", RoomIdType: RoomIdInt, UserId: user},
			UserSig: sig, Publish: Publish{Video: true}, VideoWidth: w, VideoHeight: hgt, VideoFps: fps})
	}
	for _, tc := range []struct {
		user      string
		w, h, fps int
		want      VideoFormat
	}{
		{"no-video", 0, 0, 0, VideoFormat{640, 360, 15}},
		{"width-only", 1280, 0, 30, VideoFormat{640, 360, 30}},
		{"odd", 641, 361, 0, VideoFormat{640, 360, 15}},
		{"given", 1920, 1080, 25, VideoFormat{1920, 1080, 25}},
		{"smallest", 16, 17, 1, VideoFormat{16, 16, 1}},
	} {
		m, err := enter(tc.user, tc.w, tc.h, tc.fps)
		if err != nil {
			t.Fatalf("%s: %v", tc.user, err)
		}
		stored := VideoFormat{m.VideoWidth, m.VideoHeight, m.VideoFps}
		if stored != tc.want || m.MainVideo() != tc.want {
			t.Errorf("%s %dx%d@%d: stored %v, MainVideo %v, want %v", tc.user, tc.w, tc.h, tc.fps, stored, m.MainVideo(), tc.want)
		}
	}
	for _, bad := range [][3]int{{8, 8, 15}, {640, 15, 15}, {4098, 360, 15}, {640, 2306, 15}, {640, 360, 61}, {-2, 360, 15}} {
		if _, err := enter("bad", bad[0], bad[1], bad[2]); !tcerr.Is(err, tcerr.CodeInvalidParameterValue) {
			t.Errorf("Video %v: err = %v, want %s", bad, err, tcerr.CodeInvalidParameterValue)
		}
	}
	// Rows written before the defaults were stored still read as what is recorded.
	old := Member{VideoWidth: 0, VideoHeight: 0, VideoFps: 0}
	if old.MainVideo() != DefaultMainVideo {
		t.Errorf("a 0x0 row reads as %v", old.MainVideo())
	}
	if SubstreamVideo != (VideoFormat{1280, 720, 10}) {
		t.Errorf("SubstreamVideo = %v", SubstreamVideo)
	}
}

// TestUpdatePatchesOnlyNamedTracks: PATCH semantics of Publish; absent tracks keep.
func TestUpdatePatchesOnlyNamedTracks(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	sig, err := usersig.Gen(usersig.Params{SdkAppId: histApp, Key: testSeed.SdkSecretKey, UserId: "alice", Expire: time.Hour, Now: time.UnixMilli(h.now)})
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{SdkAppId: histApp, RoomId: "89", RoomIdType: RoomIdInt, UserId: "alice"}
	if _, err := h.Enter(ctx, EnterParams{Identity: id, UserSig: sig, Publish: Publish{Video: true, Audio: true}}); err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	for _, step := range []struct {
		patch PublishPatch
		want  Publish
	}{
		{PublishPatch{Audio: &off}, Publish{Video: true}},
		{PublishPatch{}, Publish{Video: true}},
		{PublishPatch{Substream: &on}, Publish{Video: true, Substream: true}},
		{PublishPatch{Video: &off, Audio: &on}, Publish{Audio: true, Substream: true}},
		{PublishPatch{Video: &off, Audio: &off, Substream: &off}, Publish{}},
	} {
		m, err := h.Update(ctx, UpdateParams{Identity: id, Publish: &step.patch})
		if err != nil {
			t.Fatal(err)
		}
		if got := currentPublish(m); got != step.want {
			t.Fatalf("after %+v: publishing %+v, want %+v", step.patch, got, step.want)
		}
	}
	// An audience member may name tracks to stop, never to start.
	audience := RoleAudience
	if _, err := h.Update(ctx, UpdateParams{Identity: id, Role: &audience, Publish: &PublishPatch{Video: &off}}); err != nil {
		t.Fatalf("to audience stopping video: %v", err)
	}
	if _, err := h.Update(ctx, UpdateParams{Identity: id, Publish: &PublishPatch{Audio: &on}}); !tcerr.Is(err, CodeNotAnchor) {
		t.Fatalf("audience starting audio: err = %v", err)
	}
}

// TestMigrationBackfillsMemberVideo: 0010 gives rows written before it the picture the
// recorder encoded for them.
func TestMigrationBackfillsMemberVideo(t *testing.T) {
	h := newHistoryStore(t)
	sql, err := migrations.FS.ReadFile("0010_member_video_defaults.sql")
	if err != nil {
		t.Fatal(err)
	}
	room := Room{SdkAppId: histApp, RoomId: "90", RoomIdType: RoomIdInt, CreatorUserId: "zero", CreatedAtMs: h.now}
	if err := h.db.Create(&room).Error; err != nil {
		t.Fatal(err)
	}
	rows := []Member{{UserId: "zero", RoomRef: room.ID}, {UserId: "odd", RoomRef: room.ID, VideoWidth: 321, VideoHeight: 241, VideoFps: 7},
		{UserId: "kept", RoomRef: room.ID, VideoWidth: 1280, VideoHeight: 720, VideoFps: 30}}
	for i := range rows {
		if err := h.db.Create(&rows[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := h.db.Exec(string(sql)).Error; err != nil {
		t.Fatal(err)
	}
	want := map[string]VideoFormat{"zero": {640, 360, 15}, "odd": {320, 240, 7}, "kept": {1280, 720, 30}}
	for _, r := range rows {
		var m Member
		if err := h.db.First(&m, r.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got := (VideoFormat{m.VideoWidth, m.VideoHeight, m.VideoFps}); got != want[m.UserId] {
			t.Errorf("%s: %v after 0010, want %v", m.UserId, got, want[m.UserId])
		}
	}
}
