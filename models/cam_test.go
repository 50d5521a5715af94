package models

import (
	"context"
	"strings"
	"testing"
)

// TestSubUsersAndKeys: a sub-user gets a uin of its own, acts for its root account through
// its keys (at most two), and a disabled or deleted key stops working.
func TestSubUsersAndKeys(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	user, key, err := h.AddSubUser(ctx, histUin, NewSubUser{Name: "ops", Remark: "operations", UseApi: true})
	if err != nil {
		t.Fatal(err)
	}
	if user.Uin == histUin || len(user.Uin) != 12 || key == nil || !strings.HasPrefix(key.SecretId, "AKID") || len(key.SecretKey) != 32 {
		t.Fatalf("user %+v key %+v", user, key)
	}
	_, _, err = h.AddSubUser(ctx, histUin, NewSubUser{Name: "ops"})
	wantCode(t, err, CodeSubUserNameInUse)
	_, _, err = h.AddSubUser(ctx, histUin, NewSubUser{Name: "bad name"})
	wantCode(t, err, CodeUserNameIllegal)

	got, ok, err := h.APIKey(ctx, key.SecretId)
	if err != nil || !ok || got.Uin != user.Uin || got.OwnerUin != histUin {
		t.Fatalf("lookup of the sub-user's key: %+v %v %v", got, ok, err)
	}
	root, _, _ := h.APIKey(ctx, testSeed.SecretId)
	if root.OwnerUin != histUin || root.Uin != histUin {
		t.Fatalf("root key %+v", root)
	}
	second, err := h.CreateAccessKey(ctx, histUin, histUin, user.Uin, "ci")
	if err != nil || second.Description != "ci" {
		t.Fatal(err)
	}
	_, err = h.CreateAccessKey(ctx, histUin, histUin, user.Uin, "")
	wantCode(t, err, CodeAccessKeyOverLimit)
	if keys, _ := h.AccessKeys(ctx, histUin, user.Uin, ""); len(keys) != 2 {
		t.Fatalf("the sub-user lists %d keys of its own", len(keys))
	}
	_, err = h.AccessKeys(ctx, histUin, histUin, "123456789012")
	wantCode(t, err, CodeSubUserNotExist)

	if err := h.SetAccessKey(ctx, histUin, histUin, user.Uin, key.SecretId, "Inactive"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.APIKey(ctx, key.SecretId); ok {
		t.Fatal("a disabled key still authenticates")
	}
	wantCode(t, h.DeleteSubUser(ctx, histUin, "ops", false), CodeHaveKeys)
	if err := h.DeleteSubUser(ctx, histUin, "ops", true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.APIKey(ctx, second.SecretId); ok {
		t.Fatal("a deleted user's key still authenticates")
	}
	_, err = h.SubUserByName(ctx, histUin, "ops")
	wantCode(t, err, CodeSubUserNotExist)
}

// TestPolicies: presets are shared and read-only, names are unique per account (presets
// included), attachments list in order and go with their policy.
func TestPolicies(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	if err := h.SeedPresets(ctx, []PresetPolicy{{Name: "QcloudTRTCFullAccess", Document: `{"version":"2.0"}`}, {Name: "QcloudTRTCReadOnlyAccess", Document: `{}`}}); err != nil {
		t.Fatal(err)
	}
	if err := h.SeedPresets(ctx, []PresetPolicy{{Name: "QcloudTRTCFullAccess", Document: `{"version":"2.0","statement":[]}`}}); err != nil {
		t.Fatal(err)
	}
	total, presets, err := h.Policies(ctx, histUin, PolicyQuery{Scope: "QCS", Page: 1, Rp: 20})
	if err != nil || total != 2 || presets[0].ID != 1 || presets[0].Document != `{"version":"2.0","statement":[]}` {
		t.Fatalf("presets %d %+v %v", total, presets, err)
	}
	_, err = h.CreatePolicy(ctx, histUin, "QcloudTRTCFullAccess", "", "{}")
	wantCode(t, err, CodePolicyNameInUse)
	_, err = h.CreatePolicy(ctx, histUin, "bad name", "", "{}")
	wantCode(t, err, CodePolicyNameError)
	p, err := h.CreatePolicy(ctx, histUin, "RecordOnly", "recording", `{"version":"2.0"}`)
	if err != nil || p.ID != 3 {
		t.Fatalf("create: %+v %v", p, err)
	}
	user, _, _ := h.AddSubUser(ctx, histUin, NewSubUser{Name: "svc"})
	wantCode(t, h.AttachPolicy(ctx, histUin, 99, user.Uin), CodePolicyIdNotFound)
	wantCode(t, h.AttachPolicy(ctx, histUin, p.ID, histUin), CodeSubUserNotExist)
	if err := h.AttachPolicy(ctx, histUin, p.ID, user.Uin); err != nil {
		t.Fatal(err)
	}
	h.now += 1000
	if err := h.AttachPolicy(ctx, histUin, 2, user.Uin); err != nil {
		t.Fatal(err)
	}
	if err := h.AttachPolicy(ctx, histUin, p.ID, user.Uin); err != nil {
		t.Fatalf("attaching twice: %v", err)
	}
	attached, _ := h.AttachedPolicies(ctx, histUin, user.Uin)
	if len(attached) != 2 || attached[0].Name != "RecordOnly" || attached[1].Name != "QcloudTRTCReadOnlyAccess" {
		t.Fatalf("attached %+v", attached)
	}
	if other, _ := h.AttachedPolicies(ctx, "999", user.Uin); len(other) != 0 {
		t.Fatal("another account sees the user's policies")
	}
	total, all, _ := h.Policies(ctx, histUin, PolicyQuery{Keyword: "Record", Page: 1, Rp: 20})
	if total != 1 || all[0].Attachments != 1 {
		t.Fatalf("keyword listing %d %+v", total, all)
	}
	wantCode(t, h.DeletePolicies(ctx, histUin, []uint64{2}), CodePolicyIdNotExist)
	if err := h.DeletePolicies(ctx, histUin, []uint64{p.ID}); err != nil {
		t.Fatal(err)
	}
	if attached, _ := h.AttachedPolicies(ctx, histUin, user.Uin); len(attached) != 1 {
		t.Fatalf("attachments of a deleted policy remain: %+v", attached)
	}
	if err := h.DetachPolicy(ctx, histUin, 2, user.Uin); err != nil {
		t.Fatal(err)
	}
	if attached, _ := h.AttachedPolicies(ctx, histUin, user.Uin); len(attached) != 0 {
		t.Fatalf("detached policy still attached: %+v", attached)
	}
}
