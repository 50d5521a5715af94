package models

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// The legacy MCU mix (StartMCUMixTranscode, StopMCUMixTranscode and their ByStrRoomId forms)
// runs on the relay machinery: a room's mix is a transcoding relay task (RelaySpec with
// Transcode true) whose robot is MCURobotId(room), a member of Source SourceMCU, entered
// without a UserSig. The legacy API names no task: the room is the key.
//
//   - One mix per room. A Start for a room whose mix runs replaces the task's spec (layout,
//     audio lists, destinations: URLs left out are disconnected, new ones connected, the
//     others left alone) and keeps its TaskId. When the encoding changes (audio sample
//     rate, channels, bitrate or codec; video on or off, canvas, fps, bitrate or GOP) the
//     running task is stopped and a new one started in the same transaction: a relay run
//     encodes with the parameters it started with.
//   - Start needs an open room (FailedOperation.RoomNotExist otherwise): the mix mixes the
//     room's streams, and ends with the room (the relay's MaxIdleTime, or the robot taken
//     out by DismissRoom).
//   - Stop stops the room's mix (its URLs are disconnected by the job, which then ends the
//     task). With no running mix it answers FailedOperation.MixSessionNotExist (the SDK's
//     declared code; a second Stop gets it too), or FailedOperation.RoomNotExist when the
//     room is not open either.

// SourceMCU is the Source of a legacy MCU robot's membership: it tells a room's MCU mix
// from a StartPublishCdnStream task whose robot happens to have the same id.
const SourceMCU = "mcu"

// CodeMixSessionNotExist answers a Stop for a room with no running MCU mix.
const CodeMixSessionNotExist = "FailedOperation.MixSessionNotExist"

// mcuRobotPrefix starts every MCU robot's user id.
const mcuRobotPrefix = "mcu_"

// MCURobotId is the user id of a room's MCU robot: "mcu_" and the room id, cut to 32 bytes
// (the user id limit; room ids are ASCII, so the cut splits no character). Two string rooms
// whose ids share their first 28 bytes share the id, which only needs to be unique in its
// room.
func MCURobotId(roomId string) string {
	id := mcuRobotPrefix + roomId
	if len(id) > 32 {
		id = id[:32]
	}
	return id
}

