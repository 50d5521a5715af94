package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The recording CPU benchmark: N rooms, one anchor each (audio + video 640x360@15), one
// single-stream recording task per room, HLS segments of 2 s, everything uploaded to the
// embedded store on the emulator's own listener. It measures the emulator process's CPU time
// (utime + stime from /proc/<pid>/stat) over a fixed wall window, so it is Linux only and
// runs in real time: use -benchtime=1x (each b.N iteration is one more window).
//
//	go test -run '^$' -bench BenchmarkRecordingCPU -benchtime=1x ./cmd/trtc-emulator
//
// Metrics: cpu-%/recording (CPU seconds / wall seconds / N × 100; 100 = one core busy),
// recordings-realtime-2cpu (200 / cpu-%/recording: how many such recordings two cores could
// keep up with, were the cost linear), idle-cpu-% (the process with its N anchors and no
// task, before the tasks start), max-lag-s (the largest gap between a task's age and the
// media its playlist on the store lists), describe-max-ms (the slowest DescribeCloudRecording
// after the window: the API's latency under the recorders' load), behind (streams whose
// playlist lists fewer than age/2 s − 2 segments, that is, recordings that do not keep up in
// real time; logged, not a failure) and stderr-warnings (WARN/ERROR lines the emulator
// logged before it was told to stop). The clock tick of /proc is `getconf CLK_TCK`, or 100.

const (
	benchSegment  = 2 * time.Second
	benchWarmUp   = 3 * time.Second
	benchWindow   = 10 * time.Second
	benchBaseline = 3 * time.Second
	benchBucket   = "bench-1250000000"
)

func BenchmarkRecordingCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("runs in real time")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc/<pid>/stat")
	}
	for _, c := range []struct {
		n      int
		format int
		name   string
	}{
		{1, 0, "hls"},
		{4, 0, "hls"},
		{4, 1, "hls-mp4"},
		{16, 0, "hls"},
		{64, 0, "hls"},
	} {
		b.Run(fmt.Sprintf("N=%d/%s", c.n, c.name), func(b *testing.B) { benchRecordingCPU(b, c.n, c.format) })
	}
}

func benchRecordingCPU(b *testing.B, n, format int) {
	p := start(b, []string{"TRTC_EMULATOR_DATA_DIR=" + b.TempDir(),
		"TRTC_EMULATOR_RECORDING_SEGMENT=" + benchSegment.String(), "TRTC_EMULATOR_RATE_LIMIT=0"})
	pid := p.cmd.Process.Pid
	// dumpGoroutines makes the emulator print its goroutines (SIGQUIT) and keeps its stderr
	// in a file for a look at a hang.
	dumpGoroutines := func(why string) {
		p.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(2 * time.Second)
		dump := filepath.Join(os.TempDir(), fmt.Sprintf("trtc-emulator-bench-%d-%d.stderr", n, time.Now().Unix()))
		if err := os.WriteFile(dump, []byte(p.stderr.String()), 0o644); err == nil {
			b.Logf("%s: the emulator's stderr and goroutines are in %s", why, dump)
		}
	}
	b.Cleanup(func() {
		if b.Failed() { // typically an API call that timed out
			dumpGoroutines("failed")
		}
	})
	tick := clockTicks()

	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = strconv.Itoa(5000 + i)
		enterAnchor(b, p.addr, rooms[i], fmt.Sprintf("anchor_%d", i), 640, 360)
	}
	// The process with its anchors and no task: what the per-recording figure sits on.
	cpu0, wall0 := procCPU(b, pid, tick), time.Now()
	time.Sleep(benchBaseline)
	idle := (procCPU(b, pid, tick) - cpu0).Seconds() / time.Since(wall0).Seconds() * 100

	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": benchBucket,
		"AccessKey": "AKIDbench", "SecretKey": "benchSecret"}
	record := map[string]any{"RecordMode": 1, "MaxIdleTime": 30, "StreamType": 0, "OutputFormat": format}
	client := s3Client("http://" + p.addr + "/storage")
	// The bucket exists beforehand, as a customer's would.
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(benchBucket)}); err != nil {
		b.Fatal(err)
	}
	taskIds := make([]string, n)
	created := make([]time.Time, n)
	for i := range taskIds {
		robot := fmt.Sprintf("recorder_%d", i)
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording",
			recordingParams(rooms[i], robot, robotSig(b, robot), storage, record))
		if err != nil {
			b.Fatalf("CreateCloudRecording %d of %d: %v\n%s", i+1, n, err, p.stderr)
		}
		created[i] = time.Now()
		if taskIds[i], _ = resp["TaskId"].(string); taskIds[i] == "" {
			b.Fatalf("no TaskId: %v", resp)
		}
	}
	time.Sleep(benchWarmUp)

	b.ResetTimer()
	var cpu, wall time.Duration
	for i := 0; i < b.N; i++ {
		c, w := procCPU(b, pid, tick), time.Now()
		time.Sleep(benchWindow)
		cpu += procCPU(b, pid, tick) - c
		wall += time.Since(w)
	}
	b.StopTimer()
	perRecording := cpu.Seconds() / wall.Seconds() / float64(n) * 100
	b.Logf("%d recordings: %.2f%% CPU each over %.1f s (idle %.2f%%)", n, perRecording, wall.Seconds(), idle)

	// Are the recordings keeping up? Every task is still running and its playlists on the
	// store list (nearly) as much media as the task is old.
	var behind int
	var maxLag float64
	var slowest time.Duration
	for i, id := range taskIds {
		asked := time.Now()
		resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DescribeCloudRecording",
			map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": id})
		if err != nil {
			b.Fatalf("DescribeCloudRecording %s: %v\n%s", id, err, p.stderr)
		}
		slowest = max(slowest, time.Since(asked))
		if resp["Status"] != "InProgress" {
			b.Fatalf("task %s (room %s) is %v, want InProgress\n%s", id, rooms[i], resp["Status"], p.stderr)
		}
		age := time.Since(created[i])
		want := int(age/benchSegment) - 2
		playlists := benchPlaylists(b, client, id+"/")
		if len(playlists) != 2 {
			b.Fatalf("task %s: playlists %v on the store, want audio and video", id, playlists)
		}
		for name, pl := range playlists {
			if lag := age.Seconds() - pl.listed; lag > maxLag {
				maxLag = lag
			}
			if len(pl.segments) < want || pl.objects < want {
				behind++
				b.Logf("task %s: %s lists %d segments (%.1f s; %d .ts objects) after %.1f s, want at least %d: not keeping up",
					id, name, len(pl.segments), pl.listed, pl.objects, age.Seconds(), want)
			}
		}
	}

	// Anything the emulator complained about while recording, and then while stopping.
	running := benchComplaints(p.stderr.String())
	if len(running) > 0 {
		b.Logf("%d warnings/errors on the emulator's stderr while recording, first: %s", len(running), running[0])
	}
	p.stop(b)
	if stopping := benchComplaints(p.stderr.String())[len(running):]; len(stopping) > 0 {
		b.Logf("%d warnings/errors on the emulator's stderr while stopping, first: %s", len(stopping), stopping[0])
	}

	b.ReportMetric(perRecording, "cpu-%/recording")
	b.ReportMetric(200/perRecording, "recordings-realtime-2cpu")
	b.ReportMetric(idle, "idle-cpu-%")
	b.ReportMetric(maxLag, "max-lag-s")
	b.ReportMetric(float64(behind), "behind")
	b.ReportMetric(float64(slowest.Milliseconds()), "describe-max-ms")
	b.ReportMetric(float64(len(running)), "stderr-warnings")
}

