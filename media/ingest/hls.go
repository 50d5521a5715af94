package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	hlscodecs "github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// HLS is read two ways.
//
// A VOD playlist (EXT-X-ENDLIST or EXT-X-PLAYLIST-TYPE:VOD) is read here, segment after
// segment, as fast as Next is called (Live false: the caller paces it by DTS), from its
// first segment or from the one Options.Seek falls in, through the file sources' fileMedia.
// gohlslib's client would start it at its first segment too, but it paces every unit
// against the wall clock from its first one (it would be Live, and a seek would cost its
// length in real time). gohlslib's playlist parser is used, and mediacommon's MPEG-TS and
// fMP4 readers for the segments; an audio rendition in a playlist of its own is read
// alongside and merged by DTS.
//
// A live playlist is played by gohlslib's client: from 3 segments before the live edge
// (fewer when the playlist has fewer), units as the client releases them (paced by their
// DTS against the wall clock), until the playlist ends (io.EOF) or the client fails, which
// it does as soon as a reload does not list the next segment yet or a segment fails. The
// client drops MPEG-TS tracks it does not read: the live edge's segment is read first to
// refuse them.

// Limits of what is fetched.
const (
	hlsMaxPlaylist = 16 << 20
	// hlsFirstSpan is how much media a source may have before its first keyframe.
	hlsFirstSpan = 30 * time.Second
	// hlsLiveQueue bounds the units gohlslib's goroutines may have handed over ahead of Next.
	hlsLiveQueue = 256
	// hlsLiveFirstWait bounds the wait for a live playlist's first keyframe.
	hlsLiveFirstWait = 30 * time.Second
)

// openHLS plays the playlist at u: a media playlist, or the multivariant playlist's
// highest-bandwidth H.264/AAC variant.
func openHLS(ctx context.Context, u *url.URL, opts Options) (Media, error) {
	body, err := hlsFetch(ctx, opts.Client, u, nil, nil, hlsMaxPlaylist)
	if err != nil {
		return nil, err
	}
	pl, err := hlsParse(u, body)
	if err != nil {
		return nil, err
	}
	mediaURL, audioURL := u, (*url.URL)(nil)
	var mv *playlist.Multivariant
	var variant *playlist.MultivariantVariant
	var rendition *playlist.MultivariantRendition
	media, _ := pl.(*playlist.Media)
	if m, ok := pl.(*playlist.Multivariant); ok {
		mv = m
		if variant, err = hlsPickVariant(m); err != nil {
			return nil, err
		}
		if mediaURL, err = hlsResolve(u, variant.URI); err != nil {
			return nil, err
		}
		if rendition = hlsPickRendition(m, variant); rendition != nil {
			if audioURL, err = hlsResolve(u, *rendition.URI); err != nil {
				return nil, err
			}
		}
		if media, err = hlsMediaPlaylist(ctx, opts.Client, mediaURL); err != nil {
			return nil, err
		}
	}
	if err := hlsCheckMedia(mediaURL, media); err != nil {
		return nil, err
	}
	if hlsIsVOD(media) {
		return openHLSVOD(ctx, opts, mediaURL, media, audioURL)
	}
	return openHLSLive(ctx, opts, u, mv, variant, rendition, mediaURL, media)
}

// hlsParse parses a playlist; a playlist the parser cannot take is the source's fault.
func hlsParse(u *url.URL, body []byte) (pl playlist.Playlist, err error) {
	defer func() {
		if v := recover(); v != nil {
			pl, err = nil, unsupported("the HLS playlist %s does not parse (%v)", u.Redacted(), v)
		}
	}()
	pl, err = playlist.Unmarshal(body)
	if err != nil {
		return nil, unsupported("the HLS playlist %s does not parse: %v", u.Redacted(), err)
	}
	return pl, nil
}

// hlsMediaPlaylist fetches and parses the media playlist at u.
func hlsMediaPlaylist(ctx context.Context, c *http.Client, u *url.URL) (*playlist.Media, error) {
	body, err := hlsFetch(ctx, c, u, nil, nil, hlsMaxPlaylist)
	if err != nil {
		return nil, err
	}
	pl, err := hlsParse(u, body)
	if err != nil {
		return nil, err
	}
	m, ok := pl.(*playlist.Media)
	if !ok {
		return nil, unsupported("the HLS playlist %s is a multivariant playlist where a media playlist is expected", u.Redacted())
	}
	return m, nil
}

func hlsCheckMedia(u *url.URL, m *playlist.Media) error {
	if len(m.Segments) == 0 {
		return unsupported("the HLS playlist %s has no segment", u.Redacted())
	}
	for _, s := range m.Segments {
		if s.Key != nil && s.Key.Method != "" && s.Key.Method != playlist.MediaKeyMethodNone {
			return unsupported("the HLS playlist %s has encrypted segments (%s)", u.Redacted(), s.Key.Method)
		}
	}
	return nil
}

