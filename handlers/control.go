package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// maxControlBody bounds control API request bodies.
const maxControlBody = 1 << 20

func (h *Handlers) routeControl(e *echo.Echo) {
	e.GET("/_emulator/health", h.health)
	e.GET("/_emulator/v1/info", h.info)
	e.GET("/_emulator/v1/apps/:SdkAppId", h.getApp)
	e.PUT("/_emulator/v1/apps/:SdkAppId", h.putApp)
	e.POST("/_emulator/v1/participants", h.enterParticipant)
	e.PATCH("/_emulator/v1/participants", h.updateParticipant)
	e.POST("/_emulator/v1/participants/leave", h.leaveParticipant)
	e.POST("/_emulator/v1/participants/publish-media-stream", h.startClientRelay)
	e.GET("/_emulator/v1/rooms", h.listRooms)
	e.POST("/_emulator/v1/messages", h.sendMessage)
	e.GET("/_emulator/v1/messages", h.receivedMessages)
	e.GET("/_emulator/v1/callbacks", h.listCallbacks)
	e.POST("/_emulator/v1/callbacks/:Id/redeliver", h.redeliverCallback)
	e.POST("/_emulator/v1/cam/simulate", h.simulateCAM)
	e.GET("/_emulator/v1/recordings/:TaskId/files", h.listRecordingFiles)
	e.GET("/_emulator/v1/clock", h.getClock)
	e.POST("/_emulator/v1/clock", h.moveClock)
}

func (h *Handlers) health(c echo.Context) error {
	if err := h.store.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"Status": "unavailable", "Version": h.settings.Version})
	}
	return c.JSON(http.StatusOK, map[string]string{"Status": "ok", "Version": h.settings.Version})
}

func (h *Handlers) info(c echo.Context) error {
	// Only what listens is announced.
	endpoints := map[string]string{
		"Api":     h.settings.APIEndpoint,
		"Control": h.settings.APIEndpoint + "/_emulator/v1",
	}
	if h.settings.WHIP != nil {
		endpoints["Whip"] = h.settings.APIEndpoint + WHIPPrefix
	}
	if h.settings.RTMPEndpoint != "" {
		endpoints["Rtmp"] = h.settings.RTMPEndpoint
	}
	if h.settings.ObjectStore != nil {
		// One store, two dialects: S3 clients and COS clients use the same path-style URL.
		endpoints["S3"] = h.settings.APIEndpoint + StoragePrefix
		endpoints["Cos"] = h.settings.APIEndpoint + StoragePrefix
	}
	return c.JSON(http.StatusOK, map[string]any{
		"Version":    h.settings.Version,
		"Uin":        h.settings.Uin,
		"Region":     h.settings.Region,
		"Endpoints":  endpoints,
		"DefaultApp": map[string]uint64{"SdkAppId": h.settings.SdkAppId},
		"Auth":       !h.settings.AuthOff,
	})
}

// appView is the control API's JSON form of an application.
type appView struct {
	SdkAppId                  uint64           `json:"SdkAppId"`
	Name                      string           `json:"Name"`
	SdkSecretKey              string           `json:"SdkSecretKey"`
	AdvancedPermissionControl bool             `json:"AdvancedPermissionControl"`
	Callbacks                 []callbackTarget `json:"Callbacks"`
	CreatedAt                 time.Time        `json:"CreatedAt"`
	UpdatedAt                 time.Time        `json:"UpdatedAt"`
}

type callbackTarget struct {
	EventGroupId  int    `json:"EventGroupId"`
	Url           string `json:"Url"`
	Key           string `json:"Key,omitempty"`
	CallbackOrder string `json:"CallbackOrder,omitempty"`
}

// appSettingsBody is the body of PUT /_emulator/v1/apps/{SdkAppId}.
type appSettingsBody struct {
	Name                      *string          `json:"Name"`
	SdkSecretKey              *string          `json:"SdkSecretKey"`
	AdvancedPermissionControl *bool            `json:"AdvancedPermissionControl"`
	Callbacks                 []callbackTarget `json:"Callbacks"`
}

