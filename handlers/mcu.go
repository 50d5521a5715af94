package handlers

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// The legacy MCU actions (StartMCUMixTranscode, StopMCUMixTranscode and their ByStrRoomId
// forms, integer RoomId / string StrRoomId) on the relay machinery: a room's mix is a
// transcoding relay task of models (StartMCU, StopMCU: one mix per room, a second Start
// updates it, see models/relay_mcu.go), pushed by the relay job. The request is validated and
// converted here, into a RelaySpec in mixed recording's terms (models.MixLayout), with the
// relay's helpers (optInt, reqInt, imageUrl, relayCdnURL, relayRenderModes, …).
//
// Choices the contract leaves open, each documented where it is made:
//   - Codes (mcuSpec's; a field the China SDK declares required is refused, when missing,
//     by the schema first: see below): the SDK's declared ones where one fits (InvalidParameter.EncodeParams,
//     .AudioEncodeParams, .VideoResolution, .OutputParams, .StreamId, .PureAudioStream,
//     .RecordId, .RecordAudioOnly, .MainVideoStreamType, .MainVideoRightAlign,
//     .PresetLayoutConfig, .SmallVideoLayoutParams, .SmallVideoStreamType, .PublishCdnUrls,
//     .BizId, .BackgroundImageUrl, .StrRoomId; MissingParameter.OutputParams, .StreamId,
//     .EncodeParams, .AudioEncodeParams, .VideoEncodeParams, .PresetLayoutConfig, .BizId,
//     .PublishCdnUrls, .RoomId, .SdkAppId); InvalidParameter.OutOfRange (as the relay's)
//     for the fields that have none (Template, RenderMode, PlaceHolderMode,
//     PureAudioHoldPlaceMode, ZOrder, MixInputType, watermark geometry).
//   - The robot is models.MCURobotId(room), "mcu_<room>" cut to 32 bytes, entered without
//     a UserSig; MaxIdleTime is the relay's default, 30 s (the mix ends with the room).
//   - OutputParams.StreamId (1 to 64 bytes of letters, digits, _ - .) names the stream on
//     Tencent CSS, which the emulator cannot reach: without PublishCdnParams the mix runs
//     with no destination (the control API's rooms view shows it). RecordId (the legacy
//     recording's file prefix, [A-Za-z0-9_-]{1,64}) and RecordAudioOnly are checked and
//     ignored: the emulator has no legacy recording.
//   - EncodeParams: the audio fields are required (48000/44100/32000/24000/16000/8000 Hz,
//     8 to 500 kbps, 1 or 2 channels; AudioCodec 0 LC-AAC, 1 HE-AAC, 2 HE-AACv2 which needs
//     2 channels, both HE codecs 16 kHz at least). With video (PureAudioStream 0) the five
//     video fields are required (MissingParameter.VideoEncodeParams), except that a
//     VideoWidth and VideoHeight of 0 both mean an audio-only mix (the client SDK's
//     convention); the canvas is rounded down to even, 16 at least, like the relay's.
//     BackgroundColor is the decimal integer of 0xRRGGBB (0 to 16777215, default black),
//     stored #RRGGBB; BackgroundImageUrl (512 bytes at most, .jpg/.jpeg/.png) shows
//     stretched, the relay's default; BackgroundImageId (a console picture) is ignored.
//   - PureAudioStream 1 (or a 0x0 canvas) mixes audio only: the video and layout fields are
//     ignored.
//   - LayoutParams is required by the schema (the China SDK's declaration); mcuSpec reads
//     a nil one as Template 0 (floating) with its defaults. Template 0
//     floating, 1 grid, 2 screen sharing, 4 custom become MixLayoutMode 1, 3, 2, 4;
//     Template 3 (picture-in-picture) becomes a custom layout of the main window (the whole
//     canvas: MainVideoUserId, or the first anchor when empty) and, with
//     SmallVideoLayoutParams, the small one above it; the other users are mixed in audio.
//     The fields of other templates are ignored (not checked).
//   - PureAudioHoldPlaceMode 0 is the backend's default the SDK describes: audio-only users
//     take a window in floating and grid, none in screen sharing; custom and
//     picture-in-picture follow floating. 1 always, 2 never.
//   - RenderMode (0 crop, the default, 1 scale, 2 scale on black) as the relay's: crop,
//     fit, fit. The backend's "scale for screen sharing's large window" default is not
//     modelled: one render mode for every template window.
//   - PresetLayoutConfig (Template 4: required, at most 16 windows, each inside the canvas)
//     become MixSlots (ZOrder the layer, 0 to 1000). MixInputType 1 (video only) puts the
//     window's user on the audio deny list; when every window names its user, the others
//     are not mixed at all (the SDK: "when the preset windows are full, the other users'
//     pictures and sound are not mixed"), so those users are the audio allow list.
//     MixInputType 2 (audio only) is checked and not applied; PlaceImageId (a console
//     picture) is ignored, PlaceHolderMode only marks the layout.
//   - MixVideoUids (at most 16 user ids) is the video allow list (RelayVideo.Subscribe):
//     the others are mixed in audio only.
//   - WaterMarkParams: WaterMarkWidth, WaterMarkHeight, LocationX, LocationY required and
//     inside the canvas, WaterMarkId or WaterMarkUrl (the schema requires WaterMarkId, as
//     the China SDK declares); only a WaterMarkUrl is drawn (an id names a console picture).
//   - PublishCdnParams: BizId required and not 0 (not used), exactly one rtmp URL in
//     PublishCdnUrls ("one third-party CDN at a time"), pushed with IsTencentCdn 0.
//   - Stop: FailedOperation.MixSessionNotExist when the room has no running mix
//     (FailedOperation.RoomNotExist when the room is not open either).

