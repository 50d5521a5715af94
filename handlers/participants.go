package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// roomIdText is a room id given as a JSON string or number.
type roomIdText string

func (r *roomIdText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = roomIdText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return tcerr.InvalidParameter("RoomId", "it must be a string or a number")
	}
	*r = roomIdText(n.String())
	return nil
}

// identityBody names a virtual client: RoomIdType 0 string, 1 integer (the default).
type identityBody struct {
	SdkAppId   uint64     `json:"SdkAppId"`
	RoomId     roomIdText `json:"RoomId"`
	RoomIdType *int       `json:"RoomIdType"`
	UserId     string     `json:"UserId"`
}

func (b identityBody) identity(defaultApp uint64) (models.Identity, error) {
	id := models.Identity{SdkAppId: b.SdkAppId, RoomId: string(b.RoomId), RoomIdType: models.RoomIdInt, UserId: b.UserId}
	if id.SdkAppId == 0 {
		id.SdkAppId = defaultApp
	}
	if b.RoomIdType != nil {
		id.RoomIdType = *b.RoomIdType
	}
	switch {
	case id.RoomId == "":
		return id, tcerr.MissingParameter("RoomId")
	case id.UserId == "":
		return id, tcerr.MissingParameter("UserId")
	}
	return id, nil
}

type publishBody struct {
	Video     bool `json:"Video"`
	Audio     bool `json:"Audio"`
	Substream bool `json:"Substream"`
}

// publishPatchBody names the tracks to start (true) or stop (false); absent ones keep.
type publishPatchBody struct {
	Video     *bool `json:"Video"`
	Audio     *bool `json:"Audio"`
	Substream *bool `json:"Substream"`
}

type videoBody struct {
	Width  int `json:"Width"`
	Height int `json:"Height"`
	Fps    int `json:"Fps"`
}

type enterBody struct {
	identityBody
	UserSig       string       `json:"UserSig"`
	PrivateMapKey string       `json:"PrivateMapKey"`
	Role          int          `json:"Role"`
	TerminalType  int          `json:"TerminalType"`
	UserType      int          `json:"UserType"`
	Reason        int          `json:"Reason"`
	Publish       *publishBody `json:"Publish"`
	Video         *videoBody   `json:"Video"`
}

type updateBody struct {
	identityBody
	Role          *int              `json:"Role"`
	Publish       *publishPatchBody `json:"Publish"`
	PrivateMapKey string            `json:"PrivateMapKey"`
}

type leaveBody struct {
	identityBody
	Reason int `json:"Reason"`
}

// participantView is a member as the control API shows it.
type participantView struct {
	UserId       string      `json:"UserId"`
	Role         int         `json:"Role"`
	TerminalType int         `json:"TerminalType"`
	UserType     int         `json:"UserType"`
	Publish      publishBody `json:"Publish"`
	Video        videoBody   `json:"Video"`
	// SubstreamVideo is the picture of the substream (screen share) when published.
	SubstreamVideo videoBody `json:"SubstreamVideo"`
	Blocked        int       `json:"Blocked"`
	Robot          bool      `json:"Robot"`
	Source         string    `json:"Source"` // virtual or rtmp
	JoinedAt       time.Time `json:"JoinedAt"`
	// Streams are the member's live streams with their coding (GET /rooms only).
	Streams []StreamInfo `json:"Streams,omitempty"`
}

// StreamInfo is one live stream of a member, as its source codes it.
type StreamInfo struct {
	Track      string `json:"Track"` // main-video, aux-video, audio
	Codec      string `json:"Codec"` // H264, AAC, Opus
	Width      int    `json:"Width,omitempty"`
	Height     int    `json:"Height,omitempty"`
	Fps        int    `json:"Fps,omitempty"`
	SampleRate int    `json:"SampleRate,omitempty"`
	Channels   int    `json:"Channels,omitempty"`
}

