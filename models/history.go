package models

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Call history: DescribeUserInfo, DescribeUserEvent and DescribeCallDetailInfo answer from
// rooms (one lifetime = one CommId), members (one row per presence: entry, exit, device,
// final state) and member_events (what a presence published over time and how it was
// blocked). SetUserBlocked changes a present member and records the change there too.

// Error codes of the call history actions, from the per-action lists of the official SDK
// (tencentcloud-sdk-go-intl-en trtc/v20190722/client.go) and its errors.go.
const (
	// "The start time for query exceeded the limit": the 14-day history. Declared for
	// DescribeUserInfo, DescribeUserEvent and DescribeCallDetailInfo (StartTimeExpire, which
	// DescribeRoomInfo answers here, is in none of their lists).
	CodeStartTsOversize = "InvalidParameter.StartTsOversize"
	// "The value of PageSize exceeds 100."
	CodePageSizeOversize = "InvalidParameter.PageSizeOversize"
	// "The number of users exceeds 6": UserIds with DataType (DescribeCallDetailInfo).
	CodeUserIdsMorethanSix = "InvalidParameter.UserIdsMorethanSix"
	CodeInvalidUserIds     = "InvalidParameter.UserIds"
	CodeInvalidUserId      = "InvalidParameter.UserId"
	// SetUserBlocked*: the intl SDK marks every field optional, so the handler checks them
	// and answers with the MissingParameter subcodes both actions declare.
	CodeMissingSdkAppId = "MissingParameter.SdkAppId"
	CodeMissingRoomId   = "MissingParameter.RoomId"
	CodeMissingUserId   = "MissingParameter.UserId"
)

// Query limits (API docs of the actions): 14 days back; DescribeUserInfo and
// DescribeCallDetailInfo without DataType span at most 4 h, with DataType 1 h; pages and
// UserIds of 1 to 100, with DataType at most 6.
const (
	callQueryHistory    = 14 * 24 * time.Hour
	userQueryMaxSpan    = 4 * time.Hour
	qualityQueryMaxSpan = time.Hour
	qualityMaxUsers     = 6
	// DefaultCallPageSize: "If PageNumber or PageSize is not specified, six records will be
	// returned."
	DefaultCallPageSize = 6
)

// memberEventBlocked is the member_events type of a SetUserBlocked change (the publish
// changes use the media callback numbers 201..206).
const memberEventBlocked = 0

// IsMute values of SetUserBlocked.
const (
	BlockNone  = 0
	BlockAll   = 1
	BlockAudio = 2
	BlockVideo = 3
)

// What a virtual client reports about itself. Virtual clients are not a real SDK build, so
// they report a fixed, recognisable version; their IP is the loopback.
const (
	VirtualClientSdkVersion = "trtc-emulator-virtual-client"
	VirtualClientIp         = "127.0.0.1"
)

// deviceTypes names the TerminalType of a member (seed: "Event Callbacks", Device type).
var deviceTypes = map[int]string{1: "Windows", 2: "Android", 3: "iOS", 4: "Linux", 100: "Other"}

// MemberEvent is one change of a presence after its entry: a publish change (201..206) or
// a SetUserBlocked change (memberEventBlocked, IsMute).
type MemberEvent struct {
	ID        int64 `gorm:"primaryKey"`
	MemberRef int64
	EventType int
	IsMute    int
	AtMs      int64
}

// recordMemberEvent stores a change of m at atMs in the transaction that makes it. The
// operations of members.go call it for each publish change (201..206) they make.
func recordMemberEvent(tx *gorm.DB, m *Member, eventType int, atMs int64) error {
	return tx.Create(&MemberEvent{MemberRef: m.ID, EventType: eventType, IsMute: m.Blocked, AtMs: atMs}).Error
}

