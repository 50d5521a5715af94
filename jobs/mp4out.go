package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/mp4"
	"github.com/trtc-emulator/trtc-emulator/media/virtual"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// mp4Out writes a stream's MP4 files (or, for the aac formats, ADTS .aac files), named
// <base>_<Index>.mp4 with Index from 1, a new one above MaxMediaFileDuration or 2 GB and
// at each new run of the stream. They stay in the spool until the task ends. An MP4 file
// has every track the stream may carry (may): a track change within the run (retrack)
// leaves a gap in the track that stops and keeps the file; only video whose parameter sets
// change (a new picture size) starts a new file, as an MP4 track has one sample description.
//
// Crash safety: an MP4 is written as a fragmented MP4 (<name>.frag) flushed to disk each
// second, an AAC file is flushed each second; each is a FileWriting row from its start. A
// file finished normally becomes the progressive MP4 (Defragment). Files a crashed recorder
// left are recovered up to their last complete fragment or frame when the task ends
// (recoverWriting), or recorded lost (305 Status 1).
type mp4Out struct {
	w           *streamWriter
	row         *models.RecordingStream
	dir, base   string
	aac         bool
	maxDuration time.Duration

	may       tracks // the tracks the stream may carry
	videoSPS  []byte // the video's parameter sets, announced in the header from the start
	videoPPS  []byte
	audioASC  *aac.AudioSpecificConfig
	tracks    tracks // of the open file, as far as known
	frag      *mp4.FragmentWriter
	file      *os.File // the open .frag or .aac.part
	name      string   // the open file's final name
	startMs   int64    // wall time of its first unit
	index     int
	first     time.Duration // media time of the file's first unit
	last      time.Duration
	flushedAt time.Duration
	syncedAt  time.Time // wall clock: the last fsync
	aacFile   *spoolFile
	aacBytes  int64
}

// flushEvery is how much a crash may lose of an MP4 or AAC file.
const flushEvery = time.Second

func (o *mp4Out) open() bool { return o.frag != nil || o.aacFile != nil }

func (o *mp4Out) full() bool {
	if o.aac {
		return o.aacBytes >= maxMP4Bytes || o.last-o.first >= o.maxDuration
	}
	return o.frag.Size() >= maxMP4Bytes || o.frag.Duration() >= o.maxDuration
}

func (o *mp4Out) start(pts time.Duration) error {
	n, err := o.w.t.r.cfg.Store.CountStreamFiles(context.Background(), o.row.ID, "mp4", "aac")
	if err != nil {
		return err
	}
	o.index, o.first, o.last, o.flushedAt, o.tracks = n+1, pts, pts, pts, o.w.tracks
	o.startMs = o.w.start.Add(pts).UnixMilli()
	kind, spool := "mp4", ""
	if o.aac {
		o.tracks = tracks{audio: true}
		kind = "aac"
		o.name = fmt.Sprintf("%s_%d.aac", o.base, o.index)
		w, err := o.w.t.spoolCreate(o.name, func(size int64) error { return o.spooled(o.name, "aac", size, o.w.start.Add(o.last).UnixMilli()) })
		if err != nil {
			return err
		}
		o.aacFile, o.aacBytes = w.(*spoolFile), 0
		o.file, spool = o.aacFile.f, o.aacFile.tmp
	} else {
		o.name = fmt.Sprintf("%s_%d.mp4", o.base, o.index)
		spool = o.name + ".frag"
		if o.file, err = o.w.t.spool.Create(spool); err != nil {
			return err
		}
		o.tracks = o.may
		if o.frag, err = mp4.NewFragmentWriter(o.file, mp4.Tracks{Video: o.may.video, Audio: o.may.audio,
			VideoSPS: o.videoSPS, VideoPPS: o.videoPPS, AudioConfig: o.audioASC}); err != nil {
			return err
		}
	}
	return o.w.t.r.cfg.Store.SpoolFile(context.Background(), models.SpooledFile{TaskRef: o.w.t.task.ID, StreamRef: &o.row.ID,
		ObjectKey: o.dir + o.name, Kind: kind, Spool: spool, Writing: true, StartMs: &o.startMs, TrackType: o.tracks.trackType()})
}

func (o *mp4Out) spooled(name, kind string, size, endMs int64) error {
	start := o.startMs
	return o.w.t.r.cfg.Store.SpoolFile(context.Background(), models.SpooledFile{TaskRef: o.w.t.task.ID, StreamRef: &o.row.ID,
		ObjectKey: o.dir + name, Kind: kind, Spool: name, Bytes: size, Internal: true, StartMs: &start, EndMs: &endMs,
		TrackType: o.tracks.trackType()})
}

