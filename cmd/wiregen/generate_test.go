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

func realModel(t *testing.T) *model {
	t.Helper()
	needSDK(t)
	src, _, err := readInputs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	m, err := buildModel(src, actions, numericOverrides)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAllActionsFound(t *testing.T) {
	m := realModel(t)
	// The list of "### <Action>" headings under "## Actions" in the API contract.
	want := []string{
		"CreateCloudRecording", "DeleteCloudRecording", "DescribeCallDetailInfo", "DescribeCloudRecording",
		"DescribeRecordingUsage", "DescribeRelayUsage", "DescribeRoomInfo", "DescribeStreamIngest",
		"DescribeTrtcUsage", "DescribeUserEvent", "DescribeUserInfo", "DismissRoom",
		"DismissRoomByStrRoomId", "ModifyCloudRecording", "RemoveUser", "RemoveUserByStrRoomId",
		"SetUserBlocked", "SetUserBlockedByStrRoomId", "StartPublishCdnStream", "StartStreamIngest",
		"StopPublishCdnStream", "StopStreamIngest", "UpdatePublishCdnStream", "UpdateStreamIngest",
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
	for _, p := range []string{"/_emulator/health", "/_emulator/v1/info", "/_emulator/v1/apps/{SdkAppId}", "/?Action=CreateCloudRecording"} {
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