func hlsIsVOD(m *playlist.Media) bool {
	return m.Endlist || (m.PlaylistType != nil && *m.PlaylistType == playlist.MediaPlaylistTypeVOD)
}

// hlsPickVariant is the highest-bandwidth variant whose codecs are H.264 and AAC (or not
// given); one with video before an audio-only one.
func hlsPickVariant(m *playlist.Multivariant) (*playlist.MultivariantVariant, error) {
	var best *playlist.MultivariantVariant
	bestVideo := false
	var other []string
	for _, v := range m.Variants {
		ok, video := true, len(v.Codecs) == 0 || v.Resolution != ""
		for _, c := range v.Codecs {
			if !hlsCodecTaken(c) {
				ok = false
				other = append(other, c)
			}
			video = video || strings.HasPrefix(c, "avc1") || strings.HasPrefix(c, "avc3")
		}
		if ok && (best == nil || (video && !bestVideo) || (video == bestVideo && v.Bandwidth > best.Bandwidth)) {
			best, bestVideo = v, video
		}
	}
	if best == nil {
		return nil, unsupported("no variant of the HLS playlist is H.264/AAC (it offers %v)", other)
	}
	return best, nil
}

func hlsCodecTaken(c string) bool {
	for _, p := range []string{"avc1", "avc3", "mp4a"} {
		if c == p || strings.HasPrefix(c, p+".") {
			return true
		}
	}
	return false
}

// hlsPickRendition is the audio rendition of the variant's group that is in a playlist of
// its own (the default one, else the first); nil when the variant carries its audio.
func hlsPickRendition(m *playlist.Multivariant, v *playlist.MultivariantVariant) *playlist.MultivariantRendition {
	if v.Audio == "" {
		return nil
	}
	var pick *playlist.MultivariantRendition
	for _, r := range m.Renditions {
		if r.Type != playlist.MultivariantRenditionTypeAudio || r.GroupID != v.Audio {
			continue
		}
		if r.URI == nil { // in the variant's own stream
			return nil
		}
		if pick == nil || (r.Default && !pick.Default) {
			pick = r
		}
	}
	return pick
}

func hlsResolve(base *url.URL, ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, unsupported("the HLS URI %q: %v", ref, err)
	}
	u := base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, unsupported("the HLS URI %q is not http(s)", ref)
	}
	return u, nil
}

