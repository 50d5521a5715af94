package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Recording callbacks, group 3 (seed: "Cloud Recording Callback").
const (
	EventRecorderStart = 301
	EventRecorderStop  = 302
	EventUploadStart   = 303
	EventFileInfo      = 304
	EventUploadStop    = 305
	EventFailover      = 306
	EventFileSlice     = 307
	EventUploadError   = 308
	EventDownloadImage = 309
	EventMP4Stop       = 310
)

// 302 LeaveCodes.
const (
	LeaveAPIStop      = 0
	LeaveRobotRemoved = 1
	LeaveRoomDismiss  = 2
	LeaveServerRemove = 3 // the recorder gave up on the task (see FailRecording)
	LeaveNoAnchor     = 99
	LeaveRepeatEntry  = 101
)

// TaskState is where a recording task stands: recording until it stops, exiting while its
// files are finished and uploaded, then ended (DescribeCloudRecording answers
// ResourceNotFound).
type TaskState string

const (
	TaskRecording TaskState = "recording"
	TaskExiting   TaskState = "exiting"
	TaskEnded     TaskState = "ended"
)

// File states and kinds.
const (
	FileSpooled  = "spooled"
	FileUploaded = "uploaded"
	FileInternal = "internal" // kept in the spool for MP4 conversion, never uploaded (OutputFormat mp4)
	FileKept     = "kept"     // left in the spool of a task the recorder gave up on (FailRecording)
	// An MP4 (fragmented) or AAC file being written in the spool: after a crash it is recovered
	// up to its last complete fragment or frame when the task ends, or lost (305 Status 1).
	FileWriting = "writing"
	FileLost    = "lost"
)

// Recording limits (seed: "On-Cloud Recording"; api-protocol §4).
const (
	MaxOngoingRecordings = 100
	MaxRecordedUsers     = 25
)

// CodeRestrictedConcurrency is the answer above MaxOngoingRecordings.
const CodeRestrictedConcurrency = "FailedOperation.RestrictedConcurrency"

// RecordingTask is a row of recording_tasks.
type RecordingTask struct {
	ID               int64 `gorm:"primaryKey"`
	TaskId           string
	SdkAppId         uint64
	RoomId           string
	RoomIdType       int
	RobotUserId      string
	RobotMemberRef   *int64
	Spec             []byte
	SpecVersion      int
	State            TaskState
	LeaveCode        *int
	CreatedAtMs      int64
	ExpiresAtMs      int64
	StoppedAtMs      *int64
	EndedAtMs        *int64
	IdleSinceMs      *int64
	UploadStarted    bool
	FileInfoSent     bool
	UploadFailing    bool
	WriterDone       bool
	UploadStopStatus *int
	Failovers        int
	JobRef           *int64 // the job that runs it (jobs, kind JobRecording)
	Failure          string // why the recorder gave up on the task (FailRecording), "" if it did not
}

// RecordingSpec decodes the task's current parameters.
func (t *RecordingTask) RecordingSpec() (*RecordingSpec, error) {
	var spec RecordingSpec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, fmt.Errorf("task %s: spec: %w", t.TaskId, err)
	}
	return &spec, nil
}

// RecordingStream is a row of recording_streams.
type RecordingStream struct {
	ID         int64 `gorm:"primaryKey"`
	TaskRef    int64
	Generation int
	UserId     string
	MediaId    string
	TrackType  string
	Playlist   string
	BeginAtMs  int64
	Width      int
	Height     int
	Segments   []byte
}

// RecordingFile is a row of recording_files.
type RecordingFile struct {
	ID              int64 `gorm:"primaryKey"`
	TaskRef         int64
	StreamRef       *int64
	ObjectKey       string
	Kind            string
	Spool           string
	Bytes           int64
	Version         int
	State           string
	Attempts        int
	LastError       string
	NextAttemptAtMs int64
	CreatedAtMs     int64
	UploadedAtMs    *int64
	StartMs         *int64
	EndMs           *int64
	TrackType       string // MP4 and AAC files: audio, video or audio_video
	RefusedSinceMs  *int64 // since when the storage refuses the file for good (UploadRefused)
}

// Audio reports whether the subscription selects a user's audio: allowed (an empty allow
// list allows everyone) and not blocked.
func (s Subscription) Audio(userId string) bool { return selects(s.AudioAllow, s.AudioBlock, userId) }

// Video is Audio for video.
func (s Subscription) Video(userId string) bool { return selects(s.VideoAllow, s.VideoBlock, userId) }

func selects(allow, block []string, userId string) bool {
	match := func(list []string) bool {
		return slices.ContainsFunc(list, func(e string) bool { return MatchesSubscription(e, userId) })
	}
	return (len(allow) == 0 || match(allow)) && !match(block)
}

