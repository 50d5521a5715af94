package models

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

const (
	histApp = 1400000001
	histUin = "100000000001"
)

// historyStore is a seeded store whose clock the test sets; t0 is a minute boundary two
// hours before its "now".
type historyStore struct {
	*Store
	t0  int64 // Unix ms
	now int64
}

func newHistoryStore(t *testing.T) *historyStore {
	t.Helper()
	h := &historyStore{Store: openTestStore(t, filepath.Join(t.TempDir(), "e.db"))}
	t.Cleanup(func() { h.Close() })
	h.t0 = time.Now().Add(-2 * time.Hour).Truncate(time.Minute).UnixMilli()
	h.now = h.t0 + 5*60_000
	h.Store.now = func() time.Time { return time.UnixMilli(h.now) }
	if err := h.Seed(context.Background(), testSeed); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *historyStore) room(t *testing.T, roomId string, idType int, createdAtMs int64, destroyedAtMs *int64) *Room {
	t.Helper()
	r := &Room{SdkAppId: histApp, RoomId: roomId, RoomIdType: idType, CreatorUserId: "creator", CreatedAtMs: createdAtMs, DestroyedAtMs: destroyedAtMs}
	if err := h.db.Create(r).Error; err != nil {
		t.Fatal(err)
	}
	return r
}

func (h *historyStore) member(t *testing.T, m Member) *Member {
	t.Helper()
	if m.Role == 0 {
		m.Role = RoleAnchor
	}
	if m.TerminalType == 0 {
		m.TerminalType = 100
	}
	if m.UserType == 0 {
		m.UserType = 3
	}
	if err := h.db.Create(&m).Error; err != nil {
		t.Fatal(err)
	}
	return &m
}

// changes records what the members.go call sites record: each publish change at its time.
func (h *historyStore) changes(t *testing.T, m *Member, events ...[2]int64) {
	t.Helper()
	for _, ev := range events {
		if err := recordMemberEvent(h.db, m, int(ev[0]), ev[1]); err != nil {
			t.Fatal(err)
		}
	}
}

