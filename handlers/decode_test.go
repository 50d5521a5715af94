package handlers

import (
	"encoding/json"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
	"github.com/trtc-emulator/trtc-emulator/wire/camwire"
)

func TestDecodeJSONParams(t *testing.T) {
	cases := []struct {
		name, action, body, code, inMsg string
	}{
		{"ok", "CreateCloudRecording", `{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{"RecordMode":1},"StorageParams":{}}`, "", ""},
		{"nested missing", "CreateCloudRecording", `{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{},"StorageParams":{}}`, tcerr.CodeMissingParameter, "RecordParams.RecordMode"},
		{"nested unknown", "CreateCloudRecording", `{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{"RecordMode":1,"Mode":2},"StorageParams":{}}`, tcerr.CodeUnknownParameter, "RecordParams.Mode"},
		{"nested wrong type", "CreateCloudRecording", `{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{"RecordMode":"1"},"StorageParams":{}}`, tcerr.CodeInvalidParameter, "RecordParams.RecordMode"},
		{"list of strings", "RemoveUser", `{"SdkAppId":1,"RoomId":2,"UserIds":["a","b"]}`, "", ""},
		{"list element wrong", "RemoveUser", `{"SdkAppId":1,"RoomId":2,"UserIds":["a",3]}`, tcerr.CodeInvalidParameter, "UserIds.1"},
		{"list not array", "RemoveUser", `{"SdkAppId":1,"RoomId":2,"UserIds":"a"}`, tcerr.CodeInvalidParameter, "UserIds"},
		{"list null element", "RemoveUser", `{"SdkAppId":1,"RoomId":2,"UserIds":[null]}`, tcerr.CodeInvalidParameter, "UserIds.0"},
		{"null is absent", "RemoveUser", `{"SdkAppId":1,"RoomId":2,"UserIds":null}`, tcerr.CodeMissingParameter, "UserIds"},
		{"uint negative", "DismissRoom", `{"SdkAppId":1,"RoomId":-2}`, tcerr.CodeInvalidParameter, "RoomId"},
		{"uint fraction", "DismissRoom", `{"SdkAppId":1,"RoomId":2.5}`, tcerr.CodeInvalidParameter, "RoomId"},
		{"uint exponent", "DismissRoom", `{"SdkAppId":1,"RoomId":2e3}`, tcerr.CodeInvalidParameter, "RoomId"},
		{"uint overflow", "DismissRoom", `{"SdkAppId":1,"RoomId":18446744073709551616}`, tcerr.CodeInvalidParameter, "RoomId"},
		{"uint max", "DismissRoom", `{"SdkAppId":1,"RoomId":18446744073709551615}`, "", ""},
		{"int negative ok", "StartStreamIngest", `{"SdkAppId":1,"RoomId":"r","RoomIdType":1,"UserId":"u","UserSig":"s","RepeatNum":-1}`, "", ""},
		{"bool wrong", "StartStreamIngest", `{"SdkAppId":1,"RoomId":"r","RoomIdType":1,"UserId":"u","UserSig":"s","AutoPush":1}`, tcerr.CodeInvalidParameter, "AutoPush"},
		{"struct wrong", "CreateCloudRecording", `{"SdkAppId":1,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":[],"StorageParams":{}}`, tcerr.CodeInvalidParameter, "RecordParams"},
		{"top level array", "DismissRoom", `[]`, tcerr.CodeInvalidParameter, "object"},
		{"trailing data", "DismissRoom", `{"SdkAppId":1,"RoomId":2} {}`, tcerr.CodeInvalidParameter, "after"},
		{"empty body", "DismissRoom", ``, tcerr.CodeMissingParameter, "SdkAppId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			act := trtcActions[tc.action]
			params, err := parseJSONParams([]byte(tc.body))
			if err == nil {
				_, err = decodeParams(act.request, params)
			}
			if tc.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			te, ok := tcerr.As(err)
			if !ok || te.Code != tc.code || !strings.Contains(te.Message, tc.inMsg) {
				t.Fatalf("err = %v, want %s naming %q", err, tc.code, tc.inMsg)
			}
		})
	}
}

