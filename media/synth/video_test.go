package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

var videoStart = time.Date(2024, 5, 6, 12, 34, 56, 0, time.UTC)

// videoGenerate returns n access units of a video and the encoder's picture after each.
func videoGenerate(t testing.TB, cfg VideoConfig, n int) (*Video, []AccessUnit, [][]byte) {
	t.Helper()
	v, err := NewVideo(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var aus []AccessUnit
	var pictures [][]byte
	for range n {
		aus = append(aus, v.Next())
		pictures = append(pictures, v.enc.recon.cropped(v.cfg.Width, v.cfg.Height))
	}
	return v, aus, pictures
}

func videoAnnexB(aus []AccessUnit) []byte {
	var b []byte
	for _, au := range aus {
		b = h264.AppendAnnexB(b, au.NALUs)
	}
	return b
}

func videoWriteTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type videoProbeStream struct {
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	RFrameRate   string `json:"r_frame_rate"`
	NbReadFrames string `json:"nb_read_frames"`
}

type videoProbeFrame struct {
	PictType string `json:"pict_type"`
	KeyFrame int    `json:"key_frame"`
}

func videoProbe(t *testing.T, path string) (videoProbeStream, []videoProbeFrame) {
	t.Helper()
	out, err := exec.Command(testpeer.FFprobe(t), "-v", "error", "-count_frames", "-show_streams",
		"-show_frames", "-show_entries", "stream=codec_name,profile,width,height,r_frame_rate,nb_read_frames:frame=pict_type,key_frame",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var res struct {
		Streams []videoProbeStream
		Frames  []videoProbeFrame
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe found %d streams", len(res.Streams))
	}
	return res.Streams[0], res.Frames
}

// TestVideoDecodesCleanly: 5 s of video decode without a single ffmpeg message, videoProbe sees
// the configured size, codec, profile, rate and frame count, and the decoded pictures are the
// encoder's own, sample for sample.
func TestVideoDecodesCleanly(t *testing.T) {
	for _, size := range [][2]int{{640, 360}, {322, 178}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			const fps, frames = 15, 75
			v, aus, pictures := videoGenerate(t, VideoConfig{UserId: "user_1234", Width: size[0], Height: size[1], Fps: fps, Start: videoStart}, frames)
			path := videoWriteTemp(t, "video.h264", videoAnnexB(aus))

			var stderr bytes.Buffer
			cmd := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-f", "h264", "-i", path, "-f", "null", "-")
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("ffmpeg -v error: %v\n%s", err, stderr.String())
			}

			st, probed := videoProbe(t, path)
			want := videoProbeStream{CodecName: "h264", Profile: "Constrained Baseline", Width: size[0], Height: size[1],
				RFrameRate: "15/1", NbReadFrames: fmt.Sprint(frames)}
			if st != want {
				t.Errorf("ffprobe: %+v\nwant     %+v", st, want)
			}
			sps, err := h264.ParseSPS(v.SPS())
			if err != nil {
				t.Fatal(err)
			}
			if sps.Width != st.Width || sps.Height != st.Height || sps.ProfileName() != st.Profile {
				t.Errorf("ParseSPS: %dx%d %s; videoProbe: %dx%d %s", sps.Width, sps.Height, sps.ProfileName(), st.Width, st.Height, st.Profile)
			}
			if fr, ok := sps.FrameRate(); !ok || fr != fps || sps.VUI.MaxNumReorderFrames != 0 {
				t.Errorf("ParseSPS: frame rate %v %v, reorder %+v", fr, ok, sps.VUI)
			}

			if len(probed) != frames {
				t.Fatalf("ffprobe listed %d frames", len(probed))
			}
			for i, au := range aus {
				wantPTS := time.Duration(i) * time.Second / fps
				if au.PTS != wantPTS {
					t.Errorf("frame %d: PTS %v, want %v", i, au.PTS, wantPTS)
				}
				typ, err := h264.PictureType(au.NALUs)
				if err != nil {
					t.Fatal(err)
				}
				key := i%30 == 0
				if au.Key != key || h264.IsKeyframe(au.NALUs) != key || (typ == h264.SliceI) != key {
					t.Errorf("frame %d: Key %v, IsKeyframe %v, type %v; want key %v", i, au.Key, h264.IsKeyframe(au.NALUs), typ, key)
				}
				if probed[i].PictType != typ.String() || (probed[i].KeyFrame == 1) != key {
					t.Errorf("frame %d: ffprobe %+v, ours %v key %v", i, probed[i], typ, key)
				}
				if key && (h264.TypeOf(au.NALUs[0]) != h264.NALUSPS || h264.TypeOf(au.NALUs[1]) != h264.NALUPPS) {
					t.Errorf("frame %d: IDR without SPS and PPS in front", i)
				}
			}

			decoded := videoDecodeYUV(t, videoAnnexB(aus), size[0], size[1])
			if len(decoded) != frames {
				t.Fatalf("decoded %d frames", len(decoded))
			}
			for i := range decoded {
				if !bytes.Equal(decoded[i], pictures[i]) {
					t.Fatalf("frame %d: decoded picture differs from the encoder's at byte %d", i, videoFirstDiff(decoded[i], pictures[i]))
				}
			}
		})
	}
}

