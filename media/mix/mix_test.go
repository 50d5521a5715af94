package mix

import (
	"bytes"
	"encoding/binary"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/compose"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/mixlayout"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
	"github.com/trtc-emulator/trtc-emulator/media/virtual"
)

const room = "1400000001/1/mix"

var t0 = time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)

// room is a hub with virtual participants and a mixer over it, stepped by the test.
type testRoom struct {
	t     testing.TB
	hub   *hub.Hub
	media *virtual.Media
	mixer *Mixer
	now   time.Time
	video []hub.Unit
	audio []hub.Unit
}

func newTestRoom(t testing.TB, cfg Config) *testRoom {
	h := hub.New()
	cfg.Hub, cfg.Room, cfg.Start = h, room, t0
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &testRoom{t: t, hub: h, media: virtual.New(h), mixer: m, now: t0}
	t.Cleanup(func() { m.Close(); r.media.Close() })
	return r
}

// publish makes users the room's publishers (main video 320x180@15 and audio) from now.
func (r *testRoom) publish(users ...string) {
	var pubs []virtual.Publisher
	for _, u := range users {
		pubs = append(pubs, virtual.Publisher{UserId: u, Main: &virtual.Video{Width: 320, Height: 180, Fps: 15}, Audio: true})
	}
	if err := r.media.Sync(room, pubs, r.now); err != nil {
		r.t.Fatal(err)
	}
}

// run steps the clock by 100 ms for d: the participants' media first, then the mix.
func (r *testRoom) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(100 * time.Millisecond)
		if err := r.media.Advance(r.now); err != nil {
			r.t.Fatal(err)
		}
		v, a, err := r.mixer.Render(r.now)
		if err != nil {
			r.t.Fatal(err)
		}
		r.video, r.audio = append(r.video, v...), append(r.audio, a...)
	}
}

func members(users ...string) []Member {
	var out []Member
	for _, u := range users {
		out = append(out, Member{UserId: u, Decodable: true, Video: true, Audio: true})
	}
	return out
}

// decodeVideo decodes the mixed video with ffmpeg into RGB frames.
func decodeVideo(t *testing.T, units []hub.Unit, w, h int) [][]byte {
	t.Helper()
	var stream []byte
	for _, u := range units {
		stream = h264.AppendAnnexB(stream, u.NALUs)
	}
	dir := t.TempDir()
	in, raw := filepath.Join(dir, "mix.h264"), filepath.Join(dir, "mix.rgb")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-i", in, "-f", "rawvideo", "-pix_fmt", "rgb24", raw).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, out)
	}
	pixels, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	size := w * h * 3
	if len(pixels) != len(units)*size {
		t.Fatalf("decoded %d bytes, want %d frames of %dx%d", len(pixels), len(units), w, h)
	}
	var frames [][]byte
	for i := range len(units) {
		frames = append(frames, pixels[i*size:(i+1)*size])
	}
	return frames
}

// decodeAudio decodes the mixed AAC with ffmpeg into mono PCM at rate.
func decodeAudio(t *testing.T, units []hub.Unit, hdr aac.ADTSHeader, rate int) []int16 {
	t.Helper()
	var stream []byte
	for _, u := range units {
		b, err := aac.AppendADTSHeader(nil, hdr, len(u.Frame))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(append(stream, b...), u.Frame...)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "mix.aac")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-i", in, "-f", "s16le", "-ac", "1", "-ar", strconv.Itoa(rate), "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode audio: %v", err)
	}
	pcm := make([]int16, len(out)/2)
	if err := binary.Read(bytes.NewReader(out), binary.LittleEndian, pcm); err != nil {
		t.Fatal(err)
	}
	return pcm
}

func rgbAt(frame []byte, w, x, y int) color.RGBA {
	o := (y*w + x) * 3
	return color.RGBA{frame[o], frame[o+1], frame[o+2], 0xff}
}

func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

// sample is a point of a window clear of the synthetic picture's text (centred
// vertically): a sixth from the top, in the middle.
func sample(w mixlayout.Window) (int, int) { return w.X + w.W/2, w.Y + w.H/6 }

