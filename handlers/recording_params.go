package handlers

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// The validation of the recording actions' parameters: the generated wire structs become
// models' RecordingSpec and Subscription here, so that models never sees wire.

// Recording limits of the contract.
const (
	maxSubscribeEntries = 32
	maxUserIdBytes      = 32
)

var prefixSegment = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func outOfRange(field string, v uint64, lo, hi int) error {
	return tcerr.New("InvalidParameter.OutOfRange", "%s is %d: it must be %d to %d.", field, v, lo, hi)
}

// optInt reads an optional number in [lo, hi], def when absent.
func optInt(field string, v *uint64, lo, hi, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < uint64(lo) || *v > uint64(hi) {
		return 0, outOfRange(field, *v, lo, hi)
	}
	return int(*v), nil
}

// recordingSpec checks a CreateCloudRecording request against the contract's rules and
// returns its spec for models. The schema (required fields, JSON types) was checked before.
func recordingSpec(req *wire.CreateCloudRecordingRequest) (*models.RecordingSpec, error) {
	spec := &models.RecordingSpec{SdkAppId: *req.SdkAppId, RobotUserId: *req.UserId}
	var err error
	if spec.RoomIdType, err = optInt("RoomIdType", req.RoomIdType, 0, 1, models.RoomIdInt); err != nil {
		return nil, err
	}
	if spec.RoomId, err = models.ValidateRoomId("RoomId", *req.RoomId, spec.RoomIdType); err != nil {
		return nil, err
	}
	if spec.RobotUserId == "" || len(spec.RobotUserId) > maxUserIdBytes {
		return nil, tcerr.New("InvalidParameter.UserId", "The UserId %q is invalid: it must be 1 to 32 bytes.", spec.RobotUserId)
	}
	if *req.UserSig == "" {
		return nil, tcerr.New("MissingParameter.UserSig", "The robot's UserSig is empty.")
	}
	if spec.ResourceExpiredHour, err = optInt("ResourceExpiredHour", req.ResourceExpiredHour, 6, 720, 72); err != nil {
		return nil, err
	}
	if err := recordParams(spec, req.RecordParams); err != nil {
		return nil, err
	}
	if err := recordingStorage(spec, req.StorageParams); err != nil {
		return nil, err
	}
	if spec.RecordMode == 1 && (req.MixTranscodeParams != nil || req.MixLayoutParams != nil) {
		return nil, tcerr.InvalidParameter("MixLayoutParams", "mixing parameters apply to RecordMode 2 (mixed) only")
	}
	if spec.RecordMode == 2 {
		if spec.Mix, err = mixSpec(req.MixTranscodeParams); err != nil {
			return nil, err
		}
		layout, err := mixLayout(req.MixLayoutParams)
		if err != nil {
			return nil, err
		}
		if err := layout.CheckCanvas(spec.Mix.Width, spec.Mix.Height); err != nil {
			return nil, err
		}
		spec.Mix.Layout = *layout
	}
	return spec, nil
}

func recordParams(spec *models.RecordingSpec, p *wire.RecordParams) error {
	var err error
	if spec.RecordMode, err = optInt("RecordParams.RecordMode", p.RecordMode, 1, 2, 0); err != nil {
		return err
	}
	if spec.MaxIdleTime, err = optInt("RecordParams.MaxIdleTime", p.MaxIdleTime, 5, 86400, 30); err != nil {
		return err
	}
	if spec.StreamType, err = optInt("RecordParams.StreamType", p.StreamType, 0, 2, 0); err != nil {
		return err
	}
	if spec.OutputFormat, err = optInt("RecordParams.OutputFormat", p.OutputFormat, 0, 4, 0); err != nil {
		return err
	}
	avMerge, err := optInt("RecordParams.AvMerge", p.AvMerge, 0, 1, 0)
	if err != nil {
		return err
	}
	spec.AvMerge = avMerge == 1
	if spec.MaxMediaFileMinutes, err = optInt("RecordParams.MaxMediaFileDuration", p.MaxMediaFileDuration, 1, 1440, 1440); err != nil {
		return err
	}
	if spec.MediaId, err = optInt("RecordParams.MediaId", p.MediaId, 0, 2, 0); err != nil {
		return err
	}
	if spec.FillType, err = optInt("RecordParams.FillType", p.FillType, 0, 1, 0); err != nil {
		return err
	}
	if _, err = optInt("RecordParams.SubscribeAbility", p.SubscribeAbility, 0, 1, 0); err != nil {
		return err
	}
	if (spec.OutputFormat == 2 || spec.OutputFormat == 4) && spec.StreamType != 1 {
		return tcerr.InvalidParameter("RecordParams.OutputFormat", "aac output needs StreamType 1 (audio only)")
	}
	spec.Subscribe, err = validateSubscription("RecordParams.SubscribeStreamUserIds", p.SubscribeStreamUserIds)
	return err
}

