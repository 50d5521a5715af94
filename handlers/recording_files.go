package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/models"
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
	var job *jobView
	if task.JobRef != nil {
		j, err := h.store.JobByID(ctx, *task.JobRef)
		if err != nil {
			return err
		}
		job = newJobView(j)
	}
	return c.JSON(http.StatusOK, struct {
		TaskId           string              `json:"TaskId"`
		State            string              `json:"State"`
		Failure          string              `json:"Failure"`
		UploadStopStatus *int                `json:"UploadStopStatus,omitempty"`
		Job              *jobView            `json:"Job,omitempty"`
		Files            []recordingFileView `json:"Files"`
	}{task.TaskId, string(task.State), task.Failure, task.UploadStopStatus, job, out})
}

// jobView is the durable job that runs a task.
type jobView struct {
	Id          int64      `json:"Id"`
	Kind        string     `json:"Kind"`
	State       string     `json:"State"`
	Attempts    int        `json:"Attempts"`
	MaxAttempts int        `json:"MaxAttempts"`
	Takeovers   int        `json:"Takeovers"`
	ScheduledAt time.Time  `json:"ScheduledAt"`
	LeaseOwner  string     `json:"LeaseOwner"`
	LeaseUntil  *time.Time `json:"LeaseUntil,omitempty"`
	LastError   string     `json:"LastError"`
	FinishedAt  *time.Time `json:"FinishedAt,omitempty"`
}

func newJobView(j *models.Job) *jobView {
	v := &jobView{Id: j.ID, Kind: j.Kind, State: string(j.State), Attempts: j.Attempts, MaxAttempts: j.MaxAttempts,
		Takeovers: j.Takeovers, ScheduledAt: time.UnixMilli(j.ScheduledAtMs).UTC(), LeaseOwner: j.LeaseOwner, LastError: j.LastError}
	if j.LeaseUntilMs > 0 {
		at := time.UnixMilli(j.LeaseUntilMs).UTC()
		v.LeaseUntil = &at
	}
	if j.FinishedAtMs != nil {
		at := time.UnixMilli(*j.FinishedAtMs).UTC()
		v.FinishedAt = &at
	}
	return v
}
