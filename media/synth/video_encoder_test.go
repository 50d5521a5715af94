package synth

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
)

// videoDecodeYUV has ffmpeg decode an Annex B stream to raw yuv420p frames; any message on its
// stderr at -v error fails the test.
func videoDecodeYUV(t *testing.T, stream []byte, width, height int) [][]byte {
	t.Helper()
	ffmpeg := testpeer.FFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.h264")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "h264", "-i", in, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffmpeg reported errors decoding our stream:\n%s", stderr.String())
	}
	size := width*height + 2*(width/2)*(height/2)
	if stdout.Len()%size != 0 {
		t.Fatalf("ffmpeg wrote %d bytes, not a whole number of %dx%d frames", stdout.Len(), width, height)
	}
	var frames [][]byte
	for b := stdout.Bytes(); len(b) > 0; b = b[size:] {
		frames = append(frames, b[:size])
	}
	return frames
}

// cropped returns the visible part of p as yuv420p bytes, like ffmpeg's rawvideo output.
func (p *picture) cropped(width, height int) []byte {
	out := make([]byte, 0, width*height*3/2)
	for y := range height {
		out = append(out, p.y[y*p.strideY():][:width]...)
	}
	for _, plane := range [][]uint8{p.cb, p.cr} {
		for y := range height / 2 {
			out = append(out, plane[y*p.strideC():][:width/2]...)
		}
	}
	return out
}

// videoFillNoise fills the macroblocks marked in which (all when nil) with content of the given
// kind, to drive every coefficient count, level size and prediction mode.
func videoFillNoise(p *picture, rng *rand.Rand, kind int, which []bool) {
	for my := range p.mbH {
		for mx := range p.mbW {
			if which != nil && !which[my*p.mbW+mx] {
				continue
			}
			k := kind
			if k < 0 {
				k = rng.IntN(5)
			}
			flatY, flatC := uint8(rng.IntN(256)), [2]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256))}
			amp := []int{0, 3, 20, 80, 256}[k]
			sample := func(base uint8, x, y int) uint8 {
				switch k {
				case 0:
					return base
				case 2:
					return uint8(int(base) + (x*7+y*3)%64) // gradient
				}
				return uint8(max(0, min(255, int(base)+rng.IntN(amp)-amp/2)))
			}
			for y := range 16 {
				for x := range 16 {
					p.y[(16*my+y)*p.strideY()+16*mx+x] = sample(flatY, x, y)
				}
			}
			for c, plane := range [2][]uint8{p.cb, p.cr} {
				for y := range 8 {
					for x := range 8 {
						plane[(8*my+y)*p.strideC()+8*mx+x] = sample(flatC[c], x, y)
					}
				}
			}
		}
	}
}

// TestEncoderMatchesDecoder checks the encoder's own reconstruction against ffmpeg's decoding,
// sample for sample, on content that exercises every CAVLC table and quantiser range: if a
// code table, a scan order or a rounding step were wrong, the pictures would part ways.
func TestEncoderMatchesDecoder(t *testing.T) {
	for _, tc := range []struct {
		w, h, qp int
	}{
		{64, 48, 26}, {96, 64, 0}, {80, 48, 12}, {48, 32, 28}, {64, 64, 40}, {34, 18, 51},
	} {
		t.Run(fmt.Sprintf("%dx%d_qp%d", tc.w, tc.h, tc.qp), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.qp), uint64(tc.w)))
			e := newEncoder(tc.w, tc.h, 15, tc.qp)
			src := newPicture(e.mbW, e.mbH)
			var stream []byte
			var want [][]byte
			code := make([]bool, e.mbW*e.mbH)
			for frame := range 24 {
				if frame%8 == 0 {
					videoFillNoise(src, rng, frame/8%5-1+videoBoolInt(frame == 0), nil)
					stream = h264.AppendAnnexB(stream, e.encodeIDR(src))
				} else {
					for i := range code {
						code[i] = rng.IntN(3) == 0
					}
					videoFillNoise(src, rng, -1, code)
					stream = h264.AppendAnnexB(stream, [][]byte{e.encodeP(src, code)})
				}
				want = append(want, e.recon.cropped(tc.w, tc.h))
			}
			got := videoDecodeYUV(t, stream, tc.w, tc.h)
			if len(got) != len(want) {
				t.Fatalf("ffmpeg decoded %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d: decoder's picture differs from the encoder's at byte %d", i, videoFirstDiff(got[i], want[i]))
				}
			}
		})
	}
}

func videoBoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func videoFirstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestCAVLCTablesArePrefixFree guards the transcription of the code tables: within a table no
// code may be the prefix of another.
func TestCAVLCTablesArePrefixFree(t *testing.T) {
	check := func(name string, codes []string) {
		t.Helper()
		for i, a := range codes {
			for j, b := range codes {
				if i != j && a != "" && b != "" && strings.HasPrefix(b, a) {
					t.Errorf("%s: code %q is a prefix of %q", name, a, b)
				}
			}
		}
	}
	for i, tab := range coeffTokenText {
		var all []string
		for _, row := range tab {
			all = append(all, row[:]...)
		}
		check(fmt.Sprintf("coeff_token %d", i), all)
	}
	var all []string
	for _, row := range chromaDCCoeffTokenText {
		all = append(all, row[:]...)
	}
	check("chroma DC coeff_token", all)
	for i, tab := range totalZerosText {
		check(fmt.Sprintf("total_zeros %d", i), tab)
	}
	for i, tab := range chromaDCTotalZerosText {
		check(fmt.Sprintf("chroma DC total_zeros %d", i), tab)
	}
	for i, tab := range runBeforeText {
		check(fmt.Sprintf("run_before %d", i), tab)
	}
}

// videoRandomLevels fills a block of levels (scan order) with a random coefficient count, trailing
// ones or not, and small magnitudes that keep the inverse transform within 16 bits.
func videoRandomLevels(rng *rand.Rand, levels []int32, density int) {
	n := len(levels)
	clear(levels)
	var total int
	switch density {
	case 0:
		total = rng.IntN(min(n, 4) + 1)
	case 1:
		total = rng.IntN(min(n, 9) + 1)
	case 2:
		total = n/2 + rng.IntN(n-n/2+1)
	case 4: // full, three trailing ones
		total = n
	default:
		total = rng.IntN(n + 1)
	}
	pos := rng.Perm(n)[:total]
	slices.Sort(pos)
	for k := len(pos) - 1; k >= 0; k-- {
		mag := int32(1)
		if len(pos)-1-k >= 3 || (density != 4 && rng.IntN(2) == 0) {
			mag = 1 + int32(rng.IntN(1+rng.IntN(20)))
		}
		if rng.IntN(2) == 0 {
			mag = -mag
		}
		levels[pos[k]] = mag
	}
}

// TestEncoderCodesEveryCoeffToken forces random levels into macroblocks until every
// coeff_token of every table has been written, and checks ffmpeg decodes the result to the
// encoder's own reconstruction.
func TestEncoderCodesEveryCoeffToken(t *testing.T) {
	type token struct{ table, total, t1 int }
	seen := map[token]bool{}
	coeffTokenSeen = func(nC, total, t1 int) {
		table := 3
		switch {
		case nC == -1:
			table = -1
		case nC < 2:
			table = 0
		case nC < 4:
			table = 1
		case nC < 8:
			table = 2
		}
		seen[token{table, total, t1}] = true
	}
	defer func() { coeffTokenSeen = nil }()

	rng := rand.New(rand.NewPCG(1, 2))
	const w, h = 128, 96
	e := newEncoder(w, h, 15, 20)
	density := 0
	e.levelHook = func(dc *[16]int32, ac *[16][16]int32, cdc *[2][4]int32, cac *[2][4][16]int32) {
		density = rng.IntN(4)
		var scan [16]int32
		videoRandomLevels(rng, scan[:], max(density, 4*videoBoolInt(rng.IntN(8) == 0)))
		for i, r := range zigzag4x4 {
			dc[r] = scan[i]
		}
		for b := range ac {
			ac[b] = [16]int32{}
			if rng.IntN(4) == 0 {
				continue
			}
			videoRandomLevels(rng, scan[:15], density)
			for i := 1; i < 16; i++ {
				ac[b][zigzag4x4[i]] = scan[i-1]
			}
		}
		for c := range 2 {
			videoRandomLevels(rng, cdc[c][:], 3)
			for b := range 4 {
				cac[c][b] = [16]int32{}
				videoRandomLevels(rng, scan[:15], density)
				for i := 1; i < 16; i++ {
					cac[c][b][zigzag4x4[i]] = scan[i-1]
				}
			}
		}
	}
	src := newPicture(e.mbW, e.mbH)
	var stream []byte
	var want [][]byte
	code := make([]bool, e.mbW*e.mbH)
	for frame := range 100 {
		if frame%10 == 0 {
			stream = h264.AppendAnnexB(stream, e.encodeIDR(src))
		} else {
			for i := range code {
				code[i] = rng.IntN(2) == 0
			}
			stream = h264.AppendAnnexB(stream, [][]byte{e.encodeP(src, code)})
		}
		want = append(want, e.recon.cropped(w, h))
	}
	var missing []token
	for table := -1; table <= 3; table++ {
		maxTotal := 16
		if table == -1 {
			maxTotal = 4
		}
		for total := range maxTotal + 1 {
			for t1 := range min(total, 3) + 1 {
				if !seen[token{table, total, t1}] {
					missing = append(missing, token{table, total, t1})
				}
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("coeff_tokens never written (table, TotalCoeff, TrailingOnes): %v", missing)
	}
	got := videoDecodeYUV(t, stream, w, h)
	if len(got) != len(want) {
		t.Fatalf("ffmpeg decoded %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: decoder's picture differs from the encoder's at byte %d", i, videoFirstDiff(got[i], want[i]))
		}
	}
}