func sec(ms int64) int64 { return ms / 1000 }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !tcerr.Is(err, code) {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestCallUsersPagingFiltersAndWindow(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	room := h.room(t, "room_with_underscores", RoomIdString, h.t0, nil)
	other := h.room(t, "room_with_underscores", RoomIdString, h.t0-3_600_000, ptr(h.t0-60_000)) // an earlier call
	h.member(t, Member{RoomRef: other.ID, UserId: "ghost", JoinedAtMs: other.CreatedAtMs})
	left := h.t0 + 10*60_000
	for i := 1; i <= 8; i++ {
		m := Member{RoomRef: room.ID, UserId: fmt.Sprintf("u%d", i), TerminalType: []int{1, 2, 3, 4, 100}[i%5], JoinedAtMs: h.t0 + int64(i-1)*60_000}
		if i == 1 {
			m.LeftAtMs, m.LeaveReason = &left, ptr(ExitVoluntary)
		}
		h.member(t, m)
	}
	q := CallQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), StartTime: sec(h.t0), EndTime: sec(h.t0) + 3*3600, PageSize: DefaultCallPageSize}
	total, users, err := h.CallUsers(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if total != 8 || len(users) != 6 || users[0].UserId != "u1" || users[5].UserId != "u6" {
		t.Fatalf("total %d, users %+v", total, users)
	}
	want := CallUser{RoomId: "room_with_underscores", UserId: "u1", JoinedAtMs: h.t0, LeftAtMs: left, Finished: true,
		DeviceType: "Android", SdkVersion: VirtualClientSdkVersion, ClientIp: "127.0.0.1"}
	if users[0] != want {
		t.Fatalf("u1 = %+v, want %+v", users[0], want)
	}
	if u := users[1]; u.Finished || u.LeftAtMs != h.now || u.DeviceType != "iOS" {
		t.Fatalf("present u2 = %+v (now %d)", u, h.now)
	}
	if users[3].DeviceType != "Other" || users[4].DeviceType != "Windows" {
		t.Fatalf("device types %q %q", users[3].DeviceType, users[4].DeviceType)
	}

	q.PageNumber, q.PageSize = 1, 5
	if total, users, _ = h.CallUsers(ctx, q); total != 8 || len(users) != 3 || users[0].UserId != "u6" {
		t.Fatalf("page 1 of 5: %d %+v", total, users)
	}
	q.PageNumber, q.PageSize = 0, 6
	q.UserIds = []string{"u7", "u2", "nobody"}
	if total, users, _ = h.CallUsers(ctx, q); total != 2 || users[0].UserId != "u2" || users[1].UserId != "u7" {
		t.Fatalf("UserIds filter: %d %+v", total, users)
	}
	// u1 left at t0+10 min: a window after that leaves it out; u8 joined at t0+7 min.
	q.UserIds, q.StartTime, q.EndTime = nil, sec(left)+1, sec(left)+60
	if total, users, _ = h.CallUsers(ctx, q); total != 7 || users[0].UserId != "u2" {
		t.Fatalf("later window: %d %+v", total, users)
	}
	q.StartTime, q.EndTime = sec(h.t0), sec(h.t0)+30
	if total, _, _ = h.CallUsers(ctx, q); total != 1 {
		t.Fatalf("first 30 s hold u1 only, got %d", total)
	}

	base := CallQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), StartTime: sec(h.t0), EndTime: sec(h.t0) + 60, PageSize: 6}
	for _, tc := range []struct {
		name string
		mod  func(*CallQuery)
		code string
	}{
		{"span over 4 h", func(q *CallQuery) { q.EndTime = q.StartTime + 4*3600 + 1 }, tcerr.CodeQueryScaleOversize},
		{"15 days back", func(q *CallQuery) { q.StartTime = sec(h.now) - 15*86400; q.EndTime = q.StartTime + 60 }, CodeStartTsOversize},
		{"end before start", func(q *CallQuery) { q.EndTime = q.StartTime - 1 }, tcerr.CodeInvalidEndTs},
		{"start 0", func(q *CallQuery) { q.StartTime = 0 }, tcerr.CodeInvalidStartTs},
		{"page size 0", func(q *CallQuery) { q.PageSize = 0 }, tcerr.CodeInvalidPageSize},
		{"page size 101", func(q *CallQuery) { q.PageSize = 101 }, CodePageSizeOversize},
		{"101 users", func(q *CallQuery) { q.UserIds = make([]string, 101) }, CodeInvalidUserIds},
		{"malformed CommId", func(q *CallQuery) { q.CommId = "1400000001-1234" }, tcerr.CodeInvalidParameter},
		{"CommId without room", func(q *CallQuery) { q.CommId = fmt.Sprintf("%d__%d", histApp, sec(h.t0)) }, tcerr.CodeInvalidParameter},
		{"unknown CommId", func(q *CallQuery) { q.CommId = fmt.Sprintf("%d_room_with_underscores_%d", histApp, sec(h.t0)+1) }, tcerr.CodeInvalidParameter},
		{"CommId of another app", func(q *CallQuery) { q.CommId = "1400000002" + strings.TrimPrefix(room.CommId(), "1400000001") }, tcerr.CodeInvalidParameter},
		{"not the caller's app", func(q *CallQuery) { q.Uin = "100000000002" }, tcerr.CodeUnauthorizedSdkAppId},
		{"unknown app", func(q *CallQuery) { q.SdkAppId = 1400000099 }, tcerr.CodeSdkAppIdNotExist},
	} {
		q := base
		tc.mod(&q)
		_, _, err := h.CallUsers(ctx, q)
		if !tcerr.Is(err, tc.code) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestUserEventsReplayPresences(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	t0 := h.t0
	closed := t0 + 240_000
	room := h.room(t, "1234", RoomIdInt, t0, &closed)
	// alice (native SDK): enters with video 640x360@15 and audio, turns video off after a
	// minute, leaves at 2 min; comes back at 3 min with audio (a row without recorded
	// changes) and is removed at 4 min.
	alice := h.member(t, Member{RoomRef: room.ID, UserId: "alice", UserType: 3, VideoWidth: 640, VideoHeight: 360, VideoFps: 15,
		PubAudio: true, JoinedAtMs: t0, LeftAtMs: ptr(t0 + 120_000), LeaveReason: ptr(ExitVoluntary)})
	h.changes(t, alice, [2]int64{EventStartVideo, t0}, [2]int64{EventStartAudio, t0}, [2]int64{EventStopVideo, t0 + 60_000})
	if err := h.db.Create(&MemberEvent{MemberRef: alice.ID, EventType: memberEventBlocked, IsMute: BlockAll, AtMs: t0 + 90_000}).Error; err != nil {
		t.Fatal(err)
	}
	// The second presence ends after the room's end, which cannot happen live: the room end
	// clamps the window, so its exit is left out.
	h.member(t, Member{RoomRef: room.ID, UserId: "alice", UserType: 3, PubAudio: true,
		JoinedAtMs: t0 + 180_000, LeftAtMs: ptr(closed + 10_000), LeaveReason: ptr(ExitVoluntary)})
	// erin (native) is removed.
	h.member(t, Member{RoomRef: room.ID, UserId: "erin", JoinedAtMs: t0 + 5000, LeftAtMs: ptr(t0 + 200_000), LeaveReason: ptr(ExitRemoved)})
	// bob (WebRTC) turns video on and off.
	bob := h.member(t, Member{RoomRef: room.ID, UserId: "bob", UserType: 1, JoinedAtMs: t0 + 1000, LeftAtMs: ptr(t0 + 61_000), LeaveReason: ptr(2)})
	h.changes(t, bob, [2]int64{EventStartVideo, t0 + 1000}, [2]int64{EventStartSubstream, t0 + 2000}, [2]int64{EventStopVideo, t0 + 3000})

	q := EventQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), RoomId: "1234", UserId: "alice",
		StartTime: sec(t0), EndTime: sec(t0) + 86400}
	events, err := h.UserEvents(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []UserEvent{
		{0, t0, 5001, -1, -1}, {0, t0, 5003, 1, -1}, {0, t0, 7000, 0, -1},
		{2, t0, 4006, 0, -1}, {2, t0, 4007, 640, 360}, {2, t0, 4008, 15, -1}, {0, t0, 3001, 0, -1},
		{2, t0 + 60_000, 4006, 1, -1},
		{0, t0 + 120_000, 5008, 1, -1}, {0, t0 + 120_000, 7001, 0, -1},
		{0, t0 + 180_000, 5001, -1, -1}, {0, t0 + 180_000, 5003, 1, -1}, {0, t0 + 180_000, 7000, 1, -1},
		{0, t0 + 180_000, 3001, 0, -1},
	}
	if !slices.Equal(events, want) {
		t.Fatalf("alice's events:\n got %v\nwant %v", events, want)
	}
	q.StartTime, q.EndTime = sec(t0)+60, sec(t0)+120
	events, _ = h.UserEvents(ctx, q)
	if len(events) != 3 || events[0].EventId != 4006 || events[2].EventId != 7001 {
		t.Fatalf("window [t0+60 s, t0+120 s]: %v", events)
	}

	q.UserId, q.StartTime, q.EndTime = "bob", sec(t0), sec(t0)+3600
	events, _ = h.UserEvents(ctx, q)
	want = []UserEvent{{0, t0 + 1000, 32788, -1, -1}, {2, t0 + 1000, 32768, -1, -1}, {2, t0 + 3000, 32770, -1, -1}, {0, t0 + 61_000, 32789, -1, -1}}
	if !slices.Equal(events, want) {
		t.Fatalf("bob's events:\n got %v\nwant %v", events, want)
	}
	q.UserId = "erin"
	events, _ = h.UserEvents(ctx, q)
	want = []UserEvent{{0, t0 + 5000, 5001, -1, -1}, {0, t0 + 5000, 5003, 1, -1}, {0, t0 + 5000, 7000, 0, -1}, {0, t0 + 200_000, 7001, 2, -1}}
	if !slices.Equal(events, want) {
		t.Fatalf("erin's events:\n got %v\nwant %v", events, want)
	}
	q.UserId = "carol"
	if events, err = h.UserEvents(ctx, q); err != nil || len(events) != 0 {
		t.Fatalf("a user never in the call: %v %v", events, err)
	}

	for _, tc := range []struct {
		name string
		mod  func(*EventQuery)
		code string
	}{
		{"empty UserId", func(q *EventQuery) { q.UserId = "" }, CodeInvalidUserId},
		{"RoomId of another room", func(q *EventQuery) { q.RoomId = "1235" }, tcerr.CodeInvalidParameter},
		{"unknown CommId", func(q *EventQuery) { q.CommId = "1400000001_1234_1" }, tcerr.CodeInvalidParameter},
		{"15 days back", func(q *EventQuery) { q.StartTime = sec(h.now) - 15*86400 }, CodeStartTsOversize},
		{"end before start", func(q *EventQuery) { q.EndTime = q.StartTime - 1 }, tcerr.CodeInvalidEndTs},
	} {
		q := EventQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), RoomId: "1234", UserId: "alice", StartTime: sec(t0), EndTime: sec(t0) + 60}
		tc.mod(&q)
		if _, err := h.UserEvents(ctx, q); !tcerr.Is(err, tc.code) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
		}
	}
}

