package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const repoRoot = "../.."

// needSDK fails (or, with -short, skips) the test when the SDK packages
// that the generator reads are not installed.
func needSDK(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot, npmDir)); err != nil {
		if testing.Short() {
			t.Skip(errNoNodeModules)
		}
		t.Fatal(errNoNodeModules)
	}
}

func TestGeneratedUpToDate(t *testing.T) {
	needSDK(t)
	files, err := generate(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range staleFiles(repoRoot, files) {
		old, _ := os.ReadFile(filepath.Join(repoRoot, name))
		t.Errorf("%s is stale (%s): run `go run ./cmd/wiregen`", name, firstDiff(old, files[name]))
	}
	again, err := generate(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range outputNames {
		if !bytes.Equal(files[name], again[name]) {
			t.Errorf("%s differs between two runs", name)
		}
		if !bytes.Contains(bytes.SplitN(files[name], []byte("\n"), 2)[0], []byte(generatedHeader)) {
			t.Errorf("%s does not start with %q", name, generatedHeader)
		}
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "first difference at line " + strconv.Itoa(i+1) + ": " + strconv.Quote(al[i]) + " vs generated " + strconv.Quote(bl[i])
		}
	}
	return "lengths differ"
}

func realModel(t *testing.T, svc *service) *model {
	t.Helper()
	needSDK(t)
	m, err := buildServiceModel(repoRoot, svc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAllActionsFound(t *testing.T) {
	m := realModel(t, services[0])
	// The list of "### <Action>" headings under "## Actions" in the API contract, and the
	// legacy MCU actions (behaviour.md §7), sorted.
	want := []string{
		"CreateCloudRecording", "DeleteCloudRecording", "DescribeCallDetailInfo", "DescribeCloudRecording",
		"DescribeRecordingUsage", "DescribeRelayUsage", "DescribeRoomInfo", "DescribeStreamIngest",
		"DescribeTrtcUsage", "DescribeUserEvent", "DescribeUserInfo", "DismissRoom",
		"DismissRoomByStrRoomId", "ModifyCloudRecording", "RemoveUser", "RemoveUserByStrRoomId",
		"SetUserBlocked", "SetUserBlockedByStrRoomId",
		"StartMCUMixTranscode", "StartMCUMixTranscodeByStrRoomId", "StartPublishCdnStream", "StartStreamIngest",
		"StopMCUMixTranscode", "StopMCUMixTranscodeByStrRoomId", "StopPublishCdnStream", "StopStreamIngest",
		"UpdatePublishCdnStream", "UpdateStreamIngest",
	}
	// Only the legacy MCU actions take their docs from the China SDK.
	for _, a := range m.Actions {
		if mcu := strings.Contains(a.Name, "MCUMixTranscode"); mcu != (a.Note == "Only in the China SDK.") {
			t.Errorf("%s: note %q", a.Name, a.Note)
		}
	}
	var got []string
	for _, a := range m.Actions {
		got = append(got, a.Name)
		if a.Request != a.Name+"Request" || a.Response != a.Name+"Response" {
			t.Errorf("%s: structs %s / %s", a.Name, a.Request, a.Response)
		}
		req, resp := m.Structs[a.Request], m.Structs[a.Response]
		if req == nil || !req.IsRequest || resp == nil || !resp.IsResponse {
			t.Errorf("%s: request or response struct missing", a.Name)
			continue
		}
		if f, ok := fieldByName(resp, "RequestId"); !ok || f.Type != (fieldType{Kind: kString}) {
			t.Errorf("%s has no RequestId string", resp.Name)
		}
		if a.Doc == "" || strings.ContainsAny(a.Doc, "\n*") {
			t.Errorf("%s: doc %q is not a one-line summary", a.Name, a.Doc)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("actions = %v\nwant %v", got, want)
	}
	// Spot checks of facts the emulator depends on (api-protocol.md gotchas 7, 10, 15).
	checks := []struct {
		field string
		want  fieldType
		req   bool
	}{
		{"DismissRoomRequest.RoomId", fieldType{Kind: kUint}, true},
		{"DismissRoomByStrRoomIdRequest.RoomId", fieldType{Kind: kString}, true},
		{"SetUserBlockedRequest.RoomId", fieldType{Kind: kUint}, false},
		{"SetUserBlockedByStrRoomIdRequest.StrRoomId", fieldType{Kind: kString}, false},
		{"DescribeRoomInfoResponse.Total", fieldType{Kind: kInt}, false},
		{"DescribeUserInfoResponse.Total", fieldType{Kind: kUint}, false},
		{"DescribeUserEventResponse.Data", fieldType{Kind: kStruct, Struct: "EventList", List: true}, true},
		{"RoomState.IsFinished", fieldType{Kind: kBool}, false},
		{"TimeValue.Value", fieldType{Kind: kFloat}, false},
		{"TrtcUsage.UsageValue", fieldType{Kind: kFloat, List: true}, false},
		{"StartStreamIngestRequest.RepeatNum", fieldType{Kind: kInt}, false},
		{"StartStreamIngestRequest.RoomIdType", fieldType{Kind: kUint}, true},
		// The legacy MCU actions: RoomId a number, StrRoomId a string.
		{"StartMCUMixTranscodeRequest.RoomId", fieldType{Kind: kUint}, true},
		{"StartMCUMixTranscodeRequest.LayoutParams", fieldType{Kind: kStruct, Struct: "LayoutParams"}, true},
		{"StartMCUMixTranscodeRequest.PublishCdnParams", fieldType{Kind: kStruct, Struct: "PublishCdnParams"}, false},
		{"StartMCUMixTranscodeByStrRoomIdRequest.StrRoomId", fieldType{Kind: kString}, true},
		{"StopMCUMixTranscodeRequest.RoomId", fieldType{Kind: kUint}, true},
		{"StopMCUMixTranscodeByStrRoomIdRequest.StrRoomId", fieldType{Kind: kString}, true},
		{"OutputParams.StreamId", fieldType{Kind: kString}, true},
		{"EncodeParams.AudioBitrate", fieldType{Kind: kUint}, true},
		{"EncodeParams.VideoBitrate", fieldType{Kind: kUint}, false},
		{"LayoutParams.PresetLayoutConfig", fieldType{Kind: kStruct, Struct: "PresetLayoutConfig", List: true}, false},
		{"PublishCdnParams.PublishCdnUrls", fieldType{Kind: kString, List: true}, true},
		{"WaterMarkParams.WaterMarkId", fieldType{Kind: kUint}, true},
	}
	for _, c := range checks {
		sname, fname, _ := strings.Cut(c.field, ".")
		s := m.Structs[sname]
		if s == nil {
			t.Errorf("%s: struct missing", c.field)
			continue
		}
		f, ok := fieldByName(s, fname)
		if !ok || f.Type != c.want || f.Required != c.req {
			t.Errorf("%s = %+v (found %v), want %+v required=%v", c.field, f, ok, c.want, c.req)
		}
	}
}

// serviceNamed returns the service with the given API 3.0 name.
func serviceNamed(t *testing.T, name string) *service {
	t.Helper()
	for _, svc := range services {
		if svc.Name == name {
			return svc
		}
	}
	t.Fatalf("no service %s", name)
	return nil
}

func TestCAMActionsFound(t *testing.T) {
	m := realModel(t, serviceNamed(t, "cam"))
	// The CAM actions the emulator serves (api-protocol.md §6), sorted.
	want := []string{
		"AddUser", "AttachUserPolicy", "CreateAccessKey", "CreatePolicy", "DeleteAccessKey",
		"DeletePolicy", "DeleteUser", "DetachUserPolicy", "GetPolicy", "GetUser", "GetUserAppId",
		"ListAccessKeys", "ListAttachedUserPolicies", "ListPolicies", "ListUsers", "UpdateAccessKey",
		"UpdateUser",
	}
	var got []string
	for _, a := range m.Actions {
		got = append(got, a.Name)
		if f, ok := fieldByName(m.Structs[a.Response], "RequestId"); !ok || f.Type != (fieldType{Kind: kString}) {
			t.Errorf("%s has no RequestId string", a.Response)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("actions = %v\nwant %v", got, want)
	}
	if slices.Contains(m.OtherActions, "AddUser") || !slices.Contains(m.OtherActions, "ListAttachedUserAllPolicies") {
		t.Errorf("OtherActions = %v", m.OtherActions)
	}
	if s := m.Structs["ListUsersRequest"]; s == nil || len(s.Fields) != 0 {
		t.Errorf("ListUsersRequest (\"type ListUsersRequest = null\") = %+v, want a struct without fields", s)
	}
	// Spot checks against api-protocol.md §6.
	checks := []struct {
		field string
		want  fieldType
		req   bool
	}{
		{"CreatePolicyRequest.PolicyName", fieldType{Kind: kString}, true},
		{"CreatePolicyRequest.PolicyDocument", fieldType{Kind: kString}, true},
		{"CreatePolicyRequest.Description", fieldType{Kind: kString}, false},
		{"CreatePolicyResponse.PolicyId", fieldType{Kind: kUint}, false},
		{"AddUserRequest.Name", fieldType{Kind: kString}, true},
		{"AddUserRequest.UseApi", fieldType{Kind: kUint}, false},
		{"AddUserResponse.Uin", fieldType{Kind: kUint}, false},
		{"AddUserResponse.SecretId", fieldType{Kind: kString}, false},
		{"AddUserResponse.SecretKey", fieldType{Kind: kString}, false},
		{"DeletePolicyRequest.PolicyId", fieldType{Kind: kUint, List: true}, true},
		{"AttachUserPolicyRequest.AttachUin", fieldType{Kind: kUint}, true},
		{"CreateAccessKeyRequest.TargetUin", fieldType{Kind: kUint}, false},
		{"CreateAccessKeyResponse.AccessKey", fieldType{Kind: kStruct, Struct: "AccessKeyDetail"}, false},
		{"UpdateAccessKeyRequest.Status", fieldType{Kind: kString}, true},
		{"ListPoliciesResponse.List", fieldType{Kind: kStruct, Struct: "StrategyInfo", List: true}, false},
		{"GetUserAppIdResponse.Uin", fieldType{Kind: kString}, false},
		{"GetUserAppIdResponse.AppId", fieldType{Kind: kUint}, false},
	}
	for _, c := range checks {
		sname, fname, _ := strings.Cut(c.field, ".")
		s := m.Structs[sname]
		if s == nil {
			t.Errorf("%s: struct missing", c.field)
			continue
		}
		f, ok := fieldByName(s, fname)
		if !ok || f.Type != c.want || f.Required != c.req {
			t.Errorf("%s = %+v (found %v), want %+v required=%v", c.field, f, ok, c.want, c.req)
		}
	}
}

func TestComponentNames(t *testing.T) {
	first := &service{Name: "one"}
	second := &service{Name: "two", ComponentPrefix: "Two"}
	all := []serviceModel{
		{first, &model{Names: []string{"Tag", "ARequest"}}},
		{second, &model{Names: []string{"Tag", "App", "BRequest"}}},
	}
	control := []byte("components:\n  schemas:\n    App: {type: object}\n")
	got, err := componentNames(all, control)
	if err != nil {
		t.Fatal(err)
	}
	if got[first]["Tag"] != "Tag" || got[second]["Tag"] != "TwoTag" || got[second]["App"] != "TwoApp" || got[second]["BRequest"] != "BRequest" {
		t.Errorf("componentNames = %v", got)
	}
	all[0].m.Names = append(all[0].m.Names, "TwoTag")
	if _, err := componentNames(all, control); err == nil || !strings.Contains(err.Error(), "TwoTag is already used by one") {
		t.Errorf("componentNames with a prefixed name taken: error %v", err)
	}
}

func TestOpenAPI(t *testing.T) {
	needSDK(t)
	files, err := generate(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(files[openapiOut])
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/_emulator/health", "/_emulator/v1/info", "/_emulator/v1/apps/{SdkAppId}", "/?Action=CreateCloudRecording", "/?Action=CreatePolicy"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("path %s missing", p)
		}
	}
	if item := doc.Paths.Find("/_emulator/v1/apps/{SdkAppId}"); item != nil && (item.Get == nil || item.Put == nil) {
		t.Errorf("apps path lacks GET or PUT")
	}

	responseSchema := func(action string) *openapi3.Schema {
		op := doc.Paths.Find("/?Action=" + action).Post
		return op.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	}
	tests := []struct {
		name   string
		schema *openapi3.Schema
		body   string
		ok     bool
	}{
		{"success with null list", responseSchema("DescribeCloudRecording"),
			`{"Response":{"TaskId":"t","Status":"InProgress","StorageFileList":null,"RequestId":"r"}}`, true},
		{"error envelope", responseSchema("DescribeCloudRecording"),
			`{"Response":{"Error":{"Code":"InvalidParameter","Message":"m"},"RequestId":"r"}}`, true},
		{"wrong type", responseSchema("DescribeCloudRecording"), `{"Response":{"TaskId":1,"RequestId":"r"}}`, false},
		{"missing RequestId", responseSchema("DescribeCloudRecording"), `{"Response":{"TaskId":"t"}}`, false},
		{"request", doc.Components.Schemas["DismissRoomRequest"].Value, `{"SdkAppId":1400000001,"RoomId":1234}`, true},
		{"request with unknown key", doc.Components.Schemas["DismissRoomRequest"].Value,
			`{"SdkAppId":1400000001,"RoomId":1234,"Extra":1}`, false},
		{"request without required key", doc.Components.Schemas["DismissRoomRequest"].Value, `{"SdkAppId":1400000001}`, false},
		{"negative uint", doc.Components.Schemas["DismissRoomRequest"].Value, `{"SdkAppId":-1,"RoomId":1}`, false},
		{"nested unknown key", doc.Components.Schemas["CreateCloudRecordingRequest"].Value,
			`{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{"RecordMode":1,"X":1},"StorageParams":{}}`, false},
		{"cam request", doc.Components.Schemas["CreatePolicyRequest"].Value,
			`{"PolicyName":"p","PolicyDocument":"{\"version\":\"2.0\"}","Description":"d"}`, true},
		{"cam request without PolicyDocument", doc.Components.Schemas["CreatePolicyRequest"].Value, `{"PolicyName":"p"}`, false},
		{"cam response", responseSchema("AddUser"),
			`{"Response":{"Uin":100000000001,"Name":"u","SecretId":"AKID","SecretKey":"k","Uid":1,"RequestId":"r"}}`, true},
		{"callback target", doc.Components.Schemas["AppSettings"].Value,
			`{"Name":"demo","Callbacks":[{"EventGroupId":3,"Url":"https://example.com/cb"}]}`, true},
		{"callback group", doc.Components.Schemas["AppSettings"].Value,
			`{"Callbacks":[{"EventGroupId":5,"Url":"https://example.com/cb"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
				t.Fatal(err)
			}
			err := tt.schema.VisitJSON(v)
			if (err == nil) != tt.ok {
				t.Errorf("VisitJSON(%s) = %v, want ok=%v", tt.body, err, tt.ok)
			}
		})
	}
}

func TestOpenAPICAMOperations(t *testing.T) {
	needSDK(t)
	files, err := generate(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(files[openapiOut])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range camActions {
		item := doc.Paths.Find("/?Action=" + name)
		if item == nil || item.Post == nil {
			t.Errorf("%s: no post operation", name)
			continue
		}
		op := item.Post
		if !slices.Equal(op.Tags, []string{"cam"}) {
			t.Errorf("%s: tags %v, want [cam]", name, op.Tags)
		}
		var version *openapi3.Parameter
		for _, p := range op.Parameters {
			if p.Value != nil && p.Value.Name == "X-TC-Version" {
				version = p.Value
			}
		}
		if version == nil || len(version.Schema.Value.Enum) != 1 || version.Schema.Value.Enum[0] != "2019-01-16" {
			t.Errorf("%s: X-TC-Version parameter %+v, want enum [2019-01-16]", name, version)
		}
	}
}