// validateSubscription checks allow and block lists (RecordParams of Create, or Modify's
// replacement); nil selects everyone.
func validateSubscription(prefix string, s *wire.SubscribeStreamUserIds) (models.Subscription, error) {
	var sub models.Subscription
	if s == nil {
		return sub, nil
	}
	lists := []struct {
		field string
		in    []string
		out   *[]string
	}{
		{"SubscribeAudioUserIds", s.SubscribeAudioUserIds, &sub.AudioAllow},
		{"UnSubscribeAudioUserIds", s.UnSubscribeAudioUserIds, &sub.AudioBlock},
		{"SubscribeVideoUserIds", s.SubscribeVideoUserIds, &sub.VideoAllow},
		{"UnSubscribeVideoUserIds", s.UnSubscribeVideoUserIds, &sub.VideoBlock},
	}
	for _, l := range lists {
		field := prefix + "." + l.field
		if len(l.in) > maxSubscribeEntries {
			return sub, tcerr.InvalidParameter(field, fmt.Sprintf("it has %d entries, at most 32 are allowed", len(l.in)))
		}
		for i, entry := range l.in {
			if err := validateSubscribeEntry(entry); err != nil {
				return sub, tcerr.InvalidParameter(field+"."+strconv.Itoa(i), err.Error())
			}
		}
		*l.out = l.in
	}
	return sub, nil
}

