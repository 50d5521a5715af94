package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/aac"
	"github.com/trtc-emulator/trtc-emulator/media/h264"
	"github.com/trtc-emulator/trtc-emulator/media/hls"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/mix"
	"github.com/trtc-emulator/trtc-emulator/media/synth"
	"github.com/trtc-emulator/trtc-emulator/media/virtual"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// MP4 files are split above this size (seed: "larger than 2 GB").
const maxMP4Bytes = 2 << 30

// Output formats (RecordParams.OutputFormat).
const (
	formatHLS       = 0
	formatHLSAndMP4 = 1
	formatHLSAndAAC = 2
	formatMP4       = 3
	formatAAC       = 4
)

// tracks is what one recorded stream carries.
type tracks struct{ audio, video bool }

func (tr tracks) trackType() string {
	switch {
	case tr.audio && tr.video:
		return "audio_video"
	case tr.audio:
		return "audio"
	}
	return "video"
}

// streamKey names one recorded stream of a task: a user's main or aux stream. User ids
// are free strings (they may hold "/", "_" or anything else), so they are never joined
// into string keys.
type streamKey struct{ userId, mediaId string }

// wantedStream is what the task records of one stream now, and its publisher.
type wantedStream struct {
	tracks
	member *models.Member
}

// wantedStreams returns the streams the task records now, as models decides them
// (RecordedStreams: slots, subscriptions, publish state, blocks, StreamType, MediaId).
func wantedStreams(spec *models.RecordingSpec, slots *models.AnchorSlots, members []models.Member) map[streamKey]wantedStream {
	want := map[streamKey]wantedStream{}
	for _, s := range spec.RecordedStreams(slots, members) {
		media := "main"
		if s.Aux {
			media = "aux"
		}
		want[streamKey{s.Member.UserId, media}] = wantedStream{tracks{audio: s.Audio, video: s.Video}, s.Member}
	}
	return want
}

// streamWriter records one user's main or aux stream from its start until it is suspended
// (the user stopped, left, or was unsubscribed) or the task ends.
type streamWriter struct {
	t               *taskRun
	member          models.Member
	userId, mediaId string
	base, dir       string // file name start and object key prefix
	tracks          tracks
	start           time.Time // wall time of media time 0
	// vSink and aSink read the member's video and audio from the hub; a unit's PTS plus
	// its origin is its time on this stream's time line.
	vSink, aSink     *hub.Sink
	vOrigin, aOrigin time.Duration
	adts             aac.ADTSHeader // how aSink's frames are framed in MPEG-TS and MP4
	fps              int
	hls              []*hlsOut
	mp4              *mp4Out
	// mix, in a mixed task, codes the stream (its one stream, mixKey) instead of sinks.
	mix *mix.Mixer
}

// sinkQueue is how many units a stream's sink may hold between two passes (over two
// minutes of 30 fps video).
const sinkQueue = 4096

type hlsOut struct {
	row *models.RecordingStream
	seg *hls.Segmenter
	tracks
}

// record brings the task's streams in line with the room and writes their media up to now.
func (t *taskRun) record(ctx context.Context, view *models.RecordingView, now time.Time) error {
	if view.Spec.RecordMode == 2 && view.Spec.Mix != nil {
		return t.recordMix(ctx, view, now)
	}
	want := wantedStreams(view.Spec, &t.slots, view.Members)
	for key, w := range t.streams {
		ws, ok := want[key]
		if !ok {
			if err := w.suspend(); err != nil {
				return err
			}
			delete(t.streams, key)
			continue
		}
		if ws.tracks != w.tracks {
			if err := w.retrack(ctx, view.Spec, ws.tracks, now); err != nil {
				return err
			}
		}
	}
	for key, ws := range want {
		if t.streams[key] != nil {
			continue
		}
		start := t.streamStart(ws.member, key, now)
		w := &streamWriter{t: t, member: *ws.member, userId: key.userId, mediaId: key.mediaId, start: start, adts: virtualADTS,
			base: streamBase(&t.task, t.generation, key.userId, key.mediaId), dir: taskDir(view.Spec, t.task.TaskId)}
		if err := w.retrack(ctx, view.Spec, ws.tracks, start); err != nil {
			return err
		}
		t.streams[key] = w
	}
	// New subscribers get the keyframes they asked for; new streams their first frames.
	if err := t.r.cfg.Rooms.Advance(now); err != nil {
		return err
	}
	for _, w := range t.streams {
		if err := w.pump(); err != nil {
			return err
		}
	}
	return nil
}