// The four actions' types are package wire's (cmd/wiregen, from the China SDK: the
// international one has no MCU actions). The schema requires what the China SDK declares
// required (SdkAppId, RoomId or StrRoomId, OutputParams with its StreamId, EncodeParams with
// its three audio fields, LayoutParams, PublishCdnParams' BizId and PublishCdnUrls,
// SmallVideoLayoutParams' UserId and StreamType, WaterMarkParams' WaterMarkId and geometry):
// missing, they are refused before the handler as every action's are (MissingParameter,
// naming the field). mcuSpec checks them again with the SDK's codes for its own callers.

func (h *Handlers) StartMCUMixTranscode(c *Call, req *wire.StartMCUMixTranscodeRequest) (*wire.StartMCUMixTranscodeResponse, error) {
	if err := h.startMCU(c, mcuStartOf(req)); err != nil {
		return nil, err
	}
	return &wire.StartMCUMixTranscodeResponse{}, nil
}

func (h *Handlers) StartMCUMixTranscodeByStrRoomId(c *Call, req *wire.StartMCUMixTranscodeByStrRoomIdRequest) (*wire.StartMCUMixTranscodeByStrRoomIdResponse, error) {
	if err := h.startMCU(c, mcuStartByStrOf(req)); err != nil {
		return nil, err
	}
	return &wire.StartMCUMixTranscodeByStrRoomIdResponse{}, nil
}

func (h *Handlers) StopMCUMixTranscode(c *Call, req *wire.StopMCUMixTranscodeRequest) (*wire.StopMCUMixTranscodeResponse, error) {
	if err := h.stopMCU(c, req.SdkAppId, mcuIntRoom(req.RoomId), models.RoomIdInt); err != nil {
		return nil, err
	}
	return &wire.StopMCUMixTranscodeResponse{}, nil
}

func (h *Handlers) StopMCUMixTranscodeByStrRoomId(c *Call, req *wire.StopMCUMixTranscodeByStrRoomIdRequest) (*wire.StopMCUMixTranscodeByStrRoomIdResponse, error) {
	if err := h.stopMCU(c, req.SdkAppId, req.StrRoomId, models.RoomIdString); err != nil {
		return nil, err
	}
	return &wire.StopMCUMixTranscodeByStrRoomIdResponse{}, nil
}

func (h *Handlers) startMCU(c *Call, r mcuStart) error {
	spec, cdns, err := mcuSpec(r)
	if err != nil {
		return err
	}
	if _, err := h.store.StartMCU(c.Ctx, c.Caller.Uin, spec, cdns); err != nil {
		return mcuRoomCode(err, spec.RoomIdType)
	}
	return nil
}