// flush writes out each second of media (a fragment, or the AAC frames written), which a
// killed process then cannot lose, and fsyncs at most once a second of real time, against
// a power loss: on a virtual clock an hour of media may be written in seconds.
func (o *mp4Out) flush(pts time.Duration) error {
	if pts-o.flushedAt < flushEvery {
		return nil
	}
	o.flushedAt = pts
	if o.frag != nil {
		if err := o.frag.Flush(); err != nil {
			return err
		}
	}
	if time.Since(o.syncedAt) < flushEvery {
		return nil
	}
	o.syncedAt = time.Now()
	return o.file.Sync()
}

func (o *mp4Out) writeVideo(pts time.Duration, key bool, annexB []byte) error {
	if o.open() && key && o.full() {
		if err := o.finishAt(pts); err != nil {
			return err
		}
	}
	if !o.open() {
		if !key {
			return nil // a file starts at a keyframe
		}
		if err := o.start(pts); err != nil {
			return err
		}
	}
	o.last = max(o.last, pts+time.Second/time.Duration(o.w.fps))
	err := o.frag.WriteVideo(pts, pts, key, annexB)
	if errors.Is(err, mp4.ErrParamsChanged) && key {
		// A new picture size: an MP4 track has one sample description, so a new file.
		if o.videoSPS, o.videoPPS, err = parameterSets(annexB); err != nil {
			return err
		}
		if err := o.finishAt(pts); err != nil {
			return err
		}
		if err := o.start(pts); err != nil {
			return err
		}
		err = o.frag.WriteVideo(pts, pts, key, annexB)
	}
	if err != nil {
		return err
	}
	return o.flush(pts)
}

// parameterSets returns the SPS and PPS of an Annex B access unit.
func parameterSets(annexB []byte) (sps, pps []byte, err error) {
	nalus, err := h264.SplitAnnexB(annexB)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range nalus {
		switch h264.TypeOf(n) {
		case h264.NALUSPS:
			sps = n
		case h264.NALUPPS:
			pps = n
		}
	}
	if sps == nil || pps == nil {
		return nil, nil, errors.New("a keyframe without SPS and PPS")
	}
	return sps, pps, nil
}

func (o *mp4Out) writeAudio(pts time.Duration, adts []byte) error {
	if o.aac {
		if o.aacFile != nil && o.full() {
			if err := o.finish(); err != nil {
				return err
			}
		}
		if o.aacFile == nil {
			if err := o.start(pts); err != nil {
				return err
			}
		}
		n, err := o.aacFile.Write(adts)
		o.aacBytes += int64(n)
		o.last = pts + aac.FrameDuration(virtual.AudioSampleRate)
		if err != nil {
			return err
		}
		return o.flush(pts)
	}
	if !o.open() {
		if err := o.start(pts); err != nil {
			return err
		}
	} else if !o.w.tracks.video && o.full() {
		if err := o.finishAt(pts); err != nil {
			return err
		}
		if err := o.start(pts); err != nil {
			return err
		}
	}
	o.last = max(o.last, pts+aac.FrameDuration(virtual.AudioSampleRate))
	if err := o.frag.WriteAudio(pts, adts); err != nil {
		return err
	}
	return o.flush(pts)
}

// finish completes the open file, if any, into the spool: the AAC file is renamed into
// place, the fragmented MP4 becomes a progressive one.
func (o *mp4Out) finish() error { return o.finishAt(-1) }

// finishAt is finish for a file split at media time end, where the next one starts: the
// MP4's presentation (and its 310 EndTimeStamp) ends there, so consecutive files are
// continuous.
func (o *mp4Out) finishAt(end time.Duration) error {
	if o.aac {
		if o.aacFile == nil {
			return nil
		}
		f := o.aacFile
		o.aacFile = nil
		return f.Close()
	}
	if o.frag == nil {
		return nil
	}
	frag, file := o.frag, o.file
	o.frag, o.file = nil, nil
	if err := frag.Close(); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	_, err := o.w.t.defragment(o.name+".frag", o.name, end, func(size int64, rec mp4.Recovered) error {
		o.tracks = tracks{video: rec.Video, audio: rec.Audio}
		return o.spooled(o.name, "mp4", size, o.w.start.Add(o.first+rec.End-rec.Start).UnixMilli())
	})
	return err
}

