package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Request size limits Tencent documents for API 3.0 (cloud.tencent.com/document/product/1278/46710).
const (
	maxTC3PostBody = 10 << 20 // POST signed with TC3-HMAC-SHA256
	maxV1PostBody  = 1 << 20  // POST signed with HmacSHA1/HmacSHA256
	maxGetQuery    = 32 << 10 // GET
)

// API versions and the services they name.
const (
	versionTRTC = "2019-07-22"
	versionCAM  = "2019-01-16"
)

// apiRequest is one API 3.0 call after its transport has been read.
type apiRequest struct {
	action, version string
	region          string
	signed          *cam.Request
	v1Params        url.Values     // set for the legacy signature style
	params          map[string]any // action parameters, not yet checked
}

// serveAPI answers POST/GET / . Every outcome is HTTP 200 with a {"Response":…} envelope,
// as Tencent does (the Node SDK turns any other status into an error without a code).
func (h *Handlers) serveAPI(c echo.Context) error {
	start := time.Now()
	requestId := uuid.NewString()
	r := c.Request()
	if id := r.Header.Get("X-TC-TraceId"); id != "" {
		c.Response().Header().Set("X-TC-TraceId", id)
	}
	action := r.Header.Get("X-TC-Action")
	resp, err := func() (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("panic in API handler", "panic", p, "request_id", requestId)
				resp, err = nil, tcerr.InternalError("the request could not be completed")
			}
		}()
		req, err := h.readAPIRequest(r)
		if err != nil {
			return nil, err
		}
		action = req.action
		return h.call(r, requestId, req)
	}()
	body := envelope(requestId, resp, err)
	code := "OK"
	if err != nil {
		code = tcerr.CodeInternalError
		if te, ok := tcerr.As(err); ok {
			code = te.Code
		} else {
			h.log.Error("internal error", "action", action, "request_id", requestId, "err", err)
		}
	}
	if h.log.Enabled(r.Context(), slog.LevelDebug) { // spares the arguments' allocations
		h.log.Debug("api call", "action", action, "code", code, "request_id", requestId, "duration", time.Since(start))
	}
	return c.JSONBlob(http.StatusOK, body)
}

// envelope renders {"Response":{…,"RequestId"}} or {"Response":{"Error":{…},"RequestId"}}.
func envelope(requestId string, resp any, err error) []byte {
	if err == nil {
		if r, ok := resp.(interface{ SetRequestId(string) }); ok {
			r.SetRequestId(requestId)
			if b, merr := json.Marshal(resp); merr == nil {
				out := make([]byte, 0, len(b)+len(`{"Response":}`))
				return append(append(append(out, `{"Response":`...), b...), '}')
			}
		}
		err = tcerr.InternalError("the response could not be encoded")
	}
	te, ok := tcerr.As(err)
	if !ok {
		te = tcerr.InternalError("the request could not be completed")
	}
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{
		"Error":     map[string]string{"Code": te.Code, "Message": te.Message},
		"RequestId": requestId,
	}})
	return b
}

