package models

import (
	"regexp"
	"strings"
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
