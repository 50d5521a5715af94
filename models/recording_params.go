package models

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// RecordingSpec is a CreateCloudRecording request after validation (handlers), with every
// default filled in (spec/api-contract.md "CreateCloudRecording" and its structs).
type RecordingSpec struct {
	SdkAppId            uint64
	RoomId              string
	RoomIdType          int // RoomIdString or RoomIdInt, as CreateCloudRecording numbers them
	RobotUserId         string
	RecordMode          int // 1 single-stream, 2 mixed
	MaxIdleTime         int // seconds
	StreamType          int // 0 audio+video, 1 audio, 2 video
	OutputFormat        int // 0 hls, 1 hls+mp4, 2 hls+aac, 3 mp4, 4 aac
	AvMerge             bool
	MaxMediaFileMinutes int
	MediaId             int // 0 main+aux, 1 main, 2 aux
	FillType            int
	Subscribe           Subscription
	Storage             StorageTarget
	ResourceExpiredHour int
	Mix                 *MixSpec // RecordMode 2
}

// Subscription holds the allow and block lists; an entry is a user id or a pattern such
// as "1.*$" (seed example: users whose id starts with 1).
type Subscription struct {
	AudioAllow, AudioBlock, VideoAllow, VideoBlock []string
}

// StorageTarget is where files go: CloudStorage (COS or S3) or VOD, never both.
type StorageTarget struct {
	Vod            bool
	Vendor         int // 0 Tencent COS, 1 AWS S3
	Region, Bucket string
	AccessKey      string
	SecretKey      string
	FileNamePrefix []string
	VodMediaType   int
}

// MatchesSubscription reports whether a user id is selected by a list entry: a pattern
// must match from the start of the id, a plain id must equal it.
func MatchesSubscription(entry, userId string) bool {
	if !strings.ContainsAny(entry, `.*+?()[]{}|^$\`) {
		return entry == userId
	}
	re, err := regexp.Compile(`^(?:` + entry + `)`)
	return err == nil && re.MatchString(userId)
}

// MixSpec is a mixed recording's output (MixTranscodeParams, defaults filled) and layout.
type MixSpec struct {
	Width, Height, Fps, BitRate, Gop   int // Gop in seconds
	SampleRate, Channels, AudioBitRate int // SampleRate in Hz
	Layout                             MixLayout
}

// MixLayout is MixLayoutParams, validated.
type MixLayout struct {
	Mode                      int // 1 floating, 2 screen sharing, 3 grid, 4 custom
	Slots                     []MixSlot
	BackgroundColor           string // #RRGGBB; "" black
	MainUserId                string // MaxResolutionUserId
	MainMediaId               int
	BackgroundImageUrl        string
	BackgroundImageRenderMode int
	PlaceHolderMode           bool
	DefaultSubBackgroundImage string
	Watermarks                []Watermark
	RenderMode                int
	AlignRight                bool // MaxResolutionUserAlign 1
	PureAudioDisableLayout    bool
}

// MixSlot is one window of a custom layout (MixLayoutList).
type MixSlot struct {
	Top, Left, Width, Height int
	UserId                   string
	Alpha, RenderMode        int
	MediaId, ImageLayer      int
	SubBackgroundImage       string
	// Crop is the part of the user's picture shown (a relay's McuCustomCrop); nil: all.
	Crop *CropRect `json:",omitempty"`
}

// CropRect is a rectangle of a source picture, in its pixels.
type CropRect struct{ X, Y, W, H int }

// Watermark is one of WaterMarkList: Type 0 image (Url), 1 text (Chars, FontSize,
// FontColor, BackgroundColor), 2 timestamp (Pos, TimeZone); images and text at Top, Left,
// Width, Height.
type Watermark struct {
	Type                     int
	Url                      string
	Top, Left, Width, Height int
	Chars                    string
	FontSize                 int
	FontColor                string
	BackgroundColor          string
	Pos, TimeZone            int
}

// CheckCanvas refuses windows and watermarks that leave a width x height canvas.
func (l *MixLayout) CheckCanvas(width, height int) error {
	for i, s := range l.Slots {
		if s.Left+s.Width > width || s.Top+s.Height > height {
			return tcerr.InvalidParameter(fmt.Sprintf("MixLayoutParams.MixLayoutList.%d", i),
				fmt.Sprintf("the window %dx%d at (%d,%d) leaves the %dx%d canvas", s.Width, s.Height, s.Left, s.Top, width, height))
		}
	}
	for i, w := range l.Watermarks {
		if w.Type != 2 && (w.Left+w.Width > width || w.Top+w.Height > height) {
			return tcerr.InvalidParameter(fmt.Sprintf("MixLayoutParams.WaterMarkList.%d", i),
				fmt.Sprintf("the watermark %dx%d at (%d,%d) leaves the %dx%d canvas", w.Width, w.Height, w.Left, w.Top, width, height))
		}
	}
	return nil
}