// TestVideoBackgroundIsTheUsersColour decodes the first frame to RGB: a background pixel has
// the user's colour, and two users get clearly different colours.
func TestVideoBackgroundIsTheUsersColour(t *testing.T) {
	const w, h = 320, 180
	rgbAt := func(user string, x, y int) [3]int {
		_, aus, _ := videoGenerate(t, VideoConfig{UserId: user, Width: w, Height: h}, 1)
		var out, stderr bytes.Buffer
		cmd := exec.Command(testpeer.FFmpeg(t), "-v", "error", "-f", "h264", "-i", videoWriteTemp(t, "v.h264", videoAnnexB(aus)),
			"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 || out.Len() != w*h*3 {
			t.Fatalf("ffmpeg: %v, %d bytes: %s", err, out.Len(), stderr.String())
		}
		p := out.Bytes()[(y*w+x)*3:]
		return [3]int{int(p[0]), int(p[1]), int(p[2])}
	}
	const tolerance = 4 // YCbCr rounding and the decoder's conversion
	colours := map[string][3]int{}
	for _, user := range []string{"alice", "bob"} {
		want := UserColor(user)
		for _, pt := range []image.Point{{2, 2}, {w - 3, h - 3}, {w / 2, 5}} {
			got := rgbAt(user, pt.X, pt.Y)
			for i, c := range []uint8{want.R, want.G, want.B} {
				if d := got[i] - int(c); d < -tolerance || d > tolerance {
					t.Errorf("%s at %v: decoded RGB %v, want %v", user, pt, got, want)
					break
				}
			}
			colours[user] = got
		}
	}
	// In the decoder's own colour space the background is exact, edge to edge.
	_, aus, _ := videoGenerate(t, VideoConfig{UserId: "alice", Width: w, Height: h}, 1)
	frame := videoDecodeYUV(t, videoAnnexB(aus), w, h)[0]
	want := toYCbCr(UserColor("alice"))
	for _, pt := range []image.Point{{0, 0}, {w - 1, h - 1}, {w - 1, 0}, {0, h - 1}, {w / 2, 1}} {
		y, cb, cr := frame[pt.Y*w+pt.X], frame[w*h+pt.Y/2*w/2+pt.X/2], frame[w*h*5/4+pt.Y/2*w/2+pt.X/2]
		if (ycbcr{y, cb, cr}) != want {
			t.Errorf("YCbCr at %v: %d %d %d, want %+v", pt, y, cb, cr, want)
		}
	}

	a, b := colours["alice"], colours["bob"]
	if dist := videoAbs(a[0]-b[0]) + videoAbs(a[1]-b[1]) + videoAbs(a[2]-b[2]); dist < 40 {
		t.Errorf("alice %v and bob %v are too alike (distance %d)", a, b, dist)
	}
}