func newParticipantView(m *models.Member) participantView {
	return participantView{UserId: m.UserId, Role: m.Role, TerminalType: m.TerminalType, UserType: m.UserType,
		Publish:        publishBody{Video: m.PubVideo, Audio: m.PubAudio, Substream: m.PubSubstream},
		Video:          videoBody(m.MainVideo()),
		SubstreamVideo: videoBody(models.SubstreamVideo),
		Blocked:        m.Blocked,
		Robot:          m.Robot,
		Source:         sourceName(m.Source),
		JoinedAt:       time.UnixMilli(m.JoinedAtMs).UTC()}
}

// sourceName is a member's source as the control API names it.
func sourceName(s string) string {
	if s == models.SourceVirtual {
		return "virtual"
	}
	return s
}

func (h *Handlers) enterParticipant(c echo.Context) error {
	var body enterBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	id, err := body.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if body.UserSig == "" {
		// The sandbox signs for a client that brings no UserSig of its own.
		app, err := h.store.App(ctx, id.SdkAppId)
		if err != nil {
			return err
		}
		if body.UserSig, err = usersig.Gen(usersig.Params{SdkAppId: app.SdkAppId, Key: app.SdkSecretKey,
			UserId: id.UserId, Expire: 24 * time.Hour, Now: h.settings.Clock.Now()}); err != nil {
			return tcerr.InvalidParameterValue("UserId", err.Error())
		}
	}
	p := models.EnterParams{Identity: id, UserSig: body.UserSig, PrivateMapKey: body.PrivateMapKey, Role: body.Role,
		TerminalType: body.TerminalType, UserType: body.UserType, Reason: body.Reason}
	if body.Publish != nil {
		p.Publish = models.Publish(*body.Publish)
	}
	if body.Video != nil {
		p.VideoWidth, p.VideoHeight, p.VideoFps = body.Video.Width, body.Video.Height, body.Video.Fps
	}
	m, err := h.store.Enter(ctx, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newParticipantView(m))
}

func (h *Handlers) updateParticipant(c echo.Context) error {
	var body updateBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	id, err := body.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	p := models.UpdateParams{Identity: id, Role: body.Role, PrivateMapKey: body.PrivateMapKey}
	if body.Publish != nil {
		p.Publish = &models.PublishPatch{Video: body.Publish.Video, Audio: body.Publish.Audio, Substream: body.Publish.Substream}
	}
	m, err := h.store.Update(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newParticipantView(m))
}

func (h *Handlers) leaveParticipant(c echo.Context) error {
	var body leaveBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	id, err := body.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	if err := h.store.Leave(c.Request().Context(), id, body.Reason); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"UserId": id.UserId})
}

// relayStateNames are the 401 states' names (seed: PUBLISH_CDN_STREAM_STATE_*).
var relayStateNames = map[int]string{models.RelayIdle: "IDLE", models.RelayConnecting: "CONNECTING", models.RelayRunning: "RUNNING",
	models.RelayRecovering: "RECOVERING", models.RelayFailure: "FAILURE", models.RelayDisconnecting: "DISCONNECTING"}

