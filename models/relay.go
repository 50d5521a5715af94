package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Relay to CDN: callback 401 of group 4 (seed: "Relay to CDN Callback") and the states of
// a destination URL it reports.
const (
	EventRelayStatus = 401

	RelayIdle          = 0
	RelayConnecting    = 1
	RelayRunning       = 2
	RelayRecovering    = 3
	RelayFailure       = 4
	RelayDisconnecting = 5
)

// JobRelay is the kind of a relay task's job; its Args are RelayJobArgs.
const JobRelay = "relay"

// RelayJobAttempts is how many runs a relay job gets (a run fails when the emulator itself
// fails; a destination that does not answer is the state machine's business).
const RelayJobAttempts = 20

// MaxRelayDestinations bounds PublishCdnParams and FeedBackRoomParams, each.
const MaxRelayDestinations = 10

// RelayJobArgs are a relay job's arguments: the task it runs.
type RelayJobArgs struct {
	TaskRef int64
}

// RelayTaskState is where a relay task stands: running, stopping (its URLs are being
// disconnected), ended.
type RelayTaskState string

const (
	RelayTaskRunning  RelayTaskState = "running"
	RelayTaskStopping RelayTaskState = "stopping"
	RelayTaskEnded    RelayTaskState = "ended"
)

// SourceRelay is the Source of a relay robot's membership.
const SourceRelay = "relay"

// RelaySpec is a relay task's parameters (handlers validated them); Update changes them.
type RelaySpec struct {
	SdkAppId   uint64
	RoomId     string
	RoomIdType int    // the store's kinds, whatever the request's polarity
	UserId     string // the robot: AgentParams.UserId; the anchor who started a Client task
	// Client: started by an anchor's client (startPublishMediaStream), not by the server API:
	// no robot enters; the task ends when that anchor leaves the room.
	Client      bool `json:",omitempty"`
	MaxIdleTime int  // seconds
	Transcode   bool // WithTranscoding 1: the room mixed; 0: one stream as it is
	Audio       RelayAudio
	Video       *RelayVideo     `json:",omitempty"` // transcoding: nil relays audio only
	Single      *RelayStream    `json:",omitempty"` // no transcoding: the stream relayed; nil the first anchor's
	FeedBack    []RelayFeedBack `json:",omitempty"`
	Sei         *RelaySei       `json:",omitempty"`
}

// RelayAudio is McuAudioParams: the encoding (kbps) and the mix's allow and deny lists
// (empty allow list: everyone).
type RelayAudio struct {
	SampleRate, Channels, BitRateKbps, Codec int
	Subscribe, Unsubscribe                   []string `json:",omitempty"`
}

// RelayVideo is McuVideoParams: the encoding (kbps, Gop in seconds) and the layout, in the
// terms of mixed recording's (colours #RRGGBB, render modes as MixLayout's).
type RelayVideo struct {
	Width, Height, Fps, BitRateKbps, Gop int
	Layout                               MixLayout
	// Subscribe lists the users whose video is mixed (the legacy MixVideoUids); empty:
	// every anchor's.
	Subscribe []string `json:",omitempty"`
}

// RelayStream is SingleSubscribeParams: whose stream, camera or screen (Aux).
type RelayStream struct {
	UserId string
	Aux    bool
}

// RelayCdn is one McuPublishCdnParam.
type RelayCdn struct {
	Url          string
	IsTencentCdn int
}

// RelayFeedBack is one McuFeedBackRoomParams: a room the stream is pushed back into.
type RelayFeedBack struct {
	RoomId     string
	RoomIdType int // the store's kinds
	UserId     string
	UserSig    string
}

// RelaySei is McuSeiParams, as given (stored; see README for what is inserted).
type RelaySei struct {
	LayoutVolume *SeiLayoutVolume `json:",omitempty"`
	PassThrough  *SeiPassThrough  `json:",omitempty"`
}

type SeiLayoutVolume struct {
	AppData                 string
	PayloadType, IntervalMs int
	FollowIdr               bool
}

type SeiPassThrough struct {
	Content, Uuid           string
	PayloadType, IntervalMs int
	FollowIdr               bool
}

