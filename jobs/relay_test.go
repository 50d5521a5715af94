package jobs

import (
	"testing"

	"github.com/trtc-emulator/trtc-emulator/media/mix"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestRelayMembers: a transcoded relay mixes the anchors in entry order (robots and the
// audience left out), their audio by the allow and deny lists, their video by the video
// allow list.
func TestRelayMembers(t *testing.T) {
	anchor := func(id, source string) models.Member {
		return models.Member{UserId: id, Role: models.RoleAnchor, PubVideo: true, PubAudio: true, Source: source}
	}
	members := []models.Member{anchor("a", models.SourceVirtual), {UserId: "bot", Robot: true, Role: models.RoleAudience},
		anchor("b", "rtmp"), {UserId: "viewer", Role: models.RoleAudience}, anchor("c", models.SourceVirtual)}
	spec := &models.RelaySpec{Transcode: true, Audio: models.RelayAudio{Subscribe: []string{"a", "b"}, Unsubscribe: []string{"b"}},
		Video: &models.RelayVideo{Subscribe: []string{"a", "c"}}}
	got := relayMembers(spec, members)
	want := []mix.Member{
		{UserId: "a", Decodable: true, Source: models.SourceVirtual, Video: true, Audio: true},
		{UserId: "b", Source: "rtmp"},
		{UserId: "c", Decodable: true, Source: models.SourceVirtual, Video: true},
	}
	if len(got) != len(want) {
		t.Fatalf("members %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("member %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// No lists: everyone's video and audio.
	for _, m := range relayMembers(&models.RelaySpec{Transcode: true, Video: &models.RelayVideo{}}, members) {
		if !m.Video || !m.Audio {
			t.Fatalf("without lists %+v is not mixed whole", m)
		}
	}
}
