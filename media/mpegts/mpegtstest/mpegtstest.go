// Package mpegtstest is for tests of media/mpegts and media/hls: it has ffmpeg make a reference
// H.264 + AAC input, splits it into access units and ADTS frames with code of its own (not
// media/h264, so the muxer is judged by something written apart from it), and reads ffprobe's
// verdict on what was muxed. The caller passes the ffmpeg and ffprobe paths (internal/testpeer
// finds them), so this package imports nothing of ours but media/aac.
package mpegtstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
)

// Options describe the reference input.
type Options struct {
	Video, Audio  bool
	Width, Height int           // 320x240 when 0
	FPS           int           // 15 when 0
	GOP           int           // frames per keyframe interval; 2 s when 0
	BFrames       int           // libx264 -bf
	Seconds       float64       // 6 when 0
	SampleRate    int           // 48000 when 0
	Channels      int           // 1 when 0
	Offset        time.Duration // added to every timestamp (B-frames give negative DTS at the start)
	VideoBitrate  string        // libx264 -b:v, e.g. "2M"; its default CRF when empty
	Pattern       string        // the lavfi source: "testsrc" when empty, "testsrc2" is costlier to code
}

// Unit is one access unit or ADTS frame, in decoding order.
type Unit struct {
	Video    bool
	PTS, DTS time.Duration
	Key      bool
	Data     []byte
}

// Input is the reference input: the units of both tracks interleaved by DTS.
type Input struct {
	Options
	Units         []Unit
	VideoFrames   int
	AudioFrames   int
	VideoBytes    int
	AudioBytes    int
	Source        string        // the MP4 ffmpeg wrote, with the same streams
	Duration      time.Duration // ffprobe's duration of Source
	FrameLen      time.Duration // one video frame
	AudioFrameLen time.Duration // one AAC frame
}

// Generate has ffmpeg encode a test pattern and a 440 Hz tone into dir/src.mp4, extracts the raw
// streams with -c copy, and splits them.
func Generate(ffmpeg, ffprobe, dir string, o Options) (*Input, error) {
	if o.Width == 0 {
		o.Width, o.Height = 320, 240
	}
	if o.FPS == 0 {
		o.FPS = 15
	}
	if o.GOP == 0 {
		o.GOP = 2 * o.FPS
	}
	if o.Seconds == 0 {
		o.Seconds = 6
	}
	if o.SampleRate == 0 {
		o.SampleRate = 48000
	}
	if o.Channels == 0 {
		o.Channels = 1
	}
	if o.Pattern == "" {
		o.Pattern = "testsrc"
	}
	in := &Input{Options: o, Source: filepath.Join(dir, "src.mp4")}
	in.FrameLen = time.Second / time.Duration(o.FPS)
	in.AudioFrameLen = aac.FrameDuration(o.SampleRate)
	args := []string{"-v", "error", "-y"}
	if o.Video {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("%s=size=%dx%d:rate=%d", o.Pattern, o.Width, o.Height, o.FPS))
	}
	if o.Audio {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=%d", o.SampleRate))
	}
	args = append(args, "-t", strconv.FormatFloat(o.Seconds, 'f', -1, 64))
	if o.Video {
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
			"-g", strconv.Itoa(o.GOP), "-keyint_min", strconv.Itoa(o.GOP), "-sc_threshold", "0", "-bf", strconv.Itoa(o.BFrames))
	}
	if o.Audio {
		args = append(args, "-c:a", "aac", "-ac", strconv.Itoa(o.Channels))
	}
	if err := run(ffmpeg, append(args, in.Source)...); err != nil {
		return nil, err
	}
	var video, audio []byte
	var err error
	if o.Video {
		raw := filepath.Join(dir, "src.h264")
		if err := run(ffmpeg, "-v", "error", "-y", "-i", in.Source, "-map", "0:v", "-c", "copy", "-f", "h264", raw); err != nil {
			return nil, err
		}
		if video, err = os.ReadFile(raw); err != nil {
			return nil, err
		}
	}
	if o.Audio {
		raw := filepath.Join(dir, "src.aac")
		if err := run(ffmpeg, "-v", "error", "-y", "-i", in.Source, "-map", "0:a", "-c", "copy", "-f", "adts", raw); err != nil {
			return nil, err
		}
		if audio, err = os.ReadFile(raw); err != nil {
			return nil, err
		}
	}
	probe, err := Probe(ffprobe, in.Source)
	if err != nil {
		return nil, err
	}
	in.Duration = probe.Duration()
	aus := SplitAnnexB(video)
	frames, err := aac.SplitADTS(audio)
	if err != nil {
		return nil, err
	}
	var vi, ai int
	for _, p := range probe.Packets {
		u := Unit{PTS: p.PTSTime() + o.Offset, DTS: p.DTSTime() + o.Offset, Key: p.Key()}
		switch p.CodecType(probe) {
		case "video":
			if vi >= len(aus) {
				return nil, fmt.Errorf("ffprobe lists more video packets than the %d access units split", len(aus))
			}
			u.Video, u.Data = true, aus[vi]
			vi++
			in.VideoBytes += len(u.Data)
		case "audio":
			if ai >= len(frames) {
				return nil, fmt.Errorf("ffprobe lists more audio packets than the %d ADTS frames split", len(frames))
			}
			u.Data = frames[ai]
			ai++
			in.AudioBytes += len(u.Data)
		}
		in.Units = append(in.Units, u)
	}
	if vi != len(aus) || ai != len(frames) {
		return nil, fmt.Errorf("split %d access units and %d ADTS frames, ffprobe lists %d and %d packets", len(aus), len(frames), vi, ai)
	}
	in.VideoFrames, in.AudioFrames = vi, ai
	slices.SortStableFunc(in.Units, func(a, b Unit) int { return int(a.DTS - b.DTS) })
	return in, nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}

