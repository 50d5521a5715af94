package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/wire"
	"github.com/trtc-emulator/trtc-emulator/wire/camwire"
)

const secondApp = 1400000002

// camCall sends one CAM action (cam 2019-01-16) with the SDK.
func camCall(t testing.TB, c *common.Client, action string, params map[string]any) (map[string]any, error) {
	t.Helper()
	return callService(t, c, "cam", "2019-01-16", action, params)
}

func mustCAM(t testing.TB, c *common.Client, action string, params map[string]any) map[string]any {
	t.Helper()
	r, err := camCall(t, c, action, params)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return r
}

// camWorld is an emulator with a second application and helpers to make sub-users.
type camWorld struct {
	e    *emulator
	root *common.Client
}

func newCAMWorld(t *testing.T) *camWorld {
	e := startEmulator(t)
	if _, _, err := e.store.PutApp(context.Background(), testUin, secondApp, models.AppSettings{}); err != nil {
		t.Fatal(err)
	}
	return &camWorld{e: e, root: e.client()}
}

// user creates a sub-user with an API key and the given policies (custom documents or
// preset names) attached, and returns its client and uin.
func (w *camWorld) user(t *testing.T, name string, policies ...string) (*common.Client, uint64) {
	t.Helper()
	u := mustCAM(t, w.root, "AddUser", map[string]any{"Name": name, "UseApi": 1})
	uin := uint64(u["Uin"].(float64))
	for i, p := range policies {
		var id float64
		if strings.HasPrefix(p, "{") {
			id = mustCAM(t, w.root, "CreatePolicy", map[string]any{"PolicyName": fmt.Sprintf("%s-%d", name, i), "PolicyDocument": p})["PolicyId"].(float64)
		} else {
			id = w.presetId(t, p)
		}
		mustCAM(t, w.root, "AttachUserPolicy", map[string]any{"PolicyId": uint64(id), "AttachUin": uin})
	}
	return w.e.clientWithKey(u["SecretId"].(string), u["SecretKey"].(string)), uin
}

func (w *camWorld) presetId(t *testing.T, name string) float64 {
	t.Helper()
	list := mustCAM(t, w.root, "ListPolicies", map[string]any{"Scope": "QCS", "Keyword": name})["List"].([]any)
	for _, p := range list {
		if p := p.(map[string]any); p["PolicyName"] == name {
			return p["PolicyId"].(float64)
		}
	}
	t.Fatalf("no preset %s", name)
	return 0
}

func resourceOf(app int) string { return fmt.Sprintf("qcs::trtc::uin/%s:sdkappid/%d", testUin, app) }

// TestCAMSeedExamples: the seed's two examples, as a backend would set them up with the
// SDK's CAM client and then use the sub-user's key.
func TestCAMSeedExamples(t *testing.T) {
	w := newCAMWorld(t)
	// "Allow all on application 1400000001 but deny RemoveUser."
	doc := fmt.Sprintf(`{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:*"],"resource":[%q]},
		{"effect":"deny","action":["name/trtc:RemoveUser"],"resource":[%q]}]}`, resourceOf(testSdkAppId), resourceOf(testSdkAppId))
	c, uin := w.user(t, "no-remove", doc)
	_, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77})
	expectCode(t, err, "FailedOperation.RoomNotExist") // allowed: the room just is not open
	_, err = call(t, c, "RemoveUser", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77, "UserIds": []string{"a"}})
	expectCode(t, err, handlers.CodeUnauthorizedOperation)
	msg := err.(*tcerrors.TencentCloudSDKError).GetMessage()
	for _, want := range []string{"trtc:RemoveUser", resourceOf(testSdkAppId), fmt.Sprintf("uin/%s:uin/%d", testUin, uin), "no-remove-0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not name %q", msg, want)
		}
	}
	_, err = call(t, c, "DismissRoom", map[string]any{"SdkAppId": secondApp, "RoomId": 77})
	expectCode(t, err, handlers.CodeUnauthorizedOperation)

	// "Allow two applications by listing both resources."
	doc = fmt.Sprintf(`{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":[%q,%q]}]}`,
		resourceOf(testSdkAppId), resourceOf(secondApp))
	c, twoAppsUin := w.user(t, "two-apps", doc)
	for _, app := range []int{testSdkAppId, secondApp} {
		_, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": app, "RoomId": 77})
		expectCode(t, err, "FailedOperation.RoomNotExist")
	}
	_, err = call(t, c, "DismissRoom", map[string]any{"SdkAppId": 1400000003, "RoomId": 77})
	expectCode(t, err, handlers.CodeUnauthorizedOperation)

	// A disabled key stops at authentication, before CAM.
	keys := mustCAM(t, w.root, "ListAccessKeys", map[string]any{"TargetUin": uin})["AccessKeys"].([]any)
	id := keys[0].(map[string]any)["AccessKeyId"].(string)
	mustCAM(t, w.root, "UpdateAccessKey", map[string]any{"TargetUin": uin, "AccessKeyId": id, "Status": "Inactive"})
	_, err = call(t, w.e.clientWithKey(id, "whatever"), "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77})
	expectCode(t, err, "AuthFailure.SecretIdNotFound")
	// The message names the key masked, never whole (nor does the legacy signature's).
	masked := id[:4] + "****" + id[len(id)-4:]
	for _, opts := range [][]func(*profile.ClientProfile){nil, {func(p *profile.ClientProfile) { p.SignMethod = "HmacSHA256" }}} {
		_, err = call(t, w.e.clientWithKey(id, "whatever", opts...), "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77})
		expectCode(t, err, "AuthFailure.SecretIdNotFound")
		if msg := err.(*tcerrors.TencentCloudSDKError).GetMessage(); strings.Contains(msg, id) || !strings.Contains(msg, masked) {
			t.Errorf("SecretIdNotFound message %q: want %s, never the full SecretId", msg, masked)
		}
	}
	// UpdateAccessKey on a key of another user: the refusal masks the id too.
	_, err = camCall(t, w.root, "UpdateAccessKey", map[string]any{"TargetUin": twoAppsUin, "AccessKeyId": id, "Status": "Active"})
	if err == nil || strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), masked) {
		t.Errorf("UpdateAccessKey of another user's key: %v", err)
	}
}

