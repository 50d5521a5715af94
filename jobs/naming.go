package jobs

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
)

// encodeName is the seed's encoding of user ids and string room ids in file names: base64
// with "/" written "-" and "=" written ".".
func encodeName(s string) string {
	return strings.NewReplacer("/", "-", "=", ".").Replace(base64.StdEncoding.EncodeToString([]byte(s)))
}

// taskDir is the object key prefix of a task's files: "<Prefix>/<TaskId>/", the prefix's
// segments joined by "/" and left out when there are none.
func taskDir(spec *models.RecordingSpec, taskId string) string {
	var b strings.Builder
	for _, p := range spec.Storage.FileNamePrefix {
		b.WriteString(p)
		b.WriteByte('/')
	}
	b.WriteString(taskId)
	b.WriteByte('/')
	return b.String()
}

// streamBase is the common start of a single-stream recording's file names:
// "[ha<n>_]<SdkAppId>_<RoomId>__UserId_s_<UserId>__UserId_e_<MediaId>" (seed: "Naming of
// recording files" and "Naming of recovered files").
func streamBase(t *models.RecordingTask, generation int, userId, mediaId string) string {
	room := t.RoomId
	if t.RoomIdType == models.RoomIdString {
		room = encodeName(room)
	}
	ha := ""
	if generation > 0 {
		ha = fmt.Sprintf("ha%d_", generation)
	}
	return fmt.Sprintf("%s%d_%s__UserId_s_%s__UserId_e_%s", ha, t.SdkAppId, room, encodeName(userId), mediaId)
}

// utcStamp is a segment's start as the seed writes it: UTC yyyyMMddHHmmssSSS.
func utcStamp(t time.Time) string {
	return t.UTC().Format("20060102150405.000")[:14] + t.UTC().Format(".000")[1:]
}
