package models

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Stream ingest callbacks, group 7 (seed: "Push Online Media Stream Callback"), and their
// Status values.
const (
	EventIngestStart = 701
	EventIngestStop  = 702

	IngestStartOK     = 0
	IngestStartFailed = 1
	IngestStartAgain  = 2
)

// SourceIngest is the Source of an ingest task's virtual anchor: its media is what the
// task pulls.
const SourceIngest = "ingest"

// JobIngest is the kind of a stream ingest task's job; its Args are IngestJobArgs.
const JobIngest = "ingest"

// IngestJobAttempts is how many runs an ingest job gets (a run fails when the emulator
// itself fails, not when the source does: that is the task's own retry) before it fails.
const IngestJobAttempts = 20

// IngestJobArgs are an ingest job's arguments: the task it runs.
type IngestJobArgs struct {
	TaskRef int64
}

// IngestState is where an ingest task stands: starting until its source first opens,
// running while it plays into the room, ended (DescribeStreamIngest: NotExist).
type IngestState string

const (
	IngestStarting IngestState = "starting"
	IngestRunning  IngestState = "running"
	IngestEnded    IngestState = "ended"
)

// Status strings of DescribeStreamIngest and UpdateStreamIngest.
const (
	IngestInProgress = "InProgress"
	IngestNotExist   = "NotExist"
)

// CodeTaskNotExist answers StopStreamIngest for a task that is unknown or ended.
const CodeTaskNotExist = "FailedOperation.TaskNotExist"

// IngestSpec is a task's parameters as started (handlers validated them).
type IngestSpec struct {
	SdkAppId   uint64
	RoomId     string
	RoomIdType int
	UserId     string
	StreamUrl  string
	SeekSecond int64
	RepeatNum  int // -1: until stopped or MaxDuration
	// MaxDurationMinutes bounds a looping task (RepeatNum -1); 0: no bound.
	MaxDurationMinutes int
	Volume             int // percent, 0 … 200
	// Stored as given; what applies where is in README.
	Tempo          float64
	IdleTimeout    int
	EnableProgress bool
	AutoPush       bool
	VideoEncode    *IngestVideoEncode `json:",omitempty"`
	AudioEncode    *IngestAudioEncode `json:",omitempty"`
}

// IngestVideoEncode and IngestAudioEncode are the deprecated encode parameters, stored
// (the emulator passes H.264 through: it has no decoder to re-encode from).
type IngestVideoEncode struct{ Width, Height, Fps, BitRate, Gop int }
type IngestAudioEncode struct{ SampleRate, Channel, BitRate int }

// IngestTask is a row of ingest_tasks.
type IngestTask struct {
	ID          int64 `gorm:"primaryKey"`
	TaskId      string
	SdkAppId    uint64
	RoomId      string
	RoomIdType  int
	UserId      string
	Spec        []byte
	StreamUrl   string
	UrlVersion  int
	Volume      int
	Paused      bool
	State       IngestState
	MemberRef   *int64
	LoopsDone   int
	PositionMs  int64
	JobRef      *int64
	CreatedAtMs int64
	StartedAtMs *int64
	EndedAtMs   *int64
	EndReason   string
}

// IngestSpec decodes the task's parameters.
func (t *IngestTask) IngestSpec() (*IngestSpec, error) {
	var spec IngestSpec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, fmt.Errorf("ingest task %s: spec: %w", t.TaskId, err)
	}
	return &spec, nil
}

func (t *IngestTask) identity() Identity {
	return Identity{SdkAppId: t.SdkAppId, RoomId: t.RoomId, RoomIdType: t.RoomIdType, UserId: t.UserId}
}