// AnchorSlots are a single-stream task's MaxRecordedUsers recording slots (seed: "sorted
// by the time they entered the room, and only the audio and video of the first 25 anchors
// will be recorded"). An anchor the task subscribes to takes a free slot in entry order and
// holds it while it is in the room as an anchor, publishing or not: the set does not
// reshuffle when an earlier-entered member becomes an anchor later; a 26th anchor gets a
// slot only when a holder leaves (or stops being an anchor or subscribed). The zero value
// has every slot free.
type AnchorSlots struct {
	holders []string // user ids, in the order they took their slots
}

// Assign updates the slots from the room's present members (in entry order) and returns
// the holders, in slot order.
func (s *AnchorSlots) Assign(spec *RecordingSpec, members []Member) []Member {
	byId := make(map[string]int, len(members))
	for i := range members {
		if _, dup := byId[members[i].UserId]; !dup && spec.eligible(&members[i]) {
			byId[members[i].UserId] = i // ids are unique among present members; else the first
		}
	}
	out := make([]Member, 0, min(len(byId), MaxRecordedUsers))
	held := make(map[string]bool, len(s.holders))
	kept := s.holders[:0]
	for _, id := range s.holders {
		if i, ok := byId[id]; ok && !held[id] {
			held[id] = true
			kept = append(kept, id)
			out = append(out, members[i])
		}
	}
	s.holders = kept
	for i := range members {
		m := &members[i]
		if len(out) == MaxRecordedUsers {
			break
		}
		if j, ok := byId[m.UserId]; ok && j == i && !held[m.UserId] {
			held[m.UserId] = true
			s.holders = append(s.holders, m.UserId)
			out = append(out, *m)
		}
	}
	return out
}

// eligible: an anchor other than a robot whose audio or video the task subscribes to.
func (spec *RecordingSpec) eligible(m *Member) bool {
	if m.Robot || m.Role != RoleAnchor {
		return false
	}
	return (spec.StreamType != 2 && spec.Subscribe.Audio(m.UserId)) || (spec.StreamType != 1 && spec.Subscribe.Video(m.UserId))
}

// RecordedStream is one stream a single-stream task records now: a member's main stream
// (its audio, its video or both) or its aux stream (video only).
type RecordedStream struct {
	Member       *Member
	Aux          bool
	Audio, Video bool
}

// RecordedStreams decides what a single-stream task records now, for the recorder and for
// DescribeCloudRecording alike: of the slot holders (slots is updated; members in entry
// order), what they publish that the task subscribes to (SubscribeStreamUserIds,
// StreamType), that is not blocked (SetUserBlocked), within MediaId. The streams come in
// slot order, a member's main stream before its aux stream.
func (spec *RecordingSpec) RecordedStreams(slots *AnchorSlots, members []Member) []RecordedStream {
	var out []RecordedStream
	holders := slots.Assign(spec, members)
	for i := range holders {
		m := &holders[i]
		audioOK := spec.StreamType != 2 && spec.Subscribe.Audio(m.UserId) && m.Blocked != 1 && m.Blocked != 2
		videoOK := spec.StreamType != 1 && spec.Subscribe.Video(m.UserId) && m.Blocked != 1 && m.Blocked != 3
		if spec.MediaId != 2 {
			if s := (RecordedStream{Member: m, Audio: audioOK && m.PubAudio, Video: videoOK && m.PubVideo}); s.Audio || s.Video {
				out = append(out, s)
			}
		}
		if spec.MediaId != 1 && videoOK && m.PubSubstream {
			out = append(out, RecordedStream{Member: m, Aux: true, Video: true})
		}
	}
	return out
}

// RecordedUsers returns the members a single-stream task records now, given fresh slots:
// those with a RecordedStreams stream.
func (spec *RecordingSpec) RecordedUsers(members []Member) []Member {
	var slots AnchorSlots
	var out []Member
	for _, s := range spec.RecordedStreams(&slots, members) {
		if len(out) == 0 || out[len(out)-1].UserId != s.Member.UserId {
			out = append(out, *s.Member)
		}
	}
	return out
}

