package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Callback event types of groups 1 (room) and 2 (media), seed: "Event Callbacks".
const (
	EventCreateRoom     = 101
	EventDismissRoom    = 102
	EventEnterRoom      = 103
	EventExitRoom       = 104
	EventChangeRole     = 105
	EventStartVideo     = 201
	EventStopVideo      = 202
	EventStartAudio     = 203
	EventStopAudio      = 204
	EventStartSubstream = 205
	EventStopSubstream  = 206
)

// CallbackState is where an outbox event stands.
type CallbackState string

const (
	CallbackPending   CallbackState = "pending"
	CallbackDelivered CallbackState = "delivered"
	CallbackFailed    CallbackState = "failed"
)

// CallbackEvent is one row of the outbox: a callback to deliver and its delivery state.
type CallbackEvent struct {
	ID               int64 `gorm:"primaryKey"`
	SdkAppId         uint64
	EventGroupId     int
	EventType        int
	Lane             string
	RoomId           string
	TaskId           string
	Url              string
	Key              string
	Body             []byte
	EventMsTs        int64
	CreatedAtMs      int64
	State            CallbackState
	Attempts         int
	FirstAttemptAtMs *int64
	NextAttemptAtMs  int64
	FinishedAtMs     *int64
	AttemptLog       []CallbackAttempt `gorm:"foreignKey:EventId"`
}

// CallbackAttempt is one delivery attempt of an event: when it started (its CallbackTs),
// the exact body and Sign sent, the answer and how long it took.
type CallbackAttempt struct {
	ID         int64 `gorm:"primaryKey"`
	EventId    int64
	AtMs       int64
	DurationMs int64
	Body       []byte
	Sign       string
	StatusCode int
	Error      string
}

// TimestampField is the body field each attempt stamps with its send time: CallbackMsTs
// for stream ingest (group 7), CallbackTs for every other group.
func TimestampField(eventGroupId int) string {
	if eventGroupId == EventGroupIngest {
		return "CallbackMsTs"
	}
	return "CallbackTs"
}

// roomEventInfo is EventInfo of groups 1 and 2, fields in the seed's order; RoomId is a
// JSON number for integer rooms and a string for string rooms.
type roomEventInfo struct {
	RoomId       json.RawMessage `json:"RoomId"`
	EventTs      int64           `json:"EventTs"`
	EventMsTs    int64           `json:"EventMsTs"`
	UserId       string          `json:"UserId,omitempty"`
	Role         int             `json:"Role,omitempty"`
	TerminalType int             `json:"TerminalType,omitempty"`
	UserType     int             `json:"UserType,omitempty"`
	Reason       *int            `json:"Reason,omitempty"`
}

type callbackBody struct {
	EventGroupId int   `json:"EventGroupId"`
	EventType    int   `json:"EventType"`
	CallbackTs   int64 `json:"CallbackTs"`
	EventInfo    any   `json:"EventInfo"`
}

// roomIdJSON is the room id as the client used it: a number or a string.
func roomIdJSON(r *Room) json.RawMessage {
	if r.RoomIdType == RoomIdInt {
		return json.RawMessage(r.RoomId)
	}
	b, _ := json.Marshal(r.RoomId)
	return b
}

// roomLane orders the events of one room (both id kinds are separate rooms) for targets
// with the strict order option.
func roomLane(r *Room) string {
	return fmt.Sprintf("room/%d/%d/%s", r.SdkAppId, r.RoomIdType, r.RoomId)
}

// laneOf is the lane of an event to target: "" (delivered on its own, TRTC's way) unless the
// target asks for strict order, then lane.
func laneOf(target AppCallback, lane string) string {
	if target.CallbackOrder == CallbackOrderStrict {
		return lane
	}
	return ""
}

// emitter collects the callbacks one operation causes and writes them in its transaction.
type emitter struct {
	tx      *gorm.DB
	nowMs   int64
	targets map[int]AppCallback // by event group
	insert  *sql.Stmt           // sqlInsertCallbackEvent prepared on the writer, or nil
}