func (h *Handlers) stopMCU(c *Call, sdkAppId *uint64, roomId *string, kind int) error {
	if sdkAppId == nil {
		return tcerr.New(codeMcuNoSdkAppId, "The request is missing a required parameter `SdkAppId`.")
	}
	room, err := mcuRoom(roomId, kind)
	if err != nil {
		return err
	}
	if err := h.store.StopMCU(c.Ctx, c.Caller.Uin, *sdkAppId, room, kind); err != nil {
		return mcuRoomCode(err, kind)
	}
	return nil
}

// mcuStart is a Start request of either kind: its room (nil: missing) and kind.
type mcuStart struct {
	SdkAppId   *uint64
	RoomId     *string
	RoomIdType int // the store's kinds
	Output     *wire.OutputParams
	Encode     *wire.EncodeParams
	Layout     *wire.LayoutParams
	Cdn        *wire.PublishCdnParams
}

// mcuStartOf is StartMCUMixTranscode's request: RoomId a number (the SDK's), read as text.
func mcuStartOf(r *wire.StartMCUMixTranscodeRequest) mcuStart {
	return mcuStart{SdkAppId: r.SdkAppId, RoomId: mcuIntRoom(r.RoomId), RoomIdType: models.RoomIdInt,
		Output: r.OutputParams, Encode: r.EncodeParams, Layout: r.LayoutParams, Cdn: r.PublishCdnParams}
}

// mcuStartByStrOf is StartMCUMixTranscodeByStrRoomId's request: StrRoomId a string.
func mcuStartByStrOf(r *wire.StartMCUMixTranscodeByStrRoomIdRequest) mcuStart {
	return mcuStart{SdkAppId: r.SdkAppId, RoomId: r.StrRoomId, RoomIdType: models.RoomIdString,
		Output: r.OutputParams, Encode: r.EncodeParams, Layout: r.LayoutParams, Cdn: r.PublishCdnParams}
}

func mcuIntRoom(v *uint64) *string {
	if v == nil {
		return nil
	}
	s := strconv.FormatUint(*v, 10)
	return &s
}

// The SDK's codes for the legacy MCU parameters.
const (
	codeMcuEncode      = "InvalidParameter.EncodeParams"
	codeMcuAudio       = "InvalidParameter.AudioEncodeParams"
	codeMcuResolution  = "InvalidParameter.VideoResolution"
	codeMcuStreamId    = "InvalidParameter.StreamId"
	codeMcuPureAudio   = "InvalidParameter.PureAudioStream"
	codeMcuRecordId    = "InvalidParameter.RecordId"
	codeMcuRecordAudio = "InvalidParameter.RecordAudioOnly"
	codeMcuMainStream  = "InvalidParameter.MainVideoStreamType"
	codeMcuRightAlign  = "InvalidParameter.MainVideoRightAlign"
	codeMcuPreset      = "InvalidParameter.PresetLayoutConfig"
	codeMcuSmall       = "InvalidParameter.SmallVideoLayoutParams"
	codeMcuSmallStream = "InvalidParameter.SmallVideoStreamType"
	codeMcuCdnUrls     = "InvalidParameter.PublishCdnUrls"
	codeMcuBizId       = "InvalidParameter.BizId"
	codeMcuBackground  = "InvalidParameter.BackgroundImageUrl"
	codeMcuStrRoomId   = "InvalidParameter.StrRoomId"
	codeMcuNoOutput    = "MissingParameter.OutputParams"
	codeMcuNoStreamId  = "MissingParameter.StreamId"
	codeMcuNoEncode    = "MissingParameter.EncodeParams"
	codeMcuNoAudio     = "MissingParameter.AudioEncodeParams"
	codeMcuNoVideo     = "MissingParameter.VideoEncodeParams"
	codeMcuNoPreset    = "MissingParameter.PresetLayoutConfig"
	codeMcuNoBizId     = "MissingParameter.BizId"
	codeMcuNoCdnUrls   = "MissingParameter.PublishCdnUrls"
	codeMcuNoRoomId    = "MissingParameter.RoomId"
	codeMcuNoSdkAppId  = "MissingParameter.SdkAppId"
)

// Legacy MCU limits and values.
const (
	maxMcuWindows        = 16 // PresetLayoutConfig (the relay's custom layout limit)
	maxMcuVideoUids      = 16 // MixVideoUids: "at most 16 users"
	maxMcuImageUrlBytes  = 512
	maxMcuStreamIdBytes  = 64
	mcuTemplatePiP       = 3
	mcuTemplateCustom    = 4
	mcuBackgroundPicture = renderStretch // BackgroundImageUrl: the relay's default render mode
)