func newTaskId() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateRecording starts a recording task: its robot enters the room (creating it when no
// one is in: 101, then 103) and 301 is written; the recorder picks the task up from the
// database. A robot id already used by another task's robot in the room interrupts that
// task (302 LeaveCode 101); a real user's id is refused.
func (s *Store) CreateRecording(ctx context.Context, uin string, spec *RecordingSpec, userSig, privateMapKey string) (*RecordingTask, error) {
	db := s.writer(ctx)
	if err := checkAppOwner(db, uin, spec.SdkAppId); err != nil {
		return nil, err
	}
	app, err := s.App(ctx, spec.SdkAppId)
	if err != nil {
		return nil, err
	}
	id := Identity{SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType, UserId: spec.RobotUserId}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var task *RecordingTask
	err = s.write(ctx, func(tx *gorm.DB) error {
		var ongoing int64
		if err := tx.Model(&RecordingTask{}).Where("sdk_app_id = ? AND state = ?", spec.SdkAppId, TaskRecording).Count(&ongoing).Error; err != nil {
			return err
		}
		if ongoing >= MaxOngoingRecordings {
			return tcerr.New(CodeRestrictedConcurrency, "Application %d already runs %d recording tasks, the most allowed.", spec.SdkAppId, ongoing)
		}
		room, err := openRoom(tx, id)
		if err != nil {
			return err
		}
		need := usersig.PrivEnterRoom
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
		} else if present != nil {
			if !present.Robot {
				return tcerr.New("InvalidParameter.UserId", "The robot UserId %q is a user in room %s: the recording robot needs an id of its own.", id.UserId, id.RoomId)
			}
			if err := s.robotReplaced(tx, emit, room, present); err != nil {
				return err
			}
		}
		robot := &Member{RoomRef: room.ID, UserId: id.UserId, Role: RoleAudience, TerminalType: 100, UserType: 3,
			Robot: true, JoinedAtMs: nowMs}
		if err := tx.Create(robot).Error; err != nil {
			return err
		}
		if err := emit.room(room, EventEnterRoom, roomEventInfo{UserId: robot.UserId, Role: robot.Role,
			TerminalType: robot.TerminalType, UserType: robot.UserType, Reason: reason(EnterVoluntary)}); err != nil {
			return err
		}
		task = &RecordingTask{TaskId: newTaskId(), SdkAppId: spec.SdkAppId, RoomId: spec.RoomId, RoomIdType: spec.RoomIdType,
			RobotUserId: spec.RobotUserId, RobotMemberRef: &robot.ID, Spec: specJSON, SpecVersion: 1, State: TaskRecording,
			CreatedAtMs: nowMs, ExpiresAtMs: nowMs + int64(spec.ResourceExpiredHour)*3600_000}
		if err := tx.Create(task).Error; err != nil {
			return err
		}
		args, err := json.Marshal(RecordingJobArgs{TaskRef: task.ID})
		if err != nil {
			return err
		}
		job, err := s.EnqueueJob(tx, NewJob{Kind: JobRecording, Args: args, MaxAttempts: RecordingJobAttempts})
		if err != nil {
			return err
		}
		task.JobRef = &job.ID
		if err := tx.Model(task).Update("job_ref", job.ID).Error; err != nil {
			return err
		}
		return emit.task(task, EventRecorderStart, map[string]int{"Status": 0})
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// robotReplaced ends the task whose robot is m (same id entering again: LeaveCode 101) and
// takes the old robot out of the room.
func (s *Store) robotReplaced(tx *gorm.DB, emit *emitter, room *Room, m *Member) error {
	if err := stopTasksOfRobot(tx, emit, m, LeaveRepeatEntry); err != nil {
		return err
	}
	return s.exitMember(tx, emit, room, m, ExitRemoved)
}

// stopTasksOfRobot stops the recording tasks run by robot member m, which leaves the room
// in the caller's transaction.
func stopTasksOfRobot(tx *gorm.DB, emit *emitter, m *Member, leaveCode int) error {
	if !m.Robot {
		return nil
	}
	var tasks []RecordingTask
	if err := tx.Where("robot_member_ref = ? AND state = ?", m.ID, TaskRecording).Find(&tasks).Error; err != nil {
		return err
	}
	for i := range tasks {
		if err := markStopped(tx, emit, &tasks[i], leaveCode); err != nil {
			return err
		}
	}
	return nil
}

// markStopped moves a recording task to exiting and writes 302.
func markStopped(tx *gorm.DB, emit *emitter, t *RecordingTask, leaveCode int) error {
	res := tx.Model(t).Where("state = ?", TaskRecording).Updates(map[string]any{
		"state": TaskExiting, "leave_code": leaveCode, "stopped_at_ms": emit.nowMs})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return nil
	}
	t.State, t.LeaveCode, t.StoppedAtMs = TaskExiting, &leaveCode, &emit.nowMs
	return emit.task(t, EventRecorderStop, map[string]int{"LeaveCode": leaveCode})
}

// stopRecording stops a task and takes its robot out of the room (closing the room when
// it was the last one).
func (s *Store) stopRecording(tx *gorm.DB, emit *emitter, t *RecordingTask, leaveCode, exitReason int) error {
	if err := markStopped(tx, emit, t, leaveCode); err != nil {
		return err
	}
	return s.takeOut(tx, emit, t.RobotMemberRef, exitReason)
}

// takeOut takes the member memberRef out of its room, if it is still in (104), and closes
// the room when it was the last one (102). A nil ref is no one.
func (s *Store) takeOut(tx *gorm.DB, emit *emitter, memberRef *int64, exitReason int) error {
	if memberRef == nil {
		return nil
	}
	var m Member
	if err := tx.Where("id = ? AND left_at_ms IS NULL", *memberRef).Take(&m).Error; err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	var room Room
	if err := tx.Where("id = ?", m.RoomRef).Take(&room).Error; err != nil {
		return err
	}
	if err := s.exitMember(tx, emit, &room, &m, exitReason); err != nil {
		return err
	}
	return closeIfEmpty(tx, emit, &room)
}

// liveTask loads a task the caller may query: it exists in the caller's application, has
// not ended and its TaskId has not expired (ResourceExpiredHour).
func (s *Store) liveTask(tx *gorm.DB, uin string, sdkAppId uint64, taskId string) (*RecordingTask, error) {
	if err := checkAppOwner(tx, uin, sdkAppId); err != nil {
		return nil, err
	}
	var t RecordingTask
	err := tx.Where("task_id = ? AND sdk_app_id = ?", taskId, sdkAppId).Take(&t).Error
	if isNotFound(err) {
		return s.checkLive(nil, sdkAppId, taskId, nil)
	}
	return s.checkLive(&t, sdkAppId, taskId, err)
}

// liveTaskOfApp is liveTask once the caller's ownership of the application is checked,
// read from the read pool with taskStatus's fields only.
func (s *Store) liveTaskOfApp(ctx context.Context, sdkAppId uint64, taskId string) (*RecordingTask, error) {
	t, err := s.taskStatus(ctx, sdkAppId, taskId)
	return s.checkLive(t, sdkAppId, taskId, err)
}

// checkLive is t if it is a task a caller may query (nil: none found).
func (s *Store) checkLive(t *RecordingTask, sdkAppId uint64, taskId string, err error) (*RecordingTask, error) {
	switch {
	case err != nil:
		return nil, err
	case t == nil:
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The recording task %q does not exist in application %d.", taskId, sdkAppId)
	case t.State == TaskEnded:
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The recording task %q has ended.", taskId)
	case s.now().UnixMilli() >= t.ExpiresAtMs:
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The recording task %q is past its ResourceExpiredHour.", taskId)
	}
	return t, nil
}

// RecordingStatus is DescribeCloudRecording's answer.
type RecordingStatus struct {
	TaskId  string
	Status  string            // Idle, InProgress, Exited
	Streams []RecordingStream // without their Segments
}

// DescribeRecording reports a live task: Exited once stopped, InProgress while a
// subscribed anchor publishes, Idle otherwise, with the playlists written so far.
func (s *Store) DescribeRecording(ctx context.Context, uin string, sdkAppId uint64, taskId string) (*RecordingStatus, error) {
	if err := s.checkOwner(ctx, uin, sdkAppId); err != nil {
		return nil, err
	}
	// Reads outside a transaction, on the read pool: they never wait for the writer.
	t, err := s.liveTaskOfApp(ctx, sdkAppId, taskId)
	if err != nil {
		return nil, err
	}
	st := &RecordingStatus{TaskId: t.TaskId, Status: "Exited"}
	if t.State == TaskRecording {
		st.Status = "Idle"
		spec, err := t.RecordingSpec()
		if err != nil {
			return nil, err
		}
		var members []Member
		if t.RobotMemberRef != nil {
			if members, err = s.robotRoomPresence(ctx, *t.RobotMemberRef); err != nil {
				return nil, err
			}
		}
		if len(spec.RecordedUsers(members)) > 0 {
			st.Status = "InProgress"
		}
	}
	// Without segments: a long recording's list is large, and the answer names only files.
	st.Streams, err = s.taskPlaylists(ctx, t.ID)
	return st, err
}

// RecordingChange is ModifyCloudRecording's change, validated: the new subscription lists
// (empty: everyone), and whether a mixed layout was given.
type RecordingChange struct {
	Subscribe Subscription
	MixLayout *MixLayout // nil: the layout stays
}

// ModifyRecording replaces the task's subscription lists; the recorder applies them from
// its next pass. A layout is refused for a single-stream task.
func (s *Store) ModifyRecording(ctx context.Context, uin string, sdkAppId uint64, taskId string, change RecordingChange) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		t, err := s.liveTask(tx, uin, sdkAppId, taskId)
		if err != nil {
			return err
		}
		if t.State != TaskRecording {
			return tcerr.New("FailedOperation", "The recording task %q is exiting.", taskId)
		}
		spec, err := t.RecordingSpec()
		if err != nil {
			return err
		}
		if change.MixLayout != nil && (spec.RecordMode != 2 || spec.Mix == nil) {
			return tcerr.InvalidParameter("MixLayoutParams", "mixing parameters apply to RecordMode 2 (mixed) only")
		}
		if l := change.MixLayout; l != nil {
			if err := l.CheckCanvas(spec.Mix.Width, spec.Mix.Height); err != nil {
				return err
			}
			spec.Mix.Layout = *l
		}
		spec.Subscribe = change.Subscribe
		markChange(tx, ChangeRecordings)
		b, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		return tx.Model(t).Updates(map[string]any{"spec": b, "spec_version": gorm.Expr("spec_version + 1")}).Error
	})
}

