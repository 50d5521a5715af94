package handlers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

const validRecording = `{"SdkAppId":1400000001,"RoomId":"1234","UserId":"recorder_1234","UserSig":"sig",
 "RecordParams":{"RecordMode":1},
 "StorageParams":{"CloudStorage":{"Vendor":0,"Region":"ap-shanghai","Bucket":"b-1250000000","AccessKey":"ak","SecretKey":"sk","FileNamePrefix":["rec","2026"]}}}`

// withRecording applies edits (JSON merge of objects) to the valid request.
func withRecording(t *testing.T, patch string) *wire.CreateCloudRecordingRequest {
	t.Helper()
	var base, p map[string]any
	json.Unmarshal([]byte(validRecording), &base)
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	merge(base, p)
	b, _ := json.Marshal(base)
	var req wire.CreateCloudRecordingRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, sub)
				continue
			}
		}
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
}

func TestValidateRecordingDefaults(t *testing.T) {
	spec, err := recordingSpec(withRecording(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.RoomIdType != models.RoomIdInt || spec.MaxIdleTime != 30 || spec.ResourceExpiredHour != 72 || spec.MaxMediaFileMinutes != 1440 ||
		spec.OutputFormat != 0 || spec.Storage.Vendor != 0 || spec.Storage.Bucket != "b-1250000000" || len(spec.Storage.FileNamePrefix) != 2 {
		t.Fatalf("spec = %+v", spec)
	}
}

func TestValidateRecordingRules(t *testing.T) {
	cases := []struct {
		name, patch, code, inMsg string
	}{
		{"string room", `{"RoomIdType":0,"RoomId":"room_a"}`, "", ""},
		{"integer room not a number", `{"RoomId":"room_a"}`, "InvalidParameter.RoomId", "integer"},
		{"RoomIdType 2", `{"RoomIdType":2}`, "InvalidParameter.OutOfRange", "RoomIdType"},
		{"RecordMode 3", `{"RecordParams":{"RecordMode":3}}`, "InvalidParameter.OutOfRange", "RecordMode"},
		{"MaxIdleTime 4", `{"RecordParams":{"MaxIdleTime":4}}`, "InvalidParameter.OutOfRange", "MaxIdleTime"},
		{"MaxIdleTime 86400", `{"RecordParams":{"MaxIdleTime":86400}}`, "", ""},
		{"MaxIdleTime 86401", `{"RecordParams":{"MaxIdleTime":86401}}`, "InvalidParameter.OutOfRange", "MaxIdleTime"},
		{"StreamType 3", `{"RecordParams":{"StreamType":3}}`, "InvalidParameter.OutOfRange", "StreamType"},
		{"OutputFormat 5", `{"RecordParams":{"OutputFormat":5}}`, "InvalidParameter.OutOfRange", "OutputFormat"},
		{"aac needs audio only", `{"RecordParams":{"OutputFormat":4}}`, "InvalidParameter", "StreamType 1"},
		{"aac audio only", `{"RecordParams":{"OutputFormat":4,"StreamType":1}}`, "", ""},
		{"AvMerge 2", `{"RecordParams":{"AvMerge":2}}`, "InvalidParameter.OutOfRange", "AvMerge"},
		{"MaxMediaFileDuration 0", `{"RecordParams":{"MaxMediaFileDuration":0}}`, "InvalidParameter.OutOfRange", "MaxMediaFileDuration"},
		{"MediaId 3", `{"RecordParams":{"MediaId":3}}`, "InvalidParameter.OutOfRange", "MediaId"},
		{"33 allow entries", `{"RecordParams":{"SubscribeStreamUserIds":{"SubscribeAudioUserIds":[` + strings.Repeat(`"u",`, 32) + `"u"]}}}`, "InvalidParameter", "at most 32"},
		{"prefix pattern", `{"RecordParams":{"SubscribeStreamUserIds":{"SubscribeVideoUserIds":["1.*$"]}}}`, "", ""},
		{"bad pattern", `{"RecordParams":{"SubscribeStreamUserIds":{"UnSubscribeVideoUserIds":["1.*$","(["]}}}`, "InvalidParameter", "UnSubscribeVideoUserIds.1"},
		{"vod and cos", `{"StorageParams":{"CloudVod":{"TencentVod":{}}}}`, "InvalidParameter", "exclude each other"},
		{"no storage", `{"StorageParams":{"CloudStorage":null}}`, "MissingParameter.CloudStorage", "CloudVod"},
		{"vod only", `{"StorageParams":{"CloudStorage":null,"CloudVod":{"TencentVod":{"MediaType":1}}}}`, "", ""},
		{"vendor 2", `{"StorageParams":{"CloudStorage":{"Vendor":2}}}`, "InvalidParameter.OutOfRange", "Vendor"},
		{"empty bucket", `{"StorageParams":{"CloudStorage":{"Bucket":""}}}`, "MissingParameter.Bucket", "Bucket"},
		{"bucket escaping its path", `{"StorageParams":{"CloudStorage":{"Bucket":"../../x"}}}`, "InvalidParameter.Bucket", "../../x"},
		{"cos bucket without appid", `{"StorageParams":{"CloudStorage":{"Bucket":"records"}}}`, "InvalidParameter.Bucket", "<BucketName>-<APPID>"},
		{"cos bucket in capitals", `{"StorageParams":{"CloudStorage":{"Bucket":"Records-1250000000"}}}`, "InvalidParameter.Bucket", "COS"},
		{"cos bucket name too long", `{"StorageParams":{"CloudStorage":{"Bucket":"` + strings.Repeat("a", 51) + `-1250000000"}}}`, "InvalidParameter.Bucket", "1 to 50"},
		{"cos bucket name of 50", `{"StorageParams":{"CloudStorage":{"Bucket":"` + strings.Repeat("a", 50) + `-1250000000"}}}`, "", ""},
		{"cos bucket starting with -", `{"StorageParams":{"CloudStorage":{"Bucket":"-a-1250000000"}}}`, "InvalidParameter.Bucket", "COS"},
		{"s3 bucket", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"my.records-2026"}}}`, "", ""},
		{"s3 bucket with dots and slash", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"../../x"}}}`, "InvalidParameter.Bucket", "S3"},
		{"s3 bucket of 2", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"ab"}}}`, "InvalidParameter.Bucket", "3 to 63"},
		{"s3 bucket an IP", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"192.168.5.4"}}}`, "InvalidParameter.Bucket", "IP address"},
		{"s3 bucket xn--", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"xn--records"}}}`, "InvalidParameter.Bucket", "xn--"},
		{"s3 bucket -s3alias", `{"StorageParams":{"CloudStorage":{"Vendor":1,"Region":"us-east-1","Bucket":"records-s3alias"}}}`, "InvalidParameter.Bucket", "-s3alias"},
		{"region with a slash", `{"StorageParams":{"CloudStorage":{"Region":"ap/guangzhou"}}}`, "InvalidParameter.Region", "ap/guangzhou"},
		{"region in capitals", `{"StorageParams":{"CloudStorage":{"Region":"AP-GUANGZHOU"}}}`, "InvalidParameter.Region", "region"},
		{"region of one word", `{"StorageParams":{"CloudStorage":{"Region":"guangzhou"}}}`, "InvalidParameter.Region", "region"},
		{"contract's region example", `{"StorageParams":{"CloudStorage":{"Region":"cn-shanghai-1"}}}`, "", ""},
		{"prefix with slash", `{"StorageParams":{"CloudStorage":{"FileNamePrefix":["a/../b"]}}}`, "InvalidParameter", "FileNamePrefix.0"},
		{"prefix with dots", `{"StorageParams":{"CloudStorage":{"FileNamePrefix":["ok",".."]}}}`, "InvalidParameter", "FileNamePrefix.1"},
		{"expired hour 5", `{"ResourceExpiredHour":5}`, "InvalidParameter.OutOfRange", "ResourceExpiredHour"},
		{"expired hour 720", `{"ResourceExpiredHour":720}`, "", ""},
		{"robot id too long", `{"UserId":"` + strings.Repeat("r", 33) + `"}`, "InvalidParameter.UserId", "32 bytes"},
		{"mix params in single mode", `{"MixLayoutParams":{"MixLayoutMode":3}}`, "InvalidParameter", "RecordMode 2"},
		{"mixed grid", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"MixLayoutMode":3,"BackGroundColor":"#102030"}}`, "", ""},
		{"bad colour", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"BackGroundColor":"red"}}`, "InvalidParameter", "#RRGGBB"},
		{"custom without windows", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"MixLayoutMode":4}}`, "InvalidParameter", "windows"},
		{"window off canvas", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"VideoParams":{"Width":640,"Height":360,"Fps":15,"BitRate":500000,"Gop":2}},"MixLayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"Top":0,"Left":400,"Width":300,"Height":200}]}}`, "InvalidParameter", "canvas"},
		{"window on canvas", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"VideoParams":{"Width":640,"Height":360,"Fps":15,"BitRate":500000,"Gop":2}},"MixLayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"Top":0,"Left":340,"Width":300,"Height":200}]}}`, "", ""},
		{"too many pixels", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"VideoParams":{"Width":1920,"Height":1920,"Fps":15,"BitRate":500000,"Gop":2}}}`, "InvalidParameter.OutOfRange", "1920x1080"},
		{"bitrate in kbps by mistake", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"AudioParams":{"SampleRate":1,"Channel":2,"BitRate":64}}}`, "InvalidParameter.OutOfRange", "BitRate"},
		{"sample rate in Hz by mistake", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"AudioParams":{"SampleRate":48000,"Channel":2,"BitRate":64000}}}`, "InvalidParameter.OutOfRange", "SampleRate"},
		{"text watermark without text", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkType":1}]}}`, "MissingParameter", "WaterMarkChar"},
		{"video params in part", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"VideoParams":{"Width":640,"Height":360}}}`, "MissingParameter", "VideoParams.Fps"},
		{"audio params in part", `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"AudioParams":{"SampleRate":1}}}`, "MissingParameter", "AudioParams.Channel"},
		{"image watermark without url", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkImage":{"Top":0,"Left":0,"Width":10,"Height":10}}]}}`, "MissingParameter", "WaterMarkUrl"},
		{"image watermark not an image", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/wm.gif","Top":0,"Left":0,"Width":10,"Height":10}}]}}`, "InvalidParameter", ".png"},
		{"image watermark ftp", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"ftp://h/wm.png","Top":0,"Left":0,"Width":10,"Height":10}}]}}`, "InvalidParameter", "http"},
		{"image watermark off canvas", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/wm.png?v=1","Top":600,"Left":0,"Width":10,"Height":100}}]}}`, "InvalidParameter", "canvas"},
		{"image watermark on the default canvas", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"https://h/a/wm.PNG","Top":600,"Left":0,"Width":10,"Height":40}}]}}`, "", ""},
		{"text watermark colour", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkChar":{"Top":0,"Left":0,"Width":100,"Height":20,"Chars":"hi","FontColor":"white"}}]}}`, "InvalidParameter", "FontColor"},
		{"timestamp position 7", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkType":2,"WaterMarkTimestamp":{"Pos":7}}]}}`, "InvalidParameter.OutOfRange", "Pos"},
		{"timestamp zone 15", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkType":2,"WaterMarkTimestamp":{"Pos":3,"TimeZone":15}}]}}`, "InvalidParameter.OutOfRange", "TimeZone"},
		{"background image", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"BackgroundImageUrl":"http://h/bg.jpeg","BackgroundImageRenderMode":2}}`, "", ""},
		{"background render mode 3", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"BackgroundImageUrl":"http://h/bg.jpg","BackgroundImageRenderMode":3}}`, "InvalidParameter.OutOfRange", "BackgroundImageRenderMode"},
		{"window without its size", `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"Top":0,"Left":0}]}}`, "MissingParameter", "Width"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := recordingSpec(withRecording(t, c.patch))
			if c.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			te, ok := tcerr.As(err)
			if !ok || te.Code != c.code || !strings.Contains(te.Message, c.inMsg) {
				t.Fatalf("err = %v, want %s naming %q", err, c.code, c.inMsg)
			}
		})
	}
}