// requiredParams builds a request with every required field set (values of the right JSON
// type; their meaning does not matter: CAM decides before the action runs).
func requiredParams(schema map[string]*wire.Struct, name string, app int) map[string]any {
	out := map[string]any{}
	for _, f := range schema[name].Fields {
		if f.Name == "SdkAppId" {
			out[f.Name] = app // the application CAM decides on, required or not
			continue
		}
		if !f.Required {
			continue
		}
		var v any
		switch f.Kind {
		case wire.KindString:
			v = "x1"
		case wire.KindStruct:
			v = requiredParams(schema, f.Struct, app)
		case wire.KindBool:
			v = true
		default:
			v = 1
		}
		if f.List {
			v = []any{v}
		}
		out[f.Name] = v
	}
	return out
}

// TestCAMActionsByPrincipal: every implemented TRTC and CAM action, called through the SDK
// by the root account and by sub-users with full access, read-only access, no policy, and
// access to application 1400000001 only: allowed or AuthFailure.UnauthorizedOperation as the
// seed's rules say.
func TestCAMActionsByPrincipal(t *testing.T) {
	w := newCAMWorld(t)
	full, _ := w.user(t, "full", "QcloudTRTCFullAccess")
	readOnly, _ := w.user(t, "readonly", "QcloudTRTCReadOnlyAccess")
	none, _ := w.user(t, "nopolicy")
	appScoped, _ := w.user(t, "app1", fmt.Sprintf(`{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":%q}]}`, resourceOf(testSdkAppId)))
	camAdmin, _ := w.user(t, "camadmin", `{"version":"2.0","statement":[{"effect":"allow","action":"name/cam:*","resource":"*"}]}`)

	names, requests := handlers.ActionTable()
	checked := 0
	for i, action := range names {
		if !handlers.Implemented(action) {
			continue
		}
		_, isCAM := camwire.Structs[requests[i]]
		schema := handlers.ActionSchema(action)
		for _, p := range []struct {
			who    string
			c      *common.Client
			app    int
			denied bool
		}{
			{"root", w.root, testSdkAppId, false},
			{"full", full, testSdkAppId, isCAM},
			{"readonly", readOnly, testSdkAppId, isCAM || !strings.HasPrefix(action, "Describe")},
			{"nopolicy", none, testSdkAppId, true},
			{"app1 on its app", appScoped, testSdkAppId, isCAM},
			{"app1 on another app", appScoped, secondApp, true},
			{"cam admin", camAdmin, testSdkAppId, !isCAM},
		} {
			if isCAM && p.app == secondApp {
				continue
			}
			params := requiredParams(schema, requests[i], p.app)
			var err error
			if isCAM {
				_, err = camCall(t, p.c, action, params)
			} else {
				_, err = call(t, p.c, action, params)
			}
			denied := sdkCode(t, err) == handlers.CodeUnauthorizedOperation
			if denied != p.denied {
				t.Errorf("%s by %s: denied=%v, want %v (err: %v)", action, p.who, denied, p.denied, err)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d calls checked", checked)
	}
}

// TestCAMPolicyRefusals: invalid documents are refused at CreatePolicy with the code that
// names the problem; unknown condition operators are not ignored.
func TestCAMPolicyRefusals(t *testing.T) {
	w := newCAMWorld(t)
	for _, c := range []struct{ doc, code string }{
		{`not json`, "InvalidParameter.PolicyDocumentError"},
		{`{"version":"1.0","statement":[{"effect":"allow","action":"*","resource":"*"}]}`, "InvalidParameter.VersionError"},
		{`{"version":"2.0","statement":[{"effect":"maybe","action":"*","resource":"*"}]}`, "InvalidParameter.EffectError"},
		{`{"version":"2.0","statement":[{"effect":"allow","resource":"*"}]}`, "InvalidParameter.ActionError"},
		{`{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"trtc:everything"}]}`, "InvalidParameter.ResourceError"},
		{`{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*","condition":{"ip_roughly":{"qcs:ip":"10.0.0.1"}}}]}`, "InvalidParameter.ConditionTypeError"},
	} {
		_, err := camCall(t, w.root, "CreatePolicy", map[string]any{"PolicyName": "p", "PolicyDocument": c.doc})
		expectCode(t, err, c.code)
	}
	mustCAM(t, w.root, "CreatePolicy", map[string]any{"PolicyName": "ok", "PolicyDocument": `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*"}]}`})
	_, err := camCall(t, w.root, "CreatePolicy", map[string]any{"PolicyName": "ok", "PolicyDocument": `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*"}]}`})
	expectCode(t, err, models.CodePolicyNameInUse)
	_, err = camCall(t, w.root, "AddUser", map[string]any{"Name": "with space"})
	expectCode(t, err, models.CodeUserNameIllegal)
}

// TestCAMConditionAndSimulator: a deny with an ip_equal condition applies only from that
// address; the control API's simulator gives the same decisions and names the statements.
func TestCAMConditionAndSimulator(t *testing.T) {
	w := newCAMWorld(t)
	doc := `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":"*"},
		{"effect":"deny","action":"name/trtc:Dismiss*","resource":"*","condition":{"ip_equal":{"qcs:ip":["127.0.0.0/8"]}}}]}`
	c, uin := w.user(t, "loopback-deny", doc)
	_, err := call(t, c, "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 7})
	expectCode(t, err, handlers.CodeUnauthorizedOperation) // the SDK calls from 127.0.0.1
	_, err = call(t, c, "RemoveUser", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 7, "UserIds": []string{"a"}})
	expectCode(t, err, "FailedOperation.RoomNotExist")

	simulate := func(body string) map[string]any {
		t.Helper()
		resp, err := http.Post("http://"+w.e.addr+"/_emulator/v1/cam/simulate", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("simulate %s: %d %v", body, resp.StatusCode, out)
		}
		return out
	}
	d := simulate(fmt.Sprintf(`{"Uin":"%d","Action":"DismissRoom","SdkAppId":%d,"SourceIp":"127.0.0.1"}`, uin, testSdkAppId))
	matches := d["Matches"].([]any)
	if d["Allowed"] != false || d["ExplicitDeny"] != true || len(matches) != 1 ||
		matches[0].(map[string]any)["Statement"] != 1.0 || d["Resource"] != resourceOf(testSdkAppId) {
		t.Fatalf("simulated %v", d)
	}
	d = simulate(fmt.Sprintf(`{"Uin":"%d","Action":"trtc:DismissRoom","SdkAppId":%d,"SourceIp":"10.1.2.3"}`, uin, testSdkAppId))
	if d["Allowed"] != true || d["Matches"].([]any)[0].(map[string]any)["Effect"] != "allow" {
		t.Fatalf("simulated from another address %v", d)
	}
	d = simulate(fmt.Sprintf(`{"SecretId":%q,"Action":"name/cam:ListUsers"}`, testSecretId))
	if d["Allowed"] != true || d["Root"] != true {
		t.Fatalf("root simulated %v", d)
	}
	// DescribeRecordStatistic has no resource-level authorization: only "*" statements count.
	scoped, scopedUin := w.user(t, "scoped", fmt.Sprintf(`{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":%q}]}`, resourceOf(testSdkAppId)))
	_ = scoped
	d = simulate(fmt.Sprintf(`{"Uin":"%d","Action":"DescribeRecordStatistic","SdkAppId":%d}`, scopedUin, testSdkAppId))
	if d["Allowed"] != false || d["Resource"] != "*" {
		t.Fatalf("non-resource-level action simulated %v", d)
	}
}