// StopRecording is DeleteCloudRecording: the robot leaves, 302 LeaveCode 0; the files are
// finished and uploaded after.
func (s *Store) StopRecording(ctx context.Context, uin string, sdkAppId uint64, taskId string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		t, err := s.liveTask(tx, uin, sdkAppId, taskId)
		if err != nil {
			return err
		}
		if t.State != TaskRecording {
			return nil // already stopping: Delete is idempotent
		}
		emit, err := newEmitter(tx, sdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		return s.stopRecording(tx, emit, t, LeaveAPIStop, ExitVoluntary)
	})
}

// TakeOver records a failover of a task whose recorder died: the failover count rises
// (later files are named ha<n>_) and 306 Status 0 is written.
func (s *Store) TakeOver(ctx context.Context, taskRef int64) (int, error) {
	var n int
	err := s.taskChange(ctx, taskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		n = t.Failovers + 1
		if err := tx.Model(t).Update("failovers", n).Error; err != nil {
			return err
		}
		return emit.task(t, EventFailover, map[string]int{"Status": 0})
	})
	return n, err
}

// RecordingView is what a recorder pass needs: the task, its room's present members in
// entry order (none once the robot left) and its streams.
type RecordingView struct {
	Task    RecordingTask
	Spec    *RecordingSpec
	Members []Member
	Streams []RecordingStream
}

