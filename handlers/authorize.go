package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/policy"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// CodeUnauthorizedOperation is CAM's refusal of an action.
const CodeUnauthorizedOperation = "AuthFailure.UnauthorizedOperation"

// camQuestion is one authorization question: who (owner and user uins) wants to run what.
type camQuestion struct {
	Owner, User     string
	Service, Action string
	SdkAppId        *uint64
	SourceIP        string
}

// camAnswer is the decision with what it was about.
type camAnswer struct {
	policy.Decision
	Principal string
	Resource  string // "*" for actions without resource-level authorization
	Root      bool
}

// docCache keeps parsed policy documents by their text: a request evaluates the user's
// attached policies without parsing them again.
var docCache sync.Map

func parsedDoc(text string) *policy.Document {
	if d, ok := docCache.Load(text); ok {
		return d.(*policy.Document)
	}
	d, err := policy.Parse([]byte(text))
	if err != nil {
		return nil // stored documents were validated; a preset that changed shape grants nothing
	}
	docCache.Store(text, d)
	return d
}

// decide evaluates CAM for q (seed "Access Management"): the root account is always
// allowed; a sub-user needs an attached policy allowing the action on the application's
// resource (qcs::trtc::uin/<owner>:sdkappid/<SdkAppId>), and no deny. Actions without
// resource-level authorization (and requests without SdkAppId, and CAM's own actions)
// match only statements whose resource is "*".
func (h *Handlers) decide(ctx context.Context, q camQuestion) (*camAnswer, error) {
	a := &camAnswer{Principal: models.Principal(q.Owner, q.User), Resource: "*", Root: q.User == "" || q.User == q.Owner}
	req := policy.Request{Service: q.Service, Action: q.Action, Context: map[string][]string{
		"qcs:current_time": {h.settings.Clock.Now().UTC().Format(time.RFC3339)}}}
	if q.SourceIP != "" {
		req.Context["qcs:ip"] = []string{q.SourceIP}
	}
	if q.Service == "trtc" && q.SdkAppId != nil && policy.ResourceLevel(q.Action) {
		req.Resource = policy.Resource(q.Owner, *q.SdkAppId)
		a.Resource = req.Resource
	}
	if a.Root {
		a.Allowed = true
		return a, nil
	}
	attached, err := h.store.AttachedPolicies(ctx, q.Owner, q.User)
	if err != nil {
		return nil, err
	}
	policies := make([]policy.Policy, 0, len(attached))
	for _, p := range attached {
		policies = append(policies, policy.Policy{Name: p.Name, ID: p.ID, Doc: parsedDoc(p.Document)})
	}
	a.Decision = policy.Evaluate(policies, req)
	return a, nil
}

// refusal is the error of a denied decision, naming the action, resource and principal.
func (a *camAnswer) refusal(service, action string) error {
	why := "no attached policy allows it"
	if a.ExplicitDeny && len(a.Matches) > 0 {
		m := a.Matches[0]
		why = fmt.Sprintf("statement %d of policy %s (%d) denies it", m.Statement, m.Policy, m.PolicyID)
	}
	return tcerr.New(CodeUnauthorizedOperation, "You are not authorized to perform operation (%s:%s) on resource (%s) as principal (%s): %s.",
		service, action, a.Resource, a.Principal, why)
}

// sdkAppIdOf reads SdkAppId from a checked request (checkParams), when it has one.
func sdkAppIdOf(checked map[string]any) *uint64 {
	n, ok := checked["SdkAppId"].(json.Number)
	if !ok {
		return nil
	}
	id, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return nil
	}
	return &id
}

// remoteIP is the caller's address without its port.
func remoteIP(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "[]")
}

// SeedPresets installs CAM's preset policies (QcloudTRTCFullAccess, QcloudTRTCReadOnlyAccess)
// in the store; a start keeps their ids.
func SeedPresets(ctx context.Context, store *models.Store) error {
	var presets []models.PresetPolicy
	for _, p := range policy.Presets() {
		presets = append(presets, models.PresetPolicy{Name: p.Name, Description: p.Description, Document: p.Document})
	}
	return store.SeedPresets(ctx, presets)
}

// presetAlias is GetPolicy's PresetAlias of a preset.
func presetAlias(name string) string {
	for _, p := range policy.Presets() {
		if p.Name == name {
			return p.PresetAlias
		}
	}
	return ""
}
