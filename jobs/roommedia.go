package jobs

import (
	"log/slog"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/virtual"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// RoomMedia is the virtual participants' media of the rooms that tasks read (recordings,
// relays), shared by those tasks: each room's synthetic streams follow its members while
// at least one task is in it, and end when the last one leaves.
type RoomMedia struct {
	media *virtual.Media
	log   *slog.Logger

	mu    sync.Mutex
	rooms map[string]int // tasks in each room
}

// NewRoomMedia shares media between the tasks of the recorder and the relayer.
func NewRoomMedia(media *virtual.Media, log *slog.Logger) *RoomMedia {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RoomMedia{media: media, log: log, rooms: map[string]int{}}
}

// Enter counts a task in room.
func (m *RoomMedia) Enter(room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms[room]++
}

// Leave uncounts a task; the last one out ends the room's synthetic streams at now.
func (m *RoomMedia) Leave(room string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[room]--; m.rooms[room] > 0 {
		return
	}
	delete(m.rooms, room)
	if err := m.media.Sync(room, nil, now); err != nil {
		m.log.Error("end a room's virtual media", "room", room, "err", err)
	}
}

// Sync makes room's synthetic streams those its present members publish, up to now.
func (m *RoomMedia) Sync(room string, members []models.Member, now time.Time) error {
	return m.media.Sync(room, publishers(members), now)
}

// Advance writes every synthetic stream's media up to now.
func (m *RoomMedia) Advance(now time.Time) error { return m.media.Advance(now) }
