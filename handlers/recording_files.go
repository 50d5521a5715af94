package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// recordingFileView is one file of GET /_emulator/v1/recordings/{TaskId}/files.
type recordingFileView struct {
	ObjectKey  string     `json:"ObjectKey"`
	Kind       string     `json:"Kind"`
	State      string     `json:"State"`
	Bytes      int64      `json:"Bytes"`
	Attempts   int        `json:"Attempts"`
	LastError  string     `json:"LastError"`
	Spool      string     `json:"Spool"`
	UploadedAt *time.Time `json:"UploadedAt,omitempty"`
}

// listRecordingFiles lists a task's files whatever their state: those a failed task keeps
// in the spool included.
func (h *Handlers) listRecordingFiles(c echo.Context) error {
	ctx := c.Request().Context()
	taskId := c.Param("TaskId")
	task, err := h.store.Recording(ctx, taskId)
	if err != nil {
		return err
	}
	files, err := h.store.TaskFiles(ctx, taskId)
	if err != nil {
		return err
	}
	out := make([]recordingFileView, 0, len(files))
	for _, f := range files {
		v := recordingFileView{ObjectKey: f.ObjectKey, Kind: f.Kind, State: f.State, Bytes: f.Bytes, Attempts: f.Attempts,
			LastError: f.LastError, Spool: f.Spool}
		if f.UploadedAtMs != nil {
			at := time.UnixMilli(*f.UploadedAtMs).UTC()
			v.UploadedAt = &at
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, struct {
		TaskId           string              `json:"TaskId"`
		State            string              `json:"State"`
		Failure          string              `json:"Failure"`
		UploadStopStatus *int                `json:"UploadStopStatus,omitempty"`
		Files            []recordingFileView `json:"Files"`
	}{task.TaskId, string(task.State), task.Failure, task.UploadStopStatus, out})
}