// validateSubscribeEntry accepts a user id or a pattern (seed: `["1.*$"]` selects the
// users whose id starts with 1).
func validateSubscribeEntry(entry string) error {
	if entry == "" || len(entry) > 128 {
		return fmt.Errorf("an entry is a user id or a pattern of 1 to 128 bytes")
	}
	if strings.ContainsAny(entry, `.*+?()[]{}|^$\`) {
		if _, err := regexp.Compile(entry); err != nil {
			return fmt.Errorf("the pattern %q does not compile: %v", entry, err)
		}
	}
	return nil
}

func recordingStorage(spec *models.RecordingSpec, p *wire.StorageParams) error {
	switch {
	case p.CloudStorage != nil && p.CloudVod != nil:
		return tcerr.InvalidParameter("StorageParams", "CloudStorage and CloudVod exclude each other")
	case p.CloudStorage == nil && p.CloudVod == nil:
		return tcerr.New("MissingParameter.CloudStorage", "StorageParams needs CloudStorage or CloudVod.")
	case p.CloudVod != nil:
		spec.Storage.Vod = true
		if v := p.CloudVod.TencentVod; v != nil {
			var err error
			if spec.Storage.VodMediaType, err = optInt("StorageParams.CloudVod.TencentVod.MediaType", v.MediaType, 0, 4, 0); err != nil {
				return err
			}
			if id := v.UserDefineRecordId; id != nil && !prefixSegment.MatchString(*id) {
				return tcerr.InvalidParameter("StorageParams.CloudVod.TencentVod.UserDefineRecordId", "it is 1 to 64 of a-z, A-Z, 0-9, _ and -")
			}
		}
		return nil
	}
	cs := p.CloudStorage
	vendor, err := optInt("StorageParams.CloudStorage.Vendor", cs.Vendor, 0, 1, 0)
	if err != nil {
		return err
	}
	spec.Storage.Vendor = vendor
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
	}{
		{"Region", cs.Region, &spec.Storage.Region}, {"Bucket", cs.Bucket, &spec.Storage.Bucket},
		{"AccessKey", cs.AccessKey, &spec.Storage.AccessKey}, {"SecretKey", cs.SecretKey, &spec.Storage.SecretKey},
	} {
		if f.v == nil || *f.v == "" {
			return tcerr.New("MissingParameter."+f.name, "StorageParams.CloudStorage.%s is missing.", f.name)
		}
		*f.dst = *f.v
	}
	if err := checkRegion(spec.Storage.Region); err != nil {
		return err
	}
	if err := checkBucket(vendor, spec.Storage.Bucket); err != nil {
		return err
	}
	for i, seg := range cs.FileNamePrefix {
		if !prefixSegment.MatchString(seg) {
			return tcerr.InvalidParameter("StorageParams.CloudStorage.FileNamePrefix."+strconv.Itoa(i), "a segment is 1 to 64 of a-z, A-Z, 0-9, _ and -")
		}
	}
	spec.Storage.FileNamePrefix = cs.FileNamePrefix
	return nil
}

// Storage names (COS: "Bucket naming conventions"; S3: "General purpose bucket naming rules").
var (
	// cosBucket is "<BucketName>-<APPID>": a name of 1 to 50 of a-z, 0-9 and "-", not
	// starting or ending with "-", and the account's numeric APPID.
	cosBucket = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}$`)
	// s3Bucket is S3's general purpose bucket name: 3 to 63 of a-z, 0-9, "." and "-",
	// starting and ending with a letter or digit (adjacent dots and IP addresses: checkBucket).
	s3Bucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// region is a cloud region as both vendors spell them: ap-guangzhou, us-east-1, cn-shanghai-1.
	region = regexp.MustCompile(`^[a-z]{2,12}(?:-[a-z0-9]{1,16}){1,4}$`)
)

func checkRegion(r string) error {
	if len(r) > 32 || !region.MatchString(r) {
		return tcerr.New("InvalidParameter.Region", "StorageParams.CloudStorage.Region %q is not a region name such as ap-guangzhou or us-east-1.", r)
	}
	return nil
}

// checkBucket applies the vendor's bucket naming rules: a bucket that can never exist is
// refused at create time rather than retried for ever.
func checkBucket(vendor int, b string) error {
	bad := func(rule string) error {
		return tcerr.New("InvalidParameter.Bucket", "StorageParams.CloudStorage.Bucket %q is invalid: %s.", b, rule)
	}
	if vendor == 0 {
		if !cosBucket.MatchString(b) {
			return bad("a COS bucket is <BucketName>-<APPID>, the name 1 to 50 of a-z, 0-9 and - (not at either end), e.g. records-1250000000")
		}
		return nil
	}
	if ip, err := netip.ParseAddr(b); !s3Bucket.MatchString(b) || strings.Contains(b, "..") || strings.Contains(b, ".-") ||
		strings.Contains(b, "-.") || (err == nil && ip.Is4()) {
		return bad("an S3 bucket name is 3 to 63 of a-z, 0-9, . and -, starting and ending with a letter or digit, without \"..\" and not an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return bad("an S3 bucket name must not start with " + p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, sfx) {
			return bad("an S3 bucket name must not end with " + sfx)
		}
	}
	return nil
}