// hlsFetch gets u (a byte range of it when length is set), at most limit bytes.
func hlsFetch(ctx context.Context, c *http.Client, u *url.URL, start, length *uint64, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, unsupported("%v", err)
	}
	if length != nil {
		var s uint64
		if start != nil {
			s = *start
		}
		if *length == 0 {
			return nil, nil
		}
		req.Header.Set("Range", "bytes="+strconv.FormatUint(s, 10)+"-"+strconv.FormatUint(s+*length-1, 10))
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("ingest: %s answered %s", u.Redacted(), resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, unsupported("%s is %d bytes, more than the %d taken", u.Redacted(), resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ingest: reading %s: %w", u.Redacted(), err)
	}
	if int64(len(b)) > limit {
		return nil, unsupported("%s is more than the %d bytes taken", u.Redacted(), limit)
	}
	if length != nil && resp.StatusCode == http.StatusOK && start != nil && *start > 0 {
		// The server ignored the range: cut it out.
		if *start+*length > uint64(len(b)) {
			return nil, fmt.Errorf("ingest: %s is shorter than its byte range", u.Redacted())
		}
		b = b[*start : *start+*length]
	}
	return b, nil
}

// hlsRaw is a unit as a segment gives it, on the playlist's time line.
type hlsRaw struct {
	video    bool
	pts, dts time.Duration
	au       [][]byte // video
	frame    []byte   // audio
}

// hlsSeg is a segment of a media playlist.
type hlsSeg struct {
	u             *url.URL
	start, length *uint64 // a byte range, when length is set
	at            time.Duration
	disc          int // discontinuity sequence number
	gap           bool
}

// hlsBudget is the bytes a VOD playlist may still fetch (Options.MaxBytes, all segments
// and playlists together).
type hlsBudget struct{ left, max int64 }

// hlsSegStream reads the segments of one media playlist in order.
type hlsSegStream struct {
	client  *http.Client
	pl      *playlist.Media
	plURL   *url.URL
	segs    []hlsSeg
	next    int
	budget  *hlsBudget
	offsets map[int]time.Duration // discontinuity sequence → playlist time minus stream time; shared

	queue []hlsRaw

	// Tracks, as the first segment (or the fMP4 initialization) has them.
	known    bool
	hasVideo bool
	hasAudio bool
	sps, pps []byte // fMP4: from the initialization
	asc      *mpeg4audio.AudioSpecificConfig
	// MPEG-TS: the stream's 33-bit clock unwrapped.
	tsPrev int64
	tsHave bool
	tsDisc int
	// fMP4
	init           *fmp4.Init
	vTrack, aTrack *fmp4.InitTrack
	lastDTS        time.Duration
}

func newHLSSegStream(c *http.Client, u *url.URL, pl *playlist.Media, budget *hlsBudget, offsets map[int]time.Duration) (*hlsSegStream, error) {
	s := &hlsSegStream{client: c, pl: pl, plURL: u, budget: budget, offsets: offsets}
	disc := 0
	if pl.DiscontinuitySequence != nil {
		disc = *pl.DiscontinuitySequence
	}
	var at time.Duration
	var prevURI string
	var prevEnd uint64
	for _, seg := range pl.Segments {
		su, err := hlsResolve(u, seg.URI)
		if err != nil {
			return nil, err
		}
		if seg.Discontinuity {
			disc++
		}
		h := hlsSeg{u: su, at: at, disc: disc, gap: seg.Gap}
		if seg.ByteRangeLength != nil {
			start := uint64(0)
			switch {
			case seg.ByteRangeStart != nil:
				start = *seg.ByteRangeStart
			case seg.URI == prevURI:
				start = prevEnd
			}
			length := *seg.ByteRangeLength
			h.start, h.length = &start, &length
			prevEnd = start + length
		}
		prevURI = seg.URI
		s.segs = append(s.segs, h)
		at += seg.Duration
	}
	return s, nil
}

// duration is the playlist's length by its EXTINFs.
func (s *hlsSegStream) duration() time.Duration {
	last := s.pl.Segments[len(s.pl.Segments)-1]
	return s.segs[len(s.segs)-1].at + last.Duration
}

// seek starts the stream at the segment t falls in.
func (s *hlsSegStream) seek(t time.Duration) {
	for k, seg := range s.segs {
		if seg.at > t {
			break
		}
		s.next = k
	}
}

func (s *hlsSegStream) fetch(ctx context.Context, u *url.URL, start, length *uint64) ([]byte, error) {
	if s.budget.left <= 0 {
		return nil, unsupported("the HLS playlist is more than the %d bytes taken", s.budget.max)
	}
	b, err := hlsFetch(ctx, s.client, u, start, length, s.budget.left)
	s.budget.left -= int64(len(b))
	return b, err
}

// read is the stream's next unit; io.EOF after its last segment.
func (s *hlsSegStream) read(ctx context.Context) (hlsRaw, error) {
	for len(s.queue) == 0 {
		if s.next >= len(s.segs) {
			return hlsRaw{}, io.EOF
		}
		seg := s.segs[s.next]
		if seg.gap {
			s.next++
			continue
		}
		if err := s.loadInit(ctx); err != nil {
			return hlsRaw{}, err
		}
		data, err := s.fetch(ctx, seg.u, seg.start, seg.length)
		if err != nil {
			return hlsRaw{}, err
		}
		var units []hlsRaw
		if s.init != nil {
			units, err = s.decodeFMP4(data)
		} else {
			units, err = s.decodeTS(data, seg)
		}
		if err != nil {
			return hlsRaw{}, fmt.Errorf("%w (the HLS segment %s)", err, seg.u.Redacted())
		}
		s.place(units, seg)
		s.queue = units
		s.next++
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r, nil
}

// place moves a segment's units onto the playlist's time line: the first segment read of
// each discontinuity sequence starts at its EXTINF time (or after what came before).
func (s *hlsSegStream) place(units []hlsRaw, seg hlsSeg) {
	if len(units) == 0 {
		return
	}
	off, ok := s.offsets[seg.disc]
	if !ok {
		first := units[0].dts
		for _, u := range units {
			first = min(first, u.dts)
		}
		base := seg.at
		if len(s.offsets) > 0 && base < s.lastDTS {
			base = s.lastDTS + time.Millisecond
		}
		off = base - first
		s.offsets[seg.disc] = off
	}
	for i := range units {
		units[i].pts += off
		units[i].dts += off
		s.lastDTS = max(s.lastDTS, units[i].dts)
	}
}

// loadInit reads the playlist's fMP4 initialization (EXT-X-MAP) once.
func (s *hlsSegStream) loadInit(ctx context.Context) error {
	if s.pl.Map == nil || s.init != nil {
		return nil
	}
	u, err := hlsResolve(s.plURL, s.pl.Map.URI)
	if err != nil {
		return err
	}
	data, err := s.fetch(ctx, u, s.pl.Map.ByteRangeStart, s.pl.Map.ByteRangeLength)
	if err != nil {
		return err
	}
	var in fmp4.Init
	if err := hlsSafe(func() error { return in.Unmarshal(bytes.NewReader(data)) }); err != nil {
		return unsupported("the HLS fMP4 initialization %s: %v", u.Redacted(), err)
	}
	for _, t := range in.Tracks {
		switch c := t.Codec.(type) {
		case *mp4codecs.H264:
			if s.vTrack != nil {
				return unsupported("the HLS stream has a second video track")
			}
			s.vTrack, s.sps, s.pps = t, c.SPS, c.PPS
		case *mp4codecs.MPEG4Audio:
			if s.aTrack != nil {
				return unsupported("the HLS stream has a second audio track")
			}
			conf := c.Config
			s.aTrack, s.asc = t, &conf
		default:
			return unsupported("the HLS stream's %s track: only H.264 video and AAC audio are taken", pullCodecName(c))
		}
		if t.TimeScale == 0 {
			return unsupported("the HLS fMP4 track %d has no timescale", t.ID)
		}
	}
	if s.vTrack == nil && s.aTrack == nil {
		return unsupported("the HLS fMP4 initialization %s has no track", u.Redacted())
	}
	s.init = &in
	s.known, s.hasVideo, s.hasAudio = true, s.vTrack != nil, s.aTrack != nil
	return nil
}

// hlsSafe runs a library's decoder, turning its panic on malformed input into an error.
func hlsSafe(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("malformed: %v", v)
		}
	}()
	return f()
}