// seriesText renders quality series as "user<-peer type: v v v" lines, one value a minute
// from start; "@s" marks a point that does not follow the one before by a minute.
func seriesText(all []QualitySeries, start int64) []string {
	var out []string
	for _, s := range all {
		line := s.UserId
		if s.PeerId != "" {
			line += "<-" + s.PeerId
		}
		line += " " + s.DataType + ":"
		next := start
		for _, p := range s.Points {
			if p.Time != next {
				line += fmt.Sprintf(" @%d", p.Time-start)
			}
			line += fmt.Sprintf(" %g", p.Value)
			next = p.Time + 60
		}
		out = append(out, line)
	}
	return out
}

func TestCallDetailDerivesQuality(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	t0 := h.t0
	room := h.room(t, "q1", RoomIdString, t0, nil)
	// alice sends 640x360@15 video and audio from t0, stops video at 2 min, is audio-blocked
	// at 3 min and leaves at 4 min. bob sends audio from 1 min and stays (now = t0+5 min).
	// carol listens only. dave is a row without recorded changes that published video.
	alice := h.member(t, Member{RoomRef: room.ID, UserId: "alice", VideoWidth: 640, VideoHeight: 360, VideoFps: 15, PubAudio: true,
		JoinedAtMs: t0, LeftAtMs: ptr(t0 + 240_000), LeaveReason: ptr(ExitVoluntary)})
	h.changes(t, alice, [2]int64{EventStartVideo, t0}, [2]int64{EventStartAudio, t0}, [2]int64{EventStopVideo, t0 + 120_000})
	if err := h.db.Create(&MemberEvent{MemberRef: alice.ID, EventType: memberEventBlocked, IsMute: BlockAudio, AtMs: t0 + 180_000}).Error; err != nil {
		t.Fatal(err)
	}
	bob := h.member(t, Member{RoomRef: room.ID, UserId: "bob", PubAudio: true, JoinedAtMs: t0 + 60_000})
	h.changes(t, bob, [2]int64{EventStartAudio, t0 + 60_000})
	h.member(t, Member{RoomRef: room.ID, UserId: "carol", Role: RoleAudience, JoinedAtMs: t0})
	h.member(t, Member{RoomRef: room.ID, UserId: "dave", PubVideo: true, VideoWidth: 1280, VideoHeight: 720, VideoFps: 30,
		JoinedAtMs: t0 + 4*60_000 + 30_000})

	q := CallQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), StartTime: sec(t0), EndTime: sec(t0) + 3599,
		UserIds: []string{"alice"}, PageSize: 6, DataTypes: []string{"bigvWidth", "aBit", "bigvDecFps", "appCpu"}}
	total, users, series, err := h.CallDetail(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(users) != 1 || users[0].UserId != "alice" {
		t.Fatalf("users: %d %+v", total, users)
	}
	got := seriesText(series, sec(t0))
	want := []string{
		"alice appCpu: 0 0 0 0",
		"alice aBit: 50000 50000 50000 0",
		"alice bigvWidth: 640 640 0 0",
		"alice<-bob aBit: @60 50000 50000 50000",
		"alice<-bob bigvDecFps: @60 0 0 0",
		"alice<-bob bigvWidth: @60 0 0 0",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("series:\n got %q\nwant %q", got, want)
	}

	// dave published video throughout (no recorded change): his own series and what bob
	// receives from him; bob also received alice's video until she stopped it, and the
	// page is in order of entry.
	q.UserIds, q.DataTypes = []string{"dave", "bob"}, []string{"bigvBit", "bigvCapFps", "bigvHeight"}
	_, _, series, err = h.CallDetail(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got = seriesText(series, sec(t0))
	want = []string{
		"bob bigvBit: @60 0 0 0 0",
		"bob bigvCapFps: @60 0 0 0 0",
		"bob bigvHeight: @60 0 0 0 0",
		"bob<-alice bigvBit: @60 800000 0 0",
		"bob<-alice bigvHeight: @60 360 0 0",
		"bob<-dave bigvBit: @240 1.5e+06",
		"bob<-dave bigvHeight: @240 720",
		"dave bigvBit: @240 1.5e+06",
		"dave bigvCapFps: @240 30",
		"dave bigvHeight: @240 720",
		"dave<-bob bigvBit: @240 0",
		"dave<-bob bigvHeight: @240 0",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("series:\n got %q\nwant %q", got, want)
	}

	q.UserIds, q.DataTypes = []string{"alice"}, []string{"aLoss", "all"}
	_, _, series, _ = h.CallDetail(ctx, q)
	if len(series) != 10+9 {
		t.Fatalf("all metrics: %d series, want 10 upstream + 9 from bob: %q", len(series), seriesText(series, sec(t0)))
	}
	q.DataTypes = nil
	if _, users, series, _ = h.CallDetail(ctx, q); len(series) != 0 || len(users) != 1 {
		t.Fatalf("without DataType only the user list: %d users, %d series", len(users), len(series))
	}

	base := CallQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), StartTime: sec(t0), EndTime: sec(t0) + 60,
		PageSize: 6, DataTypes: []string{"aBit"}}
	for _, tc := range []struct {
		name string
		mod  func(*CallQuery)
		code string
	}{
		{"unknown metric", func(q *CallQuery) { q.DataTypes = []string{"aBit", "bogus"} }, tcerr.CodeInvalidParameter},
		{"over 1 h with DataType", func(q *CallQuery) { q.EndTime = q.StartTime + 3601 }, tcerr.CodeQueryScaleOversize},
		{"over 4 h without", func(q *CallQuery) { q.DataTypes, q.EndTime = nil, q.StartTime+4*3600+1 }, tcerr.CodeQueryScaleOversize},
		{"page of 7 with DataType", func(q *CallQuery) { q.PageSize = 7 }, tcerr.CodeInvalidPageSize},
		{"7 users with DataType", func(q *CallQuery) { q.UserIds = []string{"a", "b", "c", "d", "e", "f", "g"} }, CodeUserIdsMorethanSix},
		{"page of 101 without", func(q *CallQuery) { q.DataTypes, q.PageSize = nil, 101 }, CodePageSizeOversize},
	} {
		q := base
		tc.mod(&q)
		if _, _, _, err := h.CallDetail(ctx, q); !tcerr.Is(err, tc.code) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
		}
	}
	q = base
	q.DataTypes, q.EndTime, q.PageSize, q.UserIds = nil, q.StartTime+2*3600, 100, []string{"a", "b", "c", "d", "e", "f", "g"}
	if _, _, _, err := h.CallDetail(ctx, q); err != nil {
		t.Fatalf("2 h, 100 a page, 7 users without DataType: %v", err)
	}
}

