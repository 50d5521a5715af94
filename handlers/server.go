// Package handlers is the wire of the emulator: the Tencent Cloud API 3.0 endpoint
// (envelope, signature check through cam, strict decoding, the action table, rate limits)
// and the control API. It holds no business rules: each action decodes, checks shape,
// calls one models operation and encodes.
package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Settings configure the HTTP surface.
type Settings struct {
	Version     string
	Region      string // reported by /_emulator/v1/info
	Uin         string // the root account
	SdkAppId    uint64 // the default application
	APIEndpoint string // e.g. "http://127.0.0.1:4599"
	// RTMPEndpoint is announced by /_emulator/v1/info as Endpoints.Rtmp, and only when
	// set: by whoever runs an RTMP listener (none exists yet).
	RTMPEndpoint string
	// Streams, when set, lists what a member's streams carry in the media hub (for
	// GET /_emulator/v1/rooms): main calls the hub with the room's name there.
	Streams func(sdkAppId uint64, roomIdType int, roomId, userId string) []StreamInfo
	// AuthOff skips signature checks (every request acts as the root account), like
	// LocalStack's default; signatures are verified unless it is set.
	AuthOff bool
	// RateLimit is the default number of requests per second per action and caller
	// (Tencent's 20); 0 turns rate limiting off. RateLimits overrides it per action.
	RateLimit  float64
	RateLimits map[string]float64
	// Clock is the emulator's time (UserSigs it issues, CAM's qcs:current_time); TC3 and
	// rate limits stay on the wall clock, as the client that signs does. clock.System when nil.
	Clock clock.Clock
	// SignClock is the time TC3 and v1 signatures are checked against: the wall clock
	// (clock.System) unless a test skews it.
	SignClock clock.Clock
	Logger    *slog.Logger
	// Rescan is called after events already stored became due again (a redelivery), to
	// wake the dispatcher for them. (New events wake it through models' Store.OnChange.)
	Rescan func()
	// ObjectStore serves the embedded object store's S3 REST API under StoragePrefix
	// (path-style); nil when there is none.
	ObjectStore http.Handler
	// ControlToken, when set, must come as "Authorization: Bearer <token>" with every
	// control API request but the health check.
	ControlToken string
	// WHIP serves WHIP publishing under WHIPPrefix (its own Bearer tokens, not the
	// control token); nil when there is none. Announced as Endpoints.Whip.
	WHIP http.Handler
}

// WHIPPrefix is where WHIP answers on the main listener (media/whip.Prefix).
const WHIPPrefix = "/whip"

// StoragePrefix is where the embedded object store answers on the main listener.
const StoragePrefix = "/storage"

// Handlers serves the emulator's HTTP surface.
type Handlers struct {
	settings Settings
	store    *models.Store
	log      *slog.Logger
	limiter  *rateLimiter
	echo     *echo.Echo
}

// New builds the HTTP surface over a store.
func New(settings Settings, store *models.Store) *Handlers {
	if settings.SignClock == nil {
		settings.SignClock = clock.System
	}
	if settings.Clock == nil {
		settings.Clock = clock.System
	}
	if settings.Logger == nil {
		settings.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handlers{
		settings: settings,
		store:    store,
		log:      settings.Logger,
		limiter:  newRateLimiter(settings.RateLimit, settings.RateLimits),
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.controlErrorHandler
	e.Use(middleware.Recover()) // a control API bug answers 500 InternalError, never kills the process
	// API 3.0 answers on any path (an SDK endpoint may carry one, e.g. "host:port/trtc"),
	// except under /_emulator/, which belongs to the control API.
	e.Any("/", h.serveAPI)
	e.Any("/*", h.serveAPI)
	e.Any("/_emulator/*", func(echo.Context) error { return echo.ErrNotFound })
	h.routeControl(e)
	h.echo = e
	return h
}

// ServeHTTP makes Handlers an http.Handler. Object store requests go to it before any
// routing: a router would clean paths, and "../x" is a legal object key.
func (h *Handlers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.settings.ObjectStore != nil && strings.HasPrefix(r.URL.EscapedPath()+"/", StoragePrefix+"/") {
		h.settings.ObjectStore.ServeHTTP(w, r)
		return
	}
	if h.settings.WHIP != nil && (r.URL.Path == WHIPPrefix || strings.HasPrefix(r.URL.Path, WHIPPrefix+"/")) {
		h.settings.WHIP.ServeHTTP(w, r)
		return
	}
	if h.settings.ControlToken != "" && strings.HasPrefix(r.URL.Path, "/_emulator/") && r.URL.Path != "/_emulator/health" {
		if err := checkControlToken(r, h.settings.ControlToken); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trtc-emulator control API"`)
			writeControlError(w, http.StatusUnauthorized, err)
			return
		}
	}
	h.echo.ServeHTTP(w, r)
}

// Routes lists "METHOD path" of every route, for the OpenAPI conformance test. The API
// 3.0 catch-alls ("/", "/*") and the control API's not-found route are not listed.
func (h *Handlers) Routes() []string {
	var out []string
	for _, r := range h.echo.Routes() {
		if r.Path == "/" || r.Path == "/*" || r.Path == "/_emulator/*" {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// NewServer wraps the handler in an http.Server with the timeouts echo leaves unset:
// a slow-header client is cut off after 5 s.
func NewServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
}

// checkControlToken compares the request's bearer token with the configured one in
// constant time; neither appears in the error.
func checkControlToken(r *http.Request, token string) *tcerr.Error {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return tcerr.New(tcerr.CodeInvalidAuthorization, "The control API requires the header \"Authorization: Bearer <token>\" with the emulator's TRTC_EMULATOR_CONTROL_TOKEN.")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		return tcerr.New(tcerr.CodeInvalidAuthorization, "The control token is not the emulator's TRTC_EMULATOR_CONTROL_TOKEN.")
	}
	return nil
}

// writeControlError writes a control API error outside echo's error handler.
func writeControlError(w http.ResponseWriter, status int, te *tcerr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"Error": map[string]string{"Code": te.Code, "Message": te.Message}})
}