// validateMixTranscode: once VideoParams or AudioParams is given, all its fields are
// required (contract: no defaults inside them).
// mixSpec reads MixTranscodeParams: each of VideoParams and AudioParams, when given, with
// all its fields (the contract), else the defaults (360x640 at 15 fps, 550 kbps, a
// keyframe every 10 s; 48 kHz stereo at 64 kbps). The canvas is rounded down to even
// pixels, 16 at least (4:2:0 macroblocks).
func mixSpec(p *wire.MixTranscodeParams) (*models.MixSpec, error) {
	m := &models.MixSpec{Width: 360, Height: 640, Fps: 15, BitRate: 550000, Gop: 10, SampleRate: 48000, Channels: 2, AudioBitRate: 64000}
	if p == nil {
		return m, nil
	}
	if v := p.VideoParams; v != nil {
		for _, f := range []struct {
			name string
			v    *uint64
		}{{"Width", v.Width}, {"Height", v.Height}, {"Fps", v.Fps}, {"BitRate", v.BitRate}, {"Gop", v.Gop}} {
			if f.v == nil {
				return nil, tcerr.New(tcerr.CodeMissingParameter, "MixTranscodeParams.VideoParams.%s is required when VideoParams is given.", f.name)
			}
		}
		var err error
		if m.Width, err = optInt("MixTranscodeParams.VideoParams.Width", v.Width, 1, 1920, 0); err != nil {
			return nil, err
		}
		if m.Height, err = optInt("MixTranscodeParams.VideoParams.Height", v.Height, 1, 1920, 0); err != nil {
			return nil, err
		}
		if m.Width*m.Height > 1920*1080 {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "MixTranscodeParams.VideoParams is %dx%d: at most 1920x1080 pixels.", m.Width, m.Height)
		}
		m.Width, m.Height = max(m.Width&^1, 16), max(m.Height&^1, 16)
		if m.Fps, err = optInt("MixTranscodeParams.VideoParams.Fps", v.Fps, 1, 60, 0); err != nil {
			return nil, err
		}
		if m.BitRate, err = optInt("MixTranscodeParams.VideoParams.BitRate", v.BitRate, 64000, 8192000, 0); err != nil {
			return nil, err
		}
		if m.Gop, err = optInt("MixTranscodeParams.VideoParams.Gop", v.Gop, 1, 60, 0); err != nil {
			return nil, err
		}
	}
	if a := p.AudioParams; a != nil {
		for _, f := range []struct {
			name string
			v    *uint64
		}{{"SampleRate", a.SampleRate}, {"Channel", a.Channel}, {"BitRate", a.BitRate}} {
			if f.v == nil {
				return nil, tcerr.New(tcerr.CodeMissingParameter, "MixTranscodeParams.AudioParams.%s is required when AudioParams is given.", f.name)
			}
		}
		rate, err := optInt("MixTranscodeParams.AudioParams.SampleRate", a.SampleRate, 1, 3, 0)
		if err != nil {
			return nil, err
		}
		m.SampleRate = [...]int{0, 48000, 44100, 16000}[rate]
		if m.Channels, err = optInt("MixTranscodeParams.AudioParams.Channel", a.Channel, 1, 2, 0); err != nil {
			return nil, err
		}
		if m.AudioBitRate, err = optInt("MixTranscodeParams.AudioParams.BitRate", a.BitRate, 32000, 128000, 0); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// imageUrl checks an image URL of the layout: http(s), with the contract's characters and a
// .jpg, .jpeg or .png name.
func imageUrl(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", nil
	}
	u := *v
	if len(u) > 2048 || !imageUrlChars.MatchString(u) {
		return "", tcerr.InvalidParameter(field, "an http or https URL of the contract's characters")
	}
	name := strings.ToLower(u)
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	if !strings.HasSuffix(name, ".png") && !strings.HasSuffix(name, ".jpg") && !strings.HasSuffix(name, ".jpeg") {
		return "", tcerr.InvalidParameter(field, "the URL must name a .jpg, .jpeg or .png file")
	}
	return u, nil
}

var imageUrlChars = regexp.MustCompile(`^https?://[A-Za-z0-9\-._~:/?#\[\]@!&()*+,%=]+$`)

func optColor(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", nil
	}
	if !hexColor.MatchString(*v) {
		return "", tcerr.InvalidParameter(field, "it is #RRGGBB")
	}
	return *v, nil
}

func reqInt(field string, v *uint64, lo, hi int) (int, error) {
	if v == nil {
		return 0, tcerr.New(tcerr.CodeMissingParameter, "%s is required.", field)
	}
	return optInt(field, v, lo, hi, 0)
}

