package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// simulateBody asks whether a principal may run an action: the principal by one of its
// keys (SecretId) or by uin.
type simulateBody struct {
	SecretId string  `json:"SecretId"`
	Uin      string  `json:"Uin"`
	Action   string  `json:"Action"` // "DismissRoom", "trtc:DismissRoom", "name/cam:ListUsers"
	SdkAppId *uint64 `json:"SdkAppId"`
	SourceIp string  `json:"SourceIp"`
}

type simulateMatch struct {
	PolicyId   uint64 `json:"PolicyId"`
	PolicyName string `json:"PolicyName"`
	Statement  int    `json:"Statement"`
	Effect     string `json:"Effect"`
}

type simulateView struct {
	Allowed      bool            `json:"Allowed"`
	ExplicitDeny bool            `json:"ExplicitDeny"`
	Root         bool            `json:"Root"`
	Principal    string          `json:"Principal"`
	Action       string          `json:"Action"`
	Resource     string          `json:"Resource"`
	Matches      []simulateMatch `json:"Matches"`
}

// simulateCAM is the policy simulator: the decision CAM would take, and the statements
// that took it, without running the action.
func (h *Handlers) simulateCAM(c echo.Context) error {
	var body simulateBody
	if err := decodeControlBody(c.Request(), &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	q := camQuestion{Service: "trtc", SdkAppId: body.SdkAppId, SourceIP: body.SourceIp}
	name := strings.TrimPrefix(body.Action, "name/")
	if svc, act, ok := strings.Cut(name, ":"); ok {
		q.Service, name = svc, act
	}
	q.Action = name
	switch {
	case q.Action == "":
		return tcerr.MissingParameter("Action")
	case q.Service != "trtc" && q.Service != "cam":
		return tcerr.InvalidParameterValue("Action", "the service is trtc or cam")
	case body.SecretId != "":
		k, ok, err := h.store.APIKey(ctx, body.SecretId)
		if err != nil {
			return err
		}
		if !ok {
			return tcerr.SecretIdNotFound(body.SecretId)
		}
		q.Owner, q.User = k.OwnerUin, k.Uin
	case body.Uin != "":
		owner, err := h.store.OwnerOf(ctx, body.Uin)
		if err != nil {
			return err
		}
		q.Owner, q.User = owner, body.Uin
	default:
		return tcerr.MissingParameter("SecretId or Uin")
	}
	a, err := h.decide(ctx, q)
	if err != nil {
		return err
	}
	view := simulateView{Allowed: a.Allowed, ExplicitDeny: a.ExplicitDeny, Root: a.Root, Principal: a.Principal,
		Action: q.Service + ":" + q.Action, Resource: a.Resource, Matches: []simulateMatch{}}
	for _, m := range a.Matches {
		view.Matches = append(view.Matches, simulateMatch{PolicyId: m.PolicyID, PolicyName: m.Policy, Statement: m.Statement, Effect: m.Effect})
	}
	return c.JSON(http.StatusOK, view)
}
