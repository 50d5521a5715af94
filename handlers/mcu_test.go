package handlers

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

const validMCU = `{"SdkAppId":1400000001,"RoomId":1234,
 "OutputParams":{"StreamId":"mix_1234"},
 "EncodeParams":{"AudioSampleRate":48000,"AudioBitrate":64,"AudioChannels":2,
  "VideoWidth":640,"VideoHeight":360,"VideoBitrate":800,"VideoFramerate":15,"VideoGop":2},
 "LayoutParams":{"Template":1}}`

const validMCUByStr = `{"SdkAppId":1400000001,"StrRoomId":"room_a",
 "OutputParams":{"StreamId":"mix_a"},
 "EncodeParams":{"AudioSampleRate":48000,"AudioBitrate":64,"AudioChannels":2,"VideoWidth":640,"VideoHeight":360,"VideoBitrate":800,"VideoFramerate":15,"VideoGop":2},
 "LayoutParams":{}}`

func withMCU(t testing.TB, patch string) mcuStart {
	t.Helper()
	return mcuStartOf(patched[wire.StartMCUMixTranscodeRequest](t, validMCU, patch))
}

func mcuSpecOf(t *testing.T, patch string) (*models.RelaySpec, []models.RelayCdn) {
	t.Helper()
	spec, cdns, err := mcuSpec(withMCU(t, patch))
	if err != nil {
		t.Fatalf("%s: %v", patch, err)
	}
	return spec, cdns
}

const (
	pipPatch  = `{"LayoutParams":{"Template":3,"MainVideoUserId":"teacher","SmallVideoLayoutParams":{"UserId":"student","StreamType":0,"ImageWidth":160,"ImageHeight":90,"LocationX":470,"LocationY":260}}}`
	mcuWindow = `{"UserId":"a","ImageWidth":320,"ImageHeight":180}`
)

