package jobs

import (
	"encoding/base64"
	"strconv"
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

// FuzzRecorderInputs runs fuzzed user ids, room ids and subscription patterns through the
// recorder's stream selection (slots, subscription, MediaId) and file naming: never a
// panic; every wanted stream is a present anchor's main or aux stream; distinct streams
// get distinct file names; names hold only the seed's characters (base64 keeps "+") and decode back to the
// ids (base64 with "/" as "-" and "=" as ".").
func FuzzRecorderInputs(f *testing.F) {
	f.Add("a/b", "alice", "room/1", "1.*$", "", uint8(0))
	f.Add("a/b/main", "a", "12345", "a.*$", "a/b", uint8(1))
	f.Add("???", "??>", "r=", "(", "[", uint8(2))
	f.Add("", "x", "", "", "x", uint8(3))
	f.Add("user_s_x__UserId_e_main", "user", "ro__om", ".*", "", uint8(4))
	f.Fuzz(func(t *testing.T, userA, userB, room, allow, block string, flags uint8) {
		spec := &models.RecordingSpec{StreamType: int(flags % 3), MediaId: int(flags/3) % 3}
		if allow != "" {
			spec.Subscribe.AudioAllow, spec.Subscribe.VideoAllow = []string{allow}, []string{allow, userB}
		}
		if block != "" {
			spec.Subscribe.VideoBlock = []string{block}
		}
		members := []models.Member{
			{UserId: "robot", Robot: true, Role: models.RoleAudience},
			{UserId: userA, Role: models.RoleAnchor, PubAudio: true, PubVideo: flags&16 == 0, PubSubstream: true},
			{UserId: userB, Role: models.RoleAnchor, PubAudio: flags&32 == 0, PubVideo: true, PubSubstream: flags&64 == 0},
		}
		var slots models.AnchorSlots
		want := wantedStreams(spec, &slots, members)
		want2 := wantedStreams(spec, &slots, members)
		if len(want) != len(want2) {
			t.Fatalf("a second pass changed the streams: %v then %v", want, want2)
		}
		roomType := models.RoomIdString
		if _, err := strconv.ParseUint(room, 10, 32); err == nil {
			roomType = models.RoomIdInt
		}
		task := &models.RecordingTask{TaskId: "T", SdkAppId: 1400000001, RoomId: room, RoomIdType: roomType}
		names := map[string]streamKey{}
		for key, ws := range want {
			if key.userId != userA && key.userId != userB || ws.member == nil || ws.member.UserId != key.userId ||
				(key.mediaId != "main" && key.mediaId != "aux") || (!ws.audio && !ws.video) {
				t.Fatalf("wanted stream %+v %+v", key, ws)
			}
			for gen := 0; gen <= 3; gen++ {
				base := streamBase(task, gen, key.userId, key.mediaId)
				if other, dup := names[base]; dup {
					t.Fatalf("streams %+v and %+v share the name %q", key, other, base)
				}
				names[base] = key
				for _, c := range base {
					if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '+') {
						t.Fatalf("name %q has %q", base, c)
					}
				}
			}
			if got := decodeName(t, encodeName(key.userId)); got != key.userId {
				t.Fatalf("user %q encodes to a name decoding to %q", key.userId, got)
			}
		}
		if roomType == models.RoomIdString {
			if got := decodeName(t, encodeName(room)); got != room {
				t.Fatalf("room %q decodes back as %q", room, got)
			}
		}
	})
}

func decodeName(t *testing.T, name string) string {
	b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "/", ".", "=").Replace(name))
	if err != nil {
		t.Fatalf("%q: %v", name, err)
	}
	return string(b)
}

// TestSlashUserIdStreams: the defect's case in the selection: "a/b" (and "a/b/main",
// which the old "<user>/<media>" keys split wrongly) are each recorded as their own
// main stream, beside "a".
func TestSlashUserIdStreams(t *testing.T) {
	members := []models.Member{
		{UserId: "a/b", Role: models.RoleAnchor, PubAudio: true, PubVideo: true},
		{UserId: "a", Role: models.RoleAnchor, PubAudio: true, PubSubstream: true},
		{UserId: "a/b/main", Role: models.RoleAnchor, PubVideo: true},
	}
	var slots models.AnchorSlots
	want := wantedStreams(&models.RecordingSpec{}, &slots, members)
	for _, k := range []streamKey{{"a/b", "main"}, {"a", "main"}, {"a", "aux"}, {"a/b/main", "main"}} {
		if ws, ok := want[k]; !ok || ws.member.UserId != k.userId {
			t.Fatalf("stream %+v: %+v (all: %v)", k, ws, want)
		}
	}
	if len(want) != 4 {
		t.Fatalf("streams %v", want)
	}
}
