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
//
// On a virtual clock: media time passes only when the test advances it, so "up to the kill"
// is the virtual seconds advanced between the create and the kill, and the part after is
// the virtual seconds advanced after the takeover. The clock does not persist across a
// restart: the second start sets it a minute after the kill (TRTC_EMULATOR_CLOCK_START), as
// a real clock would have gone on, past the dead recorder's lease.
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
				"TRTC_EMULATOR_CALLBACK_KEY=mp4KillKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s", "TRTC_EMULATOR_CLOCK=virtual"}
			p := start(t, env)
			enterAnchor(t, p.addr, "6060", "alice", 320, 180)
			storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
			record := map[string]any{"RecordMode": 1, "OutputFormat": c.format}
			if c.format == 4 {
				record["StreamType"] = 1 // aac: audio only
			}
			created := advance(t, p.addr, 0) // the virtual time, which stands still until advanced
			resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
				recordingParams("6060", "rec_mp4kill", robotSig(t, "rec_mp4kill"), storage, record))
			if err != nil {
				t.Fatal(err)
			}
			taskId := resp["TaskId"].(string)
			// 6 virtual seconds recorded: each advance returns once the recorder's passes due
			// by then are made, so the file being written is in the spool.
			killed := advanceSeconds(t, p.addr, 6)
			spool := filepath.Join(dataDirOf(t, p), "spool", taskId)
			if frags, _ := filepath.Glob(filepath.Join(spool, "*"+c.spooling)); len(frags) != 1 {
				t.Fatalf("after 6 virtual seconds: %v in the spool, want one %s", frags, c.spooling)
			}
			p.cmd.Process.Kill()
			<-p.exited
			p.exited <- nil

			resumed := killed.Add(time.Minute)
			p = start(t, append(env, "TRTC_EMULATOR_CLOCK_START="+resumed.UTC().Format(time.RFC3339Nano)))
			// The new recorder claims the job whose lease ran out when it starts: 306 with
			// the clock still at resumed.
			waitFor(t, "306", 30*time.Second, func() bool { return len(rcv.of(taskId, 306)) == 1 })
			deleted := advanceSeconds(t, p.addr, 4) // 4 s recorded after the takeover
			if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
				map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
				t.Fatal(err)
			}
			// The recorder's next tick stops the task, its files ending at the delete.
			advanceSeconds(t, p.addr, 1)
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
				// The 310's timestamps are whole milliseconds of virtual time. The last unit
				// written starts at or before the clock's time and may end after it by up to
				// its length (an AAC frame, 21 ms; a video frame at 15 fps, 67 ms).
				start, end := time.UnixMilli(int64(span[0])), time.UnixMilli(int64(span[1]))
				const lastUnit = 100 * time.Millisecond
				if name == base {
					// Recorded from the create to the kill, in virtual time; a crash may lose
					// the last flush interval (1 s of media) and the recorder's tick. (Killed
					// right after whole virtual seconds, as here, it loses next to nothing.)
					covered, want := r.Seconds(), killed.Sub(created).Seconds()
					t.Logf("%s plays %.2f s of the %.2f virtual s from create to kill (%v to %v after the create)",
						name, covered, want, start.Sub(created).Round(time.Millisecond), end.Sub(created).Round(time.Millisecond))
					if covered < want-2 || covered > want+0.5 {
						t.Fatalf("%s plays %.2f s of the %.2f s recorded before the kill", name, covered, want)
					}
					if start.Before(created.Truncate(time.Millisecond)) || end.After(killed.Add(lastUnit)) || killed.Sub(end) > 2*time.Second {
						t.Fatalf("%s spans %v to %v, created at %v, killed at %v (virtual)", name, start, end, created, killed)
					}
				} else {
					// The run taken over records from the restart's clock (the takeover's first
					// pass) to the delete.
					covered, want := r.Seconds(), deleted.Sub(resumed).Seconds()
					t.Logf("%s plays %.2f s of the %.2f virtual s from takeover to delete (%v to %v after the takeover)",
						name, covered, want, start.Sub(resumed).Round(time.Millisecond), end.Sub(resumed).Round(time.Millisecond))
					if covered < want-1 || covered > want+0.5 {
						t.Fatalf("%s plays %.2f s of the %.2f s recorded after the takeover", name, covered, want)
					}
					if start.Before(resumed.Truncate(time.Millisecond)) || end.After(deleted.Add(lastUnit)) {
						t.Fatalf("%s spans %v to %v, taken over at %v, deleted at %v (virtual)", name, start, end, resumed, deleted)
					}
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
