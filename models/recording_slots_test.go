package models

import (
	"fmt"
	"slices"
	"testing"
)

func userIds(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.UserId
	}
	return out
}

func anchorsFrom(from, to int, publishing func(i int) bool) []Member {
	var ms []Member
	for i := from; i < to; i++ {
		p := publishing(i)
		ms = append(ms, Member{UserId: fmt.Sprintf("u%02d", i), Role: RoleAnchor, PubAudio: p, PubVideo: p, JoinedAtMs: int64(i)})
	}
	return ms
}

// TestAnchorSlots: with 30 anchors the first 25 by entry hold the slots whether or not they
// publish yet; one starting to publish later is recorded in its slot; the set does not
// reshuffle (an earlier-entered audience member turning anchor waits); a 26th anchor gets
// a slot only when a holder leaves or stops being an anchor.
func TestAnchorSlots(t *testing.T) {
	spec := &RecordingSpec{}
	robot := Member{UserId: "robot", Robot: true, Role: RoleAudience}
	early := Member{UserId: "early", Role: RoleAudience, JoinedAtMs: -1}
	members := append([]Member{early, robot}, anchorsFrom(0, 30, func(i int) bool { return i >= 5 })...)
	var slots AnchorSlots
	want := userIds(anchorsFrom(0, 25, func(int) bool { return false }))
	if got := userIds(slots.Assign(spec, members)); !slices.Equal(got, want) {
		t.Fatalf("holders %v, want %v", got, want)
	}
	if got := userIds(spec.RecordedUsers(members)); len(got) != 20 || got[0] != "u05" || got[19] != "u24" {
		t.Fatalf("recorded %v: u00..u04 hold slots without publishing, u25.. have none", got)
	}

	// u00 publishes now: recorded in its slot, nobody else moves.
	members[2].PubAudio = true
	if got := userIds(slots.Assign(spec, members)); !slices.Equal(got, want) {
		t.Fatalf("holders after u00 published %v", got)
	}
	// The audience member who entered first becomes an anchor: all slots are held.
	members[0].Role = RoleAnchor
	if got := userIds(slots.Assign(spec, members)); !slices.Equal(got, want) {
		t.Fatalf("holders after an early member became anchor %v: the set reshuffled", got)
	}
	// u03 leaves: the next waiting anchor by entry takes the slot, the early one first.
	members = slices.DeleteFunc(members, func(m Member) bool { return m.UserId == "u03" })
	got := userIds(slots.Assign(spec, members))
	if len(got) != 25 || slices.Contains(got, "u03") || got[24] != "early" || !slices.Contains(got, "u24") {
		t.Fatalf("holders after u03 left %v", got)
	}
	// u10 becomes audience: u25 gets its slot.
	for i := range members {
		if members[i].UserId == "u10" {
			members[i].Role = RoleAudience
		}
	}
	got = userIds(slots.Assign(spec, members))
	if len(got) != 25 || slices.Contains(got, "u10") || got[24] != "u25" || slices.Contains(got, "u26") {
		t.Fatalf("holders after u10 became audience %v", got)
	}
	// Anchors the task does not subscribe to hold no slot.
	spec.Subscribe = Subscription{AudioAllow: []string{"u2.*$"}, VideoAllow: []string{"u2.*$"}}
	var fresh AnchorSlots
	if got := userIds(fresh.Assign(spec, members)); len(got) != 10 || got[0] != "u20" {
		t.Fatalf("holders with a u2* subscription %v", got)
	}
}
