package handlers

import (
	"path"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// codeUnsupportedMethod answers the recording kinds the emulator does not run yet.
const codeUnsupportedMethod = "FailedOperation.CRUnsupportMethod"

func (h *Handlers) CreateCloudRecording(c *Call, req *wire.CreateCloudRecordingRequest) (*wire.CreateCloudRecordingResponse, error) {
	spec, err := recordingSpec(req)
	if err != nil {
		return nil, err
	}
	if spec.Storage.Vod {
		return nil, tcerr.New(codeUnsupportedMethod, "Recording to VOD (CloudVod) is not emulated yet; CloudStorage (COS or S3) is.")
	}
	var privateMapKey string
	if req.PrivateMapKey != nil {
		privateMapKey = *req.PrivateMapKey
	}
	task, err := h.store.CreateRecording(c.Ctx, c.Caller.Uin, spec, *req.UserSig, privateMapKey)
	if err != nil {
		return nil, err
	}
	return &wire.CreateCloudRecordingResponse{TaskId: &task.TaskId}, nil
}

func (h *Handlers) DescribeCloudRecording(c *Call, req *wire.DescribeCloudRecordingRequest) (*wire.DescribeCloudRecordingResponse, error) {
	st, err := h.store.DescribeRecording(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId)
	if err != nil {
		return nil, err
	}
	files := make([]wire.StorageFile, 0, len(st.Streams))
	for _, s := range st.Streams {
		files = append(files, wire.StorageFile{UserId: ptr(s.UserId), FileName: ptr(path.Base(s.Playlist)),
			TrackType: ptr(s.TrackType), BeginTimeStamp: ptr(uint64(s.BeginAtMs))})
	}
	return &wire.DescribeCloudRecordingResponse{TaskId: &st.TaskId, Status: &st.Status, StorageFileList: files}, nil
}

func (h *Handlers) ModifyCloudRecording(c *Call, req *wire.ModifyCloudRecordingRequest) (*wire.ModifyCloudRecordingResponse, error) {
	sub, err := validateSubscription("SubscribeStreamUserIds", req.SubscribeStreamUserIds)
	if err != nil {
		return nil, err
	}
	change := models.RecordingChange{Subscribe: sub}
	if req.MixLayoutParams != nil {
		if change.MixLayout, err = mixLayout(req.MixLayoutParams); err != nil {
			return nil, err
		}
	}
	if err := h.store.ModifyRecording(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId, change); err != nil {
		return nil, err
	}
	return &wire.ModifyCloudRecordingResponse{TaskId: req.TaskId}, nil
}

func (h *Handlers) DeleteCloudRecording(c *Call, req *wire.DeleteCloudRecordingRequest) (*wire.DeleteCloudRecordingResponse, error) {
	if err := h.store.StopRecording(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId); err != nil {
		return nil, err
	}
	return &wire.DeleteCloudRecordingResponse{TaskId: req.TaskId}, nil
}
