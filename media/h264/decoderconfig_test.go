package h264

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
)

func TestDecoderConfigRoundTrip(t *testing.T) {
	stream, err := os.ReadFile("testdata/x264_320x240_high.h264")
	if err != nil {
		t.Fatal(err)
	}
	nalus, err := SplitAnnexB(stream)
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps [][]byte
	for _, n := range nalus {
		switch TypeOf(n) {
		case NALUSPS:
			sps = append(sps, n)
		case NALUPPS:
			pps = append(pps, n)
		}
	}
	c, err := NewDecoderConfig(sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[1] != 100 || len(b) != 6+2+len(sps[0])+1+2+len(pps[0])+4 {
		t.Errorf("High profile record of %d bytes: %x", len(b), b)
	}
	back, err := ParseDecoderConfig(b)
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	for n := range len(b) - 5 { // every cut through the parameter sets is an error
		if _, err := ParseDecoderConfig(b[:n]); err == nil && n < 6+2+len(sps[0])+1+2+len(pps[0]) {
			t.Errorf("record cut to %d bytes accepted", n)
		}
	}
	if _, err := NewDecoderConfig(nil, pps); err == nil {
		t.Error("config without SPS")
	}
}

// TestDecoderConfigFromFFmpeg parses the avcC box of an MP4 that ffmpeg muxed and compares its
// parameter sets with the Annex B ones of the same encode.
func TestDecoderConfigFromFFmpeg(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "x.mp4")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", "testdata/x264_322x178_baseline.h264", "-c", "copy", mp4).CombinedOutput(); err != nil {
		t.Skipf("ffmpeg cannot remux: %v %s", err, out)
	}
	file, err := os.ReadFile(mp4)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(file, []byte("avcC"))
	if i < 4 {
		t.Fatal("no avcC box")
	}
	size := int(binary.BigEndian.Uint32(file[i-4:]))
	c, err := ParseDecoderConfig(file[i+4 : i-4+size])
	if err != nil {
		t.Fatal(err)
	}
	sps, err := ParseSPS(c.SPS[0])
	if err != nil || sps.Width != 322 || sps.Height != 178 || c.LengthSize != 4 || c.ProfileIDC != 66 {
		t.Errorf("avcC %+v, SPS %+v, %v", c, sps, err)
	}
	stream, _ := os.ReadFile("testdata/x264_322x178_baseline.h264")
	nalus, _ := SplitAnnexB(stream)
	if !bytes.Equal(nalus[0], c.SPS[0]) || !bytes.Equal(nalus[1], c.PPS[0]) {
		t.Errorf("avcC parameter sets differ from the stream's")
	}
}