// RelayTask is a row of relay_tasks.
type RelayTask struct {
	ID             int64 `gorm:"primaryKey"`
	TaskId         string
	SdkAppId       uint64
	RoomId         string
	RoomIdType     int
	UserId         string
	Spec           []byte
	SpecVersion    int
	SequenceNumber uint64
	State          RelayTaskState
	MemberRef      *int64
	JobRef         *int64
	IdleSinceMs    *int64
	Takeovers      int
	CreatedAtMs    int64
	EndedAtMs      *int64
	EndReason      string
}

// RelaySpec decodes the task's parameters.
func (t *RelayTask) RelaySpec() (*RelaySpec, error) {
	var spec RelaySpec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, fmt.Errorf("relay task %s: spec: %w", t.TaskId, err)
	}
	return &spec, nil
}

// RelayURL is a row of relay_urls: a destination and where its 401 state machine stands.
type RelayURL struct {
	ID           int64 `gorm:"primaryKey"`
	TaskRef      int64
	Url          string
	IsTencentCdn int
	Status       int
	SpellSinceMs int64
	ReportedAtMs int64
	ErrorCode    int
	ErrorMsg     string
	Removed      bool
	Done         bool
	AddedAtMs    int64
}

func (RelayURL) TableName() string { return "relay_urls" }

