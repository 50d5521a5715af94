package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

const validRelay = `{"SdkAppId":1400000001,"RoomId":"1234","RoomIdType":0,"WithTranscoding":1,
 "AgentParams":{"UserId":"relay_1234"},
 "PublishCdnParams":[{"PublishCdnUrl":"rtmp://live.example.com/live/stream1"}]}`

const validRelayUpdate = `{"SdkAppId":1400000001,"TaskId":"task-1","SequenceNumber":2,"WithTranscoding":1}`

// patched applies edits (JSON merge of objects; null deletes) to a valid request.
func patched[T any](t testing.TB, valid, patch string) *T {
	t.Helper()
	var base, p map[string]any
	json.Unmarshal([]byte(valid), &base)
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	merge(base, p)
	b, _ := json.Marshal(base)
	req := new(T)
	if err := json.Unmarshal(b, req); err != nil {
		t.Fatal(err)
	}
	return req
}

func withRelay(t testing.TB, patch string) *wire.StartPublishCdnStreamRequest {
	t.Helper()
	return patched[wire.StartPublishCdnStreamRequest](t, validRelay, patch)
}

func withRelayUpdate(t testing.TB, patch string) *wire.UpdatePublishCdnStreamRequest {
	t.Helper()
	return patched[wire.UpdatePublishCdnStreamRequest](t, validRelayUpdate, patch)
}

// wantRelayErr checks a refusal's code and that its message names inMsg ("" code: accepted).
func wantRelayErr(t *testing.T, err error, code, inMsg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		return
	}
	te, ok := tcerr.As(err)
	if !ok || te.Code != code || !strings.Contains(te.Message, inMsg) {
		t.Fatalf("err = %v, want %s naming %q", err, code, inMsg)
	}
}

const (
	encode720 = `"VideoEncode":{"Width":1280,"Height":720,"Fps":25,"BitRate":1500,"Gop":2}`
	imageWM   = `{"WaterMarkImage":{"WaterMarkUrl":"http://h/logo.png","WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":10,"LocationY":20}}`
	feedBack  = `{"RoomId":"room_b","RoomIdType":1,"UserId":"fb","UserSig":"sig"}`
)

func urls(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`{"PublishCdnUrl":"rtmp://cdn.example.com/live/s%d"}`, i))
	}
	return `{"PublishCdnParams":[` + strings.Join(parts, ",") + `]}`
}

