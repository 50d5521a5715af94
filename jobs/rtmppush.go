package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
	"github.com/trtc-emulator/trtc-emulator/media/whip"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// PushStore is what RTMP publishers need of the store: their presence in the room.
type PushStore interface {
	Enter(ctx context.Context, p models.EnterParams) (*models.Member, error)
	Update(ctx context.Context, p models.UpdateParams) (*models.Member, error)
	Leave(ctx context.Context, id models.Identity, exitReason int) error
	PresentMember(ctx context.Context, id models.Identity) (*models.Member, error)
}

// RTMPRooms admits RTMP publishers (rtmp://<host>/push/<RoomId>?sdkappid=&userid=&usersig=,
// and &privatemapkey= when the application has advanced permission control) as anchors of
// string-id rooms, and WHIP publishers (AdmitWHIP) as anchors of the rooms their tokens
// name: the entry (103) when the publish is accepted, 201/203 when the tracks are known,
// 104 when the publisher leaves (Reason 1) or is disconnected (Reason 2: it stalled or its
// connection failed; 3: the emulator refused its stream). A publisher removed from its room
// (RemoveUser, DismissRoom) is disconnected.
type RTMPRooms struct {
	store PushStore
	log   *slog.Logger
	wake  chan struct{}

	mu       sync.Mutex
	sessions map[*pushSession]struct{}
}

// pushSession is an admitted publisher's membership.
type pushSession struct {
	id       models.Identity
	memberId int64
	stop     chan struct{}
	once     sync.Once
}

// NewRTMPRooms returns the admission of RTMP publishers into store's rooms; Run watches
// their membership.
func NewRTMPRooms(store PushStore, log *slog.Logger) *RTMPRooms {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RTMPRooms{store: store, log: log, wake: make(chan struct{}, 1), sessions: map[*pushSession]struct{}{}}
}

// Wake makes Run look whether each publisher is still a member (after a room change).
func (p *RTMPRooms) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run disconnects, after each Wake, the publishers no longer in their rooms, until ctx ends.
func (p *RTMPRooms) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		p.mu.Lock()
		sessions := make([]*pushSession, 0, len(p.sessions))
		for s := range p.sessions {
			sessions = append(sessions, s)
		}
		p.mu.Unlock()
		for _, s := range sessions {
			m, err := p.store.PresentMember(ctx, s.id)
			switch {
			case tcerr.Is(err, models.CodeUserNotExist) || tcerr.Is(err, tcerr.CodeRoomNotExist) || (err == nil && m.ID != s.memberId):
				s.once.Do(func() { close(s.stop) })
			case err != nil && ctx.Err() == nil:
				p.log.Error("an RTMP publisher's membership", "room", s.id.RoomId, "user", s.id.UserId, "err", err)
			}
		}
	}
}

// pushRoomId is the room id rule of RTMP push (seed: letters, digits and underscores, at
// most 64), with "-" too: the seed's own example is hello-string-room.
var pushRoomId = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Admit is rtmp.Config.Admit.
func (p *RTMPRooms) Admit(req rtmp.Request) (*rtmp.Publisher, error) {
	id, err := pushIdentity(req)
	if err != nil {
		return nil, err
	}
	session, err := p.join(id, req.Query.Get("usersig"), req.Query.Get("privatemapkey"), models.SourceRTMP)
	if err != nil {
		return nil, err
	}
	return &rtmp.Publisher{
		Stop:   session.stop,
		Room:   HubRoom(id.SdkAppId, id.RoomIdType, id.RoomId),
		UserId: id.UserId,
		Tracks: func(video, audio *hub.Params) error { return p.tracks(session, video, audio) },
		Ended: func(why error) {
			p.leave(session, exitReasonOf(why, rtmp.ErrStopped, rtmp.ErrBFrames, rtmp.ErrCodec, rtmp.ErrNoTracks))
		},
	}, nil
}