// StartIngest creates a stream ingest task and its job. The anchor's tickets are checked
// now (it enters the room when the source opens: IngestStarted); a user of that id in the
// room is refused, and a task whose anchor has the id is interrupted (702), as a second
// robot with the same id interrupts the first.
func (s *Store) StartIngest(ctx context.Context, uin string, spec *IngestSpec, userSig, privateMapKey string) (*IngestTask, error) {
	id := Identity{SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType, UserId: spec.UserId}
	if err := id.validate(); err != nil {
		return nil, err
	}
	if err := checkAppOwner(s.writer(ctx), uin, spec.SdkAppId); err != nil {
		return nil, err
	}
	app, err := s.App(ctx, spec.SdkAppId)
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var task *IngestTask
	err = s.write(ctx, func(tx *gorm.DB) error {
		room, err := openRoom(tx, id)
		if err != nil {
			return err
		}
		need := usersig.PrivEnterRoom | usersig.PrivSendAudio | usersig.PrivSendVideo
		if room == nil {
			need |= usersig.PrivCreateRoom
		}
		if err := s.checkTickets(app, id, userSig, privateMapKey, need); err != nil {
			return err
		}
		nowMs := s.now().UnixMilli()
		emit, err := newEmitter(tx, spec.SdkAppId, nowMs)
		if err != nil {
			return err
		}
		var older []IngestTask
		if err := tx.Where("sdk_app_id = ? AND room_id_type = ? AND room_id = ? AND user_id = ? AND state != ?",
			id.SdkAppId, id.RoomIdType, id.RoomId, id.UserId, IngestEnded).Find(&older).Error; err != nil {
			return err
		}
		for i := range older {
			if err := s.endIngest(tx, emit, &older[i], "interrupted by a task with the same UserId", true); err != nil {
				return err
			}
		}
		if room != nil {
			present, err := presentMember(tx, room, id.UserId)
			switch {
			case err != nil:
				return err
			case present != nil && present.Robot:
				if err := s.robotReplaced(tx, emit, room, present); err != nil {
					return err
				}
			case present != nil:
				return tcerr.New("InvalidParameter.UserId", "The UserId %q is a user in room %s: the ingest anchor needs an id of its own.", id.UserId, id.RoomId)
			}
		}
		task = &IngestTask{TaskId: newTaskId(), SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType,
			UserId: spec.UserId, Spec: specJSON, StreamUrl: spec.StreamUrl, UrlVersion: 1, Volume: spec.Volume,
			State: IngestStarting, CreatedAtMs: nowMs}
		if err := tx.Create(task).Error; err != nil {
			return err
		}
		args, err := json.Marshal(IngestJobArgs{TaskRef: task.ID})
		if err != nil {
			return err
		}
		job, err := s.EnqueueJob(tx, NewJob{Kind: JobIngest, Args: args, MaxAttempts: IngestJobAttempts})
		if err != nil {
			return err
		}
		task.JobRef = &job.ID
		return tx.Model(task).Update("job_ref", job.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// IngestTracks are what an ingest task's source publishes.
type IngestTracks struct {
	Video *VideoFormat // nil: no video
	Audio bool
}

// IngestStarted records that the task's source is open and playing: the first time, its
// anchor enters the room (101 if the room opens, 103) and 701 Status 0 is written; after
// a restart (announce) 701 Status 0 again. What the anchor publishes follows tracks
// (201..204). It returns the task as it is now: one that ended meanwhile (stopped) is
// returned with State IngestEnded and nothing written.
func (s *Store) IngestStarted(ctx context.Context, taskRef int64, tracks IngestTracks, announce bool) (*IngestTask, error) {
	var t IngestTask
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", taskRef).Take(&t).Error; err != nil {
			return err
		}
		if t.State == IngestEnded {
			return nil
		}
		nowMs := s.now().UnixMilli()
		emit, err := newEmitter(tx, t.SdkAppId, nowMs)
		if err != nil {
			return err
		}
		id := t.identity()
		room, err := openRoom(tx, id)
		if err != nil {
			return err
		}
		var m *Member
		if room != nil && t.MemberRef != nil {
			var present Member
			err := tx.Where("id = ? AND left_at_ms IS NULL", *t.MemberRef).Take(&present).Error
			switch {
			case err == nil:
				m = &present
			case !isNotFound(err):
				return err
			}
		}
		if m == nil {
			if room == nil {
				room = &Room{SdkAppId: id.SdkAppId, RoomId: id.RoomId, RoomIdType: id.RoomIdType, CreatorUserId: id.UserId, CreatedAtMs: nowMs}
				if err := tx.Create(room).Error; err != nil {
					return err
				}
				if err := emit.room(room, EventCreateRoom, roomEventInfo{UserId: id.UserId}); err != nil {
					return err
				}
			} else if present, err := presentMember(tx, room, id.UserId); err != nil {
				return err
			} else if present != nil && present.Robot {
				if err := s.robotReplaced(tx, emit, room, present); err != nil {
					return err
				}
			} else if present != nil {
				// A user took the id while the source was opening: the task cannot enter.
				if err := emit.ingest(&t, EventIngestStart, IngestStartFailed); err != nil {
					return err
				}
				return s.endIngest(tx, emit, &t, fmt.Sprintf("the user %q entered room %s first", id.UserId, id.RoomId), false)
			}
			video := DefaultMainVideo
			if tracks.Video != nil {
				video = mainVideo(tracks.Video.Width, tracks.Video.Height, tracks.Video.Fps)
			}
			m = &Member{RoomRef: room.ID, UserId: id.UserId, Role: RoleAnchor, TerminalType: 100, UserType: 3,
				VideoWidth: video.Width, VideoHeight: video.Height, VideoFps: video.Fps, JoinedAtMs: nowMs, Source: SourceIngest}
			if err := tx.Create(m).Error; err != nil {
				return err
			}
			if err := emit.room(room, EventEnterRoom, roomEventInfo{UserId: m.UserId, Role: m.Role,
				TerminalType: m.TerminalType, UserType: m.UserType, Reason: reason(EnterVoluntary)}); err != nil {
				return err
			}
			announce = announce || t.State == IngestStarting
		} else if tracks.Video != nil {
			video := mainVideo(tracks.Video.Width, tracks.Video.Height, tracks.Video.Fps)
			if err := tx.Model(m).Updates(map[string]any{"video_width": video.Width, "video_height": video.Height, "video_fps": video.Fps}).Error; err != nil {
				return err
			}
			markChange(tx, ChangeRooms)
		}
		updates := map[string]any{"state": IngestRunning, "member_ref": m.ID}
		if t.StartedAtMs == nil {
			updates["started_at_ms"] = nowMs
			t.StartedAtMs = &nowMs
		}
		if err := tx.Model(&t).Updates(updates).Error; err != nil {
			return err
		}
		t.State, t.MemberRef = IngestRunning, &m.ID
		if announce {
			if err := emit.ingest(&t, EventIngestStart, IngestStartOK); err != nil {
				return err
			}
		}
		return setPublish(tx, emit, room, m, Publish{Video: tracks.Video != nil, Audio: tracks.Audio})
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// IngestRetry records that the task's source failed to open (or dropped): 701 Status 2
// while it is retried, Status 1 when final, which ends the task (its anchor, if it
// entered, leaves: 104). It reports whether the task has ended (final, or stopped
// meanwhile).
func (s *Store) IngestRetry(ctx context.Context, taskRef int64, final bool, why string) (ended bool, err error) {
	err = s.write(ctx, func(tx *gorm.DB) error {
		var t IngestTask
		if err := tx.Where("id = ?", taskRef).Take(&t).Error; err != nil {
			return err
		}
		if t.State == IngestEnded {
			ended = true
			return nil
		}
		emit, err := newEmitter(tx, t.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		status := IngestStartAgain
		if final {
			status = IngestStartFailed
		}
		if err := emit.ingest(&t, EventIngestStart, status); err != nil {
			return err
		}
		if !final {
			return nil
		}
		ended = true
		return s.endIngest(tx, emit, &t, "the source failed: "+why, false)
	})
	return ended, err
}

// IngestProgress saves how far the task has played, for a run that takes it over.
func (s *Store) IngestProgress(ctx context.Context, taskRef int64, loopsDone int, positionMs int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&IngestTask{}).Where("id = ? AND state != ?", taskRef, IngestEnded).
			Updates(map[string]any{"loops_done": loopsDone, "position_ms": positionMs}).Error
	})
}

// FinishIngest ends a task whose source played to its end (its RepeatNum done, or its
// MaxDuration reached): 702 Status 0, its anchor leaves (104), the room closes if empty.
func (s *Store) FinishIngest(ctx context.Context, taskRef int64, why string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var t IngestTask
		if err := tx.Where("id = ?", taskRef).Take(&t).Error; err != nil {
			return err
		}
		if t.State == IngestEnded {
			return nil
		}
		emit, err := newEmitter(tx, t.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		return s.endIngest(tx, emit, &t, why, true)
	})
}

// FailIngest ends a task the emulator could not run (its job panicked or ran out of
// attempts): 701 Status 1, its anchor leaves.
func (s *Store) FailIngest(ctx context.Context, taskRef int64, why string) error {
	_, err := s.IngestRetry(ctx, taskRef, true, why)
	return err
}

// StopIngest is StopStreamIngest: 702 Status 0, the anchor leaves.
func (s *Store) StopIngest(ctx context.Context, uin string, sdkAppId uint64, taskId string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		t, err := liveIngest(tx, uin, sdkAppId, taskId)
		if err != nil {
			return err
		}
		if t == nil {
			return tcerr.New(CodeTaskNotExist, "The stream ingest task %q does not exist in application %d, or has ended.", taskId, sdkAppId)
		}
		emit, err := newEmitter(tx, t.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		return s.endIngest(tx, emit, t, "StopStreamIngest", true)
	})
}