// SetUserBlocked sets what the server blocks of a present member (IsMute: 0 nothing, 1
// audio and video, 2 audio, 3 video). The member keeps publishing as far as its client is
// concerned: no 202/204 callback, which the seed reserves for a user turning their own
// video or audio off ("202 and 204 are triggered only if a user manually turns their video
// and audio off").
func (s *Store) SetUserBlocked(ctx context.Context, uin string, id Identity, isMute int) error {
	if isMute < BlockNone || isMute > BlockVideo {
		return tcerr.New(tcerr.CodeInvalidParameter, "The IsMute %d is invalid: 0 unblocks, 1 blocks audio and video, 2 audio only, 3 video only.", isMute)
	}
	db := s.writer(ctx)
	if err := checkAppOwner(db, uin, id.SdkAppId); err != nil {
		return err
	}
	if err := id.validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		markChange(tx, ChangeRooms) // what the recorder may record
		_, m, err := inRoom(tx, id)
		if err != nil {
			return err
		}
		if m.Blocked == isMute {
			return nil
		}
		m.Blocked = isMute
		if err := tx.Model(m).Update("blocked", isMute).Error; err != nil {
			return err
		}
		return recordMemberEvent(tx, m, memberEventBlocked, s.now().UnixMilli())
	})
}

// CallQuery selects the presences of one call (DescribeUserInfo, DescribeCallDetailInfo).
type CallQuery struct {
	Uin        string
	SdkAppId   uint64
	CommId     string
	StartTime  int64 // Unix seconds
	EndTime    int64
	UserIds    []string // empty: every user
	PageNumber int
	PageSize   int
	DataTypes  []string // DescribeCallDetailInfo metrics; empty: the user list only
}

// CallUser is one presence of a user in a call (UserInformation).
type CallUser struct {
	RoomId     string
	UserId     string
	JoinedAtMs int64
	LeftAtMs   int64 // the query time while the user is still in the room
	Finished   bool
	DeviceType string
	SdkVersion string
	ClientIp   string
}

// QualitySeries is one metric of one user, upstream (PeerId "") or received from PeerId.
type QualitySeries struct {
	UserId   string
	PeerId   string
	DataType string
	Points   []QualityPoint
}

// QualityPoint is the value of a metric in the minute starting at Time (Unix seconds).
type QualityPoint struct {
	Time  int64
	Value float64
}

// CallUsers returns the total of presences of a call that overlap the window and one page
// of them, in order of entry.
func (s *Store) CallUsers(ctx context.Context, q CallQuery) (int64, []CallUser, error) {
	call, err := s.callPresences(ctx, q, false)
	if err != nil {
		return 0, nil, err
	}
	return call.total, callUsers(call.page), nil
}

// CallDetail is CallUsers plus, with DataTypes, the quality series of the page's users.
func (s *Store) CallDetail(ctx context.Context, q CallQuery) (int64, []CallUser, []QualitySeries, error) {
	types, err := qualityTypes(q.DataTypes)
	if err != nil {
		return 0, nil, nil, err
	}
	q.DataTypes = types
	call, err := s.callPresences(ctx, q, len(types) > 0)
	if err != nil {
		return 0, nil, nil, err
	}
	return call.total, callUsers(call.page), qualitySeries(call, types), nil
}

func callUsers(page []presence) []CallUser {
	out := make([]CallUser, 0, len(page))
	for i := range page {
		p := &page[i]
		device, ok := deviceTypes[p.TerminalType]
		if !ok {
			device = "Other"
		}
		out = append(out, CallUser{RoomId: p.roomId, UserId: p.UserId, JoinedAtMs: p.JoinedAtMs, LeftAtMs: p.endMs,
			Finished: p.LeftAtMs != nil, DeviceType: device, SdkVersion: VirtualClientSdkVersion, ClientIp: VirtualClientIp})
	}
	return out
}

// window is a query window in Unix milliseconds, both ends included.
type window struct{ startMs, endMs int64 }

