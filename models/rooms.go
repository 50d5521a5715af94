package models

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Room id kinds. Integer and string room ids are separate namespaces: string room "1234"
// is not integer room 1234. The values follow CreateCloudRecording's RoomIdType.
const (
	RoomIdString = 0
	RoomIdInt    = 1
)

// Room is one lifetime of a room: from its first entry to its last exit or dismissal.
type Room struct {
	ID            int64 `gorm:"primaryKey"`
	SdkAppId      uint64
	RoomId        string
	RoomIdType    int
	CreatorUserId string
	CreatedAtMs   int64
	DestroyedAtMs *int64
}

// CommId identifies one lifetime of a room: SdkAppId_RoomId_CreateTime (seconds).
func (r *Room) CommId() string {
	b := make([]byte, 0, 32+len(r.RoomId))
	b = strconv.AppendUint(b, r.SdkAppId, 10)
	b = append(append(append(b, '_'), r.RoomId...), '_')
	return string(strconv.AppendInt(b, r.CreatedAtMs/1000, 10))
}

// stringRoomIdPattern: seed "Relaying to CDN / RTMP": a string room id has letters, digits
// and the listed symbols and is at most 64 characters.
var stringRoomIdPattern = regexp.MustCompile(`^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]{1,64}$`)

// ValidateRoomId checks a room id of the given kind and returns it in canonical form.
func ValidateRoomId(field, roomId string, idType int) (string, error) {
	switch idType {
	case RoomIdInt:
		n, err := strconv.ParseUint(roomId, 10, 64)
		if err != nil || n == 0 || n > 4294967294 {
			return "", tcerr.New(tcerr.CodeInvalidRoomId, "The %s %q is invalid: an integer room id must be 1 to 4294967294.", field, roomId)
		}
		return strconv.FormatUint(n, 10), nil
	case RoomIdString:
		if !stringRoomIdPattern.MatchString(roomId) {
			return "", tcerr.New(tcerr.CodeInvalidRoomId, "The %s %q is invalid: a string room id is 1 to 64 letters, digits, spaces or !#$%%&()+-:;<=.>?@[]^_{}|~,", field, roomId)
		}
		return roomId, nil
	}
	return "", tcerr.InvalidParameterValue("RoomIdType", "it must be 0 (string) or 1 (integer)")
}

// DismissRoom closes an open room of the caller's application: every member exits (104,
// reason 3, removed) and then the room closes (102).
func (s *Store) DismissRoom(ctx context.Context, uin string, sdkAppId uint64, roomId string, idType int) error {
	return s.removeMembers(ctx, uin, Identity{SdkAppId: sdkAppId, RoomId: roomId, RoomIdType: idType}, nil, true)
}

// RemoveUsers takes up to 10 users out of a room (104, reason 3); the room closes when
// nobody is left. Users not in the room are ignored.
func (s *Store) RemoveUsers(ctx context.Context, uin string, id Identity, userIds []string) error {
	if len(userIds) == 0 || len(userIds) > 10 {
		return tcerr.New("InvalidParameter.UserIds", "UserIds has %d entries: it must have 1 to 10.", len(userIds))
	}
	return s.removeMembers(ctx, uin, id, userIds, false)
}

func (s *Store) removeMembers(ctx context.Context, uin string, id Identity, userIds []string, everyone bool) error {
	db := s.writer(ctx)
	if err := checkAppOwner(db, uin, id.SdkAppId); err != nil {
		return err
	}
	var err error
	if id.RoomId, err = ValidateRoomId("RoomId", id.RoomId, id.RoomIdType); err != nil {
		return err
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		room, err := openRoom(tx, id)
		if err != nil {
			return err
		}
		if room == nil {
			return tcerr.RoomNotExist(id.SdkAppId, id.RoomId)
		}
		emit, err := newEmitter(tx, id.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		q := tx.Where("room_ref = ? AND left_at_ms IS NULL", room.ID)
		if !everyone {
			q = q.Where("user_id IN ?", userIds)
		}
		var members []Member
		if err := q.Order("joined_at_ms, id").Find(&members).Error; err != nil {
			return err
		}
		leaveCode := LeaveRobotRemoved
		if everyone {
			leaveCode = LeaveRoomDismiss
		}
		for i := range members {
			if err := stopTasksOfRobot(tx, emit, &members[i], leaveCode); err != nil {
				return err
			}
			if err := s.exitMember(tx, emit, room, &members[i], ExitRemoved); err != nil {
				return err
			}
		}
		return closeIfEmpty(tx, emit, room)
	})
}

// OpenRoom records a room lifetime without members and without callbacks: a fixture for
// tests of the room history. Rooms of the running emulator open through Enter.
func (s *Store) OpenRoom(ctx context.Context, sdkAppId uint64, roomId string, idType int, creator string) (*Room, error) {
	roomId, err := ValidateRoomId("RoomId", roomId, idType)
	if err != nil {
		return nil, err
	}
	room := &Room{SdkAppId: sdkAppId, RoomId: roomId, RoomIdType: idType, CreatorUserId: creator, CreatedAtMs: s.now().UnixMilli()}
	if err := s.writer(ctx).Create(room).Error; err != nil {
		return nil, err
	}
	return room, nil
}