// DescribeIngest is DescribeStreamIngest's Status: InProgress or NotExist.
func (s *Store) DescribeIngest(ctx context.Context, uin string, sdkAppId uint64, taskId string) (string, error) {
	t, err := liveIngest(s.writer(ctx), uin, sdkAppId, taskId)
	if err != nil || t == nil {
		return IngestNotExist, err
	}
	return IngestInProgress, nil
}

// IngestChange is UpdateStreamIngest's change; nil fields keep.
type IngestChange struct {
	StreamUrl *string
	Volume    *int
	Paused    *bool
}

// UpdateIngest is UpdateStreamIngest: it applies change to a live task (a new StreamUrl
// is played from its start) and answers its Status.
func (s *Store) UpdateIngest(ctx context.Context, uin string, sdkAppId uint64, taskId string, change IngestChange) (string, error) {
	status := IngestNotExist
	err := s.write(ctx, func(tx *gorm.DB) error {
		t, err := liveIngest(tx, uin, sdkAppId, taskId)
		if err != nil || t == nil {
			return err
		}
		status = IngestInProgress
		updates := map[string]any{}
		if change.StreamUrl != nil && *change.StreamUrl != t.StreamUrl {
			updates["stream_url"], updates["url_version"] = *change.StreamUrl, t.UrlVersion+1
			updates["loops_done"], updates["position_ms"] = 0, 0
		}
		if change.Volume != nil {
			updates["volume"] = *change.Volume
		}
		if change.Paused != nil {
			updates["paused"] = *change.Paused
		}
		if len(updates) == 0 {
			return nil
		}
		markChange(tx, ChangeIngest)
		return tx.Model(t).Updates(updates).Error
	})
	return status, err
}