// callWindow checks a StartTime/EndTime pair (Unix seconds); maxSpan 0 means no limit.
func (s *Store) callWindow(start, end int64, maxSpan time.Duration) (window, error) {
	switch {
	case start <= 0:
		return window{}, tcerr.New(tcerr.CodeInvalidStartTs, "The StartTime %d is invalid.", start)
	case end < start:
		return window{}, tcerr.New(tcerr.CodeInvalidEndTs, "The EndTime %d is before the StartTime %d.", end, start)
	case time.Unix(start, 0).Before(s.now().Add(-callQueryHistory)):
		return window{}, tcerr.New(CodeStartTsOversize, "The StartTime %d is more than 14 days ago.", start)
	case maxSpan > 0 && time.Duration(end-start)*time.Second > maxSpan:
		return window{}, tcerr.New(tcerr.CodeQueryScaleOversize, "EndTime - StartTime is %d s, more than %s.", end-start, spanText(maxSpan))
	}
	return window{startMs: start * 1000, endMs: end*1000 + 999}, nil
}

func spanText(d time.Duration) string {
	if d == time.Hour {
		return "1 hour"
	}
	return strconv.Itoa(int(d/time.Hour)) + " hours"
}

// parseCommId splits SdkAppId_RoomId_CreateTime; a string room id may itself hold "_".
func parseCommId(commId string) (sdkAppId uint64, roomId string, createSec int64, err error) {
	i, j := strings.IndexByte(commId, '_'), strings.LastIndexByte(commId, '_')
	bad := tcerr.New(tcerr.CodeInvalidParameter, "The CommId %q is invalid: it must be SdkAppId_RoomId_CreateTime as DescribeRoomInfo returns it.", commId)
	if i < 0 || j <= i+1 {
		return 0, "", 0, bad
	}
	if sdkAppId, err = strconv.ParseUint(commId[:i], 10, 64); err != nil {
		return 0, "", 0, bad
	}
	if createSec, err = strconv.ParseInt(commId[j+1:], 10, 64); err != nil || createSec <= 0 {
		return 0, "", 0, bad
	}
	return sdkAppId, commId[i+1 : j], createSec, nil
}

// findCall returns the room lifetime a CommId names. The CommId carries no room id kind:
// should an integer and a string room of the same id start in the same second, the first
// created is the call.
func findCall(tx *gorm.DB, sdkAppId uint64, commId string) (*Room, error) {
	app, roomId, createSec, err := parseCommId(commId)
	if err != nil {
		return nil, err
	}
	if app != sdkAppId {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The CommId %q is a call of application %d, not of SdkAppId %d.", commId, app, sdkAppId)
	}
	var rooms []Room
	err = tx.Where("sdk_app_id = ? AND room_id = ? AND created_at_ms >= ? AND created_at_ms < ?",
		sdkAppId, roomId, createSec*1000, createSec*1000+1000).Order("created_at_ms, id").Limit(1).Find(&rooms).Error
	if err != nil {
		return nil, err
	}
	if len(rooms) == 0 {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The CommId %q is not a call of application %d.", commId, sdkAppId)
	}
	return &rooms[0], nil
}

// presence is a member row with its changes, ready to be replayed.
type presence struct {
	Member
	roomId  string
	endMs   int64 // LeftAtMs, or now while present
	changes []MemberEvent
	// legacy: no publish change was recorded (rows from before member_events): the member is
	// taken to have published its final state from entry to exit.
	legacy bool
}

// stateAt is what the presence published and how it was blocked at t (changes at t count).
func (p *presence) stateAt(t int64) (pub Publish, blocked int) {
	if p.legacy {
		pub = currentPublish(&p.Member)
	}
	for _, c := range p.changes {
		if c.AtMs > t {
			break
		}
		switch c.EventType {
		case EventStartVideo, EventStopVideo:
			pub.Video = c.EventType == EventStartVideo
		case EventStartAudio, EventStopAudio:
			pub.Audio = c.EventType == EventStartAudio
		case EventStartSubstream, EventStopSubstream:
			pub.Substream = c.EventType == EventStartSubstream
		case memberEventBlocked:
			blocked = c.IsMute
		}
	}
	return pub, blocked
}