// RecordingTick loads a task for a recorder pass and applies MaxIdleTime: with no anchor
// in the room for that long the task stops (302 LeaveCode 99). Not being an anchor any
// more or not publishing counts as absent.
func (s *Store) RecordingTick(ctx context.Context, taskRef int64) (*RecordingView, error) {
	v := &RecordingView{}
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", taskRef).Take(&v.Task).Error; err != nil {
			return err
		}
		t := &v.Task
		var err error
		if v.Spec, err = t.RecordingSpec(); err != nil {
			return err
		}
		if t.State == TaskRecording && t.RobotMemberRef != nil {
			err := tx.Where("room_ref = (SELECT room_ref FROM members WHERE id = ?) AND left_at_ms IS NULL", *t.RobotMemberRef).
				Order("joined_at_ms, id").Find(&v.Members).Error
			if err != nil {
				return err
			}
			anchors := slices.ContainsFunc(v.Members, func(m Member) bool { return !m.Robot && m.Role == RoleAnchor })
			nowMs := s.now().UnixMilli()
			switch {
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
				emit, err := newEmitter(tx, t.SdkAppId, nowMs)
				if err != nil {
					return err
				}
				if err := s.stopRecording(tx, emit, t, LeaveNoAnchor, ExitVoluntary); err != nil {
					return err
				}
				v.Members = nil
			}
		}
		return tx.Where("task_ref = ?", t.ID).Order("id").Find(&v.Streams).Error
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// StartUpload records that the task's uploader runs: 303 Status 0, once.
func (s *Store) StartUpload(ctx context.Context, taskRef int64) error {
	return s.taskChange(ctx, taskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		if t.UploadStarted {
			return nil
		}
		if err := tx.Model(t).Update("upload_started", true).Error; err != nil {
			return err
		}
		return emit.task(t, EventUploadStart, map[string]int{"Status": 0})
	})
}

func (s *Store) taskChange(ctx context.Context, taskRef int64, fn func(tx *gorm.DB, emit *emitter, t *RecordingTask) error) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var t RecordingTask
		if err := tx.Where("id = ?", taskRef).Take(&t).Error; err != nil {
			return err
		}
		emit, err := newEmitter(tx, t.SdkAppId, s.now().UnixMilli())
		if err != nil {
			return err
		}
		return fn(tx, emit, &t)
	})
}

// ImageFailed writes 309 for an image of a mixed layout (background, placeholder,
// watermark) that could not be fetched or decoded: the mix goes on without it.
func (s *Store) ImageFailed(ctx context.Context, taskRef int64, url string) error {
	return s.taskChange(ctx, taskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		return emit.task(t, EventDownloadImage, map[string]string{"Url": url})
	})
}

// OpenStream returns the stream row of a task's recorded track, creating it (with the
// playlist's object key and the time of its first unit) on first use.
func (s *Store) OpenStream(ctx context.Context, st RecordingStream) (*RecordingStream, error) {
	if st.Segments == nil {
		st.Segments = []byte("[]")
	}
	db := s.writer(ctx)
	err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&st).Error
	if err != nil {
		return nil, err
	}
	var out RecordingStream
	err = db.Where("task_ref = ? AND generation = ? AND user_id = ? AND media_id = ? AND track_type = ?",
		st.TaskRef, st.Generation, st.UserId, st.MediaId, st.TrackType).Take(&out).Error
	return &out, err
}

// SpooledFile is a file the recorder finished writing into the spool.
type SpooledFile struct {
	TaskRef   int64
	StreamRef *int64
	ObjectKey string
	Kind      string
	Spool     string
	Bytes     int64
	Internal  bool   // not to be uploaded (kept for MP4 conversion)
	Writing   bool   // an MP4 or AAC file just opened (FileWriting)
	Segments  []byte // a playlist: the stream's segments it lists (JSON)
	StartMs   *int64 // an MP4: the media it covers
	EndMs     *int64
	TrackType string // an MP4: the tracks it holds
}