func TestSetUserBlockedStoresAndRecords(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	intRoom := h.room(t, "1234", RoomIdInt, h.t0, nil)
	h.room(t, "abc", RoomIdString, h.t0, nil)
	alice := h.member(t, Member{RoomRef: intRoom.ID, UserId: "alice", PubVideo: true, PubAudio: true, JoinedAtMs: h.t0})
	id := Identity{SdkAppId: histApp, RoomId: "1234", RoomIdType: RoomIdInt, UserId: "alice"}

	for _, mute := range []int{BlockAudio, BlockAudio, BlockAll, BlockNone} {
		h.now += 1000
		if err := h.SetUserBlocked(ctx, histUin, id, mute); err != nil {
			t.Fatal(err)
		}
		var m Member
		h.db.Take(&m, alice.ID)
		if m.Blocked != mute || !m.PubVideo || !m.PubAudio {
			t.Fatalf("after IsMute %d: blocked %d, publishing video %v audio %v", mute, m.Blocked, m.PubVideo, m.PubAudio)
		}
	}
	var events []MemberEvent
	h.db.Where("member_ref = ?", alice.ID).Order("id").Find(&events)
	var mutes []int
	for _, ev := range events {
		if ev.EventType != memberEventBlocked {
			t.Fatalf("event %+v is not a block change", ev)
		}
		mutes = append(mutes, ev.IsMute)
	}
	if !slices.Equal(mutes, []int{BlockAudio, BlockAll, BlockNone}) {
		t.Fatalf("recorded block changes %v (a repeated IsMute records nothing)", mutes)
	}
	var callbacks int64
	h.db.Model(&CallbackEvent{}).Count(&callbacks)
	if callbacks != 0 {
		t.Fatalf("blocking wrote %d callbacks, want none", callbacks)
	}

	for _, tc := range []struct {
		name string
		id   Identity
		mute int
		code string
	}{
		{"IsMute 4", id, 4, tcerr.CodeInvalidParameter},
		{"user not in the room", Identity{SdkAppId: histApp, RoomId: "1234", RoomIdType: RoomIdInt, UserId: "bob"}, 1, CodeUserNotExist},
		{"string room 1234 is another room", Identity{SdkAppId: histApp, RoomId: "1234", RoomIdType: RoomIdString, UserId: "alice"}, 1, tcerr.CodeRoomNotExist},
		{"alice is not in string room abc", Identity{SdkAppId: histApp, RoomId: "abc", RoomIdType: RoomIdString, UserId: "alice"}, 1, CodeUserNotExist},
		{"room id 0", Identity{SdkAppId: histApp, RoomId: "0", RoomIdType: RoomIdInt, UserId: "alice"}, 1, tcerr.CodeInvalidRoomId},
		{"UserId too long", Identity{SdkAppId: histApp, RoomId: "1234", RoomIdType: RoomIdInt, UserId: strings.Repeat("x", 33)}, 1, CodeInvalidUserId},
		{"unknown app", Identity{SdkAppId: 1400000099, RoomId: "1234", RoomIdType: RoomIdInt, UserId: "alice"}, 1, tcerr.CodeSdkAppIdNotExist},
	} {
		if err := h.SetUserBlocked(ctx, histUin, tc.id, tc.mute); !tcerr.Is(err, tc.code) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
		}
	}
	wantCode(t, h.SetUserBlocked(ctx, "100000000002", id, 1), tcerr.CodeUnauthorizedSdkAppId)
}