// StartMCU starts the legacy MCU mix of spec's room, or replaces the spec and destinations
// of the one that runs (see the comment above: a new encoding restarts it). spec.UserId is
// set to the room's MCU robot; spec.Transcode must be true. It returns the running task.
func (s *Store) StartMCU(ctx context.Context, uin string, spec *RelaySpec, cdns []RelayCdn) (*RelayTask, error) {
	if !spec.Transcode {
		return nil, tcerr.InternalError("an MCU mix is a transcoding relay")
	}
	id := Identity{SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType}
	var err error
	if id.RoomId, err = ValidateRoomId("RoomId", id.RoomId, id.RoomIdType); err != nil {
		return nil, err
	}
	id.UserId = MCURobotId(id.RoomId)
	if err := id.validate(); err != nil {
		return nil, err
	}
	spec.RoomId, spec.UserId = id.RoomId, id.UserId
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var task *RelayTask
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := checkAppOwner(tx, uin, spec.SdkAppId); err != nil {
			return err
		}
		room, err := openRoom(tx, id)
		if err != nil {
			return err
		}
		if room == nil {
			return tcerr.RoomNotExist(id.SdkAppId, id.RoomId)
		}
		nowMs := s.now().UnixMilli()
		running, err := runningMCU(tx, id, true)
		if err != nil {
			return err
		}
		if len(running) > 0 {
			t := &running[0]
			old, err := t.RelaySpec()
			if err != nil {
				return err
			}
			if sameEncoding(old, spec) {
				if err := replaceRelayURLs(tx, t.ID, cdns, nowMs); err != nil {
					return err
				}
				markChange(tx, ChangeRelay)
				task = t // Updates sets the new spec and version on t too
				return tx.Model(t).Updates(map[string]any{"spec": specJSON, "spec_version": t.SpecVersion + 1}).Error
			}
			if err := stopRelay(tx, t, "restarted by a StartMCUMixTranscode with another encoding"); err != nil {
				return err
			}
		}
		// The stopped task's robot, if still in, is replaced (104, then the new one's 103).
		task, err = s.createRobotRelayTask(tx, id, SourceMCU, "MCU mix", spec, specJSON, cdns, nowMs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// StopMCU stops the legacy MCU mix of a room: its job disconnects the URLs and ends it.
func (s *Store) StopMCU(ctx context.Context, uin string, sdkAppId uint64, roomId string, roomIdType int) error {
	id := Identity{SdkAppId: sdkAppId, RoomIdType: roomIdType}
	var err error
	if id.RoomId, err = ValidateRoomId("RoomId", roomId, roomIdType); err != nil {
		return err
	}
	id.UserId = MCURobotId(id.RoomId)
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := checkAppOwner(tx, uin, sdkAppId); err != nil {
			return err
		}
		running, err := runningMCU(tx, id, false)
		if err != nil {
			return err
		}
		if len(running) == 0 {
			room, err := openRoom(tx, id)
			if err != nil {
				return err
			}
			if room == nil {
				return tcerr.RoomNotExist(id.SdkAppId, id.RoomId)
			}
			return tcerr.New(CodeMixSessionNotExist, "Room %s of application %d has no MCU mix running.", id.RoomId, id.SdkAppId)
		}
		for i := range running {
			if err := stopRelay(tx, &running[i], "stopped by StopMCUMixTranscode"); err != nil {
				return err
			}
		}
		return nil
	})
}

// MCUTask is the running MCU mix of a room, nil when there is none.
func (s *Store) MCUTask(ctx context.Context, sdkAppId uint64, roomId string, roomIdType int) (*RelayTask, error) {
	roomId, err := ValidateRoomId("RoomId", roomId, roomIdType)
	if err != nil {
		return nil, err
	}
	id := Identity{SdkAppId: sdkAppId, RoomId: roomId, RoomIdType: roomIdType, UserId: MCURobotId(roomId)}
	running, err := runningMCU(s.reader(ctx), id, false)
	if err != nil || len(running) == 0 {
		return nil, err
	}
	return &running[0], nil
}

// runningMCU lists the running MCU tasks of id's room (its robot id), newest first: those
// whose robot is still in the room when present is set. There is one at most but while a
// task whose robot was taken out has not been stopped by its job yet.
func runningMCU(db *gorm.DB, id Identity, present bool) ([]RelayTask, error) {
	robots := db.Model(&Member{}).Select("id").Where("source = ?", SourceMCU)
	if present {
		robots = robots.Where("left_at_ms IS NULL")
	}
	var tasks []RelayTask
	err := db.Where("sdk_app_id = ? AND room_id_type = ? AND room_id = ? AND user_id = ? AND state = ? AND member_ref IN (?)",
		id.SdkAppId, id.RoomIdType, id.RoomId, id.UserId, RelayTaskRunning, robots).Order("id DESC").Find(&tasks).Error
	return tasks, err
}

// sameEncoding reports whether two specs encode alike: what a relay run cannot change.
func sameEncoding(a, b *RelaySpec) bool {
	if a.Audio.SampleRate != b.Audio.SampleRate || a.Audio.Channels != b.Audio.Channels ||
		a.Audio.BitRateKbps != b.Audio.BitRateKbps || a.Audio.Codec != b.Audio.Codec {
		return false
	}
	if a.Video == nil || b.Video == nil {
		return a.Video == nil && b.Video == nil
	}
	return a.Video.Width == b.Video.Width && a.Video.Height == b.Video.Height && a.Video.Fps == b.Video.Fps &&
		a.Video.BitRateKbps == b.Video.BitRateKbps && a.Video.Gop == b.Video.Gop
}