func TestDecodeFormParams(t *testing.T) {
	values := url.Values{
		"SdkAppId": {"1400000001"}, "RoomId": {"r"}, "UserId": {"u"}, "UserSig": {"s"},
		"RecordParams.RecordMode":                                     {"2"},
		"RecordParams.SubscribeStreamUserIds.SubscribeAudioUserIds.0": {"a"},
		"RecordParams.SubscribeStreamUserIds.SubscribeAudioUserIds.1": {"b"},
		"StorageParams.CloudStorage.Vendor":                           {"0"},
		"StorageParams.CloudStorage.Region":                           {"ap-shanghai"},
		"StorageParams.CloudStorage.Bucket":                           {"b"},
		"StorageParams.CloudStorage.AccessKey":                        {"k"},
		"StorageParams.CloudStorage.SecretKey":                        {"s"},
		"MixLayoutParams.MixLayoutMode":                               {"3"},
		"MixLayoutParams.PureAudioDisableLayout":                      {"true"},
		"Action":                                                      {"CreateCloudRecording"},
	}
	params, err := parseFormParams(values, []string{"Action"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := decodeParams("CreateCloudRecordingRequest", params)
	if err != nil {
		t.Fatal(err)
	}
	var req wire.CreateCloudRecordingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	ids := req.RecordParams.SubscribeStreamUserIds.SubscribeAudioUserIds
	if *req.SdkAppId != 1400000001 || *req.RecordParams.RecordMode != 2 || len(ids) != 2 || ids[1] != "b" ||
		*req.StorageParams.CloudStorage.Region != "ap-shanghai" || !*req.MixLayoutParams.PureAudioDisableLayout {
		t.Fatalf("decoded %s", body)
	}
	for _, bad := range []struct {
		values url.Values
		inMsg  string
	}{
		{url.Values{"UserIds.1": {"a"}}, "UserIds.1"},
		{url.Values{"UserIds.x": {"a"}}, "UserIds.x"},
		{url.Values{"UserIds": {"a"}, "UserIds.0": {"b"}}, "UserIds"},
		{url.Values{"RoomId": {"12x"}}, "RoomId"},
		{url.Values{"A..B": {"1"}}, "A..B"},
	} {
		params, err := parseFormParams(bad.values, nil)
		if err == nil {
			_, err = decodeParams("RemoveUserRequest", params)
		}
		if err == nil || !strings.Contains(err.Error(), bad.inMsg) {
			t.Errorf("%v: err = %v, want one naming %q", bad.values, err, bad.inMsg)
		}
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to every action's decoder: the outcome is a
// Tencent error or a request stored in its generated type exactly as the checked tree
// decodes through JSON; never a panic.
// fuzzAction is an action of either service with its schema and Go types.
type fuzzAction struct {
	wire.Action
	schema map[string]*wire.Struct
	types  map[string]reflect.Type
}

// fuzzActions lists the TRTC actions, then the CAM ones.
var fuzzActions = func() []fuzzAction {
	var out []fuzzAction
	for _, a := range wire.Actions {
		out = append(out, fuzzAction{a, wire.Structs, wire.Types})
	}
	for _, a := range camwire.Actions {
		out = append(out, fuzzAction{a, camwire.Structs, camwire.Types})
	}
	return out
}()

func FuzzDecodeRequest(f *testing.F) {
	f.Add(uint8(0), []byte(`{"SdkAppId":1400000001,"RoomId":"r","UserId":"u","UserSig":"s","RecordParams":{"RecordMode":1},"StorageParams":{"CloudStorage":{"Vendor":0}}}`))
	f.Add(uint8(5), []byte(`{"SdkAppId":1,"UserIds":["a",{"b":1}],"RoomId":1e400}`))
	f.Add(uint8(9), []byte(`{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://x"}],"AgentParams":{"UserId":"a"}}`))
	f.Add(uint8(3), []byte(`[[[[[[[[[[]]]]]]]]]]`))
	f.Add(uint8(len(wire.Actions)+3), []byte(`{"PolicyName":"p","PolicyDocument":"{}","Tags":[{"Key":"k"}]}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		a := fuzzActions[int(which)%len(fuzzActions)]
		params, err := parseJSONParams(body)
		if err == nil {
			var checked map[string]any
			if checked, err = checkParams(a.schema, a.Request, params); err == nil {
				checkStoredAsJSON(t, a, checked)
				return
			}
		}
		if _, ok := tcerr.As(err); !ok {
			t.Fatalf("%s: not a Tencent error: %v", a.Name, err)
		}
	})
}

// checkStoredAsJSON: stored directly (assignParams), a checked request is what the checked
// tree gives through JSON (encoded, then decoded into the generated type).
func checkStoredAsJSON(t *testing.T, a fuzzAction, checked map[string]any) {
	t.Helper()
	assigned := reflect.New(a.types[a.Request])
	if err := assignParams(assigned.Elem(), checked); err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	out, err := json.Marshal(checked)
	if err != nil {
		t.Fatal(err)
	}
	viaJSON := reflect.New(a.types[a.Request])
	if err := json.Unmarshal(out, viaJSON.Interface()); err != nil {
		t.Fatalf("%s: checked JSON %s does not decode: %v", a.Name, out, err)
	}
	if !reflect.DeepEqual(assigned.Interface(), viaJSON.Interface()) {
		got, _ := json.Marshal(assigned.Interface())
		t.Fatalf("%s: stored %s, through JSON %s", a.Name, got, out)
	}
}

// TestAssignParamsAsJSON: requests with every kind of field (nested structs, lists of
// structs and of strings, floats, negative integers, booleans, empty lists and objects) are
// stored as JSON would store them.
func TestAssignParamsAsJSON(t *testing.T) {
	byName := map[string]fuzzAction{}
	for _, a := range fuzzActions {
		byName[a.Name] = a
	}
	for _, c := range []struct{ action, body string }{
		{"CreateCloudRecording", `{"SdkAppId":1400000001,"RoomId":"room-1","UserId":"robot","UserSig":"sig","RecordParams":{"RecordMode":2,"MaxIdleTime":30,"StreamType":0,"SubscribeStreamUserIds":{"SubscribeAudioUserIds":["a","b"],"SubscribeVideoUserIds":[]}},"StorageParams":{"CloudStorage":{"Vendor":0,"Region":"ap-shanghai","Bucket":"b-125","AccessKey":"k","SecretKey":"s","FileNamePrefix":["x","y"]}},"MixLayoutParams":{"MixLayoutMode":3,"PureAudioDisableLayout":true,"MixLayoutList":[{"Top":0,"Left":0,"Width":640,"Height":360,"UserId":"a"},{"Top":1,"Left":2,"Width":3,"Height":4}],"WaterMarkList":[]}}`},
		{"StartStreamIngest", `{"SdkAppId":1,"RoomId":"r","RoomIdType":1,"UserId":"u","UserSig":"s","RepeatNum":-1,"AutoPush":false,"Volume":50,"Tempo":1.25}`},
		{"StartPublishCdnStream", validRelay},
		{"UpdatePublishCdnStream", validRelayUpdate},
		{"RemoveUser", `{"SdkAppId":1,"RoomId":18446744073709551615,"UserIds":["a","b"]}`},
	} {
		a, ok := byName[c.action]
		if !ok {
			t.Fatalf("no action %s", c.action)
		}
		params, err := parseJSONParams([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		checked, err := checkParams(a.schema, a.Request, params)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		checkStoredAsJSON(t, a, checked)
	}
}

// FuzzDecodeFormRequest does the same for flattened GET/form parameters.
func FuzzDecodeFormRequest(f *testing.F) {
	f.Add(uint8(0), "SdkAppId=1&RoomId=r&RecordParams.RecordMode=1&UserIds.0=a")
	f.Add(uint8(7), "A.B.0.C=1&A.B.1=2&A=3")
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		a := wire.Actions[int(which)%len(wire.Actions)]
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		params, err := parseFormParams(values, nil)
		if err == nil {
			var out []byte
			if out, err = decodeParams(a.Request, params); err == nil {
				v := reflect.New(wire.Types[a.Request])
				if uerr := json.Unmarshal(out, v.Interface()); uerr != nil {
					t.Fatalf("%s: %s does not decode: %v", a.Name, out, uerr)
				}
				return
			}
		}
		if _, ok := tcerr.As(err); !ok {
			t.Fatalf("%s: not a Tencent error: %v", a.Name, err)
		}
	})
}

func BenchmarkDecodeCreateCloudRecording(b *testing.B) {
	body := []byte(`{"SdkAppId":1400000001,"RoomId":"room-1","UserId":"robot","UserSig":"sig","RecordParams":{"RecordMode":2,"MaxIdleTime":30,"StreamType":0,"SubscribeStreamUserIds":{"SubscribeAudioUserIds":["a","b"],"SubscribeVideoUserIds":["a"]}},"StorageParams":{"CloudStorage":{"Vendor":0,"Region":"ap-shanghai","Bucket":"b-125","AccessKey":"k","SecretKey":"s","FileNamePrefix":["x","y"]}},"MixLayoutParams":{"MixLayoutMode":3,"MixLayoutList":[{"Top":0,"Left":0,"Width":640,"Height":360,"UserId":"a"}]}}`)
	for b.Loop() {
		params, err := parseJSONParams(body)
		if err != nil {
			b.Fatal(err)
		}
		out, err := decodeParams("CreateCloudRecordingRequest", params)
		if err != nil {
			b.Fatal(err)
		}
		var req wire.CreateCloudRecordingRequest
		if err := json.Unmarshal(out, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// uploadableBucket holds the names both vendors could have: S3's alphabet and ends.
var uploadableBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// FuzzValidateRecording runs fuzzed CreateCloudRecording bodies through the strict decoder
// and the RecordParams/StorageParams rules: a Tencent error or a spec, never a panic.
func FuzzValidateRecording(f *testing.F) {
	f.Add(`{"SdkAppId":1400000001,"RoomId":"1234","UserId":"r","UserSig":"s","RecordParams":{"RecordMode":1,"SubscribeStreamUserIds":{"SubscribeAudioUserIds":["1.*$"]}},"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"bkt.2026","AccessKey":"a","SecretKey":"s","FileNamePrefix":["p"]}}}`)
	f.Add(`{"SdkAppId":1400000001,"RoomId":"1234","UserId":"r","UserSig":"s","RecordParams":{"RecordMode":1},"StorageParams":{"CloudStorage":{"Vendor":0,"Region":"ap-guangzhou","Bucket":"../../x-1250000000","AccessKey":"a","SecretKey":"s"}}}`)
	f.Add(`{"SdkAppId":1,"RoomId":"x","RoomIdType":0,"UserId":"r","UserSig":"s","RecordParams":{"RecordMode":2},"StorageParams":{"CloudVod":{"TencentVod":{"MediaType":1}}},"MixTranscodeParams":{"VideoParams":{"Width":640,"Height":360,"Fps":15,"BitRate":500000,"Gop":2}},"MixLayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"Top":1,"Left":2,"Width":3,"Height":4}],"WaterMarkList":[{"WaterMarkType":2}]}}`)
	f.Add(`{"SdkAppId":1,"RoomId":"7","UserId":"r","UserSig":"s","RecordParams":{"RecordMode":2},"StorageParams":{"CloudStorage":{"Vendor":0,"Region":"ap-guangzhou","Bucket":"b-1250000000"}},"MixTranscodeParams":{"VideoParams":{"Width":641,"Height":361,"Fps":15,"BitRate":500000,"Gop":2},"AudioParams":{"SampleRate":2,"Channel":1,"BitRate":48000}},"MixLayoutParams":{"MixLayoutMode":1,"MaxResolutionUserId":"a","BackgroundImageUrl":"http://h/b.png","PlaceHolderMode":1,"DefaultSubBackgroundImage":"http://h/p.jpg","WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/w.png","Top":1,"Left":2,"Width":30,"Height":40}},{"WaterMarkType":1,"WaterMarkChar":{"Top":0,"Left":0,"Width":100,"Height":20,"Chars":"hi","FontSize":12,"FontColor":"#FFFFFF","BackGroundColor":"#000000"}},{"WaterMarkType":2,"WaterMarkTimestamp":{"Pos":6,"TimeZone":8}}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		params, err := parseJSONParams([]byte(body))
		if err != nil {
			return
		}
		out, err := decodeParams("CreateCloudRecordingRequest", params)
		if err != nil {
			return
		}
		var req wire.CreateCloudRecordingRequest
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatal(err)
		}
		spec, err := recordingSpec(&req)
		if err != nil {
			if _, ok := tcerr.As(err); !ok {
				t.Fatalf("not a Tencent error: %v", err)
			}
			return
		}
		if spec.RecordMode < 1 || spec.RecordMode > 2 || spec.MaxIdleTime < 5 {
			t.Fatalf("accepted an invalid spec %+v from %s", spec, body)
		}
		if m := spec.Mix; (m == nil) != (spec.RecordMode != 2) {
			t.Fatalf("RecordMode %d with mix %+v from %s", spec.RecordMode, m, body)
		} else if m != nil {
			if m.Width < 16 || m.Height < 16 || m.Width%2 != 0 || m.Height%2 != 0 || m.Width*m.Height > 1920*1080 || m.Fps < 1 || m.Fps > 60 {
				t.Fatalf("accepted a canvas that cannot be coded: %+v from %s", m, body)
			}
			if err := m.Layout.CheckCanvas(m.Width, m.Height); err != nil || len(m.Layout.Slots) > 25 || len(m.Layout.Watermarks) > 25 {
				t.Fatalf("accepted a layout off its canvas: %+v (%v) from %s", m.Layout, err, body)
			}
		}
		if st := spec.Storage; !st.Vod && (!uploadableBucket.MatchString(st.Bucket) || strings.Contains(st.Bucket, "..") || strings.ContainsAny(st.Region, "/.\\") || st.Region == "") {
			t.Fatalf("accepted storage that cannot be uploaded to: %+v from %s", st, body)
		}
	})
}
