package jobs

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/mp4"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// mp4Out writes a stream's MP4 files (or, for the aac formats, ADTS .aac files), named
// <base>_<Index>.mp4 with Index from 1, a new one above MaxMediaFileDuration or 2 GB and
// at each new run of the stream. They stay in the spool until the task ends.
type mp4Out struct {
	w           *streamWriter
	row         *models.RecordingStream
	dir, base   string
	aac         bool
	maxDuration time.Duration

	tracks    tracks // of the open file
	mux       *mp4.Muxer
	scratch   *os.File
	scratchAt string
	index     int
	first     time.Duration // media time of the file's first unit
	last      time.Duration
	aacFile   *spoolFile
	aacBytes  int64
}

func (o *mp4Out) full() bool {
	if o.aac {
		return o.aacBytes >= maxMP4Bytes || o.last-o.first >= o.maxDuration
	}
	return o.mux.Size() >= maxMP4Bytes || o.mux.Duration() >= o.maxDuration
}

func (o *mp4Out) open(pts time.Duration) error {
	n, err := o.w.t.r.cfg.Store.CountStreamFiles(context.Background(), o.row.ID, "mp4", "aac")
	if err != nil {
		return err
	}
	o.index, o.first, o.last, o.tracks = n+1, pts, pts, o.w.tracks
	if o.aac {
		o.tracks = tracks{audio: true}
	}
	if o.aac {
		name := fmt.Sprintf("%s_%d.aac", o.base, o.index)
		w, err := o.w.t.spoolCreate(name, func(size int64) error { return o.spooled(name, "aac", size) })
		if err != nil {
			return err
		}
		o.aacFile, o.aacBytes = w.(*spoolFile), 0
		return nil
	}
	o.scratchAt = fmt.Sprintf("%s_%d.mp4.scratch", o.base, o.index)
	if o.scratch, err = o.w.t.spool.Create(o.scratchAt); err != nil {
		return err
	}
	o.mux, err = mp4.NewMuxer(o.scratch, mp4.Tracks{Video: o.w.tracks.video, Audio: o.w.tracks.audio})
	return err
}

func (o *mp4Out) spooled(name, kind string, size int64) error {
	start := o.w.start.Add(o.first).UnixMilli()
	end := o.w.start.Add(o.last).UnixMilli()
	return o.w.t.r.cfg.Store.SpoolFile(context.Background(), models.SpooledFile{TaskRef: o.w.t.task.ID, StreamRef: &o.row.ID,
		ObjectKey: o.dir + name, Kind: kind, Spool: name, Bytes: size, Internal: true, StartMs: &start, EndMs: &end,
		TrackType: o.tracks.trackType()})
}

func (o *mp4Out) writeVideo(pts time.Duration, key bool, annexB []byte) error {
	if o.mux != nil && key && o.full() {
		if err := o.finish(); err != nil {
			return err
		}
	}
	if o.mux == nil {
		if !key {
			return nil // a file starts at a keyframe
		}
		if err := o.open(pts); err != nil {
			return err
		}
	}
	o.last = max(o.last, pts+time.Second/time.Duration(o.w.fps))
	return o.mux.WriteVideo(pts, pts, key, annexB)
}

func (o *mp4Out) writeAudio(pts time.Duration, adts []byte) error {
	if o.aac {
		if o.aacFile != nil && o.full() {
			if err := o.finish(); err != nil {
				return err
			}
		}
		if o.aacFile == nil {
			if err := o.open(pts); err != nil {
				return err
			}
		}
		n, err := o.aacFile.Write(adts)
		o.aacBytes += int64(n)
		o.last = pts + o.w.audio.FrameDuration()
		return err
	}
	if o.mux == nil {
		if o.w.tracks.video {
			return nil // the file starts with the video's keyframe
		}
		if err := o.open(pts); err != nil {
			return err
		}
	} else if !o.w.tracks.video && o.full() {
		if err := o.finish(); err != nil {
			return err
		}
		if err := o.open(pts); err != nil {
			return err
		}
	}
	o.last = max(o.last, pts+o.w.audio.FrameDuration())
	return o.mux.WriteAudio(pts, adts)
}

// finish completes the open file, if any, into the spool.
func (o *mp4Out) finish() error {
	if o.aac {
		if o.aacFile == nil {
			return nil
		}
		f := o.aacFile
		o.aacFile = nil
		return f.Close()
	}
	if o.mux == nil {
		return nil
	}
	mux, scratch := o.mux, o.scratch
	o.mux, o.scratch = nil, nil
	defer func() {
		scratch.Close()
		o.w.t.spool.Remove(o.scratchAt)
	}()
	name := fmt.Sprintf("%s_%d.mp4", o.base, o.index)
	w, err := o.w.t.spoolCreate(name, func(size int64) error { return o.spooled(name, "mp4", size) })
	if err != nil {
		return err
	}
	if err := mux.Finish(w); err != nil {
		w.(*spoolFile).f.Close()
		return err
	}
	return w.Close()
}