var mcuStreamId = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// mcuLayoutModes maps LayoutParams.Template to MixLayoutMode: floating, grid, screen
// sharing, picture-in-picture (custom), custom.
var mcuLayoutModes = [...]int{1, 3, 2, 4, 4}

// mcuInt reads an optional number in [lo, hi] (def when absent), refusing with code.
func mcuInt(code, field string, v *uint64, lo, hi, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < uint64(lo) || *v > uint64(hi) {
		return 0, tcerr.New(code, "%s is %d: it must be %d to %d.", field, *v, lo, hi)
	}
	return int(*v), nil
}

// mcuReq reads a required number in [lo, hi]: missing answers missing, out of range code.
func mcuReq(missing, code, field string, v *uint64, lo, hi int) (int, error) {
	if v == nil {
		return 0, tcerr.New(missing, "%s is required.", field)
	}
	return mcuInt(code, field, v, lo, hi, 0)
}

// mcuRoom reads the room of a request: RoomId (integer) or StrRoomId (string).
func mcuRoom(v *string, kind int) (string, error) {
	field := "RoomId"
	if kind == models.RoomIdString {
		field = "StrRoomId"
	}
	if v == nil || *v == "" {
		return "", tcerr.New(codeMcuNoRoomId, "The request is missing a required parameter `%s`.", field)
	}
	room, err := models.ValidateRoomId(field, *v, kind)
	return room, mcuRoomCode(err, kind)
}

// mcuRoomCode says a refused string room as the ByStrRoomId actions do
// (InvalidParameter.StrRoomId).
func mcuRoomCode(err error, kind int) error {
	if te, ok := tcerr.As(err); ok && kind == models.RoomIdString && te.Code == tcerr.CodeInvalidRoomId {
		return &tcerr.Error{Code: codeMcuStrRoomId, Message: te.Message}
	}
	return err
}

// mcuUserId reads an optional user id of at most 32 bytes ("" when absent).
func mcuUserId(code, field string, v *string) (string, error) {
	if v == nil {
		return "", nil
	}
	if len(*v) > maxUserIdBytes {
		return "", tcerr.New(code, "The %s %q is invalid: it must be at most 32 bytes.", field, shorten(*v, 64))
	}
	return *v, nil
}

// mcuSpec checks a Start request and returns the mix's spec and its destination for
// models (the robot's id is the store's to set). Required fields are checked here, with the
// SDK's codes, whatever the schema checked before.
func mcuSpec(r mcuStart) (*models.RelaySpec, []models.RelayCdn, error) {
	if r.SdkAppId == nil {
		return nil, nil, tcerr.New(codeMcuNoSdkAppId, "The request is missing a required parameter `SdkAppId`.")
	}
	spec := &models.RelaySpec{SdkAppId: *r.SdkAppId, RoomIdType: r.RoomIdType, MaxIdleTime: relayMaxIdleTime, Transcode: true}
	var err error
	if spec.RoomId, err = mcuRoom(r.RoomId, r.RoomIdType); err != nil {
		return nil, nil, err
	}
	pureAudio, err := mcuOutput(r.Output)
	if err != nil {
		return nil, nil, err
	}
	if r.Encode == nil {
		return nil, nil, tcerr.New(codeMcuNoEncode, "The request is missing a required parameter `EncodeParams`.")
	}
	if spec.Audio, err = mcuAudio(r.Encode); err != nil {
		return nil, nil, err
	}
	if !pureAudio {
		if spec.Video, err = mcuVideo(r.Encode); err != nil {
			return nil, nil, err
		}
	}
	if spec.Video != nil {
		if err := mcuLayout(r.Layout, spec); err != nil {
			return nil, nil, err
		}
	}
	cdns, err := mcuCdn(r.Cdn)
	if err != nil {
		return nil, nil, err
	}
	return spec, cdns, nil
}