// loadPresences attaches to members of room their recorded changes, in order: only theirs,
// by member_events_by_member, in one statement shape whatever the number of members.
func loadPresences(tx *gorm.DB, room *Room, members []Member, nowMs int64) ([]presence, error) {
	out := make([]presence, len(members))
	byId := make(map[int64]*presence, len(members))
	for i, m := range members {
		out[i] = presence{Member: m, roomId: room.RoomId, endMs: nowMs, legacy: true}
		if m.LeftAtMs != nil {
			out[i].endMs = *m.LeftAtMs
		}
		byId[m.ID] = &out[i]
	}
	if len(members) == 0 {
		return out, nil
	}
	ids := make([]int64, len(members))
	for i := range members {
		ids[i] = members[i].ID
	}
	list, _ := json.Marshal(ids)
	var events []MemberEvent
	err := tx.Where("member_ref IN (SELECT value FROM json_each(?))", string(list)).Order("at_ms, id").Find(&events).Error
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		p, ok := byId[ev.MemberRef]
		if !ok {
			continue
		}
		p.changes = append(p.changes, ev)
		if ev.EventType != memberEventBlocked {
			p.legacy = false
		}
	}
	return out, nil
}

// call is the result of a CallQuery: the total of matching presences, the page of them,
// with quality every presence of the call in the window (the page's peers), and the window.
type call struct {
	total int64
	page  []presence
	all   []presence
	win   window
}

// callPresences checks a CallQuery and reads its presences.
func (s *Store) callPresences(ctx context.Context, q CallQuery, quality bool) (*call, error) {
	db := s.reader(ctx) // reads outside a transaction: never wait for the writer
	if err := s.checkOwner(ctx, q.Uin, q.SdkAppId); err != nil {
		return nil, err
	}
	if _, _, _, err := parseCommId(q.CommId); err != nil {
		return nil, err
	}
	maxSpan, maxPage := userQueryMaxSpan, maxPageSize
	if quality {
		maxSpan, maxPage = qualityQueryMaxSpan, qualityMaxUsers
	}
	c := &call{}
	var err error
	if c.win, err = s.callWindow(q.StartTime, q.EndTime, maxSpan); err != nil {
		return nil, err
	}
	switch {
	case q.PageSize > maxPageSize:
		return nil, tcerr.New(CodePageSizeOversize, "The PageSize %d is more than 100.", q.PageSize)
	case q.PageSize < 1 || q.PageSize > maxPage:
		return nil, tcerr.New(tcerr.CodeInvalidPageSize, "The PageSize %d is invalid: it must be 1 to %d.", q.PageSize, maxPage)
	case q.PageNumber < 0:
		return nil, tcerr.New(tcerr.CodeInvalidPageNumber, "The PageNumber %d is invalid.", q.PageNumber)
	case quality && len(q.UserIds) > qualityMaxUsers:
		return nil, tcerr.New(CodeUserIdsMorethanSix, "UserIds has %d entries: with DataType at most 6 users can be queried.", len(q.UserIds))
	case len(q.UserIds) > maxPageSize:
		return nil, tcerr.New(CodeInvalidUserIds, "UserIds has %d entries: it must have 1 to 100.", len(q.UserIds))
	}
	room, err := findCall(db, q.SdkAppId, q.CommId)
	if err != nil {
		return nil, err
	}
	inWindow := db.Model(&Member{}).Where("id IN ("+membersInWindow+")", room.ID, c.win.endMs, room.ID, c.win.startMs, c.win.endMs)
	matching := inWindow.Session(&gorm.Session{})
	if len(q.UserIds) > 0 {
		matching = matching.Where("user_id IN ?", q.UserIds)
	}
	if err := matching.Session(&gorm.Session{}).Count(&c.total).Error; err != nil {
		return nil, err
	}
	var pageRows []Member
	err = matching.Session(&gorm.Session{}).Order("joined_at_ms, id").Offset(q.PageNumber * q.PageSize).Limit(q.PageSize).Find(&pageRows).Error
	if err != nil {
		return nil, err
	}
	nowMs := s.now().UnixMilli()
	if c.page, err = loadPresences(db, room, pageRows, nowMs); err != nil || !quality {
		return c, err
	}
	var allRows []Member
	if err := inWindow.Session(&gorm.Session{}).Order("joined_at_ms, id").Find(&allRows).Error; err != nil {
		return nil, err
	}
	c.all, err = loadPresences(db, room, allRows, nowMs)
	return c, err
}