func videoAbs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestVideoOnlyTheClockChanges compares decoded frames one second apart, within a GOP and
// across an IDR: they differ, and only inside the clock's macroblocks.
func TestVideoOnlyTheClockChanges(t *testing.T) {
	const w, h, fps = 640, 360, 15
	v, aus, _ := videoGenerate(t, VideoConfig{UserId: "user_1234", Width: w, Height: h, Fps: fps, Start: videoStart}, 40)
	frames := videoDecodeYUV(t, videoAnnexB(aus), w, h)
	clock := image.Rect(16*v.clockMBs.Min.X, 16*v.clockMBs.Min.Y, 16*v.clockMBs.Max.X, 16*v.clockMBs.Max.Y)
	if clock.Dx()*clock.Dy() > w*h/10 {
		t.Fatalf("clock area %v is a tenth of the picture or more", clock)
	}
	for _, pair := range [][2]int{{5, 20}, {20, 35}} {
		a, b := frames[pair[0]], frames[pair[1]]
		changed := 0
		for y := range h {
			for x := range w {
				if a[y*w+x] == b[y*w+x] {
					continue
				}
				changed++
				if !(image.Point{x, y}).In(clock) {
					t.Fatalf("frames %v: luma at (%d,%d) changed outside the clock %v", pair, x, y, clock)
				}
			}
		}
		if !bytes.Equal(a[w*h:], b[w*h:]) {
			t.Errorf("frames %v: chroma changed", pair)
		}
		if changed == 0 {
			t.Errorf("frames %v are identical: the clock does not run", pair)
		}
	}
}

// TestVideoSizesAndLongGOP decodes small, odd, tall and large pictures, and a GOP long enough
// for frame_num to wrap (it counts modulo 256).
func TestVideoSizesAndLongGOP(t *testing.T) {
	for _, tc := range []struct {
		w, h, fps, gop, frames int
	}{
		{16, 16, 15, 0, 3}, {18, 34, 30, 0, 3}, {96, 1000, 15, 0, 3}, {1920, 1080, 30, 0, 3},
		{64, 48, 120, 1000, 300}, {64, 48, 1, 1, 3},
	} {
		t.Run(fmt.Sprintf("%dx%d@%d_gop%d", tc.w, tc.h, tc.fps, tc.gop), func(t *testing.T) {
			_, aus, pictures := videoGenerate(t, VideoConfig{UserId: "a-rather-long-user-id-0123456789", Width: tc.w, Height: tc.h, Fps: tc.fps, GOP: tc.gop}, tc.frames)
			decoded := videoDecodeYUV(t, videoAnnexB(aus), tc.w, tc.h)
			if len(decoded) != tc.frames {
				t.Fatalf("decoded %d frames, want %d", len(decoded), tc.frames)
			}
			for i := range decoded {
				if !bytes.Equal(decoded[i], pictures[i]) {
					t.Fatalf("frame %d differs from the encoder's at byte %d", i, videoFirstDiff(decoded[i], pictures[i]))
				}
			}
			if bytes.Equal(decoded[tc.frames-1], decoded[tc.frames-2]) {
				t.Error("the last two frames are identical: no running clock")
			}
		})
	}
}

