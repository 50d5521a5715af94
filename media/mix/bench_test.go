package mix

import (
	"fmt"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

// BenchmarkMix: the mixer alone (compositing, H.264 at the target bitrate, the audio sum
// and AAC) over virtual anchors whose clocks tick, for a 4-user 640x360@15 and a 9-user
// 1280x720@15 grid. The anchors' own encoding is not counted (it is the same with or
// without a mix). Reports media seconds mixed per CPU second and the bitrate achieved.
func BenchmarkMix(b *testing.B) {
	for _, c := range []struct{ w, h, users, bitrate int }{{640, 360, 4, 550000}, {1280, 720, 9, 1500000}} {
		b.Run(fmt.Sprintf("%dx%d/%d-users", c.w, c.h, c.users), func(b *testing.B) {
			r := newTestRoom(b, Config{Video: true, Audio: true, Width: c.w, Height: c.h, Fps: 15, GOP: 2,
				BitRate: c.bitrate, SampleRate: 48000, Channels: 2, AudioBitRate: 64000})
			var users []string
			for i := range c.users {
				users = append(users, fmt.Sprint("user-", i))
			}
			r.publish(users...)
			r.mixer.Set(members(users...), Layout{Params: mixlayout.Params{Mode: mixlayout.Grid, RenderMode: mixlayout.Crop}})
			var mixing time.Duration
			var bits int64
			var media time.Duration
			for b.Loop() {
				r.now = r.now.Add(time.Second)
				if err := r.media.Advance(r.now); err != nil {
					b.Fatal(err)
				}
				began := time.Now()
				v, a, err := r.mixer.Render(r.now)
				if err != nil {
					b.Fatal(err)
				}
				mixing += time.Since(began)
				for _, u := range v {
					for _, n := range u.NALUs {
						bits += int64(8 * len(n))
					}
				}
				_ = a
				media += time.Second
			}
			b.ReportMetric(media.Seconds()/mixing.Seconds(), "x-realtime")
			b.ReportMetric(float64(bits)/media.Seconds()/1000, "video-kbps")
		})
	}
}
