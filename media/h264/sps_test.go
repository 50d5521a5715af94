package h264

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

// testAU is an access unit of a parsed Annex B stream and the offset of its first NAL unit.
type testAU struct {
	nalus  [][]byte
	offset int
}

// splitAccessUnits groups the NAL units of an Annex B stream into access units (7.4.1.2.3):
// a new one starts at an AUD, SPS, PPS or SEI after a slice, or at a slice with
// first_mb_in_slice 0 after a slice.
func splitAccessUnits(t *testing.T, stream []byte) []testAU {
	t.Helper()
	nalus, err := SplitAnnexB(stream)
	if err != nil {
		t.Fatal(err)
	}
	var aus []testAU
	sawSlice := true
	for _, n := range nalus {
		typ := TypeOf(n)
		begins := false
		switch {
		case typ == NALUAUD || typ == NALUSPS || typ == NALUPPS || typ == NALUSEI:
			begins = sawSlice
		case typ.IsVCL():
			sh, err := ParseSliceHeader(n)
			if err != nil {
				t.Fatal(err)
			}
			begins = sawSlice && sh.FirstMb == 0
		}
		if begins || len(aus) == 0 {
			aus = append(aus, testAU{offset: cap(stream) - cap(n)}) // n aliases stream
			sawSlice = false
		}
		au := &aus[len(aus)-1]
		au.nalus = append(au.nalus, n)
		if typ.IsVCL() {
			sawSlice = true
		}
	}
	return aus
}

func firstSPS(t *testing.T, aus []testAU) *SPS {
	t.Helper()
	for _, n := range aus[0].nalus {
		if TypeOf(n) == NALUSPS {
			sps, err := ParseSPS(n)
			if err != nil {
				t.Fatal(err)
			}
			return sps
		}
	}
	t.Fatal("no SPS in the first access unit")
	return nil
}

// TestParseSPSGolden reads streams libx264 wrote (testdata/), without ffmpeg at hand.
func TestParseSPSGolden(t *testing.T) {
	for _, tc := range []struct {
		file             string
		width, height    int
		profile          string
		level            uint8
		reorder          int
		pictures         string // counts of I, P and B pictures
		codec            string
		cropRight, cropB int
	}{
		{"x264_320x240_high.h264", 320, 240, "High", 12, 2, "I1 P5 B9", "avc1.64000C", 0, 0},
		{"x264_322x178_baseline.h264", 322, 178, "Constrained Baseline", 12, 0, "I1 P14 B0", "avc1.42C00C", 14, 14},
	} {
		t.Run(tc.file, func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			aus := splitAccessUnits(t, stream)
			sps := firstSPS(t, aus)
			if sps.Width != tc.width || sps.Height != tc.height || sps.ProfileName() != tc.profile || sps.LevelIDC != tc.level {
				t.Errorf("SPS: %dx%d %s level %d", sps.Width, sps.Height, sps.ProfileName(), sps.LevelIDC)
			}
			if sps.CropRight != tc.cropRight || sps.CropBottom != tc.cropB {
				t.Errorf("cropping right %d bottom %d", sps.CropRight, sps.CropBottom)
			}
			if sps.VUI == nil || !sps.VUI.BitstreamRestriction || sps.VUI.MaxNumReorderFrames != tc.reorder {
				t.Errorf("VUI %+v, want reorder %d", sps.VUI, tc.reorder)
			}
			if fps, ok := sps.FrameRate(); !ok || fps != 15 {
				t.Errorf("frame rate %v %v", fps, ok)
			}
			if sps.CodecString() != tc.codec {
				t.Errorf("codec %s, want %s", sps.CodecString(), tc.codec)
			}
			counts := map[SliceType]int{}
			for i, au := range aus {
				typ, err := PictureType(au.nalus)
				if err != nil {
					t.Fatal(err)
				}
				counts[typ]++
				if IsKeyframe(au.nalus) != (i == 0) || HasBFrame(au.nalus) != (typ == SliceB) {
					t.Errorf("access unit %d: keyframe %v, B %v", i, IsKeyframe(au.nalus), HasBFrame(au.nalus))
				}
			}
			if got := fmt.Sprintf("I%d P%d B%d", counts[SliceI], counts[SliceP], counts[SliceB]); got != tc.pictures {
				t.Errorf("pictures %s, want %s", got, tc.pictures)
			}
		})
	}
}

