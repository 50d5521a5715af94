package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// BenchmarkRTMPSegmentLatency: ffmpeg pushes 20 s of 320x240 H.264 (a keyframe a second)
// over RTMP in real time (-re) into a room recorded with 2 s HLS segments; the test polls
// the video playlist on the embedded store every 20 ms. A segment's latency is the time it
// first appears in the stored playlist minus the end of its media (the UTC start in its
// name plus its EXTINF), that is, how long after its last picture was pushed it can be
// played from the bucket: segmenting, the recorder's pass, the upload of the segment and
// of the playlist. Real time; use -benchtime=1x.
//
//	go test -run '^$' -bench BenchmarkRTMPSegmentLatency -benchtime=1x ./cmd/trtc-emulator
func BenchmarkRTMPSegmentLatency(b *testing.B) {
	if testing.Short() {
		b.Skip("runs in real time")
	}
	ffmpeg := testpeer.FFmpeg(b)
	src := filepath.Join(b.TempDir(), "src.flv")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "20",
		"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15", "-pix_fmt", "yuv420p", src).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	for range b.N {
		p := start(b, []string{"TRTC_EMULATOR_DATA_DIR=" + b.TempDir(), "TRTC_EMULATOR_RECORDING_SEGMENT=2s"})
		var info struct{ Endpoints map[string]string }
		control(b, "GET", "http://"+p.addr+"/_emulator/v1/info", nil, &info)
		const room = "latency_room"
		storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
		params := recordingParams(room, "rec_lat", robotSig(b, "rec_lat"), storage, map[string]any{"RecordMode": 1, "StreamType": 2, "MaxIdleTime": 300})
		params["RoomIdType"] = 0
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
		if err != nil {
			b.Fatal(err)
		}
		taskId := resp["TaskId"].(string)
		sig, _ := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: "obs", Expire: time.Hour, Now: time.Now()})
		push := exec.Command(ffmpeg, "-v", "error", "-re", "-i", src, "-c", "copy", "-f", "flv",
			info.Endpoints["Rtmp"]+"/"+room+"?sdkappid="+strconv.Itoa(defaultSdkAppId)+"&userid=obs&usersig="+sig)
		pushStart := time.Now()
		if err := push.Start(); err != nil {
			b.Fatal(err)
		}
		pushed := make(chan error, 1)
		go func() { pushed <- push.Wait() }()
		client := s3Client("http://" + p.addr + "/storage")
		key := fmt.Sprintf("%s/1400000001_%s__UserId_s_%s__UserId_e_main_video.m3u8", taskId, encodeForTest(room), encodeForTest("obs"))
		seen := map[string]time.Time{}
		ends := map[string]time.Time{}
		tick := time.NewTicker(20 * time.Millisecond)
	poll:
		for {
			select {
			case err := <-pushed:
				if err != nil {
					b.Fatalf("ffmpeg push: %v", err)
				}
				break poll
			case now := <-tick.C:
				obj, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(recordingBucket), Key: aws.String(key)})
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(obj.Body)
				obj.Body.Close()
				for name, end := range segmentEnds(b, string(body)) {
					if _, ok := seen[name]; !ok {
						seen[name], ends[name] = now, end
					}
				}
			}
		}
		tick.Stop()
		var first time.Time // the first segment's start: media time 0
		for name := range ends {
			st, _ := segmentStart(name)
			if first.IsZero() || st.Before(first) {
				first = st
			}
		}
		var lat, sincePush []float64
		for name, at := range seen {
			lat = append(lat, at.Sub(ends[name]).Seconds()*1000)
			// Against ffmpeg's start: media time m is not sent before pushStart + m (less
			// ffmpeg's initial read burst), so this bounds the latency from above.
			sincePush = append(sincePush, at.Sub(pushStart.Add(ends[name].Sub(first))).Seconds()*1000)
		}
		slices.Sort(lat)
		slices.Sort(sincePush)
		b.Logf("since ffmpeg's start (ms): %.0f", sincePush)
		b.ReportMetric(sincePush[len(sincePush)/2], "median-ms-vs-push")
		b.ReportMetric(sincePush[len(sincePush)-1], "max-ms-vs-push")
		if len(lat) < 5 {
			b.Fatalf("only %d segments seen in the playlist", len(lat))
		}
		b.Logf("latencies (ms): %.0f", lat)
		b.ReportMetric(lat[len(lat)/2], "median-ms")
		b.ReportMetric(lat[len(lat)-1], "max-ms")
		b.ReportMetric(float64(len(lat)), "segments")
		p.stop(b)
	}
}

// segmentEnds reads an HLS media playlist: each segment's media end, from the UTC start
// in its name (…_yyyyMMddHHmmssSSS.ts) and its EXTINF.
func segmentEnds(tb testing.TB, playlist string) map[string]time.Time {
	out := map[string]time.Time{}
	var dur float64
	sc := bufio.NewScanner(strings.NewReader(playlist))
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			dur, _ = strconv.ParseFloat(strings.TrimSuffix(d, ","), 64)
			continue
		}
		if !strings.HasSuffix(line, ".ts") {
			continue
		}
		start, err := segmentStart(line)
		if err != nil {
			tb.Fatalf("segment name %q: %v", line, err)
		}
		out[line] = start.Add(time.Duration(dur * float64(time.Second)))
	}
	return out
}

// segmentStart is the UTC start a segment's name gives (…_yyyyMMddHHmmssSSS.ts).
func segmentStart(name string) (time.Time, error) {
	i := strings.LastIndex(name, "_")
	if i < 0 || len(name) < i+19 {
		return time.Time{}, fmt.Errorf("no UTC stamp in %q", name)
	}
	return time.Parse("20060102150405.000", name[i+1:i+15]+"."+name[i+15:i+18])
}
