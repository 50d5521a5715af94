package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// PushStore is what RTMP publishers need of the store: their presence in the room.
type PushStore interface {
	Enter(ctx context.Context, p models.EnterParams) (*models.Member, error)
	Update(ctx context.Context, p models.UpdateParams) (*models.Member, error)
	Leave(ctx context.Context, id models.Identity, exitReason int) error
}

// RTMPRooms admits RTMP publishers (rtmp://<host>/push/<RoomId>?sdkappid=&userid=&usersig=,
// and &privatemapkey= when the application has advanced permission control) as anchors of
// string-id rooms: the entry (103) when the publish is accepted, 201/203 when the tracks
// are known, 104 when the publisher leaves (Reason 1) or is disconnected (Reason 2: it
// stalled; 3: the emulator refused its stream).
type RTMPRooms struct {
	Store  PushStore
	Logger *slog.Logger
}

// pushRoomId is the room id rule of RTMP push (seed: letters, digits and underscores, at
// most 64), with "-" too: the seed's own example is hello-string-room.
var pushRoomId = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Admit is rtmp.Config.Admit.
func (p RTMPRooms) Admit(req rtmp.Request) (*rtmp.Publisher, error) {
	id, err := pushIdentity(req)
	if err != nil {
		return nil, err
	}
	sdkAppId, userId := id.SdkAppId, id.UserId
	ctx := context.Background()
	if _, err := p.Store.Enter(ctx, models.EnterParams{Identity: id, UserSig: req.Query.Get("usersig"),
		PrivateMapKey: req.Query.Get("privatemapkey"), Role: models.RoleAnchor, Reason: models.EnterVoluntary,
		Source: models.SourceRTMP}); err != nil {
		return nil, err
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &rtmp.Publisher{
		Room:   hubRoomOf(sdkAppId, models.RoomIdString, req.Stream),
		UserId: userId,
		Tracks: func(video, audio *hub.Params) error {
			on, pub := true, &models.PublishPatch{}
			var format *models.VideoFormat
			if video != nil {
				pub.Video, format = &on, &models.VideoFormat{Width: video.Width, Height: video.Height, Fps: video.FPS}
			}
			if audio != nil {
				pub.Audio = &on
			}
			_, err := p.Store.Update(ctx, models.UpdateParams{Identity: id, Publish: pub, Video: format})
			return err
		},
		Ended: func(why error) {
			reason := models.ExitVoluntary
			switch {
			case why == nil:
			case errors.Is(why, rtmp.ErrBFrames), errors.Is(why, rtmp.ErrCodec), errors.Is(why, rtmp.ErrNoTracks):
				reason = models.ExitRemoved
			default:
				reason = exitTimeout
			}
			if err := p.Store.Leave(ctx, id, reason); err != nil && !tcerr.Is(err, models.CodeUserNotExist) {
				log.Error("an RTMP publisher's exit", "room", id.RoomId, "user", userId, "err", err)
			}
		},
	}, nil
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
