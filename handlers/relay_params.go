package handlers

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// The validation of the relay actions' parameters (StartPublishCdnStream,
// UpdatePublishCdnStream): the generated Mcu* wire structs become models' RelaySpec,
// RelayCdn and RelayChange here, so that models never sees wire. The layout is converted to
// mixed recording's terms (models.MixLayout: colours #RRGGBB, render modes 0 stretch,
// 1 crop, 2 fit) and checked with recording's helpers (optInt, reqInt, imageUrl, hexColor,
// MixLayout.CheckCanvas).
//
// Choices the contract leaves open, each documented where it is made:
//   - AudioParams, or its AudioEncode, absent: 48000 Hz, 1 channel, 50 kbps, LC-AAC (the
//     seed's recommended table: 48 kHz mono 50 kbps).
//   - VideoParams without VideoEncode: 640x360, 15 fps, 800 kbps, GOP 3 s (the seed's
//     recommended table). VideoEncode Fps 0 means 15; BitRate 0 means the table's bitrate
//     for the canvas (800, 1200, 1500 or 2500 kbps). Width and Height are rounded down to
//     even, 16 at least, like mixed recording's canvas.
//   - WithTranscoding 0 relays one stream as it is: VideoParams.VideoEncode is checked and
//     ignored, the mixing parameters (LayoutParams, BackGroundColor, BackgroundImageUrl,
//     BackgroundRenderMode, WaterMarkList) are refused. SingleSubscribeParams is refused
//     with WithTranscoding 1.
//   - Render modes: McuLayoutParams/McuLayout RenderMode 0 crop (default), 1 scale, 2 scale
//     with black bars become crop, fit, fit (letterboxing is in the canvas colour either
//     way). McuVideoParams.BackgroundRenderMode 0 crop, 1 scale on black, 2 stretch
//     ("variable-ratio stretch", the backend's default) become crop, fit, stretch.
//   - McuLayout.CustomCrop is the part of the user's picture the window shows (then
//     placed by RenderMode), clipped to the picture; one wholly outside shows all of it.
//   - McuLayoutParams.MixLayoutMode defaults to 1 (floating); PureAudioHoldPlaceMode 0 or
//     absent: audio-only users take no window. MixLayoutList holds at most 16 windows
//     (custom layouts mix at most 16 streams); WaterMarkList at most 25.
//   - Checked and ignored, the emulator has nothing to apply them to: McuLayout's
//     BackGroundColor ("not supported yet"), BackgroundRenderMode,
//     TransparentUrl, BackGroundColorMode, EnableStreamSEI; watermarks' ZOrder,
//     DynamicPosType and Font; McuUserInfoParams.SoundLevel; MixUserInfo.RoomId (only the
//     main room is mixed: a user of another room is never present). RecordParams (China
//     only) is accepted and ignored.
//   - Update: AudioParams.AudioEncode and VideoParams.VideoEncode cannot change during a
//     relay: they are checked and ignored. A VideoParams with any layout field replaces the
//     whole layout (fields left out take their defaults); one with VideoEncode only changes
//     nothing.

// Relay limits: the contract's, and the emulator's where it names none.
const (
	maxRelayWindows    = 16   // McuLayoutParams.MixLayoutList
	maxRelayWatermarks = 25   // McuVideoParams.WaterMarkList
	maxRelayAudioUsers = 32   // SubscribeAudioList and UnSubscribeAudioList, each (undocumented: recording's 32)
	maxSeiChars        = 4095 // AppData and PayloadContent: "shorter than 4,096 characters"
	maxWatermarkText   = 256  // McuWaterMarkText.Text, bytes (undocumented: recording's WaterMarkChar)
	maxSeiIntervalMs   = 60000
	maxRelayLayer      = 1000 // ZOrder, as recording's ImageLayer
)

// Relay defaults (seed "Relay to CDN", recommended encoding table).
const (
	relaySampleRate  = 48000
	relayChannels    = 1
	relayAudioKbps   = 50
	relayWidth       = 640
	relayHeight      = 360
	relayFps         = 15
	relayVideoKbps   = 800
	relayGop         = 3
	relayMaxIdleTime = 30
)

// Render modes in mixed recording's terms (models.MixSlot.RenderMode, media/mixlayout).
const (
	renderStretch = 0
	renderCrop    = 1
	renderFit     = 2
)

var (
	// relayRenderModes reads McuLayoutParams/McuLayout RenderMode: 0 crop, 1 scale, 2 scale
	// with black bars.
	relayRenderModes = [...]int{renderCrop, renderFit, renderFit}
	// relayBackgroundModes reads McuVideoParams.BackgroundRenderMode: 0 crop, 1 scale on a
	// black background, 2 stretch.
	relayBackgroundModes = [...]int{renderCrop, renderFit, renderStretch}

	relaySampleRates = []int{48000, 44100, 32000, 24000, 16000, 8000}
	hexUuid          = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)
)

