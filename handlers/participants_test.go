package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

// configureCallbacks points groups 1 and 2 of the test app at url with key.
func configureCallbacks(t *testing.T, e *emulator, url, key string) {
	t.Helper()
	configureCallbacksOrdered(t, e, url, key, "")
}

// configureCallbacksOrdered is configureCallbacks with a CallbackOrder for both groups.
func configureCallbacksOrdered(t *testing.T, e *emulator, url, key, order string) {
	t.Helper()
	body := fmt.Sprintf(`{"Callbacks":[{"EventGroupId":1,"Url":%q,"Key":%q,"CallbackOrder":%q},{"EventGroupId":2,"Url":%q,"Key":%q,"CallbackOrder":%q}]}`,
		url, key, order, url, key, order)
	if status, resp := controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000001", body); status != 200 {
		t.Fatalf("configure callbacks: %d %v", status, resp)
	}
}

// loggedEvent is a callback as the delivery log shows it.
type loggedEvent struct {
	Id           int64
	EventGroupId int
	EventType    int
	State        string
	Sign         string
	Body         json.RawMessage
	Attempts     []struct {
		At         time.Time
		DurationMs int64
		Body       json.RawMessage
		Sign       string
		StatusCode int
		Error      string
	}
}

// callbackLog returns the delivery log oldest first.
func callbackLog(t *testing.T, e *emulator, query string) []loggedEvent {
	t.Helper()
	resp, err := http.Get("http://" + e.addr + "/_emulator/v1/callbacks" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var log struct{ Callbacks []loggedEvent }
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil || resp.StatusCode != 200 {
		t.Fatalf("callback log: %d %v", resp.StatusCode, err)
	}
	events := log.Callbacks
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events
}

func eventTypes(events []loggedEvent) []int {
	out := make([]int, len(events))
	for i, ev := range events {
		out[i] = ev.EventType
	}
	return out
}

// eventInfo decodes a logged body and checks the envelope fields common to every event.
func eventInfo(t *testing.T, ev loggedEvent) map[string]any {
	t.Helper()
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(string(ev.Body)))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if g, _ := body["EventGroupId"].(json.Number).Int64(); int(g) != ev.EventGroupId {
		t.Fatalf("EventGroupId %v in body of a group %d event", body["EventGroupId"], ev.EventGroupId)
	}
	info := body["EventInfo"].(map[string]any)
	ms, _ := info["EventMsTs"].(json.Number).Int64()
	s, _ := info["EventTs"].(json.Number).Int64()
	cts, _ := body["CallbackTs"].(json.Number).Int64()
	if ms/1000 != s || cts < ms || time.Since(time.UnixMilli(ms)) > time.Minute {
		t.Fatalf("timestamps EventTs %d EventMsTs %d CallbackTs %d", s, ms, cts)
	}
	return info
}