// mcuOutput reads OutputParams: whether the mix is audio only.
func mcuOutput(o *wire.OutputParams) (bool, error) {
	const f = "OutputParams."
	if o == nil {
		return false, tcerr.New(codeMcuNoOutput, "The request is missing a required parameter `OutputParams`.")
	}
	if o.StreamId == nil || *o.StreamId == "" {
		return false, tcerr.New(codeMcuNoStreamId, "The request is missing a required parameter `%sStreamId`.", f)
	}
	if !mcuStreamId.MatchString(*o.StreamId) {
		return false, tcerr.New(codeMcuStreamId, "The %sStreamId %q is invalid: it is 1 to %d bytes of letters, digits, _, - and .", f, shorten(*o.StreamId, 80), maxMcuStreamIdBytes)
	}
	pure, err := mcuInt(codeMcuPureAudio, f+"PureAudioStream", o.PureAudioStream, 0, 1, 0)
	if err != nil {
		return false, err
	}
	// The legacy recording's fields: checked, not applied.
	if o.RecordId != nil && *o.RecordId != "" && !prefixSegment.MatchString(*o.RecordId) {
		return false, tcerr.New(codeMcuRecordId, "The %sRecordId %q is invalid: it is 1 to 64 letters, digits, _ or -.", f, shorten(*o.RecordId, 80))
	}
	if _, err := mcuInt(codeMcuRecordAudio, f+"RecordAudioOnly", o.RecordAudioOnly, 0, 1, 0); err != nil {
		return false, err
	}
	return pure == 1, nil
}

// mcuAudio reads the audio fields of EncodeParams (kbps), every one but AudioCodec required.
func mcuAudio(e *wire.EncodeParams) (models.RelayAudio, error) {
	const f = "EncodeParams."
	var a models.RelayAudio
	if e.AudioSampleRate == nil {
		return a, tcerr.New(codeMcuNoAudio, "%sAudioSampleRate is required.", f)
	}
	if r := *e.AudioSampleRate; r > 48000 || !slices.Contains(relaySampleRates, int(r)) {
		return a, tcerr.New(codeMcuAudio, "%sAudioSampleRate is %d: it must be 48000, 44100, 32000, 24000, 16000 or 8000 (Hz).", f, r)
	}
	rate := int(*e.AudioSampleRate)
	a.SampleRate = rate
	var err error
	if a.BitRateKbps, err = mcuReq(codeMcuNoAudio, codeMcuAudio, f+"AudioBitrate", e.AudioBitrate, 8, 500); err != nil {
		return a, err
	}
	if a.Channels, err = mcuReq(codeMcuNoAudio, codeMcuAudio, f+"AudioChannels", e.AudioChannels, 1, 2); err != nil {
		return a, err
	}
	if a.Codec, err = mcuInt(codeMcuAudio, f+"AudioCodec", e.AudioCodec, 0, 2, 0); err != nil {
		return a, err
	}
	if a.Codec == 2 && a.Channels != 2 {
		return a, tcerr.New(codeMcuAudio, "%sAudioCodec 2 (HE-AACv2) needs AudioChannels 2.", f)
	}
	if a.Codec != 0 && rate == 8000 {
		return a, tcerr.New(codeMcuAudio, "%sAudioCodec 1 (HE-AAC) and 2 (HE-AACv2) need an AudioSampleRate of 16000 Hz or more.", f)
	}
	return a, nil
}