// RoomQuery selects room lifetimes that overlap a time window (DescribeRoomInfo).
type RoomQuery struct {
	Uin        string
	SdkAppId   uint64
	StartTime  int64 // Unix seconds
	EndTime    int64
	RoomId     string // optional: only rooms with this id (either kind)
	PageNumber int
	PageSize   int
}

// DescribeRoomInfo limits (seed and API docs): the last 14 days, at most 24 h per query,
// pages of 1 to 100 rows.
const (
	roomQueryHistory = 14 * 24 * time.Hour
	roomQueryMaxSpan = 24 * time.Hour
	maxPageSize      = 100
)

// Rooms returns the total of matching room lifetimes and one page of them, oldest first.
// Its rooms hold what DescribeRoomInfo shows (not RoomIdType).
func (s *Store) Rooms(ctx context.Context, q RoomQuery) (int64, []Room, error) {
	if err := s.checkOwner(ctx, q.Uin, q.SdkAppId); err != nil {
		return 0, nil, err
	}
	now := s.now()
	switch {
	case q.StartTime <= 0:
		return 0, nil, tcerr.New(tcerr.CodeInvalidStartTs, "The StartTime %d is invalid.", q.StartTime)
	case q.EndTime < q.StartTime:
		return 0, nil, tcerr.New(tcerr.CodeInvalidEndTs, "The EndTime %d is before the StartTime %d.", q.EndTime, q.StartTime)
	case time.Unix(q.StartTime, 0).Before(now.Add(-roomQueryHistory)):
		return 0, nil, tcerr.New(tcerr.CodeStartTimeExpire, "The StartTime %d is more than 14 days ago.", q.StartTime)
	case time.Duration(q.EndTime-q.StartTime)*time.Second > roomQueryMaxSpan:
		return 0, nil, tcerr.New(tcerr.CodeQueryScaleOversize, "EndTime - StartTime is %d s, more than 24 hours.", q.EndTime-q.StartTime)
	case q.PageSize < 1 || q.PageSize > maxPageSize:
		return 0, nil, tcerr.New(tcerr.CodeInvalidPageSize, "The PageSize %d is invalid: it must be 1 to 100.", q.PageSize)
	case q.PageNumber < 0:
		return 0, nil, tcerr.New(tcerr.CodeInvalidPageNumber, "The PageNumber %d is invalid.", q.PageNumber)
	}
	args := roomsWindowArgs(q)
	st, err := s.readStmt(ctx, roomsPageSQL)
	if err != nil {
		return 0, nil, err
	}
	rows, err := st.QueryContext(statementContext(ctx), args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var total int64
	rooms := make([]Room, 0, q.PageSize)
	for rows.Next() {
		r := Room{SdkAppId: q.SdkAppId}
		if err := rows.Scan(&r.ID, &r.RoomId, &r.CreatorUserId, &r.CreatedAtMs, &r.DestroyedAtMs, &total); err != nil {
			return 0, nil, err
		}
		rooms = append(rooms, r)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	if len(rooms) == 0 && q.PageNumber > 0 { // past the last page: no row carried the total
		count, err := s.readStmt(ctx, roomsCountSQL)
		if err != nil {
			return 0, nil, err
		}
		if err := count.QueryRowContext(statementContext(ctx), args[:4]...).Scan(&total); err != nil {
			return 0, nil, err
		}
	}
	return total, rooms, nil
}

// The room lifetimes of an application that overlap a window are those still open that
// began before its end and those that ended in or after it: two ranges of rooms_by_end,
// so the rooms that ended before the window are never read, however many. The index is
// named, because left to itself the planner reads the open rooms by rooms_by_time, every
// room the application ever created before the window's end. It holds every column read
// (no row is looked up in the table) and orders the open rooms as the page does, so only
// the ended ones are sorted before the two are merged.
const (
	openRoomsInWindow = `FROM rooms INDEXED BY rooms_by_end
		WHERE sdk_app_id = ?1 AND destroyed_at_ms IS NULL AND created_at_ms <= ?3 AND (?4 = '' OR room_id = ?4)`
	endedRoomsInWindow = `FROM rooms INDEXED BY rooms_by_end
		WHERE sdk_app_id = ?1 AND destroyed_at_ms >= ?2 AND created_at_ms <= ?3 AND (?4 = '' OR room_id = ?4)`

	// Only what the answer shows: each value read costs the driver two or three cgo calls.
	roomColumns   = `id, room_id, creator_user_id, created_at_ms, destroyed_at_ms`
	roomsCountSQL = `SELECT (SELECT COUNT(*) ` + openRoomsInWindow + `) + (SELECT COUNT(*) ` + endedRoomsInWindow + `)`
	// Each row of the page carries the window's total (constant subqueries, run once per
	// arm), so a page costs one statement.
	roomsPageSQL = `SELECT ` + roomColumns + `, (` + roomsCountSQL + `) ` + openRoomsInWindow + `
		UNION ALL SELECT ` + roomColumns + `, (` + roomsCountSQL + `) ` + endedRoomsInWindow + `
		ORDER BY created_at_ms, id LIMIT ?5 OFFSET ?6`
)

func roomsWindowArgs(q RoomQuery) []any {
	// Numbered, not named: the driver looks each name up in SQLite on every call.
	return []any{q.SdkAppId, q.StartTime * 1000, q.EndTime*1000 + 999, q.RoomId, q.PageSize, q.PageNumber * q.PageSize}
}