// mixLayout reads MixLayoutParams (nil: the grid's defaults). The canvas bounds are checked
// by models (MixLayout.CheckCanvas) against the task's canvas.
func mixLayout(p *wire.MixLayoutParams) (*models.MixLayout, error) {
	l := &models.MixLayout{Mode: 3, RenderMode: 1, BackgroundImageRenderMode: 1}
	if p == nil {
		return l, nil
	}
	var err error
	if l.Mode, err = optInt("MixLayoutParams.MixLayoutMode", p.MixLayoutMode, 1, 4, 3); err != nil {
		return nil, err
	}
	if len(p.MixLayoutList) > 25 {
		return nil, tcerr.InvalidParameter("MixLayoutParams.MixLayoutList", "at most 25 windows")
	}
	if l.Mode == 4 && len(p.MixLayoutList) == 0 {
		return nil, tcerr.InvalidParameter("MixLayoutParams.MixLayoutList", "custom layout (mode 4) needs its windows")
	}
	for i, w := range p.MixLayoutList {
		field := "MixLayoutParams.MixLayoutList." + strconv.Itoa(i)
		var s models.MixSlot
		if s.Top, err = reqInt(field+".Top", w.Top, 0, 1920); err != nil {
			return nil, err
		}
		if s.Left, err = reqInt(field+".Left", w.Left, 0, 1920); err != nil {
			return nil, err
		}
		if s.Width, err = reqInt(field+".Width", w.Width, 0, 1920); err != nil {
			return nil, err
		}
		if s.Height, err = reqInt(field+".Height", w.Height, 0, 1920); err != nil {
			return nil, err
		}
		if w.UserId != nil {
			if len(*w.UserId) > maxUserIdBytes {
				return nil, tcerr.InvalidParameter(field+".UserId", "at most 32 bytes")
			}
			s.UserId = *w.UserId
		}
		if s.Alpha, err = optInt(field+".Alpha", w.Alpha, 0, 255, 0); err != nil {
			return nil, err
		}
		if s.RenderMode, err = optInt(field+".RenderMode", w.RenderMode, 0, 2, 1); err != nil {
			return nil, err
		}
		if s.MediaId, err = optInt(field+".MediaId", w.MediaId, 0, 1, 0); err != nil {
			return nil, err
		}
		if s.ImageLayer, err = optInt(field+".ImageLayer", w.ImageLayer, 0, 1000, 0); err != nil {
			return nil, err
		}
		if s.SubBackgroundImage, err = imageUrl(field+".SubBackgroundImage", w.SubBackgroundImage); err != nil {
			return nil, err
		}
		l.Slots = append(l.Slots, s)
	}
	if l.BackgroundColor, err = optColor("MixLayoutParams.BackGroundColor", p.BackGroundColor); err != nil {
		return nil, err
	}
	if p.MaxResolutionUserId != nil {
		if len(*p.MaxResolutionUserId) > maxUserIdBytes {
			return nil, tcerr.InvalidParameter("MixLayoutParams.MaxResolutionUserId", "at most 32 bytes")
		}
		l.MainUserId = *p.MaxResolutionUserId
	}
	if l.MainMediaId, err = optInt("MixLayoutParams.MediaId", p.MediaId, 0, 1, 0); err != nil {
		return nil, err
	}
	if l.BackgroundImageUrl, err = imageUrl("MixLayoutParams.BackgroundImageUrl", p.BackgroundImageUrl); err != nil {
		return nil, err
	}
	placeholder, err := optInt("MixLayoutParams.PlaceHolderMode", p.PlaceHolderMode, 0, 1, 0)
	if err != nil {
		return nil, err
	}
	l.PlaceHolderMode = placeholder == 1
	if l.BackgroundImageRenderMode, err = optInt("MixLayoutParams.BackgroundImageRenderMode", p.BackgroundImageRenderMode, 0, 2, 1); err != nil {
		return nil, err
	}
	if l.DefaultSubBackgroundImage, err = imageUrl("MixLayoutParams.DefaultSubBackgroundImage", p.DefaultSubBackgroundImage); err != nil {
		return nil, err
	}
	if l.RenderMode, err = optInt("MixLayoutParams.RenderMode", p.RenderMode, 0, 2, 1); err != nil {
		return nil, err
	}
	align, err := optInt("MixLayoutParams.MaxResolutionUserAlign", p.MaxResolutionUserAlign, 0, 1, 0)
	if err != nil {
		return nil, err
	}
	l.AlignRight = align == 1
	l.PureAudioDisableLayout = p.PureAudioDisableLayout != nil && *p.PureAudioDisableLayout
	if len(p.WaterMarkList) > 25 {
		return nil, tcerr.InvalidParameter("MixLayoutParams.WaterMarkList", "at most 25 watermarks")
	}
	for i, w := range p.WaterMarkList {
		field := "MixLayoutParams.WaterMarkList." + strconv.Itoa(i)
		wm, err := watermark(field, &w)
		if err != nil {
			return nil, err
		}
		l.Watermarks = append(l.Watermarks, wm)
	}
	return l, nil
}