// mcuVideo reads the video fields of EncodeParams (nil: a 0x0 canvas, audio only) and the
// canvas's background.
func mcuVideo(e *wire.EncodeParams) (*models.RelayVideo, error) {
	const f = "EncodeParams."
	w, err := mcuReq(codeMcuNoVideo, codeMcuResolution, f+"VideoWidth", e.VideoWidth, 0, 1920)
	if err != nil {
		return nil, err
	}
	h, err := mcuReq(codeMcuNoVideo, codeMcuResolution, f+"VideoHeight", e.VideoHeight, 0, 1080)
	if err != nil {
		return nil, err
	}
	if w == 0 && h == 0 {
		return nil, nil // the client SDK's audio-only mix
	}
	if w == 0 || h == 0 {
		return nil, tcerr.New(codeMcuResolution, "%sVideoWidth x VideoHeight is %dx%d: both are 0 (audio only) or neither.", f, w, h)
	}
	v := &models.RelayVideo{Width: max(w&^1, 16), Height: max(h&^1, 16)}
	for _, x := range []struct {
		name   string
		in     *uint64
		lo, hi int
		out    *int
	}{
		{"VideoBitrate", e.VideoBitrate, 1, 10000, &v.BitRateKbps}, {"VideoFramerate", e.VideoFramerate, 1, 60, &v.Fps},
		{"VideoGop", e.VideoGop, 1, 5, &v.Gop},
	} {
		if *x.out, err = mcuReq(codeMcuNoVideo, codeMcuEncode, f+x.name, x.in, x.lo, x.hi); err != nil {
			return nil, err
		}
	}
	l := &v.Layout
	l.Mode, l.RenderMode, l.BackgroundImageRenderMode = 1, renderCrop, mcuBackgroundPicture
	if c := e.BackgroundColor; c != nil {
		if *c > 0xFFFFFF {
			return nil, tcerr.New(codeMcuEncode, "%sBackgroundColor is %d: it is the decimal integer of a colour 0xRRGGBB, 0 to 16777215.", f, *c)
		}
		l.BackgroundColor = fmt.Sprintf("#%06X", *c)
	}
	// BackgroundImageId names a console picture, which the emulator does not have: ignored.
	if u := e.BackgroundImageUrl; u != nil && *u != "" {
		if len(*u) > maxMcuImageUrlBytes {
			return nil, tcerr.New(codeMcuBackground, "%sBackgroundImageUrl is longer than %d bytes.", f, maxMcuImageUrlBytes)
		}
		if l.BackgroundImageUrl, err = imageUrl(f+"BackgroundImageUrl", u); err != nil {
			return nil, mcuCode(err, codeMcuBackground)
		}
	}
	return v, nil
}

// mcuCode gives a refusal of a shared helper the legacy API's code.
func mcuCode(err error, code string) error {
	if te, ok := tcerr.As(err); ok {
		return &tcerr.Error{Code: code, Message: te.Message}
	}
	return err
}

// mcuLayout reads LayoutParams (nil: floating) into the spec's video layout, the canvas
// known, and the audio lists a custom layout implies.
func mcuLayout(p *wire.LayoutParams, spec *models.RelaySpec) error {
	const f = "LayoutParams."
	v := spec.Video
	l := &v.Layout
	if p == nil {
		p = &wire.LayoutParams{}
	}
	template, err := optInt(f+"Template", p.Template, 0, 4, 0)
	if err != nil {
		return err
	}
	l.Mode = mcuLayoutModes[template]
	render, err := optInt(f+"RenderMode", p.RenderMode, 0, 2, 0)
	if err != nil {
		return err
	}
	l.RenderMode = relayRenderModes[render]
	hold, err := optInt(f+"PureAudioHoldPlaceMode", p.PureAudioHoldPlaceMode, 0, 2, 0)
	if err != nil {
		return err
	}
	switch hold {
	case 0: // the backend's default: no window in screen sharing's
		l.PureAudioDisableLayout = template == 2
	default:
		l.PureAudioDisableLayout = hold == 2
	}
	if template != 1 && template != mcuTemplateCustom { // the large window's
		if l.MainUserId, err = mcuUserId("InvalidParameter.UserId", f+"MainVideoUserId", p.MainVideoUserId); err != nil {
			return err
		}
		if l.MainMediaId, err = mcuInt(codeMcuMainStream, f+"MainVideoStreamType", p.MainVideoStreamType, 0, 1, 0); err != nil {
			return err
		}
	}
	if template == 2 {
		right, err := mcuInt(codeMcuRightAlign, f+"MainVideoRightAlign", p.MainVideoRightAlign, 0, 1, 0)
		if err != nil {
			return err
		}
		l.AlignRight = right == 1
	}
	if template < mcuTemplatePiP {
		// A video allow list: the others are mixed in audio only.
		if len(p.MixVideoUids) > maxMcuVideoUids {
			return tcerr.InvalidParameter(f+"MixVideoUids", fmt.Sprintf("it has %d users, at most %d are allowed", len(p.MixVideoUids), maxMcuVideoUids))
		}
		for i, u := range p.MixVideoUids {
			id, err := relayUserId(f+"MixVideoUids."+strconv.Itoa(i), &u)
			if err != nil {
				return err
			}
			v.Subscribe = append(v.Subscribe, id)
		}
	}
	switch template {
	case mcuTemplatePiP:
		if err := mcuPiP(p.SmallVideoLayoutParams, v); err != nil {
			return err
		}
	case mcuTemplateCustom:
		if err := mcuPreset(p, spec); err != nil {
			return err
		}
	}
	if wm := p.WaterMarkParams; wm != nil {
		if err := mcuWatermark(wm, v); err != nil {
			return err
		}
	}
	return nil
}

