package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Roles, terminal types and user types of room members (seed: "Event Callbacks").
const (
	RoleAnchor   = 20
	RoleAudience = 21
)

var (
	terminalTypes = map[int]bool{1: true, 2: true, 3: true, 4: true, 100: true}
	userTypes     = map[int]bool{1: true, 2: true, 3: true}
)

// Enter and exit reasons (seed: "Event Callbacks", Reason).
const (
	EnterVoluntary = 1
	ExitVoluntary  = 1
	ExitRemoved    = 3
)

// Error codes of the participant operations.
const (
	CodeInvalidUserSig       = "InvalidParameter.UserSig"
	CodeInvalidPrivateMapKey = "InvalidParameter.PrivateMapKey"
	CodePrivilegeDenied      = "UnauthorizedOperation.PrivateMapKey"
	CodeUserExist            = "FailedOperation.UserExist"
	CodeUserNotExist         = "FailedOperation.UserNotExist"
	CodeNotAnchor            = "FailedOperation.NotAnchor"
)

// Member is one presence of a user in a room lifetime.
type Member struct {
	ID           int64 `gorm:"primaryKey"`
	RoomRef      int64
	UserId       string
	Role         int
	TerminalType int
	UserType     int
	Robot        bool
	PubVideo     bool
	PubAudio     bool
	PubSubstream bool
	VideoWidth   int
	VideoHeight  int
	VideoFps     int
	Blocked      int
	JoinedAtMs   int64
	LeftAtMs     *int64
	LeaveReason  *int
	Source       string // SourceVirtual, SourceRTMP, SourceWHIP or SourceIngest
}

// Member sources: where a member's media comes from.
const (
	SourceVirtual = ""     // a virtual participant: the emulator encodes its media
	SourceRTMP    = "rtmp" // an RTMP publisher: its media is what it sends
	SourceWHIP    = "whip" // a WHIP publisher: its H.264 as sent, its Opus as AAC
)

// Publish is what a member sends.
type Publish struct {
	Video, Audio, Substream bool
}

// PublishPatch changes the named tracks of what a member sends; nil keeps a track as it is.
type PublishPatch struct {
	Video, Audio, Substream *bool
}

// applyTo is p's tracks over cur.
func (p PublishPatch) applyTo(cur Publish) Publish {
	for _, t := range []struct {
		set *bool
		dst *bool
	}{{p.Video, &cur.Video}, {p.Audio, &cur.Audio}, {p.Substream, &cur.Substream}} {
		if t.set != nil {
			*t.dst = *t.set
		}
	}
	return cur
}

// startsAny reports whether p turns a track on.
func (p PublishPatch) startsAny() bool { return p.applyTo(Publish{}) != Publish{} }

// VideoFormat is the picture of a video stream.
type VideoFormat struct {
	Width, Height, Fps int
}

// The pictures of virtual clients' streams: the main stream of a client that enters
// without a Video format, and the substream (a synthetic screen share, always this size).
// The control API shows them and the recorder records them.
var (
	DefaultMainVideo = VideoFormat{Width: 640, Height: 360, Fps: 15}
	SubstreamVideo   = VideoFormat{Width: 1280, Height: 720, Fps: 10}
)

// Sizes a main stream may have: those the synthetic H.264 source encodes (media/synth).
const (
	minVideoSide   = 16
	maxVideoWidth  = 4096
	maxVideoHeight = 2304
	maxVideoFps    = 60
)

// mainVideo is the picture a client entering with width x height @ fps publishes:
// DefaultMainVideo for a missing size or rate, sides rounded down to even numbers (4:2:0).
func mainVideo(width, height, fps int) VideoFormat {
	v := VideoFormat{Width: width &^ 1, Height: height &^ 1, Fps: fps}
	if v.Width == 0 || v.Height == 0 {
		v.Width, v.Height = DefaultMainVideo.Width, DefaultMainVideo.Height
	}
	if v.Fps == 0 {
		v.Fps = DefaultMainVideo.Fps
	}
	return v
}