func sameInts(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestParticipantsRecordRoomAndMediaEvents(t *testing.T) {
	e := startEmulator(t)
	configureCallbacks(t, e, "http://127.0.0.1:9/cb", "key123")
	for _, kind := range []struct {
		idType int
		roomId string
		wantId string // the RoomId as JSON in the bodies
	}{{1, "1234", "1234"}, {0, "1234", `"1234"`}} {
		before := len(callbackLog(t, e, ""))
		enter := fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":"alice","Role":20,"TerminalType":2,"UserType":1,"Publish":{"Video":true,"Audio":true},"Video":{"Width":640,"Height":360,"Fps":15}}`, kind.roomId, kind.idType)
		if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", enter); status != 200 || body["Role"] != 20.0 {
			t.Fatalf("enter: %d %v", status, body)
		}
		bob := fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":"bob","Role":21}`, kind.roomId, kind.idType)
		if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", bob); status != 200 {
			t.Fatalf("enter bob: %d %v", status, body)
		}
		// bob becomes an anchor and shares his screen, then goes back to audience.
		patch := fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":"bob","Role":20,"Publish":{"Substream":true}}`, kind.roomId, kind.idType)
		if status, body := controlDo(t, e, "PATCH", "/_emulator/v1/participants", patch); status != 200 {
			t.Fatalf("bob to anchor: %d %v", status, body)
		}
		patch = fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":"bob","Role":21}`, kind.roomId, kind.idType)
		if status, body := controlDo(t, e, "PATCH", "/_emulator/v1/participants", patch); status != 200 || body["Publish"].(map[string]any)["Substream"] != false {
			t.Fatalf("bob to audience: %d %v", status, body)
		}
		// alice turns her video off, then leaves; bob leaves last and the room closes.
		patch = fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":"alice","Publish":{"Video":false}}`, kind.roomId, kind.idType)
		if status, body := controlDo(t, e, "PATCH", "/_emulator/v1/participants", patch); status != 200 {
			t.Fatalf("alice video off: %d %v", status, body)
		}
		for _, u := range []string{"alice", "bob"} {
			leave := fmt.Sprintf(`{"RoomId":%q,"RoomIdType":%d,"UserId":%q}`, kind.roomId, kind.idType, u)
			if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants/leave", leave); status != 200 {
				t.Fatalf("leave %s: %d %v", u, status, body)
			}
		}
		events := callbackLog(t, e, "")[before:]
		want := []int{101, 103, 201, 203, 103, 105, 205, 105, 206, 202, 104, 104, 102}
		if !sameInts(eventTypes(events), want) {
			t.Fatalf("room %s: events %v, want %v", kind.wantId, eventTypes(events), want)
		}
		for _, ev := range events {
			info := eventInfo(t, ev)
			raw, _ := json.Marshal(info["RoomId"])
			if string(raw) != kind.wantId {
				t.Fatalf("event %d RoomId %s, want %s", ev.EventType, raw, kind.wantId)
			}
			if ev.State != "pending" || ev.Sign == "" {
				t.Fatalf("event %d: state %s sign %q", ev.EventType, ev.State, ev.Sign)
			}
		}
		enterInfo := eventInfo(t, events[1])
		if enterInfo["UserId"] != "alice" || enterInfo["Role"] != json.Number("20") || enterInfo["TerminalType"] != json.Number("2") ||
			enterInfo["UserType"] != json.Number("1") || enterInfo["Reason"] != json.Number("1") {
			t.Fatalf("103 info = %v", enterInfo)
		}
		if info := eventInfo(t, events[9]); info["Reason"] != json.Number("0") || info["UserId"] != "alice" {
			t.Fatalf("202 info = %v", info)
		}
		if info := eventInfo(t, events[10]); info["Role"] != json.Number("20") || info["Reason"] != json.Number("1") {
			t.Fatalf("104 info = %v", info)
		}
		if info := eventInfo(t, events[12]); len(info) != 3 {
			t.Fatalf("102 info has more than RoomId, EventTs, EventMsTs: %v", info)
		}
	}
}

func TestRemoveUserAndDismissRoomEvents(t *testing.T) {
	e := startEmulator(t)
	configureCallbacks(t, e, "http://127.0.0.1:9/cb", "")
	for _, u := range []string{"a", "b", "c"} {
		if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":77,"UserId":"`+u+`"}`); status != 200 {
			t.Fatalf("enter %s: %d %v", u, status, body)
		}
	}
	before := len(callbackLog(t, e, ""))
	if _, err := call(t, e.client(), "RemoveUser", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77, "UserIds": []string{"a", "nobody"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, e.client(), "DismissRoom", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77}); err != nil {
		t.Fatal(err)
	}
	events := callbackLog(t, e, "")[before:]
	if !sameInts(eventTypes(events), []int{104, 104, 104, 102}) {
		t.Fatalf("events %v", eventTypes(events))
	}
	for _, ev := range events[:3] {
		if info := eventInfo(t, ev); info["Reason"] != json.Number("3") {
			t.Fatalf("exit reason %v, want 3 (removed)", info["Reason"])
		}
		if ev.Sign != "" {
			t.Fatal("an empty key must send no Sign")
		}
	}
	_, err := call(t, e.client(), "RemoveUser", map[string]any{"SdkAppId": testSdkAppId, "RoomId": 77, "UserIds": []string{"a"}})
	expectCode(t, err, "FailedOperation.RoomNotExist")
	_, err = call(t, e.client(), "RemoveUserByStrRoomId", map[string]any{"SdkAppId": testSdkAppId, "RoomId": "r", "UserIds": make([]string, 11)})
	expectCode(t, err, "InvalidParameter.UserIds")
	if status, body := controlDo(t, e, "GET", "/_emulator/v1/rooms", ""); status != 200 || len(body["Rooms"].([]any)) != 0 {
		t.Fatalf("rooms after dismissal: %v", body)
	}
}