func watermark(field string, w *wire.WaterMark) (models.Watermark, error) {
	var wm models.Watermark
	var err error
	if wm.Type, err = optInt(field+".WaterMarkType", w.WaterMarkType, 0, 2, 0); err != nil {
		return wm, err
	}
	if (wm.Type == 0 && w.WaterMarkImage == nil) || (wm.Type == 1 && w.WaterMarkChar == nil) || (wm.Type == 2 && w.WaterMarkTimestamp == nil) {
		return wm, tcerr.New(tcerr.CodeMissingParameter, "%s: WaterMarkType %d needs its matching WaterMarkImage, WaterMarkChar or WaterMarkTimestamp.", field, wm.Type)
	}
	box := func(f string, top, left, width, height *uint64, hi int) error {
		for _, v := range []struct {
			name string
			dst  *int
			v    *uint64
		}{{"Top", &wm.Top, top}, {"Left", &wm.Left, left}, {"Width", &wm.Width, width}, {"Height", &wm.Height, height}} {
			if *v.dst, err = reqInt(f+"."+v.name, v.v, 0, hi); err != nil {
				return err
			}
		}
		return nil
	}
	switch wm.Type {
	case 0:
		img := w.WaterMarkImage
		f := field + ".WaterMarkImage"
		if img.WaterMarkUrl == nil || *img.WaterMarkUrl == "" {
			return wm, tcerr.New(tcerr.CodeMissingParameter, "%s.WaterMarkUrl is required.", f)
		}
		if wm.Url, err = imageUrl(f+".WaterMarkUrl", img.WaterMarkUrl); err != nil {
			return wm, err
		}
		err = box(f, img.Top, img.Left, img.Width, img.Height, 2560)
	case 1:
		c := w.WaterMarkChar
		f := field + ".WaterMarkChar"
		if err = box(f, c.Top, c.Left, c.Width, c.Height, 2560); err != nil {
			return wm, err
		}
		if c.Chars == nil || *c.Chars == "" {
			return wm, tcerr.New(tcerr.CodeMissingParameter, "%s.Chars is required.", f)
		}
		if len(*c.Chars) > 256 {
			return wm, tcerr.InvalidParameter(f+".Chars", "at most 256 bytes")
		}
		wm.Chars = *c.Chars
		if wm.FontSize, err = optInt(f+".FontSize", c.FontSize, 1, 200, 14); err != nil {
			return wm, err
		}
		if wm.FontColor, err = optColor(f+".FontColor", c.FontColor); err != nil {
			return wm, err
		}
		wm.BackgroundColor, err = optColor(f+".BackGroundColor", c.BackGroundColor)
	case 2:
		ts := w.WaterMarkTimestamp
		if wm.Pos, err = reqInt(field+".WaterMarkTimestamp.Pos", ts.Pos, 0, 6); err != nil {
			return wm, err
		}
		// The schema's number is unsigned: zones east of UTC only (0 to 14), UTC+8 when
		// absent.
		if wm.TimeZone, err = optInt(field+".WaterMarkTimestamp.TimeZone", ts.TimeZone, 0, 14, 8); err != nil {
			return wm, err
		}
	}
	return wm, err
}