// SpoolFile records a spooled file (again, for a rewritten playlist) as due for upload.
// A playlist listing its stream's first segment writes 307.
func (s *Store) SpoolFile(ctx context.Context, f SpooledFile) error {
	return s.taskChange(ctx, f.TaskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		state := FileSpooled
		switch {
		case t.Failure != "":
			state = FileKept // the task failed while this file was written: it stays in the spool
		case f.Writing:
			state = FileWriting
		case f.Internal:
			state = FileInternal
		}
		row := RecordingFile{TaskRef: f.TaskRef, StreamRef: f.StreamRef, ObjectKey: f.ObjectKey, Kind: f.Kind, Spool: f.Spool,
			Bytes: f.Bytes, Version: 1, State: state, NextAttemptAtMs: emit.nowMs, CreatedAtMs: emit.nowMs, StartMs: f.StartMs, EndMs: f.EndMs,
			TrackType: f.TrackType}
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "task_ref"}, {Name: "object_key"}},
			DoUpdates: clause.Assignments(map[string]any{"spool": f.Spool, "bytes": f.Bytes, "state": state,
				"version": gorm.Expr("recording_files.version + 1"), "next_attempt_at_ms": emit.nowMs,
				"start_ms": f.StartMs, "end_ms": f.EndMs, "track_type": f.TrackType}),
		}).Create(&row).Error
		if err != nil || f.Segments == nil || f.StreamRef == nil {
			return err
		}
		var st RecordingStream
		if err := tx.Where("id = ?", *f.StreamRef).Take(&st).Error; err != nil {
			return err
		}
		first := string(st.Segments) == "[]" && string(f.Segments) != "[]"
		if err := tx.Model(&st).Update("segments", f.Segments).Error; err != nil {
			return err
		}
		if !first || f.Internal {
			return nil
		}
		return emit.task(t, EventFileSlice, fileSlicePayload{FileName: path.Base(st.Playlist), UserId: st.UserId,
			TrackType: st.TrackType, BeginTimeStamp: st.BeginAtMs})
	})
}

type fileSlicePayload struct {
	FileName       string `json:"FileName"`
	UserId         string `json:"UserId"`
	TrackType      string `json:"TrackType"`
	BeginTimeStamp int64  `json:"BeginTimeStamp"`
}

// DueUploads returns up to limit spooled files of a task whose next attempt is due:
// segments and playlists before MP4 files, oldest first.
func (s *Store) DueUploads(ctx context.Context, taskRef int64, limit int) ([]RecordingFile, error) {
	var files []RecordingFile
	err := s.writer(ctx).Where("task_ref = ? AND state = ? AND next_attempt_at_ms <= ?", taskRef, FileSpooled, s.now().UnixMilli()).
		Order("kind = 'mp4', kind = 'm3u8', id").Limit(limit).Find(&files).Error
	return files, err
}

// Uploaded marks a file uploaded unless it was spooled again since (a newer playlist); the
// task's first uploaded playlist writes 304, an MP4 its 310.
func (s *Store) Uploaded(ctx context.Context, f *RecordingFile) error {
	return s.taskChange(ctx, f.TaskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		res := tx.Model(&RecordingFile{}).Where("id = ? AND version = ?", f.ID, f.Version).
			Updates(map[string]any{"state": FileUploaded, "uploaded_at_ms": emit.nowMs, "last_error": ""})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if t.UploadFailing {
			if err := tx.Model(t).Update("upload_failing", false).Error; err != nil {
				return err
			}
		}
		switch {
		case f.Kind == "m3u8" && !t.FileInfoSent:
			if err := tx.Model(t).Update("file_info_sent", true).Error; err != nil {
				return err
			}
			return emit.task(t, EventFileInfo, map[string]string{"FileList": path.Base(f.ObjectKey)})
		case f.Kind == "mp4" || f.Kind == "aac":
			return emit.task(t, EventMP4Stop, mp4StopPayload(tx, f))
		}
		return nil
	})
}

type mp4FileMessage struct {
	FileName       string `json:"FileName"`
	UserId         string `json:"UserId"`
	TrackType      string `json:"TrackType"`
	MediaId        string `json:"MediaId"`
	StartTimeStamp int64  `json:"StartTimeStamp"`
	EndTimeStamp   int64  `json:"EndTimeStamp"`
}

// mp4StopPayload is 310 for one file: "a recording task may call back multiple events of
// 310 (each event corresponds to a recorded file)".
func mp4StopPayload(tx *gorm.DB, f *RecordingFile) any {
	msg := mp4FileMessage{FileName: path.Base(f.ObjectKey), TrackType: "audio_video", MediaId: "main"}
	if f.StreamRef != nil {
		var st RecordingStream
		if tx.Where("id = ?", *f.StreamRef).Take(&st).Error == nil {
			msg.UserId, msg.TrackType, msg.MediaId = st.UserId, st.TrackType, st.MediaId
		}
	}
	if f.TrackType != "" {
		msg.TrackType = f.TrackType
	}
	if f.StartMs != nil {
		msg.StartTimeStamp = *f.StartMs
	}
	if f.EndMs != nil {
		msg.EndTimeStamp = *f.EndMs
	}
	return struct {
		Status      int              `json:"Status"`
		FileList    []string         `json:"FileList"`
		FileMessage []mp4FileMessage `json:"FileMessage"`
	}{0, []string{msg.FileName}, []mp4FileMessage{msg}}
}