// newEmitterFor is newEmitter with the targets of app as read (from the cache) before the
// transaction, and insert the prepared sqlInsertCallbackEvent (nil: prepared each time).
// The caller holds Store.appsMu's read lock across the read and the transaction.
func newEmitterFor(tx *gorm.DB, app *App, nowMs int64, insert *sql.Stmt) *emitter {
	e := &emitter{tx: tx, nowMs: nowMs, targets: make(map[int]AppCallback, len(app.Callbacks)), insert: insert}
	for _, cb := range app.Callbacks {
		e.targets[cb.EventGroupId] = cb
	}
	return e
}

func newEmitter(tx *gorm.DB, sdkAppId uint64, nowMs int64) (*emitter, error) {
	var cbs []AppCallback
	if err := tx.Where("sdk_app_id = ?", sdkAppId).Find(&cbs).Error; err != nil {
		return nil, err
	}
	e := &emitter{tx: tx, nowMs: nowMs, targets: map[int]AppCallback{}}
	for _, cb := range cbs {
		e.targets[cb.EventGroupId] = cb
	}
	return e, nil
}

// room writes an event of group 1 or 2 about a room; info's RoomId and times are filled in.
func (e *emitter) room(r *Room, eventType int, info roomEventInfo) error {
	group := EventGroupRoom
	if eventType >= 200 {
		group = EventGroupMedia
	}
	markChange(e.tx, ChangeRooms)
	target, ok := e.targets[group]
	if !ok {
		return nil // no callback configured for this group: TRTC sends nothing
	}
	markChange(e.tx, ChangeCallbacks)
	info.RoomId = roomIdJSON(r)
	info.EventTs, info.EventMsTs = e.nowMs/1000, e.nowMs
	// The stored body is a template: each attempt replaces CallbackTs with its send time.
	body, err := json.Marshal(callbackBody{EventGroupId: group, EventType: eventType, CallbackTs: e.nowMs, EventInfo: info})
	if err != nil {
		return err
	}
	_, err = execIn(e.tx, e.insert, sqlInsertCallbackEvent, r.SdkAppId, group, eventType, laneOf(target, roomLane(r)),
		r.RoomId, "", target.Url, target.Key, body, e.nowMs, e.nowMs, CallbackPending, 0, nil, e.nowMs, nil)
	return err
}

func reason(r int) *int { return &r }

// dueOrder keeps strict lanes in order: an event with a lane qualifies only as its lane's
// first pending event (a lookup in callback_events_pending).
const dueOrder = `(lane = '' OR id = (SELECT h.id FROM callback_events h
	WHERE h.lane = callback_events.lane AND h.state = 'pending' ORDER BY h.event_ms_ts, h.id LIMIT 1))`

// DueCallbacks returns pending events due at now, earliest first, at most limit, without
// those in inFlight and without any event of a strict lane but its first pending one. It
// reads from the read pool, so it never waits for the writer: first the ids in due order
// but those in flight, from callback_events_next alone (a covering scan: skipping the
// events in flight, most of the earliest ones under load, reads no rows), then the rows of
// those ids, with the strict-lane check.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]CallbackEvent, error) {
	idsSt, err := s.readStmt(ctx, dueIdsSQL)
	if err != nil {
		return nil, err
	}
	rowsSt, err := s.readStmt(ctx, dueRowsSQL)
	if err != nil {
		return nil, err
	}
	// The events in flight go in as one JSON array: an "id NOT IN (...)" of varying length
	// would be a new statement each time, prepared again.
	skip := append(make([]byte, 0, 2+12*len(inFlight)), '[')
	for id := range inFlight {
		if len(skip) > 1 {
			skip = append(skip, ',')
		}
		skip = strconv.AppendInt(skip, id, 10)
	}
	skip = append(skip, ']')
	for scan := limit; ; scan *= 2 {
		candidates, scanned, err := dueCandidates(ctx, idsSt, now, string(skip), scan)
		if err != nil {
			return nil, err
		}
		due, err := dueRows(ctx, rowsSt, now, candidates, limit)
		// Fewer than limit because strict lanes held some back, with more due beyond the
		// scan: look further.
		if err != nil || len(due) == limit || scanned < scan {
			return due, err
		}
	}
}

