package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrAddressRefused is wrapped by every error of a Guard refusing an address.
var ErrAddressRefused = errors.New("webhooks: refused address")

// MaxURLLength is the longest callback URL ValidateURL accepts.
const MaxURLLength = 2048

// Guard decides which addresses callbacks may connect to (SSRF protection, research B5).
// Link-local (169.254.0.0/16 with the cloud metadata services, fe80::/10), multicast,
// unspecified (0.0.0.0/8, ::), broadcast and reserved (240.0.0.0/4) addresses are always
// refused, in their IPv4-mapped IPv6 and NAT64 forms too. Loopback (127.0.0.0/8, ::1) and
// private addresses (RFC 1918, 100.64.0.0/10 shared space, fc00::/7 ULA) are refused unless
// allowed.
type Guard struct {
	AllowLoopback bool
	AllowPrivate  bool
}

// DefaultGuard allows loopback and private receivers: an emulator's callback receiver
// usually runs on the developer's machine or network.
var DefaultGuard = Guard{AllowLoopback: true, AllowPrivate: true}

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 carrier-grade NAT
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	broadcast4  = netip.MustParseAddr("255.255.255.255")
)

// Check returns nil if the guard lets callbacks connect to ip, else an error wrapping
// ErrAddressRefused that names the address and the reason.
func (g Guard) Check(ip netip.Addr) error {
	if reason := alwaysRefused(ip); reason != "" {
		return refused(ip, reason)
	}
	ip = ip.WithZone("").Unmap()
	switch {
	case ip.IsLoopback() && !g.AllowLoopback:
		return refused(ip, "loopback")
	case (ip.IsPrivate() || sharedSpace.Contains(ip)) && !g.AllowPrivate:
		return refused(ip, "private")
	}
	return nil
}

func refused(ip netip.Addr, reason string) error {
	return fmt.Errorf("%w %s: %s", ErrAddressRefused, ip, reason)
}

// alwaysRefused is why no guard allows ip, or "".
func alwaysRefused(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLinkLocalUnicast():
		return "link-local (cloud metadata)"
	case ip.IsMulticast():
		return "multicast"
	case ip == broadcast4:
		return "broadcast"
	case reserved4.Contains(ip):
		return "reserved"
	case nat64.Contains(ip):
		b := ip.As16()
		if r := alwaysRefused(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return r + " via NAT64"
		}
	}
	return ""
}

// control is a net.Dialer Control function: it runs for every connection, after name
// resolution and before connect, so it sees the address actually dialled (which defeats
// DNS rebinding) and no connection to a refused address is ever attempted.
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w %q: not an IP address", ErrAddressRefused, address)
	}
	return g.Check(ap.Addr())
}

// NewClient returns the HTTP client callbacks are sent with: every dial passes the guard,
// no proxy (environment variables included), no redirects followed (a 3xx is the
// receiver's answer, and a failure), keep-alive connections to each receiver reused.
// Per-attempt timeouts come from the Dispatcher's request context.
func NewClient(g Guard) *http.Client {
	return newClient(g, nil)
}

// newClient is NewClient with a resolver of the caller's (nil: the default), for tests.
func newClient(g Guard, r *net.Resolver) *http.Client {
	dialer := &net.Dialer{
		Timeout:   DefaultTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  r,
		Control:   g.control,
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DefaultTimeout,
		ResponseHeaderTimeout: 0, // the request context bounds the whole attempt
	}
	return &http.Client{Transport: transport, CheckRedirect: noRedirects}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ValidateURL checks a callback URL before it is stored: an absolute http or https URL
// with a host, no user information, at most MaxURLLength bytes. A literal IP host must not
// be one no guard allows (so http://169.254.169.254/ is rejected at configuration time),
// and a host that is numeric but not a dotted-quad IPv4 address (2852039166, 0xa9fea9fe,
// 0251.0376.0251.0376, 169.254.43518) is rejected because resolvers disagree on what it
// means. Loopback and private hosts pass: the guard decides about those when dialling.
func ValidateURL(raw string) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("webhooks: callback URL longer than %d bytes", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhooks: callback URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("webhooks: callback URL %q: scheme must be http or https", raw)
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("webhooks: callback URL %q: no host", raw)
	case u.User != nil:
		return fmt.Errorf("webhooks: callback URL %q: user information not allowed", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("webhooks: callback URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := parsePort(p); err != nil || n == 0 {
			return fmt.Errorf("webhooks: callback URL %q: bad port", raw)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if reason := alwaysRefused(ip); reason != "" {
			return refused(ip, reason)
		}
		return nil
	}
	if endsInNumber(host) {
		return fmt.Errorf("%w %q: numeric host that is not a dotted-quad IPv4 address", ErrAddressRefused, host)
	}
	return nil
}

func parsePort(p string) (int, error) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

// endsInNumber reports whether host's last label is a number (decimal, 0x hex or octal),
// which the WHATWG URL standard, curl and inet_aton read as an IPv4 address.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	digits := last
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		digits = last[2:]
		return strings.Trim(strings.ToLower(digits), "0123456789abcdef") == ""
	}
	return strings.Trim(digits, "0123456789") == ""
}

// DialContext connects to address through the guard: what the emulator pulls on a user's
// behalf (ingest sources) goes where callbacks may go, and nowhere else.
func (g Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, address)
}

// NewPullClient returns the HTTP client ingest sources and mixed layouts' images are
// fetched with: every dial (redirects' included, at most 5) passes the guard, no proxy,
// https verified against roots (the system pool when nil).
func NewPullClient(g Guard, roots *x509.CertPool) *http.Client {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DefaultTimeout,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("webhooks: more than 5 redirects")
		}
		return nil
	}}
}
