package jobs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestPublishingParticipantHasMedia: a participant that enters publishing video and audio
// gets sources that an independent decoder reads at its size; one that only listens gets none.
func TestPublishingParticipantHasMedia(t *testing.T) {
	ffprobe := testpeer.FFprobe(t)
	ctx := context.Background()
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "e.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const app, key = 1400000001, "media-test-secret-key"
	if err := store.Seed(ctx, models.Seed{Uin: "1", SecretId: "AKID", SecretKey: "k", SdkAppId: app, SdkSecretKey: key}); err != nil {
		t.Fatal(err)
	}
	enter := func(user string, pub models.Publish, role int) *models.Member {
		sig, _ := usersig.Gen(usersig.Params{SdkAppId: app, Key: key, UserId: user, Expire: time.Hour, Now: time.Now()})
		id := models.Identity{SdkAppId: app, RoomId: "7", RoomIdType: models.RoomIdInt, UserId: user}
		if _, err := store.Enter(ctx, models.EnterParams{Identity: id, UserSig: sig, Role: role, Publish: pub,
			VideoWidth: 320, VideoHeight: 180, VideoFps: 15}); err != nil {
			t.Fatal(err)
		}
		m, err := store.PresentMember(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := enter("alice", models.Publish{Video: true, Audio: true}, models.RoleAnchor)
	media, err := MediaOf(m)
	if err != nil || media.Video == nil || media.Audio == nil {
		t.Fatalf("media of a publishing anchor: %+v %v", media, err)
	}
	dir := t.TempDir()
	var video, audio []byte
	for i := 0; i < 30; i++ {
		video = append(video, media.Video.Next().AnnexB()...)
	}
	for i := 0; i < 94; i++ {
		audio = append(audio, media.Audio.Next().ADTS...)
	}
	os.WriteFile(filepath.Join(dir, "v.h264"), video, 0o644)
	os.WriteFile(filepath.Join(dir, "a.aac"), audio, 0o644)
	probe := func(file, format string) map[string]any {
		out, err := exec.Command(ffprobe, "-v", "error", "-f", format, "-show_streams", "-of", "json", file).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", file, err)
		}
		var res struct{ Streams []map[string]any }
		json.Unmarshal(out, &res)
		if len(res.Streams) != 1 {
			t.Fatalf("ffprobe %s: %s", file, out)
		}
		return res.Streams[0]
	}
	if v := probe(filepath.Join(dir, "v.h264"), "h264"); v["codec_name"] != "h264" || v["width"] != 320.0 || v["height"] != 180.0 {
		t.Fatalf("video stream %v", v)
	}
	if a := probe(filepath.Join(dir, "a.aac"), "aac"); a["codec_name"] != "aac" || !strings.HasPrefix(a["profile"].(string), "LC") {
		t.Fatalf("audio stream %v", a)
	}

	listener := enter("bob", models.Publish{}, models.RoleAudience)
	if media, err := MediaOf(listener); err != nil || media.Video != nil || media.Audio != nil {
		t.Fatalf("media of a listener: %+v %v", media, err)
	}
}