// StartRelay creates a relay task, its destination rows and its job, and enters its robot
// in the room (a new room when none is open). The robot's UserSig, when given, must be
// valid; a user of that id in the room is refused, another task's robot is replaced.
func (s *Store) StartRelay(ctx context.Context, uin string, spec *RelaySpec, cdns []RelayCdn, userSig string) (*RelayTask, error) {
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
	if userSig != "" {
		if _, err := usersig.Verify(userSig, app.SdkAppId, app.SdkSecretKey, spec.UserId, s.now()); err != nil {
			return nil, tcerr.New(CodeInvalidUserSig, "The UserSig of the relay robot %q is rejected: %v.", spec.UserId, err)
		}
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var task *RelayTask
	err = s.write(ctx, func(tx *gorm.DB) (err error) {
		task, err = s.createRobotRelayTask(tx, id, SourceRelay, "relay", spec, specJSON, cdns, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// CodeRelayNotAnchor answers a client's relay start by a member who is not an anchor.
const CodeRelayNotAnchor = "FailedOperation.NotAnchor"

// StartClientRelay is an anchor's client starting a relay of its own (the client SDK's
// startPublishMediaStream): no robot; the anchor stands for it (its UserId is the 401s'),
// and the task ends when the anchor leaves the room. Without transcoding and
// SingleSubscribeParams it relays the anchor's own stream.
func (s *Store) StartClientRelay(ctx context.Context, id Identity, spec *RelaySpec, cdns []RelayCdn) (*RelayTask, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	spec.SdkAppId, spec.RoomId, spec.RoomIdType, spec.UserId, spec.Client = id.SdkAppId, id.RoomId, id.RoomIdType, id.UserId, true
	if !spec.Transcode && spec.Single == nil {
		spec.Single = &RelayStream{UserId: id.UserId}
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var task *RelayTask
	err = s.write(ctx, func(tx *gorm.DB) error {
		_, m, err := inRoom(tx, id)
		if err != nil {
			return err
		}
		if m.Robot || m.Role != RoleAnchor {
			return tcerr.New(CodeRelayNotAnchor, "The user %q is not an anchor of room %s: only an anchor's client starts a relay.", id.UserId, id.RoomId)
		}
		task, err = s.createRelayTask(tx, spec, specJSON, m, cdns, s.now().UnixMilli())
		return err
	})
	return task, err
}

// enterRobot enters a task's robot (Source source) in the room id names, opening the room
// when none is (101) and writing its entry (103). A user of that id in the room is
// refused; a robot of another task is replaced (its task ends).
func (s *Store) enterRobot(tx *gorm.DB, emit *emitter, id Identity, source, what string) (*Member, error) {
	room, err := openRoom(tx, id)
	if err != nil {
		return nil, err
	}
	if room == nil {
		room = &Room{SdkAppId: id.SdkAppId, RoomId: id.RoomId, RoomIdType: id.RoomIdType, CreatorUserId: id.UserId, CreatedAtMs: emit.nowMs}
		if err := tx.Create(room).Error; err != nil {
			return nil, err
		}
		if err := emit.room(room, EventCreateRoom, roomEventInfo{UserId: id.UserId}); err != nil {
			return nil, err
		}
	} else if present, err := presentMember(tx, room, id.UserId); err != nil {
		return nil, err
	} else if present != nil {
		if !present.Robot {
			return nil, tcerr.New("InvalidParameter.UserId", "The robot UserId %q is a user in room %s: the %s robot needs an id of its own.", id.UserId, id.RoomId, what)
		}
		if err := s.robotReplaced(tx, emit, room, present); err != nil {
			return nil, err
		}
	}
	robot := &Member{RoomRef: room.ID, UserId: id.UserId, Role: RoleAudience, TerminalType: 100, UserType: 3,
		Robot: true, Source: source, JoinedAtMs: emit.nowMs}
	if err := tx.Create(robot).Error; err != nil {
		return nil, err
	}
	return robot, emit.room(room, EventEnterRoom, roomEventInfo{UserId: robot.UserId, Role: robot.Role,
		TerminalType: robot.TerminalType, UserType: robot.UserType, Reason: reason(EnterVoluntary)})
}

// RelayChange is an UpdatePublishCdnStream: nil fields keep what the task has; a non-nil
// list replaces (an empty one resets).
type RelayChange struct {
	SequenceNumber uint64
	Transcode      bool
	Subscribe      *[]string
	Unsubscribe    *[]string
	Video          *RelayVideo
	Single         *RelayStream
	Cdns           *[]RelayCdn
	FeedBack       *[]RelayFeedBack
	Sei            *RelaySei
}

// CodeRelaySequence answers an Update whose SequenceNumber does not exceed the last one.
const CodeRelaySequence = "InvalidParameter.SequenceNumber"

// UpdateRelay applies an Update to a running task: SequenceNumber must exceed the last
// one; WithTranscoding cannot change (the seed: a single-stream relay cannot become a mix,
// nor a mix a single stream); URLs not in a new list are disconnected, new ones connected,
// the others left alone.
func (s *Store) UpdateRelay(ctx context.Context, uin string, sdkAppId uint64, taskId string, c RelayChange) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		t, err := liveRelay(tx, uin, sdkAppId, taskId)
		if err != nil {
			return err
		}
		if c.SequenceNumber <= t.SequenceNumber {
			return tcerr.New(CodeRelaySequence, "The SequenceNumber %d is not greater than the last one, %d.", c.SequenceNumber, t.SequenceNumber)
		}
		spec, err := t.RelaySpec()
		if err != nil {
			return err
		}
		if c.Transcode != spec.Transcode {
			return tcerr.New(tcerr.CodeInvalidParameter, "WithTranscoding cannot change during a relay (it is %d): a single-stream relay cannot be switched to a mix, nor a mix to a single stream.",
				map[bool]int{true: 1}[spec.Transcode])
		}
		if c.Subscribe != nil {
			spec.Audio.Subscribe = *c.Subscribe
		}
		if c.Unsubscribe != nil {
			spec.Audio.Unsubscribe = *c.Unsubscribe
		}
		if c.Video != nil {
			if spec.Video == nil {
				return tcerr.InvalidParameter("VideoParams", "the relay carries no video: it was started without VideoParams")
			}
			if err := c.Video.Layout.CheckCanvas(spec.Video.Width, spec.Video.Height); err != nil {
				return err
			}
			spec.Video.Layout = c.Video.Layout
		}
		if c.Single != nil {
			spec.Single = c.Single
		}
		if c.FeedBack != nil {
			spec.FeedBack = *c.FeedBack
		}
		if c.Sei != nil {
			spec.Sei = c.Sei
		}
		nowMs := s.now().UnixMilli()
		if c.Cdns != nil {
			if err := replaceRelayURLs(tx, t.ID, *c.Cdns, nowMs); err != nil {
				return err
			}
		}
		specJSON, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		markChange(tx, ChangeRelay)
		return tx.Model(t).Updates(map[string]any{"spec": specJSON, "spec_version": t.SpecVersion + 1,
			"sequence_number": c.SequenceNumber}).Error
	})
}

// StopRelay stops a running task: its URLs are disconnected (DISCONNECTING, IDLE) by its
// job, which then ends it. Stopping a stopping task again is no error.
func (s *Store) StopRelay(ctx context.Context, uin string, sdkAppId uint64, taskId string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		t, err := liveRelay(tx, uin, sdkAppId, taskId)
		if err != nil {
			return err
		}
		return stopRelay(tx, t, "stopped by StopPublishCdnStream")
	})
}

func stopRelay(tx *gorm.DB, t *RelayTask, why string) error {
	if t.State != RelayTaskRunning {
		return nil
	}
	markChange(tx, ChangeRelay)
	t.State, t.EndReason = RelayTaskStopping, why
	return tx.Model(t).Updates(map[string]any{"state": RelayTaskStopping, "end_reason": why}).Error
}

// liveRelay loads a task of the caller's application that has not ended.
func liveRelay(tx *gorm.DB, uin string, sdkAppId uint64, taskId string) (*RelayTask, error) {
	if err := checkAppOwner(tx, uin, sdkAppId); err != nil {
		return nil, err
	}
	var t RelayTask
	err := tx.Where("task_id = ? AND sdk_app_id = ?", taskId, sdkAppId).Take(&t).Error
	switch {
	case isNotFound(err) || (err == nil && t.State == RelayTaskEnded):
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The relay task %q of application %d does not exist or has ended.", taskId, sdkAppId)
	case err != nil:
		return nil, err
	}
	return &t, nil
}

// RelayView is what a relay pass needs: the task and its spec, its destinations not done,
// and the room's present members in entry order (none once the robot left).
type RelayView struct {
	Task    RelayTask
	Spec    *RelaySpec
	URLs    []RelayURL
	Members []Member
}

// RelayTick loads a task for a relay pass. It applies MaxIdleTime (no anchor in the room
// for that long: the task stops) and stops a task whose robot was taken out of the room
// (a client's task: whose anchor left).
func (s *Store) RelayTick(ctx context.Context, taskRef int64) (*RelayView, error) {
	v := &RelayView{}
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", taskRef).Take(&v.Task).Error; err != nil {
			return err
		}
		t := &v.Task
		var err error
		if v.Spec, err = t.RelaySpec(); err != nil {
			return err
		}
		if t.State == RelayTaskRunning && t.MemberRef != nil {
			err := tx.Where("room_ref = (SELECT room_ref FROM members WHERE id = ?) AND left_at_ms IS NULL", *t.MemberRef).
				Order("joined_at_ms, id").Find(&v.Members).Error
			if err != nil {
				return err
			}
			nowMs := s.now().UnixMilli()
			anchors := slices.ContainsFunc(v.Members, func(m Member) bool { return !m.Robot && m.Role == RoleAnchor })
			robotIn := slices.ContainsFunc(v.Members, func(m Member) bool { return m.ID == *t.MemberRef })
			switch {
			case !robotIn && v.Spec.Client:
				if err := stopRelay(tx, t, "the anchor who started it left the room"); err != nil {
					return err
				}
			case !robotIn:
				if err := stopRelay(tx, t, "the relay robot was taken out of the room"); err != nil {
					return err
				}
			case anchors && t.IdleSinceMs != nil:
				t.IdleSinceMs = nil
				if err := tx.Model(t).Update("idle_since_ms", nil).Error; err != nil {
					return err
				}
			case !anchors && t.IdleSinceMs == nil:
				t.IdleSinceMs = &nowMs
				if err := tx.Model(t).Update("idle_since_ms", nowMs).Error; err != nil {
					return err
				}
			case !anchors && nowMs-*t.IdleSinceMs >= int64(v.Spec.MaxIdleTime)*1000:
				if err := stopRelay(tx, t, fmt.Sprintf("no anchor in the room for MaxIdleTime (%d s)", v.Spec.MaxIdleTime)); err != nil {
					return err
				}
			}
		}
		return tx.Where("task_ref = ? AND done = 0", t.ID).Order("id").Find(&v.URLs).Error
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// RelayStatus moves a destination to status and writes its 401 (a repeated CONNECTING or
// RECOVERING keeps the spell's start). IDLE, its end (removed, stopped or failed), marks it
// done.
func (s *Store) RelayStatus(ctx context.Context, urlRef int64, status, errorCode int, errorMsg string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var u RelayURL
		if err := tx.Where("id = ?", urlRef).Take(&u).Error; err != nil {
			return err
		}
		var t RelayTask
		if err := tx.Where("id = ?", u.TaskRef).Take(&t).Error; err != nil {
			return err
		}
		nowMs := s.now().UnixMilli()
		emit, err := newEmitter(tx, t.SdkAppId, nowMs)
		if err != nil {
			return err
		}
		spell := u.SpellSinceMs
		if status != u.Status {
			spell = nowMs
		}
		done := status == RelayIdle // ended: removed, stopped, or failed (Update may add it again)
		if err := tx.Model(&u).Updates(map[string]any{"status": status, "spell_since_ms": spell, "reported_at_ms": nowMs,
			"error_code": errorCode, "error_msg": errorMsg, "done": done}).Error; err != nil {
			return err
		}
		return emit.relay(&t, u.Url, status, errorCode, errorMsg)
	})
}