// TestMCUSpecRules: each rule of the Start request, with its code and the field it names.
func TestMCUSpecRules(t *testing.T) {
	for _, tc := range []struct {
		name, patch, code, inMsg string
	}{
		{"valid", `{}`, "", ""},
		{"no SdkAppId", `{"SdkAppId":null}`, "MissingParameter.SdkAppId", "SdkAppId"},
		{"no RoomId", `{"RoomId":null}`, "MissingParameter.RoomId", "RoomId"},
		{"RoomId 0", `{"RoomId":0}`, "InvalidParameter.RoomId", "RoomId"},
		{"RoomId past 32 bits", `{"RoomId":4294967295}`, "InvalidParameter.RoomId", "RoomId"},
		{"RoomId 4294967294", `{"RoomId":4294967294}`, "", ""},
		// OutputParams.
		{"no OutputParams", `{"OutputParams":null}`, "MissingParameter.OutputParams", "OutputParams"},
		{"no StreamId", `{"OutputParams":{"StreamId":null}}`, "MissingParameter.StreamId", "OutputParams.StreamId"},
		{"empty StreamId", `{"OutputParams":{"StreamId":""}}`, "MissingParameter.StreamId", "OutputParams.StreamId"},
		{"StreamId of 64 bytes", `{"OutputParams":{"StreamId":"` + strings.Repeat("s", 64) + `"}}`, "", ""},
		{"StreamId of 65 bytes", `{"OutputParams":{"StreamId":"` + strings.Repeat("s", 65) + `"}}`, "InvalidParameter.StreamId", "64 bytes"},
		{"StreamId with a slash", `{"OutputParams":{"StreamId":"live/a"}}`, "InvalidParameter.StreamId", "StreamId"},
		{"PureAudioStream 2", `{"OutputParams":{"PureAudioStream":2}}`, "InvalidParameter.PureAudioStream", "PureAudioStream"},
		{"RecordId", `{"OutputParams":{"RecordId":"rec_1-a"}}`, "", ""},
		{"RecordId with a dot", `{"OutputParams":{"RecordId":"rec.1"}}`, "InvalidParameter.RecordId", "RecordId"},
		{"RecordAudioOnly 2", `{"OutputParams":{"RecordAudioOnly":2}}`, "InvalidParameter.RecordAudioOnly", "RecordAudioOnly"},
		// EncodeParams: audio.
		{"no EncodeParams", `{"EncodeParams":null}`, "MissingParameter.EncodeParams", "EncodeParams"},
		{"no sample rate", `{"EncodeParams":{"AudioSampleRate":null}}`, "MissingParameter.AudioEncodeParams", "AudioSampleRate"},
		{"sample rate 22050", `{"EncodeParams":{"AudioSampleRate":22050}}`, "InvalidParameter.AudioEncodeParams", "AudioSampleRate"},
		{"sample rate 96000", `{"EncodeParams":{"AudioSampleRate":96000}}`, "InvalidParameter.AudioEncodeParams", "AudioSampleRate"},
		{"no audio bitrate", `{"EncodeParams":{"AudioBitrate":null}}`, "MissingParameter.AudioEncodeParams", "AudioBitrate"},
		{"audio bitrate in bps", `{"EncodeParams":{"AudioBitrate":64000}}`, "InvalidParameter.AudioEncodeParams", "AudioBitrate"},
		{"audio bitrate 7", `{"EncodeParams":{"AudioBitrate":7}}`, "InvalidParameter.AudioEncodeParams", "AudioBitrate"},
		{"audio bitrate 500", `{"EncodeParams":{"AudioBitrate":500}}`, "", ""},
		{"no channels", `{"EncodeParams":{"AudioChannels":null}}`, "MissingParameter.AudioEncodeParams", "AudioChannels"},
		{"three channels", `{"EncodeParams":{"AudioChannels":3}}`, "InvalidParameter.AudioEncodeParams", "AudioChannels"},
		{"codec 3", `{"EncodeParams":{"AudioCodec":3}}`, "InvalidParameter.AudioEncodeParams", "AudioCodec"},
		{"HE-AACv2 in mono", `{"EncodeParams":{"AudioCodec":2,"AudioChannels":1}}`, "InvalidParameter.AudioEncodeParams", "AudioChannels 2"},
		{"HE-AAC at 8 kHz", `{"EncodeParams":{"AudioCodec":1,"AudioSampleRate":8000}}`, "InvalidParameter.AudioEncodeParams", "16000"},
		{"LC-AAC at 8 kHz", `{"EncodeParams":{"AudioCodec":0,"AudioSampleRate":8000}}`, "", ""},
		// EncodeParams: video, required with video.
		{"no width", `{"EncodeParams":{"VideoWidth":null}}`, "MissingParameter.VideoEncodeParams", "VideoWidth"},
		{"no height", `{"EncodeParams":{"VideoHeight":null}}`, "MissingParameter.VideoEncodeParams", "VideoHeight"},
		{"no video bitrate", `{"EncodeParams":{"VideoBitrate":null}}`, "MissingParameter.VideoEncodeParams", "VideoBitrate"},
		{"no frame rate", `{"EncodeParams":{"VideoFramerate":null}}`, "MissingParameter.VideoEncodeParams", "VideoFramerate"},
		{"no GOP", `{"EncodeParams":{"VideoGop":null}}`, "MissingParameter.VideoEncodeParams", "VideoGop"},
		{"width 1921", `{"EncodeParams":{"VideoWidth":1921}}`, "InvalidParameter.VideoResolution", "VideoWidth"},
		{"height 1081", `{"EncodeParams":{"VideoHeight":1081}}`, "InvalidParameter.VideoResolution", "VideoHeight"},
		{"width 0 only", `{"EncodeParams":{"VideoWidth":0}}`, "InvalidParameter.VideoResolution", "both are 0"},
		{"1920x1080", `{"EncodeParams":{"VideoWidth":1920,"VideoHeight":1080,"VideoBitrate":10000,"VideoFramerate":60,"VideoGop":5}}`, "", ""},
		{"video bitrate 0", `{"EncodeParams":{"VideoBitrate":0}}`, "InvalidParameter.EncodeParams", "VideoBitrate"},
		{"video bitrate in bps", `{"EncodeParams":{"VideoBitrate":800000}}`, "InvalidParameter.EncodeParams", "VideoBitrate"},
		{"fps 61", `{"EncodeParams":{"VideoFramerate":61}}`, "InvalidParameter.EncodeParams", "VideoFramerate"},
		{"GOP 6", `{"EncodeParams":{"VideoGop":6}}`, "InvalidParameter.EncodeParams", "VideoGop"},
		{"background white", `{"EncodeParams":{"BackgroundColor":16777215}}`, "", ""},
		{"background past 0xFFFFFF", `{"EncodeParams":{"BackgroundColor":16777216}}`, "InvalidParameter.EncodeParams", "BackgroundColor"},
		{"background picture id", `{"EncodeParams":{"BackgroundImageId":12}}`, "", ""},
		{"background URL", `{"EncodeParams":{"BackgroundImageUrl":"https://h/bg.png"}}`, "", ""},
		{"background URL, not an image", `{"EncodeParams":{"BackgroundImageUrl":"https://h/bg.gif"}}`, "InvalidParameter.BackgroundImageUrl", "BackgroundImageUrl"},
		{"background URL past 512 bytes", `{"EncodeParams":{"BackgroundImageUrl":"https://h/` + strings.Repeat("b", 510) + `.png"}}`, "InvalidParameter.BackgroundImageUrl", "512"},
		// Audio only: the video and layout fields are not read.
		{"pure audio without video", `{"OutputParams":{"PureAudioStream":1},"EncodeParams":{"VideoWidth":null,"VideoBitrate":0},"LayoutParams":{"Template":4}}`, "", ""},
		{"0x0 canvas", `{"EncodeParams":{"VideoWidth":0,"VideoHeight":0,"VideoBitrate":null},"LayoutParams":{"Template":9}}`, "", ""},
		// LayoutParams.
		{"no LayoutParams", `{"LayoutParams":null}`, "", ""},
		{"template 5", `{"LayoutParams":{"Template":5}}`, "InvalidParameter.OutOfRange", "LayoutParams.Template"},
		{"render mode 3", `{"LayoutParams":{"RenderMode":3}}`, "InvalidParameter.OutOfRange", "LayoutParams.RenderMode"},
		{"PureAudioHoldPlaceMode 3", `{"LayoutParams":{"PureAudioHoldPlaceMode":3}}`, "InvalidParameter.OutOfRange", "PureAudioHoldPlaceMode"},
		{"main user too long", `{"LayoutParams":{"Template":0,"MainVideoUserId":"` + strings.Repeat("u", 33) + `"}}`, "InvalidParameter.UserId", "MainVideoUserId"},
		{"main stream type 2", `{"LayoutParams":{"Template":2,"MainVideoStreamType":2}}`, "InvalidParameter.MainVideoStreamType", "MainVideoStreamType"},
		{"right align 2", `{"LayoutParams":{"Template":2,"MainVideoRightAlign":2}}`, "InvalidParameter.MainVideoRightAlign", "MainVideoRightAlign"},
		{"right align in floating: not read", `{"LayoutParams":{"Template":0,"MainVideoRightAlign":2}}`, "", ""},
		{"16 video users", `{"LayoutParams":{"MixVideoUids":[` + strings.Repeat(`"u",`, 15) + `"u"]}}`, "", ""},
		{"17 video users", `{"LayoutParams":{"MixVideoUids":[` + strings.Repeat(`"u",`, 16) + `"u"]}}`, "InvalidParameter", "at most 16"},
		{"empty video user", `{"LayoutParams":{"MixVideoUids":[""]}}`, "MissingParameter", "MixVideoUids.0"},
		// Picture-in-picture.
		{"picture-in-picture", pipPatch, "", ""},
		{"picture-in-picture, main window only", `{"LayoutParams":{"Template":3}}`, "", ""},
		{"small window without its user", `{"LayoutParams":{"Template":3,"SmallVideoLayoutParams":{"StreamType":0}}}`, "InvalidParameter.SmallVideoLayoutParams", "UserId"},
		{"small window without its stream type", `{"LayoutParams":{"Template":3,"SmallVideoLayoutParams":{"UserId":"s"}}}`, "InvalidParameter.SmallVideoLayoutParams", "StreamType"},
		{"small window stream type 2", `{"LayoutParams":{"Template":3,"SmallVideoLayoutParams":{"UserId":"s","StreamType":2}}}`, "InvalidParameter.SmallVideoStreamType", "StreamType"},
		{"small window off the canvas", `{"LayoutParams":{"Template":3,"SmallVideoLayoutParams":{"UserId":"s","StreamType":0,"ImageWidth":200,"LocationX":441}}}`, "InvalidParameter.SmallVideoLayoutParams", "640x360 canvas"},
		{"small window past 1920", `{"LayoutParams":{"Template":3,"SmallVideoLayoutParams":{"UserId":"s","StreamType":0,"ImageWidth":1921}}}`, "InvalidParameter.SmallVideoLayoutParams", "ImageWidth"},
		{"small window is the main one", `{"LayoutParams":{"Template":3,"MainVideoUserId":"s","SmallVideoLayoutParams":{"UserId":"s","StreamType":0}}}`, "InvalidParameter.SmallVideoLayoutParams", "main window"},
		{"small window is the main one's screen", `{"LayoutParams":{"Template":3,"MainVideoUserId":"s","SmallVideoLayoutParams":{"UserId":"s","StreamType":1}}}`, "", ""},
		{"small window in floating: not read", `{"LayoutParams":{"Template":0,"SmallVideoLayoutParams":{}}}`, "", ""},
		// Custom (PresetLayoutConfig).
		{"custom", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[` + mcuWindow + `]}}`, "", ""},
		{"custom without windows", `{"LayoutParams":{"Template":4}}`, "MissingParameter.PresetLayoutConfig", "PresetLayoutConfig"},
		{"custom with an empty list", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[]}}`, "MissingParameter.PresetLayoutConfig", "PresetLayoutConfig"},
		{"16 windows", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[` + strings.Repeat(`{},`, 15) + `{}]}}`, "", ""},
		{"17 windows", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[` + strings.Repeat(`{},`, 16) + `{}]}}`, "InvalidParameter.PresetLayoutConfig", "at most 16"},
		{"window off the canvas", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"ImageWidth":100,"ImageHeight":10,"LocationX":541}]}}`, "InvalidParameter.PresetLayoutConfig", "PresetLayoutConfig.0"},
		{"window below the canvas", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{},{"ImageHeight":361}]}}`, "InvalidParameter.PresetLayoutConfig", "PresetLayoutConfig.1"},
		{"window user too long", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"UserId":"` + strings.Repeat("u", 33) + `"}]}}`, "InvalidParameter.PresetLayoutConfig", "PresetLayoutConfig.0.UserId"},
		{"window stream type 2", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"StreamType":2}]}}`, "InvalidParameter.PresetLayoutConfig", "StreamType"},
		{"window ZOrder 1001", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"ZOrder":1001}]}}`, "InvalidParameter.OutOfRange", "ZOrder"},
		{"window render mode 3", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"RenderMode":3}]}}`, "InvalidParameter.OutOfRange", "RenderMode"},
		{"window MixInputType 3", `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"MixInputType":3}]}}`, "InvalidParameter.OutOfRange", "MixInputType"},
		{"window placeholder picture", `{"LayoutParams":{"Template":4,"PlaceHolderMode":1,"PresetLayoutConfig":[{"PlaceImageId":7}]}}`, "", ""},
		{"PlaceHolderMode 2", `{"LayoutParams":{"Template":4,"PlaceHolderMode":2,"PresetLayoutConfig":[{}]}}`, "InvalidParameter.OutOfRange", "PlaceHolderMode"},
		{"windows in grid: not read", `{"LayoutParams":{"Template":1,"PresetLayoutConfig":[{"StreamType":9}]}}`, "", ""},
		// WaterMarkParams.
		{"watermark", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkUrl":"https://h/wm.png","WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":540,"LocationY":310}}}`, "", ""},
		{"watermark picture id only", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":0,"LocationY":0}}}`, "", ""},
		{"watermark without a picture", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":0,"LocationY":0}}}`, "MissingParameter", "WaterMarkId or WaterMarkUrl"},
		{"watermark without its width", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkHeight":50,"LocationX":0,"LocationY":0}}}`, "MissingParameter", "WaterMarkWidth"},
		{"watermark off the canvas", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":541,"LocationY":0}}}`, "InvalidParameter", "leaves the 640x360 canvas"},
		{"watermark URL, not an image", `{"LayoutParams":{"WaterMarkParams":{"WaterMarkUrl":"ftp://h/wm.png","WaterMarkWidth":1,"WaterMarkHeight":1,"LocationX":0,"LocationY":0}}}`, "InvalidParameter", "WaterMarkUrl"},
		// PublishCdnParams.
		{"CDN", `{"PublishCdnParams":{"BizId":12345,"PublishCdnUrls":["rtmp://cdn.example.com/live/mix"]}}`, "", ""},
		{"CDN without BizId", `{"PublishCdnParams":{"PublishCdnUrls":["rtmp://cdn.example.com/live/mix"]}}`, "MissingParameter.BizId", "BizId"},
		{"CDN BizId 0", `{"PublishCdnParams":{"BizId":0,"PublishCdnUrls":["rtmp://cdn.example.com/live/mix"]}}`, "InvalidParameter.BizId", "BizId"},
		{"CDN without URLs", `{"PublishCdnParams":{"BizId":1}}`, "MissingParameter.PublishCdnUrls", "PublishCdnUrls"},
		{"CDN with an empty list", `{"PublishCdnParams":{"BizId":1,"PublishCdnUrls":[]}}`, "MissingParameter.PublishCdnUrls", "PublishCdnUrls"},
		{"two CDN URLs", `{"PublishCdnParams":{"BizId":1,"PublishCdnUrls":["rtmp://a/live/1","rtmp://b/live/2"]}}`, "InvalidParameter.PublishCdnUrls", "one third-party CDN"},
		{"an http CDN URL", `{"PublishCdnParams":{"BizId":1,"PublishCdnUrls":["http://a/live/1"]}}`, "InvalidParameter.PublishCdnUrls", "PublishCdnUrls.0"},
		{"a CDN URL without a stream", `{"PublishCdnParams":{"BizId":1,"PublishCdnUrls":["rtmp://a/live"]}}`, "InvalidParameter.PublishCdnUrls", "rtmp://host/app/stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := mcuSpec(withMCU(t, tc.patch))
			wantRelayErr(t, err, tc.code, tc.inMsg)
		})
	}
}

// TestMCUStrRoomId: the ByStrRoomId forms name their room StrRoomId and refuse a bad one
// with InvalidParameter.StrRoomId.
func TestMCUStrRoomId(t *testing.T) {
	for _, tc := range []struct {
		name, patch, code, inMsg string
	}{
		{"valid", `{}`, "", ""},
		{"no StrRoomId", `{"StrRoomId":null}`, "MissingParameter.RoomId", "StrRoomId"},
		{"empty StrRoomId", `{"StrRoomId":""}`, "MissingParameter.RoomId", "StrRoomId"},
		{"65 bytes", `{"StrRoomId":"` + strings.Repeat("r", 65) + `"}`, "InvalidParameter.StrRoomId", "StrRoomId"},
		{"a slash", `{"StrRoomId":"a/b"}`, "InvalidParameter.StrRoomId", "StrRoomId"},
		{"digits", `{"StrRoomId":"0042"}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := mcuSpec(mcuStartByStrOf(patched[wire.StartMCUMixTranscodeByStrRoomIdRequest](t, validMCUByStr, tc.patch)))
			wantRelayErr(t, err, tc.code, tc.inMsg)
			if err == nil && spec.RoomIdType != models.RoomIdString {
				t.Fatalf("RoomIdType %d", spec.RoomIdType)
			}
		})
	}
	spec, _, err := mcuSpec(mcuStartByStrOf(patched[wire.StartMCUMixTranscodeByStrRoomIdRequest](t, validMCUByStr, `{"StrRoomId":"0042"}`)))
	if err != nil || spec.RoomId != "0042" {
		t.Fatalf("a string room of digits is kept as it is: %+v, %v", spec, err)
	}
	_, err = mcuRoom(ptr("a/b"), models.RoomIdString)
	wantRelayErr(t, err, "InvalidParameter.StrRoomId", "StrRoomId")
	_, err = mcuRoom(ptr("0"), models.RoomIdInt)
	wantRelayErr(t, err, "InvalidParameter.RoomId", "RoomId")
}

// TestMCUSpecConversion: the request in models' terms.
func TestMCUSpecConversion(t *testing.T) {
	spec, cdns := mcuSpecOf(t, `{"EncodeParams":{"AudioSampleRate":44100,"AudioBitrate":96,"AudioChannels":1,"AudioCodec":1,
		"VideoWidth":1279,"VideoHeight":721,"VideoBitrate":1500,"VideoFramerate":25,"VideoGop":3,"BackgroundColor":16724736,
		"BackgroundImageUrl":"https://h/bg.jpg"},"LayoutParams":{"Template":1,"RenderMode":1}}`)
	want := &models.RelaySpec{SdkAppId: 1400000001, RoomId: "1234", RoomIdType: models.RoomIdInt, MaxIdleTime: relayMaxIdleTime, Transcode: true,
		Audio: models.RelayAudio{SampleRate: 44100, Channels: 1, BitRateKbps: 96, Codec: 1},
		Video: &models.RelayVideo{Width: 1278, Height: 720, Fps: 25, BitRateKbps: 1500, Gop: 3,
			Layout: models.MixLayout{Mode: 3, RenderMode: renderFit, BackgroundColor: "#FF3300", BackgroundImageUrl: "https://h/bg.jpg",
				BackgroundImageRenderMode: renderStretch}}}
	if !reflect.DeepEqual(spec, want) || cdns != nil {
		t.Fatalf("spec\n%+v\nwant\n%+v (cdns %v)", spec, want, cdns)
	}
	for _, c := range []struct {
		decimal uint64
		hex     string
	}{{0, "#000000"}, {16777215, "#FFFFFF"}, {3394560, "#33CC00"}, {26367, "#0066FF"}, {10066329, "#999999"}} {
		s, _ := mcuSpecOf(t, `{"EncodeParams":{"BackgroundColor":`+jsonNumber(c.decimal)+`}}`)
		if s.Video.Layout.BackgroundColor != c.hex {
			t.Errorf("BackgroundColor %d = %q, want %s", c.decimal, s.Video.Layout.BackgroundColor, c.hex)
		}
	}

	// MixVideoUids: the video allow list.
	if s, _ := mcuSpecOf(t, `{"LayoutParams":{"Template":1,"MixVideoUids":["alice","bob"]}}`); !slices.Equal(s.Video.Subscribe, []string{"alice", "bob"}) {
		t.Fatalf("MixVideoUids gave the video list %v", s.Video.Subscribe)
	}

	// Templates: mode, pure-audio windows, the large window.
	for _, tc := range []struct {
		patch      string
		mode       int
		noAudioWin bool
	}{
		{`{"LayoutParams":{"Template":0}}`, 1, false},
		{`{"LayoutParams":{"Template":1}}`, 3, false},
		{`{"LayoutParams":{"Template":2}}`, 2, true},
		{`{"LayoutParams":{"Template":2,"PureAudioHoldPlaceMode":1}}`, 2, false},
		{`{"LayoutParams":{"Template":1,"PureAudioHoldPlaceMode":2}}`, 3, true},
		{`{"LayoutParams":null}`, 1, false},
	} {
		s, _ := mcuSpecOf(t, tc.patch)
		if l := s.Video.Layout; l.Mode != tc.mode || l.PureAudioDisableLayout != tc.noAudioWin || l.RenderMode != renderCrop {
			t.Errorf("%s: mode %d, no audio windows %v, render %d", tc.patch, l.Mode, l.PureAudioDisableLayout, l.RenderMode)
		}
	}
	s, _ := mcuSpecOf(t, `{"LayoutParams":{"Template":2,"MainVideoUserId":"teacher","MainVideoStreamType":1,"MainVideoRightAlign":1,"RenderMode":2}}`)
	if l := s.Video.Layout; l.MainUserId != "teacher" || l.MainMediaId != 1 || !l.AlignRight || l.RenderMode != renderFit {
		t.Errorf("screen sharing: %+v", l)
	}
	s, _ = mcuSpecOf(t, `{"LayoutParams":{"Template":1,"MainVideoUserId":"teacher","MainVideoRightAlign":1}}`)
	if l := s.Video.Layout; l.MainUserId != "" || l.AlignRight {
		t.Errorf("grid keeps no large window: %+v", l)
	}

	// Picture-in-picture: the main window over the canvas, the small one above it.
	s, _ = mcuSpecOf(t, pipPatch)
	wantSlots := []models.MixSlot{{Width: 640, Height: 360, UserId: "teacher", RenderMode: renderCrop},
		{Left: 470, Top: 260, Width: 160, Height: 90, UserId: "student", RenderMode: renderCrop, ImageLayer: 1}}
	if l := s.Video.Layout; l.Mode != 4 || !reflect.DeepEqual(l.Slots, wantSlots) || s.Audio.Subscribe != nil {
		t.Errorf("picture-in-picture: %+v, audio %+v", l, s.Audio)
	}

	// Custom: the windows; all named: the allow list; video only: the deny list.
	s, _ = mcuSpecOf(t, `{"LayoutParams":{"Template":4,"PlaceHolderMode":1,"PresetLayoutConfig":[
		{"UserId":"a","StreamType":1,"ImageWidth":320,"ImageHeight":180,"LocationX":10,"LocationY":20,"ZOrder":2,"RenderMode":1,"PlaceImageId":5},
		{"UserId":"b","ImageWidth":100,"ImageHeight":100,"MixInputType":1},
		{"UserId":"a","ImageWidth":50,"ImageHeight":50,"MixInputType":2}]}}`)
	wantSlots = []models.MixSlot{{Left: 10, Top: 20, Width: 320, Height: 180, UserId: "a", MediaId: 1, ImageLayer: 2, RenderMode: renderFit},
		{Width: 100, Height: 100, UserId: "b", RenderMode: renderCrop}, {Width: 50, Height: 50, UserId: "a", RenderMode: renderCrop}}
	if l := s.Video.Layout; l.Mode != 4 || !l.PlaceHolderMode || !reflect.DeepEqual(l.Slots, wantSlots) {
		t.Errorf("custom layout %+v", l)
	}
	if !reflect.DeepEqual(s.Audio.Subscribe, []string{"a", "b"}) || !reflect.DeepEqual(s.Audio.Unsubscribe, []string{"b"}) {
		t.Errorf("custom audio lists %+v", s.Audio)
	}
	s, _ = mcuSpecOf(t, `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"UserId":"a"},{}]}}`)
	if s.Audio.Subscribe != nil || s.Audio.Unsubscribe != nil {
		t.Errorf("a window for anyone: everyone's audio, got %+v", s.Audio)
	}

	// The watermark, drawn only from a URL.
	s, _ = mcuSpecOf(t, `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkUrl":"https://h/wm.png","WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":540,"LocationY":310}}}`)
	if w := s.Video.Layout.Watermarks; len(w) != 1 || w[0] != (models.Watermark{Url: "https://h/wm.png", Left: 540, Top: 310, Width: 100, Height: 50}) {
		t.Errorf("watermarks %+v", w)
	}
	s, _ = mcuSpecOf(t, `{"LayoutParams":{"WaterMarkParams":{"WaterMarkId":3,"WaterMarkWidth":100,"WaterMarkHeight":50,"LocationX":0,"LocationY":0}}}`)
	if w := s.Video.Layout.Watermarks; len(w) != 0 {
		t.Errorf("a console picture is not drawn: %+v", w)
	}

	// Audio only.
	for _, patch := range []string{`{"OutputParams":{"PureAudioStream":1}}`, `{"EncodeParams":{"VideoWidth":0,"VideoHeight":0}}`} {
		if s, _ := mcuSpecOf(t, patch); s.Video != nil || s.Audio.SampleRate != 48000 || s.Audio.BitRateKbps != 64 || s.Audio.Channels != 2 {
			t.Errorf("%s: %+v", patch, s)
		}
	}

	// The destination.
	_, cdns = mcuSpecOf(t, `{"PublishCdnParams":{"BizId":12345,"PublishCdnUrls":[" rtmp://cdn.example.com/live/mix?k=v "]}}`)
	if !reflect.DeepEqual(cdns, []models.RelayCdn{{Url: "rtmp://cdn.example.com/live/mix?k=v"}}) {
		t.Errorf("cdns %+v", cdns)
	}
}

