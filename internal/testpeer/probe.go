package testpeer

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
)

// Probe is what ffprobe reports of a media file (a TS, MP4, AAC or an HLS playlist, decoded
// through its segments), frames counted.
type Probe struct {
	Streams []ProbeStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// ProbeStream is one stream of a Probe.
type ProbeStream struct {
	CodecName    string `json:"codec_name"`
	CodecType    string `json:"codec_type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	RFrameRate   string `json:"r_frame_rate"`
	AvgFrameRate string `json:"avg_frame_rate"`
	BitRate      string `json:"bit_rate"`
	NbReadFrames string `json:"nb_read_frames"`
	Duration     string `json:"duration"`
}

// Seconds is the format's duration.
func (p Probe) Seconds() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// Codecs is the set of the streams' codec names.
func (p Probe) Codecs() map[string]bool {
	out := map[string]bool{}
	for _, s := range p.Streams {
		out[s.CodecName] = true
	}
	return out
}

// ProbeFile runs ffprobe on file; a file ffprobe cannot read fails the test.
func ProbeFile(t testing.TB, file string) Probe {
	t.Helper()
	out, err := exec.Command(FFprobe(t), "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", file, err, out)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	return p
}
