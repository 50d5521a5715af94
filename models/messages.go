package models

import (
	"context"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Custom message limits (seed: "Sending and Receiving Messages", Use Limits): cmdID 1..10,
// at most 1000 bytes a message; per client at most 30 messages and 8 KB a second.
const (
	maxMessageBytes      = 1000
	maxMessagesPerSecond = 30
	maxBytesPerSecond    = 8 << 10
)

// RoomMessage is a custom message an anchor broadcast to its room.
type RoomMessage struct {
	ID       int64 `gorm:"primaryKey"`
	RoomRef  int64
	Sender   string
	CmdId    int
	Data     []byte
	Reliable bool
	Ordered  bool
	SentAtMs int64
}

// SendMessage broadcasts a custom message from an anchor to the other members.
func (s *Store) SendMessage(ctx context.Context, id Identity, cmdId int, data []byte, reliable, ordered bool) (*RoomMessage, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	switch {
	case cmdId < 1 || cmdId > 10:
		return nil, tcerr.InvalidParameterValue("CmdId", "it must be 1 to 10")
	case len(data) == 0 || len(data) > maxMessageBytes:
		return nil, tcerr.InvalidParameterValue("Data", "a message carries 1 to 1000 bytes")
	case reliable != ordered:
		return nil, tcerr.InvalidParameterValue("Reliable", "Reliable and Ordered must be equal")
	}
	var msg *RoomMessage
	err := s.write(ctx, func(tx *gorm.DB) error {
		room, m, err := inRoom(tx, id)
		if err != nil {
			return err
		}
		if m.Role != RoleAnchor {
			return tcerr.New(CodeNotAnchor, "Only anchors send custom messages; %q is in the audience.", id.UserId)
		}
		now := s.now().UnixMilli()
		var recent struct {
			Count int64
			Bytes int64
		}
		if err := tx.Model(&RoomMessage{}).Select("COUNT(*) AS count, COALESCE(SUM(LENGTH(data)), 0) AS bytes").
			Where("room_ref = ? AND sender = ? AND sent_at_ms > ?", room.ID, id.UserId, now-1000).Scan(&recent).Error; err != nil {
			return err
		}
		if recent.Count >= maxMessagesPerSecond || recent.Bytes+int64(len(data)) > maxBytesPerSecond {
			return tcerr.New(tcerr.CodeRequestLimitExceeded, "%q exceeds 30 custom messages or 8 KB a second.", id.UserId)
		}
		msg = &RoomMessage{RoomRef: room.ID, Sender: id.UserId, CmdId: cmdId, Data: data, Reliable: reliable, Ordered: ordered, SentAtMs: now}
		return tx.Create(msg).Error
	})
	return msg, err
}

// ReceivedMessages lists, in order, the custom messages a member received: those other
// members sent to its room since it entered.
func (s *Store) ReceivedMessages(ctx context.Context, id Identity) ([]RoomMessage, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	db := s.writer(ctx)
	_, m, err := inRoom(db, id)
	if err != nil {
		return nil, err
	}
	var msgs []RoomMessage
	err = db.Where("room_ref = ? AND sender <> ? AND sent_at_ms >= ?", m.RoomRef, id.UserId, m.JoinedAtMs).
		Order("id").Find(&msgs).Error
	return msgs, err
}