func jsonNumber(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzMCUParams: mcuSpec never panics; what it accepts is a transcoding spec of a valid
// room whose encoding is in range and whose layout stays inside its canvas; what it refuses
// is an InvalidParameter or MissingParameter.
func FuzzMCUParams(f *testing.F) {
	for _, patch := range []string{`{}`, pipPatch, `{"LayoutParams":{"Template":4,"PresetLayoutConfig":[{"UserId":"a","ImageWidth":640,"ImageHeight":360,"MixInputType":1},{}]}}`,
		`{"OutputParams":{"StreamId":"s","PureAudioStream":1},"EncodeParams":{"AudioSampleRate":8000,"AudioBitrate":8,"AudioChannels":1}}`,
		`{"EncodeParams":{"VideoWidth":17,"VideoHeight":1,"BackgroundColor":16777215},"PublishCdnParams":{"BizId":1,"PublishCdnUrls":["rtmp://a/b/c"]}}`,
		`{"LayoutParams":{"Template":2,"MainVideoRightAlign":1,"WaterMarkParams":{"WaterMarkUrl":"http://h/w.png","WaterMarkWidth":640,"WaterMarkHeight":360,"LocationX":0,"LocationY":0}}}`} {
		for _, byStr := range []bool{false, true} {
			var req any = patched[wire.StartMCUMixTranscodeRequest](f, validMCU, patch)
			if byStr {
				req = patched[wire.StartMCUMixTranscodeByStrRoomIdRequest](f, validMCUByStr, patch)
			}
			b, _ := json.Marshal(req)
			f.Add(b, byStr)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, byStr bool) {
		var r mcuStart
		if byStr {
			var req wire.StartMCUMixTranscodeByStrRoomIdRequest
			if json.Unmarshal(body, &req) != nil {
				return
			}
			r = mcuStartByStrOf(&req)
		} else {
			var req wire.StartMCUMixTranscodeRequest
			if json.Unmarshal(body, &req) != nil {
				return
			}
			r = mcuStartOf(&req)
		}
		spec, cdns, err := mcuSpec(r)
		if err != nil {
			te, ok := tcerr.As(err)
			if !ok || !(strings.HasPrefix(te.Code, tcerr.CodeInvalidParameter) || strings.HasPrefix(te.Code, tcerr.CodeMissingParameter)) {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if !spec.Transcode || spec.UserId != "" || spec.MaxIdleTime != relayMaxIdleTime || spec.Single != nil || spec.FeedBack != nil {
			t.Fatalf("spec %+v", spec)
		}
		if room, err := models.ValidateRoomId("RoomId", spec.RoomId, spec.RoomIdType); err != nil || room != spec.RoomId {
			t.Fatalf("room %q (%d): %v", spec.RoomId, spec.RoomIdType, err)
		}
		a := spec.Audio
		if !slices.Contains(relaySampleRates, a.SampleRate) || a.Channels < 1 || a.Channels > 2 || a.BitRateKbps < 8 || a.BitRateKbps > 500 ||
			a.Codec < 0 || a.Codec > 2 || (a.Codec == 2 && a.Channels != 2) {
			t.Fatalf("audio %+v", a)
		}
		if v := spec.Video; v != nil {
			if v.Width < 16 || v.Width > 1920 || v.Width%2 != 0 || v.Height < 16 || v.Height > 1080 || v.Height%2 != 0 ||
				v.Fps < 1 || v.Fps > 60 || v.BitRateKbps < 1 || v.BitRateKbps > 10000 || v.Gop < 1 || v.Gop > 5 {
				t.Fatalf("video %+v", v)
			}
			l := &v.Layout
			if err := l.CheckCanvas(v.Width, v.Height); err != nil {
				t.Fatalf("layout off its canvas: %v", err)
			}
			if l.Mode < 1 || l.Mode > 4 || (l.Mode == 4 && len(l.Slots) == 0) || len(l.Slots) > maxMcuWindows ||
				(l.BackgroundColor != "" && !hexColor.MatchString(l.BackgroundColor)) {
				t.Fatalf("layout %+v", l)
			}
			for _, s := range l.Slots {
				if len(s.UserId) > maxUserIdBytes || s.MediaId < 0 || s.MediaId > 1 {
					t.Fatalf("slot %+v", s)
				}
			}
		} else if spec.Audio.Subscribe != nil || spec.Audio.Unsubscribe != nil {
			t.Fatalf("audio lists without a layout: %+v", spec.Audio)
		}
		if len(cdns) > 1 {
			t.Fatalf("cdns %+v", cdns)
		}
		for _, c := range cdns {
			if !strings.HasPrefix(strings.ToLower(c.Url), "rtmp://") || c.IsTencentCdn != 0 {
				t.Fatalf("cdn %+v", c)
			}
		}
	})
}

// mcuRig is a store with a handler set over it and an anchor in integer room 1234 and in
// string room "room_a".
func mcuRig(t *testing.T) (*Handlers, *models.Store, *Call) {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + t.TempDir() + "/emulator.db"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const sdkKey = "relayTestSdkSecretKey-0123456789ab"
	if err := store.Seed(ctx, models.Seed{Uin: relayTestUin, SecretId: relayTestSecretId, SecretKey: relayTestSecretKey,
		SdkAppId: relayTestSdkAppId, SdkSecretKey: sdkKey}); err != nil {
		t.Fatal(err)
	}
	mcuEnter(t, store, sdkKey, "1234", models.RoomIdInt, "alice")
	mcuEnter(t, store, sdkKey, "room_a", models.RoomIdString, "alice")
	h := New(Settings{Version: "test", Region: "ap-guangzhou", Uin: relayTestUin, SdkAppId: relayTestSdkAppId}, store)
	return h, store, &Call{Ctx: ctx, Caller: cam.Key{Uin: relayTestUin}}
}

func mcuEnter(t testing.TB, store *models.Store, sdkKey, room string, kind int, user string) {
	t.Helper()
	sig, err := usersig.Gen(usersig.Params{SdkAppId: relayTestSdkAppId, Key: sdkKey, UserId: user, Expire: time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Enter(context.Background(), models.EnterParams{Identity: models.Identity{SdkAppId: relayTestSdkAppId,
		RoomId: room, RoomIdType: kind, UserId: user}, UserSig: sig, Publish: models.Publish{Audio: true, Video: true}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMCUHandlers: Start runs the room's mix; Start again updates the same task; Stop stops
// it and a second Stop finds no mix; the string-room forms are their own namespace.
func TestMCUHandlers(t *testing.T) {
	h, store, c := mcuRig(t)
	ctx := context.Background()
	start := patched[wire.StartMCUMixTranscodeRequest](t, validMCU, `{"PublishCdnParams":{"BizId":1,"PublishCdnUrls":["rtmp://cdn.example.com/live/a"]}}`)
	if _, err := h.StartMCUMixTranscode(c, start); err != nil {
		t.Fatal(err)
	}
	task, err := store.MCUTask(ctx, relayTestSdkAppId, "1234", models.RoomIdInt)
	if err != nil || task == nil || task.UserId != "mcu_1234" {
		t.Fatalf("the mix %+v, %v", task, err)
	}
	spec, _ := task.RelaySpec()
	if spec.Video == nil || spec.Video.Layout.Mode != 3 || spec.Audio.BitRateKbps != 64 {
		t.Fatalf("the spec %+v", spec)
	}

	again := patched[wire.StartMCUMixTranscodeRequest](t, validMCU, `{"LayoutParams":{"Template":0,"MainVideoUserId":"alice"}}`)
	if _, err := h.StartMCUMixTranscode(c, again); err != nil {
		t.Fatal(err)
	}
	updated, _ := store.MCUTask(ctx, relayTestSdkAppId, "1234", models.RoomIdInt)
	if updated == nil || updated.TaskId != task.TaskId || updated.SpecVersion != 2 {
		t.Fatalf("the second Start: %+v, want task %s at version 2", updated, task.TaskId)
	}
	if spec, _ = updated.RelaySpec(); spec.Video.Layout.Mode != 1 || spec.Video.Layout.MainUserId != "alice" {
		t.Fatalf("the updated spec %+v", spec.Video.Layout)
	}
	_, urls, _ := store.RelaysOfApp(ctx, relayTestSdkAppId)
	if us := urls[task.ID]; len(us) != 1 || !us[0].Removed {
		t.Fatalf("a Start without PublishCdnParams disconnects the URL: %+v", us)
	}

	if _, err := h.StopMCUMixTranscode(c, &wire.StopMCUMixTranscodeRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), RoomId: ptr[uint64](1234)}); err != nil {
		t.Fatal(err)
	}
	if stopped, _ := store.RelayByRef(ctx, task.ID); stopped.State != models.RelayTaskStopping {
		t.Fatalf("after Stop: %s", stopped.State)
	}
	_, err = h.StopMCUMixTranscode(c, &wire.StopMCUMixTranscodeRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), RoomId: ptr[uint64](1234)})
	wantRelayErr(t, err, models.CodeMixSessionNotExist, "1234")
	_, err = h.StopMCUMixTranscode(c, &wire.StopMCUMixTranscodeRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), RoomId: ptr[uint64](99)})
	wantRelayErr(t, err, tcerr.CodeRoomNotExist, "99")
	_, err = h.StopMCUMixTranscode(c, &wire.StopMCUMixTranscodeRequest{SdkAppId: ptr[uint64](relayTestSdkAppId)})
	wantRelayErr(t, err, "MissingParameter.RoomId", "RoomId")
	_, err = h.StopMCUMixTranscode(c, &wire.StopMCUMixTranscodeRequest{RoomId: ptr[uint64](1234)})
	wantRelayErr(t, err, "MissingParameter.SdkAppId", "SdkAppId")

	// A room nobody is in.
	_, err = h.StartMCUMixTranscode(c, patched[wire.StartMCUMixTranscodeRequest](t, validMCU, `{"RoomId":99}`))
	wantRelayErr(t, err, tcerr.CodeRoomNotExist, "99")

	// String rooms.
	if _, err := h.StartMCUMixTranscodeByStrRoomId(c, patched[wire.StartMCUMixTranscodeByStrRoomIdRequest](t, validMCUByStr, `{}`)); err != nil {
		t.Fatal(err)
	}
	if str, _ := store.MCUTask(ctx, relayTestSdkAppId, "room_a", models.RoomIdString); str == nil || str.UserId != "mcu_room_a" {
		t.Fatalf("the string room's mix %+v", str)
	}
	_, err = h.StopMCUMixTranscodeByStrRoomId(c, &wire.StopMCUMixTranscodeByStrRoomIdRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), StrRoomId: ptr("1234")})
	wantRelayErr(t, err, tcerr.CodeRoomNotExist, "1234")
	_, err = h.StopMCUMixTranscodeByStrRoomId(c, &wire.StopMCUMixTranscodeByStrRoomIdRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), StrRoomId: ptr("a/b")})
	wantRelayErr(t, err, "InvalidParameter.StrRoomId", "StrRoomId")
	if _, err := h.StopMCUMixTranscodeByStrRoomId(c, &wire.StopMCUMixTranscodeByStrRoomIdRequest{SdkAppId: ptr[uint64](relayTestSdkAppId), StrRoomId: ptr("room_a")}); err != nil {
		t.Fatal(err)
	}
}

