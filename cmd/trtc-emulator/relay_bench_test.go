package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
)

// countingListener counts the bytes its connections read.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// startRTMPSink is an RTMP server in the test's process that takes any publish and keeps
// nothing: the relays' destination, whose work is not the emulator's CPU. It returns its
// URL base and the bytes received so far.
func startRTMPSink(tb testing.TB) (string, *atomic.Int64) {
	tb.Helper()
	var n atomic.Int64
	var users atomic.Int64
	srv, err := rtmp.New(rtmp.Config{Hub: hub.New(), Now: time.Now, Idle: time.Hour,
		Admit: func(req rtmp.Request) (*rtmp.Publisher, error) {
			return &rtmp.Publisher{Room: req.Stream, UserId: fmt.Sprint("u", users.Add(1))}, nil
		}})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(countingListener{ln, &n})
	tb.Cleanup(func() { srv.Close() })
	return "rtmp://" + ln.Addr().String() + "/live", &n
}

// BenchmarkRelayCPU: N relays, each of its own room with virtual anchors 640x360 at 15
// fps, to an RTMP server in the test, on the virtual clock. It measures the emulator
// process's CPU (/proc/<pid>/stat; Linux; -benchtime=1x) while the clock is advanced by
// 30 s, and the bytes the server received (RTMP framing included) in that time:
//
//	go test -run '^$' -bench BenchmarkRelayCPU -benchtime=1x ./cmd/trtc-emulator
//
// RELAY_BENCH_CASES=300p,50t runs other counts (p: passthrough, t: transcoded).
//
// cpu-%/relay is CPU seconds per second of media per relay × 100, the anchors' own
// synthetic encoding included (a passthrough relay's cost is mostly that). kbps/relay is
// what each destination got; a transcoded relay asks for 800 kbps video + 64 kbps audio
// and mixes two anchors in a grid. x-realtime is media time over the wall time the clock
// took to move (each move waits for every relay's pass): at 1 or more the machine carries
// that many relays in real time.
func BenchmarkRelayCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("runs the emulator")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc/<pid>/stat")
	}
	type relayCase struct {
		n          int
		transcoded bool
	}
	cases := []relayCase{{1, false}, {8, false}, {150, false}, {1, true}, {4, true}, {25, true}}
	if env := os.Getenv("RELAY_BENCH_CASES"); env != "" { // e.g. 300p,50t: a capacity run
		cases = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimRight(f, "pt"))
			if err != nil || n < 1 || !strings.HasSuffix(f, "p") && !strings.HasSuffix(f, "t") {
				b.Fatalf("RELAY_BENCH_CASES: %q is not <count>p or <count>t", f)
			}
			cases = append(cases, relayCase{n, strings.HasSuffix(f, "t")})
		}
	}
	for _, c := range cases {
		kind := map[bool]string{false: "passthrough", true: "transcoded"}[c.transcoded]
		b.Run(fmt.Sprintf("N=%d/%s", c.n, kind), func(b *testing.B) {
			base, received := startRTMPSink(b)
			p := start(b, []string{"TRTC_EMULATOR_DATA_DIR=" + b.TempDir(), "TRTC_EMULATOR_RATE_LIMIT=0", "TRTC_EMULATOR_CLOCK=virtual"})
			defer p.stop(b)
			pid, tick := p.cmd.Process.Pid, clockTicks()
			var tasks []string
			for i := range c.n {
				room := fmt.Sprint(700 + i)
				enterAnchor(b, p.addr, room, "alice", 640, 360)
				if c.transcoded {
					enterAnchor(b, p.addr, room, "bob", 640, 360)
				}
				params := relayParams(b, room, "relay_bot", fmt.Sprintf("%s/s%d", base, i))
				if c.transcoded {
					params["WithTranscoding"] = 1
					params["AudioParams"] = map[string]any{"AudioEncode": map[string]any{"SampleRate": 48000, "Channel": 2, "BitRate": 64}}
					params["VideoParams"] = map[string]any{"VideoEncode": map[string]any{"Width": 640, "Height": 360, "Fps": 15, "BitRate": 800, "Gop": 3},
						"LayoutParams": map[string]any{"MixLayoutMode": 3}}
				}
				resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "StartPublishCdnStream", params)
				if err != nil {
					b.Fatal(err)
				}
				tasks = append(tasks, resp["TaskId"].(string))
			}
			running := func() int {
				var rooms struct {
					Rooms []struct {
						Relays []struct{ Urls []struct{ State string } }
					}
				}
				control(b, "GET", "http://"+p.addr+"/_emulator/v1/rooms", nil, &rooms)
				n := 0
				for _, r := range rooms.Rooms {
					for _, rl := range r.Relays {
						if len(rl.Urls) == 1 && rl.Urls[0].State == "RUNNING" {
							n++
						}
					}
				}
				return n
			}
			waitFor(b, "every relay running", 2*time.Minute, func() bool {
				advance(b, p.addr, time.Second)
				return running() == c.n
			})
			advance(b, p.addr, 3*time.Second) // warm-up
			b.ResetTimer()
			const media = 30 * time.Second
			for range b.N {
				cpu0, bytes0, wall0 := procCPU(b, pid, tick), received.Load(), time.Now()
				for range 30 {
					advance(b, p.addr, media/30)
				}
				wall := time.Since(wall0)
				// The pumps write a little behind the clock, as much at the end as at the start.
				cpu := procCPU(b, pid, tick) - cpu0
				b.ReportMetric(cpu.Seconds()/media.Seconds()/float64(c.n)*100, "cpu-%/relay")
				b.ReportMetric(float64(received.Load()-bytes0)*8/1000/media.Seconds()/float64(c.n), "kbps/relay")
				b.ReportMetric(media.Seconds()/wall.Seconds(), "x-realtime")
			}
			if got := running(); got != c.n {
				b.Fatalf("%d of %d relays running after the measure", got, c.n)
			}
		})
	}
}
