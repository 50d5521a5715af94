package handlers

import (
	"strconv"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

func (h *Handlers) DismissRoom(c *Call, req *wire.DismissRoomRequest) (*wire.DismissRoomResponse, error) {
	roomId := strconv.FormatUint(*req.RoomId, 10)
	if err := h.store.DismissRoom(c.Ctx, c.Caller.Uin, *req.SdkAppId, roomId, models.RoomIdInt); err != nil {
		return nil, err
	}
	return &wire.DismissRoomResponse{}, nil
}

func (h *Handlers) DismissRoomByStrRoomId(c *Call, req *wire.DismissRoomByStrRoomIdRequest) (*wire.DismissRoomByStrRoomIdResponse, error) {
	if err := h.store.DismissRoom(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.RoomId, models.RoomIdString); err != nil {
		return nil, err
	}
	return &wire.DismissRoomByStrRoomIdResponse{}, nil
}

func (h *Handlers) RemoveUser(c *Call, req *wire.RemoveUserRequest) (*wire.RemoveUserResponse, error) {
	id := models.Identity{SdkAppId: *req.SdkAppId, RoomId: strconv.FormatUint(*req.RoomId, 10), RoomIdType: models.RoomIdInt}
	if err := h.store.RemoveUsers(c.Ctx, c.Caller.Uin, id, req.UserIds); err != nil {
		return nil, err
	}
	return &wire.RemoveUserResponse{}, nil
}

func (h *Handlers) RemoveUserByStrRoomId(c *Call, req *wire.RemoveUserByStrRoomIdRequest) (*wire.RemoveUserByStrRoomIdResponse, error) {
	id := models.Identity{SdkAppId: *req.SdkAppId, RoomId: *req.RoomId, RoomIdType: models.RoomIdString}
	if err := h.store.RemoveUsers(c.Ctx, c.Caller.Uin, id, req.UserIds); err != nil {
		return nil, err
	}
	return &wire.RemoveUserByStrRoomIdResponse{}, nil
}

// DescribeRoomInfo pages defaults: "If PageNumber or PageSize is not specified, 10 records
// will be returned" (page 0).
func (h *Handlers) DescribeRoomInfo(c *Call, req *wire.DescribeRoomInfoRequest) (*wire.DescribeRoomInfoResponse, error) {
	q := models.RoomQuery{Uin: c.Caller.Uin, SdkAppId: *req.SdkAppId, PageSize: 10}
	var err error
	if q.StartTime, err = unixSeconds("StartTime", *req.StartTime); err != nil {
		return nil, err
	}
	if q.EndTime, err = unixSeconds("EndTime", *req.EndTime); err != nil {
		return nil, err
	}
	if req.RoomId != nil {
		q.RoomId = *req.RoomId
	}
	if req.PageNumber != nil && req.PageSize != nil {
		if *req.PageNumber > 1<<20 {
			return nil, tcerr.New(tcerr.CodeInvalidPageNumber, "The PageNumber %d is too large.", *req.PageNumber)
		}
		if *req.PageSize > 1<<20 {
			return nil, tcerr.New(tcerr.CodeInvalidPageSize, "The PageSize %d is invalid: it must be 1 to 100.", *req.PageSize)
		}
		q.PageNumber, q.PageSize = int(*req.PageNumber), int(*req.PageSize)
	}
	total, rooms, err := h.store.Rooms(c.Ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &wire.DescribeRoomInfoResponse{Total: &total, RoomList: make([]wire.RoomState, len(rooms))}
	// The fields the answer points at, one allocation for the page.
	vals := make([]struct {
		commId, room, user string
		create, destroy    uint64
		finished           bool
	}, len(rooms))
	for i := range rooms {
		r, v := &rooms[i], &vals[i]
		v.commId, v.room, v.user, v.create = r.CommId(), r.RoomId, r.CreatorUserId, uint64(r.CreatedAtMs/1000)
		if r.DestroyedAtMs != nil {
			v.destroy, v.finished = uint64(*r.DestroyedAtMs/1000), true
		}
		resp.RoomList[i] = wire.RoomState{CommId: &v.commId, RoomString: &v.room, CreateTime: &v.create,
			DestroyTime: &v.destroy, IsFinished: &v.finished, UserId: &v.user}
	}
	return resp, nil
}

func unixSeconds(field string, v uint64) (int64, error) {
	if v > 1<<40 {
		return 0, tcerr.InvalidParameterValue(field, "it must be a Unix time in seconds")
	}
	return int64(v), nil
}

func ptr[T any](v T) *T { return &v }