// benchComplaints are the lines of the emulator's stderr that are warnings or errors or
// speak of a locked database.
func benchComplaints(stderr string) []string {
	var out []string
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") ||
			strings.Contains(line, "locked") || strings.Contains(line, "SQLITE_BUSY") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// benchPlaylist is one playlist of a task as the store has it.
type benchPlaylist struct {
	segments []string // URIs listed
	listed   float64  // seconds listed
	objects  int      // its .ts objects in the bucket
}

// benchPlaylists lists prefix with aws-sdk-go-v2 and reads every playlist under it.
func benchPlaylists(tb testing.TB, client *s3.Client, prefix string) map[string]*benchPlaylist {
	tb.Helper()
	ctx := context.Background()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(benchBucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	out := map[string]*benchPlaylist{}
	for _, k := range keys {
		if path.Ext(k) != ".m3u8" {
			continue
		}
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(benchBucket), Key: aws.String(k)})
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		pl := &benchPlaylist{}
		for line := range strings.Lines(string(raw)) {
			line = strings.TrimSpace(line)
			if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
				d, _, _ = strings.Cut(d, ",")
				f, _ := strconv.ParseFloat(d, 64)
				pl.listed += f
			} else if line != "" && !strings.HasPrefix(line, "#") {
				pl.segments = append(pl.segments, line)
			}
		}
		base := strings.TrimSuffix(k, ".m3u8") + "_"
		for _, o := range keys {
			if strings.HasPrefix(o, base) && path.Ext(o) == ".ts" {
				pl.objects++
			}
		}
		out[path.Base(k)] = pl
	}
	return out
}

var (
	clockTicksOnce sync.Once
	clockTicksHz   = 100
)

// clockTicks is the unit of /proc/<pid>/stat's times: `getconf CLK_TCK`, or 100 (what
// Linux reports on every common architecture) when getconf is missing.
func clockTicks() int {
	clockTicksOnce.Do(func() {
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if hz, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && hz > 0 {
			clockTicksHz = hz
		}
	})
	return clockTicksHz
}

// procCPU is the CPU time (user + system) the process has used so far.
func procCPU(tb testing.TB, pid, hz int) time.Duration {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields count from
	// the last ")"; after it come state (3) … utime (14), stime (15).
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		tb.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * time.Second / time.Duration(hz)
}