// dueCandidates are the ids of the first scan due events not in skip, as a JSON array, and
// how many there were.
func dueCandidates(ctx context.Context, st *sql.Stmt, now time.Time, skip string, scan int) ([]byte, int, error) {
	rows, err := st.QueryContext(statementContext(ctx), now.UnixMilli(), skip, scan)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	ids, scanned := append(make([]byte, 0, 12*scan+2), '['), 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		if scanned++; scanned > 1 {
			ids = append(ids, ',')
		}
		ids = strconv.AppendInt(ids, id, 10)
	}
	return append(ids, ']'), scanned, rows.Err()
}

// dueRows reads the candidates that are still due, in due order, at most limit.
func dueRows(ctx context.Context, st *sql.Stmt, now time.Time, candidates []byte, limit int) ([]CallbackEvent, error) {
	return scanEvents(ctx, st, limit, string(candidates), now.UnixMilli(), limit)
}

// NewCallbacks returns the pending events with ids above after that were never attempted,
// in id order, at most limit, whatever their lane or due time. Ids grow in commit order
// (one writer), so a dispatcher that remembers the last id it saw finds each new event
// once, by a range of the primary key, without skipping the events it has in flight.
func (s *Store) NewCallbacks(ctx context.Context, after int64, limit int) ([]CallbackEvent, error) {
	st, err := s.readStmt(ctx, newCallbacksSQL)
	if err != nil {
		return nil, err
	}
	return scanEvents(ctx, st, limit, after, limit)
}

// LastCallbackID is the highest callback event id stored, 0 if none.
func (s *Store) LastCallbackID(ctx context.Context) (int64, error) {
	var id int64
	err := s.reader(ctx).Raw(`SELECT COALESCE(MAX(id), 0) FROM callback_events`).Scan(&id).Error
	return id, err
}

// scanEvents runs st, which selects eventColumns, with args.
func scanEvents(ctx context.Context, st *sql.Stmt, limit int, args ...any) ([]CallbackEvent, error) {
	rows, err := st.QueryContext(statementContext(ctx), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	due := make([]CallbackEvent, 0, limit)
	for rows.Next() {
		var ev CallbackEvent
		if err := rows.Scan(&ev.ID, &ev.SdkAppId, &ev.EventGroupId, &ev.EventType, &ev.Lane, &ev.RoomId, &ev.TaskId, &ev.Url,
			&ev.Key, &ev.Body, &ev.EventMsTs, &ev.CreatedAtMs, &ev.State, &ev.Attempts, &ev.FirstAttemptAtMs,
			&ev.NextAttemptAtMs, &ev.FinishedAtMs); err != nil {
			return nil, err
		}
		due = append(due, ev)
	}
	return due, rows.Err()
}

// DueCallbacks' statements, prepared once on the read pool and scanned without gorm (the
// dispatcher runs them after every entry's notification).
const (
	dueIdsSQL = `SELECT id FROM callback_events
	WHERE state = 'pending' AND next_attempt_at_ms <= ? AND id NOT IN (SELECT value FROM json_each(?))
	ORDER BY next_attempt_at_ms, id LIMIT ?`
	eventColumns = `id, sdk_app_id, event_group_id, event_type, lane, room_id, task_id, url, key, body,
		event_ms_ts, created_at_ms, state, attempts, first_attempt_at_ms, next_attempt_at_ms, finished_at_ms`
	dueRowsSQL = `SELECT ` + eventColumns + ` FROM callback_events
	WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending' AND next_attempt_at_ms <= ? AND ` + dueOrder + `
	ORDER BY next_attempt_at_ms, id LIMIT ?`
	newCallbacksSQL = `SELECT ` + eventColumns + ` FROM callback_events
	WHERE id > ? AND state = 'pending' AND attempts = 0 ORDER BY id LIMIT ?`
)

// NextCallbackDue is the earliest next attempt later than after of an event DueCallbacks
// could return.
func (s *Store) NextCallbackDue(ctx context.Context, after time.Time) (time.Time, bool, error) {
	st, err := s.readStmt(ctx, nextCallbackDueSQL)
	if err != nil {
		return time.Time{}, false, err
	}
	var next int64
	switch err := st.QueryRowContext(statementContext(ctx), after.UnixMilli()).Scan(&next); {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, err
	}
	return time.UnixMilli(next), true, nil
}

const nextCallbackDueSQL = `SELECT next_attempt_at_ms FROM callback_events
	WHERE state = 'pending' AND next_attempt_at_ms > ? AND ` + dueOrder + `
	ORDER BY next_attempt_at_ms, id LIMIT 1`

// CallbackOutcome is the result of one delivery attempt and the event's state after it.
type CallbackOutcome struct {
	EventId       int64
	At            time.Time
	Duration      time.Duration
	Body          []byte // the exact bytes sent
	Sign          string
	StatusCode    int
	Error         string
	State         CallbackState
	NextAttemptAt time.Time
}

// RecordCallbackAttempts stores a batch of attempts and their events' new states in one
// transaction, so that the dispatcher's writes queue once per batch behind the API's, not
// once per attempt. An outcome whose event is no longer pending is skipped.
func (s *Store) RecordCallbackAttempts(ctx context.Context, batch []CallbackOutcome) error {
	for _, o := range batch {
		switch o.State {
		case CallbackPending, CallbackDelivered, CallbackFailed:
		default:
			return fmt.Errorf("record callback %d: unknown state %q", o.EventId, o.State)
		}
	}
	w := &s.writeStmts
	return s.write(ctx, func(tx *gorm.DB) error {
		for _, o := range batch {
			at := o.At.UnixMilli()
			var res sql.Result
			var err error
			if o.State == CallbackPending {
				res, err = execIn(tx, w.attemptRetry, sqlAttemptRetry, at, o.State, o.NextAttemptAt.UnixMilli(), o.EventId)
			} else {
				res, err = execIn(tx, w.attemptFinal, sqlAttemptFinal, at, o.State, at+o.Duration.Milliseconds(), o.EventId)
			}
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				s.log.Warn("callback outcome of an event no longer pending: skipped", "event", o.EventId)
				continue
			}
			if _, err := execIn(tx, w.insertAttempt, sqlInsertAttempt, o.EventId, at, o.Duration.Milliseconds(), o.Body,
				o.Sign, o.StatusCode, o.Error); err != nil {
				return err
			}
		}
		return nil
	})
}

