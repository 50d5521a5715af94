package mpegts_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts"
	"github.com/trtc-emulator/trtc-emulator/media/mpegts/mpegtstest"
)

// ffprobe and ffmpeg judge what we mux from an input ffmpeg made: streams, sizes, packet counts,
// timestamps, key frames and duration match the input, and ffmpeg decodes it without a word.
func TestMuxJudgedByFFprobe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: encodes reference inputs with ffmpeg")
	}
	ffmpeg, ffprobe := testpeer.FFmpeg(t), testpeer.FFprobe(t)
	for _, tc := range []struct {
		name string
		opts mpegtstest.Options
	}{
		{"video+audio", mpegtstest.Options{Video: true, Audio: true}},
		{"video+audio, B-frames, stereo 44.1k, 640x360@30", mpegtstest.Options{Video: true, Audio: true, BFrames: 2, Channels: 2, SampleRate: 44100, Width: 640, Height: 360, FPS: 30}},
		{"video only, B-frames", mpegtstest.Options{Video: true, BFrames: 3}},
		{"audio only", mpegtstest.Options{Audio: true, SampleRate: 16000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.opts.Offset = time.Second // the priming audio frame and B-frame DTS start below 0
			in, err := mpegtstest.Generate(ffmpeg, ffprobe, dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var ts bytes.Buffer
			m, err := mpegts.NewMuxer(&ts, mpegts.Tracks{Video: tc.opts.Video, Audio: tc.opts.Audio})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range in.Units {
				if u.Video {
					err = m.WriteVideo(u.PTS, u.DTS, u.Key, u.Data)
				} else {
					err = m.WriteAudio(u.PTS, u.Data)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "out.ts")
			if err := os.WriteFile(path, ts.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := mpegtstest.DecodeErrors(ffmpeg, path); err != nil || out != "" {
				t.Errorf("ffmpeg -v error -i out.ts -f null -: %v\n%s", err, out)
			}
			probe, err := mpegtstest.Probe(ffprobe, path)
			if err != nil {
				t.Fatal(err)
			}
			if probe.Format.FormatName != "mpegts" {
				t.Errorf("format %q", probe.Format.FormatName)
			}
			wantStreams := 0
			for _, s := range probe.Streams {
				switch s.CodecType {
				case "video":
					wantStreams++
					if s.CodecName != "h264" || s.Width != in.Width || s.Height != in.Height || s.ID != "0x100" {
						t.Errorf("video stream: %+v", s)
					}
					if s.NbReadPackets != itoa(in.VideoFrames) {
						t.Errorf("video: %s packets, input has %d", s.NbReadPackets, in.VideoFrames)
					}
				case "audio":
					wantStreams++
					if s.CodecName != "aac" || s.Profile != "LC" || s.SampleRate != itoa(in.SampleRate) || s.Channels != in.Channels || s.ID != "0x101" {
						t.Errorf("audio stream: %+v", s)
					}
					if s.NbReadPackets != itoa(in.AudioFrames) {
						t.Errorf("audio: %s packets, input has %d", s.NbReadPackets, in.AudioFrames)
					}
				}
			}
			if n := b2i(tc.opts.Video) + b2i(tc.opts.Audio); len(probe.Streams) != n || wantStreams != n {
				t.Errorf("%d streams, want %d", len(probe.Streams), n)
			}

			var inV, inA []mpegtstest.Unit
			for _, u := range in.Units {
				if u.Video {
					inV = append(inV, u)
				} else {
					inA = append(inA, u)
				}
			}
			checkPackets(t, "video", probe.PacketsOf("video"), inV)
			checkPackets(t, "audio", probe.PacketsOf("audio"), inA)

			frame := in.FrameLen
			if !tc.opts.Video {
				frame = in.AudioFrameLen
			}
			if d := probe.Duration() - in.Span(); d > frame || d < -frame {
				t.Errorf("duration %v, input spans %v: more than one frame (%v) apart", probe.Duration(), in.Span(), frame)
			}
			t.Logf("%d video + %d audio units, %d bytes of ES → %d bytes of TS (%.1f%% overhead); duration %v (input spans %v)",
				in.VideoFrames, in.AudioFrames, in.VideoBytes+in.AudioBytes, ts.Len(),
				100*float64(ts.Len()-in.VideoBytes-in.AudioBytes)/float64(in.VideoBytes+in.AudioBytes), probe.Duration(), in.Span())
		})
	}
}

// checkPackets compares ffprobe's packets of one stream with the units written: same count,
// same PTS, DTS rising, key frames where the input had them, sizes (video gains a 6-byte AUD).
func checkPackets(t *testing.T, kind string, got []mpegtstest.Packet, want []mpegtstest.Unit) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d packets, want %d", kind, len(got), len(want))
		return
	}
	const tick = 12 * time.Microsecond // one 90 kHz tick and rounding
	var last time.Duration = -1
	gotPTS := make([]time.Duration, len(got))
	wantPTS := make([]time.Duration, len(want))
	for i, p := range got {
		if dts := p.DTSTime(); dts <= last {
			t.Errorf("%s packet %d: DTS %v after %v", kind, i, dts, last)
		} else {
			last = dts
		}
		if d := p.DTSTime() - want[i].DTS; d > tick || d < -tick {
			t.Errorf("%s packet %d: DTS %v, want %v", kind, i, p.DTSTime(), want[i].DTS)
		}
		if p.Key() != want[i].Key {
			t.Errorf("%s packet %d: key %v, want %v", kind, i, p.Key(), want[i].Key)
		}
		size := len(want[i].Data)
		if kind == "video" && !bytes.HasPrefix(want[i].Data, []byte{0, 0, 0, 1, 9}) {
			size += 6
		}
		if p.SizeBytes() != size {
			t.Errorf("%s packet %d: %d bytes, want %d", kind, i, p.SizeBytes(), size)
		}
		gotPTS[i], wantPTS[i] = p.PTSTime(), want[i].PTS
	}
	slices.Sort(gotPTS)
	slices.Sort(wantPTS)
	for i := range gotPTS {
		if d := gotPTS[i] - wantPTS[i]; d > tick || d < -tick {
			t.Errorf("%s: the %d-th PTS is %v, want %v", kind, i, gotPTS[i], wantPTS[i])
			return
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itoa(i int) string { return strconv.Itoa(i) }