// streamStart is when the recording of a member's stream begins: now, or, for a member
// whose media comes from outside (RTMP) and began while the task ran, within the hub's
// HeadSpan, when its media began (the hub replays it from there: a recorder pass, and the
// analysis of an RTMP stream, come seconds after).
func (t *taskRun) streamStart(m *models.Member, key streamKey, now time.Time) time.Time {
	if m.Source == models.SourceVirtual {
		return now
	}
	track := hub.MainVideo
	switch {
	case key.mediaId == "aux":
		track = hub.AuxVideo
	case !m.PubVideo:
		track = hub.Audio
	}
	began, ok := t.r.cfg.Hub.Started(hub.Key{Room: t.room, UserId: key.userId, Track: track})
	taskBegan := time.UnixMilli(t.task.CreatedAtMs)
	if !ok || began.IsZero() || began.After(now) || began.Before(taskBegan) || now.Sub(began) >= hub.HeadSpan {
		return now
	}
	return began
}

// videoSize is the synthetic picture of a member's main or aux stream.
// models decides it, so that the control API shows what is recorded.
func videoSize(m *models.Member, mediaId string) (label string, width, height, fps int) {
	if mediaId == "aux" {
		v := models.SubstreamVideo
		return m.UserId + " screen", v.Width, v.Height, v.Fps
	}
	v := m.MainVideo()
	return m.UserId, v.Width, v.Height, v.Fps
}

// retrack sets the tracks the stream records from now on: a source that starts gets its
// own output (with AvMerge the merged output is reopened), one that stops has its output
// suspended; the MP4 file in progress goes on (a stopped track has a gap in it).
func (w *streamWriter) retrack(ctx context.Context, spec *models.RecordingSpec, tr tracks, now time.Time) error {
	t := w.t
	_, width, height, fps := videoSize(&w.member, w.mediaId)
	var err error
	videoTrack := hub.MainVideo
	if w.mediaId == "aux" {
		videoTrack = hub.AuxVideo
	}
	switch {
	case tr.video && w.vSink == nil:
		if w.vSink, w.vOrigin, err = w.subscribe(videoTrack); err != nil {
			return err
		}
		w.fps = fps
	case !tr.video && w.vSink != nil:
		w.vSink.Close()
		w.vSink = nil
	}
	switch {
	case tr.audio && w.aSink == nil:
		if w.aSink, w.aOrigin, err = w.subscribe(hub.Audio); err != nil {
			return err
		}
		w.adts = adtsOf(w.aSink)
	case !tr.audio && w.aSink != nil:
		w.aSink.Close()
		w.aSink = nil
	}
	old := w.tracks
	w.tracks = tr
	if spec.OutputFormat == formatMP4 || spec.OutputFormat == formatAAC {
		return w.openMP4(ctx, spec, now)
	}
	// HLS outputs: one per track, or one merged (AvMerge).
	var keep []*hlsOut
	for _, h := range w.hls {
		if spec.AvMerge || (h.video && !tr.video) || (h.audio && !tr.audio) {
			if err := h.seg.Suspend(); err != nil {
				return err
			}
			continue
		}
		keep = append(keep, h)
	}
	w.hls = keep
	var add []tracks
	switch {
	case spec.AvMerge:
		add = []tracks{tr}
	default:
		if tr.video && !old.video {
			add = append(add, tracks{video: true})
		}
		if tr.audio && !old.audio {
			add = append(add, tracks{audio: true})
		}
	}
	for _, o := range add {
		h, err := t.openHLS(ctx, w, o, width, height, now)
		if err != nil {
			return err
		}
		w.hls = append(w.hls, h)
	}
	if spec.OutputFormat == formatHLSAndMP4 || spec.OutputFormat == formatHLSAndAAC {
		return w.openMP4(ctx, spec, now)
	}
	return nil
}