func TestNewVideoDefaultsAndLimits(t *testing.T) {
	v, err := NewVideo(VideoConfig{UserId: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Config(); got.Width != 640 || got.Height != 360 || got.Fps != 15 || got.GOP != 30 {
		t.Errorf("defaults: %+v", got)
	}
	for _, cfg := range []VideoConfig{
		{Width: 321, Height: 180}, {Width: 320, Height: 181}, {Width: 8, Height: 8},
		{Width: 8192, Height: 360}, {Fps: -1}, {Fps: 121}, {GOP: -5},
	} {
		if _, err := NewVideo(cfg); err == nil {
			t.Errorf("NewVideo(%+v) accepted", cfg)
		}
	}
	// Unprintable and long user ids still render.
	if _, err := NewVideo(VideoConfig{UserId: strings.Repeat("用户", 40), Width: 16, Height: 16}); err != nil {
		t.Error(err)
	}
}

// BenchmarkSynthVideo640x360 reports how many times faster than real time the encoder runs at
// 640x360@15 with a 2 s GOP, and the bitrate it produces.
func BenchmarkSynthVideo640x360(b *testing.B) {
	const fps = 15
	v, err := NewVideo(VideoConfig{UserId: "user_1234", Width: 640, Height: 360, Fps: fps, Start: videoStart})
	if err != nil {
		b.Fatal(err)
	}
	var bytes int
	b.ResetTimer()
	for range b.N {
		for _, n := range v.Next().NALUs {
			bytes += len(n)
		}
	}
	media := float64(b.N) / fps // seconds of video
	b.ReportMetric(media/b.Elapsed().Seconds(), "x-real-time")
	b.ReportMetric(float64(bytes)/media, "bytes/s")
}

// TestVideoFlatMacroblocksAreExact: wherever the picture is one colour, the decoder's picture
// (the encoder's reconstruction, which TestVideoDecodesCleanly holds equal to ffmpeg's) is
// that colour exactly, so the background never shimmers or drifts between GOPs.
func TestVideoFlatMacroblocksAreExact(t *testing.T) {
	for _, user := range []string{"alice", "bob", "user_1234", ""} {
		v, err := NewVideo(VideoConfig{UserId: user, Width: 322, Height: 178, GOP: 10})
		if err != nil {
			t.Fatal(err)
		}
		for frame := range 25 {
			v.Next()
			src, rec := v.cur, v.enc.recon
			for my := range src.mbH {
				for mx := range src.mbW {
					y0, c0 := (16*my)*src.strideY()+16*mx, (8*my)*src.strideC()+8*mx
					if !mbFlat(src, mx, my) {
						continue
					}
					if !sameMB(src, rec, mx, my) || rec.cb[c0] != src.cb[c0] || rec.cr[c0] != src.cr[c0] {
						t.Fatalf("user %q frame %d: flat macroblock (%d,%d) of %d reconstructed as %d", user, frame, mx, my, src.y[y0], rec.y[y0])
					}
				}
			}
		}
	}
}

func mbFlat(p *picture, mx, my int) bool {
	v := p.y[(16*my)*p.strideY()+16*mx]
	for y := range 16 {
		for x := range 16 {
			if p.y[(16*my+y)*p.strideY()+16*mx+x] != v {
				return false
			}
		}
	}
	return true
}

// TestVideoKeyframeRequest: without requests the IDR pictures come every GOP frames; a
// request makes the next frame an IDR and the GOP counts again from it. The stream still
// decodes picture for picture.
func TestVideoKeyframeRequest(t *testing.T) {
	v, err := NewVideo(VideoConfig{UserId: "alice", Width: 64, Height: 48, Fps: 10, GOP: 5})
	if err != nil {
		t.Fatal(err)
	}
	var keys []int
	var aus []AccessUnit
	for n := range 16 {
		if n == 7 {
			v.RequestKeyframe()
		}
		au := v.Next()
		aus = append(aus, au)
		if au.Key {
			keys = append(keys, n)
		}
	}
	if fmt.Sprint(keys) != "[0 5 7 12]" {
		t.Fatalf("IDR pictures at %v, want [0 5 7 12]", keys)
	}
	if decoded := videoDecodeYUV(t, videoAnnexB(aus), 64, 48); len(decoded) != 16 {
		t.Fatalf("decoded %d frames, want 16", len(decoded))
	}
}

// TestVideoPicture: the uncoded picture a mix composites is the coded one: the user's
// colour in studio-range BT.601 in the background, the clock changing with the frames.
func TestVideoPicture(t *testing.T) {
	v, err := NewVideo(VideoConfig{UserId: "alice", Width: 320, Height: 180, Fps: 15})
	if err != nil {
		t.Fatal(err)
	}
	want := toYCbCr(UserColor("alice"))
	v.Next()
	p := v.Picture()
	if p.Rect.Dx() != 320 || p.Rect.Dy() != 180 {
		t.Fatalf("picture %v", p.Rect)
	}
	if y, cb, cr := p.Y[p.YOffset(2, 2)], p.Cb[p.COffset(2, 2)], p.Cr[p.COffset(2, 2)]; y != want.y || cb != want.cb || cr != want.cr {
		t.Fatalf("the background is %d/%d/%d, want the user's colour %+v", y, cb, cr, want)
	}
	first := string(p.Y)
	v.Next()
	v.Next()
	if string(v.Picture().Y) == first {
		t.Fatal("the picture did not change with the clock")
	}
}
