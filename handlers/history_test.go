package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// callInto sends an action with the SDK and decodes its Response into the generated wire
// type, refusing unknown fields: a JSON type other than the wire type's fails the test.
func callInto(t *testing.T, c *common.Client, action string, params map[string]any, out any) error {
	t.Helper()
	req := tchttp.NewCommonRequest("trtc", "2019-07-22", action)
	if err := req.SetActionParameters(params); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return err
	}
	var body struct{ Response json.RawMessage }
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body.Response))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s response does not decode into its wire type: %v: %s", action, err, body.Response)
	}
	return nil
}

// participant drives the control API: enter (POST), change (PATCH) or leave.
func participant(t *testing.T, e *emulator, method, path, body string) {
	t.Helper()
	if status, resp := controlDo(t, e, method, "/_emulator/v1/participants"+path, body); status != 200 {
		t.Fatalf("%s participants%s %s: %d %v", method, path, body, status, resp)
	}
}

// openRoom returns the CommId and members of an open room as GET /_emulator/v1/rooms shows it.
func openRoom(t *testing.T, e *emulator, roomId string) (string, []map[string]any) {
	t.Helper()
	status, body := controlDo(t, e, "GET", "/_emulator/v1/rooms", "")
	if status != 200 {
		t.Fatalf("rooms: %d %v", status, body)
	}
	for _, r := range body["Rooms"].([]any) {
		room := r.(map[string]any)
		if room["RoomId"] == roomId {
			var members []map[string]any
			for _, m := range room["Members"].([]any) {
				members = append(members, m.(map[string]any))
			}
			return room["CommId"].(string), members
		}
	}
	t.Fatalf("room %s is not open: %v", roomId, body)
	return "", nil
}

// startHistory is an emulator whose store runs on a fake clock standing at a minute start.
func startHistory(t *testing.T) (*emulator, *clock.Fake, int64) {
	fake := clock.NewFake(time.Now().Truncate(time.Minute))
	return startDelivering(t, fake), fake, fake.Now().Unix()
}

