package mix

import (
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
)

// FuzzMixChanges drives a small mix through fuzzed member and layout changes (who
// publishes what, decodable or not, every mode, custom slots anywhere): Render never fails
// or panics and codes every frame and audio frame due.
func FuzzMixChanges(f *testing.F) {
	f.Add([]byte{3, 0xff, 1, 0x13, 2, 0x07, 4, 0x21, 0x80})
	f.Add([]byte{4, 0x0f, 0x30, 0x40, 0x50, 1, 0xf0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			return
		}
		r := newTestRoom(t, Config{Video: true, Audio: true, Width: 64, Height: 36, Fps: 10, GOP: 1, SampleRate: 16000, Channels: 1})
		users := []string{"a", "b/c", "", "d_e", "f"}
		for i := 0; i+1 < len(ops); i += 2 {
			mode, mask := int(ops[i]%5), ops[i+1]
			var ms []Member
			var pubs []string
			for j, u := range users {
				if mask&(1<<j) == 0 {
					continue
				}
				m := Member{UserId: u, Decodable: mask&0x20 == 0, Source: "rtmp", Video: j%2 == 0 || mask&0x40 != 0, Audio: true, Aux: mask&0x80 != 0}
				ms = append(ms, m)
				if m.Decodable {
					pubs = append(pubs, u)
				}
			}
			var slots []mixlayout.Slot
			for j := range int(mask % 4) {
				slots = append(slots, mixlayout.Slot{Left: int(mask) % 70, Top: j * 11, Width: int(mask) % 40, Height: 20, MediaId: j % 2,
					RenderMode: j % 3, UserId: users[j%len(users)]})
			}
			r.publish(pubs...)
			r.mixer.Set(ms, Layout{Params: mixlayout.Params{Mode: mode, Custom: slots, MainUser: users[int(mask)%len(users)],
				RenderMode: int(mask) % 3}})
			r.run(200 * time.Millisecond)
		}
		elapsed := r.now.Sub(t0)
		if elapsed == 0 {
			return // no change made, nothing rendered
		}
		if want := int(elapsed*10/time.Second) + 1; len(r.video) != want {
			t.Fatalf("%d frames in %v at 10 fps, want %d", len(r.video), elapsed, want)
		}
	})
}