// defragment turns the fragmented spool file frag into the progressive MP4 name, committed by
// done, and removes frag.
func (t *taskRun) defragment(frag, name string, end time.Duration, done func(size int64, rec mp4.Recovered) error) (mp4.Recovered, error) {
	var rec mp4.Recovered
	src, err := t.spool.Open(frag)
	if err != nil {
		return rec, err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return rec, err
	}
	scratchName := name + ".scratch"
	scratch, err := t.spool.Create(scratchName)
	if err != nil {
		return rec, err
	}
	defer func() {
		scratch.Close()
		t.spool.Remove(scratchName)
	}()
	w, err := t.spoolCreate(name, func(size int64) error { return done(size, rec) })
	if err != nil {
		return rec, err
	}
	sf := w.(*spoolFile)
	rec, err = mp4.DefragmentUntil(src, info.Size(), sf, scratch, end)
	if err != nil {
		sf.f.Close()
		t.spool.Remove(sf.tmp)
		return rec, err
	}
	if err := sf.Close(); err != nil {
		return rec, err
	}
	t.spool.Remove(frag)
	return rec, nil
}

// recoverWriting recovers the task's MP4 and AAC files left in FileWriting by recorders that
// crashed (every stream of this run is closed): an MP4 up to its last complete fragment, an
// AAC file up to its last complete ADTS frame. A file with nothing to recover is lost.
func (t *taskRun) recoverWriting(ctx context.Context) error {
	store := t.r.cfg.Store
	files, err := store.WritingFiles(ctx, t.task.ID)
	if err != nil {
		return err
	}
	for i := range files {
		f := &files[i]
		name := path.Base(f.ObjectKey)
		commit := func(size, endMs int64, trackType string) error {
			return store.SpoolFile(ctx, models.SpooledFile{TaskRef: f.TaskRef, StreamRef: f.StreamRef, ObjectKey: f.ObjectKey,
				Kind: f.Kind, Spool: name, Bytes: size, Internal: true, StartMs: f.StartMs, EndMs: &endMs, TrackType: trackType})
		}
		startMs := int64(0)
		if f.StartMs != nil {
			startMs = *f.StartMs
		}
		var rerr error
		if f.Kind == "aac" {
			rerr = t.recoverADTS(f.Spool, name, func(size int64, d time.Duration) error {
				return commit(size, startMs+d.Milliseconds(), "audio")
			})
		} else {
			_, rerr = t.defragment(f.Spool, name, -1, func(size int64, rec mp4.Recovered) error {
				return commit(size, startMs+(rec.End-rec.Start).Milliseconds(), tracks{video: rec.Video, audio: rec.Audio}.trackType())
			})
		}
		if rerr == nil {
			t.log.Warn("recovered a file a crashed recorder was writing", "file", name)
			continue
		}
		t.log.Error("a file a crashed recorder was writing is lost", "file", name, "err", rerr)
		if err := store.LoseFile(ctx, f.ID, rerr.Error()); err != nil {
			return err
		}
		t.spool.Remove(f.Spool)
	}
	return nil
}

// recoverADTS cuts the ADTS file spool after its last complete frame and renames it name.
func (t *taskRun) recoverADTS(spool, name string, done func(size int64, d time.Duration) error) error {
	f, err := t.spool.OpenFile(spool, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	n, d, err := adtsPrefix(bufio.NewReader(f))
	if err == nil && n == 0 {
		err = errors.New("no complete ADTS frame")
	}
	if err == nil {
		err = f.Truncate(n)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := t.spool.Rename(spool, name); err != nil {
		return err
	}
	return done(n, d)
}

// adtsPrefix reads ADTS frames until the stream ends or stops being one (a frame cut by a
// crash, garbage): the length of the complete frames and their playing time.
func adtsPrefix(r io.Reader) (int64, time.Duration, error) {
	var n int64
	var samples int64
	rate := 0
	head := make([]byte, aac.ADTSHeaderLenCRC)
	for {
		if _, err := io.ReadFull(r, head[:aac.ADTSHeaderLen]); err != nil {
			break
		}
		h, err := aac.ParseADTSHeader(head[:aac.ADTSHeaderLen])
		if err != nil || rate != 0 && h.SampleRate != rate || h.FrameLength < h.HeaderLen() {
			break
		}
		rate = h.SampleRate
		if _, err := io.CopyN(io.Discard, r, int64(h.FrameLength-aac.ADTSHeaderLen)); err != nil {
			break
		}
		n += int64(h.FrameLength)
		samples += int64(h.Samples())
	}
	return n, aac.SamplesDuration(samples, rate), nil
}