// membersInWindow selects the presences of a call (room_ref, end, room_ref, start, end)
// that overlap a window: those still present that entered before its end, and those that
// left in or after it (by members_by_end: a long call's presences that ended before the
// window are never read).
const membersInWindow = `SELECT id FROM members WHERE room_ref = ? AND left_at_ms IS NULL AND joined_at_ms <= ?
	UNION ALL SELECT id FROM members WHERE room_ref = ? AND left_at_ms >= ? AND joined_at_ms <= ?`

// EventQuery selects the events of one user in one call (DescribeUserEvent).
type EventQuery struct {
	Uin       string
	SdkAppId  uint64
	CommId    string
	RoomId    string
	UserId    string
	StartTime int64 // Unix seconds
	EndTime   int64
}

// UserEvent is one event of a user as DescribeUserEvent reports it (EventMessage).
type UserEvent struct {
	Type     int // 0 not about video, 2 big video (EventMessage.Type)
	TimeMs   int64
	EventId  int
	ParamOne int64
	ParamTwo int64
}

// Event IDs: TRTC "Event ID Mapping Table", https://trtc.io/document/37906 (also
// tencentcloud.com/document/product/647/37906), the table the EventId field links to. Only
// these are emitted; the table has no event for a role switch or for the substream, and a
// server-side block is not a client event, so none is reported for those.
const (
	// SDK Event Mapping Table (native SDK and Mini Program clients).
	sdkEventMic             = 3001 // 0: the mic started capturing audio; 2: mic capturing was disabled
	sdkEventVideoUpstream   = 4006 // 0: the user enabled video upstreaming; 1: disabled it
	sdkEventVideoResolution = 4007 // width, height: the user switched video resolution
	sdkEventVideoFps        = 4008 // fps: the user switched video frame rate
	sdkEventEnterStart      = 5001 // started entering room
	sdkEventEnterResult     = 5003 // 1: entered room successfully
	sdkEventExitResult      = 5008 // 1: exited room successfully
	sdkEventEntered         = 7000 // 0: entered room normally; 1: entered room again
	sdkEventExited          = 7001 // 0: exited room normally; 1: timed out; 2: kicked out
	// WebRTC Event Mapping Table (UserType 1).
	webEventVideoOn  = 32768 // enabled video
	webEventAudioOn  = 32769 // enabled audio
	webEventVideoOff = 32770 // disabled video
	webEventAudioOff = 32771 // disabled audio
	webEventEntered  = 32788 // entered room
	webEventExited   = 32789 // exited room
)

// EventMessage.Type values.
const (
	eventTypeOther    = 0
	eventTypeBigVideo = 2
)

const userTypeWebRTC = 1