// RelayTakeOver counts a takeover of a task whose runner died.
func (s *Store) RelayTakeOver(ctx context.Context, taskRef int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&RelayTask{}).Where("id = ?", taskRef).Update("takeovers", gorm.Expr("takeovers + 1")).Error
	})
}

// EndRelay ends a task: its robot leaves the room (104; the room closes when it was the
// last one; a client's task has none) and every destination is done.
func (s *Store) EndRelay(ctx context.Context, taskRef int64, why string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var t RelayTask
		if err := tx.Where("id = ?", taskRef).Take(&t).Error; err != nil {
			return err
		}
		if t.State == RelayTaskEnded {
			return nil
		}
		nowMs := s.now().UnixMilli()
		emit, err := newEmitter(tx, t.SdkAppId, nowMs)
		if err != nil {
			return err
		}
		if t.EndReason != "" {
			why = t.EndReason
		}
		markChange(tx, ChangeRelay)
		if err := tx.Model(&t).Updates(map[string]any{"state": RelayTaskEnded, "ended_at_ms": nowMs, "end_reason": why}).Error; err != nil {
			return err
		}
		if err := tx.Model(&RelayURL{}).Where("task_ref = ?", t.ID).Update("done", true).Error; err != nil {
			return err
		}
		if spec, err := t.RelaySpec(); err != nil || spec.Client {
			return err // a client's task has no robot: its anchor stays
		}
		return s.takeOut(tx, emit, t.MemberRef, ExitVoluntary)
	})
}