// TestMCUThroughSDK: the four actions over HTTP with the SDK's common client: Start runs the
// mix, Start again updates the same task, Stop stops it, a second Stop finds no mix.
func TestMCUThroughSDK(t *testing.T) {
	c, store := relayEmulator(t)
	ctx := context.Background()
	mcuEnter(t, store, "relayTestSdkSecretKey-0123456789ab", "4321", models.RoomIdInt, "alice")
	mcuEnter(t, store, "relayTestSdkSecretKey-0123456789ab", "room_b", models.RoomIdString, "alice")
	var start map[string]any
	json.Unmarshal([]byte(validMCU), &start)
	start["RoomId"] = 4321
	start["EncodeParams"].(map[string]any)["BackgroundColor"] = 3394560
	start["PublishCdnParams"] = map[string]any{"BizId": 1, "PublishCdnUrls": []string{"rtmp://cdn.example.com/live/a"}}
	if resp, code, msg := relayCall(t, c, "StartMCUMixTranscode", start); code != "" || resp["RequestId"] == "" || len(resp) != 1 {
		t.Fatalf("start: %v %s %s", resp, code, msg)
	}
	task, err := store.MCUTask(ctx, relayTestSdkAppId, "4321", models.RoomIdInt)
	if err != nil || task == nil {
		t.Fatalf("no mix: %v", err)
	}
	spec, err := task.RelaySpec()
	if err != nil || spec.Video == nil || spec.Video.Layout.Mode != 3 || spec.Video.Layout.BackgroundColor != "#33CC00" || spec.Audio.BitRateKbps != 64 {
		t.Fatalf("the spec %+v, %v", spec, err)
	}
	start["LayoutParams"] = map[string]any{"Template": 2, "MainVideoUserId": "alice", "MainVideoStreamType": 1}
	if _, code, msg := relayCall(t, c, "StartMCUMixTranscode", start); code != "" {
		t.Fatalf("start again: %s %s", code, msg)
	}
	again, _ := store.MCUTask(ctx, relayTestSdkAppId, "4321", models.RoomIdInt)
	if again == nil || again.TaskId != task.TaskId {
		t.Fatalf("the second Start made %+v, want task %s", again, task.TaskId)
	}
	if spec, _ = again.RelaySpec(); spec.Video.Layout.Mode != 2 || spec.Video.Layout.MainUserId != "alice" || spec.Video.Layout.MainMediaId != 1 {
		t.Fatalf("the new spec %+v", spec.Video.Layout)
	}
	start["OutputParams"] = map[string]any{"StreamId": "bad/id"}
	if _, code, msg := relayCall(t, c, "StartMCUMixTranscode", start); code != "InvalidParameter.StreamId" {
		t.Fatalf("a bad StreamId: %s %s", code, msg)
	}
	stop := map[string]any{"SdkAppId": relayTestSdkAppId, "RoomId": 4321}
	if resp, code, msg := relayCall(t, c, "StopMCUMixTranscode", stop); code != "" || len(resp) != 1 {
		t.Fatalf("stop: %v %s %s", resp, code, msg)
	}
	if stopped, _ := store.RelayByRef(ctx, task.ID); stopped.State != models.RelayTaskStopping {
		t.Fatalf("after Stop the task is %s", stopped.State)
	}
	if _, code, msg := relayCall(t, c, "StopMCUMixTranscode", stop); code != models.CodeMixSessionNotExist {
		t.Fatalf("stop again: %s %s", code, msg)
	}

	var byStr map[string]any
	json.Unmarshal([]byte(validMCUByStr), &byStr)
	byStr["StrRoomId"] = "room_b"
	// What the China SDK declares required, the schema requires (LayoutParams, WaterMarkId, …).
	delete(byStr, "LayoutParams")
	if _, code, msg := relayCall(t, c, "StartMCUMixTranscodeByStrRoomId", byStr); code != tcerr.CodeMissingParameter || !strings.Contains(msg, "LayoutParams") {
		t.Fatalf("start by string without LayoutParams: %s %s", code, msg)
	}
	byStr["LayoutParams"] = map[string]any{"WaterMarkParams": map[string]any{"WaterMarkUrl": "https://h/wm.png",
		"WaterMarkWidth": 10, "WaterMarkHeight": 10, "LocationX": 0, "LocationY": 0}}
	if _, code, msg := relayCall(t, c, "StartMCUMixTranscodeByStrRoomId", byStr); code != tcerr.CodeMissingParameter || !strings.Contains(msg, "LayoutParams.WaterMarkParams.WaterMarkId") {
		t.Fatalf("a watermark without WaterMarkId: %s %s", code, msg)
	}
	byStr["LayoutParams"] = map[string]any{}
	if _, code, msg := relayCall(t, c, "StartMCUMixTranscodeByStrRoomId", byStr); code != "" {
		t.Fatalf("start by string: %s %s", code, msg)
	}
	if str, _ := store.MCUTask(ctx, relayTestSdkAppId, "room_b", models.RoomIdString); str == nil {
		t.Fatal("no mix in the string room")
	}
	stopStr := map[string]any{"SdkAppId": relayTestSdkAppId, "StrRoomId": "room_b"}
	if _, code, msg := relayCall(t, c, "StopMCUMixTranscodeByStrRoomId", stopStr); code != "" {
		t.Fatalf("stop by string: %s %s", code, msg)
	}
	if _, code, msg := relayCall(t, c, "StopMCUMixTranscodeByStrRoomId", stopStr); code != models.CodeMixSessionNotExist {
		t.Fatalf("stop by string again: %s %s", code, msg)
	}
}
