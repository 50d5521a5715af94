package main

import (
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

// TestExpiredRecordingsEnd: with -expired-recordings end, a task past its
// ResourceExpiredHour is ended by the hourly sweep on the (virtual) clock: 302 LeaveCode 3
// and 305 come, and the TaskId is no longer described. Before the sweep it still records,
// though the API no longer answers for it (the contract's rule, which "continue" keeps).
func TestExpiredRecordingsEnd(t *testing.T) {
	rcv := startReceiver(t, "expKey")
	vstart := time.Date(2026, 3, 4, 5, 30, 0, 0, time.UTC)
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=expKey", "TRTC_EMULATOR_CLOCK_START=" + vstart.Format(time.RFC3339),
		"TRTC_EMULATOR_EXPIRED_RECORDINGS=end"})
	base := "http://" + p.addr + "/_emulator/v1"
	// An anchor who publishes nothing: the task idles (MaxIdleTime a day) with no media to
	// encode, so that six hours of virtual time pass quickly.
	if status := control(t, "POST", base+"/participants", map[string]any{"RoomId": "88", "UserId": "alice",
		"Publish": map[string]bool{"Audio": false, "Video": false}}, nil); status != 200 {
		t.Fatalf("alice enters: HTTP %d", status)
	}
	sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: "rec_exp", Expire: 24 * time.Hour, Now: vstart})
	if err != nil {
		t.Fatal(err)
	}
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	params := recordingParams("88", "rec_exp", sig, storage, map[string]any{"RecordMode": 1, "StreamType": 1, "MaxIdleTime": 86400})
	params["ResourceExpiredHour"] = 6
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	describe := func() error {
		_, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId})
		return err
	}
	began := time.Now()
	for range 6 * 60 / 30 {
		if err := describe(); err != nil {
			t.Fatalf("at virtual %v: %v", advance(t, p.addr, 0).Sub(vstart), err)
		}
		advance(t, p.addr, 30*time.Minute)
	}
	// 11:30, expired: not described, still recording until the sweep of 12:00.
	if err := describe(); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("described past its ResourceExpiredHour: %v", err)
	}
	advance(t, p.addr, 29*time.Minute)
	if n := len(rcv.of(taskId, 302)); n != 0 {
		t.Fatalf("%d 302s before the hourly sweep", n)
	}
	advance(t, p.addr, time.Minute)
	stops := rcv.of(taskId, 302)
	if len(stops) != 1 || stops[0].EventInfo.Payload["LeaveCode"] != float64(3) {
		t.Fatalf("302s after the sweep of 12:00: %+v, want one LeaveCode 3", stops)
	}
	advanceUntil(t, p.addr, "305", time.Second, time.Minute, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	// The job is finished just after the task's last commit (305): wait for it.
	waitFor(t, "the task ended and its job done", 10*time.Second, func() bool {
		files := listRecordingFiles(t, p.addr, taskId)
		return files.State == "ended" && files.Job != nil && files.Job.State == "done"
	})
	t.Logf("6.5 h of virtual time with an idle task: %v of wall time", time.Since(began).Round(time.Millisecond))
	p.stop(t)
}