// hlsTSTracks are the H.264 and AAC tracks of an MPEG-TS segment; other audio or video is
// refused, data (metadata, subtitles) ignored.
func hlsTSTracks(r *mpegts.Reader) (video, audio *mpegts.Track, err error) {
	for _, t := range r.Tracks() {
		switch c := t.Codec.(type) {
		case *tscodecs.H264:
			if video != nil {
				return nil, nil, unsupported("the HLS stream has a second video track")
			}
			video = t
		case *tscodecs.MPEG4Audio:
			if audio != nil {
				return nil, nil, unsupported("the HLS stream has a second audio track")
			}
			audio = t
		case *tscodecs.KLV, *tscodecs.DVBSubtitle, *tscodecs.Unsupported:
		default:
			return nil, nil, unsupported("the HLS stream's %s track: only H.264 video and AAC audio are taken", pullCodecName(c))
		}
	}
	if video == nil && audio == nil {
		return nil, nil, unsupported("the HLS segment has no H.264 or AAC track")
	}
	return video, audio, nil
}

// decodeTS reads an MPEG-TS segment's units.
func (s *hlsSegStream) decodeTS(data []byte, seg hlsSeg) ([]hlsRaw, error) {
	if seg.disc != s.tsDisc {
		s.tsHave, s.tsDisc = false, seg.disc
	}
	var units []hlsRaw
	err := hlsSafe(func() error {
		r := &mpegts.Reader{R: bytes.NewReader(data)}
		if err := r.Initialize(); err != nil {
			return unsupported("not MPEG-TS: %v", err)
		}
		r.OnDecodeError(func(error) {})
		vt, at, err := hlsTSTracks(r)
		if err != nil {
			return err
		}
		if !s.known {
			s.known, s.hasVideo, s.hasAudio = true, vt != nil, at != nil
			if at != nil {
				conf := at.Codec.(*tscodecs.MPEG4Audio).Config
				s.asc = &conf
			}
		}
		unwrap := func(dts, pts int64) (time.Duration, time.Duration) {
			d := hlsUnwrap(s.tsPrev, s.tsHave, dts)
			s.tsPrev, s.tsHave = d, true
			p := hlsUnwrap(d, true, pts)
			return ticks(p, 90000), ticks(d, 90000)
		}
		if vt != nil {
			r.OnDataH264(vt, func(pts, dts int64, au [][]byte) error {
				p, d := unwrap(dts, pts)
				units = append(units, hlsRaw{video: true, pts: p, dts: d, au: au})
				return nil
			})
		}
		if at != nil {
			rate := at.Codec.(*tscodecs.MPEG4Audio).Config.SampleRate
			if rate <= 0 {
				return unsupported("an AAC track without a sample rate")
			}
			r.OnDataMPEG4Audio(at, func(pts int64, aus [][]byte) error {
				p, _ := unwrap(pts, pts)
				for i, au := range aus {
					t := p + time.Duration(i)*mpeg4audio.SamplesPerAccessUnit*time.Second/time.Duration(rate)
					units = append(units, hlsRaw{pts: t, dts: t, frame: au})
				}
				return nil
			})
		}
		for {
			if err := r.Read(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return unsupported("the MPEG-TS does not read: %v", err)
			}
		}
	})
	return units, err
}