func TestDescribeUserInfoThroughSDK(t *testing.T) {
	e, fake, t0 := startHistory(t)
	participant(t, e, "POST", "", `{"RoomId":555,"UserId":"alice","TerminalType":2}`)
	fake.Advance(time.Minute)
	participant(t, e, "POST", "", `{"RoomId":555,"UserId":"bob","TerminalType":3,"UserType":1}`)
	for i := 3; i <= 8; i++ {
		fake.Advance(10 * time.Second)
		participant(t, e, "POST", "", fmt.Sprintf(`{"RoomId":555,"UserId":"u%d","TerminalType":1}`, i))
	}
	commId, _ := openRoom(t, e, "555")
	fake.Set(time.Unix(t0+600, 0))
	participant(t, e, "POST", "/leave", `{"RoomId":555,"UserId":"alice"}`)
	fake.Advance(time.Minute)
	now := fake.Now().Unix()

	c := e.client()
	params := func(mod func(map[string]any)) map[string]any {
		p := map[string]any{"SdkAppId": testSdkAppId, "CommId": commId, "StartTime": t0, "EndTime": t0 + 3600}
		if mod != nil {
			mod(p)
		}
		return p
	}
	var resp wire.DescribeUserInfoResponse
	if err := callInto(t, c, "DescribeUserInfo", params(nil), &resp); err != nil {
		t.Fatal(err)
	}
	if *resp.Total != 8 || len(resp.UserList) != 6 {
		t.Fatalf("Total %d, %d rows; want 8 and the default 6", *resp.Total, len(resp.UserList))
	}
	alice, bob := resp.UserList[0], resp.UserList[1]
	if *alice.UserId != "alice" || *alice.RoomStr != "555" || *alice.JoinTs != uint64(t0) || *alice.LeaveTs != uint64(t0+600) ||
		!*alice.Finished || *alice.DeviceType != "Android" || *alice.ClientIp != "127.0.0.1" || *alice.SdkVersion != "trtc-emulator-virtual-client" {
		t.Fatalf("alice = %s", jsonText(alice))
	}
	if *bob.UserId != "bob" || *bob.JoinTs != uint64(t0+60) || *bob.LeaveTs != uint64(now) || *bob.Finished || *bob.DeviceType != "iOS" {
		t.Fatalf("bob (still in the room: LeaveTs is now %d) = %s", now, jsonText(bob))
	}

	// Raw JSON types: Total a number, Finished a boolean.
	raw, err := call(t, c, "DescribeUserInfo", params(nil))
	if err != nil {
		t.Fatal(err)
	}
	first := raw["UserList"].([]any)[0].(map[string]any)
	if _, ok := raw["Total"].(float64); !ok {
		t.Fatalf("Total is %T", raw["Total"])
	}
	if _, ok := first["Finished"].(bool); !ok {
		t.Fatalf("Finished is %T", first["Finished"])
	}

	for _, tc := range []struct {
		name  string
		mod   func(map[string]any)
		total uint64
		users []string
	}{
		{"page 1 of 5", func(p map[string]any) { p["PageNumber"], p["PageSize"] = 1, 5 }, 8, []string{"u6", "u7", "u8"}},
		{"PageSize alone keeps 6", func(p map[string]any) { p["PageSize"] = 2 }, 8, []string{"alice", "bob", "u3", "u4", "u5", "u6"}},
		{"UserIds", func(p map[string]any) { p["UserIds"] = []string{"u8", "bob", "zed"} }, 2, []string{"bob", "u8"}},
		{"window after alice left", func(p map[string]any) { p["StartTime"], p["EndTime"] = t0+601, t0+700 }, 7, []string{"bob", "u3", "u4", "u5", "u6", "u7"}},
		{"window before bob", func(p map[string]any) { p["StartTime"], p["EndTime"] = t0-60, t0+59 }, 1, []string{"alice"}},
	} {
		var r wire.DescribeUserInfoResponse
		if err := callInto(t, c, "DescribeUserInfo", params(tc.mod), &r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var users []string
		for _, u := range r.UserList {
			users = append(users, *u.UserId)
		}
		if *r.Total != tc.total || !slices.Equal(users, tc.users) {
			t.Errorf("%s: Total %d users %v; want %d %v", tc.name, *r.Total, users, tc.total, tc.users)
		}
	}

	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
		code string
	}{
		{"unknown CommId", func(p map[string]any) { p["CommId"] = fmt.Sprintf("%d_556_%d", testSdkAppId, t0) }, "InvalidParameter"},
		{"malformed CommId", func(p map[string]any) { p["CommId"] = "555" }, "InvalidParameter"},
		{"CommId missing", func(p map[string]any) { delete(p, "CommId") }, "MissingParameter"},
		{"span over 4 h", func(p map[string]any) { p["EndTime"] = t0 + 4*3600 + 1 }, "InvalidParameter.QueryScaleOversize"},
		{"15 days back", func(p map[string]any) { p["StartTime"] = now - 15*86400; p["EndTime"] = now - 15*86400 + 60 }, "InvalidParameter.StartTsOversize"},
		{"end before start", func(p map[string]any) { p["EndTime"] = t0 - 1 }, "InvalidParameter.EndTs"},
		{"PageSize 101", func(p map[string]any) { p["PageNumber"], p["PageSize"] = 0, 101 }, "InvalidParameter.PageSizeOversize"},
		{"PageSize 0", func(p map[string]any) { p["PageNumber"], p["PageSize"] = 0, 0 }, "InvalidParameter.PageSize"},
		{"101 UserIds", func(p map[string]any) { p["UserIds"] = make([]string, 101) }, "InvalidParameter.UserIds"},
		{"unknown app", func(p map[string]any) { p["SdkAppId"] = 1400000099 }, "FailedOperation.SdkAppIdNotExist"},
	} {
		_, err := call(t, c, "DescribeUserInfo", params(tc.mod))
		if got := sdkCode(t, err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// eventsText renders events as "+s id(p1,p2)/type" from t0 (Unix seconds).
func eventsText(list []wire.EventMessage, t0 int64) []string {
	var out []string
	for _, ev := range list {
		out = append(out, fmt.Sprintf("+%d %d(%d,%d)/%d", int64(*ev.Time)/1000-t0, *ev.EventId, *ev.ParamOne, *ev.ParamTwo, *ev.Type))
	}
	return out
}

func TestDescribeUserEventThroughSDK(t *testing.T) {
	e, fake, t0 := startHistory(t)
	participant(t, e, "POST", "", `{"RoomId":"ev-room","RoomIdType":0,"UserId":"alice","UserType":3,"Publish":{"Video":true,"Audio":true},"Video":{"Width":640,"Height":360,"Fps":15}}`)
	fake.Advance(30 * time.Second)
	participant(t, e, "POST", "", `{"RoomId":"ev-room","RoomIdType":0,"UserId":"bob","UserType":1,"Publish":{"Audio":true}}`)
	commId, _ := openRoom(t, e, "ev-room")
	fake.Advance(90 * time.Second)
	participant(t, e, "POST", "/leave", `{"RoomId":"ev-room","RoomIdType":0,"UserId":"alice"}`)
	fake.Advance(time.Minute)
	participant(t, e, "POST", "", `{"RoomId":"ev-room","RoomIdType":0,"UserId":"alice","Role":21}`)
	fake.Advance(time.Minute)
	c := e.client()
	if _, err := call(t, c, "RemoveUserByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "RoomId": "ev-room", "UserIds": []string{"alice"}}); err != nil {
		t.Fatal(err)
	}

	params := func(user string) map[string]any {
		return map[string]any{"SdkAppId": testSdkAppId, "CommId": commId, "RoomId": "ev-room", "UserId": user, "StartTime": t0, "EndTime": t0 + 86400}
	}
	var resp wire.DescribeUserEventResponse
	if err := callInto(t, c, "DescribeUserEvent", params("alice"), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 || *resp.Data[0].PeerId != "alice" {
		t.Fatalf("Data = %s", jsonText(resp.Data))
	}
	want := []string{
		"+0 5001(-1,-1)/0", "+0 5003(1,-1)/0", "+0 7000(0,-1)/0",
		"+0 4006(0,-1)/2", "+0 4007(640,360)/2", "+0 4008(15,-1)/2", "+0 3001(0,-1)/0",
		"+120 5008(1,-1)/0", "+120 7001(0,-1)/0",
		"+180 5001(-1,-1)/0", "+180 5003(1,-1)/0", "+180 7000(1,-1)/0",
		"+240 7001(2,-1)/0",
	}
	if got := eventsText(resp.Data[0].Content, t0); !slices.Equal(got, want) {
		t.Fatalf("alice's events:\n got %q\nwant %q", got, want)
	}
	if ms := *resp.Data[0].Content[0].Time; ms != uint64(t0*1000) {
		t.Fatalf("Time %d is not the entry in ms (%d)", ms, t0*1000)
	}

	// bob (WebRTC) is still in the room: the WebRTC table's ids.
	resp = wire.DescribeUserEventResponse{}
	if err := callInto(t, c, "DescribeUserEvent", params("bob"), &resp); err != nil {
		t.Fatal(err)
	}
	if got := eventsText(resp.Data[0].Content, t0); !slices.Equal(got, []string{"+30 32788(-1,-1)/0", "+30 32769(-1,-1)/0"}) {
		t.Fatalf("bob's events: %q", got)
	}
	// A window: only alice's first exit.
	p := params("alice")
	p["StartTime"], p["EndTime"] = t0+100, t0+150
	resp = wire.DescribeUserEventResponse{}
	if err := callInto(t, c, "DescribeUserEvent", p, &resp); err != nil {
		t.Fatal(err)
	}
	if got := eventsText(resp.Data[0].Content, t0); !slices.Equal(got, []string{"+120 5008(1,-1)/0", "+120 7001(0,-1)/0"}) {
		t.Fatalf("window [+100, +150]: %q", got)
	}
	// Nobody: Data is an empty array, not null.
	raw, err := call(t, c, "DescribeUserEvent", params("carol"))
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := raw["Data"].([]any); !ok || len(data) != 0 {
		t.Fatalf("Data for a user never there = %#v", raw["Data"])
	}

	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
		code string
	}{
		{"RoomId of another room", func(p map[string]any) { p["RoomId"] = "other" }, "InvalidParameter"},
		{"empty UserId", func(p map[string]any) { p["UserId"] = "" }, "InvalidParameter.UserId"},
		{"RoomId missing", func(p map[string]any) { delete(p, "RoomId") }, "MissingParameter"},
		{"end before start", func(p map[string]any) { p["EndTime"] = t0 - 1 }, "InvalidParameter.EndTs"},
		{"unknown CommId", func(p map[string]any) { p["CommId"] = fmt.Sprintf("%d_ev-room_%d", testSdkAppId, t0+1) }, "InvalidParameter"},
	} {
		p := params("alice")
		tc.mod(p)
		_, err := call(t, c, "DescribeUserEvent", p)
		if got := sdkCode(t, err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
}

func TestDescribeUserEventReportsPublishChanges(t *testing.T) {
	e, fake, t0 := startHistory(t)
	participant(t, e, "POST", "", `{"RoomId":9,"UserId":"alice","Publish":{"Video":true},"Video":{"Width":960,"Height":540,"Fps":20}}`)
	commId, _ := openRoom(t, e, "9")
	fake.Advance(time.Minute)
	participant(t, e, "PATCH", "", `{"RoomId":9,"UserId":"alice","Publish":{"Video":false,"Audio":true}}`)
	fake.Advance(time.Minute)
	participant(t, e, "PATCH", "", `{"RoomId":9,"UserId":"alice","Role":21}`)
	var resp wire.DescribeUserEventResponse
	err := callInto(t, e.client(), "DescribeUserEvent", map[string]any{"SdkAppId": testSdkAppId, "CommId": commId, "RoomId": "9",
		"UserId": "alice", "StartTime": t0, "EndTime": t0 + 3600}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+0 5001(-1,-1)/0", "+0 5003(1,-1)/0", "+0 7000(0,-1)/0",
		"+0 4006(0,-1)/2", "+0 4007(960,540)/2", "+0 4008(20,-1)/2",
		"+60 4006(1,-1)/2", "+60 3001(0,-1)/0",
		"+120 3001(2,-1)/0", // to audience: publishing stops; the role switch itself has no event id
	}
	if got := eventsText(resp.Data[0].Content, t0); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}

	// The quality series follow the same changes.
	var detail wire.DescribeCallDetailInfoResponse
	err = callInto(t, e.client(), "DescribeCallDetailInfo", map[string]any{"SdkAppId": testSdkAppId, "CommId": commId,
		"StartTime": t0, "EndTime": t0 + 3000, "DataType": []string{"bigvHeight", "aBit"}}, &detail)
	if err != nil {
		t.Fatal(err)
	}
	if got := qualityText(detail.Data, t0); !slices.Equal(got, []string{"alice aBit: 0 50000", "alice bigvHeight: 540 0"}) {
		t.Fatalf("quality: %q", got)
	}
}

// qualityText renders QualityData as "user<-peer type: v v" lines, one value a minute from
// t0; "@s" marks a point that does not follow the one before by a minute.
func qualityText(data []wire.QualityData, t0 int64) []string {
	var out []string
	for _, d := range data {
		line := *d.UserId
		if *d.PeerId != "" {
			line += "<-" + *d.PeerId
		}
		line += " " + *d.DataType + ":"
		next := uint64(t0)
		for _, p := range d.Content {
			if *p.Time != next {
				line += fmt.Sprintf(" @%d", int64(*p.Time)-t0)
			}
			line += fmt.Sprintf(" %g", *p.Value)
			next = *p.Time + 60
		}
		out = append(out, line)
	}
	return out
}

func TestDescribeCallDetailInfoThroughSDK(t *testing.T) {
	e, fake, t0 := startHistory(t)
	participant(t, e, "POST", "", `{"RoomId":"q","RoomIdType":0,"UserId":"alice","TerminalType":4,"Publish":{"Video":true,"Audio":true},"Video":{"Width":640,"Height":360,"Fps":15}}`)
	participant(t, e, "POST", "", `{"RoomId":"q","RoomIdType":0,"UserId":"bob","Publish":{"Audio":true}}`)
	participant(t, e, "POST", "", `{"RoomId":"q","RoomIdType":0,"UserId":"carol","Role":21}`)
	commId, _ := openRoom(t, e, "q")
	fake.Advance(3 * time.Minute)
	c := e.client()
	// An admin blocks alice's audio at 3 min: she keeps publishing, nothing is forwarded.
	if _, err := call(t, c, "SetUserBlockedByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "StrRoomId": "q", "UserId": "alice", "IsMute": 2}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Minute)

	params := func(mod func(map[string]any)) map[string]any {
		p := map[string]any{"SdkAppId": testSdkAppId, "CommId": commId, "StartTime": t0, "EndTime": t0 + 3000,
			"UserIds": []string{"alice"}, "DataType": []string{"bigvWidth", "aBit", "bigvCapFps", "aLoss"}}
		if mod != nil {
			mod(p)
		}
		return p
	}
	var resp wire.DescribeCallDetailInfoResponse
	if err := callInto(t, c, "DescribeCallDetailInfo", params(nil), &resp); err != nil {
		t.Fatal(err)
	}
	if *resp.Total != 1 || len(resp.UserList) != 1 || *resp.UserList[0].DeviceType != "Linux" || *resp.UserList[0].Finished {
		t.Fatalf("Total %d UserList %s", *resp.Total, jsonText(resp.UserList))
	}
	want := []string{
		"alice aBit: 50000 50000 50000 0",
		"alice bigvCapFps: 15 15 15 15",
		"alice aLoss: 0 0 0 0",
		"alice bigvWidth: 640 640 640 640",
		"alice<-bob aBit: 50000 50000 50000 50000",
		"alice<-bob aLoss: 0 0 0 0",
		"alice<-bob bigvWidth: 0 0 0 0",
	}
	if got := qualityText(resp.Data, t0); !slices.Equal(got, want) {
		t.Fatalf("quality:\n got %q\nwant %q", got, want)
	}
	raw, err := call(t, c, "DescribeCallDetailInfo", params(nil))
	if err != nil {
		t.Fatal(err)
	}
	point := raw["Data"].([]any)[0].(map[string]any)["Content"].([]any)[0].(map[string]any)
	if _, ok := point["Value"].(float64); !ok || point["Time"] != float64(t0) {
		t.Fatalf("TimeValue = %v", point)
	}

	// Without DataType: the user list only, up to 4 h and 100 a page.
	resp = wire.DescribeCallDetailInfoResponse{}
	err = callInto(t, c, "DescribeCallDetailInfo", params(func(p map[string]any) {
		delete(p, "DataType")
		delete(p, "UserIds")
		p["EndTime"] = t0 + 3*3600
	}), &resp)
	if err != nil || *resp.Total != 3 || len(resp.UserList) != 3 || len(resp.Data) != 0 {
		t.Fatalf("user list only: %v %s", err, jsonText(resp))
	}

	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
		code string
	}{
		{"unknown DataType", func(p map[string]any) { p["DataType"] = []string{"aBit", "fps"} }, "InvalidParameter"},
		{"over 1 h with DataType", func(p map[string]any) { p["EndTime"] = t0 + 3601 }, "InvalidParameter.QueryScaleOversize"},
		{"over 4 h without", func(p map[string]any) { delete(p, "DataType"); p["EndTime"] = t0 + 4*3600 + 1 }, "InvalidParameter.QueryScaleOversize"},
		{"PageSize 7 with DataType", func(p map[string]any) { p["PageNumber"], p["PageSize"] = 0, 7 }, "InvalidParameter.PageSize"},
		{"7 UserIds with DataType", func(p map[string]any) { p["UserIds"] = []string{"a", "b", "c", "d", "e", "f", "g"} }, "InvalidParameter.UserIdsMorethanSix"},
		{"unknown CommId", func(p map[string]any) { p["CommId"] = "1400000001_q_1" }, "InvalidParameter"},
	} {
		_, err := call(t, c, "DescribeCallDetailInfo", params(tc.mod))
		if got := sdkCode(t, err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
}

func TestSetUserBlockedThroughSDK(t *testing.T) {
	e := startEmulator(t)
	configureCallbacks(t, e, "http://127.0.0.1:9/cb", "")
	participant(t, e, "POST", "", `{"RoomId":1234,"UserId":"alice","Publish":{"Video":true,"Audio":true}}`)
	participant(t, e, "POST", "", `{"RoomId":"s-1","RoomIdType":0,"UserId":"bob","Publish":{"Audio":true}}`)
	before := len(callbackLog(t, e, ""))
	c := e.client()
	blocked := func(roomId, user string) (float64, map[string]any) {
		t.Helper()
		_, members := openRoom(t, e, roomId)
		for _, m := range members {
			if m["UserId"] == user {
				return m["Blocked"].(float64), m["Publish"].(map[string]any)
			}
		}
		t.Fatalf("%s is not in room %s", user, roomId)
		return 0, nil
	}
	for _, mute := range []int{1, 3, 3, 0, 2} {
		var resp wire.SetUserBlockedResponse
		if err := callInto(t, c, "SetUserBlocked", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1234, "UserId": "alice", "IsMute": mute}, &resp); err != nil {
			t.Fatalf("IsMute %d: %v", mute, err)
		}
		if got, pub := blocked("1234", "alice"); got != float64(mute) || pub["Video"] != true || pub["Audio"] != true {
			t.Fatalf("after IsMute %d: Blocked %v, Publish %v", mute, got, pub)
		}
	}
	var resp wire.SetUserBlockedByStrRoomIdResponse
	if err := callInto(t, c, "SetUserBlockedByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "StrRoomId": "s-1", "UserId": "bob", "IsMute": 1}, &resp); err != nil {
		t.Fatal(err)
	}
	if got, _ := blocked("s-1", "bob"); got != 1 {
		t.Fatalf("bob Blocked %v, want 1", got)
	}
	if events := callbackLog(t, e, "")[before:]; len(events) != 0 {
		t.Fatalf("blocking sent callbacks %v; 202/204 are for a user turning their own media off", eventTypes(events))
	}

	intParams := func(mod func(map[string]any)) map[string]any {
		p := map[string]any{"SdkAppId": testSdkAppId, "RoomId": 1234, "UserId": "alice", "IsMute": 1}
		mod(p)
		return p
	}
	strParams := func(mod func(map[string]any)) map[string]any {
		p := map[string]any{"SdkAppId": testSdkAppId, "StrRoomId": "s-1", "UserId": "bob", "IsMute": 1}
		mod(p)
		return p
	}
	for _, tc := range []struct {
		name, action string
		params       map[string]any
		code         string
	}{
		{"user not in the room", "SetUserBlocked", intParams(func(p map[string]any) { p["UserId"] = "bob" }), "FailedOperation.UserNotExist"},
		{"no such room", "SetUserBlocked", intParams(func(p map[string]any) { p["RoomId"] = 999 }), "FailedOperation.RoomNotExist"},
		{"string room 1234 is not room 1234", "SetUserBlockedByStrRoomId", strParams(func(p map[string]any) { p["StrRoomId"], p["UserId"] = "1234", "alice" }), "FailedOperation.RoomNotExist"},
		{"IsMute 4", "SetUserBlocked", intParams(func(p map[string]any) { p["IsMute"] = 4 }), "InvalidParameter"},
		{"RoomId 0", "SetUserBlocked", intParams(func(p map[string]any) { p["RoomId"] = 0 }), "InvalidParameter.RoomId"},
		{"no SdkAppId", "SetUserBlocked", intParams(func(p map[string]any) { delete(p, "SdkAppId") }), "MissingParameter.SdkAppId"},
		{"no RoomId", "SetUserBlocked", intParams(func(p map[string]any) { delete(p, "RoomId") }), "MissingParameter.RoomId"},
		{"no StrRoomId", "SetUserBlockedByStrRoomId", strParams(func(p map[string]any) { delete(p, "StrRoomId") }), "MissingParameter.RoomId"},
		{"no UserId", "SetUserBlockedByStrRoomId", strParams(func(p map[string]any) { delete(p, "UserId") }), "MissingParameter.UserId"},
		{"no IsMute", "SetUserBlocked", intParams(func(p map[string]any) { delete(p, "IsMute") }), "MissingParameter"},
		{"RoomId as a string", "SetUserBlocked", intParams(func(p map[string]any) { p["RoomId"] = "1234" }), "InvalidParameter"},
		{"unknown app", "SetUserBlockedByStrRoomId", strParams(func(p map[string]any) { p["SdkAppId"] = 1400000099 }), "FailedOperation.SdkAppIdNotExist"},
	} {
		_, err := call(t, c, tc.action, tc.params)
		if got := sdkCode(t, err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
		if tc.code == "MissingParameter" || strings.HasPrefix(tc.code, "MissingParameter.") {
			if field := strings.TrimPrefix(tc.name, "no "); !strings.Contains(err.Error(), "`"+field+"`") {
				t.Errorf("%s: message %q does not name the field", tc.name, err)
			}
		}
	}
}
