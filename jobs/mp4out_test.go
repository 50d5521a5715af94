package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/mp4"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// TestCrashLeftoversRecoveredOrLost: files a crashed recorder generation left in the spool
// (FileWriting rows) are dealt with when the task ends: an ADTS file cut mid-frame is truncated
// after its last complete frame, a fragmented MP4 cut mid-fragment becomes a progressive MP4 of
// its complete fragments, each uploaded with its 310; a file with nothing complete is lost: no
// 310 for it, and 305 says Status 1.
func TestCrashLeftoversRecoveredOrLost(t *testing.T) {
	testpeer.FFprobe(t) // the judge of the files, or a clear failure without it
	rig := newRecorderRig(t)
	rig.enter(t, "14", "erin", models.Publish{Audio: true, Video: true})
	task := rig.create(t, "14", models.RecordingSpec{OutputFormat: formatMP4})
	rig.run(2 * time.Second)

	spool := filepath.Join(rig.rec.cfg.SpoolDir, task.TaskId)
	a, err := synth.NewAudio(synth.AudioConfig{UserId: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	var adts []byte
	for range 50 {
		adts = append(adts, a.Next().ADTS...)
	}
	complete := len(adts)
	adts = append(adts, a.Next().ADTS[:20]...) // the frame the crash cut
	var frag bytes.Buffer
	fw, _ := mp4.NewFragmentWriter(&frag, mp4.Tracks{Video: true})
	v, _ := synth.NewVideo(synth.VideoConfig{UserId: "erin", Width: 160, Height: 96, Fps: 15})
	for i := range 45 {
		au := v.Next()
		if err := fw.WriteVideo(au.PTS, au.PTS, au.Key, au.AnnexB()); err != nil {
			t.Fatal(err)
		}
		if i%15 == 14 {
			fw.Flush()
		}
	}
	cut := frag.Bytes()[:frag.Len()-30] // the third flush was cut: frames 0-28 remain (each flush keeps the last one back)
	leftovers := map[string][]byte{"crashed_1.aac.part": adts, "crashed_1.mp4.frag": cut, "crashed_2.mp4.frag": []byte("\x00\x00\x00\x18ftypisom")}
	startMs := rig.clock.Now().Add(-time.Minute).UnixMilli()
	for spoolName, b := range leftovers {
		if err := os.WriteFile(filepath.Join(spool, spoolName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		name, kind := spoolName[:len(spoolName)-len(".part")], "aac"
		if filepath.Ext(spoolName) == ".frag" {
			name, kind = spoolName[:len(spoolName)-len(".frag")], "mp4"
		}
		err := rig.store.SpoolFile(context.Background(), models.SpooledFile{TaskRef: task.ID, ObjectKey: task.TaskId + "/" + name,
			Kind: kind, Spool: spoolName, Writing: true, StartMs: &startMs})
		if err != nil {
			t.Fatal(err)
		}
	}
	rig.run(2 * time.Second)
	rig.finish(t, task)

	dir := t.TempDir()
	keys := rig.fetch(t, task.TaskId+"/", dir)
	live := "1400000001_14__UserId_s_ZXJpbg..__UserId_e_main_1.mp4"
	if want := []string{live, "crashed_1.aac", "crashed_1.mp4"}; !equal(keys, want) {
		t.Fatalf("objects %v, want %v", keys, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "crashed_1.aac")); len(b) != complete {
		t.Fatalf("recovered AAC of %d bytes, %d complete", len(b), complete)
	}
	p := testpeer.ProbeFile(t, filepath.Join(dir, "crashed_1.mp4"))
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Seconds() < 1.85 || p.Seconds() > 2 {
		t.Fatalf("recovered MP4: %+v, %.2f s (two fragments: 29 frames)", p.Streams, p.Seconds())
	}
	events, _ := rig.store.Callbacks(context.Background(), models.CallbackQuery{TaskId: task.TaskId})
	var stopped []string
	var status []int
	for _, e := range events {
		var body struct {
			EventInfo struct {
				Payload struct {
					Status      int
					FileMessage []struct {
						FileName                     string
						StartTimeStamp, EndTimeStamp int64
					}
				}
			}
		}
		json.Unmarshal(e.Body, &body)
		switch e.EventType {
		case models.EventMP4Stop:
			m := body.EventInfo.Payload.FileMessage[0]
			stopped = append(stopped, m.FileName)
			if m.FileName == "crashed_1.mp4" && (m.StartTimeStamp != startMs || m.EndTimeStamp-m.StartTimeStamp != 29000/15) {
				t.Fatalf("310 of the recovered MP4: %+v (start %d)", m, startMs)
			}
		case models.EventUploadStop:
			status = append(status, body.EventInfo.Payload.Status)
		}
	}
	sort.Strings(stopped)
	if want := []string{live, "crashed_1.aac", "crashed_1.mp4"}; !equal(stopped, want) {
		t.Fatalf("310 for %v, want %v", stopped, want)
	}
	if len(status) != 1 || status[0] != 1 {
		t.Fatalf("305 Status %v with a lost file", status)
	}
	files, _ := rig.store.TaskFiles(context.Background(), task.TaskId)
	for _, f := range files {
		if filepath.Base(f.ObjectKey) == "crashed_2.mp4" && (f.State != models.FileLost || f.LastError == "") {
			t.Fatalf("the unrecoverable file is %s (%q)", f.State, f.LastError)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzADTSPrefix: adtsPrefix reads the spool's AAC bytes after a crash; whatever they are, the
// prefix it keeps is whole frames, each of which the ADTS parser accepts.
func FuzzADTSPrefix(f *testing.F) {
	a, _ := synth.NewAudio(synth.AudioConfig{UserId: "fuzz"})
	var b []byte
	for range 3 {
		b = append(b, a.Next().ADTS...)
	}
	f.Add(b)
	f.Add(b[:len(b)-5])
	f.Add([]byte{0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, d, err := adtsPrefix(bytes.NewReader(b))
		if err != nil || n < 0 || n > int64(len(b)) || (n == 0) != (d == 0) {
			t.Fatalf("prefix %d, %v, %v of %d bytes", n, d, err, len(b))
		}
		rest := b[:n]
		for len(rest) > 0 {
			h, err := parseADTS(rest)
			if err != nil || h > len(rest) {
				t.Fatalf("the kept prefix does not split into frames: %v", err)
			}
			rest = rest[h:]
		}
	})
}

func parseADTS(b []byte) (int, error) {
	h, err := aac.ParseADTSHeader(b)
	return h.FrameLength, err
}
