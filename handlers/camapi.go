package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/policy"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire/camwire"
)

// camImplemented maps each built CAM action (2019-01-16) to its handler.
var camImplemented = map[string]func(*Handlers, *Call, map[string]any) (any, error){
	"AddUser":                  handle((*Handlers).AddUser),
	"GetUser":                  handle((*Handlers).GetUser),
	"ListUsers":                handle((*Handlers).ListUsers),
	"UpdateUser":               handle((*Handlers).UpdateUser),
	"DeleteUser":               handle((*Handlers).DeleteUser),
	"CreateAccessKey":          handle((*Handlers).CreateAccessKey),
	"ListAccessKeys":           handle((*Handlers).ListAccessKeys),
	"UpdateAccessKey":          handle((*Handlers).UpdateAccessKey),
	"DeleteAccessKey":          handle((*Handlers).DeleteAccessKey),
	"CreatePolicy":             handle((*Handlers).CreatePolicy),
	"GetPolicy":                handle((*Handlers).GetPolicy),
	"ListPolicies":             handle((*Handlers).ListPolicies),
	"DeletePolicy":             handle((*Handlers).DeletePolicy),
	"AttachUserPolicy":         handle((*Handlers).AttachUserPolicy),
	"DetachUserPolicy":         handle((*Handlers).DetachUserPolicy),
	"ListAttachedUserPolicies": handle((*Handlers).ListAttachedUserPolicies),
	"GetUserAppId":             handle((*Handlers).GetUserAppId),
}

// camActions is the action table of cam 2019-01-16.
var camActions = func() map[string]action {
	t := make(map[string]action, len(camwire.Actions))
	for _, a := range camwire.Actions {
		t[a.Name] = action{request: a.Request, schema: camwire.Structs, run: camImplemented[a.Name]}
	}
	for _, name := range camwire.OtherActions {
		t[name] = action{}
	}
	for name := range camImplemented {
		if _, ok := t[name]; !ok {
			panic("handlers: " + name + " is implemented but not in the CAM wire schema")
		}
	}
	return t
}()

// camTime is CAM's time format ("2024-01-02 15:04:05", UTC+8 in the real service; UTC here).
func camTime(ms int64) *string { return ptr(time.UnixMilli(ms).UTC().Format(time.DateTime)) }

func uinNumber(uin string) *uint64 {
	n, _ := strconv.ParseUint(uin, 10, 64)
	return &n
}