// relaySpec checks a StartPublishCdnStream request against the contract's rules and returns
// the task's spec and its CDN destinations for models (the robot's UserSig is the caller's
// to pass on). The schema was checked before; required fields are checked again so that
// the function stands on its own.
func relaySpec(req *wire.StartPublishCdnStreamRequest) (*models.RelaySpec, []models.RelayCdn, error) {
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"SdkAppId", req.SdkAppId == nil}, {"RoomId", req.RoomId == nil}, {"RoomIdType", req.RoomIdType == nil},
		{"AgentParams", req.AgentParams == nil}, {"WithTranscoding", req.WithTranscoding == nil},
	} {
		if f.missing {
			return nil, nil, tcerr.MissingParameter(f.name)
		}
	}
	spec := &models.RelaySpec{SdkAppId: *req.SdkAppId}
	var err error
	if spec.RoomIdType, err = relayRoomKind("RoomIdType", req.RoomIdType); err != nil {
		return nil, nil, err
	}
	if spec.RoomId, err = models.ValidateRoomId("RoomId", *req.RoomId, spec.RoomIdType); err != nil {
		return nil, nil, err
	}
	if spec.UserId, err = relayUserId("AgentParams.UserId", req.AgentParams.UserId); err != nil {
		return nil, nil, err
	}
	if spec.MaxIdleTime, err = optInt("AgentParams.MaxIdleTime", req.AgentParams.MaxIdleTime, 5, 86400, relayMaxIdleTime); err != nil {
		return nil, nil, err
	}
	if spec.Transcode, err = relayTranscode(req.WithTranscoding); err != nil {
		return nil, nil, err
	}
	if err := relayModeParams(spec.Transcode, req.VideoParams, req.SingleSubscribeParams); err != nil {
		return nil, nil, err
	}
	if spec.Audio, err = relayAudio(req.AudioParams); err != nil {
		return nil, nil, err
	}
	if v := req.VideoParams; v != nil {
		if spec.Transcode {
			if spec.Video, err = relayVideo(v); err != nil {
				return nil, nil, err
			}
			if err := spec.Video.Layout.CheckCanvas(spec.Video.Width, spec.Video.Height); err != nil {
				return nil, nil, relayFieldNames(err)
			}
		} else if v.VideoEncode != nil {
			// A single stream is relayed with its own codec and size: checked, not applied.
			if err := relayVideoEncode(v.VideoEncode, &models.RelayVideo{}); err != nil {
				return nil, nil, err
			}
		}
	}
	if s := req.SingleSubscribeParams; s != nil {
		if spec.Single, err = relaySingle(s); err != nil {
			return nil, nil, err
		}
	}
	cdns, err := relayCdns(req.PublishCdnParams)
	if err != nil {
		return nil, nil, err
	}
	if spec.FeedBack, err = relayFeedBack(req.FeedBackRoomParams); err != nil {
		return nil, nil, err
	}
	if len(cdns) == 0 && len(spec.FeedBack) == 0 {
		return nil, nil, tcerr.New(tcerr.CodeMissingParameter, "The request names no destination: set PublishCdnParams or FeedBackRoomParams (at least one).")
	}
	if spec.Sei, err = relaySei(req.SeiParams); err != nil {
		return nil, nil, err
	}
	// RecordParams (China only: record the relay) is accepted and ignored.
	return spec, cdns, nil
}

// relayChange checks an UpdatePublishCdnStream request and returns the change for models:
// an absent field keeps what the task has, a present list replaces it (an empty one resets:
// no URL, everyone's audio, no deny list, no room pushed back into). The store checks the
// SequenceNumber's order, that WithTranscoding does not change and the layout against the
// task's canvas.
func relayChange(req *wire.UpdatePublishCdnStreamRequest) (models.RelayChange, error) {
	var c models.RelayChange
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"SdkAppId", req.SdkAppId == nil}, {"TaskId", req.TaskId == nil},
		{"SequenceNumber", req.SequenceNumber == nil}, {"WithTranscoding", req.WithTranscoding == nil},
	} {
		if f.missing {
			return c, tcerr.MissingParameter(f.name)
		}
	}
	c.SequenceNumber = *req.SequenceNumber
	var err error
	if c.Transcode, err = relayTranscode(req.WithTranscoding); err != nil {
		return c, err
	}
	if err := relayModeParams(c.Transcode, req.VideoParams, req.SingleSubscribeParams); err != nil {
		return c, err
	}
	if a := req.AudioParams; a != nil {
		if a.AudioEncode != nil {
			// The encoding cannot change during a relay: checked, not applied.
			if err := relayAudioEncode(a.AudioEncode, &models.RelayAudio{}); err != nil {
				return c, err
			}
		}
		if a.SubscribeAudioList != nil {
			l, err := relayUserList("AudioParams.SubscribeAudioList", a.SubscribeAudioList)
			if err != nil {
				return c, err
			}
			c.Subscribe = &l
		}
		if a.UnSubscribeAudioList != nil {
			l, err := relayUserList("AudioParams.UnSubscribeAudioList", a.UnSubscribeAudioList)
			if err != nil {
				return c, err
			}
			c.Unsubscribe = &l
		}
	}
	if v := req.VideoParams; v != nil {
		if v.VideoEncode != nil {
			// Neither can the video's encoding: checked, not applied.
			if err := relayVideoEncode(v.VideoEncode, &models.RelayVideo{}); err != nil {
				return c, err
			}
		}
		if c.Transcode && mixingField(v) != "" {
			if c.Video, err = relayVideo(v); err != nil {
				return c, err
			}
		}
	}
	if s := req.SingleSubscribeParams; s != nil {
		if c.Single, err = relaySingle(s); err != nil {
			return c, err
		}
	}
	if req.PublishCdnParams != nil {
		cdns, err := relayCdns(req.PublishCdnParams)
		if err != nil {
			return c, err
		}
		c.Cdns = &cdns
	}
	if req.FeedBackRoomParams != nil {
		fb, err := relayFeedBack(req.FeedBackRoomParams)
		if err != nil {
			return c, err
		}
		c.FeedBack = &fb
	}
	if req.SeiParams != nil {
		if c.Sei, err = relaySei(req.SeiParams); err != nil {
			return c, err
		}
	}
	return c, nil
}