func TestRelaySpecRules(t *testing.T) {
	cases := []struct {
		name, patch, code, inMsg string
	}{
		{"defaults", `{}`, "", ""},
		// The room, in the relay's polarity: 0 integer, 1 string.
		{"string room", `{"RoomIdType":1,"RoomId":"room_a"}`, "", ""},
		{"integer room not a number", `{"RoomId":"room_a"}`, "InvalidParameter.RoomId", "integer"},
		{"string room with a bad character", `{"RoomIdType":1,"RoomId":"a/b"}`, "InvalidParameter.RoomId", "string room id"},
		{"RoomIdType 2", `{"RoomIdType":2}`, "InvalidParameter.OutOfRange", "RoomIdType"},
		{"no RoomIdType", `{"RoomIdType":null}`, "MissingParameter", "RoomIdType"},
		{"no SdkAppId", `{"SdkAppId":null}`, "MissingParameter", "SdkAppId"},
		// AgentParams.
		{"no AgentParams", `{"AgentParams":null}`, "MissingParameter", "AgentParams"},
		{"no robot", `{"AgentParams":{"UserId":""}}`, "MissingParameter", "AgentParams.UserId"},
		{"robot id too long", `{"AgentParams":{"UserId":"` + strings.Repeat("r", 33) + `"}}`, "InvalidParameter.UserId", "32 bytes"},
		{"robot with UserSig", `{"AgentParams":{"UserSig":"sig"}}`, "", ""},
		{"MaxIdleTime 4", `{"AgentParams":{"MaxIdleTime":4}}`, "InvalidParameter.OutOfRange", "AgentParams.MaxIdleTime"},
		{"MaxIdleTime 5", `{"AgentParams":{"MaxIdleTime":5}}`, "", ""},
		{"MaxIdleTime 86400", `{"AgentParams":{"MaxIdleTime":86400}}`, "", ""},
		{"MaxIdleTime 86401", `{"AgentParams":{"MaxIdleTime":86401}}`, "InvalidParameter.OutOfRange", "AgentParams.MaxIdleTime"},
		// WithTranscoding and what applies to each kind.
		{"no WithTranscoding", `{"WithTranscoding":null}`, "MissingParameter", "WithTranscoding"},
		{"WithTranscoding 2", `{"WithTranscoding":2}`, "InvalidParameter.OutOfRange", "WithTranscoding"},
		{"single stream with transcoding", `{"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"a"}}}}`, "InvalidParameter", "WithTranscoding 0"},
		{"single stream", `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"a"},"StreamType":1}}}`, "", ""},
		{"single stream without its user", `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"StreamType":1}}}`, "MissingParameter", "SingleSubscribeParams.UserMediaStream.UserInfo"},
		{"single stream with an empty user", `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":""}}}}`, "MissingParameter", "UserInfo.UserId"},
		{"single stream without UserMediaStream", `{"WithTranscoding":0,"SingleSubscribeParams":{}}`, "MissingParameter", "UserMediaStream"},
		{"single stream type 2", `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"a"},"StreamType":2}}}`, "InvalidParameter.OutOfRange", "StreamType"},
		{"layout without transcoding", `{"WithTranscoding":0,"VideoParams":{"LayoutParams":{"MixLayoutMode":3}}}`, "InvalidParameter", "VideoParams.LayoutParams"},
		{"watermarks without transcoding", `{"WithTranscoding":0,"VideoParams":{"WaterMarkList":[` + imageWM + `]}}`, "InvalidParameter", "VideoParams.WaterMarkList"},
		{"background without transcoding", `{"WithTranscoding":0,"VideoParams":{"BackGroundColor":"0x000000"}}`, "InvalidParameter", "VideoParams.BackGroundColor"},
		{"encoding without transcoding", `{"WithTranscoding":0,"VideoParams":{` + encode720 + `}}`, "", ""},
		{"bad encoding without transcoding", `{"WithTranscoding":0,"VideoParams":{"VideoEncode":{"Width":1921,"Height":720,"Fps":25,"BitRate":1500,"Gop":2}}}`, "InvalidParameter.OutOfRange", "VideoEncode.Width"},
		// AudioParams.
		{"audio encoding", `{"AudioParams":{"AudioEncode":{"SampleRate":44100,"Channel":2,"BitRate":60,"Codec":2}}}`, "", ""},
		{"sample rate 22050", `{"AudioParams":{"AudioEncode":{"SampleRate":22050,"Channel":1,"BitRate":50}}}`, "InvalidParameter.OutOfRange", "SampleRate"},
		{"sample rate as recording's enum", `{"AudioParams":{"AudioEncode":{"SampleRate":1,"Channel":1,"BitRate":50}}}`, "InvalidParameter.OutOfRange", "SampleRate"},
		{"three channels", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":3,"BitRate":50}}}`, "InvalidParameter.OutOfRange", "Channel"},
		{"audio bitrate in bps by mistake", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":1,"BitRate":64000}}}`, "InvalidParameter.OutOfRange", "AudioEncode.BitRate"},
		{"audio bitrate 7", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":1,"BitRate":7}}}`, "InvalidParameter.OutOfRange", "AudioEncode.BitRate"},
		{"audio bitrate 500", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":1,"BitRate":500}}}`, "", ""},
		{"audio encoding in part", `{"AudioParams":{"AudioEncode":{"SampleRate":48000}}}`, "MissingParameter", "AudioEncode.Channel"},
		{"HE-AACv2 in mono", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":1,"BitRate":50,"Codec":2}}}`, "InvalidParameter", "Channel 2"},
		{"HE-AAC at 8 kHz", `{"AudioParams":{"AudioEncode":{"SampleRate":8000,"Channel":1,"BitRate":16,"Codec":1}}}`, "InvalidParameter", "16000"},
		{"LC-AAC at 8 kHz", `{"AudioParams":{"AudioEncode":{"SampleRate":8000,"Channel":1,"BitRate":16,"Codec":0}}}`, "", ""},
		{"codec 3", `{"AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":2,"BitRate":50,"Codec":3}}}`, "InvalidParameter.OutOfRange", "Codec"},
		{"allow list", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":"a"}},{"UserInfo":{"UserId":"b","RoomId":"room_b","RoomIdType":1}}]}}`, "", ""},
		{"allow list entry without UserInfo", `{"AudioParams":{"SubscribeAudioList":[{}]}}`, "MissingParameter", "SubscribeAudioList.0.UserInfo"},
		{"allow list entry without user", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":""}}]}}`, "MissingParameter", "SubscribeAudioList.0.UserInfo.UserId"},
		{"33 deny entries", `{"AudioParams":{"UnSubscribeAudioList":[` + strings.Repeat(`{"UserInfo":{"UserId":"u"}},`, 32) + `{"UserInfo":{"UserId":"u"}}]}}`, "InvalidParameter", "at most 32"},
		{"sound level 101", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":"a"},"SoundLevel":101}]}}`, "InvalidParameter.OutOfRange", "SoundLevel"},
		{"user's room of the wrong kind", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":"a","RoomId":"abc","RoomIdType":0}}]}}`, "InvalidParameter.RoomId", "SubscribeAudioList.0.UserInfo.RoomId"},
		{"user's RoomIdType 2", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":"a","RoomIdType":2}}]}}`, "InvalidParameter.OutOfRange", "UserInfo.RoomIdType"},
		// VideoEncode: all of it, in range, kbps.
		{"video encoding", `{"VideoParams":{` + encode720 + `}}`, "", ""},
		{"video encoding in part", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":360}}}`, "MissingParameter", "VideoParams.VideoEncode.Fps"},
		{"width 1921", `{"VideoParams":{"VideoEncode":{"Width":1921,"Height":360,"Fps":15,"BitRate":800,"Gop":3}}}`, "InvalidParameter.OutOfRange", "Width"},
		{"height 1081", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":1081,"Fps":15,"BitRate":800,"Gop":3}}}`, "InvalidParameter.OutOfRange", "Height"},
		{"fps 61", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":360,"Fps":61,"BitRate":800,"Gop":3}}}`, "InvalidParameter.OutOfRange", "Fps"},
		{"video bitrate in bps by mistake", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":360,"Fps":15,"BitRate":800000,"Gop":3}}}`, "InvalidParameter.OutOfRange", "VideoEncode.BitRate"},
		{"gop 0", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":360,"Fps":15,"BitRate":800,"Gop":0}}}`, "InvalidParameter.OutOfRange", "Gop"},
		{"gop 6", `{"VideoParams":{"VideoEncode":{"Width":640,"Height":360,"Fps":15,"BitRate":800,"Gop":6}}}`, "InvalidParameter.OutOfRange", "Gop"},
		{"1920x1080", `{"VideoParams":{"VideoEncode":{"Width":1920,"Height":1080,"Fps":60,"BitRate":10000,"Gop":5}}}`, "", ""},
		// LayoutParams.
		{"layout mode 5", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":5}}}`, "InvalidParameter.OutOfRange", "VideoParams.LayoutParams.MixLayoutMode"},
		{"grid", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":3,"RenderMode":1,"PureAudioHoldPlaceMode":1}}}`, "", ""},
		{"render mode 3", `{"VideoParams":{"LayoutParams":{"RenderMode":3}}}`, "InvalidParameter.OutOfRange", "LayoutParams.RenderMode"},
		{"PureAudioHoldPlaceMode 2", `{"VideoParams":{"LayoutParams":{"PureAudioHoldPlaceMode":2}}}`, "InvalidParameter.OutOfRange", "PureAudioHoldPlaceMode"},
		{"big window without its stream", `{"VideoParams":{"LayoutParams":{"MaxVideoUser":{}}}}`, "MissingParameter", "MaxVideoUser.UserMediaStream"},
		{"big window without a user", `{"VideoParams":{"LayoutParams":{"MaxVideoUser":{"UserMediaStream":{"StreamType":1}}}}}`, "", ""},
		{"custom without windows", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4}}}`, "InvalidParameter", "windows"},
		{"17 windows", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[` + strings.Repeat(`{},`, 16) + `{}]}}}`, "InvalidParameter", "at most 16"},
		{"16 windows", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[` + strings.Repeat(`{},`, 15) + `{}]}}}`, "", ""},
		{"window off the canvas", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"LocationX":400,"ImageWidth":300,"ImageHeight":200}]}}}`, "InvalidParameter", "VideoParams.LayoutParams.MixLayoutList.0"},
		{"window on the canvas", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"LocationX":340,"ImageWidth":300,"ImageHeight":200}]}}}`, "", ""},
		{"window on a bigger canvas", `{"VideoParams":{` + encode720 + `,"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"LocationX":400,"ImageWidth":300,"ImageHeight":200}]}}}`, "", ""},
		{"window render mode 3", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"RenderMode":3}]}}}`, "InvalidParameter.OutOfRange", "MixLayoutList.0.RenderMode"},
		{"window stream type 2", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"UserMediaStream":{"StreamType":2}}]}}}`, "InvalidParameter.OutOfRange", "MixLayoutList.0.UserMediaStream.StreamType"},
		{"window colour", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"BackGroundColor":"blue"}]}}}`, "InvalidParameter", "MixLayoutList.0.BackGroundColor"},
		{"window placeholder gif", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"BackgroundImageUrl":"http://h/p.gif"}]}}}`, "InvalidParameter", "MixLayoutList.0.BackgroundImageUrl"},
		{"custom crop in part", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"CustomCrop":{"LocationX":0,"LocationY":0}}]}}}`, "MissingParameter", "CustomCrop.Width"},
		{"custom crop past 10000", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"CustomCrop":{"LocationX":9000,"LocationY":0,"Width":1001,"Height":10}}]}}}`, "InvalidParameter", "10000"},
		{"custom crop", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"CustomCrop":{"LocationX":10,"LocationY":10,"Width":100,"Height":100}}]}}}`, "", ""},
		{"sub-background mode 4 alone", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"BackgroundRenderMode":4}]}}}`, "MissingParameter", "BackgroundCustomRender"},
		{"sub-background mode 5", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"BackgroundRenderMode":5}]}}}`, "InvalidParameter.OutOfRange", "BackgroundRenderMode"},
		// The canvas: 0xRRGGBB colours, images, watermarks.
		{"background colour", `{"VideoParams":{"BackGroundColor":"0x99CCFF"}}`, "", ""},
		{"background colour with #", `{"VideoParams":{"BackGroundColor":"#cc0033"}}`, "InvalidParameter", "0xRRGGBB"},
		{"background colour red", `{"VideoParams":{"BackGroundColor":"red"}}`, "InvalidParameter", "VideoParams.BackGroundColor"},
		{"background colour too short", `{"VideoParams":{"BackGroundColor":"0xfff"}}`, "InvalidParameter", "0xRRGGBB"},
		{"background image", `{"VideoParams":{"BackgroundImageUrl":"https://h/bg.jpeg","BackgroundRenderMode":1}}`, "", ""},
		{"background image gif", `{"VideoParams":{"BackgroundImageUrl":"http://h/bg.gif"}}`, "InvalidParameter", ".png"},
		{"background image ftp", `{"VideoParams":{"BackgroundImageUrl":"ftp://h/bg.png"}}`, "InvalidParameter", "http"},
		{"background render mode 3", `{"VideoParams":{"BackgroundRenderMode":3}}`, "InvalidParameter.OutOfRange", "VideoParams.BackgroundRenderMode"},
		{"26 watermarks", `{"VideoParams":{` + encode720 + `,"WaterMarkList":[` + strings.Repeat(imageWM+",", 25) + imageWM + `]}}`, "InvalidParameter", "at most 25"},
		{"25 watermarks", `{"VideoParams":{` + encode720 + `,"WaterMarkList":[` + strings.Repeat(imageWM+",", 24) + imageWM + `]}}`, "", ""},
		{"watermark type 2", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":2}]}}`, "InvalidParameter.OutOfRange", "WaterMarkType"},
		{"image watermark without its image", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":0}]}}`, "MissingParameter", "WaterMarkList.0.WaterMarkImage"},
		{"image watermark without url", `{"VideoParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0}}]}}`, "MissingParameter", "WaterMarkImage.WaterMarkUrl"},
		{"image watermark without its size", `{"VideoParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/w.png","LocationX":0,"LocationY":0}}]}}`, "MissingParameter", "WaterMarkImage.WaterMarkWidth"},
		{"image watermark not an image", `{"VideoParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/w.bmp","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0}}]}}`, "InvalidParameter", "WaterMarkUrl"},
		{"image watermark off the canvas", `{"VideoParams":{"WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/w.png","WaterMarkWidth":100,"WaterMarkHeight":100,"LocationX":600,"LocationY":0}}]}}`, "InvalidParameter", "VideoParams.WaterMarkList.0"},
		{"text watermark without its text", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkImage":{"WaterMarkUrl":"http://h/w.png"}}]}}`, "MissingParameter", "WaterMarkList.0.WaterMarkText"},
		{"text watermark empty", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkText":{"Text":"","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0,"FontSize":12}}]}}`, "MissingParameter", "WaterMarkText.Text"},
		{"text watermark without FontSize", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkText":{"Text":"hi","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0}}]}}`, "MissingParameter", "WaterMarkText.FontSize"},
		{"text watermark colour with #", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkText":{"Text":"hi","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0,"FontSize":12,"FontColor":"#FFFFFF"}}]}}`, "InvalidParameter", "WaterMarkText.FontColor"},
		{"text watermark font", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkText":{"Text":"hi","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0,"FontSize":12,"Font":"Arial"}}]}}`, "InvalidParameter", "WaterMarkText.Font"},
		{"text watermark too long", `{"VideoParams":{"WaterMarkList":[{"WaterMarkType":1,"WaterMarkText":{"Text":"` + strings.Repeat("x", 257) + `","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0,"FontSize":12}}]}}`, "InvalidParameter", "256 bytes"},
		// PublishCdnParams.
		{"no destination", `{"PublishCdnParams":null}`, "MissingParameter", "FeedBackRoomParams"},
		{"no URL", `{"PublishCdnParams":[]}`, "MissingParameter", "PublishCdnParams"},
		{"a room pushed back into only", `{"PublishCdnParams":null,"FeedBackRoomParams":[` + feedBack + `]}`, "", ""},
		{"URL missing", `{"PublishCdnParams":[{"IsTencentCdn":0}]}`, "MissingParameter", "PublishCdnParams.0.PublishCdnUrl"},
		{"URL empty", `{"PublishCdnParams":[{"PublishCdnUrl":" "}]}`, "MissingParameter", "PublishCdnParams.0.PublishCdnUrl"},
		{"http URL", `{"PublishCdnParams":[{"PublishCdnUrl":"http://cdn.example.com/live/s"}]}`, "InvalidParameter", "PublishCdnParams.0.PublishCdnUrl"},
		{"rtmps URL", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmps://cdn.example.com/live/s"}]}`, "InvalidParameter", "scheme must be rtmp"},
		{"URL without host", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp:///live/s"}]}`, "InvalidParameter", "host"},
		{"opaque URL", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp:cdn.example.com/live/s"}]}`, "InvalidParameter", "host"},
		{"URL without stream name", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com/live"}]}`, "InvalidParameter", "stream name"},
		{"URL with a trailing slash", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com/live/"}]}`, "InvalidParameter", "stream name"},
		{"URL with a space", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com/live/a b"}]}`, "InvalidParameter", "space"},
		{"URL with a fragment", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com/live/a#b"}]}`, "InvalidParameter", "fragment"},
		{"URL with port 0", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com:0/live/a"}]}`, "InvalidParameter", "port"},
		{"URL with port 70000", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com:70000/live/a"}]}`, "InvalidParameter", "port"},
		{"URL with a port and a query", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://cdn.example.com:1935/live/a?txSecret=ab&txTime=65F0A2B3"}]}`, "", ""},
		{"URL in capitals", `{"PublishCdnParams":[{"PublishCdnUrl":"RTMP://CDN.example.com/live/a"}]}`, "", ""},
		{"URL too long", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://h/live/` + strings.Repeat("x", 2048) + `"}]}`, "InvalidParameter", "2048"},
		{"10 URLs", urls(10), "", ""},
		{"11 URLs", urls(11), "InvalidParameter", "at most 10"},
		{"a URL twice", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://h/live/a"},{"PublishCdnUrl":"rtmp://h/live/a","IsTencentCdn":0}]}`, "InvalidParameter", "repeats PublishCdnParams.0"},
		{"IsTencentCdn 2", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://h/live/a","IsTencentCdn":2}]}`, "InvalidParameter.OutOfRange", "IsTencentCdn"},
		// FeedBackRoomParams.
		{"11 rooms", `{"FeedBackRoomParams":[` + strings.Repeat(feedBack+",", 10) + feedBack + `]}`, "InvalidParameter", "at most 10"},
		{"room without UserSig", `{"FeedBackRoomParams":[{"RoomId":"1","RoomIdType":0,"UserId":"fb"}]}`, "MissingParameter", "FeedBackRoomParams.0.UserSig"},
		{"room without RoomIdType", `{"FeedBackRoomParams":[{"RoomId":"1","UserId":"fb","UserSig":"s"}]}`, "MissingParameter", "FeedBackRoomParams.0.RoomIdType"},
		{"room without RoomId", `{"FeedBackRoomParams":[{"RoomIdType":0,"UserId":"fb","UserSig":"s"}]}`, "MissingParameter", "FeedBackRoomParams.0.RoomId"},
		{"room without robot", `{"FeedBackRoomParams":[{"RoomId":"1","RoomIdType":0,"UserSig":"s"}]}`, "MissingParameter", "FeedBackRoomParams.0.UserId"},
		{"string room as an integer", `{"FeedBackRoomParams":[{"RoomId":"room_b","RoomIdType":0,"UserId":"fb","UserSig":"s"}]}`, "InvalidParameter.RoomId", "FeedBackRoomParams.0.RoomId"},
		{"room RoomIdType 2", `{"FeedBackRoomParams":[{"RoomId":"1","RoomIdType":2,"UserId":"fb","UserSig":"s"}]}`, "InvalidParameter.OutOfRange", "FeedBackRoomParams.0.RoomIdType"},
		{"a room twice", `{"FeedBackRoomParams":[` + feedBack + `,` + feedBack + `]}`, "InvalidParameter", "repeats FeedBackRoomParams.0"},
		// SeiParams.
		{"layout volume", `{"SeiParams":{"LayoutVolume":{"AppData":"` + strings.Repeat("é", 4095) + `","PayloadType":254,"Interval":500,"FollowIdr":1}}}`, "", ""},
		{"app data of 4096", `{"SeiParams":{"LayoutVolume":{"AppData":"` + strings.Repeat("a", 4096) + `"}}}`, "InvalidParameter", "4096"},
		{"layout volume payload 244", `{"SeiParams":{"LayoutVolume":{"PayloadType":244}}}`, "InvalidParameter.OutOfRange", "LayoutVolume.PayloadType"},
		{"layout volume payload 5", `{"SeiParams":{"LayoutVolume":{"PayloadType":5}}}`, "InvalidParameter.OutOfRange", "LayoutVolume.PayloadType"},
		{"layout volume payload 99", `{"SeiParams":{"LayoutVolume":{"PayloadType":99}}}`, "InvalidParameter.OutOfRange", "100 to 254"},
		{"layout volume payload 255", `{"SeiParams":{"LayoutVolume":{"PayloadType":255}}}`, "InvalidParameter.OutOfRange", "100 to 254"},
		{"interval 0", `{"SeiParams":{"LayoutVolume":{"Interval":0}}}`, "InvalidParameter.OutOfRange", "LayoutVolume.Interval"},
		{"FollowIdr 2", `{"SeiParams":{"LayoutVolume":{"FollowIdr":2}}}`, "InvalidParameter.OutOfRange", "FollowIdr"},
		{"pass-through", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":5,"PayloadUuid":"0123456789abcdefABCDEF0123456789"}}}`, "", ""},
		{"pass-through 5 without uuid", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":5}}}`, "MissingParameter", "PassThrough.PayloadUuid"},
		{"pass-through 5 with a short uuid", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":5,"PayloadUuid":"0123"}}}`, "InvalidParameter", "32 hexadecimal"},
		{"pass-through 5 with a non-hex uuid", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":5,"PayloadUuid":"0123456789abcdefABCDEF012345678g"}}}`, "InvalidParameter", "32 hexadecimal"},
		{"pass-through 100 ignores the uuid", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":100,"PayloadUuid":"junk"}}}`, "", ""},
		{"pass-through payload 244", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":244}}}`, "InvalidParameter.OutOfRange", "5 or 100 to 254"},
		{"pass-through payload 6", `{"SeiParams":{"PassThrough":{"PayloadContent":"hello","PayloadType":6}}}`, "InvalidParameter.OutOfRange", "PassThrough.PayloadType"},
		{"pass-through without content", `{"SeiParams":{"PassThrough":{"PayloadType":100}}}`, "MissingParameter", "PassThrough.PayloadContent"},
		{"pass-through without type", `{"SeiParams":{"PassThrough":{"PayloadContent":"x"}}}`, "MissingParameter", "PassThrough.PayloadType"},
		{"pass-through too long", `{"SeiParams":{"PassThrough":{"PayloadContent":"` + strings.Repeat("a", 4096) + `","PayloadType":100}}}`, "InvalidParameter", "4096"},
		// RecordParams: China only, accepted and ignored.
		{"record params", `{"RecordParams":{"UniRecord":1,"RecordKey":"test_record_key_a"}}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := relaySpec(withRelay(t, c.patch))
			wantRelayErr(t, err, c.code, c.inMsg)
		})
	}
}

// TestRelaySpecDefaults: what an absent field becomes, and the relay's polarity of RoomIdType.
func TestRelaySpecDefaults(t *testing.T) {
	spec, cdns, err := relaySpec(withRelay(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &models.RelaySpec{SdkAppId: 1400000001, RoomId: "1234", RoomIdType: models.RoomIdInt, UserId: "relay_1234", MaxIdleTime: 30,
		Transcode: true, Audio: models.RelayAudio{SampleRate: 48000, Channels: 1, BitRateKbps: 50}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("spec %+v\nwant %+v", spec, want)
	}
	if !reflect.DeepEqual(cdns, []models.RelayCdn{{Url: "rtmp://live.example.com/live/stream1", IsTencentCdn: 1}}) {
		t.Fatalf("cdns %+v", cdns)
	}
	// AudioParams without AudioEncode: the same default encoding.
	if spec, _, err = relaySpec(withRelay(t, `{"AudioParams":{"SubscribeAudioList":[]}}`)); err != nil || spec.Audio.SampleRate != 48000 ||
		spec.Audio.Channels != 1 || spec.Audio.BitRateKbps != 50 || spec.Audio.Subscribe == nil || len(spec.Audio.Subscribe) != 0 {
		t.Fatalf("audio %+v, %v", spec.Audio, err)
	}
	// RoomIdType 1 is a string room; 0 an integer one, in canonical form.
	if spec, _, err = relaySpec(withRelay(t, `{"RoomIdType":1,"RoomId":"0042"}`)); err != nil || spec.RoomIdType != models.RoomIdString || spec.RoomId != "0042" {
		t.Fatalf("string room %+v, %v", spec, err)
	}
	if spec, _, err = relaySpec(withRelay(t, `{"RoomIdType":0,"RoomId":"0042"}`)); err != nil || spec.RoomIdType != models.RoomIdInt || spec.RoomId != "42" {
		t.Fatalf("integer room %+v, %v", spec, err)
	}
	// The encoding as given, kbps.
	spec, _, err = relaySpec(withRelay(t, `{"AgentParams":{"MaxIdleTime":120},"AudioParams":{"AudioEncode":{"SampleRate":44100,"Channel":2,"BitRate":60,"Codec":1}}}`))
	if err != nil || spec.MaxIdleTime != 120 || !reflect.DeepEqual(spec.Audio, models.RelayAudio{SampleRate: 44100, Channels: 2, BitRateKbps: 60, Codec: 1}) {
		t.Fatalf("audio %+v, %v", spec, err)
	}
}

// TestRelayVideoDefaults: VideoParams without VideoEncode takes the recommended encoding;
// odd sizes round down to even (16 at least); Fps and BitRate 0 take the recommended values.
func TestRelayVideoDefaults(t *testing.T) {
	spec, _, err := relaySpec(withRelay(t, `{"VideoParams":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &models.RelayVideo{Width: 640, Height: 360, Fps: 15, BitRateKbps: 800, Gop: 3,
		Layout: models.MixLayout{Mode: 1, RenderMode: renderCrop, BackgroundImageRenderMode: renderStretch, PureAudioDisableLayout: true}}
	if !reflect.DeepEqual(spec.Video, want) {
		t.Fatalf("video %+v\nwant %+v", spec.Video, want)
	}
	// Without transcoding the video is relayed as published: no RelayVideo.
	if spec, _, err = relaySpec(withRelay(t, `{"WithTranscoding":0,"VideoParams":{`+encode720+`}}`)); err != nil || spec.Video != nil || spec.Transcode {
		t.Fatalf("single stream's video %+v, %v", spec, err)
	}
	for _, c := range []struct {
		encode                  string
		width, height, fps, bit int
	}{
		{`"Width":641,"Height":7,"Fps":0,"BitRate":0,"Gop":5`, 640, 16, 15, 800},
		{`"Width":0,"Height":0,"Fps":30,"BitRate":0,"Gop":1`, 16, 16, 30, 800},
		{`"Width":961,"Height":540,"Fps":15,"BitRate":0,"Gop":3`, 960, 540, 15, 1200},
		{`"Width":1280,"Height":720,"Fps":15,"BitRate":0,"Gop":3`, 1280, 720, 15, 1500},
		{`"Width":1920,"Height":1080,"Fps":60,"BitRate":0,"Gop":3`, 1920, 1080, 60, 2500},
		{`"Width":1920,"Height":1080,"Fps":60,"BitRate":6000,"Gop":3`, 1920, 1080, 60, 6000},
	} {
		spec, _, err := relaySpec(withRelay(t, `{"VideoParams":{"VideoEncode":{`+c.encode+`}}}`))
		if err != nil {
			t.Fatalf("%s: %v", c.encode, err)
		}
		if v := spec.Video; v.Width != c.width || v.Height != c.height || v.Fps != c.fps || v.BitRateKbps != c.bit {
			t.Errorf("%s: video %+v", c.encode, v)
		}
	}
}

// TestRelayLayoutConversion: McuVideoParams in mixed recording's terms: 0x colours as #,
// render modes, windows and watermarks.
func TestRelayLayoutConversion(t *testing.T) {
	spec, _, err := relaySpec(withRelay(t, `{"VideoParams":{"VideoEncode":{"Width":1280,"Height":720,"Fps":30,"BitRate":1500,"Gop":2},
	  "BackGroundColor":"0xcc0033","BackgroundImageUrl":"https://h/bg.png","BackgroundRenderMode":0,
	  "LayoutParams":{"MixLayoutMode":4,"PureAudioHoldPlaceMode":1,"RenderMode":2,
	    "MaxVideoUser":{"UserMediaStream":{"UserInfo":{"UserId":"teacher"},"StreamType":1}},
	    "MixLayoutList":[
	      {"UserMediaStream":{"UserInfo":{"UserId":"a","RoomId":"1234","RoomIdType":0},"StreamType":1},"ImageWidth":640,"ImageHeight":360,"LocationX":0,"LocationY":0,"ZOrder":2,"RenderMode":1,"BackgroundImageUrl":"http://h/ph.jpg"},
	      {"ImageWidth":320,"ImageHeight":180,"LocationX":960,"LocationY":540,"CustomCrop":{"LocationX":10,"LocationY":20,"Width":300,"Height":200}}]},
	  "WaterMarkList":[`+imageWM+`,
	    {"WaterMarkType":1,"WaterMarkText":{"Text":"live","WaterMarkWidth":200,"WaterMarkHeight":40,"LocationX":30,"LocationY":40,"FontSize":24,"FontColor":"0xFFFFFF","BackGroundColor":"0X000000"}},
	    {"WaterMarkType":1,"WaterMarkText":{"Text":"clear","WaterMarkWidth":10,"WaterMarkHeight":10,"LocationX":0,"LocationY":0,"FontSize":12}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &models.RelayVideo{Width: 1280, Height: 720, Fps: 30, BitRateKbps: 1500, Gop: 2, Layout: models.MixLayout{
		Mode: 4,
		Slots: []models.MixSlot{
			{Top: 0, Left: 0, Width: 640, Height: 360, UserId: "a", RenderMode: renderFit, MediaId: 1, ImageLayer: 2, SubBackgroundImage: "http://h/ph.jpg"},
			{Top: 540, Left: 960, Width: 320, Height: 180, RenderMode: renderCrop, Crop: &models.CropRect{X: 10, Y: 20, W: 300, H: 200}},
		},
		BackgroundColor: "#cc0033", MainUserId: "teacher", MainMediaId: 1,
		BackgroundImageUrl: "https://h/bg.png", BackgroundImageRenderMode: renderCrop, PlaceHolderMode: true,
		Watermarks: []models.Watermark{
			{Type: 0, Url: "http://h/logo.png", Top: 20, Left: 10, Width: 100, Height: 50},
			{Type: 1, Top: 40, Left: 30, Width: 200, Height: 40, Chars: "live", FontSize: 24, FontColor: "#FFFFFF", BackgroundColor: "#000000"},
			{Type: 1, Width: 10, Height: 10, Chars: "clear", FontSize: 12},
		},
		RenderMode: renderFit, PureAudioDisableLayout: false,
	}}
	if !reflect.DeepEqual(spec.Video, want) {
		t.Fatalf("video\n %+v\nwant\n %+v", spec.Video, want)
	}
	// Render modes: layout and window 0 crop, 1 scale, 2 black bars; background 0 crop,
	// 1 scale on black, 2 stretch (the default).
	for mode, want := range []int{renderCrop, renderFit, renderFit} {
		spec, _, err := relaySpec(withRelay(t, fmt.Sprintf(`{"VideoParams":{"LayoutParams":{"RenderMode":%d,"MixLayoutMode":4,"MixLayoutList":[{"RenderMode":%d}]}}}`, mode, mode)))
		if err != nil || spec.Video.Layout.RenderMode != want || spec.Video.Layout.Slots[0].RenderMode != want {
			t.Errorf("RenderMode %d: %+v, %v", mode, spec.Video.Layout, err)
		}
	}
	for mode, want := range []int{renderCrop, renderFit, renderStretch} {
		spec, _, err := relaySpec(withRelay(t, fmt.Sprintf(`{"VideoParams":{"BackgroundRenderMode":%d}}`, mode)))
		if err != nil || spec.Video.Layout.BackgroundImageRenderMode != want {
			t.Errorf("BackgroundRenderMode %d: %+v, %v", mode, spec.Video.Layout, err)
		}
	}
	// PureAudioHoldPlaceMode 0: audio-only users take no window.
	if spec, _, err = relaySpec(withRelay(t, `{"VideoParams":{"LayoutParams":{"PureAudioHoldPlaceMode":0,"MixLayoutMode":3}}}`)); err != nil ||
		!spec.Video.Layout.PureAudioDisableLayout || spec.Video.Layout.Mode != 3 {
		t.Fatalf("grid %+v, %v", spec.Video.Layout, err)
	}
}

// TestRelayStreamsAndRooms: SingleSubscribeParams, FeedBackRoomParams (relay polarity),
// the audio lists and IsTencentCdn.
func TestRelayStreamsAndRooms(t *testing.T) {
	spec, cdns, err := relaySpec(withRelay(t, `{"WithTranscoding":0,
	  "SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"anchor"},"StreamType":1}},
	  "AudioParams":{"SubscribeAudioList":[{"UserInfo":{"UserId":"a"}},{"UserInfo":{"UserId":"b"}}],"UnSubscribeAudioList":[{"UserInfo":{"UserId":"c"}}]},
	  "PublishCdnParams":[{"PublishCdnUrl":" rtmp://a.example.com/live/x ","IsTencentCdn":0},{"PublishCdnUrl":"rtmp://b.example.com/live/y"}],
	  "FeedBackRoomParams":[`+feedBack+`,{"RoomId":"0042","RoomIdType":0,"UserId":"fb2","UserSig":"sig2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Transcode || spec.Video != nil || !reflect.DeepEqual(spec.Single, &models.RelayStream{UserId: "anchor", Aux: true}) {
		t.Fatalf("single %+v", spec)
	}
	if !reflect.DeepEqual(spec.Audio.Subscribe, []string{"a", "b"}) || !reflect.DeepEqual(spec.Audio.Unsubscribe, []string{"c"}) {
		t.Fatalf("audio lists %+v", spec.Audio)
	}
	if !reflect.DeepEqual(cdns, []models.RelayCdn{{Url: "rtmp://a.example.com/live/x", IsTencentCdn: 0}, {Url: "rtmp://b.example.com/live/y", IsTencentCdn: 1}}) {
		t.Fatalf("cdns %+v", cdns)
	}
	wantFb := []models.RelayFeedBack{{RoomId: "room_b", RoomIdType: models.RoomIdString, UserId: "fb", UserSig: "sig"},
		{RoomId: "42", RoomIdType: models.RoomIdInt, UserId: "fb2", UserSig: "sig2"}}
	if !reflect.DeepEqual(spec.FeedBack, wantFb) {
		t.Fatalf("feedback %+v", spec.FeedBack)
	}
	if spec, _, err = relaySpec(withRelay(t, `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"anchor"}}}}`)); err != nil ||
		*spec.Single != (models.RelayStream{UserId: "anchor"}) {
		t.Fatalf("camera %+v, %v", spec, err)
	}
}

// TestRelaySeiDefaults: PayloadType 100 and Interval 1000 ms when absent; the UUID only with
// PayloadType 5.
func TestRelaySeiDefaults(t *testing.T) {
	spec, _, err := relaySpec(withRelay(t, `{"SeiParams":{"LayoutVolume":{},"PassThrough":{"PayloadContent":"hi","PayloadType":5,"PayloadUuid":"0123456789abcdef0123456789ABCDEF","Interval":40,"FollowIdr":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &models.RelaySei{LayoutVolume: &models.SeiLayoutVolume{PayloadType: 100, IntervalMs: 1000},
		PassThrough: &models.SeiPassThrough{Content: "hi", Uuid: "0123456789abcdef0123456789ABCDEF", PayloadType: 5, IntervalMs: 40, FollowIdr: true}}
	if !reflect.DeepEqual(spec.Sei, want) {
		t.Fatalf("sei %+v %+v", spec.Sei.LayoutVolume, spec.Sei.PassThrough)
	}
	spec, _, err = relaySpec(withRelay(t, `{"SeiParams":{"PassThrough":{"PayloadContent":"hi","PayloadType":200,"PayloadUuid":"ignored"}}}`))
	if err != nil || spec.Sei.LayoutVolume != nil || spec.Sei.PassThrough.Uuid != "" || spec.Sei.PassThrough.PayloadType != 200 {
		t.Fatalf("sei %+v, %v", spec.Sei, err)
	}
}

// TestRelayChangeRules: Update's fields, absent (no change) against given empty (reset).
func TestRelayChangeRules(t *testing.T) {
	c, err := relayChange(withRelayUpdate(t, `{}`))
	if err != nil || !reflect.DeepEqual(c, models.RelayChange{SequenceNumber: 2, Transcode: true}) {
		t.Fatalf("an empty change %+v, %v", c, err)
	}
	c, err = relayChange(withRelayUpdate(t, `{"PublishCdnParams":[],"FeedBackRoomParams":[],"AudioParams":{"SubscribeAudioList":[]},"SeiParams":{}}`))
	if err != nil || c.Cdns == nil || len(*c.Cdns) != 0 || c.FeedBack == nil || len(*c.FeedBack) != 0 ||
		c.Subscribe == nil || len(*c.Subscribe) != 0 || c.Unsubscribe != nil || c.Sei == nil || c.Sei.LayoutVolume != nil {
		t.Fatalf("resets %+v, %v", c, err)
	}
	c, err = relayChange(withRelayUpdate(t, `{"SequenceNumber":9,"PublishCdnParams":[{"PublishCdnUrl":"rtmp://h/live/a","IsTencentCdn":0}],
	  "AudioParams":{"AudioEncode":{"SampleRate":48000,"Channel":2,"BitRate":60},"UnSubscribeAudioList":[{"UserInfo":{"UserId":"x"}}]},
	  "FeedBackRoomParams":[`+feedBack+`]}`))
	if err != nil || c.SequenceNumber != 9 || !reflect.DeepEqual(*c.Cdns, []models.RelayCdn{{Url: "rtmp://h/live/a"}}) ||
		c.Subscribe != nil || !reflect.DeepEqual(*c.Unsubscribe, []string{"x"}) || len(*c.FeedBack) != 1 || (*c.FeedBack)[0].RoomIdType != models.RoomIdString {
		t.Fatalf("change %+v, %v", c, err)
	}
	// VideoParams: a layout field replaces the layout; VideoEncode alone changes nothing.
	if c, err = relayChange(withRelayUpdate(t, `{"VideoParams":{`+encode720+`}}`)); err != nil || c.Video != nil {
		t.Fatalf("encoding only %+v, %v", c, err)
	}
	c, err = relayChange(withRelayUpdate(t, `{"VideoParams":{"BackGroundColor":"0x102030","LayoutParams":{"MixLayoutMode":3}}}`))
	if err != nil || c.Video == nil || c.Video.Layout.Mode != 3 || c.Video.Layout.BackgroundColor != "#102030" {
		t.Fatalf("layout %+v, %v", c, err)
	}
	c, err = relayChange(withRelayUpdate(t, `{"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"b"},"StreamType":1}}}`))
	if err != nil || c.Transcode || !reflect.DeepEqual(c.Single, &models.RelayStream{UserId: "b", Aux: true}) {
		t.Fatalf("single %+v, %v", c, err)
	}
	cases := []struct {
		name, patch, code, inMsg string
	}{
		{"no SequenceNumber", `{"SequenceNumber":null}`, "MissingParameter", "SequenceNumber"},
		{"no WithTranscoding", `{"WithTranscoding":null}`, "MissingParameter", "WithTranscoding"},
		{"no TaskId", `{"TaskId":null}`, "MissingParameter", "TaskId"},
		{"WithTranscoding 2", `{"WithTranscoding":2}`, "InvalidParameter.OutOfRange", "WithTranscoding"},
		{"single stream of a mix", `{"SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"b"}}}}`, "InvalidParameter", "WithTranscoding 0"},
		{"layout of a single stream", `{"WithTranscoding":0,"VideoParams":{"LayoutParams":{"MixLayoutMode":3}}}`, "InvalidParameter", "VideoParams.LayoutParams"},
		{"encoding of a single stream", `{"WithTranscoding":0,"VideoParams":{` + encode720 + `}}`, "", ""},
		{"bad encoding", `{"VideoParams":{"VideoEncode":{"Width":1280}}}`, "MissingParameter", "VideoEncode.Height"},
		{"bad audio encoding", `{"AudioParams":{"AudioEncode":{"SampleRate":11025,"Channel":1,"BitRate":50}}}`, "InvalidParameter.OutOfRange", "SampleRate"},
		{"allow list entry without user", `{"AudioParams":{"SubscribeAudioList":[{"UserInfo":{}}]}}`, "MissingParameter", "SubscribeAudioList.0.UserInfo.UserId"},
		{"bad second URL", `{"PublishCdnParams":[{"PublishCdnUrl":"rtmp://h/live/a"},{"PublishCdnUrl":"srt://h/live/b"}]}`, "InvalidParameter", "PublishCdnParams.1.PublishCdnUrl"},
		{"11 URLs", urls(11), "InvalidParameter", "at most 10"},
		{"bad room", `{"FeedBackRoomParams":[{"RoomId":"x","RoomIdType":0,"UserId":"fb","UserSig":"s"}]}`, "InvalidParameter.RoomId", "FeedBackRoomParams.0.RoomId"},
		{"bad SEI", `{"SeiParams":{"PassThrough":{"PayloadContent":"x","PayloadType":244}}}`, "InvalidParameter.OutOfRange", "PayloadType"},
		{"too many windows", `{"VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[` + strings.Repeat(`{},`, 16) + `{}]}}}`, "InvalidParameter", "at most 16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := relayChange(withRelayUpdate(t, tc.patch))
			wantRelayErr(t, err, tc.code, tc.inMsg)
		})
	}
}

// TestRelayCanvasNames: the store's canvas refusals, in mixed recording's names, are said
// in the relay request's.
func TestRelayCanvasNames(t *testing.T) {
	l := models.MixLayout{Slots: []models.MixSlot{{Left: 600, Width: 100, Height: 10}}}
	err := relayFieldNames(l.CheckCanvas(640, 360))
	wantRelayErr(t, err, "InvalidParameter", "VideoParams.LayoutParams.MixLayoutList.0")
	l = models.MixLayout{Watermarks: []models.Watermark{{Top: 300, Width: 10, Height: 100}}}
	err = relayFieldNames(l.CheckCanvas(640, 360))
	wantRelayErr(t, err, "InvalidParameter", "VideoParams.WaterMarkList.0")
	if relayFieldNames(nil) != nil {
		t.Fatal("nil is not nil")
	}
	if other := errors.New("x"); relayFieldNames(other) != other {
		t.Fatal("another error changed")
	}
}

// checkRelayCdns holds for any accepted destination list.
func checkRelayCdns(t *testing.T, cdns []models.RelayCdn, body string) {
	t.Helper()
	if len(cdns) > models.MaxRelayDestinations {
		t.Fatalf("accepted %d URLs from %s", len(cdns), body)
	}
	seen := map[string]bool{}
	for _, c := range cdns {
		if !strings.HasPrefix(strings.ToLower(c.Url), "rtmp://") || len(c.Url) > maxSourceURLBytes || seen[c.Url] || c.IsTencentCdn < 0 || c.IsTencentCdn > 1 {
			t.Fatalf("accepted the destination %+v from %s", c, body)
		}
		if _, err := relayCdnURL("u", c.Url); err != nil {
			t.Fatalf("accepted %q, which its own check refuses: %v", c.Url, err)
		}
		seen[c.Url] = true
	}
}

func checkRelayFeedBack(t *testing.T, fb []models.RelayFeedBack, body string) {
	t.Helper()
	if len(fb) > models.MaxRelayDestinations {
		t.Fatalf("accepted %d rooms from %s", len(fb), body)
	}
	for _, f := range fb {
		if id, err := models.ValidateRoomId("RoomId", f.RoomId, f.RoomIdType); err != nil || id != f.RoomId || f.UserId == "" || f.UserSig == "" {
			t.Fatalf("accepted the room %+v from %s", f, body)
		}
	}
}

func checkRelayLayout(t *testing.T, l *models.MixLayout, body string) {
	t.Helper()
	colour := func(c string) bool { return c == "" || hexColor.MatchString(c) }
	if l.Mode < 1 || l.Mode > 4 || len(l.Slots) > maxRelayWindows || len(l.Watermarks) > maxRelayWatermarks || !colour(l.BackgroundColor) ||
		l.RenderMode < 0 || l.RenderMode > 2 || l.BackgroundImageRenderMode < 0 || l.BackgroundImageRenderMode > 2 || (l.Mode == 4 && len(l.Slots) == 0) {
		t.Fatalf("accepted the layout %+v from %s", l, body)
	}
	for _, s := range l.Slots {
		if s.RenderMode < 0 || s.RenderMode > 2 || s.MediaId < 0 || s.MediaId > 1 || len(s.UserId) > maxUserIdBytes {
			t.Fatalf("accepted the window %+v from %s", s, body)
		}
	}
	for _, w := range l.Watermarks {
		if w.Type < 0 || w.Type > 1 || (w.Type == 0 && w.Url == "") || (w.Type == 1 && (w.Chars == "" || w.FontSize < 1)) ||
			!colour(w.FontColor) || !colour(w.BackgroundColor) {
			t.Fatalf("accepted the watermark %+v from %s", w, body)
		}
	}
}

func checkRelaySei(t *testing.T, s *models.RelaySei, body string) {
	t.Helper()
	if s == nil {
		return
	}
	ok := func(pt int, allow5 bool) bool { return (allow5 && pt == 5) || (pt >= 100 && pt <= 254 && pt != 244) }
	if v := s.LayoutVolume; v != nil && (!ok(v.PayloadType, false) || v.IntervalMs < 1 || len([]rune(v.AppData)) >= 4096) {
		t.Fatalf("accepted the SEI %+v from %s", v, body)
	}
	if v := s.PassThrough; v != nil && (!ok(v.PayloadType, true) || v.Content == "" || v.IntervalMs < 1 || (v.PayloadType == 5) != (v.Uuid != "") ||
		(v.Uuid != "" && !hexUuid.MatchString(v.Uuid))) {
		t.Fatalf("accepted the SEI %+v from %s", v, body)
	}
}

// FuzzRelayParams runs fuzzed StartPublishCdnStream and UpdatePublishCdnStream bodies
// through the strict decoder and the relay rules (and, refused by the schema, straight
// through the rules too): a Tencent error or a spec that keeps the limits, never a panic.
func FuzzRelayParams(f *testing.F) {
	f.Add(false, validRelay)
	f.Add(false, `{"SdkAppId":1,"RoomId":"room_a","RoomIdType":1,"WithTranscoding":0,"AgentParams":{"UserId":"r","MaxIdleTime":5},
	  "SingleSubscribeParams":{"UserMediaStream":{"UserInfo":{"UserId":"a"},"StreamType":1}},
	  "AudioParams":{"AudioEncode":{"SampleRate":8000,"Channel":1,"BitRate":8}},
	  "FeedBackRoomParams":[{"RoomId":"7","RoomIdType":0,"UserId":"fb","UserSig":"s"}],
	  "SeiParams":{"PassThrough":{"PayloadContent":"x","PayloadType":5,"PayloadUuid":"0123456789abcdef0123456789abcdef"}}}`)
	f.Add(false, `{"SdkAppId":1,"RoomId":"7","RoomIdType":0,"WithTranscoding":1,"AgentParams":{"UserId":"r"},
	  "PublishCdnParams":[{"PublishCdnUrl":"rtmp://h:1935/live/a?k=v","IsTencentCdn":0},{"PublishCdnUrl":"rtmp://h/live/b"}],
	  "VideoParams":{"VideoEncode":{"Width":641,"Height":361,"Fps":0,"BitRate":0,"Gop":5},"BackGroundColor":"0xcc0033","BackgroundImageUrl":"http://h/b.png","BackgroundRenderMode":1,
	    "LayoutParams":{"MixLayoutMode":4,"RenderMode":2,"PureAudioHoldPlaceMode":1,"MaxVideoUser":{"UserMediaStream":{"UserInfo":{"UserId":"a"}}},
	      "MixLayoutList":[{"UserMediaStream":{"UserInfo":{"UserId":"a"},"StreamType":1},"ImageWidth":320,"ImageHeight":180,"LocationX":320,"LocationY":180,"ZOrder":1,"RenderMode":1,"BackgroundImageUrl":"http://h/p.jpg"}]},
	    "WaterMarkList":[{"WaterMarkImage":{"WaterMarkUrl":"http://h/w.png","WaterMarkWidth":10,"WaterMarkHeight":10,"LocationX":1,"LocationY":2}},
	      {"WaterMarkType":1,"WaterMarkText":{"Text":"t","WaterMarkWidth":10,"WaterMarkHeight":10,"LocationX":1,"LocationY":2,"FontSize":9,"FontColor":"0xffffff"}}]},
	  "SeiParams":{"LayoutVolume":{"AppData":"d","PayloadType":100,"Interval":1000,"FollowIdr":1}}}`)
	f.Add(true, validRelayUpdate)
	f.Add(true, `{"SdkAppId":1,"TaskId":"t","SequenceNumber":3,"WithTranscoding":1,"PublishCdnParams":[],"AudioParams":{"SubscribeAudioList":[],"UnSubscribeAudioList":[{"UserInfo":{"UserId":"x"}}]},
	  "VideoParams":{"LayoutParams":{"MixLayoutMode":4,"MixLayoutList":[{"ImageWidth":5000}]}}}`)
	f.Add(true, `{"SdkAppId":1,"TaskId":"t","SequenceNumber":3,"WithTranscoding":0,"SingleSubscribeParams":{"UserMediaStream":{}},"FeedBackRoomParams":[]}`)
	f.Fuzz(func(t *testing.T, update bool, body string) {
		name := "StartPublishCdnStreamRequest"
		if update {
			name = "UpdatePublishCdnStreamRequest"
		}
		checked := []byte(body)
		if params, err := parseJSONParams([]byte(body)); err == nil {
			if out, err := decodeParams(name, params); err == nil {
				checked = out
			}
		}
		if update {
			var req wire.UpdatePublishCdnStreamRequest
			if json.Unmarshal(checked, &req) != nil {
				return
			}
			c, err := relayChange(&req)
			if err != nil {
				if _, ok := tcerr.As(err); !ok {
					t.Fatalf("not a Tencent error: %v", err)
				}
				return
			}
			if (c.Video != nil && !c.Transcode) || (c.Single != nil && (c.Transcode || c.Single.UserId == "")) {
				t.Fatalf("accepted a change for the wrong kind %+v from %s", c, body)
			}
			if c.Cdns != nil {
				checkRelayCdns(t, *c.Cdns, body)
			}
			if c.FeedBack != nil {
				checkRelayFeedBack(t, *c.FeedBack, body)
			}
			if c.Video != nil {
				checkRelayLayout(t, &c.Video.Layout, body)
			}
			checkRelaySei(t, c.Sei, body)
			return
		}
		var req wire.StartPublishCdnStreamRequest
		if json.Unmarshal(checked, &req) != nil {
			return
		}
		spec, cdns, err := relaySpec(&req)
		if err != nil {
			if _, ok := tcerr.As(err); !ok {
				t.Fatalf("not a Tencent error: %v", err)
			}
			return
		}
		if _, err := models.ValidateRoomId("RoomId", spec.RoomId, spec.RoomIdType); err != nil || spec.UserId == "" || len(spec.UserId) > maxUserIdBytes ||
			spec.MaxIdleTime < 5 || spec.MaxIdleTime > 86400 || len(cdns)+len(spec.FeedBack) == 0 {
			t.Fatalf("accepted an invalid spec %+v from %s", spec, body)
		}
		a := spec.Audio
		if !slices.Contains(relaySampleRates, a.SampleRate) || a.Channels < 1 || a.Channels > 2 || a.BitRateKbps < 8 || a.BitRateKbps > 500 ||
			a.Codec < 0 || a.Codec > 2 || (a.Codec == 2 && a.Channels != 2) || (a.Codec != 0 && a.SampleRate == 8000) {
			t.Fatalf("accepted the audio %+v from %s", a, body)
		}
		if (spec.Video != nil && !spec.Transcode) || (spec.Single != nil && (spec.Transcode || spec.Single.UserId == "")) {
			t.Fatalf("accepted a spec for the wrong kind %+v from %s", spec, body)
		}
		if v := spec.Video; v != nil {
			if v.Width < 16 || v.Width > 1920 || v.Height < 16 || v.Height > 1080 || v.Width%2 != 0 || v.Height%2 != 0 ||
				v.Fps < 1 || v.Fps > 60 || v.BitRateKbps < 1 || v.BitRateKbps > 10000 || v.Gop < 1 || v.Gop > 5 {
				t.Fatalf("accepted an encoding that cannot be coded: %+v from %s", v, body)
			}
			if err := v.Layout.CheckCanvas(v.Width, v.Height); err != nil {
				t.Fatalf("accepted a layout off its canvas: %+v (%v) from %s", v.Layout, err, body)
			}
			checkRelayLayout(t, &v.Layout, body)
		}
		checkRelayCdns(t, cdns, body)
		checkRelayFeedBack(t, spec.FeedBack, body)
		checkRelaySei(t, spec.Sei, body)
	})
}

// Through the API: the official SDK's common client against a real server over a store.
const (
	relayTestUin       = "100000000001"
	relayTestSecretId  = "AKIDrelayTestSecretId0000000000000000"
	relayTestSecretKey = "relayTestSecretKey00000000000000"
	relayTestSdkAppId  = 1400000001
)

func relayEmulator(t *testing.T) (*common.Client, *models.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "emulator.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, models.Seed{Uin: relayTestUin, SecretId: relayTestSecretId, SecretKey: relayTestSecretKey,
		SdkAppId: relayTestSdkAppId, SdkSecretKey: "relayTestSdkSecretKey-0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Settings{Version: "test", Region: "ap-guangzhou", Uin: relayTestUin, SdkAppId: relayTestSdkAppId,
		APIEndpoint: "http://" + ln.Addr().String()}, store)
	srv := NewServer(ln.Addr().String(), h, nil)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = ln.Addr().String()
	cpf.HttpProfile.Scheme = "http"
	return common.NewCommonClient(common.NewCredential(relayTestSecretId, relayTestSecretKey), "ap-guangzhou", cpf), store
}

// relayCall sends one TRTC action and returns the Response object, or the error's code and
// message.
func relayCall(t *testing.T, c *common.Client, action string, params map[string]any) (map[string]any, string, string) {
	t.Helper()
	req := tchttp.NewCommonRequest("trtc", "2019-07-22", action)
	if err := req.SetActionParameters(params); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		var sdkErr *tcerrors.TencentCloudSDKError
		if !errors.As(err, &sdkErr) || sdkErr.GetRequestId() == "" {
			t.Fatalf("%s: not an API error with a RequestId: %v", action, err)
		}
		return nil, sdkErr.GetCode(), sdkErr.GetMessage()
	}
	var body struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil || body.Response == nil {
		t.Fatalf("%s: bad response %s (%v)", action, resp.GetBody(), err)
	}
	return body.Response, "", ""
}

// TestRelayThroughSDK: Start refuses a bad URL with InvalidParameter and answers a TaskId for
// a good request; Update with the same SequenceNumber twice is refused; Stop succeeds.
func TestRelayThroughSDK(t *testing.T) {
	c, store := relayEmulator(t)
	start := func(url string) map[string]any {
		return map[string]any{"SdkAppId": relayTestSdkAppId, "RoomId": "4321", "RoomIdType": 0, "WithTranscoding": 1,
			"AgentParams":      map[string]any{"UserId": "relay_bot", "MaxIdleTime": 60},
			"AudioParams":      map[string]any{"AudioEncode": map[string]any{"SampleRate": 48000, "Channel": 2, "BitRate": 64}},
			"VideoParams":      map[string]any{"BackGroundColor": "0x336699", "LayoutParams": map[string]any{"MixLayoutMode": 3}},
			"PublishCdnParams": []map[string]any{{"PublishCdnUrl": url, "IsTencentCdn": 0}}}
	}
	if _, code, msg := relayCall(t, c, "StartPublishCdnStream", start("http://cdn.example.com/live/a")); code != "InvalidParameter" || !strings.Contains(msg, "PublishCdnParams.0.PublishCdnUrl") {
		t.Fatalf("a bad URL: %s %s", code, msg)
	}
	resp, code, msg := relayCall(t, c, "StartPublishCdnStream", start("rtmp://cdn.example.com/live/a"))
	if code != "" {
		t.Fatalf("start: %s %s", code, msg)
	}
	taskId, _ := resp["TaskId"].(string)
	if taskId == "" {
		t.Fatalf("no TaskId: %v", resp)
	}
	tasks, urls, err := store.RelaysOfApp(context.Background(), relayTestSdkAppId)
	if err != nil || len(tasks) != 1 || tasks[0].TaskId != taskId || len(urls[tasks[0].ID]) != 1 {
		t.Fatalf("stored tasks %+v %+v, %v", tasks, urls, err)
	}
	spec, err := tasks[0].RelaySpec()
	if err != nil || spec.RoomIdType != models.RoomIdInt || spec.Video == nil || spec.Video.Layout.BackgroundColor != "#336699" || spec.Audio.BitRateKbps != 64 {
		t.Fatalf("stored spec %+v, %v", spec, err)
	}
	update := map[string]any{"SdkAppId": relayTestSdkAppId, "TaskId": taskId, "SequenceNumber": 1, "WithTranscoding": 1,
		"PublishCdnParams": []map[string]any{{"PublishCdnUrl": "rtmp://cdn.example.com/live/a"}, {"PublishCdnUrl": "rtmp://cdn.example.com/live/b"}}}
	if resp, code, msg = relayCall(t, c, "UpdatePublishCdnStream", update); code != "" || resp["TaskId"] != taskId {
		t.Fatalf("update: %v %s %s", resp, code, msg)
	}
	if _, code, msg = relayCall(t, c, "UpdatePublishCdnStream", update); code != models.CodeRelaySequence {
		t.Fatalf("the same SequenceNumber again: %s %s", code, msg)
	}
	update["SequenceNumber"], update["WithTranscoding"] = 2, 0
	if _, code, msg = relayCall(t, c, "UpdatePublishCdnStream", update); code != "InvalidParameter" || !strings.Contains(msg, "WithTranscoding") {
		t.Fatalf("WithTranscoding changed: %s %s", code, msg)
	}
	update["WithTranscoding"] = 1
	update["VideoParams"] = map[string]any{"LayoutParams": map[string]any{"MixLayoutMode": 4, "MixLayoutList": []map[string]any{{"LocationX": 600, "ImageWidth": 100, "ImageHeight": 10}}}}
	if _, code, msg = relayCall(t, c, "UpdatePublishCdnStream", update); code != "InvalidParameter" || !strings.Contains(msg, "VideoParams.LayoutParams.MixLayoutList.0") {
		t.Fatalf("a window off the task's canvas: %s %s", code, msg)
	}
	stop := map[string]any{"SdkAppId": relayTestSdkAppId, "TaskId": taskId}
	if resp, code, msg = relayCall(t, c, "StopPublishCdnStream", stop); code != "" || resp["TaskId"] != taskId {
		t.Fatalf("stop: %v %s %s", resp, code, msg)
	}
	if _, code, msg = relayCall(t, c, "StopPublishCdnStream", map[string]any{"SdkAppId": relayTestSdkAppId, "TaskId": "no-such-task"}); code != tcerr.CodeResourceNotFound {
		t.Fatalf("stopping a task that does not exist: %s %s", code, msg)
	}
}