func TestMembersRecordPublishChanges(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	sig, err := usersig.Gen(usersig.Params{SdkAppId: histApp, Key: testSeed.SdkSecretKey, UserId: "alice", Expire: 24 * time.Hour, Now: time.UnixMilli(h.now)})
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{SdkAppId: histApp, RoomId: "77", RoomIdType: RoomIdInt, UserId: "alice"}
	m, err := h.Enter(ctx, EnterParams{Identity: id, UserSig: sig, Publish: Publish{Video: true, Audio: true}, VideoWidth: 320, VideoHeight: 240, VideoFps: 10})
	if err != nil {
		t.Fatal(err)
	}
	entered := h.now
	h.now += 90_000
	videoOff := false
	if _, err := h.Update(ctx, UpdateParams{Identity: id, Publish: &PublishPatch{Video: &videoOff}}); err != nil {
		t.Fatal(err)
	}
	h.now += 30_000
	if err := h.Leave(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	var events []MemberEvent
	h.db.Where("member_ref = ?", m.ID).Order("id").Find(&events)
	var got []string
	for _, ev := range events {
		got = append(got, fmt.Sprintf("%d@%d", ev.EventType, ev.AtMs-entered))
	}
	if want := []string{"201@0", "203@0", "202@90000"}; !slices.Equal(got, want) {
		t.Fatalf("recorded %v, want %v (Leave records no 202/204)", got, want)
	}
	var room Room
	h.db.Take(&room, m.RoomRef)
	evs, err := h.UserEvents(ctx, EventQuery{Uin: histUin, SdkAppId: histApp, CommId: room.CommId(), RoomId: "77", UserId: "alice",
		StartTime: sec(entered), EndTime: sec(h.now)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, ev := range evs {
		ids = append(ids, ev.EventId)
	}
	if want := []int{5001, 5003, 7000, 4006, 4007, 4008, 3001, 4006, 5008, 7001}; !slices.Equal(ids, want) {
		t.Fatalf("event ids %v, want %v", ids, want)
	}
}

// TestRoomsPagesAndTotals: DescribeRoomInfo's page and Total in every case: a first page
// that holds the whole window, a full page, a later page, a page past the end (no row to
// carry the total), a RoomId filter; open and ended rooms in one order; a room that ended
// before the window or opened after it is in none.
func TestRoomsPagesAndTotals(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	before := h.t0 - 60_000
	h.room(t, "gone", RoomIdString, h.t0-600_000, &before)
	h.room(t, "later", RoomIdString, h.t0+3601_000, nil) // opened after the window
	// Opened before the window and ended in it: an ended room sorted before the open ones.
	endedIn := h.t0 + 5_000
	h.room(t, "long", RoomIdString, h.t0-7200_000, &endedIn)
	want := []string{"long"}
	for i := range 7 {
		var destroyed *int64
		if i%3 == 2 {
			d := h.t0 + int64(i)*60_000 + 30_000
			destroyed = &d
		}
		id := fmt.Sprint("r", i)
		h.room(t, id, RoomIdString, h.t0+int64(i)*60_000, destroyed)
		want = append(want, id)
	}
	q := RoomQuery{Uin: histUin, SdkAppId: histApp, StartTime: sec(h.t0), EndTime: sec(h.t0) + 3600}
	for _, tc := range []struct {
		page, size int
		room       string
		total      int64
		ids        []string
	}{
		{0, 10, "", 8, want},
		{0, 8, "", 8, want},
		{1, 3, "", 8, want[3:6]},
		{2, 3, "", 8, want[6:]},
		{3, 3, "", 8, nil},
		{0, 10, "r4", 1, want[5:6]},
		{1, 1, "r4", 1, nil},
	} {
		q.PageNumber, q.PageSize, q.RoomId = tc.page, tc.size, tc.room
		total, rooms, err := h.Rooms(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rooms {
			if r.SdkAppId != histApp || r.CreatorUserId != "creator" || r.ID == 0 || r.CreatedAtMs == 0 {
				t.Errorf("room %+v", r)
			}
			ids = append(ids, r.RoomId)
		}
		if total != tc.total || fmt.Sprint(ids) != fmt.Sprint(tc.ids) {
			t.Errorf("page %d of %d, room %q: total %d, rooms %v; want %d, %v", tc.page, tc.size, tc.room, total, ids, tc.total, tc.ids)
		}
	}
}
