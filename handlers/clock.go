package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// DrivenClock is a clock users move through the control API (clock.Virtual).
type DrivenClock interface {
	clock.Clock
	Advance(ctx context.Context, d time.Duration) error
	Set(ctx context.Context, t time.Time) error
	Scale() float64
}

// CodeClockNotVirtual: the clock is moved on a server that runs on the wall clock.
const CodeClockNotVirtual = "FailedOperation.ClockNotVirtual"

// maxAdvance bounds one move of the clock: a typo cannot make the emulator simulate years.
const maxAdvance = 366 * 24 * time.Hour

// clockView is the control API's JSON form of the clock.
type clockView struct {
	Mode  string  `json:"Mode"` // "system" or "virtual"
	Now   string  `json:"Now"`  // RFC 3339, nanoseconds
	NowMs int64   `json:"NowMs"`
	Scale float64 `json:"Scale"` // virtual seconds per real second without a move; 1 on the system clock
}

func (h *Handlers) clockView() clockView {
	now := h.settings.Clock.Now()
	v := clockView{Mode: "system", Now: now.UTC().Format(time.RFC3339Nano), NowMs: now.UnixMilli(), Scale: 1}
	if d, ok := h.settings.Clock.(DrivenClock); ok {
		v.Mode, v.Scale = "virtual", d.Scale()
	}
	return v
}

func (h *Handlers) getClock(c echo.Context) error {
	return c.JSON(http.StatusOK, h.clockView())
}

// moveClock: {"Advance":"90s"} or {"Set":"2026-01-02T15:04:05Z"}. It answers once what was
// due up to the new time has happened (see clock.Virtual).
func (h *Handlers) moveClock(c echo.Context) error {
	var req struct {
		Advance *string `json:"Advance"`
		Set     *string `json:"Set"`
	}
	if err := decodeControlBody(c.Request(), &req); err != nil {
		return err
	}
	d, ok := h.settings.Clock.(DrivenClock)
	if !ok {
		return tcerr.New(CodeClockNotVirtual, "The emulator runs on the system clock: start it with TRTC_EMULATOR_CLOCK=virtual to move time.")
	}
	ctx := c.Request().Context()
	var err error
	switch {
	case (req.Advance == nil) == (req.Set == nil):
		return tcerr.New(tcerr.CodeInvalidParameter, "Give exactly one of Advance (a duration such as \"90s\") and Set (an RFC 3339 time).")
	case req.Advance != nil:
		by, perr := time.ParseDuration(*req.Advance)
		if perr != nil || by < 0 || by > maxAdvance {
			return tcerr.InvalidParameterValue("Advance", "it must be a duration from 0s to 8784h, such as \"90s\" or \"1h30m\"")
		}
		err = d.Advance(ctx, by)
	default:
		to, perr := time.Parse(time.RFC3339Nano, *req.Set)
		if perr != nil {
			return tcerr.InvalidParameterValue("Set", "it must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\"")
		}
		if now := d.Now(); to.Before(now) || to.Sub(now) > maxAdvance {
			return tcerr.InvalidParameterValue("Set", "it must be from the clock's time to 366 days later: virtual time never goes back")
		}
		err = d.Set(ctx, to)
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return c.JSON(http.StatusOK, h.clockView())
}