// TestMixGridPicturesAndTones: three virtual anchors mixed into a 640x360 grid. ffmpeg
// decodes every frame at that size; each window shows its user's colour where the layout
// engine puts it, and after one leaves the later frames show the two-window layout. The
// mixed audio, decoded by ffmpeg, holds each present anchor's tone at its level and not
// the one who left.
func TestMixGridPicturesAndTones(t *testing.T) {
	users := []string{"alice", "bob", "carol"}
	for i := range users {
		for j := range i {
			if synth.UserTone(users[i]) == synth.UserTone(users[j]) {
				t.Fatalf("%s and %s share a tone: pick other ids", users[i], users[j])
			}
		}
	}
	const w, h = 640, 360
	r := newTestRoom(t, Config{Video: true, Audio: true, Width: w, Height: h, Fps: 15, GOP: 1, SampleRate: 48000, Channels: 2})
	r.publish(users...)
	r.mixer.Set(members(users...), Layout{Params: mixlayout.Params{Mode: mixlayout.Grid, RenderMode: mixlayout.Crop}})
	r.run(2 * time.Second)
	split := len(r.video)
	splitAudio := len(r.audio)
	volumes := []map[string]int{r.mixer.Volumes()}
	r.publish(users[1:]...)
	r.mixer.Set(members(users[1:]...), Layout{Params: mixlayout.Params{Mode: mixlayout.Grid, RenderMode: mixlayout.Crop}})
	r.run(2 * time.Second)
	volumes = append(volumes, r.mixer.Volumes())
	// Each mixed user's tone, at a tenth of full scale, has volume 10; alice's is gone.
	for i, us := range [][]string{users, users[1:]} {
		if len(volumes[i]) != len(us) {
			t.Errorf("volumes %v, want %v's", volumes[i], us)
		}
		for _, u := range us {
			if v, ok := volumes[i][u]; !ok || v < 8 || v > 12 {
				t.Errorf("%s's volume %d (%v), want about 10", u, v, volumes[i])
			}
		}
	}

	if len(r.video) != 4*15+1 { // frames at 0, 1/15, … 4 s
		t.Fatalf("%d video frames in 4 s at 15 fps", len(r.video))
	}
	for i, u := range r.video {
		if want := time.Duration(i) * time.Second / 15; u.PTS != want {
			t.Fatalf("frame %d at %v, want %v", i, u.PTS, want)
		}
	}
	frames := decodeVideo(t, r.video, w, h)
	layout := func(us []string) []mixlayout.Window {
		var ms []mixlayout.Member
		for _, u := range us {
			ms = append(ms, mixlayout.Member{UserId: u, Video: true, Audio: true})
		}
		return mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: w, Height: h, Members: ms, RenderMode: mixlayout.Crop})
	}
	check := func(frame int, us []string) {
		t.Helper()
		ws := layout(us)
		if len(ws) != len(us) {
			t.Fatalf("%d windows for %d users", len(ws), len(us))
		}
		for _, win := range ws {
			x, y := sample(win)
			if got, want := rgbAt(frames[frame], w, x, y), synth.UserColor(win.UserId); !near(got, want, 14) {
				t.Errorf("frame %d: %s's window at (%d,%d) shows %v, want %v", frame, win.UserId, x, y, got, want)
			}
		}
	}
	check(split-1, users)
	check(len(frames)-1, users[1:])
	hdr := aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: 48000, ChannelConfig: 2}
	pcm := decodeAudio(t, r.audio, hdr, 48000)
	if got, want := len(pcm), int(4*48000); got < want-2*1024 || got > want+2*1024 {
		t.Fatalf("%d samples of audio, want about %d", got, want)
	}
	first := pcm[48000/2 : splitAudio*1024-1024] // after the first units arrived, before the change
	last := pcm[splitAudio*1024+48000/2:]
	for _, u := range users {
		f := synth.UserTone(u)
		if lvl := testpeer.ToneLevel(first, 48000, f); lvl < 0.07 || lvl > 0.13 {
			t.Errorf("%s's tone %.0f Hz at %.3f in the three-user mix, want about 0.1", u, f, lvl)
		}
		lvl := testpeer.ToneLevel(last, 48000, f)
		switch {
		case u == "alice" && lvl > 0.01:
			t.Errorf("alice left, but her tone is at %.3f", lvl)
		case u != "alice" && (lvl < 0.07 || lvl > 0.13):
			t.Errorf("%s's tone at %.3f in the two-user mix, want about 0.1", u, lvl)
		}
	}
}

// TestMixTilesUndecodable: a member whose media the mix cannot decode (RTMP) gets a tile
// at its window; one that publishes nothing the mix reads shows the background.
func TestMixTilesUndecodable(t *testing.T) {
	const w, h = 320, 180
	r := newTestRoom(t, Config{Video: true, Width: w, Height: h, Fps: 5, GOP: 1})
	bg := color.RGBA{0, 0x80, 0, 0xff}
	r.mixer.Set([]Member{{UserId: "obs", Source: "rtmp", Video: true}, {UserId: "ghost", Decodable: true, Video: true}},
		Layout{Params: mixlayout.Params{Mode: mixlayout.Grid}, Background: bg})
	r.run(time.Second)
	frames := decodeVideo(t, r.video, w, h)
	ws := mixlayout.Compute(mixlayout.Params{Mode: mixlayout.Grid, Width: w, Height: h,
		Members: []mixlayout.Member{{UserId: "obs", Video: true}, {UserId: "ghost", Video: true}}})
	last := frames[len(frames)-1]
	if got := rgbAt(last, w, ws[0].X+2, ws[0].Y+2); !near(got, compose.TileBackground, 14) {
		t.Errorf("the RTMP member's window corner is %v, want the tile's %v", got, compose.TileBackground)
	}
	if got := rgbAt(last, w, ws[1].X+ws[1].W/2, ws[1].Y+ws[1].H/2); !near(got, bg, 14) {
		t.Errorf("the member not in the hub shows %v, want the background %v", got, bg)
	}
}