// hlsUnwrap is the 33-bit MPEG-TS time ts nearest to prev (ts itself without prev).
func hlsUnwrap(prev int64, have bool, ts int64) int64 {
	const m = 1 << 33
	ts &= m - 1
	if !have {
		return ts
	}
	v := prev - prev%m + ts
	best := v
	for _, c := range []int64{v - m, v + m} {
		if abs64(c-prev) < abs64(best-prev) {
			best = c
		}
	}
	return best
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// decodeFMP4 reads an fMP4 media segment's units.
func (s *hlsSegStream) decodeFMP4(data []byte) ([]hlsRaw, error) {
	var parts fmp4.Parts
	if err := hlsSafe(func() error { return parts.Unmarshal(data) }); err != nil {
		return nil, unsupported("not fMP4: %v", err)
	}
	var units []hlsRaw
	for _, p := range parts {
		for _, pt := range p.Tracks {
			var it *fmp4.InitTrack
			switch {
			case s.vTrack != nil && pt.ID == s.vTrack.ID:
				it = s.vTrack
			case s.aTrack != nil && pt.ID == s.aTrack.ID:
				it = s.aTrack
			default:
				continue
			}
			scale := int64(it.TimeScale)
			t := int64(pt.BaseTime)
			for _, sm := range pt.Samples {
				dts := ticks(t, scale)
				pts := ticks(t+int64(sm.PTSOffset), scale)
				t += int64(sm.Duration)
				if it == s.aTrack {
					units = append(units, hlsRaw{pts: pts, dts: pts, frame: sm.Payload})
					continue
				}
				var au mch264.AVCC
				if err := au.Unmarshal(sm.Payload); err != nil {
					continue
				}
				units = append(units, hlsRaw{video: true, pts: pts, dts: dts, au: au})
			}
		}
	}
	// Parts (and tracks in them) in decoding order, tracks interleaved by time.
	sortRaws(units)
	return units, nil
}

// sortRaws orders units by DTS, stably (each track's order kept).
func sortRaws(units []hlsRaw) {
	for i := 1; i < len(units); i++ {
		for j := i; j > 0 && units[j].dts < units[j-1].dts; j-- {
			units[j], units[j-1] = units[j-1], units[j]
		}
	}
}

// hlsVOD is a VOD playlist read as fast as Next is called: the segments' units, on the
// playlist's time line, through the file sources' fileMedia (tracks interleaved by DTS,
// B-frames refused, video from its first keyframe at or after Options.Seek, times from 0,
// new parameter sets announced).
type hlsVOD struct {
	*fileMedia
	d *hlsDemuxer
}

// Next reads with ctx: the segments it has to fetch are fetched under it (a fetch it
// cancels ends the source, as any failed fetch does).
func (m *hlsVOD) Next(ctx context.Context) (Packet, error) {
	m.d.ctx = ctx
	defer func() { m.d.ctx = nil }()
	return m.fileMedia.Next(ctx)
}

// hlsDemuxer is the demuxer of a VOD playlist: its segments in order, and those of its
// audio rendition when that is a playlist of its own, merged by DTS.
type hlsDemuxer struct {
	ctx       context.Context // Next's, while it runs
	main, alt *hlsSegStream   // alt: the audio rendition in a playlist of its own
	look      [2]*hlsRaw
	eof       [2]bool
	hasVideo  bool
	hasAudio  bool
	pending   []hlsRaw // read by Open to find the first keyframe's parameter sets
}

func openHLSVOD(ctx context.Context, opts Options, u *url.URL, pl *playlist.Media, audioURL *url.URL) (Media, error) {
	budget := &hlsBudget{left: opts.MaxBytes, max: opts.MaxBytes}
	offsets := map[int]time.Duration{}
	main, err := newHLSSegStream(opts.Client, u, pl, budget, offsets)
	if err != nil {
		return nil, err
	}
	d := &hlsDemuxer{main: main}
	if audioURL != nil {
		apl, err := hlsMediaPlaylist(ctx, opts.Client, audioURL)
		if err != nil {
			return nil, err
		}
		if err := hlsCheckMedia(audioURL, apl); err != nil {
			return nil, err
		}
		if d.alt, err = newHLSSegStream(opts.Client, audioURL, apl, budget, offsets); err != nil {
			return nil, err
		}
	}
	// The segment Seek falls in is the first one read; its first unit is at the segment's
	// EXTINF time, and fileMedia counts Seek from there.
	if opts.Seek > 0 {
		if opts.Seek >= main.duration() {
			return nil, fmt.Errorf("ingest: seeking to %v in an HLS playlist %v long", opts.Seek, main.duration())
		}
		main.seek(opts.Seek)
		if d.alt != nil {
			d.alt.seek(opts.Seek)
		}
		opts.Seek -= main.segs[main.next].at
	}
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	// The first units tell the tracks.
	if err := d.fill(); err != nil {
		return nil, err
	}
	d.hasVideo = main.hasVideo
	asc := main.asc
	if d.alt != nil {
		asc = d.alt.asc
	}
	var video, audio *hub.Params
	if asc != nil {
		d.hasAudio = true
		if audio, err = aacParams(asc); err != nil {
			return nil, err
		}
	}
	if !d.hasVideo && !d.hasAudio {
		return nil, unsupported("the HLS stream has no H.264 or AAC track")
	}
	if d.hasVideo {
		if video, err = d.firstParams(); err != nil {
			return nil, err
		}
	}
	return &hlsVOD{fileMedia: newFileMedia(d, video, audio, opts), d: d}, nil
}

// firstParams reads to the first keyframe (keeping what it read) for the parameter sets in
// it or before it.
func (d *hlsDemuxer) firstParams() (*hub.Params, error) {
	sps, pps := d.main.sps, d.main.pps
	var first time.Duration
	for {
		r, err := d.raw()
		if err == io.EOF {
			return nil, unsupported("the HLS stream has no H.264 keyframe")
		}
		if err != nil {
			return nil, err
		}
		d.pending = append(d.pending, r)
		if len(d.pending) == 1 {
			first = r.dts
		}
		if !r.video {
			if r.dts-first > hlsFirstSpan {
				return nil, unsupported("the HLS stream has no H.264 keyframe in its first %v", hlsFirstSpan)
			}
			continue
		}
		for _, n := range r.au {
			if len(n) == 0 {
				continue
			}
			switch mch264.NALUType(n[0] & 0x1f) {
			case mch264.NALUTypeSPS:
				sps = n
			case mch264.NALUTypePPS:
				pps = n
			}
		}
		if mch264.IsRandomAccess(r.au) && sps != nil && pps != nil {
			return h264Params(sps, pps)
		}
		if r.dts-first > hlsFirstSpan {
			return nil, unsupported("the HLS stream has no H.264 keyframe with its SPS and PPS in its first %v", hlsFirstSpan)
		}
	}
}

func (d *hlsDemuxer) next() (Packet, error) {
	for {
		var r hlsRaw
		if len(d.pending) > 0 {
			r = d.pending[0]
			d.pending = d.pending[1:]
		} else {
			var err error
			if r, err = d.raw(); err != nil {
				return Packet{}, err
			}
		}
		if r.video {
			if p, ok := videoUnit(r.pts, r.dts, r.au); ok && d.hasVideo && !paramSetsOnly(p.Unit.NALUs) {
				return p, nil
			}
			continue
		}
		if d.hasAudio && len(r.frame) > 0 {
			return audioUnit(r.pts, r.frame), nil
		}
	}
}

func (d *hlsDemuxer) close() error {
	d.pending, d.look = nil, [2]*hlsRaw{}
	return nil
}

// fill reads the next unit of each stream not at its end.
func (d *hlsDemuxer) fill() error {
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	for i, s := range []*hlsSegStream{d.main, d.alt} {
		for s != nil && d.look[i] == nil && !d.eof[i] {
			r, err := s.read(ctx)
			if err == io.EOF {
				d.eof[i] = true
				break
			}
			if err != nil {
				return err
			}
			// With an audio rendition of its own, the variant's audio is not played, nor
			// the rendition's video.
			if d.alt != nil && (i == 0) != r.video {
				continue
			}
			d.look[i] = &r
		}
	}
	return nil
}

// raw is the streams' next unit, by DTS.
func (d *hlsDemuxer) raw() (hlsRaw, error) {
	if err := d.fill(); err != nil {
		return hlsRaw{}, err
	}
	i := 0
	if d.look[0] == nil || (d.look[1] != nil && d.look[1].dts < d.look[0].dts) {
		i = 1
	}
	if d.look[i] == nil {
		return hlsRaw{}, io.EOF
	}
	r := *d.look[i]
	d.look[i] = nil
	return r, nil
}

// hlsLive is a live playlist played by gohlslib's client.
type hlsLive struct {
	c      *gohlslib.Client
	events chan hlsRaw
	done   chan struct{} // closed by Close
	ready  chan struct{} // closed when the tracks are known (or refused: trackErr)
	ended  chan struct{} // closed when the client stopped: endErr
	endErr error

	trackErr           error
	hasVideo, hasAudio bool
	sps, pps           []byte
	asc                *mpeg4audio.AudioSpecificConfig

	gate         pullGate
	video, audio *hub.Params
	pending      []Packet
	err          error
	once         sync.Once
}

func openHLSLive(ctx context.Context, opts Options, primary *url.URL, mv *playlist.Multivariant,
	variant *playlist.MultivariantVariant, rendition *playlist.MultivariantRendition, mediaURL *url.URL, media *playlist.Media,
) (Media, error) {
	// gohlslib drops MPEG-TS tracks it does not read: the live edge's segment tells them.
	if media.Map == nil {
		if err := hlsProbeTS(ctx, opts.Client, mediaURL, media); err != nil {
			return nil, err
		}
	}
	uri, client := mediaURL.String(), opts.Client
	if rendition != nil {
		// The audio is in a playlist of its own: gohlslib reads the multivariant playlist,
		// cut down to the variant and the rendition picked.
		cut := &playlist.Multivariant{Version: mv.Version, IndependentSegments: mv.IndependentSegments,
			Variants: []*playlist.MultivariantVariant{variant}, Renditions: []*playlist.MultivariantRendition{rendition}}
		if u, err := hlsResolve(primary, variant.URI); err == nil {
			v := *variant
			v.URI = u.String()
			cut.Variants[0] = &v
		}
		if u, err := hlsResolve(primary, *rendition.URI); err == nil {
			r := *rendition
			s := u.String()
			r.URI = &s
			cut.Renditions[0] = &r
		}
		body, err := cut.Marshal()
		if err != nil {
			return nil, unsupported("the HLS multivariant playlist: %v", err)
		}
		uri = primary.String()
		client = &http.Client{Transport: hlsCanned{inner: opts.Client, url: uri, body: body}}
	}
	m := &hlsLive{
		events: make(chan hlsRaw, hlsLiveQueue),
		done:   make(chan struct{}),
		ready:  make(chan struct{}),
		ended:  make(chan struct{}),
	}
	m.c = &gohlslib.Client{
		URI:                       uri,
		HTTPClient:                client,
		StartDistance:             min(max(len(media.Segments), 1), 3),
		OnTracks:                  m.onTracks,
		OnDownloadPrimaryPlaylist: func(string) {},
		OnDownloadStreamPlaylist:  func(string) {},
		OnDownloadSegment:         func(string) {},
		OnDownloadPart:            func(string) {},
		OnDecodeError:             func(error) {},
	}
	if err := m.c.Start(); err != nil {
		return nil, unsupported("the HLS URL: %v", err)
	}
	go func() {
		m.endErr = m.c.Wait2()
		close(m.ended)
	}()
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// open waits for the tracks and the first keyframe.
func (m *hlsLive) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, hlsLiveFirstWait)
	defer cancel()
	select {
	case <-m.ready:
	case <-m.ended:
		return m.endError(true)
	case <-ctx.Done():
		return fmt.Errorf("ingest: the HLS stream's tracks: %w", ctx.Err())
	}
	if m.trackErr != nil {
		return m.trackErr
	}
	m.gate = pullGate{what: "the HLS stream", hasVideo: m.hasVideo}
	if m.sps != nil && m.pps != nil {
		p, err := h264Params(m.sps, m.pps)
		if err != nil {
			return err
		}
		m.gate.configure(m.sps, m.pps, p)
	}
	if m.asc != nil {
		p, err := aacParams(m.asc)
		if err != nil {
			return err
		}
		m.audio = p
	}
	p, err := m.Next(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("ingest: waiting for the HLS stream's first keyframe: %w", err)
		}
		if err == io.EOF {
			return m.endError(true)
		}
		return err
	}
	m.pending = append(m.pending, p)
	if m.hasVideo {
		m.video = m.gate.params
	}
	return nil
}

