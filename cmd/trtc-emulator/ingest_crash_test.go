package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// TestIngestSurvivesSIGKILL: an ingest task playing a 12 s FLV in real time is killed
// (kill -9) after its first saved position (5 s); after a restart on the same data its job
// is taken over and resumes there, not from the start; the anchor stays one member of the
// room throughout (one 103, one 104 at the end), the task says InProgress, and it ends as
// once: one 701 Status 0, one 702.
func TestIngestSurvivesSIGKILL(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	dir := t.TempDir()
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-f", "lavfi",
		"-i", "sine=frequency=440:sample_rate=48000", "-t", "12", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15",
		"-pix_fmt", "yuv420p", "-c:a", "aac", filepath.Join(dir, "long.flv")).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer files.Close()
	rcv := startReceiver(t, "ingKill")
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url, "TRTC_EMULATOR_CALLBACK_KEY=ingKill"}
	p := start(t, env)
	sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: "puller", Expire: time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartStreamIngest", map[string]any{"SdkAppId": defaultSdkAppId,
		"RoomId": "ing_kill", "RoomIdType": 0, "UserId": "puller", "UserSig": sig, "StreamUrl": files.URL + "/long.flv"})
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	waitFor(t, "701", 15*time.Second, func() bool { return len(rcv.of(taskId, 701)) == 1 })
	// The position is saved after 5 s of media: then kill.
	waitFor(t, "5 s played", 15*time.Second, func() bool {
		return time.Since(time.UnixMilli(rcv.of(taskId, 701)[0].EventInfo.EventMsTs)) > 6*time.Second
	})
	p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil

	p = start(t, env)
	// Before the takeover the anchor is still in the room, and the task in progress.
	if got := ingestRoom(t, p.addr, "ing_kill", "puller"); !strings.HasPrefix(got, "ingest true true") {
		t.Fatalf("the anchor after the restart: %q", got)
	}
	if resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeStreamIngest",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil || resp["Status"] != "InProgress" {
		t.Fatalf("Describe after the restart: %v %v", resp, err)
	}
	waitFor(t, "702", 40*time.Second, func() bool { return len(rcv.of(taskId, 702)) == 1 })
	resumed := regexp.MustCompile(`ingest task resumed.* position=([0-9.]+)s`).FindStringSubmatch(p.stderr.String())
	if resumed == nil {
		t.Fatalf("no resume logged:\n%s", p.stderr.String())
	}
	if pos, _ := time.ParseDuration(resumed[1] + "s"); pos < 5*time.Second || pos > 8*time.Second {
		t.Fatalf("resumed at %v, want the position saved before the kill (5 s or a little more)", pos)
	}
	if n701, n702 := len(rcv.of(taskId, 701)), len(rcv.of(taskId, 702)); n701 != 1 || n702 != 1 {
		t.Fatalf("%d 701s and %d 702s across the crash, want one each", n701, n702)
	}
	entries, exits := 0, 0
	for _, e := range callbackLog(t, p.addr) {
		var body struct {
			EventType int
			EventInfo struct{ UserId string }
		}
		json.Unmarshal(e.Body, &body)
		if body.EventInfo.UserId == "puller" {
			switch body.EventType {
			case 103:
				entries++
			case 104:
				exits++
			}
		}
	}
	if entries != 1 || exits != 1 {
		t.Fatalf("the anchor entered %d and left %d times across the crash, want once each", entries, exits)
	}
	if ingestRoom(t, p.addr, "ing_kill", "puller") != "" {
		t.Fatal("the anchor is still in the room after 702")
	}
	p.stop(t)
}
