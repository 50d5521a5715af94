// Package ingest owns reading the media a stream-ingest task pulls into a room: HTTP(S)
// files (FLV, MP4/MOV/M4A, MPEG-TS, MP3), HLS playlists (VOD and live) and RTMP streams,
// opened by URL and demuxed into the hub's units, H.264 and AAC as they are (no
// re-encoding), MP3 decoded and re-encoded to AAC. It knows no room, job or clock: the
// caller paces file sources by their timestamps and publishes the units.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// Media is an opened source. Its methods are called from one goroutine.
type Media interface {
	// Video and Audio are the tracks' hub parameters as published (after conversion:
	// MP3 is AAC here); nil when the source has no such track.
	Video() *hub.Params
	Audio() *hub.Params
	// Live says the units arrive as the source sends them (RTMP, a live playlist): the
	// caller publishes them as they come. A file (or VOD playlist) is read as fast as
	// Next is called: the caller paces it by the units' DTS.
	Live() bool
	// Next returns the next unit in decode order (DTS non-decreasing per track, tracks
	// interleaved by DTS as the container has them), io.EOF at the end of the source.
	// Times start near 0 at the source's first unit (or at Options.Seek). ctx bounds a
	// wait for live data.
	Next(ctx context.Context) (Packet, error)
	// SetVolume sets the audio gain in percent (100: as it is; 0 … 200) and says whether
	// this source applies it (only where audio is decoded: MP3).
	SetVolume(percent int) bool
	Close() error
}

// Packet is one unit of one track.
type Packet struct {
	Track hub.Track // hub.MainVideo or hub.Audio
	Unit  hub.Unit
}

// Options configure Open.
type Options struct {
	// Client fetches HTTP(S) sources and playlists; the caller's address guard and
	// certificate pool are in it. Required for http and https URLs.
	Client *http.Client
	// Dial connects to RTMP sources (the caller's guard is in it); nil: a plain dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Seek starts the source at this media time: video at the first keyframe at or after
	// it, audio from there; the units' times then start near 0.
	Seek time.Duration
	// Volume is the initial audio gain in percent (0 means 100).
	Volume int
	// MaxBytes bounds what a file source may be (0: DefaultMaxBytes).
	MaxBytes int64
	// TempDir holds the download of a file that has to be read out of order (MP4); the
	// system's temporary directory when empty.
	TempDir string
}

// DefaultMaxBytes is the largest file source read when Options.MaxBytes is 0.
const DefaultMaxBytes = 4 << 30

// ErrUnsupported is wrapped by every refusal of what the source is (its container,
// codec or coding features): retrying cannot help.
var ErrUnsupported = errors.New("ingest: unsupported source")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Open opens the source at rawURL: rtmp:// is pulled with an RTMP client, http(s):// is
// fetched and told apart by its first bytes (an HLS playlist by its #EXTM3U).
func Open(ctx context.Context, rawURL string, opts Options) (Media, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, unsupported("%q is not an absolute URL", rawURL)
	}
	if opts.Volume == 0 {
		opts.Volume = 100
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	switch strings.ToLower(u.Scheme) {
	case "rtmp":
		return openRTMP(ctx, u, opts)
	case "http", "https":
	default:
		return nil, unsupported("the scheme %q (http, https and rtmp are pulled)", u.Scheme)
	}
	if opts.Client == nil {
		return nil, errors.New("ingest: no HTTP client")
	}
	if strings.EqualFold(path.Ext(u.Path), ".m3u8") {
		return openHLS(ctx, u, opts)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, unsupported("%v", err)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("ingest: %s answered %s", u.Redacted(), resp.Status)
	}
	if resp.ContentLength > opts.MaxBytes {
		resp.Body.Close()
		return nil, unsupported("the source is %d bytes, more than the %d taken", resp.ContentLength, opts.MaxBytes)
	}
	body := bufio.NewReaderSize(io.LimitReader(resp.Body, opts.MaxBytes), 64<<10)
	head, _ := body.Peek(sniffLen)
	kind := sniff(head)
	var m Media
	switch kind {
	case kindHLS:
		resp.Body.Close()
		return openHLS(ctx, u, opts)
	case kindFLV:
		m, err = openFLV(body, opts)
	case kindTS:
		m, err = openTS(body, opts)
	case kindMP4:
		m, err = openMP4(body, opts)
	case kindMP3:
		m, err = openMP3(body, opts)
	default:
		err = unsupported("the content (%s, starting %q) is none of FLV, MP4/MOV/M4A, MPEG-TS, MP3 or an HLS playlist",
			resp.Header.Get("Content-Type"), printable(head, 16))
	}
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return &closing{Media: m, body: resp.Body}, nil
}

// closing closes the HTTP body after the demuxer reading it.
type closing struct {
	Media
	body io.Closer
}

func (c *closing) Close() error {
	err := c.Media.Close()
	c.body.Close()
	return err
}

// Containers sniff tells apart.
const (
	kindUnknown = iota
	kindFLV
	kindTS
	kindMP4
	kindMP3
	kindHLS
)

const sniffLen = 512

// sniff is the container a file's first bytes show.
func sniff(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte("FLV")):
		return kindFLV
	case bytes.HasPrefix(bytes.TrimLeft(b, "\ufeff \t\r\n"), []byte("#EXTM3U")):
		return kindHLS
	case len(b) >= 8 && isMP4Box(string(b[4:8])):
		return kindMP4
	case len(b) > 188 && b[0] == 0x47 && b[188] == 0x47:
		return kindTS
	case bytes.HasPrefix(b, []byte("ID3")), len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return kindMP3
	}
	return kindUnknown
}

func isMP4Box(t string) bool {
	switch t {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot":
		return true
	}
	return false
}

func printable(b []byte, n int) string {
	b = b[:min(len(b), n)]
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