// onTracks takes the tracks gohlslib found (on its goroutine, before any data).
func (m *hlsLive) onTracks(tracks []*gohlslib.Track) error {
	defer close(m.ready)
	var vt, at *gohlslib.Track
	for _, t := range tracks {
		switch c := t.Codec.(type) {
		case *hlscodecs.H264:
			if vt != nil {
				m.trackErr = unsupported("the HLS stream has a second video track")
				return m.trackErr
			}
			vt, m.sps, m.pps = t, c.SPS, c.PPS
		case *hlscodecs.MPEG4Audio:
			if at != nil {
				m.trackErr = unsupported("the HLS stream has a second audio track")
				return m.trackErr
			}
			conf := c.Config
			at, m.asc = t, &conf
		default:
			m.trackErr = unsupported("the HLS stream's %s track: only H.264 video and AAC audio are taken", pullCodecName(c))
			return m.trackErr
		}
		if t.ClockRate <= 0 {
			m.trackErr = unsupported("the HLS stream's track has no clock rate")
			return m.trackErr
		}
	}
	m.hasVideo, m.hasAudio = vt != nil, at != nil
	if vt != nil {
		rate := int64(vt.ClockRate)
		m.c.OnDataH26x(vt, func(pts, dts int64, au [][]byte) {
			m.send(hlsRaw{video: true, pts: ticks(pts, rate), dts: ticks(dts, rate), au: au})
		})
	}
	if at != nil {
		rate, sr := int64(at.ClockRate), m.asc.SampleRate
		if sr <= 0 {
			m.trackErr = unsupported("an AAC track without a sample rate")
			return m.trackErr
		}
		m.c.OnDataMPEG4Audio(at, func(pts int64, aus [][]byte) {
			t := ticks(pts, rate)
			for i, au := range aus {
				d := t + time.Duration(i)*mpeg4audio.SamplesPerAccessUnit*time.Second/time.Duration(sr)
				m.send(hlsRaw{pts: d, dts: d, frame: au})
			}
		})
	}
	return nil
}