// UploadFailed records a failed attempt and when to try again; the first failure after a
// success (or ever) writes 308 with the storage service's Code and Message.
func (s *Store) UploadFailed(ctx context.Context, f *RecordingFile, code, message string, next time.Time) error {
	return s.taskChange(ctx, f.TaskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		err := tx.Model(&RecordingFile{}).Where("id = ?", f.ID).Updates(map[string]any{
			"attempts": gorm.Expr("attempts + 1"), "last_error": code + ": " + message, "next_attempt_at_ms": next.UnixMilli()}).Error
		if err != nil || t.UploadFailing {
			return err
		}
		if err := tx.Model(t).Update("upload_failing", true).Error; err != nil {
			return err
		}
		return emit.task(t, EventUploadError, map[string]string{"Code": code, "Message": message})
	})
}

// FinishWriting records that every file of a stopped task is in the spool; its MP4 (and
// AAC) files, held back while recording, become due for upload.
func (s *Store) FinishWriting(ctx context.Context, taskRef int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Model(&RecordingFile{}).Where("task_ref = ? AND state = ? AND kind IN ?", taskRef, FileInternal, []string{"mp4", "aac"}).
			Updates(map[string]any{"state": FileSpooled, "next_attempt_at_ms": s.now().UnixMilli()}).Error
		if err != nil {
			return err
		}
		return tx.Model(&RecordingTask{}).Where("id = ?", taskRef).Update("writer_done", true).Error
	})
}

// WritingFiles lists a task's MP4 and AAC files left in FileWriting (by a recorder that
// crashed, or still open).
func (s *Store) WritingFiles(ctx context.Context, taskRef int64) ([]RecordingFile, error) {
	var out []RecordingFile
	err := s.writer(ctx).Where("task_ref = ? AND state = ?", taskRef, FileWriting).Order("id").Find(&out).Error
	return out, err
}

// LoseFile records that a file being written could not be recovered: no 310, and the task's
// 305 says Status 1.
func (s *Store) LoseFile(ctx context.Context, fileRef int64, why string) error {
	return s.writer(ctx).Model(&RecordingFile{}).Where("id = ?", fileRef).
		Updates(map[string]any{"state": FileLost, "last_error": why}).Error
}

// TaskStreams lists a task's stream rows.
func (s *Store) TaskStreams(ctx context.Context, taskRef int64) ([]RecordingStream, error) {
	var out []RecordingStream
	err := s.writer(ctx).Where("task_ref = ?", taskRef).Order("id").Find(&out).Error
	return out, err
}

// CountStreamFiles counts a stream's files of the given kinds (the next MP4 index).
func (s *Store) CountStreamFiles(ctx context.Context, streamRef int64, kinds ...string) (int, error) {
	var n int64
	err := s.writer(ctx).Model(&RecordingFile{}).Where("stream_ref = ? AND kind IN ?", streamRef, kinds).Count(&n).Error
	return int(n), err
}

// SettleUploads writes 305 for a task whose writer is done: Status 0 and the task ends when
// everything is uploaded; Status 1 (once) when files are still spooled after failed
// attempts; Status 2 and the end when those were uploaded later. It reports whether the
// task ended.
func (s *Store) SettleUploads(ctx context.Context, taskRef int64) (bool, error) {
	ended := false
	err := s.taskChange(ctx, taskRef, func(tx *gorm.DB, emit *emitter, t *RecordingTask) error {
		if !t.WriterDone || t.State == TaskEnded {
			ended = t.State == TaskEnded
			return nil
		}
		var spooled, failing int64
		if err := tx.Model(&RecordingFile{}).Where("task_ref = ? AND state = ?", t.ID, FileSpooled).Count(&spooled).Error; err != nil {
			return err
		}
		if err := tx.Model(&RecordingFile{}).Where("task_ref = ? AND state = ? AND attempts > 0", t.ID, FileSpooled).Count(&failing).Error; err != nil {
			return err
		}
		var lost int64
		if err := tx.Model(&RecordingFile{}).Where("task_ref = ? AND state = ?", t.ID, FileLost).Count(&lost).Error; err != nil {
			return err
		}
		status := -1
		switch {
		case spooled == 0 && lost > 0 && t.UploadStopStatus == nil:
			status = 1 // a file was lost: not everything recorded reached the storage
		case spooled == 0 && lost > 0:
			status = *t.UploadStopStatus // said already; the task ends
		case spooled == 0 && t.UploadStopStatus == nil:
			status = 0
		case spooled == 0:
			status = 2
		case failing > 0 && t.UploadStopStatus == nil:
			status = 1
		}
		if status < 0 {
			return nil
		}
		said := t.UploadStopStatus != nil
		updates := map[string]any{"upload_stop_status": status}
		if spooled == 0 {
			updates["state"], updates["ended_at_ms"] = TaskEnded, emit.nowMs
			ended = true
		}
		if err := tx.Model(t).Updates(updates).Error; err != nil {
			return err
		}
		if lost > 0 && said {
			return nil // 305 Status 1 was sent when the upload failed; the lost file keeps it
		}
		return emit.task(t, EventUploadStop, uploadStopPayload(status))
	})
	return ended, err
}

