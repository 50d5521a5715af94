package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// callbackView is one outbox event in the delivery log. Body and Sign are those of the
// latest attempt (each attempt stamps its own CallbackTs), or of the stored template
// before the first.
type callbackView struct {
	Id             int64           `json:"Id"`
	SdkAppId       uint64          `json:"SdkAppId"`
	EventGroupId   int             `json:"EventGroupId"`
	EventType      int             `json:"EventType"`
	RoomId         string          `json:"RoomId"`
	TaskId         string          `json:"TaskId"`
	Url            string          `json:"Url"`
	Body           json.RawMessage `json:"Body"`
	Sign           string          `json:"Sign"`
	State          string          `json:"State"`
	CreatedAt      time.Time       `json:"CreatedAt"`
	NextAttemptAt  *time.Time      `json:"NextAttemptAt"`
	FirstAttemptAt *time.Time      `json:"FirstAttemptAt"`
	FinishedAt     *time.Time      `json:"FinishedAt"`
	Attempts       []attemptView   `json:"Attempts"`
}

// attemptView is one attempt: its send time (= the CallbackTs it carried), the exact body
// and Sign sent, the answer and the latency.
type attemptView struct {
	At         time.Time       `json:"At"`
	DurationMs int64           `json:"DurationMs"`
	Body       json.RawMessage `json:"Body"`
	Sign       string          `json:"Sign"`
	StatusCode int             `json:"StatusCode"`
	Error      string          `json:"Error"`
}

func msTime(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := time.UnixMilli(*ms).UTC()
	return &t
}

func newCallbackView(e *models.CallbackEvent) callbackView {
	v := callbackView{Id: e.ID, SdkAppId: e.SdkAppId, EventGroupId: e.EventGroupId, EventType: e.EventType,
		RoomId: e.RoomId, TaskId: e.TaskId, Url: e.Url, Body: json.RawMessage(e.Body), State: string(e.State),
		CreatedAt: time.UnixMilli(e.CreatedAtMs).UTC(), FirstAttemptAt: msTime(e.FirstAttemptAtMs),
		FinishedAt: msTime(e.FinishedAtMs), Attempts: []attemptView{}}
	if e.Key != "" {
		v.Sign = webhooks.Sign(e.Key, e.Body)
	}
	if e.State == models.CallbackPending {
		v.NextAttemptAt = msTime(&e.NextAttemptAtMs)
	}
	for _, a := range e.AttemptLog {
		av := attemptView{At: time.UnixMilli(a.AtMs).UTC(), DurationMs: a.DurationMs, Body: json.RawMessage(a.Body),
			Sign: a.Sign, StatusCode: a.StatusCode, Error: a.Error}
		if len(a.Body) == 0 { // an attempt recorded before bodies were kept (migration 0007)
			av.Body = json.RawMessage("null")
		} else {
			v.Body, v.Sign = av.Body, a.Sign
		}
		v.Attempts = append(v.Attempts, av)
	}
	return v
}

func (h *Handlers) listCallbacks(c echo.Context) error {
	var q models.CallbackQuery
	for _, f := range []struct {
		name string
		dst  any
	}{{"SdkAppId", &q.SdkAppId}, {"EventGroupId", &q.EventGroupId}, {"EventType", &q.EventType}, {"Limit", &q.Limit}} {
		v := c.QueryParam(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return tcerr.InvalidParameter(f.name, "it must be a non-negative number")
		}
		switch d := f.dst.(type) {
		case *uint64:
			*d = n
		case *int:
			*d = int(n)
		}
	}
	q.TaskId, q.State = c.QueryParam("TaskId"), models.CallbackState(c.QueryParam("State"))
	switch q.State {
	case "", models.CallbackPending, models.CallbackDelivered, models.CallbackFailed:
	default:
		return tcerr.InvalidParameterValue("State", "it must be pending, delivered or failed")
	}
	events, err := h.store.Callbacks(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := make([]callbackView, 0, len(events))
	for i := range events {
		out = append(out, newCallbackView(&events[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"Callbacks": out})
}

func (h *Handlers) redeliverCallback(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("Id"), 10, 64)
	if err != nil || id <= 0 {
		return tcerr.InvalidParameter("Id", "it must be a callback event id")
	}
	ev, err := h.store.RedeliverCallback(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if h.settings.Rescan != nil {
		h.settings.Rescan()
	}
	return c.JSON(http.StatusOK, newCallbackView(ev))
}
