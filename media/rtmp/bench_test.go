package rtmp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
)

// BenchmarkPublishers: n gortmplib clients publish H.264 (a 640x360 synthetic group of
// pictures, replayed) over loopback RTMP into the listener, which writes every picture into
// the hub, where one sink per stream reads it. ns/op is per picture, through the whole path
// (client, server, hub, sink); pictures/s is the total rate, to compare with what n
// publishers at 15 fps need (15n).
func BenchmarkPublishers(b *testing.B) {
	v, err := synth.NewVideo(synth.VideoConfig{UserId: "bench", Width: 640, Height: 360, Fps: 15})
	if err != nil {
		b.Fatal(err)
	}
	gop := make([][][]byte, 15)
	for i := range gop {
		au := v.Next()
		gop[i] = au.NALUs
	}
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) {
			h := hub.New()
			var sinks sync.WaitGroup
			var read, skipped atomic.Int64 // pictures the sinks read, and skipped as too slow
			subscribed := map[string]chan struct{}{}
			for i := range n {
				subscribed[fmt.Sprint("u", i)] = make(chan struct{})
			}
			srv, err := New(Config{Hub: h, Now: time.Now, Logger: slog.New(slog.DiscardHandler),
				Admit: func(r Request) (*Publisher, error) {
					user := r.Query.Get("userid")
					return &Publisher{Room: "bench", UserId: user, Tracks: func(video, _ *hub.Params) error {
						// The stream is in the hub now: read it to its end from its start.
						s, err := h.Subscribe(hub.Key{Room: "bench", UserId: user, Track: hub.MainVideo},
							hub.SinkOptions{FromStart: true, Queue: 4096})
						if err != nil {
							return err
						}
						close(subscribed[user])
						sinks.Go(func() {
							for {
								if _, err := s.Read(context.Background()); err != nil {
									skipped.Add(int64(s.Stats().Skipped))
									return
								}
								read.Add(1)
							}
						})
						return nil
					}}, nil
				}})
			if err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			per := max(b.N/n, 1)
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					u, _ := url.Parse(fmt.Sprintf("rtmp://%s/push/bench?userid=u%d", ln.Addr(), i))
					c := &gortmplib.Client{URL: u, Publish: true}
					if err := c.Initialize(context.Background()); err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					track := &gortmplib.Track{Codec: &codecs.H264{SPS: v.SPS(), PPS: v.PPS()}}
					w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{track}}
					if err := w.Initialize(); err != nil {
						b.Error(err)
						return
					}
					// Past the listener's 2 s analysis, then, once the stream's reader has
					// subscribed, the pictures to measure.
					for f := 0; f < 31+per; f++ {
						if f == 31 {
							<-subscribed[fmt.Sprint("u", i)]
						}
						pts := time.Duration(f) * time.Second / 15
						if err := w.WriteH264(track, pts, pts, gop[f%len(gop)]); err != nil {
							b.Error(err)
							return
						}
					}
					// A graceful end: closing with the server's acknowledgements unread would
					// reset the connection and lose the last pictures in flight.
					conn := c.NetConn()
					conn.(*net.TCPConn).CloseWrite()
					io.Copy(io.Discard, conn)
				})
			}
			wg.Wait()
			sinks.Wait() // each stream ends once the listener has read its publisher to the end
			srv.Close()
			b.StopTimer()
			// Every picture reached the hub: read, or skipped by a sink that fell behind a
			// source faster than real time (the hub's rule: a source never waits).
			if got := read.Load() + skipped.Load(); got < int64(per*n) {
				b.Fatalf("the sinks saw %d pictures of the %d measured", got, per*n)
			}
			b.ReportMetric(float64(skipped.Load())/float64(read.Load()+skipped.Load()), "skipped/picture")
			b.ReportMetric(float64(per*n)/b.Elapsed().Seconds(), "pictures/s")
		})
	}
}
