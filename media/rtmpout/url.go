package rtmpout

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// target is a publish URL as RTMP servers read it: connect to Addr for the application
// App (tcUrl TcURL), then publish the stream Stream.
type target struct {
	Addr   string // host:port, 1935 when the URL has no port
	App    string
	TcURL  string // rtmp://host[:port]/app
	Stream string // the rest of the path and the query, as written: CDNs read keys from it
	Where  string // the URL without its query (which may hold a key), for errors
}

// ValidURL checks that raw is a URL Publish can push to: rtmp://host[:port]/app/stream
// with an optional query. Its error gives the reason.
func ValidURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// parseURL reads a publish URL the way ffmpeg, OBS and RTMP servers do: the application
// is the path's first segment, the stream name the rest with the query.
func parseURL(raw string) (target, error) {
	bad := func(reason string) (target, error) {
		return target{}, fmt.Errorf("rtmpout: the URL %s", reason)
	}
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return bad("is empty")
	case err != nil:
		return bad("does not parse")
	case u.Scheme != "rtmp":
		return bad(fmt.Sprintf("is not rtmp:// (%q)", u.Scheme))
	case u.Opaque != "" || u.Hostname() == "":
		return bad("has no host")
	case u.User != nil:
		return bad("has credentials (user@): put the CDN's key in the query")
	case u.Fragment != "":
		return bad("has a fragment (#)")
	}
	port := u.Port()
	if port == "" {
		port = "1935"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad(fmt.Sprintf("has the port %q", port))
	}
	path := strings.Trim(u.EscapedPath(), "/")
	app, stream, _ := strings.Cut(path, "/")
	switch {
	case app == "":
		return bad("has no application (rtmp://host/app/stream)")
	case stream == "":
		return bad("has no stream name (rtmp://host/app/stream)")
	}
	appName, err := url.PathUnescape(app)
	if err != nil {
		return bad("has a malformed application")
	}
	base := "rtmp://" + u.Host + "/"
	t := target{Addr: net.JoinHostPort(u.Hostname(), port), App: appName, TcURL: base + app, Stream: stream, Where: base + path}
	if u.RawQuery != "" {
		t.Stream += "?" + u.RawQuery
	}
	return t, nil
}