// UserEvents returns the events of a user in a call within the window, whose end is the
// room's end if it is later ("the room end time will be used"), oldest first. A user with
// no event there has none (Data is then an empty array), not an error.
func (s *Store) UserEvents(ctx context.Context, q EventQuery) ([]UserEvent, error) {
	db := s.reader(ctx) // reads outside a transaction: never wait for the writer
	if err := s.checkOwner(ctx, q.Uin, q.SdkAppId); err != nil {
		return nil, err
	}
	if _, _, _, err := parseCommId(q.CommId); err != nil {
		return nil, err
	}
	if q.UserId == "" || len(q.UserId) > 32 {
		return nil, tcerr.New(CodeInvalidUserId, "The UserId %q is invalid: it must be 1 to 32 bytes.", q.UserId)
	}
	win, err := s.callWindow(q.StartTime, q.EndTime, 0)
	if err != nil {
		return nil, err
	}
	room, err := findCall(db, q.SdkAppId, q.CommId)
	if err != nil {
		return nil, err
	}
	if q.RoomId != room.RoomId {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The RoomId %q is not the room of the call %s (%s).", q.RoomId, q.CommId, room.RoomId)
	}
	if room.DestroyedAtMs != nil && *room.DestroyedAtMs < win.endMs {
		win.endMs = *room.DestroyedAtMs
	}
	var rows []Member
	if err := db.Where("room_ref = ? AND user_id = ?", room.ID, q.UserId).Order("joined_at_ms, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	presences, err := loadPresences(db, room, rows, s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	var out []UserEvent
	for i := range presences {
		for _, ev := range presenceEvents(&presences[i], i > 0) {
			if ev.TimeMs >= win.startMs && ev.TimeMs <= win.endMs {
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

// presenceEvents is what a client of the member's kind reports over a presence: its entry,
// each publish change (a legacy row starts its final state at entry) and its exit.
func presenceEvents(p *presence, reentry bool) []UserEvent {
	web := p.UserType == userTypeWebRTC
	var out []UserEvent
	add := func(typ int, at int64, id int, one, two int64) {
		out = append(out, UserEvent{Type: typ, TimeMs: at, EventId: id, ParamOne: one, ParamTwo: two})
	}
	publish := func(eventType int, at int64) {
		switch {
		case web && eventType == EventStartVideo:
			add(eventTypeBigVideo, at, webEventVideoOn, -1, -1)
		case web && eventType == EventStopVideo:
			add(eventTypeBigVideo, at, webEventVideoOff, -1, -1)
		case web && eventType == EventStartAudio:
			add(eventTypeOther, at, webEventAudioOn, -1, -1)
		case web && eventType == EventStopAudio:
			add(eventTypeOther, at, webEventAudioOff, -1, -1)
		case eventType == EventStartVideo:
			add(eventTypeBigVideo, at, sdkEventVideoUpstream, 0, -1)
			if p.VideoWidth > 0 && p.VideoHeight > 0 {
				add(eventTypeBigVideo, at, sdkEventVideoResolution, int64(p.VideoWidth), int64(p.VideoHeight))
			}
			if p.VideoFps > 0 {
				add(eventTypeBigVideo, at, sdkEventVideoFps, int64(p.VideoFps), -1)
			}
		case eventType == EventStopVideo:
			add(eventTypeBigVideo, at, sdkEventVideoUpstream, 1, -1)
		case eventType == EventStartAudio:
			add(eventTypeOther, at, sdkEventMic, 0, -1)
		case eventType == EventStopAudio:
			add(eventTypeOther, at, sdkEventMic, 2, -1)
		}
	}

	join := p.JoinedAtMs
	if web {
		add(eventTypeOther, join, webEventEntered, -1, -1)
	} else {
		again := int64(0)
		if reentry {
			again = 1
		}
		add(eventTypeOther, join, sdkEventEnterStart, -1, -1)
		add(eventTypeOther, join, sdkEventEnterResult, 1, -1)
		add(eventTypeOther, join, sdkEventEntered, again, -1)
	}
	if p.legacy {
		final := currentPublish(&p.Member)
		if final.Video {
			publish(EventStartVideo, join)
		}
		if final.Audio {
			publish(EventStartAudio, join)
		}
	}
	for _, c := range p.changes {
		publish(c.EventType, c.AtMs)
	}
	if p.LeftAtMs == nil {
		return out
	}
	left := *p.LeftAtMs
	if web {
		add(eventTypeOther, left, webEventExited, -1, -1)
		return out
	}
	reason := ExitVoluntary
	if p.LeaveReason != nil {
		reason = *p.LeaveReason
	}
	// Exit reasons (seed "Event Callbacks"): 1 voluntary, 2 timeout, 3 removed, 4 cross-room
	// call cancelled, 5 process force-closed (TRTC sees it as a timeout).
	exited := int64(0)
	switch reason {
	case 2, 5:
		exited = 1
	case ExitRemoved:
		exited = 2
	}
	if reason == ExitVoluntary || reason == 4 {
		add(eventTypeOther, left, sdkEventExitResult, 1, -1) // the client's own exit report
	}
	add(eventTypeOther, left, sdkEventExited, exited, -1)
	return out
}

// Quality metrics of DescribeCallDetailInfo, in the order the API documents them.
var qualityMetrics = []string{"appCpu", "sysCpu", "aBit", "aBlock", "bigvBit", "bigvCapFps", "bigvEncFps",
	"bigvDecFps", "bigvBlock", "aLoss", "bigvLoss", "bigvWidth", "bigvHeight"}

// Which direction a metric describes: the sender's device and encoder (upstream, PeerId
// ""), the receiver's playback (downstream, PeerId = the sender) or the stream either way.
var (
	upstreamOnly   = map[string]bool{"appCpu": true, "sysCpu": true, "bigvCapFps": true, "bigvEncFps": true}
	downstreamOnly = map[string]bool{"aBlock": true, "bigvBlock": true, "bigvDecFps": true}
)

// qualityTypes checks DataType and returns it in documented order, "all" expanded.
func qualityTypes(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		if n != "all" && !slices.Contains(qualityMetrics, n) {
			return nil, tcerr.New(tcerr.CodeInvalidParameter, "The DataType %q is invalid: it must be all or one of %s.", n, strings.Join(qualityMetrics, ", "))
		}
		want[n] = true
	}
	if want["all"] {
		return slices.Clone(qualityMetrics), nil
	}
	var out []string
	for _, n := range qualityMetrics {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Virtual clients have perfect quality, so every value follows from what is being sent at
// the time, never from chance:
//   - aBit: 50 kbps while audio is sent: TRTCAudioQualityDefault (seed: "Relaying to CDN",
//     audioEncodedKbps 50);
//   - bigvBit: the seed's recommended bitrate for the resolution while video is sent (same
//     table: up to 640x360 800 kbps, 960x540 1200, 1280x720 1500, above 2500);
//   - bigvWidth/bigvHeight/bigvCapFps/bigvEncFps/bigvDecFps: the member's Video Width,
//     Height and Fps while video is sent, else 0;
//   - aLoss, bigvLoss, aBlock, bigvBlock: 0 (no loss, no stutter); appCpu, sysCpu: 0 (no
//     device).
//
// "Sent" means published and not blocked by SetUserBlocked. Each minute of presence in the
// window gives one point, at the minute's start, valued as at the first instant of presence
// in it. Downstream series exist for each peer that sent audio or video to the user.
const (
	audioBitrate = 50_000
)

func videoBitrate(width, height int) float64 {
	switch px := width * height; {
	case px <= 640*360:
		return 800_000
	case px <= 960*540:
		return 1_200_000
	case px <= 1280*720:
		return 1_500_000
	}
	return 2_500_000
}

// sending is what a presence sends at t, blocks applied.
func (p *presence) sending(t int64) (video, audio bool) {
	pub, blocked := p.stateAt(t)
	video = pub.Video && blocked != BlockAll && blocked != BlockVideo
	audio = pub.Audio && blocked != BlockAll && blocked != BlockAudio
	return video, audio
}

// metric is the value of a metric of sender p at t, seen upstream or downstream.
func (p *presence) metric(name string, t int64) float64 {
	video, audio := p.sending(t)
	switch {
	case name == "aBit" && audio:
		return audioBitrate
	case name == "bigvBit" && video:
		return videoBitrate(p.VideoWidth, p.VideoHeight)
	case name == "bigvWidth" && video:
		return float64(p.VideoWidth)
	case name == "bigvHeight" && video:
		return float64(p.VideoHeight)
	case (name == "bigvCapFps" || name == "bigvEncFps" || name == "bigvDecFps") && video:
		return float64(p.VideoFps)
	}
	return 0
}

// minutes calls fn for each minute [lo, hi) touches, with the minute's start (Unix seconds)
// and the first instant of the span in it; a span inside one instant still has its minute.
func minutes(lo, hi int64, fn func(minute, at int64)) {
	for m := lo / 60_000 * 60; ; m += 60 {
		at := max(m*1000, lo)
		if at >= hi && at != lo {
			return
		}
		fn(m, at)
	}
}

// qualitySeries derives the requested metrics of the page's users: upstream, then per
// peer (in order of entry) downstream, each metric a series over the user's presences.
func qualitySeries(c *call, types []string) []QualitySeries {
	out := []QualitySeries{}
	if len(types) == 0 {
		return out
	}
	var users []string
	byUser := map[string][]*presence{}
	for i := range c.page {
		p := &c.page[i]
		if _, seen := byUser[p.UserId]; !seen {
			users = append(users, p.UserId)
		}
		byUser[p.UserId] = append(byUser[p.UserId], p)
	}
	clip := func(p *presence) (int64, int64, bool) {
		lo, hi := max(p.JoinedAtMs, c.win.startMs), min(p.endMs, c.win.endMs)
		return lo, hi, lo <= hi
	}
	for _, user := range users {
		// Upstream: what the user sends.
		for _, name := range types {
			if downstreamOnly[name] {
				continue
			}
			s := QualitySeries{UserId: user, DataType: name}
			for _, p := range byUser[user] {
				if lo, hi, ok := clip(p); ok {
					minutes(lo, hi, func(minute, at int64) { s.add(minute, p.metric(name, at)) })
				}
			}
			out = append(out, s)
		}
		// Downstream: what the user receives from each peer while both are in the room.
		var peers []string
		peerRows := map[string][]*presence{}
		for i := range c.all {
			q := &c.all[i]
			if q.UserId == user {
				continue
			}
			if _, seen := peerRows[q.UserId]; !seen {
				peers = append(peers, q.UserId)
			}
			peerRows[q.UserId] = append(peerRows[q.UserId], q)
		}
		for _, peer := range peers {
			var series []QualitySeries
			sent := false
			for _, name := range types {
				if upstreamOnly[name] {
					continue
				}
				s := QualitySeries{UserId: user, PeerId: peer, DataType: name}
				for _, p := range byUser[user] {
					for _, q := range peerRows[peer] {
						plo, phi, ok1 := clip(p)
						qlo, qhi, ok2 := clip(q)
						lo, hi := max(plo, qlo), min(phi, qhi)
						if !ok1 || !ok2 || lo > hi {
							continue
						}
						minutes(lo, hi, func(minute, at int64) {
							if video, audio := q.sending(at); video || audio {
								sent = true
							}
							s.add(minute, q.metric(name, at))
						})
					}
				}
				series = append(series, s)
			}
			if sent {
				out = append(out, series...)
			}
		}
	}
	return out
}

// add appends a point unless its minute already has one (a user back in the same minute).
// Points come in time order: a user's presences never overlap.
func (s *QualitySeries) add(minute int64, v float64) {
	if n := len(s.Points); n > 0 && s.Points[n-1].Time >= minute {
		return
	}
	s.Points = append(s.Points, QualityPoint{Time: minute, Value: v})
}