// AdmitWHIP is whip.Config.Admit: the token's member enters its room as an anchor.
func (p *RTMPRooms) AdmitWHIP(tok whip.Token) (*whip.Publisher, error) {
	id := models.Identity{SdkAppId: tok.SdkAppId, RoomId: tok.RoomId, RoomIdType: tok.RoomIdType, UserId: tok.UserId}
	session, err := p.join(id, tok.UserSig, tok.PrivateMapKey, models.SourceWHIP)
	if err != nil {
		return nil, err
	}
	return &whip.Publisher{
		Stop:   session.stop,
		Room:   HubRoom(id.SdkAppId, id.RoomIdType, id.RoomId),
		UserId: id.UserId,
		Tracks: func(video, audio *hub.Params) error { return p.tracks(session, video, audio) },
		Ended: func(why error) {
			p.leave(session, exitReasonOf(why, whip.ErrStopped, whip.ErrBFrames, whip.ErrNoTracks, whip.ErrOffer))
		},
	}, nil
}

// exitReasonOf is 104's Reason for a publisher gone because of why: 1 it stopped (nil),
// 3 the emulator refused its stream (one of refused), 2 otherwise (it stalled or its
// connection failed); 0 when it was removed (stopped: it is out of the room already).
func exitReasonOf(why, stopped error, refused ...error) int {
	switch {
	case errors.Is(why, stopped):
		return 0
	case why == nil:
		return models.ExitVoluntary
	}
	for _, r := range refused {
		if errors.Is(why, r) {
			return models.ExitRemoved
		}
	}
	return exitTimeout
}

// join enters a publisher in its room as an anchor (103) and watches its membership.
func (p *RTMPRooms) join(id models.Identity, userSig, privateMapKey, source string) (*pushSession, error) {
	m, err := p.store.Enter(context.Background(), models.EnterParams{Identity: id, UserSig: userSig,
		PrivateMapKey: privateMapKey, Role: models.RoleAnchor, Reason: models.EnterVoluntary, Source: source})
	if err != nil {
		return nil, err
	}
	session := &pushSession{id: id, memberId: m.ID, stop: make(chan struct{})}
	p.mu.Lock()
	p.sessions[session] = struct{}{}
	p.mu.Unlock()
	return session, nil
}

// tracks records what a publisher publishes (201/203) and its picture.
func (p *RTMPRooms) tracks(s *pushSession, video, audio *hub.Params) error {
	on, pub := true, &models.PublishPatch{}
	var format *models.VideoFormat
	if video != nil {
		pub.Video, format = &on, &models.VideoFormat{Width: video.Width, Height: video.Height, Fps: video.FPS}
	}
	if audio != nil {
		pub.Audio = &on
	}
	_, err := p.store.Update(context.Background(), models.UpdateParams{Identity: s.id, Publish: pub, Video: format})
	return err
}

// leave takes a gone publisher out of its room (104 with reason; 0: it is out already).
func (p *RTMPRooms) leave(s *pushSession, reason int) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
	if reason == 0 {
		return
	}
	if err := p.store.Leave(context.Background(), s.id, reason); err != nil && !tcerr.Is(err, models.CodeUserNotExist) && !tcerr.Is(err, tcerr.CodeRoomNotExist) {
		p.log.Error("a publisher's exit", "room", s.id.RoomId, "user", s.id.UserId, "err", err)
	}
}

// pushIdentity is the member a push URL names: the application, the room (a string id)
// and the user.
func pushIdentity(req rtmp.Request) (models.Identity, error) {
	if req.App != rtmp.App {
		return models.Identity{}, fmt.Errorf("the application is %q: publish to rtmp://<host>/%s/<RoomId>", req.App, rtmp.App)
	}
	if !pushRoomId.MatchString(req.Stream) {
		return models.Identity{}, fmt.Errorf("the room id %q is not 1 to 64 letters, digits, _ or -", req.Stream)
	}
	sdkAppId, err := strconv.ParseUint(req.Query.Get("sdkappid"), 10, 32)
	if err != nil || sdkAppId == 0 {
		return models.Identity{}, fmt.Errorf("the sdkappid %q is not an application id", req.Query.Get("sdkappid"))
	}
	userId := req.Query.Get("userid")
	if userId == "" {
		return models.Identity{}, errors.New("the userid is missing")
	}
	return models.Identity{SdkAppId: sdkAppId, RoomId: req.Stream, RoomIdType: models.RoomIdString, UserId: userId}, nil
}

// exitTimeout is 104's Reason 2: the member timed out.
const exitTimeout = 2