// liveIngest is the caller's task if it has not ended (nil if none).
func liveIngest(tx *gorm.DB, uin string, sdkAppId uint64, taskId string) (*IngestTask, error) {
	if err := checkAppOwner(tx, uin, sdkAppId); err != nil {
		return nil, err
	}
	var t IngestTask
	err := tx.Where("task_id = ? AND sdk_app_id = ? AND state != ?", taskId, sdkAppId, IngestEnded).Take(&t).Error
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// IngestByRef loads a task for its job.
func (s *Store) IngestByRef(ctx context.Context, taskRef int64) (*IngestTask, error) {
	var t IngestTask
	if err := s.writer(ctx).Where("id = ?", taskRef).Take(&t).Error; err != nil {
		return nil, err
	}
	return &t, nil
}

// IngestTasks lists an application's tasks that have not ended, oldest first.
func (s *Store) IngestTasks(ctx context.Context, sdkAppId uint64) ([]IngestTask, error) {
	var ts []IngestTask
	err := s.writer(ctx).Where("sdk_app_id = ? AND state != ?", sdkAppId, IngestEnded).Order("id").Find(&ts).Error
	return ts, err
}

// endIngest ends a task in tx: 702 Status 0 when stopped says so, and its anchor (if it
// entered) leaves, closing the room when it was the last member.
func (s *Store) endIngest(tx *gorm.DB, emit *emitter, t *IngestTask, why string, stopped bool) error {
	res := tx.Model(t).Where("state != ?", IngestEnded).Updates(map[string]any{
		"state": IngestEnded, "ended_at_ms": emit.nowMs, "end_reason": why})
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	markChange(tx, ChangeIngest)
	t.State, t.EndedAtMs, t.EndReason = IngestEnded, &emit.nowMs, why
	if stopped {
		if err := emit.ingest(t, EventIngestStop, 0); err != nil {
			return err
		}
	}
	return s.takeOut(tx, emit, t.MemberRef, ExitVoluntary)
}

// endIngestOfMember ends the tasks whose anchor m is, as m leaves in tx (RemoveUser,
// DismissRoom): 702 Status 0.
func endIngestOfMember(tx *gorm.DB, emit *emitter, m *Member) error {
	if m.Source != SourceIngest {
		return nil
	}
	var ts []IngestTask
	if err := tx.Where("member_ref = ? AND state != ?", m.ID, IngestEnded).Find(&ts).Error; err != nil {
		return err
	}
	for i := range ts {
		t := &ts[i]
		if err := tx.Model(t).Updates(map[string]any{"state": IngestEnded, "ended_at_ms": emit.nowMs,
			"end_reason": "the anchor was removed from the room"}).Error; err != nil {
			return err
		}
		markChange(tx, ChangeIngest)
		if err := emit.ingest(t, EventIngestStop, 0); err != nil {
			return err
		}
	}
	return nil
}

// ingestEventInfo is EventInfo of group 7, as the seed's example has it.
type ingestEventInfo struct {
	EventMsTs int64  `json:"EventMsTs"`
	TaskId    string `json:"TaskId"`
	Status    int    `json:"Status"`
}

type ingestCallbackBody struct {
	EventGroupId int             `json:"EventGroupId"`
	EventType    int             `json:"EventType"`
	CallbackMsTs int64           `json:"CallbackMsTs"`
	EventInfo    ingestEventInfo `json:"EventInfo"`
}

// ingest writes an event of group 7; with the strict order option a task's events share
// one lane, in order.
func (e *emitter) ingest(t *IngestTask, eventType, status int) error {
	target, ok := e.targets[EventGroupIngest]
	if !ok {
		return nil
	}
	markChange(e.tx, ChangeCallbacks)
	body, err := json.Marshal(ingestCallbackBody{EventGroupId: EventGroupIngest, EventType: eventType, CallbackMsTs: e.nowMs,
		EventInfo: ingestEventInfo{EventMsTs: e.nowMs, TaskId: t.TaskId, Status: status}})
	if err != nil {
		return err
	}
	return e.tx.Create(&CallbackEvent{SdkAppId: t.SdkAppId, EventGroupId: EventGroupIngest, EventType: eventType,
		Lane: laneOf(target, "ingest/"+t.TaskId), RoomId: t.RoomId, TaskId: t.TaskId, Url: target.Url, Key: target.Key, Body: body,
		EventMsTs: e.nowMs, CreatedAtMs: e.nowMs, State: CallbackPending, NextAttemptAtMs: e.nowMs}).Error
}