func TestTicketRefusals(t *testing.T) {
	e := startEmulator(t)
	now := time.Now()
	sig := func(user string, expire time.Duration, at time.Time) string {
		s, err := usersig.Gen(usersig.Params{SdkAppId: testSdkAppId, Key: testSdkSecretKey, UserId: user, Expire: expire, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pmk := func(user string, room uint32, strRoom string, priv uint32, expire time.Duration, at time.Time) string {
		k, err := usersig.GenPrivateMapKey(usersig.Params{SdkAppId: testSdkAppId, Key: testSdkSecretKey, UserId: user, Expire: expire, Now: at},
			usersig.PrivateMap{RoomId: room, StrRoomId: strRoom, Privileges: priv})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	enter := func(user, userSig, key, extra string) (int, string, string) {
		body := fmt.Sprintf(`{"RoomId":"55","UserId":%q,"UserSig":%q,"PrivateMapKey":%q%s}`, user, userSig, key, extra)
		status, resp := controlDo(t, e, "POST", "/_emulator/v1/participants", body)
		if status == 200 {
			return status, "", ""
		}
		errObj := resp["Error"].(map[string]any)
		return status, errObj["Code"].(string), errObj["Message"].(string)
	}
	cases := []struct {
		name, user, sig, key, extra string
		status                      int
		code, inMsg                 string
	}{
		{"expired UserSig", "u1", sig("u1", time.Hour, now.Add(-2*time.Hour)), "", "", 400, "InvalidParameter.UserSig", "expired"},
		{"UserSig of another user", "u1", sig("u2", time.Hour, now), "", "", 400, "InvalidParameter.UserSig", "user id"},
		{"garbage UserSig", "u1", "abc", "", "", 400, "InvalidParameter.UserSig", "u1"},
	}
	for _, c := range cases {
		status, code, msg := enter(c.user, c.sig, c.key, c.extra)
		if status != c.status || code != c.code || !strings.Contains(msg, c.inMsg) {
			t.Errorf("%s: %d %s %q", c.name, status, code, msg)
		}
	}

	// Advanced permission control on: the PrivateMapKey decides.
	if status, body := controlDo(t, e, "PUT", "/_emulator/v1/apps/1400000001", `{"AdvancedPermissionControl":true}`); status != 200 {
		t.Fatal(body)
	}
	apc := []struct {
		name, user, key, extra string
		status                 int
		code, inMsg            string
	}{
		{"no key", "u1", "", "", 400, "InvalidParameter.PrivateMapKey", "required"},
		{"expired key", "u1", pmk("u1", 55, "", 255, time.Hour, now.Add(-2*time.Hour)), "", 400, "InvalidParameter.PrivateMapKey", "expired"},
		{"other room", "u1", pmk("u1", 56, "", 255, time.Hour, now), "", 403, "UnauthorizedOperation.PrivateMapKey", "another room"},
		{"string room key for the integer room", "u1", pmk("u1", 0, "55", 255, time.Hour, now), "", 403, "UnauthorizedOperation.PrivateMapKey", "another room"},
		{"no create bit for a new room", "u1", pmk("u1", 55, "", 2|16, time.Hour, now), "", 403, "UnauthorizedOperation.PrivateMapKey", "bits 1"},
		{"creator", "u1", pmk("u1", 55, "", 1|2, time.Hour, now), "", 200, "", ""},
		{"no enter bit", "u2", pmk("u2", 55, "", 1|16, time.Hour, now), "", 403, "UnauthorizedOperation.PrivateMapKey", "bits 2"},
		{"no video bit", "u2", pmk("u2", 55, "", 2|4, time.Hour, now), `,"Publish":{"Video":true}`, 403, "UnauthorizedOperation.PrivateMapKey", "bits 16"},
		{"audience may enter", "u3", pmk("u3", 55, "", 2, time.Second*3, now), `,"Role":21`, 200, "", ""},
	}
	for _, c := range apc {
		status, code, msg := enter(c.user, sig(c.user, time.Hour, now), c.key, c.extra)
		if status != c.status || code != c.code || !strings.Contains(msg, c.inMsg) {
			t.Errorf("%s: %d %s %q", c.name, status, code, msg)
		}
	}
	// u3 switches to anchor without a sending bit, then with an expired key: removed.
	status, resp := controlDo(t, e, "PATCH", "/_emulator/v1/participants", fmt.Sprintf(`{"RoomId":"55","UserId":"u3","Role":20,"Publish":{"Audio":true},"PrivateMapKey":%q}`, pmk("u3", 55, "", 2, time.Hour, now)))
	if status != 403 {
		t.Fatalf("anchor without the audio bit: %d %v", status, resp)
	}
	status, resp = controlDo(t, e, "PATCH", "/_emulator/v1/participants", fmt.Sprintf(`{"RoomId":"55","UserId":"u3","Role":20,"PrivateMapKey":%q}`, pmk("u3", 55, "", 255, time.Hour, now.Add(-2*time.Hour))))
	if status != 400 || !strings.Contains(resp["Error"].(map[string]any)["Message"].(string), "removed") {
		t.Fatalf("anchor with an expired key: %d %v", status, resp)
	}
	_, rooms := controlDo(t, e, "GET", "/_emulator/v1/rooms", "")
	members := rooms["Rooms"].([]any)[0].(map[string]any)["Members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["UserId"] != "u1" {
		t.Fatalf("members after the expired switch: %v", members)
	}
}

func TestCustomMessages(t *testing.T) {
	e := startEmulator(t)
	for _, u := range []string{`"alice"`, `"bob","Role":21`} {
		if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":"9","UserId":`+u+`}`); status != 200 {
			t.Fatalf("enter: %d %v", status, body)
		}
	}
	send := func(user string, cmd int, data string, reliable, ordered bool) (int, map[string]any) {
		body := fmt.Sprintf(`{"RoomId":"9","UserId":%q,"CmdId":%d,"Data":%q,"Reliable":%t,"Ordered":%t}`, user, cmd, data, reliable, ordered)
		return controlDo(t, e, "POST", "/_emulator/v1/messages", body)
	}
	for i := 1; i <= 3; i++ {
		if status, body := send("alice", i, fmt.Sprintf("msg-%d", i), true, true); status != 200 {
			t.Fatalf("send %d: %d %v", i, status, body)
		}
	}
	bad := []struct {
		user          string
		cmd           int
		data          string
		reliable, ord bool
		status        int
		inMsg         string
	}{
		{"alice", 0, "x", false, false, 400, "CmdId"},
		{"alice", 11, "x", false, false, 400, "CmdId"},
		{"alice", 1, strings.Repeat("x", 1001), false, false, 400, "1000 bytes"},
		{"alice", 1, "", false, false, 400, "1000 bytes"},
		{"alice", 1, "x", true, false, 400, "Reliable and Ordered"},
		{"bob", 1, "x", false, false, 400, "anchors"},
		{"carol", 1, "x", false, false, 404, "not in room"},
	}
	for _, b := range bad {
		status, body := send(b.user, b.cmd, b.data, b.reliable, b.ord)
		msg, _ := body["Error"].(map[string]any)["Message"].(string)
		if status != b.status || !strings.Contains(msg, b.inMsg) {
			t.Errorf("%+v: %d %v", b, status, body)
		}
	}
	status, body := controlDo(t, e, "GET", "/_emulator/v1/messages?RoomId=9&UserId=bob", "")
	msgs, _ := body["Messages"].([]any)
	if status != 200 || len(msgs) != 3 {
		t.Fatalf("bob received: %d %v", status, body)
	}
	for i, m := range msgs {
		if m.(map[string]any)["Data"] != fmt.Sprintf("msg-%d", i+1) || m.(map[string]any)["Sender"] != "alice" {
			t.Fatalf("message %d = %v", i, m)
		}
	}
	if _, body := controlDo(t, e, "GET", "/_emulator/v1/messages?RoomId=9&UserId=alice", ""); len(body["Messages"].([]any)) != 0 {
		t.Fatalf("a sender receives its own messages: %v", body)
	}
	// The 8 KB a second limit: eight 1000-byte messages pass, the ninth does not.
	big := strings.Repeat("y", 1000)
	var limited bool
	for i := 0; i < 9; i++ {
		if status, _ := send("alice", 1, big, false, false); status == 429 {
			limited = true
		}
	}
	if !limited {
		t.Fatal("9 KB in a second was accepted")
	}
}

// TestPatchParticipantNamesTracks: PATCH changes only the tracks its Publish names
// (Audio:false keeps video on), and GET /rooms shows the picture published: the default
// 640x360@15 for a client entering without Video, 1280x720@10 for the substream.
func TestPatchParticipantNamesTracks(t *testing.T) {
	e := startEmulator(t)
	configureCallbacks(t, e, "http://127.0.0.1:9/cb", "key123")
	if status, body := controlDo(t, e, "POST", "/_emulator/v1/participants", `{"RoomId":31,"UserId":"alice","Publish":{"Video":true,"Audio":true}}`); status != 200 {
		t.Fatalf("enter: %d %v", status, body)
	}
	member := func() map[string]any {
		_, rooms := controlDo(t, e, "GET", "/_emulator/v1/rooms", "")
		return rooms["Rooms"].([]any)[0].(map[string]any)["Members"].([]any)[0].(map[string]any)
	}
	video := func(m map[string]any, field string) string {
		v := m[field].(map[string]any)
		return fmt.Sprintf("%vx%v@%v", v["Width"], v["Height"], v["Fps"])
	}
	m := member()
	if got := video(m, "Video"); got != "640x360@15" {
		t.Errorf("Video of a client entered without one: %s, want the recorded 640x360@15", got)
	}
	if got := video(m, "SubstreamVideo"); got != "1280x720@10" {
		t.Errorf("SubstreamVideo: %s", got)
	}
	before := len(callbackLog(t, e, ""))
	for _, step := range []struct{ patch, want string }{
		{`{"Audio":false}`, "map[Audio:false Substream:false Video:true]"},
		{`{}`, "map[Audio:false Substream:false Video:true]"},
		{`{"Substream":true}`, "map[Audio:false Substream:true Video:true]"},
		{`{"Video":false,"Audio":true}`, "map[Audio:true Substream:true Video:false]"},
	} {
		status, body := controlDo(t, e, "PATCH", "/_emulator/v1/participants", `{"RoomId":31,"UserId":"alice","Publish":`+step.patch+`}`)
		if status != 200 || fmt.Sprint(body["Publish"]) != step.want {
			t.Fatalf("PATCH Publish %s: %d %v, want Publish %s", step.patch, status, body, step.want)
		}
		if got := fmt.Sprint(member()["Publish"]); got != step.want {
			t.Fatalf("GET /rooms after PATCH %s: Publish %s, want %s", step.patch, got, step.want)
		}
	}
	// One callback per named change: 204 (audio off), 205 (substream on), 202 and 203.
	if got, want := eventTypes(callbackLog(t, e, "")[before:]), []int{204, 205, 202, 203}; !sameInts(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