// RelayByRef loads a task by its row id.
func (s *Store) RelayByRef(ctx context.Context, taskRef int64) (*RelayTask, error) {
	var t RelayTask
	if err := s.reader(ctx).Where("id = ?", taskRef).Take(&t).Error; err != nil {
		return nil, err
	}
	return &t, nil
}

// RelaysOfApp lists an application's tasks that have not ended, with their destinations
// (the control API's view).
func (s *Store) RelaysOfApp(ctx context.Context, sdkAppId uint64) ([]RelayTask, map[int64][]RelayURL, error) {
	db := s.reader(ctx)
	var tasks []RelayTask
	if err := db.Where("sdk_app_id = ? AND state != ?", sdkAppId, RelayTaskEnded).Order("id").Find(&tasks).Error; err != nil {
		return nil, nil, err
	}
	urls := map[int64][]RelayURL{}
	for _, t := range tasks {
		var us []RelayURL
		if err := db.Where("task_ref = ? AND done = 0", t.ID).Order("id").Find(&us).Error; err != nil {
			return nil, nil, err
		}
		urls[t.ID] = us
	}
	return tasks, urls, nil
}

type relayPayload struct {
	Url       string `json:"Url"`
	Status    int    `json:"Status"`
	ErrorCode int    `json:"ErrorCode"`
	ErrorMsg  string `json:"ErrorMsg"`
}

type relayEventInfo struct {
	RoomId    json.RawMessage `json:"RoomId"`
	RoomType  int             `json:"RoomType"` // 0 numeric, 1 string (the relay's polarity)
	EventMsTs int64           `json:"EventMsTs"`
	UserId    string          `json:"UserId"`
	TaskId    string          `json:"TaskId"`
	Payload   relayPayload    `json:"Payload"`
}

