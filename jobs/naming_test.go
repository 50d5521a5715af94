package jobs

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestFileNames checks the naming rules against the seed's example playlist
// ("1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video_20330531094551825.ts":
// user "1686119", whose base64 "MTY4NjExOQ==" ends in "..").
func TestFileNames(t *testing.T) {
	task := &models.RecordingTask{TaskId: "task1", SdkAppId: 1400123456, RoomId: "12345", RoomIdType: models.RoomIdInt}
	base := streamBase(task, 0, "1686119", "main")
	if want := "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main"; base != want {
		t.Fatalf("base = %q, want %q", base, want)
	}
	at := time.Date(2033, 5, 31, 9, 45, 51, 825_000_000, time.UTC)
	if got := base + "_video_" + utcStamp(at.In(time.FixedZone("CST", 8*3600))) + ".ts"; got != "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_video_20330531094551825.ts" {
		t.Fatalf("segment = %q", got)
	}
	// A string room id is encoded like a user id; "/" and "=" never reach a name.
	str := &models.RecordingTask{TaskId: "task1", SdkAppId: 1400000001, RoomId: "room/?>", RoomIdType: models.RoomIdString}
	got := streamBase(str, 2, "u/ser??>", "aux")
	room := strings.NewReplacer("/", "-", "=", ".").Replace(base64.StdEncoding.EncodeToString([]byte("room/?>")))
	if want := "ha2_1400000001_" + room + "__UserId_s_dS9zZXI-Pz4.__UserId_e_aux"; got != want {
		t.Fatalf("base = %q, want %q", got, want)
	}
	if strings.ContainsAny(got, "/=") {
		t.Fatalf("%q has / or =", got)
	}
	spec := &models.RecordingSpec{Storage: models.StorageTarget{FileNamePrefix: []string{"a", "b_c"}}}
	if d := taskDir(spec, "T"); d != "a/b_c/T/" {
		t.Fatalf("dir = %q", d)
	}
	if d := taskDir(&models.RecordingSpec{}, "T"); d != "T/" {
		t.Fatalf("dir = %q", d)
	}
}
