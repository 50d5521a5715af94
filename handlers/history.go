package handlers

import (
	"strconv"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// DescribeUserInfo lists the presences of a call. Paging defaults: "If PageNumber or
// PageSize is not specified, six records will be returned" (page 0).
func (h *Handlers) DescribeUserInfo(c *Call, req *wire.DescribeUserInfoRequest) (*wire.DescribeUserInfoResponse, error) {
	q, err := callQuery(c, *req.SdkAppId, *req.CommId, *req.StartTime, *req.EndTime, req.UserIds, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	total, users, err := h.store.CallUsers(c.Ctx, q)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeUserInfoResponse{Total: ptr(uint64(total)), UserList: userList(users)}, nil
}

// DescribeCallDetailInfo is DescribeUserInfo plus the quality series named by DataType.
func (h *Handlers) DescribeCallDetailInfo(c *Call, req *wire.DescribeCallDetailInfoRequest) (*wire.DescribeCallDetailInfoResponse, error) {
	q, err := callQuery(c, *req.SdkAppId, *req.CommId, *req.StartTime, *req.EndTime, req.UserIds, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	q.DataTypes = req.DataType
	total, users, series, err := h.store.CallDetail(c.Ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &wire.DescribeCallDetailInfoResponse{Total: ptr(uint64(total)), UserList: userList(users),
		Data: make([]wire.QualityData, 0, len(series))}
	for _, s := range series {
		content := make([]wire.TimeValue, 0, len(s.Points))
		for _, p := range s.Points {
			content = append(content, wire.TimeValue{Time: ptr(uint64(p.Time)), Value: ptr(p.Value)})
		}
		resp.Data = append(resp.Data, wire.QualityData{Content: content, UserId: ptr(s.UserId), PeerId: ptr(s.PeerId), DataType: ptr(s.DataType)})
	}
	return resp, nil
}

// DescribeUserEvent lists a user's events in a call; Data is [] when there are none ("An
// empty array will be returned if no data is obtained").
func (h *Handlers) DescribeUserEvent(c *Call, req *wire.DescribeUserEventRequest) (*wire.DescribeUserEventResponse, error) {
	q := models.EventQuery{Uin: c.Caller.Uin, SdkAppId: *req.SdkAppId, CommId: *req.CommId, RoomId: *req.RoomId, UserId: *req.UserId}
	var err error
	if q.StartTime, err = unixSeconds("StartTime", *req.StartTime); err != nil {
		return nil, err
	}
	if q.EndTime, err = unixSeconds("EndTime", *req.EndTime); err != nil {
		return nil, err
	}
	events, err := h.store.UserEvents(c.Ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &wire.DescribeUserEventResponse{Data: []wire.EventList{}}
	if len(events) == 0 {
		return resp, nil
	}
	list := wire.EventList{PeerId: ptr(q.UserId), Content: make([]wire.EventMessage, 0, len(events))}
	for _, ev := range events {
		list.Content = append(list.Content, wire.EventMessage{Type: ptr(uint64(ev.Type)), Time: ptr(uint64(ev.TimeMs)),
			EventId: ptr(uint64(ev.EventId)), ParamOne: ptr(ev.ParamOne), ParamTwo: ptr(ev.ParamTwo)})
	}
	resp.Data = append(resp.Data, list)
	return resp, nil
}

// SetUserBlocked blocks or unblocks a user of an integer room. The intl SDK, the only one
// with this action, marks every field optional, so the schema cannot require them.
func (h *Handlers) SetUserBlocked(c *Call, req *wire.SetUserBlockedRequest) (*wire.SetUserBlockedResponse, error) {
	if err := requireBlockFields(req.SdkAppId, "RoomId", req.RoomId == nil, req.UserId, req.IsMute); err != nil {
		return nil, err
	}
	id := models.Identity{SdkAppId: *req.SdkAppId, RoomId: strconv.FormatUint(*req.RoomId, 10), RoomIdType: models.RoomIdInt, UserId: *req.UserId}
	if err := h.store.SetUserBlocked(c.Ctx, c.Caller.Uin, id, isMute(*req.IsMute)); err != nil {
		return nil, err
	}
	return &wire.SetUserBlockedResponse{}, nil
}

// SetUserBlockedByStrRoomId is SetUserBlocked for a string room (field StrRoomId).
func (h *Handlers) SetUserBlockedByStrRoomId(c *Call, req *wire.SetUserBlockedByStrRoomIdRequest) (*wire.SetUserBlockedByStrRoomIdResponse, error) {
	if err := requireBlockFields(req.SdkAppId, "StrRoomId", req.StrRoomId == nil, req.UserId, req.IsMute); err != nil {
		return nil, err
	}
	id := models.Identity{SdkAppId: *req.SdkAppId, RoomId: *req.StrRoomId, RoomIdType: models.RoomIdString, UserId: *req.UserId}
	if err := h.store.SetUserBlocked(c.Ctx, c.Caller.Uin, id, isMute(*req.IsMute)); err != nil {
		return nil, err
	}
	return &wire.SetUserBlockedByStrRoomIdResponse{}, nil
}

// requireBlockFields answers an absent field with the MissingParameter subcode both
// SetUserBlocked actions declare (MissingParameter.RoomId for StrRoomId too).
func requireBlockFields(sdkAppId *uint64, roomField string, noRoom bool, userId *string, mute *uint64) error {
	missing := func(code, field string) error {
		return tcerr.New(code, "The request is missing a required parameter `%s`.", field)
	}
	switch {
	case sdkAppId == nil:
		return missing(models.CodeMissingSdkAppId, "SdkAppId")
	case noRoom:
		return missing(models.CodeMissingRoomId, roomField)
	case userId == nil:
		return missing(models.CodeMissingUserId, "UserId")
	case mute == nil:
		return missing(tcerr.CodeMissingParameter, "IsMute")
	}
	return nil
}

// isMute passes IsMute on for the range check, keeping huge values huge.
func isMute(v uint64) int {
	return int(min(v, 1<<20))
}

// callQuery reads the fields DescribeUserInfo and DescribeCallDetailInfo share.
func callQuery(c *Call, sdkAppId uint64, commId string, start, end uint64, userIds []string, pageNumber, pageSize *uint64) (models.CallQuery, error) {
	q := models.CallQuery{Uin: c.Caller.Uin, SdkAppId: sdkAppId, CommId: commId, UserIds: userIds, PageSize: models.DefaultCallPageSize}
	var err error
	if q.StartTime, err = unixSeconds("StartTime", start); err != nil {
		return q, err
	}
	if q.EndTime, err = unixSeconds("EndTime", end); err != nil {
		return q, err
	}
	if pageNumber != nil && pageSize != nil {
		if *pageNumber > 1<<20 {
			return q, tcerr.New(tcerr.CodeInvalidPageNumber, "The PageNumber %d is too large.", *pageNumber)
		}
		q.PageNumber, q.PageSize = int(*pageNumber), int(min(*pageSize, 1<<20))
	}
	return q, nil
}

func userList(users []models.CallUser) []wire.UserInformation {
	out := make([]wire.UserInformation, 0, len(users))
	for _, u := range users {
		out = append(out, wire.UserInformation{
			RoomStr:    ptr(u.RoomId),
			UserId:     ptr(u.UserId),
			JoinTs:     ptr(uint64(u.JoinedAtMs / 1000)),
			LeaveTs:    ptr(uint64(u.LeftAtMs / 1000)),
			DeviceType: ptr(u.DeviceType),
			SdkVersion: ptr(u.SdkVersion),
			ClientIp:   ptr(u.ClientIp),
			Finished:   ptr(u.Finished),
		})
	}
	return out
}