// relayFieldNames says the store's canvas refusals (MixLayout.CheckCanvas names mixed
// recording's fields) in the relay request's names.
func relayFieldNames(err error) error {
	te, ok := tcerr.As(err)
	if !ok || !strings.HasPrefix(te.Code, tcerr.CodeInvalidParameter) {
		return err
	}
	r := strings.NewReplacer("MixLayoutParams.MixLayoutList.", "VideoParams.LayoutParams.MixLayoutList.",
		"MixLayoutParams.WaterMarkList.", "VideoParams.WaterMarkList.")
	return &tcerr.Error{Code: te.Code, Message: r.Replace(te.Message)}
}

// relayRoomKind reads a relay RoomIdType (0 integer, 1 string: the opposite of
// CreateCloudRecording's and StartStreamIngest's) as the store's kind.
func relayRoomKind(field string, v *uint64) (int, error) {
	if v == nil {
		return 0, tcerr.MissingParameter(field)
	}
	t, err := optInt(field, v, 0, 1, 0)
	if err != nil {
		return 0, err
	}
	if t == 1 {
		return models.RoomIdString, nil
	}
	return models.RoomIdInt, nil
}

func relayTranscode(v *uint64) (bool, error) {
	if v == nil {
		return false, tcerr.MissingParameter("WithTranscoding")
	}
	t, err := optInt("WithTranscoding", v, 0, 1, 0)
	return t == 1, err
}

// relayUserId reads a required user id of 1 to 32 bytes.
func relayUserId(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", tcerr.MissingParameter(field)
	}
	if len(*v) > maxUserIdBytes {
		return "", tcerr.New("InvalidParameter.UserId", "The %s %q is invalid: it must be 1 to 32 bytes.", field, shorten(*v, 64))
	}
	return *v, nil
}

// relayColor reads a colour of the relay structs, 0xRRGGBB, as #RRGGBB ("" when absent).
func relayColor(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", nil
	}
	s := *v
	if len(s) != 8 || (s[:2] != "0x" && s[:2] != "0X") || !hexColor.MatchString("#"+s[2:]) {
		return "", tcerr.InvalidParameter(field, fmt.Sprintf("%q is not a colour 0xRRGGBB such as 0xcc0033", shorten(s, 32)))
	}
	return "#" + s[2:], nil
}

// relayModeParams refuses what does not apply to the relay's kind: a single stream with a
// mix (WithTranscoding 1), a layout without one (WithTranscoding 0).
func relayModeParams(transcode bool, v *wire.McuVideoParams, s *wire.SingleSubscribeParams) error {
	if transcode && s != nil {
		return tcerr.InvalidParameter("SingleSubscribeParams", "it applies to WithTranscoding 0 (one stream relayed as it is) only")
	}
	if !transcode && v != nil {
		if f := mixingField(v); f != "" {
			return tcerr.InvalidParameter("VideoParams."+f, "the layout, background and watermarks apply to WithTranscoding 1 (a mix) only")
		}
	}
	return nil
}

// mixingField names the first mixing parameter of VideoParams that is given ("" none).
func mixingField(v *wire.McuVideoParams) string {
	switch {
	case v.LayoutParams != nil:
		return "LayoutParams"
	case v.BackGroundColor != nil:
		return "BackGroundColor"
	case v.BackgroundImageUrl != nil:
		return "BackgroundImageUrl"
	case v.BackgroundRenderMode != nil:
		return "BackgroundRenderMode"
	case v.WaterMarkList != nil:
		return "WaterMarkList"
	}
	return ""
}

// relayAudio reads AudioParams: the encoding (48 kHz mono 50 kbps LC-AAC when absent) and
// the mix's allow and deny lists.
func relayAudio(p *wire.McuAudioParams) (models.RelayAudio, error) {
	a := models.RelayAudio{SampleRate: relaySampleRate, Channels: relayChannels, BitRateKbps: relayAudioKbps}
	if p == nil {
		return a, nil
	}
	if p.AudioEncode != nil {
		if err := relayAudioEncode(p.AudioEncode, &a); err != nil {
			return a, err
		}
	}
	var err error
	if a.Subscribe, err = relayUserList("AudioParams.SubscribeAudioList", p.SubscribeAudioList); err != nil {
		return a, err
	}
	a.Unsubscribe, err = relayUserList("AudioParams.UnSubscribeAudioList", p.UnSubscribeAudioList)
	return a, err
}

