package handlers

import (
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