// MainVideo is the picture of the member's main stream, as recorded. Members stored
// before the defaults were (rows with 0x0) get them here too.
func (m *Member) MainVideo() VideoFormat { return mainVideo(m.VideoWidth, m.VideoHeight, m.VideoFps) }

// Identity names a user in a room.
type Identity struct {
	SdkAppId   uint64
	RoomId     string
	RoomIdType int // RoomIdString or RoomIdInt
	UserId     string
}

// EnterParams are a virtual client's entry (control API).
type EnterParams struct {
	Identity
	UserSig       string
	PrivateMapKey string
	Role          int
	TerminalType  int
	UserType      int
	Reason        int
	Publish       Publish
	VideoWidth    int
	VideoHeight   int
	VideoFps      int
	Source        string // SourceVirtual unless the media comes from elsewhere
}

// RoomView is an open room with its present members.
type RoomView struct {
	Room    Room
	Members []Member
}

func (id *Identity) validate() error {
	var err error
	if id.RoomId, err = ValidateRoomId("RoomId", id.RoomId, id.RoomIdType); err != nil {
		return err
	}
	if id.UserId == "" || len(id.UserId) > 32 {
		return tcerr.New("InvalidParameter.UserId", "The UserId %q is invalid: it must be 1 to 32 bytes.", id.UserId)
	}
	return nil
}

// checkTickets verifies the UserSig and, with advanced permission control on, the
// PrivateMapKey's room and privilege bits (seed: "Enabling Advanced Permission Control").
func (s *Store) checkTickets(app *App, id Identity, userSig, privateMapKey string, need uint32) error {
	now := s.now()
	if _, err := usersig.Verify(userSig, app.SdkAppId, app.SdkSecretKey, id.UserId, now); err != nil {
		return tcerr.New(CodeInvalidUserSig, "The UserSig of %q is rejected: %v.", id.UserId, err)
	}
	if !app.AdvancedPermissionControl {
		return nil
	}
	if privateMapKey == "" {
		return tcerr.New(CodeInvalidPrivateMapKey, "Application %d has advanced permission control on: a PrivateMapKey is required.", app.SdkAppId)
	}
	pm, err := usersig.VerifyPrivateMapKey(privateMapKey, app.SdkAppId, app.SdkSecretKey, id.UserId, now)
	if err != nil {
		return tcerr.New(CodeInvalidPrivateMapKey, "The PrivateMapKey of %q is rejected: %v.", id.UserId, err)
	}
	if !pm.MatchesRoom(id.RoomId, id.RoomIdType == RoomIdString) {
		return tcerr.New(CodePrivilegeDenied, "The PrivateMapKey of %q is for another room than %s.", id.UserId, id.RoomId)
	}
	if !pm.Allows(need) {
		return tcerr.New(CodePrivilegeDenied, "The PrivateMapKey of %q lacks privilege bits %d (it has %d).", id.UserId, need&^pm.Privileges, pm.Privileges)
	}
	return nil
}

func publishBits(p Publish) uint32 {
	var bits uint32
	if p.Audio {
		bits |= usersig.PrivSendAudio
	}
	if p.Video {
		bits |= usersig.PrivSendVideo
	}
	if p.Substream {
		bits |= usersig.PrivSendSubstream
	}
	return bits
}