// TaskFiles lists a task's files (tests, control API).
func (s *Store) TaskFiles(ctx context.Context, taskId string) ([]RecordingFile, error) {
	var files []RecordingFile
	err := s.writer(ctx).Where("task_ref = (SELECT id FROM recording_tasks WHERE task_id = ?)", taskId).Order("id").Find(&files).Error
	return files, err
}

// EndExpiredRecordings stops the recording tasks still recording past their
// ResourceExpiredHour at the store's clock, as the server taking their robot out of the
// room would: 302 LeaveCode 3, the robot leaves (104 Reason 3, the room closing when it was
// the last). The recorder then finishes each task (its files uploaded, 305). It reports
// how many it stopped.
func (s *Store) EndExpiredRecordings(ctx context.Context) (int64, error) {
	var n int64
	for {
		var batch int
		err := s.write(ctx, func(tx *gorm.DB) error {
			nowMs := s.now().UnixMilli()
			var tasks []RecordingTask
			if err := tx.Where("state = ? AND expires_at_ms <= ?", TaskRecording, nowMs).Order("id").Limit(100).Find(&tasks).Error; err != nil {
				return err
			}
			for i := range tasks {
				emit, err := newEmitter(tx, tasks[i].SdkAppId, nowMs)
				if err != nil {
					return err
				}
				if err := s.stopRecording(tx, emit, &tasks[i], LeaveServerRemove, ExitRemoved); err != nil {
					return err
				}
			}
			batch = len(tasks)
			return nil
		})
		if err != nil {
			return n, err
		}
		n += int64(batch)
		if batch < 100 {
			return n, nil
		}
	}
}

// RecordingByRef returns a task by its row id, whatever its state (the recorder's job).
func (s *Store) RecordingByRef(ctx context.Context, taskRef int64) (*RecordingTask, error) {
	var t RecordingTask
	if err := s.writer(ctx).Where("id = ?", taskRef).Take(&t).Error; err != nil {
		return nil, err
	}
	return &t, nil
}

// Recording returns a task by TaskId, whatever its state (recorder, tests).
func (s *Store) Recording(ctx context.Context, taskId string) (*RecordingTask, error) {
	var t RecordingTask
	err := s.writer(ctx).Where("task_id = ?", taskId).Take(&t).Error
	if isNotFound(err) {
		return nil, tcerr.New(tcerr.CodeResourceNotFound, "The recording task %q does not exist.", taskId)
	}
	return &t, err
}

// recordingEventInfo is EventInfo of group 3: the room id as the clients use it, the
// robot's user id, the task and the event's payload.
type recordingEventInfo struct {
	RoomId    json.RawMessage `json:"RoomId"`
	EventTs   int64           `json:"EventTs"`
	EventMsTs int64           `json:"EventMsTs"`
	UserId    string          `json:"UserId"`
	TaskId    string          `json:"TaskId"`
	Payload   any             `json:"Payload"`
}

// task writes an event of group 3; with the strict order option a task's events share one
// lane, in order.
func (e *emitter) task(t *RecordingTask, eventType int, payload any) error {
	markChange(e.tx, ChangeRecordings)
	target, ok := e.targets[EventGroupRecording]
	if !ok {
		return nil
	}
	markChange(e.tx, ChangeCallbacks)
	room := &Room{RoomId: t.RoomId, RoomIdType: t.RoomIdType}
	info := recordingEventInfo{RoomId: roomIdJSON(room), EventTs: e.nowMs / 1000, EventMsTs: e.nowMs,
		UserId: t.RobotUserId, TaskId: t.TaskId, Payload: payload}
	body, err := json.Marshal(callbackBody{EventGroupId: EventGroupRecording, EventType: eventType, CallbackTs: e.nowMs, EventInfo: info})
	if err != nil {
		return err
	}
	return e.tx.Create(&CallbackEvent{SdkAppId: t.SdkAppId, EventGroupId: EventGroupRecording, EventType: eventType,
		Lane: laneOf(target, "task/"+t.TaskId), RoomId: t.RoomId, TaskId: t.TaskId, Url: target.Url, Key: target.Key, Body: body,
		EventMsTs: e.nowMs, CreatedAtMs: e.nowMs, State: CallbackPending, NextAttemptAtMs: e.nowMs}).Error
}