func (h *Handlers) listRooms(c echo.Context) error {
	appId := h.settings.SdkAppId
	if v := c.QueryParam("SdkAppId"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return tcerr.InvalidParameter("SdkAppId", "it must be a number")
		}
		appId = n
	}
	rooms, err := h.store.OpenRooms(c.Request().Context(), appId)
	if err != nil {
		return err
	}
	relays, urls, err := h.store.RelaysOfApp(c.Request().Context(), appId)
	if err != nil {
		return err
	}
	type relayURLView struct {
		Url       string `json:"Url"`
		Status    int    `json:"Status"` // the last 401's
		State     string `json:"State"`
		ErrorCode int    `json:"ErrorCode"`
		ErrorMsg  string `json:"ErrorMsg"`
		Removed   bool   `json:"Removed"`
	}
	type relayView struct {
		TaskId          string         `json:"TaskId"`
		UserId          string         `json:"UserId"`
		State           string         `json:"State"`
		WithTranscoding bool           `json:"WithTranscoding"`
		Urls            []relayURLView `json:"Urls"`
	}
	type roomView struct {
		SdkAppId   uint64            `json:"SdkAppId"`
		RoomId     string            `json:"RoomId"`
		RoomIdType int               `json:"RoomIdType"`
		CommId     string            `json:"CommId"`
		CreatedAt  time.Time         `json:"CreatedAt"`
		Members    []participantView `json:"Members"`
		Relays     []relayView       `json:"Relays"`
	}
	out := make([]roomView, 0, len(rooms))
	for _, r := range rooms {
		v := roomView{SdkAppId: r.Room.SdkAppId, RoomId: r.Room.RoomId, RoomIdType: r.Room.RoomIdType,
			CommId: r.Room.CommId(), CreatedAt: time.UnixMilli(r.Room.CreatedAtMs).UTC(), Members: []participantView{}, Relays: []relayView{}}
		for _, t := range relays {
			if t.RoomId != r.Room.RoomId || t.RoomIdType != r.Room.RoomIdType {
				continue
			}
			rv := relayView{TaskId: t.TaskId, UserId: t.UserId, State: string(t.State), Urls: []relayURLView{}}
			if spec, err := t.RelaySpec(); err == nil {
				rv.WithTranscoding = spec.Transcode
			}
			for _, u := range urls[t.ID] {
				rv.Urls = append(rv.Urls, relayURLView{Url: u.Url, Status: u.Status, State: relayStateNames[u.Status],
					ErrorCode: u.ErrorCode, ErrorMsg: u.ErrorMsg, Removed: u.Removed})
			}
			v.Relays = append(v.Relays, rv)
		}
		for i := range r.Members {
			pv := newParticipantView(&r.Members[i])
			if h.settings.Streams != nil {
				pv.Streams = h.settings.Streams(r.Room.SdkAppId, r.Room.RoomIdType, r.Room.RoomId, pv.UserId)
			}
			v.Members = append(v.Members, pv)
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"Rooms": out})
}

type messageBody struct {
	identityBody
	CmdId    int    `json:"CmdId"`
	Data     string `json:"Data"`
	Reliable bool   `json:"Reliable"`
	Ordered  bool   `json:"Ordered"`
}

type messageView struct {
	Sender   string    `json:"Sender"`
	CmdId    int       `json:"CmdId"`
	Data     string    `json:"Data"`
	Reliable bool      `json:"Reliable"`
	Ordered  bool      `json:"Ordered"`
	SentAt   time.Time `json:"SentAt"`
}

func newMessageView(m *models.RoomMessage) messageView {
	return messageView{Sender: m.Sender, CmdId: m.CmdId, Data: string(m.Data), Reliable: m.Reliable, Ordered: m.Ordered,
		SentAt: time.UnixMilli(m.SentAtMs).UTC()}
}

func (h *Handlers) sendMessage(c echo.Context) error {
	var body messageBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	id, err := body.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	msg, err := h.store.SendMessage(c.Request().Context(), id, body.CmdId, []byte(body.Data), body.Reliable, body.Ordered)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMessageView(msg))
}

func (h *Handlers) receivedMessages(c echo.Context) error {
	body := identityBody{RoomId: roomIdText(c.QueryParam("RoomId")), UserId: c.QueryParam("UserId")}
	for _, f := range []struct {
		name string
		set  func(uint64)
	}{
		{"SdkAppId", func(n uint64) { body.SdkAppId = n }},
		{"RoomIdType", func(n uint64) { t := int(n); body.RoomIdType = &t }},
	} {
		if v := c.QueryParam(f.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return tcerr.InvalidParameter(f.name, "it must be a number")
			}
			f.set(n)
		}
	}
	id, err := body.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	msgs, err := h.store.ReceivedMessages(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := make([]messageView, 0, len(msgs))
	for i := range msgs {
		out = append(out, newMessageView(&msgs[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"Messages": out})
}