func newAppView(a *models.App) appView {
	v := appView{SdkAppId: a.SdkAppId, Name: a.Name, SdkSecretKey: a.SdkSecretKey,
		AdvancedPermissionControl: a.AdvancedPermissionControl, Callbacks: []callbackTarget{},
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	for _, cb := range a.Callbacks {
		v.Callbacks = append(v.Callbacks, callbackTarget{EventGroupId: cb.EventGroupId, Url: cb.Url, Key: cb.Key,
			CallbackOrder: cb.CallbackOrder})
	}
	return v
}

func (h *Handlers) getApp(c echo.Context) error {
	id, err := sdkAppIdParam(c)
	if err != nil {
		return err
	}
	app, err := h.store.OwnedApp(c.Request().Context(), h.settings.Uin, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAppView(app))
}

func (h *Handlers) putApp(c echo.Context) error {
	id, err := sdkAppIdParam(c)
	if err != nil {
		return err
	}
	var body appSettingsBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	settings := models.AppSettings{Name: body.Name, SdkSecretKey: body.SdkSecretKey, AdvancedPermissionControl: body.AdvancedPermissionControl}
	if body.Callbacks != nil {
		settings.Callbacks = make([]models.AppCallback, 0, len(body.Callbacks))
		for i, cb := range body.Callbacks {
			if err := webhooks.ValidateURL(cb.Url); err != nil {
				return tcerr.InvalidParameterValue("Callbacks."+strconv.Itoa(i)+".Url", err.Error())
			}
			settings.Callbacks = append(settings.Callbacks, models.AppCallback{EventGroupId: cb.EventGroupId, Url: cb.Url, Key: cb.Key,
				CallbackOrder: cb.CallbackOrder})
		}
	}
	app, _, err := h.store.PutApp(c.Request().Context(), h.settings.Uin, id, settings)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAppView(app))
}

func sdkAppIdParam(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("SdkAppId"), 10, 64)
	if err != nil || id == 0 || id > 1<<32-1 {
		return 0, tcerr.New(tcerr.CodeInvalidSdkAppId, "The SdkAppId %q is invalid: it must be 1 to 4294967295.", c.Param("SdkAppId"))
	}
	return id, nil
}

// decodeControlBody decodes a JSON body strictly: unknown fields and wrong types are
// errors naming the field.
func decodeControlBody(r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxControlBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tcerr.RequestSizeLimitExceeded(maxControlBody+1, maxControlBody)
	}
	if err != nil {
		return tcerr.InvalidParameter("body", "it could not be read")
	}
	return decodeControlJSON(body, dst)
}

// decodeControlJSON is decodeControlBody's decoding, of a body already read.
func decodeControlJSON(body []byte, dst any) error {
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' {
		return tcerr.New(tcerr.CodeInvalidParameter, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	if te, ok := tcerr.As(err); ok {
		return te // from a field's own UnmarshalJSON
	}
	switch {
	case err == nil:
		if dec.More() {
			return tcerr.New(tcerr.CodeInvalidParameter, "The request body has data after its JSON object.")
		}
		return nil
	case errors.Is(err, io.EOF):
		return tcerr.New(tcerr.CodeInvalidParameter, "The request body is empty: a JSON object is required.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tcerr.New(tcerr.CodeInvalidParameter, "The request body is not valid JSON: it ends too early.")
	case errors.As(err, &typeErr) && typeErr.Type != nil:
		return tcerr.InvalidParameter(typeErr.Field, "it must be a JSON "+typeErr.Type.Kind().String()+", got "+typeErr.Value)
	case errors.As(err, &syntaxErr):
		return tcerr.New(tcerr.CodeInvalidParameter, "The request body is not valid JSON: %s at byte %d.", syntaxErr.Error(), syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json reports unknown fields only in its message.
		return tcerr.UnknownParameter(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return tcerr.New(tcerr.CodeInvalidParameter, "The request body is not valid: %s.", err.Error())
}

// controlErrorHandler renders control API errors as HTTP 4xx/5xx with
// {"Error":{"Code","Message"}}.
func (h *Handlers) controlErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	te, ok := tcerr.As(err)
	var he *echo.HTTPError
	switch {
	case ok:
		status = controlStatus(te.Code)
	case errors.As(err, &he):
		status = he.Code
		code := tcerr.CodeResourceNotFound
		switch he.Code {
		case http.StatusMethodNotAllowed:
			code = tcerr.CodeUnsupportedProtocol
		case http.StatusRequestEntityTooLarge:
			code = tcerr.CodeRequestSizeLimit
		}
		te = tcerr.New(code, "%s %s: %v", c.Request().Method, c.Request().URL.Path, he.Message)
	default:
		h.log.Error("control API", "path", c.Request().URL.Path, "err", err)
		te = tcerr.InternalError("the request could not be completed")
	}
	_ = c.JSON(status, map[string]any{"Error": map[string]string{"Code": te.Code, "Message": te.Message}})
}

func controlStatus(code string) int {
	switch {
	case code == tcerr.CodeSdkAppIdNotExist || code == tcerr.CodeRoomNotExist || strings.HasPrefix(code, tcerr.CodeResourceNotFound):
		return http.StatusNotFound
	case strings.HasPrefix(code, "UnauthorizedOperation") || strings.HasPrefix(code, "AuthFailure"):
		return http.StatusForbidden
	case code == tcerr.CodeRequestSizeLimit:
		return http.StatusRequestEntityTooLarge
	case code == tcerr.CodeRequestLimitExceeded:
		return http.StatusTooManyRequests
	case code == models.CodeUserExist || code == CodeClockNotVirtual:
		return http.StatusConflict
	case code == models.CodeUserNotExist:
		return http.StatusNotFound
	case strings.HasPrefix(code, tcerr.CodeInternalError):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}