// subscribe reads the member's track from the hub from now on (video from a keyframe
// coded for this sink) and returns the offset of its time line to the stream's.
func (w *streamWriter) subscribe(track hub.Track) (*hub.Sink, time.Duration, error) {
	key := hub.Key{Room: w.t.room, UserId: w.userId, Track: track}
	opts := hub.SinkOptions{AtNextKeyframe: true, Queue: sinkQueue}
	if began, ok := w.t.r.cfg.Hub.Started(key); ok && w.member.Source != models.SourceVirtual && began.Equal(w.start) {
		// Media from outside whose recording begins where it began (streamStart): read from
		// its first keyframe (otherwise from its next one, which it cannot be asked for).
		opts = hub.SinkOptions{FromStart: true, Queue: sinkQueue}
	}
	s, err := w.t.r.cfg.Hub.Subscribe(key, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("the %s of %q is not in the hub: %w", track, w.userId, err)
	}
	if s.Start().IsZero() {
		s.Close()
		return nil, 0, fmt.Errorf("the %s of %q has no start time in the hub", track, w.userId)
	}
	return s, s.Start().Sub(w.start), nil
}

func (w *streamWriter) openMP4(ctx context.Context, spec *models.RecordingSpec, now time.Time) error {
	if w.mp4 != nil {
		return nil
	}
	row, err := w.t.r.cfg.Store.OpenStream(ctx, models.RecordingStream{TaskRef: w.t.task.ID, Generation: w.t.generation,
		UserId: w.userId, MediaId: w.mediaId, TrackType: "audio_video", Playlist: w.dir + w.base, BeginAtMs: now.UnixMilli()})
	if err != nil {
		return err
	}
	aacOnly := spec.OutputFormat == formatHLSAndAAC || spec.OutputFormat == formatAAC
	o := &mp4Out{w: w, row: row, dir: w.dir, base: w.base, aac: aacOnly,
		maxDuration: time.Duration(spec.MaxMediaFileMinutes) * time.Minute,
		may:         tracks{audio: spec.StreamType != 2 && w.mediaId == "main", video: spec.StreamType != 1}}
	// The header announces the tracks as the hub codes them; a track not published yet is
	// announced as the virtual participants code it (a source that differs starts a new
	// file at its first keyframe: ErrParamsChanged).
	if o.may.video && !aacOnly {
		if w.vSink != nil && len(w.vSink.Params().SPS) > 0 {
			p := w.vSink.Params()
			o.videoSPS, o.videoPPS = p.SPS, p.PPS
		} else {
			label, width, height, fps := videoSize(&w.member, w.mediaId)
			v, err := synth.NewVideo(synth.VideoConfig{UserId: label, Width: width, Height: height, Fps: fps})
			if err != nil {
				return err
			}
			o.videoSPS, o.videoPPS = v.SPS(), v.PPS()
		}
	}
	if o.may.audio {
		asc := w.adts.Config()
		o.audioASC = &asc
	}
	w.mp4 = o
	return nil
}

func (t *taskRun) openHLS(ctx context.Context, w *streamWriter, tr tracks, width, height int, now time.Time) (*hlsOut, error) {
	kind := tr.trackType()
	base := w.base
	// Single-stream: <base>_<Type>.m3u8 and <base>_<Type>_<UTC>.ts; mixed: <base>.m3u8 and
	// <base>_<UTC>.ts.
	playlist, segments := base+"_"+kind+".m3u8", base+"_"+kind+"_"
	if w.mix != nil {
		playlist, segments = base+".m3u8", base+"_"
	}
	row, err := t.r.cfg.Store.OpenStream(ctx, models.RecordingStream{TaskRef: t.task.ID, Generation: t.generation,
		UserId: w.userId, MediaId: w.mediaId, TrackType: kind, Playlist: w.dir + playlist, BeginAtMs: now.UnixMilli(),
		Width: width, Height: height})
	if err != nil {
		return nil, err
	}
	var resume []hls.Segment
	if err := json.Unmarshal(row.Segments, &resume); err != nil {
		return nil, fmt.Errorf("stream %d segments: %w", row.ID, err)
	}
	out := &hlsOut{row: row, tracks: tr}
	seg, err := hls.New(hls.Config{
		Sink:           &spoolSink{t: t, dir: w.dir, out: out},
		PlaylistName:   path.Base(row.Playlist),
		SegmentName:    func(_ int, start time.Time) string { return segments + utcStamp(start) + ".ts" },
		TargetDuration: t.r.cfg.SegmentDuration,
		Video:          tr.video, Audio: tr.audio,
		Width: width, Height: height,
		StartTime:      now,
		RecordingStart: time.UnixMilli(row.BeginAtMs),
		Resume:         resume,
	})
	if err != nil {
		return nil, err
	}
	out.seg = seg
	return out, nil
}