// Enter puts a virtual client in a room, creating the room if it is not open, and
// records 101 (if created), 103 and one start event per published stream.
func (s *Store) Enter(ctx context.Context, p EnterParams) (*Member, error) {
	if err := p.Identity.validate(); err != nil {
		return nil, err
	}
	if p.Role == 0 {
		p.Role = RoleAnchor
	}
	if p.TerminalType == 0 {
		p.TerminalType = 100
	}
	if p.UserType == 0 {
		p.UserType = 3
	}
	if p.Reason == 0 {
		p.Reason = EnterVoluntary
	}
	switch {
	case p.Role != RoleAnchor && p.Role != RoleAudience:
		return nil, tcerr.InvalidParameterValue("Role", "it must be 20 (anchor) or 21 (audience)")
	case !terminalTypes[p.TerminalType]:
		return nil, tcerr.InvalidParameterValue("TerminalType", "it must be 1, 2, 3, 4 or 100")
	case !userTypes[p.UserType]:
		return nil, tcerr.InvalidParameterValue("UserType", "it must be 1 (WebRTC), 2 (Mini Program) or 3 (native SDK)")
	case p.Reason < 1 || p.Reason > 4:
		return nil, tcerr.InvalidParameterValue("Reason", "an entry reason is 1 to 4")
	case p.Role == RoleAudience && (p.Publish != Publish{}):
		return nil, tcerr.New(CodeNotAnchor, "An audience member cannot publish: enter as an anchor (Role 20).")
	case !videoSideOK(p.VideoWidth, maxVideoWidth) || !videoSideOK(p.VideoHeight, maxVideoHeight) || p.VideoFps < 0 || p.VideoFps > maxVideoFps:
		return nil, tcerr.InvalidParameterValue("Video", fmt.Sprintf("width is %d to %d, height %d to %d (0: %dx%d), fps 0 to %d (0: %d)",
			minVideoSide, maxVideoWidth, minVideoSide, maxVideoHeight, DefaultMainVideo.Width, DefaultMainVideo.Height, maxVideoFps, DefaultMainVideo.Fps))
	}
	// What is shown is what is published: the stored format is the one the recorder encodes.
	video := mainVideo(p.VideoWidth, p.VideoHeight, p.VideoFps)
	// The application's callback targets come from its cache: no application change
	// commits between this read and the transaction's end.
	s.appsMu.RLock()
	defer s.appsMu.RUnlock()
	app, err := s.App(ctx, p.SdkAppId)
	if err != nil {
		return nil, err
	}
	var m *Member
	// Entries come in bursts (a class joining): they share commits.
	err = s.group.write(ctx, func(tx *gorm.DB) error {
		room, presentId, presentRobot, err := openRoomFor(tx, s.writeStmts.openRoomFor, p.Identity)
		if err != nil {
			return err
		}
		need := usersig.PrivEnterRoom | publishBits(p.Publish)
		if room == nil {
			need |= usersig.PrivCreateRoom
		}
		if err := s.checkTickets(app, p.Identity, p.UserSig, p.PrivateMapKey, need); err != nil {
			return err
		}
		nowMs := s.now().UnixMilli()
		emit := newEmitterFor(tx, app, nowMs, s.writeStmts.insertCallbackEvent)
		if room == nil {
			room = &Room{SdkAppId: p.SdkAppId, RoomId: p.RoomId, RoomIdType: p.RoomIdType, CreatorUserId: p.UserId, CreatedAtMs: nowMs}
			if room.ID, err = insertID(tx, s.writeStmts.insertRoom, sqlInsertRoom, room.SdkAppId, room.RoomId, room.RoomIdType,
				room.CreatorUserId, room.CreatedAtMs, room.DestroyedAtMs); err != nil {
				return err
			}
			if err := emit.room(room, EventCreateRoom, roomEventInfo{UserId: p.UserId}); err != nil {
				return err
			}
		} else if presentId != 0 && presentRobot {
			// seed 302 LeaveCode 101: the same user id entering again takes the robot out.
			present, err := presentMember(tx, room, p.UserId)
			if err != nil {
				return err
			}
			if err := s.robotReplaced(tx, emit, room, present); err != nil {
				return err
			}
		} else if presentId != 0 {
			return tcerr.New(CodeUserExist, "The user %q is already in room %s.", p.UserId, p.RoomId)
		}
		m = &Member{RoomRef: room.ID, UserId: p.UserId, Role: p.Role, TerminalType: p.TerminalType, UserType: p.UserType,
			VideoWidth: video.Width, VideoHeight: video.Height, VideoFps: video.Fps, JoinedAtMs: nowMs, Source: p.Source}
		if m.ID, err = insertID(tx, s.writeStmts.insertMember, sqlInsertMember, m.RoomRef, m.UserId, m.Role, m.TerminalType,
			m.UserType, m.Robot, m.PubVideo, m.PubAudio, m.PubSubstream, m.VideoWidth, m.VideoHeight, m.VideoFps, m.Blocked,
			m.JoinedAtMs, m.LeftAtMs, m.LeaveReason, m.Source); err != nil {
			return err
		}
		if err := emit.room(room, EventEnterRoom, roomEventInfo{UserId: p.UserId, Role: p.Role,
			TerminalType: p.TerminalType, UserType: p.UserType, Reason: reason(p.Reason)}); err != nil {
			return err
		}
		return setPublish(tx, emit, room, m, p.Publish)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// setPublish changes what a member publishes, recording 201..206 for each change.
func setPublish(tx *gorm.DB, emit *emitter, room *Room, m *Member, to Publish) error {
	changes := []struct {
		cur         *bool
		want        bool
		start, stop int
		column      string
	}{
		{&m.PubVideo, to.Video, EventStartVideo, EventStopVideo, "pub_video"},
		{&m.PubAudio, to.Audio, EventStartAudio, EventStopAudio, "pub_audio"},
		{&m.PubSubstream, to.Substream, EventStartSubstream, EventStopSubstream, "pub_substream"},
	}
	for _, c := range changes {
		if *c.cur == c.want {
			continue
		}
		*c.cur = c.want
		if err := tx.Model(m).Update(c.column, c.want).Error; err != nil {
			return err
		}
		info := roomEventInfo{UserId: m.UserId}
		event := c.start
		if !c.want {
			event, info.Reason = c.stop, reason(0)
		}
		if err := emit.room(room, event, info); err != nil {
			return err
		}
		if err := recordMemberEvent(tx, m, event, emit.nowMs); err != nil {
			return err
		}
	}
	return nil
}

// videoSideOK: 0 (the default) or a side the synthetic source can encode.
func videoSideOK(side, max int) bool { return side == 0 || side >= minVideoSide && side <= max }

func openRoom(tx *gorm.DB, id Identity) (*Room, error) {
	var room Room
	err := tx.Where("sdk_app_id = ? AND room_id_type = ? AND room_id = ? AND destroyed_at_ms IS NULL",
		id.SdkAppId, id.RoomIdType, id.RoomId).Take(&room).Error
	if isNotFound(err) {
		return nil, nil
	}
	return &room, err
}

// openRoomFor is openRoom and, in the same statement, whether id's user is present in it
// (its member id, 0 if not, and whether that member is a robot): an entry's one read.
// st is sqlOpenRoomFor prepared on the writer (nil: prepare it now).
func openRoomFor(tx *gorm.DB, st *sql.Stmt, id Identity) (room *Room, presentId int64, presentRobot bool, err error) {
	rows, err := queryIn(tx, st, sqlOpenRoomFor, id.UserId, id.SdkAppId, id.RoomIdType, id.RoomId)
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	if rows.Next() {
		room = &Room{}
		err = rows.Scan(&room.ID, &room.SdkAppId, &room.RoomId, &room.RoomIdType, &room.CreatorUserId, &room.CreatedAtMs,
			&room.DestroyedAtMs, &presentId, &presentRobot)
	}
	return room, presentId, presentRobot, errors.Join(err, rows.Err())
}

func presentMember(tx *gorm.DB, room *Room, userId string) (*Member, error) {
	var m Member
	err := tx.Where("room_ref = ? AND user_id = ? AND left_at_ms IS NULL", room.ID, userId).Take(&m).Error
	if isNotFound(err) {
		return nil, nil
	}
	return &m, err
}

// inRoom loads the open room and the present member of an identity.
func inRoom(tx *gorm.DB, id Identity) (*Room, *Member, error) {
	room, err := openRoom(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if room == nil {
		return nil, nil, tcerr.RoomNotExist(id.SdkAppId, id.RoomId)
	}
	m, err := presentMember(tx, room, id.UserId)
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, tcerr.New(CodeUserNotExist, "The user %q is not in room %s.", id.UserId, id.RoomId)
	}
	return room, m, nil
}

// UpdateParams change a member: role and/or the tracks it publishes; nil keeps.
type UpdateParams struct {
	Identity
	Role          *int
	Publish       *PublishPatch
	PrivateMapKey string // a fresh key may come with the switch to anchor
	// Video, when set, is the main stream's picture from now on (an RTMP publisher's, as
	// its SPS says).
	Video *VideoFormat
}

// Update switches a member's role (105) and/or publishing (201..206). Becoming an anchor
// re-checks the PrivateMapKey, expiry included; an expired key removes the user (104).
func (s *Store) Update(ctx context.Context, p UpdateParams) (*Member, error) {
	if err := p.Identity.validate(); err != nil {
		return nil, err
	}
	if p.Role != nil && *p.Role != RoleAnchor && *p.Role != RoleAudience {
		return nil, tcerr.InvalidParameterValue("Role", "it must be 20 (anchor) or 21 (audience)")
	}
	app, err := s.App(ctx, p.SdkAppId)
	if err != nil {
		return nil, err
	}
	var m *Member
	var removed error
	err = s.write(ctx, func(tx *gorm.DB) error {
		room, member, err := inRoom(tx, p.Identity)
		if err != nil {
			return err
		}
		m = member
		emit, err := newEmitter(tx, p.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		role := m.Role
		if p.Role != nil {
			role = *p.Role
		}
		publish := currentPublish(m)
		if p.Publish != nil {
			publish = p.Publish.applyTo(publish)
		}
		if role == RoleAudience {
			if p.Publish != nil && p.Publish.startsAny() {
				return tcerr.New(CodeNotAnchor, "An audience member cannot publish: switch to Role 20 first.")
			}
			publish = Publish{} // an audience member stops publishing
		}
		if app.AdvancedPermissionControl && (role == RoleAnchor && m.Role != RoleAnchor || publishBits(publish)&^publishBits(currentPublish(m)) != 0) {
			need := publishBits(publish)
			if err := s.checkPrivateMapKey(app, p.Identity, p.PrivateMapKey, need); err != nil {
				if errors.Is(err, usersig.ErrExpired) {
					// seed: an expired key on the switch to anchor removes the user.
					removed = tcerr.New(CodeInvalidPrivateMapKey, "The PrivateMapKey of %q has expired: the user was removed from room %s.", p.UserId, p.RoomId)
					if err := s.exitMember(tx, emit, room, m, ExitRemoved); err != nil {
						return err
					}
					return closeIfEmpty(tx, emit, room)
				}
				return err
			}
		}
		if role != m.Role {
			m.Role = role
			if err := tx.Model(m).Update("role", role).Error; err != nil {
				return err
			}
			if err := emit.room(room, EventChangeRole, roomEventInfo{UserId: m.UserId, Role: role}); err != nil {
				return err
			}
		}
		if v := p.Video; v != nil {
			f := mainVideo(v.Width, v.Height, v.Fps)
			if err := tx.Model(m).Updates(map[string]any{"video_width": f.Width, "video_height": f.Height, "video_fps": f.Fps}).Error; err != nil {
				return err
			}
			m.VideoWidth, m.VideoHeight, m.VideoFps = f.Width, f.Height, f.Fps
		}
		return setPublish(tx, emit, room, m, publish)
	})
	if err == nil && removed != nil {
		return nil, removed
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func currentPublish(m *Member) Publish {
	return Publish{Video: m.PubVideo, Audio: m.PubAudio, Substream: m.PubSubstream}
}

// checkPrivateMapKey checks only the PrivateMapKey (the UserSig was checked on entry).
// An expired key gives an error wrapping usersig.ErrExpired.
func (s *Store) checkPrivateMapKey(app *App, id Identity, key string, need uint32) error {
	if key == "" {
		return tcerr.New(CodeInvalidPrivateMapKey, "Application %d has advanced permission control on: a PrivateMapKey is required to become an anchor.", app.SdkAppId)
	}
	pm, err := usersig.VerifyPrivateMapKey(key, app.SdkAppId, app.SdkSecretKey, id.UserId, s.now())
	if errors.Is(err, usersig.ErrExpired) {
		return err
	}
	if err != nil {
		return tcerr.New(CodeInvalidPrivateMapKey, "The PrivateMapKey of %q is rejected: %v.", id.UserId, err)
	}
	if !pm.MatchesRoom(id.RoomId, id.RoomIdType == RoomIdString) {
		return tcerr.New(CodePrivilegeDenied, "The PrivateMapKey of %q is for another room than %s.", id.UserId, id.RoomId)
	}
	if !pm.Allows(need) {
		return tcerr.New(CodePrivilegeDenied, "The PrivateMapKey of %q lacks privilege bits %d (it has %d).", id.UserId, need&^pm.Privileges, pm.Privileges)
	}
	return nil
}

// Leave takes a member out of its room (104 only, never 202/204) and closes the room
// (102) when it was the last one.
func (s *Store) Leave(ctx context.Context, id Identity, exitReason int) error {
	if err := id.validate(); err != nil {
		return err
	}
	if exitReason == 0 {
		exitReason = ExitVoluntary
	}
	if exitReason < 1 || exitReason > 5 {
		return tcerr.InvalidParameterValue("Reason", "an exit reason is 1 to 5")
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		room, m, err := inRoom(tx, id)
		if err != nil {
			return err
		}
		emit, err := newEmitter(tx, id.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		if err := s.exitMember(tx, emit, room, m, exitReason); err != nil {
			return err
		}
		return closeIfEmpty(tx, emit, room)
	})
}

// exitMember records a member's exit: 104 with its role and reason.
func (s *Store) exitMember(tx *gorm.DB, emit *emitter, room *Room, m *Member, exitReason int) error {
	res := tx.Model(m).Where("left_at_ms IS NULL").Updates(map[string]any{"left_at_ms": emit.nowMs, "leave_reason": exitReason})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("member %d already left", m.ID)
	}
	if err := endIngestOfMember(tx, emit, m); err != nil {
		return err
	}
	return emit.room(room, EventExitRoom, roomEventInfo{UserId: m.UserId, Role: m.Role, Reason: reason(exitReason)})
}

// closeIfEmpty closes a room with no member left (robots count as members): 102.
func closeIfEmpty(tx *gorm.DB, emit *emitter, room *Room) error {
	var present int64
	if err := tx.Model(&Member{}).Where("room_ref = ? AND left_at_ms IS NULL", room.ID).Count(&present).Error; err != nil {
		return err
	}
	if present > 0 {
		return nil
	}
	if err := tx.Model(room).Where("destroyed_at_ms IS NULL").Update("destroyed_at_ms", emit.nowMs).Error; err != nil {
		return err
	}
	return emit.room(room, EventDismissRoom, roomEventInfo{})
}

// OpenRooms lists the open rooms of an application with their present members.
func (s *Store) OpenRooms(ctx context.Context, sdkAppId uint64) ([]RoomView, error) {
	var rooms []Room
	if err := s.writer(ctx).Where("sdk_app_id = ? AND destroyed_at_ms IS NULL", sdkAppId).Order("created_at_ms, id").Find(&rooms).Error; err != nil {
		return nil, err
	}
	out := make([]RoomView, 0, len(rooms))
	for _, r := range rooms {
		var members []Member
		if err := s.writer(ctx).Where("room_ref = ? AND left_at_ms IS NULL", r.ID).Order("joined_at_ms, id").Find(&members).Error; err != nil {
			return nil, err
		}
		out = append(out, RoomView{Room: r, Members: members})
	}
	return out, nil
}

// PresentMember returns a user who is in the open room.
func (s *Store) PresentMember(ctx context.Context, id Identity) (*Member, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	_, m, err := inRoom(s.writer(ctx), id)
	return m, err
}