// mcuBox reads a window's geometry (0 when absent; req: every field required, as a
// watermark's, named WaterMark*) and refuses one that leaves the canvas, with code.
func mcuBox(code, field string, v *models.RelayVideo, width, height, x, y *uint64, req bool) (models.MixSlot, error) {
	var s models.MixSlot
	var err error
	w, h := "ImageWidth", "ImageHeight"
	if req {
		w, h = "WaterMarkWidth", "WaterMarkHeight"
	}
	for _, b := range []struct {
		name string
		in   *uint64
		out  *int
	}{{w, width, &s.Width}, {h, height, &s.Height}, {"LocationX", x, &s.Left}, {"LocationY", y, &s.Top}} {
		if req {
			*b.out, err = reqInt(field+"."+b.name, b.in, 0, 1920)
		} else {
			*b.out, err = mcuInt(code, field+"."+b.name, b.in, 0, 1920, 0)
		}
		if err != nil {
			return s, err
		}
	}
	if s.Left+s.Width > v.Width || s.Top+s.Height > v.Height {
		return s, tcerr.New(code, "%s: the window %dx%d at (%d,%d) leaves the %dx%d canvas.", field, s.Width, s.Height, s.Left, s.Top, v.Width, v.Height)
	}
	return s, nil
}

// mcuPiP lays picture-in-picture out as a custom layout: the main window over the whole
// canvas and, with SmallVideoLayoutParams, the small one above it.
func mcuPiP(small *wire.SmallVideoLayoutParams, v *models.RelayVideo) error {
	const f = "LayoutParams.SmallVideoLayoutParams"
	l := &v.Layout
	l.Slots = []models.MixSlot{{Width: v.Width, Height: v.Height, UserId: l.MainUserId, MediaId: l.MainMediaId, RenderMode: l.RenderMode}}
	if small == nil {
		return nil
	}
	if small.UserId == nil || *small.UserId == "" {
		return tcerr.New(codeMcuSmall, "%s.UserId is required: the small window's user.", f)
	}
	user, err := mcuUserId(codeMcuSmall, f+".UserId", small.UserId)
	if err != nil {
		return err
	}
	if small.StreamType == nil {
		return tcerr.New(codeMcuSmall, "%s.StreamType is required: 0 camera, 1 screen sharing.", f)
	}
	media, err := mcuInt(codeMcuSmallStream, f+".StreamType", small.StreamType, 0, 1, 0)
	if err != nil {
		return err
	}
	if user == l.MainUserId && media == l.MainMediaId {
		return tcerr.New(codeMcuSmall, "%s names the main window's stream (%s, StreamType %d).", f, user, media)
	}
	s, err := mcuBox(codeMcuSmall, f, v, small.ImageWidth, small.ImageHeight, small.LocationX, small.LocationY, false)
	if err != nil {
		return err
	}
	s.UserId, s.MediaId, s.RenderMode, s.ImageLayer = user, media, l.RenderMode, 1
	l.Slots = append(l.Slots, s)
	return nil
}