// pump writes the stream's units whose time has come, audio and video interleaved in time;
// media time 0 is the stream's start.
func (w *streamWriter) pump() error { return w.write(drainSink(w.vSink), drainSink(w.aSink)) }

// write writes units of the stream's video and audio, each in time order, interleaved.
func (w *streamWriter) write(video, audio []hub.Unit) error {
	for len(video) > 0 || len(audio) > 0 {
		// In time order, video first at the same time.
		if len(video) > 0 && (len(audio) == 0 || video[0].PTS+w.vOrigin <= audio[0].PTS+w.aOrigin) {
			u := video[0]
			video = video[1:]
			pts := u.PTS + w.vOrigin
			if pts < 0 {
				continue
			}
			annexB := h264.AppendAnnexB(nil, withParameterSets(u, w.vSink))
			for _, h := range w.hls {
				if h.video {
					if err := h.seg.WriteVideo(pts, pts, u.Key, annexB); err != nil {
						return err
					}
				}
			}
			if w.mp4 != nil && !w.mp4.aac {
				if err := w.mp4.writeVideo(pts, u.Key, annexB); err != nil {
					return err
				}
			}
			continue
		}
		u := audio[0]
		audio = audio[1:]
		pts := u.PTS + w.aOrigin
		if pts < 0 {
			continue
		}
		adts, err := aac.AppendADTSHeader(nil, w.adts, len(u.Frame))
		if err != nil {
			return err
		}
		adts = append(adts, u.Frame...)
		for _, h := range w.hls {
			if h.audio {
				if err := h.seg.WriteAudio(pts, adts); err != nil {
					return err
				}
			}
		}
		if w.mp4 != nil {
			if err := w.mp4.writeAudio(pts, adts); err != nil {
				return err
			}
		}
	}
	return nil
}

// virtualADTS frames the virtual participants' AAC for MPEG-TS and our MP4 muxer.
var virtualADTS = aac.ADTSHeader{ObjectType: aac.ObjectTypeLC, SampleRate: virtual.AudioSampleRate,
	ChannelConfig: virtual.AudioChannels}

// adtsOf is the ADTS framing of the audio a sink reads: as its source codes it (the
// AudioSpecificConfig in the hub), the virtual participants' when it says nothing usable.
func adtsOf(s *hub.Sink) aac.ADTSHeader {
	if asc, err := aac.ParseAudioSpecificConfig(s.Params().AudioConfig); err == nil && asc.ChannelConfig > 0 {
		return aac.ADTSHeader{ObjectType: asc.ObjectType, SampleRate: asc.SampleRate, ChannelConfig: asc.ChannelConfig}
	}
	return virtualADTS
}

// withParameterSets is a unit's NAL units with the stream's SPS and PPS in front of a
// keyframe that does not carry them (RTMP sends them once, in its sequence header): each
// MPEG-TS segment and MP4 file must be decodable from its first keyframe.
func withParameterSets(u hub.Unit, s *hub.Sink) [][]byte {
	if !u.Key || s == nil {
		return u.NALUs
	}
	for _, n := range u.NALUs {
		if len(n) > 0 && n[0]&0x1f == 7 {
			return u.NALUs
		}
	}
	p := s.Params()
	if u.Params != nil {
		p = *u.Params
	}
	if len(p.SPS) == 0 || len(p.PPS) == 0 {
		return u.NALUs
	}
	return append([][]byte{p.SPS, p.PPS}, u.NALUs...)
}

// drainSink returns what s holds now (nothing once its stream ended).
func drainSink(s *hub.Sink) []hub.Unit {
	if s == nil {
		return nil
	}
	var units []hub.Unit
	for {
		u, ok, _ := s.TryRead()
		if !ok {
			return units
		}
		units = append(units, u)
	}
}

// suspend ends the stream's current run: the open segment is finished and the playlist
// written without #EXT-X-ENDLIST (a later run appends to it); the MP4 part is finished.
func (w *streamWriter) suspend() error {
	// What the sinks hold is the member's last media before it stopped: written first.
	pumped := w.pump()
	for _, s := range []*hub.Sink{w.vSink, w.aSink} {
		if s != nil {
			s.Close()
		}
	}
	w.vSink, w.aSink = nil, nil
	if w.mix != nil {
		w.mix.Close()
	}
	errs := []error{pumped}
	for _, h := range w.hls {
		errs = append(errs, h.seg.Suspend())
	}
	if w.mp4 != nil {
		errs = append(errs, w.mp4.finish())
	}
	return errors.Join(errs...)
}