// SplitAnnexB splits an H.264 Annex B byte stream into access units by the rule of ISO/IEC
// 14496-10 7.4.1.2.3: once a unit holds a slice, an AUD, SEI, SPS, PPS (or NAL types 14-18)
// or a slice with first_mb_in_slice 0 starts the next one.
func SplitAnnexB(b []byte) [][]byte {
	var aus [][]byte
	start, hasVCL := -1, false
	i := 0
	for {
		sc := nextStartCode(b, i)
		if sc < 0 {
			break
		}
		hdr := sc + 3
		if hdr >= len(b) {
			break
		}
		// Include a fourth leading zero in the start code.
		begin := sc
		if begin > 0 && b[begin-1] == 0 {
			begin--
		}
		t := b[hdr] & 0x1F
		vcl := t >= 1 && t <= 5
		first := vcl && hdr+1 < len(b) && b[hdr+1]&0x80 != 0 // ue(v) first_mb_in_slice == 0
		boundary := hasVCL && (t == 6 || t == 7 || t == 8 || t == 9 || (t >= 14 && t <= 18) || first)
		if start < 0 {
			start = begin
		} else if boundary {
			aus = append(aus, b[start:begin])
			start, hasVCL = begin, false
		}
		hasVCL = hasVCL || vcl
		i = hdr
	}
	if start >= 0 {
		aus = append(aus, b[start:])
	}
	return aus
}

func nextStartCode(b []byte, from int) int {
	if k := bytes.Index(b[from:], []byte{0, 0, 1}); k >= 0 {
		return from + k
	}
	return -1
}

// IsKey reports whether an access unit holds an IDR slice.
func IsKey(au []byte) bool {
	for i := 0; ; {
		sc := nextStartCode(au, i)
		if sc < 0 || sc+3 >= len(au) {
			return false
		}
		if au[sc+3]&0x1F == 5 {
			return true
		}
		i = sc + 3
	}
}

// ProbeResult is ffprobe's JSON for -show_format -show_streams -show_packets.
type ProbeResult struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		StartTime  string `json:"start_time"`
	} `json:"format"`
	Streams []struct {
		Index         int    `json:"index"`
		CodecName     string `json:"codec_name"`
		CodecType     string `json:"codec_type"`
		Profile       string `json:"profile"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		SampleRate    string `json:"sample_rate"`
		Channels      int    `json:"channels"`
		ID            string `json:"id"`
		NbReadPackets string `json:"nb_read_packets"`
		Duration      string `json:"duration"`
		StartTime     string `json:"start_time"`
	} `json:"streams"`
	Packets []Packet `json:"packets"`
}

// Packet is one of ffprobe's packets.
type Packet struct {
	StreamIndex int    `json:"stream_index"`
	PTS         string `json:"pts_time"`
	DTS         string `json:"dts_time"`
	Duration    string `json:"duration_time"`
	Size        string `json:"size"`
	Flags       string `json:"flags"`
	Pos         string `json:"pos"`
}

func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond)
}

// PTSTime and DTSTime are the packet's timestamps; -1 when ffprobe gave none.
func (p Packet) PTSTime() time.Duration { return seconds(p.PTS) }
func (p Packet) DTSTime() time.Duration { return seconds(p.DTS) }

// Key reports ffprobe's K flag.
func (p Packet) Key() bool { return len(p.Flags) > 0 && p.Flags[0] == 'K' }

// SizeBytes is the packet's size.
func (p Packet) SizeBytes() int { n, _ := strconv.Atoi(p.Size); return n }

// CodecType is "video" or "audio".
func (p Packet) CodecType(r *ProbeResult) string {
	for _, s := range r.Streams {
		if s.Index == p.StreamIndex {
			return s.CodecType
		}
	}
	return ""
}

// Span is the time the units cover: from the earliest PTS to the end of the latest unit.
func (in *Input) Span() time.Duration {
	if len(in.Units) == 0 {
		return 0
	}
	first, end := in.Units[0].PTS, time.Duration(0)
	for _, u := range in.Units {
		d := in.AudioFrameLen
		if u.Video {
			d = in.FrameLen
		}
		first = min(first, u.PTS)
		end = max(end, u.PTS+d)
	}
	return end - first
}

// Duration is the container duration.
func (r *ProbeResult) Duration() time.Duration { return seconds(r.Format.Duration) }

// StartTime is the container start time.
func (r *ProbeResult) StartTime() time.Duration { return seconds(r.Format.StartTime) }

// PacketsOf returns the packets of the stream of codec type kind, in file order.
func (r *ProbeResult) PacketsOf(kind string) []Packet {
	var out []Packet
	for _, p := range r.Packets {
		if p.CodecType(r) == kind {
			out = append(out, p)
		}
	}
	return out
}

// Probe runs ffprobe on path (a file or a playlist).
func Probe(ffprobe, path string) (*ProbeResult, error) {
	out, err := exec.Command(ffprobe, "-v", "error", "-count_packets", "-show_format", "-show_streams", "-show_packets", "-of", "json", path).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return nil, fmt.Errorf("ffprobe %s: %v %s", path, err, msg)
	}
	var r ProbeResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("ffprobe %s: %v", path, err)
	}
	return &r, nil
}

// DecodeErrors runs ffmpeg -v error -i path -f null - and returns what it printed.
func DecodeErrors(ffmpeg, path string) (string, error) {
	out, err := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	return string(out), err
}
