package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// TestRecordingUserIdsWithSlash: anchors "a/b" and "???" (whose base64, "Pz8/", holds a
// "/") publish in a recorded room. The emulator keeps serving; both are recorded into
// files named by the seed's rule (base64, "/" written "-", "=" written "."), which ffprobe
// plays; the callbacks carry the ids as they are, 305 with Status and LeaveCode alike,
// 307's BeginTimeStamp as a JSON number.
func TestRecordingUserIdsWithSlash(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rcv := startReceiver(t, "slashKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=slashKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"})
	users := []string{"a/b", "???"}
	for _, u := range users {
		enterAnchor(t, p.addr, "4242", u, 160, 96)
	}
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("4242", "rec_slash", robotSig(t, "rec_slash"), storage, map[string]any{"RecordMode": 1, "OutputFormat": 1, "AvMerge": 1}))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	waitFor(t, "a 307 per user", 20*time.Second, func() bool { return len(rcv.of(taskId, 307)) == 2 })
	// Two segments of each user's merged stream are uploaded (over 3 s recorded), and the
	// emulator keeps answering.
	client := s3Client("http://" + p.addr + "/storage")
	waitFor(t, "two segments per user in the bucket", 30*time.Second, func() bool {
		if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
			t.Fatalf("the emulator stopped answering: %v\n%s", err, p.stderr)
		}
		segments := map[string]int{}
		for _, k := range listKeys(t, client, recordingBucket, taskId+"/") {
			for _, u := range users {
				if strings.Contains(k, "_UserId_s_"+encodeForTest(u)+"_") && strings.HasSuffix(k, ".ts") {
					segments[u]++
				}
			}
		}
		return segments[users[0]] >= 2 && segments[users[1]] >= 2
	})
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "305 and two 310", 30*time.Second, func() bool {
		return len(rcv.of(taskId, 305)) == 1 && len(rcv.of(taskId, 310)) == 2
	})
	if strings.Contains(p.stderr.String(), "panic") {
		t.Fatalf("the recorder panicked:\n%s", p.stderr)
	}
	up := rcv.of(taskId, 305)[0].EventInfo.Payload
	if up["Status"] != 0.0 || up["LeaveCode"] != 0.0 {
		t.Fatalf("305 payload %v: Status and LeaveCode 0", up)
	}
	for _, e := range rcv.of(taskId, 307) {
		if _, ok := e.EventInfo.Payload["BeginTimeStamp"].(float64); !ok {
			t.Fatalf("307 BeginTimeStamp is %T, want a JSON number: %v", e.EventInfo.Payload["BeginTimeStamp"], e.EventInfo.Payload)
		}
	}
	byUser := map[string]bool{}
	for _, e := range rcv.of(taskId, 310) {
		msg := e.EventInfo.Payload["FileMessage"].([]any)[0].(map[string]any)
		byUser[msg["UserId"].(string)] = true
	}
	if !byUser["a/b"] || !byUser["???"] {
		t.Fatalf("310 users %v", byUser)
	}

	dir := t.TempDir()
	keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
	for _, u := range users {
		enc := encodeForTest(u)
		if strings.ContainsAny(enc, "/=") {
			t.Fatalf("encoded %q is %q", u, enc)
		}
		base := fmt.Sprintf("1400000001_4242__UserId_s_%s__UserId_e_main", enc)
		for _, name := range []string{base + "_audio_video.m3u8", base + "_1.mp4"} {
			if !containsKey(keys, taskId+"/"+name) {
				t.Fatalf("no %s in %v", name, keys)
			}
			r := testpeer.ProbeFile(t, filepath.Join(dir, name))
			if codecs := r.Codecs(); !codecs["h264"] || !codecs["aac"] || r.Seconds() < 3 {
				t.Fatalf("%s: %+v", name, r)
			}
		}
	}
	if want := "1400000001_4242__UserId_s_Pz8-__UserId_e_main_1.mp4"; !containsKey(keys, taskId+"/"+want) {
		t.Fatalf("no %s (base64 of ??? is Pz8/) in %v", want, keys)
	}
	for _, k := range keys {
		if strings.Count(k, "/") != 1 || path.Dir(k) != taskId {
			t.Fatalf("key %q leaves the task's directory", k)
		}
	}
	p.stop(t)
}

// recordingFiles reads GET /_emulator/v1/recordings/{TaskId}/files.
type recordingFiles struct {
	TaskId, State, Failure string
	UploadStopStatus       *int
	Job                    *struct {
		Kind, State, LeaseOwner, LastError string
		Attempts, Takeovers                int
	}
	Files []struct{ ObjectKey, Kind, State, LastError, Spool string }
}