// close ends the stream for good: playlists get #EXT-X-ENDLIST.
func (w *streamWriter) close() error {
	if w.mix != nil {
		w.mix.Close()
	}
	var errs []error
	for _, h := range w.hls {
		errs = append(errs, h.seg.Close())
	}
	if w.mp4 != nil {
		errs = append(errs, w.mp4.finish())
	}
	return errors.Join(errs...)
}

// suspendAll suspends every running stream (shutdown, lost lease).
func (t *taskRun) suspendAll() {
	for key, w := range t.streams {
		if err := w.suspend(); err != nil {
			t.log.Error("suspend stream", "user", key.userId, "media", key.mediaId, "err", err)
		}
		delete(t.streams, key)
	}
}

// finish closes a stopped task's streams: running ones end, and the playlists of streams
// not running (earlier runs, other generations) are rewritten with #EXT-X-ENDLIST. Then the
// MP4 files become due for upload and the writer is done.
func (t *taskRun) finish(ctx context.Context) error {
	var errs []error
	closed := map[int64]bool{}
	for key, w := range t.streams {
		errs = append(errs, w.close())
		for _, h := range w.hls {
			closed[h.row.ID] = true
		}
		delete(t.streams, key)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := t.recoverWriting(ctx); err != nil {
		return err
	}
	rows, err := t.r.cfg.Store.TaskStreams(ctx, t.task.ID)
	if err != nil {
		return err
	}
	for i := range rows {
		row := &rows[i]
		if closed[row.ID] || !strings.HasSuffix(row.Playlist, ".m3u8") || string(row.Segments) == "[]" {
			continue
		}
		var segs []hls.Segment
		if err := json.Unmarshal(row.Segments, &segs); err != nil {
			return err
		}
		out := &hlsOut{row: row}
		seg, err := hls.New(hls.Config{Sink: &spoolSink{t: t, dir: path.Dir(row.Playlist) + "/", out: out},
			PlaylistName: path.Base(row.Playlist), SegmentName: func(int, time.Time) string { return "" },
			TargetDuration: t.r.cfg.SegmentDuration, Video: row.TrackType != "audio", Audio: row.TrackType != "video",
			Width: row.Width, Height: row.Height, StartTime: time.UnixMilli(row.BeginAtMs), Resume: segs})
		if err != nil {
			return err
		}
		out.seg = seg
		if err := seg.Close(); err != nil {
			return err
		}
	}
	return t.r.cfg.Store.FinishWriting(ctx, t.task.ID)
}

// spoolSink writes a stream's files into the task's spool directory and records each
// finished one for upload.
type spoolSink struct {
	t   *taskRun
	dir string // object key prefix
	out *hlsOut
}

func (s *spoolSink) Create(name string) (io.WriteCloser, error) {
	return s.t.spoolCreate(name, func(size int64) error {
		f := models.SpooledFile{TaskRef: s.t.task.ID, StreamRef: &s.out.row.ID, ObjectKey: s.dir + name, Spool: name, Bytes: size}
		switch {
		case strings.HasSuffix(name, ".m3u8"):
			f.Kind = "m3u8"
			segs, err := json.Marshal(s.out.seg.Segments())
			if err != nil {
				return err
			}
			f.Segments = segs
		default:
			f.Kind = "ts"
		}
		return s.t.r.cfg.Store.SpoolFile(context.Background(), f)
	})
}

// spoolCreate opens a spool file written under a temporary name and renamed into place
// when closed, then committed by done.
func (t *taskRun) spoolCreate(name string, done func(size int64) error) (io.WriteCloser, error) {
	tmp := name + ".part"
	f, err := t.spool.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &spoolFile{t: t, f: f, tmp: tmp, name: name, done: done}, nil
}

type spoolFile struct {
	t         *taskRun
	f         *os.File
	tmp, name string
	n         int64
	done      func(size int64) error
}

func (s *spoolFile) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *spoolFile) Close() error {
	if err := s.f.Close(); err != nil {
		return err
	}
	if err := s.t.spool.Rename(s.tmp, s.name); err != nil {
		return err
	}
	return s.done(s.n)
}