// relay writes a 401 of group 4; with the strict order option a task's events share one
// lane, in order.
func (e *emitter) relay(t *RelayTask, url string, status, errorCode int, errorMsg string) error {
	target, ok := e.targets[EventGroupRelay]
	if !ok {
		return nil
	}
	markChange(e.tx, ChangeCallbacks)
	room := &Room{RoomId: t.RoomId, RoomIdType: t.RoomIdType}
	roomType := 0
	if t.RoomIdType == RoomIdString {
		roomType = 1
	}
	body, err := json.Marshal(callbackBody{EventGroupId: EventGroupRelay, EventType: EventRelayStatus, CallbackTs: e.nowMs,
		EventInfo: relayEventInfo{RoomId: roomIdJSON(room), RoomType: roomType, EventMsTs: e.nowMs, UserId: t.UserId, TaskId: t.TaskId,
			Payload: relayPayload{Url: url, Status: status, ErrorCode: errorCode, ErrorMsg: errorMsg}}})
	if err != nil {
		return err
	}
	return e.tx.Create(&CallbackEvent{SdkAppId: t.SdkAppId, EventGroupId: EventGroupRelay, EventType: EventRelayStatus,
		Lane: laneOf(target, "relay/"+t.TaskId), RoomId: t.RoomId, TaskId: t.TaskId, Url: target.Url, Key: target.Key, Body: body,
		EventMsTs: e.nowMs, CreatedAtMs: e.nowMs, State: CallbackPending, NextAttemptAtMs: e.nowMs}).Error
}

// createRobotRelayTask enters the task's robot (id, of source) and creates the task, in tx.
func (s *Store) createRobotRelayTask(tx *gorm.DB, id Identity, source, what string, spec *RelaySpec, specJSON []byte,
	cdns []RelayCdn, nowMs int64) (*RelayTask, error) {
	emit, err := newEmitter(tx, spec.SdkAppId, nowMs)
	if err != nil {
		return nil, err
	}
	robot, err := s.enterRobot(tx, emit, id, source, what)
	if err != nil {
		return nil, err
	}
	return s.createRelayTask(tx, spec, specJSON, robot, cdns, nowMs)
}

// createRelayTask creates a task for a member already in the room (its robot, or the
// anchor of a client-started relay): the task, its destination rows and its job, in tx.
func (s *Store) createRelayTask(tx *gorm.DB, spec *RelaySpec, specJSON []byte, robot *Member, cdns []RelayCdn, nowMs int64) (*RelayTask, error) {
	task := &RelayTask{TaskId: newTaskId(), SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType,
		UserId: spec.UserId, Spec: specJSON, SpecVersion: 1, State: RelayTaskRunning, MemberRef: &robot.ID, CreatedAtMs: nowMs}
	if err := tx.Create(task).Error; err != nil {
		return nil, err
	}
	for _, c := range cdns {
		if err := tx.Create(&RelayURL{TaskRef: task.ID, Url: c.Url, IsTencentCdn: c.IsTencentCdn, AddedAtMs: nowMs}).Error; err != nil {
			return nil, err
		}
	}
	args, err := json.Marshal(RelayJobArgs{TaskRef: task.ID})
	if err != nil {
		return nil, err
	}
	job, err := s.EnqueueJob(tx, NewJob{Kind: JobRelay, Args: args, MaxAttempts: RelayJobAttempts})
	if err != nil {
		return nil, err
	}
	task.JobRef = &job.ID
	markChange(tx, ChangeRelay)
	return task, tx.Model(task).Update("job_ref", job.ID).Error
}

// replaceRelayURLs makes a task's destinations cdns, as UpdateRelay does: a URL not in the
// list is disconnected (removed), a new one added, the others left alone.
func replaceRelayURLs(tx *gorm.DB, taskRef int64, cdns []RelayCdn, nowMs int64) error {
	var have []RelayURL
	if err := tx.Where("task_ref = ? AND removed = 0 AND done = 0", taskRef).Find(&have).Error; err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, n := range cdns {
		keep[n.Url] = true
	}
	for _, u := range have {
		if !keep[u.Url] {
			if err := tx.Model(&RelayURL{}).Where("id = ?", u.ID).Update("removed", true).Error; err != nil {
				return err
			}
		}
	}
	for _, n := range cdns {
		if slices.ContainsFunc(have, func(u RelayURL) bool { return u.Url == n.Url }) {
			continue
		}
		if err := tx.Create(&RelayURL{TaskRef: taskRef, Url: n.Url, IsTencentCdn: n.IsTencentCdn, AddedAtMs: nowMs}).Error; err != nil {
			return err
		}
	}
	return nil
}