// readAPIRequest reads the transport of a call: which signature style, which action,
// and the raw parameters, within Tencent's size limits.
func (h *Handlers) readAPIRequest(r *http.Request) (*apiRequest, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, tcerr.New(tcerr.CodeUnsupportedProtocol, "The HTTP method %s is not supported: use POST or GET.", r.Method)
	}
	if r.Method == http.MethodGet && len(r.URL.RawQuery) > maxGetQuery {
		return nil, tcerr.RequestSizeLimitExceeded(int64(len(r.URL.RawQuery)), maxGetQuery)
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tc3 := r.Header.Get("Authorization") != "" || r.Header.Get("X-TC-Action") != ""
	limit := int64(maxTC3PostBody)
	if !tc3 {
		limit = maxV1PostBody
	}
	body, err := readLimited(r, limit)
	if err != nil {
		return nil, err
	}
	signed := &cam.Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header, Body: body}
	req := &apiRequest{signed: signed}
	if tc3 {
		req.action, req.version = r.Header.Get("X-TC-Action"), r.Header.Get("X-TC-Version")
		req.region = r.Header.Get("X-TC-Region")
		switch {
		case req.action == "":
			return nil, tcerr.MissingParameter("X-TC-Action")
		case req.version == "":
			return nil, tcerr.MissingParameter("X-TC-Version")
		}
		switch {
		case r.Method == http.MethodGet:
			req.params, err = parseFormParams(r.URL.Query(), nil)
		case mediaType == "application/x-www-form-urlencoded":
			var form url.Values
			if form, err = url.ParseQuery(string(body)); err != nil {
				return nil, tcerr.InvalidParameter("body", "it is not a valid form")
			}
			req.params, err = parseFormParams(form, nil)
		default:
			req.params, err = parseJSONParams(body)
		}
		return req, err
	}
	// Legacy style: every parameter, Action and Signature included, in the query or form.
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		if mediaType != "application/x-www-form-urlencoded" && mediaType != "" {
			return nil, tcerr.InvalidAuthorization("a request without an Authorization header must carry a form body signed with HmacSHA1 or HmacSHA256")
		}
		if values, err = url.ParseQuery(string(body)); err != nil {
			return nil, tcerr.InvalidParameter("body", "it is not a valid form")
		}
	}
	if values.Get("Signature") == "" && values.Get("Action") == "" {
		return nil, tcerr.InvalidAuthorization("the Authorization header is missing")
	}
	req.action, req.version, req.region = values.Get("Action"), values.Get("Version"), values.Get("Region")
	switch {
	case req.action == "":
		return nil, tcerr.MissingParameter("Action")
	case req.version == "":
		return nil, tcerr.MissingParameter("Version")
	}
	req.v1Params = values
	req.params, err = parseFormParams(values, cam.V1Params)
	return req, err
}

func readLimited(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tcerr.RequestSizeLimitExceeded(r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, tcerr.RequestSizeLimitExceeded(limit+1, limit)
	}
	if err != nil {
		return nil, tcerr.InvalidParameter("body", "it could not be read")
	}
	return body, nil
}

// call authenticates the caller, finds the action, applies the rate limit and runs it.
func (h *Handlers) call(r *http.Request, requestId string, req *apiRequest) (any, error) {
	caller, err := h.authenticate(r.Context(), req)
	if err != nil {
		return nil, err
	}
	table, err := h.service(r.Host, req.version)
	if err != nil {
		return nil, err
	}
	act, known := table[req.action]
	if !known {
		return nil, tcerr.InvalidAction(req.action, req.version)
	}
	if act.run == nil {
		return nil, tcerr.UnsupportedOperation(req.action)
	}
	if ok, limit := h.limiter.allow(req.action, caller.SecretId); !ok {
		return nil, tcerr.RequestLimitExceeded(req.action, limit)
	}
	checked, err := checkParams(act.schema, act.request, req.params)
	if err != nil {
		return nil, err
	}
	service := "trtc"
	if req.version == versionCAM {
		service = "cam"
	}
	if !caller.Root() {
		answer, err := h.decide(r.Context(), camQuestion{Owner: caller.Uin, User: caller.User, Service: service,
			Action: req.action, SdkAppId: sdkAppIdOf(checked), SourceIP: remoteIP(r.RemoteAddr)})
		if err != nil {
			return nil, err
		}
		if !answer.Allowed {
			return nil, answer.refusal(service, req.action)
		}
	}
	call := &Call{Ctx: r.Context(), RequestId: requestId, Action: req.action, Region: req.region, Caller: caller}
	return act.run(h, call, checked)
}

func (h *Handlers) authenticate(ctx context.Context, req *apiRequest) (cam.Key, error) {
	lookup := func(secretId string) (cam.Key, bool, error) {
		k, ok, err := h.store.APIKey(ctx, secretId)
		return cam.Key{SecretId: k.SecretId, SecretKey: k.SecretKey, Uin: k.OwnerUin, User: k.Uin}, ok, err
	}
	if h.settings.AuthOff {
		return cam.Key{SecretId: "auth-off", Uin: h.settings.Uin, User: h.settings.Uin}, nil
	}
	now := h.settings.SignClock.Now() // the client signs with its wall clock, virtual or not
	if req.v1Params != nil {
		return cam.VerifyV1(req.signed, req.v1Params, lookup, now)
	}
	return cam.VerifyTC3(req.signed, lookup, now)
}