// CallbackQuery filters the delivery log; zero fields match everything.
type CallbackQuery struct {
	SdkAppId     uint64
	EventGroupId int
	EventType    int
	TaskId       string
	State        CallbackState
	Limit        int
}

// Callbacks lists outbox events with their attempts, newest first.
func (s *Store) Callbacks(ctx context.Context, q CallbackQuery) ([]CallbackEvent, error) {
	db := s.reader(ctx).Preload("AttemptLog", func(db *gorm.DB) *gorm.DB { return db.Order("id") })
	if q.SdkAppId != 0 {
		db = db.Where("sdk_app_id = ?", q.SdkAppId)
	}
	if q.EventGroupId != 0 {
		db = db.Where("event_group_id = ?", q.EventGroupId)
	}
	if q.EventType != 0 {
		db = db.Where("event_type = ?", q.EventType)
	}
	if q.TaskId != "" {
		db = db.Where("task_id = ?", q.TaskId)
	}
	if q.State != "" {
		db = db.Where("state = ?", q.State)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	var events []CallbackEvent
	err := db.Order("id DESC").Limit(q.Limit).Find(&events).Error
	return events, err
}

// RedeliverCallback schedules an event again now, with a fresh retry window; its earlier
// attempts stay in the log.
func (s *Store) RedeliverCallback(ctx context.Context, id int64) (*CallbackEvent, error) {
	res := s.writer(ctx).Model(&CallbackEvent{}).Where("id = ?", id).Updates(map[string]any{
		"state": CallbackPending, "attempts": 0, "first_attempt_at_ms": nil, "finished_at_ms": nil,
		"next_attempt_at_ms": s.now().UnixMilli(),
	})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The callback event %s does not exist.", strconv.FormatInt(id, 10))
	}
	var ev CallbackEvent
	err := s.writer(ctx).Preload("AttemptLog").Take(&ev, id).Error
	return &ev, err
}