// TestParseSPSAgainstFFprobe has libx264 (through Debian's ffmpeg) write streams of several
// profiles, sizes and chroma formats, and checks ParseSPS, IsKeyframe and PictureType against
// what ffprobe reports for each stream and each frame.
func TestParseSPSAgainstFFprobe(t *testing.T) {
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-encoders").Output(); err != nil || !strings.Contains(string(out), "libx264") {
		t.Skip("this ffmpeg has no libx264 encoder")
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"320x240 High", []string{"-s", "320x240", "-pix_fmt", "yuv420p"}},
		{"322x178 Main cropped", []string{"-s", "322x178", "-pix_fmt", "yuv420p", "-profile:v", "main"}},
		{"322x178 Baseline", []string{"-s", "322x178", "-pix_fmt", "yuv420p", "-profile:v", "baseline"}},
		{"322x178 4:4:4", []string{"-s", "322x178", "-pix_fmt", "yuv444p"}},
		{"322x180 4:2:2 interlaced", []string{"-s", "322x180", "-pix_fmt", "yuv422p", "-flags", "+ildct+ilme", "-x264-params", "interlaced=1"}},
		{"1280x720 High 2 slices", []string{"-s", "1280x720", "-pix_fmt", "yuv420p", "-x264-params", "slices=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.h264")
			args := append([]string{"-v", "error", "-f", "lavfi", "-i", "testsrc=rate=15", "-t", "1"}, tc.args...)
			args = append(args, "-c:v", "libx264", "-bsf:v", "h264_mp4toannexb", "-f", "h264", path)
			if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			out, err := exec.Command(ffprobe, "-v", "error", "-show_streams", "-show_frames", "-show_entries",
				"stream=width,height,profile,has_b_frames:frame=pict_type,key_frame,pkt_pos", "-of", "json", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					Width, Height int
					Profile       string
					HasBFrames    int `json:"has_b_frames"`
				}
				Frames []struct {
					PictType string `json:"pict_type"`
					KeyFrame int    `json:"key_frame"`
					PktPos   string `json:"pkt_pos"`
				}
			}
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatal(err)
			}
			stream, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			aus := splitAccessUnits(t, stream)
			sps := firstSPS(t, aus)
			st := probe.Streams[0]
			if sps.Width != st.Width || sps.Height != st.Height || sps.ProfileName() != st.Profile {
				t.Errorf("ParseSPS %dx%d %q, ffprobe %dx%d %q", sps.Width, sps.Height, sps.ProfileName(), st.Width, st.Height, st.Profile)
			}
			if sps.VUI == nil || sps.VUI.MaxNumReorderFrames != st.HasBFrames {
				t.Errorf("VUI %+v, ffprobe has_b_frames %d", sps.VUI, st.HasBFrames)
			}
			if len(probe.Frames) != len(aus) {
				t.Fatalf("%d access units, ffprobe %d frames", len(aus), len(probe.Frames))
			}
			for _, f := range probe.Frames {
				var pos int
				fmt.Sscan(f.PktPos, &pos)
				i := len(aus) - 1
				for i > 0 && aus[i].offset-4 > pos {
					i--
				}
				typ, err := PictureType(aus[i].nalus)
				if err != nil {
					t.Fatal(err)
				}
				if typ.String() != f.PictType || IsKeyframe(aus[i].nalus) != (f.KeyFrame == 1) {
					t.Errorf("access unit %d at %d: %v keyframe %v; ffprobe %s key_frame %d", i, aus[i].offset, typ, IsKeyframe(aus[i].nalus), f.PictType, f.KeyFrame)
				}
			}
		})
	}
}

func TestParseSPSErrors(t *testing.T) {
	valid := []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0xc0, 0x44, 0x00}
	if _, err := ParseSPS(valid); err != nil {
		t.Fatalf("valid SPS: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"not an SPS":     {0x68, 0xce, 0x3c, 0x80},
		"forbidden bit":  append([]byte{0xe7}, valid[1:]...),
		"cut short":      valid[:6],
		"huge picture":   {0x67, 0x42, 0xc0, 0x1e, 0xf0, 0x00, 0x00, 0x00, 0x01, 0xff},
		"sps id 32":      {0x67, 0x42, 0xc0, 0x1e, 0x04, 0x20, 0xff},
		"high, all ones": {0x67, 100, 0, 30, 0xff, 0xff, 0xff},
	} {
		if _, err := ParseSPS(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
