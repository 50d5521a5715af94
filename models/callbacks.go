package models

import (
	"context"
	"encoding/json"
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

// Outbox states.
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
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
	State            string
	Attempts         int
	FirstAttemptAtMs *int64
	NextAttemptAtMs  int64
	FinishedAtMs     *int64
	AttemptLog       []CallbackAttempt `gorm:"foreignKey:EventId"`
}

// CallbackAttempt is one delivery attempt of an event.
type CallbackAttempt struct {
	ID         int64 `gorm:"primaryKey"`
	EventId    int64
	AtMs       int64
	DurationMs int64
	StatusCode int
	Error      string
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

// roomLane orders the events of one room (both id kinds are separate rooms).
func roomLane(r *Room) string {
	return fmt.Sprintf("room/%d/%d/%s", r.SdkAppId, r.RoomIdType, r.RoomId)
}

// emitter collects the callbacks one operation causes and writes them in its transaction.
type emitter struct {
	tx      *gorm.DB
	nowMs   int64
	targets map[int]AppCallback // by event group
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
	target, ok := e.targets[group]
	if !ok {
		return nil // no callback configured for this group: TRTC sends nothing
	}
	info.RoomId = roomIdJSON(r)
	info.EventTs, info.EventMsTs = e.nowMs/1000, e.nowMs
	body, err := json.Marshal(callbackBody{EventGroupId: group, EventType: eventType, CallbackTs: e.nowMs, EventInfo: info})
	if err != nil {
		return err
	}
	return e.tx.Create(&CallbackEvent{SdkAppId: r.SdkAppId, EventGroupId: group, EventType: eventType,
		Lane: roomLane(r), RoomId: r.RoomId, Url: target.Url, Key: target.Key, Body: body,
		EventMsTs: e.nowMs, CreatedAtMs: e.nowMs, State: CallbackPending, NextAttemptAtMs: e.nowMs}).Error
}

func reason(r int) *int { return &r }

// laneHeads selects, for each lane, its first pending event in order.
const laneHeads = `state = 'pending' AND id = (SELECT h.id FROM callback_events h
	WHERE h.lane = callback_events.lane AND h.state = 'pending' ORDER BY h.event_ms_ts, h.id LIMIT 1)`

// DueCallbacks returns the first pending event of each lane not in busy whose next
// attempt is due at now, at most limit, earliest first.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]CallbackEvent, error) {
	var heads []CallbackEvent
	err := s.db.WithContext(ctx).Where(laneHeads).Where("next_attempt_at_ms <= ?", now.UnixMilli()).
		Order("next_attempt_at_ms, id").Limit(limit + len(busy)).Find(&heads).Error
	if err != nil {
		return nil, err
	}
	out := heads[:0]
	for _, h := range heads {
		if !busy[h.Lane] && len(out) < limit {
			out = append(out, h)
		}
	}
	return out, nil
}

// NextCallbackDue is the earliest next attempt of any lane's first pending event.
func (s *Store) NextCallbackDue(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	err := s.db.WithContext(ctx).Model(&CallbackEvent{}).Where(laneHeads).Select("MIN(next_attempt_at_ms)").Scan(&next).Error
	if err != nil || next == nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(*next), true, nil
}

// CallbackOutcome is the result of one delivery attempt and the event's state after it.
type CallbackOutcome struct {
	EventId       int64
	At            time.Time
	Duration      time.Duration
	StatusCode    int
	Error         string
	State         string
	NextAttemptAt time.Time
}

// RecordCallbackAttempt stores an attempt and the event's new state in one transaction.
func (s *Store) RecordCallbackAttempt(ctx context.Context, o CallbackOutcome) error {
	switch o.State {
	case CallbackPending, CallbackDelivered, CallbackFailed:
	default:
		return fmt.Errorf("record callback %d: unknown state %q", o.EventId, o.State)
	}
	at := o.At.UnixMilli()
	updates := map[string]any{
		"attempts":            gorm.Expr("attempts + 1"),
		"first_attempt_at_ms": gorm.Expr("COALESCE(first_attempt_at_ms, ?)", at),
		"state":               o.State,
	}
	if o.State == CallbackPending {
		updates["next_attempt_at_ms"] = o.NextAttemptAt.UnixMilli()
	} else {
		updates["finished_at_ms"] = at + o.Duration.Milliseconds()
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&CallbackEvent{}).Where("id = ? AND state = 'pending'", o.EventId).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("record callback %d: no pending event", o.EventId)
		}
		return tx.Create(&CallbackAttempt{EventId: o.EventId, AtMs: at, DurationMs: o.Duration.Milliseconds(),
			StatusCode: o.StatusCode, Error: o.Error}).Error
	})
}

// CallbackQuery filters the delivery log; zero fields match everything.
type CallbackQuery struct {
	SdkAppId     uint64
	EventGroupId int
	EventType    int
	TaskId       string
	State        string
	Limit        int
}

// Callbacks lists outbox events with their attempts, newest first.
func (s *Store) Callbacks(ctx context.Context, q CallbackQuery) ([]CallbackEvent, error) {
	db := s.db.WithContext(ctx).Preload("AttemptLog", func(db *gorm.DB) *gorm.DB { return db.Order("id") })
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
	res := s.db.WithContext(ctx).Model(&CallbackEvent{}).Where("id = ?", id).Updates(map[string]any{
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
	err := s.db.WithContext(ctx).Preload("AttemptLog").Take(&ev, id).Error
	return &ev, err
}