func uinText(v *uint64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatUint(*v, 10)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (h *Handlers) AddUser(c *Call, req *camwire.AddUserRequest) (*camwire.AddUserResponse, error) {
	user, key, err := h.store.AddSubUser(c.Ctx, c.Caller.Uin, models.NewSubUser{Name: *req.Name, Remark: deref(req.Remark),
		PhoneNum: deref(req.PhoneNum), CountryCode: deref(req.CountryCode), Email: deref(req.Email),
		ConsoleLogin: int(deref(req.ConsoleLogin)), UseApi: deref(req.UseApi) == 1})
	if err != nil {
		return nil, err
	}
	resp := &camwire.AddUserResponse{Uin: uinNumber(user.Uin), Uid: uinNumber(user.Uin), Name: &user.Name}
	if key != nil {
		resp.SecretId, resp.SecretKey = &key.SecretId, &key.SecretKey
	}
	return resp, nil
}

func (h *Handlers) GetUser(c *Call, req *camwire.GetUserRequest) (*camwire.GetUserResponse, error) {
	u, err := h.store.SubUserByName(c.Ctx, c.Caller.Uin, *req.Name)
	if err != nil {
		return nil, err
	}
	return &camwire.GetUserResponse{Uin: uinNumber(u.Uin), Uid: uinNumber(u.Uin), Name: &u.Name, Remark: &u.Remark,
		ConsoleLogin: ptr(uint64(u.ConsoleLogin)), PhoneNum: &u.PhoneNum, CountryCode: &u.CountryCode, Email: &u.Email}, nil
}

func (h *Handlers) ListUsers(c *Call, _ *camwire.ListUsersRequest) (*camwire.ListUsersResponse, error) {
	users, err := h.store.SubUsers(c.Ctx, c.Caller.Uin)
	if err != nil {
		return nil, err
	}
	data := make([]camwire.SubAccountInfo, len(users))
	for i, u := range users {
		data[i] = camwire.SubAccountInfo{Uin: uinNumber(u.Uin), Uid: uinNumber(u.Uin), Name: ptr(u.Name), NickName: ptr(u.Name),
			Remark: ptr(u.Remark), ConsoleLogin: ptr(uint64(u.ConsoleLogin)), PhoneNum: ptr(u.PhoneNum),
			CountryCode: ptr(u.CountryCode), Email: ptr(u.Email), CreateTime: camTime(u.CreatedAtMs)}
	}
	return &camwire.ListUsersResponse{Data: data}, nil
}

func (h *Handlers) UpdateUser(c *Call, req *camwire.UpdateUserRequest) (*camwire.UpdateUserResponse, error) {
	change := models.SubUserChange{Remark: req.Remark, PhoneNum: req.PhoneNum, CountryCode: req.CountryCode, Email: req.Email}
	if req.ConsoleLogin != nil {
		change.ConsoleLogin = ptr(int(*req.ConsoleLogin))
	}
	return &camwire.UpdateUserResponse{}, h.store.UpdateSubUser(c.Ctx, c.Caller.Uin, *req.Name, change)
}

func (h *Handlers) DeleteUser(c *Call, req *camwire.DeleteUserRequest) (*camwire.DeleteUserResponse, error) {
	return &camwire.DeleteUserResponse{}, h.store.DeleteSubUser(c.Ctx, c.Caller.Uin, *req.Name, deref(req.Force) == 1)
}

func (h *Handlers) CreateAccessKey(c *Call, req *camwire.CreateAccessKeyRequest) (*camwire.CreateAccessKeyResponse, error) {
	k, err := h.store.CreateAccessKey(c.Ctx, c.Caller.Uin, c.Caller.User, uinText(req.TargetUin), deref(req.Description))
	if err != nil {
		return nil, err
	}
	return &camwire.CreateAccessKeyResponse{AccessKey: &camwire.AccessKeyDetail{AccessKeyId: &k.SecretId, SecretAccessKey: &k.SecretKey,
		Status: &k.Status, Description: &k.Description, CreateTime: camTime(k.CreatedAt.UnixMilli())}}, nil
}

func (h *Handlers) ListAccessKeys(c *Call, req *camwire.ListAccessKeysRequest) (*camwire.ListAccessKeysResponse, error) {
	keys, err := h.store.AccessKeys(c.Ctx, c.Caller.Uin, c.Caller.User, uinText(req.TargetUin))
	if err != nil {
		return nil, err
	}
	out := make([]camwire.AccessKey, len(keys))
	for i, k := range keys {
		out[i] = camwire.AccessKey{AccessKeyId: ptr(k.SecretId), Status: ptr(k.Status), Description: ptr(k.Description),
			CreateTime: camTime(k.CreatedAt.UnixMilli())}
	}
	return &camwire.ListAccessKeysResponse{AccessKeys: out}, nil
}

func (h *Handlers) UpdateAccessKey(c *Call, req *camwire.UpdateAccessKeyRequest) (*camwire.UpdateAccessKeyResponse, error) {
	err := h.store.SetAccessKey(c.Ctx, c.Caller.Uin, c.Caller.User, uinText(req.TargetUin), *req.AccessKeyId, *req.Status)
	return &camwire.UpdateAccessKeyResponse{}, err
}

func (h *Handlers) DeleteAccessKey(c *Call, req *camwire.DeleteAccessKeyRequest) (*camwire.DeleteAccessKeyResponse, error) {
	err := h.store.SetAccessKey(c.Ctx, c.Caller.Uin, c.Caller.User, uinText(req.TargetUin), *req.AccessKeyId, "")
	return &camwire.DeleteAccessKeyResponse{}, err
}

// policyError turns a refused document into the CAM error naming the problem.
func policyError(err error) error {
	var pe *policy.Error
	if errors.As(err, &pe) {
		return tcerr.New(pe.Code, "%s", pe.Message)
	}
	return err
}

func (h *Handlers) CreatePolicy(c *Call, req *camwire.CreatePolicyRequest) (*camwire.CreatePolicyResponse, error) {
	if _, err := policy.Parse([]byte(*req.PolicyDocument)); err != nil {
		return nil, policyError(err)
	}
	p, err := h.store.CreatePolicy(c.Ctx, c.Caller.Uin, *req.PolicyName, deref(req.Description), *req.PolicyDocument)
	if err != nil {
		return nil, err
	}
	return &camwire.CreatePolicyResponse{PolicyId: &p.ID}, nil
}

func (h *Handlers) GetPolicy(c *Call, req *camwire.GetPolicyRequest) (*camwire.GetPolicyResponse, error) {
	p, err := h.store.PolicyByID(c.Ctx, c.Caller.Uin, *req.PolicyId)
	if err != nil {
		return nil, err
	}
	resp := &camwire.GetPolicyResponse{PolicyName: &p.Name, Description: &p.Description, Type: ptr(uint64(p.Type)),
		AddTime: camTime(p.CreatedAtMs), UpdateTime: camTime(p.UpdatedAtMs), PolicyDocument: &p.Document,
		IsServiceLinkedRolePolicy: ptr(uint64(0))}
	if p.Type == models.PolicyPreset {
		resp.PresetAlias = ptr(presetAlias(p.Name))
	}
	return resp, nil
}

func (h *Handlers) ListPolicies(c *Call, req *camwire.ListPoliciesRequest) (*camwire.ListPoliciesResponse, error) {
	q := models.PolicyQuery{Scope: deref(req.Scope), Keyword: deref(req.Keyword), Page: int(deref(req.Page)), Rp: int(deref(req.Rp))}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Rp == 0 {
		q.Rp = 20
	}
	if q.Page > 200 || q.Rp > 200 {
		return nil, tcerr.New(models.CodeParamError, "Page and Rp are 1 to 200.")
	}
	total, rows, err := h.store.Policies(c.Ctx, c.Caller.Uin, q)
	if err != nil {
		return nil, err
	}
	list := make([]camwire.StrategyInfo, len(rows))
	for i, p := range rows {
		createMode := uint64(2) // written in the policy syntax
		if p.Type == models.PolicyPreset {
			createMode = 1
		}
		list[i] = camwire.StrategyInfo{PolicyId: ptr(p.ID), PolicyName: ptr(p.Name), Description: ptr(p.Description),
			Type: ptr(uint64(p.Type)), AddTime: camTime(p.CreatedAtMs), UpdateTime: camTime(p.UpdatedAtMs), CreateMode: &createMode,
			Attachments: ptr(uint64(p.Attachments)), AttachEntityCount: ptr(uint64(p.Attachments)), ServiceType: ptr("trtc"),
			IsAttached: ptr(uint64(min(p.Attachments, 1))), Deactived: ptr(uint64(0)), IsServiceLinkedPolicy: ptr(uint64(0))}
	}
	return &camwire.ListPoliciesResponse{TotalNum: ptr(uint64(total)), List: list, ServiceTypeList: []string{"trtc"}}, nil
}

func (h *Handlers) DeletePolicy(c *Call, req *camwire.DeletePolicyRequest) (*camwire.DeletePolicyResponse, error) {
	if len(req.PolicyId) == 0 {
		return nil, tcerr.New("InvalidParameter.PolicyIdError", "PolicyId lists no policy.")
	}
	return &camwire.DeletePolicyResponse{}, h.store.DeletePolicies(c.Ctx, c.Caller.Uin, req.PolicyId)
}

func (h *Handlers) AttachUserPolicy(c *Call, req *camwire.AttachUserPolicyRequest) (*camwire.AttachUserPolicyResponse, error) {
	return &camwire.AttachUserPolicyResponse{}, h.store.AttachPolicy(c.Ctx, c.Caller.Uin, *req.PolicyId, uinText(req.AttachUin))
}

func (h *Handlers) DetachUserPolicy(c *Call, req *camwire.DetachUserPolicyRequest) (*camwire.DetachUserPolicyResponse, error) {
	return &camwire.DetachUserPolicyResponse{}, h.store.DetachPolicy(c.Ctx, c.Caller.Uin, *req.PolicyId, uinText(req.DetachUin))
}

func (h *Handlers) ListAttachedUserPolicies(c *Call, req *camwire.ListAttachedUserPoliciesRequest) (*camwire.ListAttachedUserPoliciesResponse, error) {
	uin := uinText(req.TargetUin)
	if err := h.store.CheckSubUser(c.Ctx, c.Caller.Uin, uin); err != nil {
		return nil, err
	}
	attached, err := h.store.AttachedPolicies(c.Ctx, c.Caller.Uin, uin)
	if err != nil {
		return nil, err
	}
	page, rp := max(int(deref(req.Page)), 1), int(deref(req.Rp))
	if rp == 0 {
		rp = 20
	}
	from := min((page-1)*rp, len(attached))
	to := min(from+rp, len(attached))
	list := make([]camwire.AttachPolicyInfo, 0, to-from)
	for _, p := range attached[from:to] {
		kind, mode := "User", uint64(2)
		if p.Type == models.PolicyPreset {
			kind, mode = "QCS", 1
		}
		list = append(list, camwire.AttachPolicyInfo{PolicyId: ptr(p.ID), PolicyName: ptr(p.Name), AddTime: camTime(p.AttachedAtMs),
			CreateMode: &mode, PolicyType: &kind, Remark: ptr(p.Description), OperateOwnerUin: ptr(c.Caller.Uin),
			OperateUin: ptr(c.Caller.User), OperateUinType: ptr(uint64(0)), Deactived: ptr(uint64(0))})
	}
	return &camwire.ListAttachedUserPoliciesResponse{TotalNum: ptr(uint64(len(attached))), List: list}, nil
}

func (h *Handlers) GetUserAppId(c *Call, _ *camwire.GetUserAppIdRequest) (*camwire.GetUserAppIdResponse, error) {
	return &camwire.GetUserAppIdResponse{Uin: ptr(c.Caller.User), OwnerUin: ptr(c.Caller.Uin), AppId: uinNumber(c.Caller.Uin)}, nil
}