func TestMatchesSubscription(t *testing.T) {
	for _, c := range []struct {
		entry, user string
		want        bool
	}{
		{"1.*$", "123", true}, {"1.*$", "213", false}, {"alice", "alice", true}, {"alice", "alice2", false},
		{"a.c", "abc", true}, {"a.c", "xabc", false}, {"u[0-9]+$", "u12", true}, {"u[0-9]+$", "u12x", false},
	} {
		if got := models.MatchesSubscription(c.entry, c.user); got != c.want {
			t.Errorf("MatchesSubscription(%q, %q) = %v", c.entry, c.user, got)
		}
	}
}

// TestMixSpecDefaults: a mixed task without MixTranscodeParams gets the contract's
// defaults; odd sizes round down to even; the layout defaults to the grid.
func TestMixSpecDefaults(t *testing.T) {
	spec, err := recordingSpec(withRecording(t, `{"RecordParams":{"RecordMode":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := models.MixSpec{Width: 360, Height: 640, Fps: 15, BitRate: 550000, Gop: 10, SampleRate: 48000, Channels: 2, AudioBitRate: 64000,
		Layout: models.MixLayout{Mode: 3, RenderMode: 1, BackgroundImageRenderMode: 1}}
	if spec.Mix == nil || fmt.Sprint(*spec.Mix) != fmt.Sprint(want) {
		t.Fatalf("mix %+v, want %+v", spec.Mix, want)
	}
	spec, err = recordingSpec(withRecording(t, `{"RecordParams":{"RecordMode":2},"MixTranscodeParams":{"VideoParams":{"Width":641,"Height":7,"Fps":30,"BitRate":64000,"Gop":1},"AudioParams":{"SampleRate":3,"Channel":1,"BitRate":32000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := spec.Mix; m.Width != 640 || m.Height != 16 || m.Fps != 30 || m.SampleRate != 16000 || m.Channels != 1 || m.AudioBitRate != 32000 {
		t.Fatalf("mix %+v", m)
	}
	spec, err = recordingSpec(withRecording(t, `{"RecordParams":{"RecordMode":2},"MixLayoutParams":{"WaterMarkList":[{"WaterMarkType":2,"WaterMarkTimestamp":{"Pos":3}}]}}`))
	if err != nil || spec.Mix.Layout.Watermarks[0].TimeZone != 8 {
		t.Fatalf("a timestamp's default zone: %+v, %v", spec.Mix, err)
	}
}

// TestModifySubscriptionValidated: ModifyCloudRecording's lists are checked as Create's
// are, and its layout like Create's, before the task is looked up.
func TestModifySubscriptionValidated(t *testing.T) {
	if _, err := validateSubscription("SubscribeStreamUserIds", &wire.SubscribeStreamUserIds{UnSubscribeVideoUserIds: []string{"(("}}); !tcerr.Is(err, tcerr.CodeInvalidParameter) {
		t.Fatalf("a pattern that does not compile: %v", err)
	}
	sub, err := validateSubscription("SubscribeStreamUserIds", &wire.SubscribeStreamUserIds{SubscribeAudioUserIds: []string{"1.*$"}})
	if err != nil || len(sub.AudioAllow) != 1 || sub.AudioAllow[0] != "1.*$" || sub.VideoAllow != nil {
		t.Fatalf("lists %+v, %v", sub, err)
	}
	mode := uint64(9)
	if _, err := mixLayout(&wire.MixLayoutParams{MixLayoutMode: &mode}); !tcerr.Is(err, "InvalidParameter.OutOfRange") {
		t.Fatalf("MixLayoutMode 9: %v", err)
	}
}