// relayAudioEncode reads AudioEncode (all of SampleRate, Channel and BitRate, in Hz and
// kbps) into a.
func relayAudioEncode(e *wire.AudioEncode, a *models.RelayAudio) error {
	const f = "AudioParams.AudioEncode."
	rate, err := reqInt(f+"SampleRate", e.SampleRate, 8000, 48000)
	if err != nil {
		return err
	}
	if !slices.Contains(relaySampleRates, rate) {
		return tcerr.New("InvalidParameter.OutOfRange", "%sSampleRate is %d: it must be one of 48000, 44100, 32000, 24000, 16000 and 8000 (Hz).", f, rate)
	}
	if a.Channels, err = reqInt(f+"Channel", e.Channel, 1, 2); err != nil {
		return err
	}
	if a.BitRateKbps, err = reqInt(f+"BitRate", e.BitRate, 8, 500); err != nil {
		return err
	}
	if a.Codec, err = optInt(f+"Codec", e.Codec, 0, 2, 0); err != nil {
		return err
	}
	if a.Codec == 2 && a.Channels != 2 {
		return tcerr.InvalidParameter(f+"Codec", "HE-AACv2 (2) needs Channel 2")
	}
	if a.Codec != 0 && rate == 8000 {
		return tcerr.InvalidParameter(f+"Codec", "HE-AAC (1) and HE-AACv2 (2) need a SampleRate of 16000 Hz or more")
	}
	a.SampleRate = rate
	return nil
}