func listRecordingFiles(t *testing.T, addr, taskId string) recordingFiles {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/_emulator/v1/recordings/" + taskId + "/files")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out recordingFiles
	if resp.StatusCode != 200 {
		t.Fatalf("files of %s: HTTP %d", taskId, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordingStorageRefusedGivesUp: bad storage parameters are refused by
// CreateCloudRecording; a well-formed bucket that does not exist on the S3 server
// (gofakes3 answers NoSuchBucket) is retried for TRTC_EMULATOR_UPLOAD_GIVE_UP only: then
// 302 LeaveCode 3 and 305 Status 1 (LeaveCode 1), the files stay in the spool and the
// control API lists them as kept with the storage's error.
func TestRecordingStorageRefusedGivesUp(t *testing.T) {
	rcv := startReceiver(t, "refusedKey")
	s3srv := startFakeS3(t)
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=refusedKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_S3_ENDPOINT=http://" + s3srv.addr,
		"TRTC_EMULATOR_UPLOAD_GIVE_UP=4s"}
	p := start(t, env)
	enterAnchor(t, p.addr, "5353", "alice", 160, 96)
	record := map[string]any{"RecordMode": 1, "AvMerge": 1}
	for _, bad := range []struct {
		vendor         int
		region, bucket string
		code           string
	}{
		{0, "ap-guangzhou", "../../x", "InvalidParameter.Bucket"},
		{1, "us-east-1", "../../x", "InvalidParameter.Bucket"},
		{1, "us/east", "records", "InvalidParameter.Region"},
		{3, "us-east-1", "records", "InvalidParameter.OutOfRange"},
	} {
		storage := map[string]any{"Vendor": bad.vendor, "Region": bad.region, "Bucket": bad.bucket, "AccessKey": "AKIAFAKE", "SecretKey": "fakeSecret"}
		_, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
			recordingParams("5353", "rec_bad", robotSig(t, "rec_bad"), storage, record))
		if codeOf(err) != bad.code {
			t.Fatalf("storage %+v: %v, want %s", bad, err, bad.code)
		}
	}

	storage := map[string]any{"Vendor": 1, "Region": "us-east-1", "Bucket": "never-created", "AccessKey": "AKIAFAKE", "SecretKey": "fakeSecret"}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
		recordingParams("5353", "rec_refused", robotSig(t, "rec_refused"), storage, record))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	waitFor(t, "305 after the give-up", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	if e := rcv.of(taskId, 308); len(e) != 1 || e[0].EventInfo.Payload["Code"] != "NoSuchBucket" {
		t.Fatalf("308 %+v", e)
	}
	if e := rcv.of(taskId, 302); len(e) != 1 || e[0].EventInfo.Payload["LeaveCode"] != 3.0 {
		t.Fatalf("302 %+v", e)
	}
	if up := rcv.of(taskId, 305)[0].EventInfo.Payload; up["Status"] != 1.0 || up["LeaveCode"] != 1.0 {
		t.Fatalf("305 %v", up)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); codeOf(err) != "ResourceNotFound" {
		t.Fatalf("describe the failed task: %v", err)
	}
	list := listRecordingFiles(t, p.addr, taskId)
	if list.State != "ended" || !strings.Contains(list.Failure, "NoSuchBucket") || list.UploadStopStatus == nil || *list.UploadStopStatus != 1 || len(list.Files) == 0 {
		t.Fatalf("listing %+v", list)
	}
	spool := filepath.Join(dataDirOf(t, p), "spool", taskId)
	for _, f := range list.Files {
		if f.State != "kept" {
			t.Fatalf("file %+v, want kept", f)
		}
		if _, err := os.Stat(filepath.Join(spool, f.Spool)); err != nil {
			t.Fatalf("kept file %s is not in the spool: %v", f.Spool, err)
		}
	}
	if !strings.Contains(list.Files[0].LastError, "NoSuchBucket") {
		t.Fatalf("first file %+v", list.Files[0])
	}
	// A restart keeps them (the spool sweep spares a failed task's files).
	p.stop(t)
	p2 := start(t, env)
	if again := listRecordingFiles(t, p2.addr, taskId); len(again.Files) != len(list.Files) {
		t.Fatalf("after a restart %+v", again)
	}
	for _, f := range list.Files {
		if _, err := os.Stat(filepath.Join(spool, f.Spool)); err != nil {
			t.Fatalf("after a restart kept file %s is gone: %v", f.Spool, err)
		}
	}
	p2.stop(t)
}