func (m *hlsLive) send(r hlsRaw) {
	select {
	case m.events <- r:
	case <-m.done:
	}
}

// endError is why the client stopped: io.EOF at the end of the playlist.
func (m *hlsLive) endError(opening bool) error {
	switch {
	case m.trackErr != nil:
		return m.trackErr
	case errors.Is(m.endErr, gohlslib.ErrClientEOS):
		if opening {
			return errors.New("ingest: the HLS stream ended before its first keyframe")
		}
		return io.EOF
	case errors.Is(m.endErr, ErrUnsupported):
		return m.endErr
	}
	return fmt.Errorf("ingest: the HLS stream: %w", m.endErr)
}

func (m *hlsLive) Video() *hub.Params         { return m.video }
func (m *hlsLive) Audio() *hub.Params         { return m.audio }
func (m *hlsLive) Live() bool                 { return true }
func (m *hlsLive) SetVolume(percent int) bool { return false }

func (m *hlsLive) Next(ctx context.Context) (Packet, error) {
	if len(m.pending) > 0 {
		p := m.pending[0]
		m.pending = m.pending[1:]
		return p, nil
	}
	for m.err == nil {
		var r hlsRaw
		select {
		case r = <-m.events:
		case <-m.ended:
			select {
			case r = <-m.events:
			default:
				m.err = m.endError(false)
				return Packet{}, m.err
			}
		case <-ctx.Done():
			return Packet{}, ctx.Err()
		}
		var p Packet
		var ok bool
		var err error
		if r.video {
			p, ok, err = m.gate.video(r.pts, r.dts, r.au)
		} else if m.audio != nil {
			p, ok = m.gate.audio(r.pts, r.frame)
		}
		if err != nil {
			m.err = err
			break
		}
		if ok {
			return p, nil
		}
	}
	return Packet{}, m.err
}

