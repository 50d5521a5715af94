package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// Relay to CDN (seed "Relay to CDN"): the request is validated and converted in
// relay_params.go; the store runs the task (models/relay.go) and the relay job pushes it.

func (h *Handlers) StartPublishCdnStream(c *Call, req *wire.StartPublishCdnStreamRequest) (*wire.StartPublishCdnStreamResponse, error) {
	spec, cdns, err := relaySpec(req)
	if err != nil {
		return nil, err
	}
	var userSig string // optional: verified by the store when given
	if s := req.AgentParams.UserSig; s != nil {
		userSig = *s
	}
	task, err := h.store.StartRelay(c.Ctx, c.Caller.Uin, spec, cdns, userSig)
	if err != nil {
		return nil, err
	}
	return &wire.StartPublishCdnStreamResponse{TaskId: &task.TaskId}, nil
}

func (h *Handlers) UpdatePublishCdnStream(c *Call, req *wire.UpdatePublishCdnStreamRequest) (*wire.UpdatePublishCdnStreamResponse, error) {
	change, err := relayChange(req)
	if err != nil {
		return nil, err
	}
	if err := h.store.UpdateRelay(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId, change); err != nil {
		return nil, relayFieldNames(err)
	}
	return &wire.UpdatePublishCdnStreamResponse{TaskId: req.TaskId}, nil
}

// StopPublishCdnStream stops a task; RecordKey (China only: end a relay's recording) is
// ignored, the emulator does not record relays.
func (h *Handlers) StopPublishCdnStream(c *Call, req *wire.StopPublishCdnStreamRequest) (*wire.StopPublishCdnStreamResponse, error) {
	if err := h.store.StopRelay(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId); err != nil {
		return nil, err
	}
	return &wire.StopPublishCdnStreamResponse{TaskId: req.TaskId}, nil
}

// startClientRelay is POST /_emulator/v1/participants/publish-media-stream: an anchor's
// client starts a relay of its own, as the client SDK's startPublishMediaStream does. The
// body is the member's identity (the control API's: RoomIdType 0 string, 1 integer) and
// StartPublishCdnStream's fields without AgentParams, validated alike. The task has no
// robot and ends when the anchor leaves; UpdatePublishCdnStream and StopPublishCdnStream
// take its TaskId.
func (h *Handlers) startClientRelay(c echo.Context) error {
	var raw map[string]json.RawMessage
	if err := decodeControlBody(c.Request(), &raw); err != nil {
		return err
	}
	ident := map[string]json.RawMessage{}
	for _, k := range []string{"SdkAppId", "RoomId", "RoomIdType", "UserId"} {
		if v, ok := raw[k]; ok {
			ident[k] = v
			delete(raw, k)
		}
	}
	if _, ok := raw["AgentParams"]; ok {
		return tcerr.InvalidParameter("AgentParams", "a client's relay has no robot: the anchor named by UserId stands for it")
	}
	var idBody identityBody
	var req wire.StartPublishCdnStreamRequest
	for _, part := range []struct {
		fields map[string]json.RawMessage
		into   any
	}{{ident, &idBody}, {raw, &req}} {
		b, err := json.Marshal(part.fields)
		if err != nil {
			return err
		}
		if err := decodeControlJSON(b, part.into); err != nil {
			return err
		}
	}
	id, err := idBody.identity(h.settings.SdkAppId)
	if err != nil {
		return err
	}
	// The request as the server action has it (RoomIdType 0 integer, 1 string), for its checks.
	kind := uint64(0)
	if id.RoomIdType == models.RoomIdString {
		kind = 1
	}
	req.SdkAppId, req.RoomId, req.RoomIdType = &id.SdkAppId, &id.RoomId, &kind
	req.AgentParams = &wire.AgentParams{UserId: &id.UserId}
	spec, cdns, err := relaySpec(&req)
	if err != nil {
		return err
	}
	task, err := h.store.StartClientRelay(c.Request().Context(), id, spec, cdns)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"TaskId": task.TaskId})
}
