package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// TestRecordingMP4SurvivesSIGKILL: kill -9 mid-recording with MP4 output (OutputFormat 3, MP4
// only; and 1, HLS + MP4) or AAC output (4), restart, stop. The MP4 of the part before the crash is recovered
// from its fragmented spool file and uploaded beside the ha1_ one of the part after: each is
// downloaded with aws-sdk-go-v2 and read by ffprobe, the first covers the recording up to the
// kill within about a second, one 310 per file, 305 Status 0. The AAC file before the crash is
// cut after its last complete ADTS frame.
func TestRecordingMP4SurvivesSIGKILL(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	for _, c := range []struct {
		name     string
		format   int
		ext      string // the file's, and its spool name while written
		spooling string
	}{{"mp4", 3, ".mp4", ".mp4.frag"}, {"hls+mp4", 1, ".mp4", ".mp4.frag"}, {"aac", 4, ".aac", ".aac.part"}} {
		t.Run(c.name, func(t *testing.T) {
			rcv := startReceiver(t, "mp4KillKey")
			env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
				"TRTC_EMULATOR_CALLBACK_KEY=mp4KillKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"}
			p := start(t, env)
			enterAnchor(t, p.addr, "6060", "alice", 320, 180)
			storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
			record := map[string]any{"RecordMode": 1, "OutputFormat": c.format}
			if c.format == 4 {
				record["StreamType"] = 1 // aac: audio only
			}
			resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
				recordingParams("6060", "rec_mp4kill", robotSig(t, "rec_mp4kill"), storage, record))
			if err != nil {
				t.Fatal(err)
			}
			taskId := resp["TaskId"].(string)
			created := time.Now()
			spool := filepath.Join(dataDirOf(t, p), "spool", taskId)
			waitFor(t, "6 s of "+c.name+" in the spool", 30*time.Second, func() bool {
				frags, _ := filepath.Glob(filepath.Join(spool, "*"+c.spooling))
				return len(frags) == 1 && time.Since(created) > 6*time.Second
			})
			p.cmd.Process.Kill()
			killed := time.Now()
			<-p.exited
			p.exited <- nil

			p = start(t, env)
			waitFor(t, "306", 30*time.Second, func() bool { return len(rcv.of(taskId, 306)) == 1 })
			resumed := time.Now()
			waitFor(t, "4 s recorded after the takeover", 10*time.Second, func() bool { return time.Since(resumed) > 4*time.Second })
			if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
				map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
			if st := rcv.of(taskId, 305)[0].EventInfo.Payload["Status"]; st != 0.0 {
				t.Fatalf("305 Status %v", st)
			}

			dir := t.TempDir()
			keys := download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", dir)
			base := "1400000001_6060__UserId_s_" + encodeForTest("alice") + "__UserId_e_main_1" + c.ext
			var mp4s []string
			for _, k := range keys {
				if strings.HasSuffix(k, c.ext) {
					mp4s = append(mp4s, filepath.Base(k))
				}
			}
			if len(mp4s) != 2 || !containsKey(mp4s, base) || !containsKey(mp4s, "ha1_"+base) {
				t.Fatalf("MP4 objects %v, want %s and ha1_%s", mp4s, base, base)
			}
			stops := rcv.of(taskId, 310)
			if len(stops) != len(mp4s) {
				t.Fatalf("%d 310 callbacks for %d MP4 files", len(stops), len(mp4s))
			}
			ends := map[string][2]float64{}
			for _, e := range stops {
				msg := e.EventInfo.Payload["FileMessage"].([]any)[0].(map[string]any)
				ends[msg["FileName"].(string)] = [2]float64{msg["StartTimeStamp"].(float64), msg["EndTimeStamp"].(float64)}
				if want := map[bool]string{true: "audio", false: "audio_video"}[c.format == 4]; e.EventInfo.Payload["Status"] != 0.0 || msg["TrackType"] != want {
					t.Fatalf("310 %v", e.EventInfo.Payload)
				}
			}
			for _, name := range mp4s {
				r := testpeer.ProbeFile(t, filepath.Join(dir, name))
				codecs := r.Codecs()
				span, ok := ends[name]
				if codecs["h264"] != (c.format != 4) || !codecs["aac"] || !ok {
					t.Fatalf("%s: %+v, 310 %v", name, r.Streams, ends)
				}
				if d := (span[1] - span[0]) / 1000; d < r.Seconds()-0.2 || d > r.Seconds()+0.2 {
					t.Fatalf("%s plays %.2f s, its 310 says %.2f s", name, r.Seconds(), d)
				}
				if name == base {
					// Recorded from about the create to the kill; a crash loses the last flush
					// interval (1 s) and the recorder's tick.
					covered, want := r.Seconds(), killed.Sub(created).Seconds()
					t.Logf("%s plays %.2f s of the %.2f s from create to kill", name, covered, want)
					if covered < want-2 || covered > want+0.5 {
						t.Fatalf("%s plays %.2f s of the %.2f s recorded before the kill", name, covered, want)
					}
					if end := time.UnixMilli(int64(span[1])); killed.Sub(end) > 2*time.Second || end.After(killed) {
						t.Fatalf("%s ends at %v, killed at %v", name, end, killed)
					}
				} else if r.Seconds() < 2.5 {
					// Real time: the run taken over starts recording a moment after its 306.
					t.Fatalf("%s plays %.2f s of the 4 s after the takeover", name, r.Seconds())
				}
			}
			if _, err := os.Stat(spool); !os.IsNotExist(err) {
				waitFor(t, "the spool to be cleaned", 10*time.Second, func() bool {
					_, err := os.Stat(spool)
					return os.IsNotExist(err)
				})
			}
			p.stop(t)
		})
	}
}