func (m *hlsLive) Close() error {
	m.once.Do(func() {
		close(m.done)
		m.c.Close()
	})
	return nil
}

// hlsProbeTS refuses a live MPEG-TS playlist whose last segment has a track other than
// H.264 and AAC.
func hlsProbeTS(ctx context.Context, c *http.Client, u *url.URL, pl *playlist.Media) error {
	s, err := newHLSSegStream(c, u, pl, &hlsBudget{left: DefaultMaxBytes, max: DefaultMaxBytes}, map[int]time.Duration{})
	if err != nil {
		return err
	}
	seg := s.segs[len(s.segs)-1]
	data, err := s.fetch(ctx, seg.u, seg.start, seg.length)
	if err != nil {
		return err
	}
	return hlsSafe(func() error {
		r := &mpegts.Reader{R: bytes.NewReader(data)}
		if err := r.Initialize(); err != nil {
			return unsupported("the HLS segment %s is not MPEG-TS: %v", seg.u.Redacted(), err)
		}
		_, _, err := hlsTSTracks(r)
		return err
	})
}

// hlsCanned answers one URL with a body of its own and sends the rest through inner.
type hlsCanned struct {
	inner *http.Client
	url   string
	body  []byte
}

func (h hlsCanned) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.String() == h.url {
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/vnd.apple.mpegurl"}},
			Body:          io.NopCloser(bytes.NewReader(h.body)),
			ContentLength: int64(len(h.body)),
			Request:       req,
		}, nil
	}
	return h.inner.Do(req)
}