// relayUserList reads SubscribeAudioList or UnSubscribeAudioList as user ids: nil when
// absent, empty (not nil) when given empty.
func relayUserList(field string, list []wire.McuUserInfoParams) ([]string, error) {
	if list == nil {
		return nil, nil
	}
	if len(list) > maxRelayAudioUsers {
		return nil, tcerr.InvalidParameter(field, fmt.Sprintf("it has %d users, at most %d are allowed", len(list), maxRelayAudioUsers))
	}
	out := make([]string, 0, len(list))
	for i, u := range list {
		f := field + "." + strconv.Itoa(i)
		if u.UserInfo == nil {
			return nil, tcerr.MissingParameter(f + ".UserInfo")
		}
		id, err := relayMixUser(f+".UserInfo", u.UserInfo)
		if err != nil {
			return nil, err
		}
		// SoundLevel (China only) is checked, not applied.
		if _, err := optInt(f+".SoundLevel", u.SoundLevel, 0, 100, 100); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// relayMixUser reads a MixUserInfo: its user id. A RoomId of another room is checked (its
// RoomIdType in the relay's polarity) but only the main room is mixed.
func relayMixUser(field string, u *wire.MixUserInfo) (string, error) {
	id, err := relayUserId(field+".UserId", u.UserId)
	if err != nil {
		return "", err
	}
	kind := -1
	if u.RoomIdType != nil {
		if kind, err = relayRoomKind(field+".RoomIdType", u.RoomIdType); err != nil {
			return "", err
		}
	}
	if u.RoomId != nil && *u.RoomId != "" {
		if kind >= 0 {
			if _, err := models.ValidateRoomId(field+".RoomId", *u.RoomId, kind); err != nil {
				return "", err
			}
		} else if len(*u.RoomId) > 64 {
			return "", tcerr.New(tcerr.CodeInvalidRoomId, "The %s is longer than 64 bytes.", field+".RoomId")
		}
	}
	return id, nil
}

// relayMediaStream reads a UserMediaStream: the user ("" when UserInfo is absent and
// needUser is false) and the stream (0 camera, 1 screen sharing).
func relayMediaStream(field string, s *wire.UserMediaStream, needUser bool) (string, int, error) {
	media, err := optInt(field+".StreamType", s.StreamType, 0, 1, 0)
	if err != nil {
		return "", 0, err
	}
	if s.UserInfo == nil {
		if needUser {
			return "", 0, tcerr.MissingParameter(field + ".UserInfo")
		}
		return "", media, nil
	}
	id, err := relayMixUser(field+".UserInfo", s.UserInfo)
	return id, media, err
}

// relaySingle reads SingleSubscribeParams: whose stream is relayed (UserInfo.UserId
// required), camera or screen.
func relaySingle(s *wire.SingleSubscribeParams) (*models.RelayStream, error) {
	const f = "SingleSubscribeParams.UserMediaStream"
	if s.UserMediaStream == nil {
		return nil, tcerr.MissingParameter(f)
	}
	id, media, err := relayMediaStream(f, s.UserMediaStream, true)
	if err != nil {
		return nil, err
	}
	return &models.RelayStream{UserId: id, Aux: media == 1}, nil
}

// relayVideo reads a transcoding relay's VideoParams: the encoding (the recommended
// 640x360, 15 fps, 800 kbps, GOP 3 s without VideoEncode) and the layout. The canvas bounds
// are the caller's to check (Start: here; Update: the store, against the task's canvas).
func relayVideo(p *wire.McuVideoParams) (*models.RelayVideo, error) {
	v := &models.RelayVideo{Width: relayWidth, Height: relayHeight, Fps: relayFps, BitRateKbps: relayVideoKbps, Gop: relayGop}
	if p.VideoEncode != nil {
		if err := relayVideoEncode(p.VideoEncode, v); err != nil {
			return nil, err
		}
	}
	l, err := relayLayout(p)
	if err != nil {
		return nil, err
	}
	v.Layout = *l
	return v, nil
}

// relayVideoEncode reads VideoEncode, every field required, into v: the canvas rounded down
// to even pixels, 16 at least (4:2:0 macroblocks, as mixed recording's); Fps 0 is 15 and
// BitRate 0 the recommended bitrate of the canvas.
func relayVideoEncode(e *wire.VideoEncode, v *models.RelayVideo) error {
	const f = "VideoParams.VideoEncode."
	var err error
	for _, x := range []struct {
		name   string
		in     *uint64
		lo, hi int
		out    *int
	}{
		{"Width", e.Width, 0, 1920, &v.Width}, {"Height", e.Height, 0, 1080, &v.Height}, {"Fps", e.Fps, 0, 60, &v.Fps},
		{"BitRate", e.BitRate, 0, 10000, &v.BitRateKbps}, {"Gop", e.Gop, 1, 5, &v.Gop},
	} {
		if *x.out, err = reqInt(f+x.name, x.in, x.lo, x.hi); err != nil {
			return err
		}
	}
	v.Width, v.Height = max(v.Width&^1, 16), max(v.Height&^1, 16)
	if v.Fps == 0 {
		v.Fps = relayFps
	}
	if v.BitRateKbps == 0 {
		v.BitRateKbps = recommendedKbps(v.Width, v.Height)
	}
	return nil
}

// recommendedKbps is the seed's recommended bitrate for a canvas: 640x360 800 kbps,
// 960x540 1200, 1280x720 1500, 1920x1080 2500.
func recommendedKbps(width, height int) int {
	switch px := width * height; {
	case px <= 640*360:
		return 800
	case px <= 960*540:
		return 1200
	case px <= 1280*720:
		return 1500
	}
	return 2500
}

// relayLayout reads the layout of VideoParams (LayoutParams and the canvas's background and
// watermarks) as a MixLayout.
func relayLayout(p *wire.McuVideoParams) (*models.MixLayout, error) {
	l := &models.MixLayout{Mode: 1, RenderMode: renderCrop, PureAudioDisableLayout: true}
	var err error
	if lp := p.LayoutParams; lp != nil {
		if err := relayLayoutParams(lp, l); err != nil {
			return nil, err
		}
	}
	if l.BackgroundColor, err = relayColor("VideoParams.BackGroundColor", p.BackGroundColor); err != nil {
		return nil, err
	}
	if l.BackgroundImageUrl, err = imageUrl("VideoParams.BackgroundImageUrl", p.BackgroundImageUrl); err != nil {
		return nil, err
	}
	mode, err := optInt("VideoParams.BackgroundRenderMode", p.BackgroundRenderMode, 0, 2, 2)
	if err != nil {
		return nil, err
	}
	l.BackgroundImageRenderMode = relayBackgroundModes[mode]
	if len(p.WaterMarkList) > maxRelayWatermarks {
		return nil, tcerr.InvalidParameter("VideoParams.WaterMarkList", fmt.Sprintf("it has %d watermarks, at most %d are allowed", len(p.WaterMarkList), maxRelayWatermarks))
	}
	for i := range p.WaterMarkList {
		wm, err := relayWatermark("VideoParams.WaterMarkList."+strconv.Itoa(i), &p.WaterMarkList[i])
		if err != nil {
			return nil, err
		}
		l.Watermarks = append(l.Watermarks, wm)
	}
	return l, nil
}

func relayLayoutParams(lp *wire.McuLayoutParams, l *models.MixLayout) error {
	const f = "VideoParams.LayoutParams."
	var err error
	if l.Mode, err = optInt(f+"MixLayoutMode", lp.MixLayoutMode, 1, 4, 1); err != nil {
		return err
	}
	hold, err := optInt(f+"PureAudioHoldPlaceMode", lp.PureAudioHoldPlaceMode, 0, 1, 0)
	if err != nil {
		return err
	}
	l.PureAudioDisableLayout = hold == 0
	render, err := optInt(f+"RenderMode", lp.RenderMode, 0, 2, 0)
	if err != nil {
		return err
	}
	l.RenderMode = relayRenderModes[render]
	if _, err := optInt(f+"EnableStreamSEI", lp.EnableStreamSEI, 0, 1, 1); err != nil {
		return err
	}
	if m := lp.MaxVideoUser; m != nil {
		if m.UserMediaStream == nil {
			return tcerr.MissingParameter(f + "MaxVideoUser.UserMediaStream")
		}
		if l.MainUserId, l.MainMediaId, err = relayMediaStream(f+"MaxVideoUser.UserMediaStream", m.UserMediaStream, false); err != nil {
			return err
		}
	}
	if len(lp.MixLayoutList) > maxRelayWindows {
		return tcerr.InvalidParameter(f+"MixLayoutList", fmt.Sprintf("it has %d windows, at most %d are allowed", len(lp.MixLayoutList), maxRelayWindows))
	}
	if l.Mode == 4 && len(lp.MixLayoutList) == 0 {
		return tcerr.InvalidParameter(f+"MixLayoutList", "a custom layout (MixLayoutMode 4) needs its windows")
	}
	for i := range lp.MixLayoutList {
		s, err := relaySlot(f+"MixLayoutList."+strconv.Itoa(i), &lp.MixLayoutList[i])
		if err != nil {
			return err
		}
		// A window's BackgroundImageUrl shows while its user sends no video.
		l.PlaceHolderMode = l.PlaceHolderMode || s.SubBackgroundImage != ""
		l.Slots = append(l.Slots, s)
	}
	return nil
}

// relaySlot reads one window of a custom layout (McuLayout) as a MixSlot.
func relaySlot(field string, w *wire.McuLayout) (models.MixSlot, error) {
	var s models.MixSlot
	var err error
	for _, x := range []struct {
		name string
		in   *uint64
		out  *int
	}{
		{"LocationY", w.LocationY, &s.Top}, {"LocationX", w.LocationX, &s.Left},
		{"ImageWidth", w.ImageWidth, &s.Width}, {"ImageHeight", w.ImageHeight, &s.Height},
	} {
		if *x.out, err = optInt(field+"."+x.name, x.in, 0, 1920, 0); err != nil {
			return s, err
		}
	}
	if ums := w.UserMediaStream; ums != nil {
		if s.UserId, s.MediaId, err = relayMediaStream(field+".UserMediaStream", ums, false); err != nil {
			return s, err
		}
	}
	if s.ImageLayer, err = optInt(field+".ZOrder", w.ZOrder, 0, maxRelayLayer, 0); err != nil {
		return s, err
	}
	render, err := optInt(field+".RenderMode", w.RenderMode, 0, 2, 0)
	if err != nil {
		return s, err
	}
	s.RenderMode = relayRenderModes[render]
	if s.SubBackgroundImage, err = imageUrl(field+".BackgroundImageUrl", w.BackgroundImageUrl); err != nil {
		return s, err
	}
	// Checked, not applied (see the file's comment).
	if _, err := relayColor(field+".BackGroundColor", w.BackGroundColor); err != nil {
		return s, err
	}
	if _, err := imageUrl(field+".TransparentUrl", w.TransparentUrl); err != nil {
		return s, err
	}
	bgMode, err := optInt(field+".BackgroundRenderMode", w.BackgroundRenderMode, 0, 4, 3)
	if err != nil {
		return s, err
	}
	if r := w.BackgroundCustomRender; r != nil {
		if _, err := reqInt(field+".BackgroundCustomRender.Width", r.Width, 1, 1920); err != nil {
			return s, err
		}
		if _, err := reqInt(field+".BackgroundCustomRender.Height", r.Height, 1, 1920); err != nil {
			return s, err
		}
	} else if bgMode == 4 {
		return s, tcerr.MissingParameter(field + ".BackgroundCustomRender")
	}
	if _, err := optInt(field+".EnableStreamSEI", w.EnableStreamSEI, 0, 1, 1); err != nil {
		return s, err
	}
	if c := w.CustomCrop; c != nil {
		f := field + ".CustomCrop."
		x, err := reqInt(f+"LocationX", c.LocationX, 0, 10000)
		if err != nil {
			return s, err
		}
		y, err := reqInt(f+"LocationY", c.LocationY, 0, 10000)
		if err != nil {
			return s, err
		}
		cw, err := reqInt(f+"Width", c.Width, 1, 10000)
		if err != nil {
			return s, err
		}
		ch, err := reqInt(f+"Height", c.Height, 1, 10000)
		if err != nil {
			return s, err
		}
		if x+cw > 10000 || y+ch > 10000 {
			return s, tcerr.InvalidParameter(field+".CustomCrop", "LocationX + Width and LocationY + Height must not exceed 10000")
		}
		s.Crop = &models.CropRect{X: x, Y: y, W: cw, H: ch}
	}
	return s, nil
}

// relayWatermark reads one McuWaterMarkParams: 0 an image, 1 a text, each with its struct.
func relayWatermark(field string, w *wire.McuWaterMarkParams) (models.Watermark, error) {
	var wm models.Watermark
	var err error
	if wm.Type, err = optInt(field+".WaterMarkType", w.WaterMarkType, 0, 1, 0); err != nil {
		return wm, err
	}
	box := func(f string, width, height, x, y *uint64) error {
		for _, b := range []struct {
			name string
			in   *uint64
			out  *int
		}{{"WaterMarkWidth", width, &wm.Width}, {"WaterMarkHeight", height, &wm.Height}, {"LocationX", x, &wm.Left}, {"LocationY", y, &wm.Top}} {
			if *b.out, err = reqInt(f+"."+b.name, b.in, 0, 1920); err != nil {
				return err
			}
		}
		return nil
	}
	dynamic := func(f string, v *uint64) error {
		_, err := optInt(f+".DynamicPosType", v, 0, 2, 0)
		return err
	}
	switch wm.Type {
	case 0:
		img := w.WaterMarkImage
		f := field + ".WaterMarkImage"
		if img == nil {
			return wm, tcerr.New(tcerr.CodeMissingParameter, "%s is required: WaterMarkType 0 is an image watermark.", f)
		}
		if img.WaterMarkUrl == nil || *img.WaterMarkUrl == "" {
			return wm, tcerr.MissingParameter(f + ".WaterMarkUrl")
		}
		if wm.Url, err = imageUrl(f+".WaterMarkUrl", img.WaterMarkUrl); err != nil {
			return wm, err
		}
		if err := box(f, img.WaterMarkWidth, img.WaterMarkHeight, img.LocationX, img.LocationY); err != nil {
			return wm, err
		}
		if _, err := optInt(f+".ZOrder", img.ZOrder, 0, maxRelayLayer, 0); err != nil {
			return wm, err
		}
		return wm, dynamic(f, img.DynamicPosType)
	default:
		txt := w.WaterMarkText
		f := field + ".WaterMarkText"
		if txt == nil {
			return wm, tcerr.New(tcerr.CodeMissingParameter, "%s is required: WaterMarkType 1 is a text watermark.", f)
		}
		if txt.Text == nil || *txt.Text == "" {
			return wm, tcerr.MissingParameter(f + ".Text")
		}
		if len(*txt.Text) > maxWatermarkText || !utf8.ValidString(*txt.Text) {
			return wm, tcerr.InvalidParameter(f+".Text", fmt.Sprintf("it is UTF-8 text of at most %d bytes", maxWatermarkText))
		}
		wm.Chars = *txt.Text
		if err := box(f, txt.WaterMarkWidth, txt.WaterMarkHeight, txt.LocationX, txt.LocationY); err != nil {
			return wm, err
		}
		if wm.FontSize, err = reqInt(f+".FontSize", txt.FontSize, 1, 200); err != nil {
			return wm, err
		}
		if wm.FontColor, err = relayColor(f+".FontColor", txt.FontColor); err != nil { // "": white
			return wm, err
		}
		if wm.BackgroundColor, err = relayColor(f+".BackGroundColor", txt.BackGroundColor); err != nil { // "": transparent
			return wm, err
		}
		if _, err := optInt(f+".ZOrder", txt.ZOrder, 0, maxRelayLayer, 0); err != nil {
			return wm, err
		}
		if txt.Font != nil && *txt.Font != "" && *txt.Font != "Tencent" && *txt.Font != "SourceHanSans" {
			return wm, tcerr.InvalidParameter(f+".Font", "it is Tencent (the default) or SourceHanSans")
		}
		return wm, dynamic(f, txt.DynamicPosType)
	}
}

// relayCdns reads PublishCdnParams: at most MaxRelayDestinations rtmp URLs, none twice,
// IsTencentCdn 1 when absent. nil when absent, empty (not nil) when given empty.
func relayCdns(list []wire.McuPublishCdnParam) ([]models.RelayCdn, error) {
	if list == nil {
		return nil, nil
	}
	if len(list) > models.MaxRelayDestinations {
		return nil, tcerr.InvalidParameter("PublishCdnParams", fmt.Sprintf("it has %d URLs, at most %d are allowed", len(list), models.MaxRelayDestinations))
	}
	out := make([]models.RelayCdn, 0, len(list))
	for i, p := range list {
		f := "PublishCdnParams." + strconv.Itoa(i)
		if p.PublishCdnUrl == nil || strings.TrimSpace(*p.PublishCdnUrl) == "" {
			return nil, tcerr.MissingParameter(f + ".PublishCdnUrl")
		}
		u, err := relayCdnURL(f+".PublishCdnUrl", *p.PublishCdnUrl)
		if err != nil {
			return nil, err
		}
		if j := slices.IndexFunc(out, func(c models.RelayCdn) bool { return c.Url == u }); j >= 0 {
			return nil, tcerr.InvalidParameter(f+".PublishCdnUrl", fmt.Sprintf("it repeats PublishCdnParams.%d", j))
		}
		tencent, err := optInt(f+".IsTencentCdn", p.IsTencentCdn, 0, 1, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, models.RelayCdn{Url: u, IsTencentCdn: tencent})
	}
	return out, nil
}

// relayCdnURL checks a URL a relay pushes to: rtmp only (the contract), with a host, an
// application and a stream name (rtmp://host[:port]/app/stream[?query]), at most
// maxSourceURLBytes. Where it may connect is the address guard's business, when the task
// connects.
func relayCdnURL(field, raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", tcerr.InvalidParameter(field, fmt.Sprintf("%q is not a URL to push to: %s", shorten(raw, 200), why))
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > maxSourceURLBytes {
		return bad(fmt.Sprintf("it is longer than %d bytes", maxSourceURLBytes))
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return bad("it holds a space or a control character")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("it is not a URL")
	}
	if !strings.EqualFold(u.Scheme, "rtmp") {
		return bad("the scheme must be rtmp")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("it has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("the port must be 1 to 65535")
		}
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("an rtmp URL has no #fragment")
	}
	if segs := strings.Split(strings.Trim(u.Path, "/"), "/"); len(segs) < 2 || segs[0] == "" || segs[len(segs)-1] == "" {
		return bad("it needs an application and a stream name, rtmp://host/app/stream")
	}
	return raw, nil
}

// relayFeedBack reads FeedBackRoomParams: at most MaxRelayDestinations rooms, every field
// required, RoomIdType in the relay's polarity (0 integer, 1 string), no room twice. nil
// when absent, empty (not nil) when given empty.
func relayFeedBack(list []wire.McuFeedBackRoomParams) ([]models.RelayFeedBack, error) {
	if list == nil {
		return nil, nil
	}
	if len(list) > models.MaxRelayDestinations {
		return nil, tcerr.InvalidParameter("FeedBackRoomParams", fmt.Sprintf("it has %d rooms, at most %d are allowed", len(list), models.MaxRelayDestinations))
	}
	out := make([]models.RelayFeedBack, 0, len(list))
	for i, p := range list {
		f := "FeedBackRoomParams." + strconv.Itoa(i)
		var fb models.RelayFeedBack
		var err error
		if p.RoomId == nil || *p.RoomId == "" {
			return nil, tcerr.MissingParameter(f + ".RoomId")
		}
		if fb.RoomIdType, err = relayRoomKind(f+".RoomIdType", p.RoomIdType); err != nil {
			return nil, err
		}
		if fb.RoomId, err = models.ValidateRoomId(f+".RoomId", *p.RoomId, fb.RoomIdType); err != nil {
			return nil, err
		}
		if fb.UserId, err = relayUserId(f+".UserId", p.UserId); err != nil {
			return nil, err
		}
		if p.UserSig == nil || *p.UserSig == "" {
			return nil, tcerr.MissingParameter(f + ".UserSig")
		}
		fb.UserSig = *p.UserSig
		if j := slices.IndexFunc(out, func(o models.RelayFeedBack) bool { return o.RoomId == fb.RoomId && o.RoomIdType == fb.RoomIdType }); j >= 0 {
			return nil, tcerr.InvalidParameter(f+".RoomId", fmt.Sprintf("it repeats FeedBackRoomParams.%d", j))
		}
		out = append(out, fb)
	}
	return out, nil
}

// relaySei reads SeiParams (nil when absent; given empty: no SEI).
func relaySei(p *wire.McuSeiParams) (*models.RelaySei, error) {
	if p == nil {
		return nil, nil
	}
	sei := &models.RelaySei{}
	var err error
	if lv := p.LayoutVolume; lv != nil {
		const f = "SeiParams.LayoutVolume."
		v := &models.SeiLayoutVolume{}
		if lv.AppData != nil {
			if utf8.RuneCountInString(*lv.AppData) > maxSeiChars {
				return nil, tcerr.InvalidParameter(f+"AppData", "it must be shorter than 4096 characters")
			}
			v.AppData = *lv.AppData
		}
		if lv.PayloadType == nil {
			v.PayloadType = 100
		} else if v.PayloadType, err = seiPayloadType(f+"PayloadType", *lv.PayloadType, false); err != nil {
			return nil, err
		}
		if v.IntervalMs, v.FollowIdr, err = seiTiming(f, lv.Interval, lv.FollowIdr); err != nil {
			return nil, err
		}
		sei.LayoutVolume = v
	}
	if pt := p.PassThrough; pt != nil {
		const f = "SeiParams.PassThrough."
		v := &models.SeiPassThrough{}
		if pt.PayloadContent == nil || *pt.PayloadContent == "" {
			return nil, tcerr.MissingParameter(f + "PayloadContent")
		}
		if utf8.RuneCountInString(*pt.PayloadContent) > maxSeiChars {
			return nil, tcerr.InvalidParameter(f+"PayloadContent", "it must be shorter than 4096 characters")
		}
		v.Content = *pt.PayloadContent
		if pt.PayloadType == nil {
			return nil, tcerr.MissingParameter(f + "PayloadType")
		}
		if v.PayloadType, err = seiPayloadType(f+"PayloadType", *pt.PayloadType, true); err != nil {
			return nil, err
		}
		if v.PayloadType == 5 { // user_data_unregistered: its UUID; ignored for the other types
			if pt.PayloadUuid == nil || *pt.PayloadUuid == "" {
				return nil, tcerr.New(tcerr.CodeMissingParameter, "%sPayloadUuid is required with PayloadType 5.", f)
			}
			if !hexUuid.MatchString(*pt.PayloadUuid) {
				return nil, tcerr.InvalidParameter(f+"PayloadUuid", "it is 32 hexadecimal characters")
			}
			v.Uuid = *pt.PayloadUuid
		}
		if v.IntervalMs, v.FollowIdr, err = seiTiming(f, pt.Interval, pt.FollowIdr); err != nil {
			return nil, err
		}
		sei.PassThrough = v
	}
	return sei, nil
}

// seiPayloadType checks an SEI payload type: 100 to 254 but 244 (Tencent's timestamps),
// and 5 where allow5.
func seiPayloadType(field string, v uint64, allow5 bool) (int, error) {
	if (allow5 && v == 5) || (v >= 100 && v <= 254 && v != 244) {
		return int(v), nil
	}
	want := "100 to 254 except 244"
	if allow5 {
		want = "5 or " + want
	}
	return 0, tcerr.New("InvalidParameter.OutOfRange", "%s is %d: it must be %s.", field, v, want)
}

// seiTiming reads Interval (ms, 1000 when absent; the emulator takes 1 to 60000) and
// FollowIdr (0 or 1).
func seiTiming(prefix string, interval, followIdr *uint64) (int, bool, error) {
	ms, err := optInt(prefix+"Interval", interval, 1, maxSeiIntervalMs, 1000)
	if err != nil {
		return 0, false, err
	}
	idr, err := optInt(prefix+"FollowIdr", followIdr, 0, 1, 0)
	return ms, idr == 1, err
}