// mcuPreset reads PresetLayoutConfig, the custom template's windows, and the audio lists
// they imply.
func mcuPreset(p *wire.LayoutParams, spec *models.RelaySpec) error {
	const f = "LayoutParams.PresetLayoutConfig"
	v := spec.Video
	l := &v.Layout
	if len(p.PresetLayoutConfig) == 0 {
		return tcerr.New(codeMcuNoPreset, "%s is required with Template 4 (custom): at least one window.", f)
	}
	if len(p.PresetLayoutConfig) > maxMcuWindows {
		return tcerr.New(codeMcuPreset, "%s has %d windows: at most %d are allowed.", f, len(p.PresetLayoutConfig), maxMcuWindows)
	}
	placeholder, err := optInt("LayoutParams.PlaceHolderMode", p.PlaceHolderMode, 0, 1, 0)
	if err != nil {
		return err
	}
	l.PlaceHolderMode = placeholder == 1
	var named, videoOnly []string
	allNamed := true
	for i, w := range p.PresetLayoutConfig {
		fi := f + "." + strconv.Itoa(i)
		s, err := mcuBox(codeMcuPreset, fi, v, w.ImageWidth, w.ImageHeight, w.LocationX, w.LocationY, false)
		if err != nil {
			return err
		}
		if s.UserId, err = mcuUserId(codeMcuPreset, fi+".UserId", w.UserId); err != nil {
			return err
		}
		if s.MediaId, err = mcuInt(codeMcuPreset, fi+".StreamType", w.StreamType, 0, 1, 0); err != nil {
			return err
		}
		if s.ImageLayer, err = optInt(fi+".ZOrder", w.ZOrder, 0, maxRelayLayer, 0); err != nil {
			return err
		}
		render, err := optInt(fi+".RenderMode", w.RenderMode, 0, 2, 0)
		if err != nil {
			return err
		}
		s.RenderMode = relayRenderModes[render]
		input, err := optInt(fi+".MixInputType", w.MixInputType, 0, 2, 0)
		if err != nil {
			return err
		}
		// PlaceImageId names a console picture: ignored.
		if s.UserId == "" {
			allNamed = false
		} else {
			if !slices.Contains(named, s.UserId) {
				named = append(named, s.UserId)
			}
			if input == 1 && !slices.Contains(videoOnly, s.UserId) {
				videoOnly = append(videoOnly, s.UserId)
			}
		}
		l.Slots = append(l.Slots, s)
	}
	if allNamed {
		spec.Audio.Subscribe = named
	}
	spec.Audio.Unsubscribe = videoOnly
	return nil
}

// mcuWatermark reads WaterMarkParams: drawn when it has a WaterMarkUrl.
func mcuWatermark(p *wire.WaterMarkParams, v *models.RelayVideo) error {
	const f = "LayoutParams.WaterMarkParams"
	box, err := mcuBox(tcerr.CodeInvalidParameter, f, v, p.WaterMarkWidth, p.WaterMarkHeight, p.LocationX, p.LocationY, true)
	if err != nil {
		return err
	}
	if p.WaterMarkId == nil && (p.WaterMarkUrl == nil || *p.WaterMarkUrl == "") {
		return tcerr.New(tcerr.CodeMissingParameter, "%s needs its picture: WaterMarkId or WaterMarkUrl.", f)
	}
	if p.WaterMarkUrl == nil || *p.WaterMarkUrl == "" {
		return nil // a console picture: not drawn
	}
	if len(*p.WaterMarkUrl) > maxMcuImageUrlBytes {
		return tcerr.InvalidParameter(f+".WaterMarkUrl", fmt.Sprintf("it is longer than %d bytes", maxMcuImageUrlBytes))
	}
	url, err := imageUrl(f+".WaterMarkUrl", p.WaterMarkUrl)
	if err != nil {
		return err
	}
	v.Layout.Watermarks = append(v.Layout.Watermarks, models.Watermark{Type: 0, Url: url,
		Top: box.Top, Left: box.Left, Width: box.Width, Height: box.Height})
	return nil
}

// mcuCdn reads PublishCdnParams: nil without it (Tencent CSS, out of the emulator's
// reach), else its one rtmp URL.
func mcuCdn(p *wire.PublishCdnParams) ([]models.RelayCdn, error) {
	const f = "PublishCdnParams."
	if p == nil {
		return nil, nil
	}
	if p.BizId == nil {
		return nil, tcerr.New(codeMcuNoBizId, "The request is missing a required parameter `%sBizId`.", f)
	}
	if *p.BizId == 0 {
		return nil, tcerr.New(codeMcuBizId, "%sBizId 0 is not a CSS BizId.", f)
	}
	switch n := len(p.PublishCdnUrls); {
	case n == 0:
		return nil, tcerr.New(codeMcuNoCdnUrls, "The request is missing a required parameter `%sPublishCdnUrls`.", f)
	case n > 1:
		return nil, tcerr.New(codeMcuCdnUrls, "%sPublishCdnUrls has %d URLs: one third-party CDN at a time.", f, n)
	}
	u, err := relayCdnURL(f+"PublishCdnUrls.0", p.PublishCdnUrls[0])
	if err != nil {
		return nil, mcuCode(err, codeMcuCdnUrls)
	}
	return []models.RelayCdn{{Url: u, IsTencentCdn: 0}}, nil
}
