package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
)

func TestGuardCheck(t *testing.T) {
	none := Guard{}
	for _, tc := range []struct {
		ip      string
		g       Guard
		refused string // "" = allowed, else a word of the reason
	}{
		{"169.254.169.254", DefaultGuard, "link-local"},
		{"169.254.0.23", DefaultGuard, "link-local"}, // Tencent Cloud metadata
		{"::ffff:169.254.169.254", DefaultGuard, "link-local"},
		{"fe80::1", DefaultGuard, "link-local"},
		{"fe80::1%eth0", DefaultGuard, "link-local"},
		{"64:ff9b::a9fe:a9fe", DefaultGuard, "link-local"},
		{"0.0.0.0", DefaultGuard, "unspecified"},
		{"0.1.2.3", DefaultGuard, "unspecified"},
		{"::", DefaultGuard, "unspecified"},
		{"::ffff:0.0.0.0", DefaultGuard, "unspecified"},
		{"224.0.0.1", DefaultGuard, "multicast"},
		{"239.255.255.250", DefaultGuard, "multicast"},
		{"ff02::1", DefaultGuard, "multicast"},
		{"::ffff:224.0.0.1", DefaultGuard, "multicast"},
		{"255.255.255.255", DefaultGuard, "broadcast"},
		{"240.0.0.1", DefaultGuard, "reserved"},
		{"127.0.0.1", DefaultGuard, ""},
		{"127.0.0.1", none, "loopback"},
		{"127.9.9.9", none, "loopback"},
		{"::1", none, "loopback"},
		{"::ffff:127.0.0.1", none, "loopback"},
		{"10.1.2.3", DefaultGuard, ""},
		{"10.1.2.3", Guard{AllowLoopback: true}, "private"},
		{"172.16.0.1", none, "private"},
		{"192.168.1.1", none, "private"},
		{"100.100.100.200", none, "private"}, // Alibaba Cloud metadata, shared address space
		{"fd00::1", none, "private"},
		{"93.184.215.14", none, ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", none, ""},
	} {
		err := tc.g.Check(netip.MustParseAddr(tc.ip))
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s with %+v: refused: %v", tc.ip, tc.g, err)
		case tc.refused != "" && (!errors.Is(err, ErrAddressRefused) || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s with %+v: %v, want refused (%s)", tc.ip, tc.g, err, tc.refused)
		}
	}
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/trtc/callback", true},
		{"https://example.com/cb?x=1", true},
		{"HTTP://Example.COM/", true},
		{"http://localhost/", true},
		{"http://10.0.0.5/", true}, // private: the guard decides when dialling
		{"http://[::1]:9000/", true},
		{"http://1.2.3.4.example.com/", true},
		{"http://example.com:0/", false},
		{"http://example.com:65536/", false},
		{"http://example.com:x/", false},
		{"ftp://example.com/", false},
		{"file:///etc/passwd", false},
		{"/relative/path", false},
		{"http:opaque", false},
		{"http://", false},
		{"http://:80/", false},
		{"http://user:pass@example.com/", false},
		{"http://user@example.com/", false},
		{"http://example.com/" + strings.Repeat("a", MaxURLLength), false},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"http://[::ffff:169.254.169.254]/", false},
		{"http://[::ffff:a9fe:a9fe]/", false},
		{"http://[64:ff9b::169.254.169.254]/", false},
		{"http://2852039166/", false},
		{"http://0xa9fea9fe/", false},
		{"http://0XA9FEA9FE/", false},
		{"http://0251.0376.0251.0376/", false},
		{"http://169.254.43518/", false},
		{"http://169.254.169.254./", false},
		{"http://[fe80::1]/", false},
		{"http://[fe80::1%25eth0]/", false},
		{"http://0.0.0.0/", false},
		{"http://0/", false},
		{"http://[::]/", false},
		{"http://224.0.0.1/", false},
		{"http://255.255.255.255/", false},
		{" http://example.com/", false},
	} {
		err := ValidateURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8080/cb", "https://example.com/", "http://169.254.169.254/",
		"http://[::ffff:169.254.169.254]/", "http://2852039166/", "http://0xa9fea9fe/",
		"http://[fe80::1%25eth0]/", "http://user@host/", "ftp://x/", "http:opaque", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidateURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(raw) > MaxURLLength {
			t.Fatalf("accepted %q: scheme %q, host %q, user %v", raw, u.Scheme, u.Hostname(), u.User)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && DefaultGuard.Check(ip) != nil {
			t.Fatalf("accepted %q with a refused IP", raw)
		}
	})
}

// fakeDNS answers A and AAAA queries for names with the given addresses (by the name's
// first label, so search-domain suffixes do not matter) and NXDOMAIN otherwise.
func fakeDNS(t *testing.T, names map[string]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], names); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func dnsAnswer(q []byte, names map[string]netip.Addr) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	off, first := 12, ""
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if off+1+l > len(q) {
			return nil
		}
		if first == "" {
			first = strings.ToLower(string(q[off+1 : off+1+l]))
		}
		off += 1 + l
	}
	off++ // the root label
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	ip, known := names[first]
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
	var answer []byte
	switch {
	case known && qtype == 1 && ip.Is4():
		answer = append([]byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4}, ip.AsSlice()...)
	case known && qtype == 28 && ip.Is6():
		answer = append([]byte{0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16}, ip.AsSlice()...)
	}
	flags := uint16(0x8180)
	if !known {
		flags |= 3 // NXDOMAIN
	}
	ancount := uint16(0)
	if answer != nil {
		ancount = 1
	}
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, ancount)
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, question...)
	return append(resp, answer...)
}

// Refused addresses in every form: the attempt fails saying so, and no connection is made.
func TestRefusedAddressesMakeNoConnection(t *testing.T) {
	// A listener on all interfaces: a connection to 0.0.0.0, ::, 127.0.0.1 or a name that
	// resolves to one of them would reach it.
	port, accepts := countingListener(t, ":0")
	resolver := fakeDNS(t, map[string]netip.Addr{
		"metadata":   netip.MustParseAddr("169.254.169.254"),
		"metadata6":  netip.MustParseAddr("::ffff:169.254.169.254"),
		"linklocal6": netip.MustParseAddr("fe80::1"),
		"loop":       netip.MustParseAddr("127.0.0.1"),
		"zero":       netip.MustParseAddr("0.0.0.0"),
	})
	// A receiver the default guard lets us reach, redirecting to refused places.
	redirect := func(to string) string {
		return receiver(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		})
	}
	local := "http://127.0.0.1:" + port + "/"
	for _, tc := range []struct {
		url    string
		g      Guard
		status int    // 302 for the redirects, else 0: no HTTP answer
		want   string // in the outcome's error
	}{
		{"http://169.254.169.254/latest/meta-data/", DefaultGuard, 0, "refused address"},
		{"http://[::ffff:169.254.169.254]/", DefaultGuard, 0, "refused address"},
		{"http://[::ffff:a9fe:a9fe]/", DefaultGuard, 0, "refused address"},
		{"http://[64:ff9b::a9fe:a9fe]/", DefaultGuard, 0, "refused address"},
		{"http://2852039166/", DefaultGuard, 0, "refused address"},
		{"http://0xa9fea9fe/", DefaultGuard, 0, "refused address"},
		{"http://0251.0376.0251.0376/", DefaultGuard, 0, "refused address"},
		{"http://169.254.43518/", DefaultGuard, 0, "refused address"},
		{"http://[fe80::1]:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://0.0.0.0:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://[::]:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://[::ffff:0.0.0.0]:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://0:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://224.0.0.1:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://255.255.255.255:" + port + "/", DefaultGuard, 0, "refused address"},
		{"http://metadata.test:" + port + "/", DefaultGuard, 0, "refused address 169.254.169.254"},
		{"http://metadata6.test:" + port + "/", DefaultGuard, 0, "refused address 169.254.169.254"},
		{"http://linklocal6.test:" + port + "/", DefaultGuard, 0, "refused address fe80::1"},
		{"http://zero.test:" + port + "/", DefaultGuard, 0, "refused address 0.0.0.0"},
		{"http://loop.test:" + port + "/", Guard{AllowPrivate: true}, 0, "refused address 127.0.0.1: loopback"},
		{local, Guard{AllowPrivate: true}, 0, "refused address 127.0.0.1: loopback"},
		{"http://[::ffff:127.0.0.1]:" + port + "/", Guard{}, 0, "refused address 127.0.0.1: loopback"},
		{"http://10.0.0.1:" + port + "/", Guard{AllowLoopback: true}, 0, "refused address 10.0.0.1: private"},
		{"http://[fd00::1]:" + port + "/", Guard{AllowLoopback: true}, 0, "refused address fd00::1: private"},
		{"http://100.100.100.200/", Guard{AllowLoopback: true}, 0, "refused address 100.100.100.200: private"},
		{redirect("http://169.254.169.254/latest/meta-data/"), DefaultGuard, 302, "HTTP status 302"},
		{redirect(local), DefaultGuard, 302, "HTTP status 302"},
	} {
		ob := newMemOutbox(t)
		d, stop := start(t, Config{Outbox: ob, Clock: clock.NewFake(t0), Client: newClient(tc.g, resolver), Timeout: 2 * time.Second})
		ob.add(t0, Event{Lane: "room/1", URL: tc.url, Body: []byte(`{}`)})
		d.Notify()
		ob.waitAttempts(1)
		stop()
		o := ob.attempts()[0]
		if o.StatusCode != tc.status || !strings.Contains(o.Error, tc.want) || o.State != Pending {
			t.Errorf("%s with %+v: status %d, error %q; want %d, %q", tc.url, tc.g, o.StatusCode, o.Error, tc.status, tc.want)
		}
	}
	if n := accepts.Load(); n != 0 {
		t.Errorf("the listener got %d connections, want 0", n)
	}

	// The control: the same listener, reached when the guard allows it, counts.
	ob := newMemOutbox(t)
	d, stop := start(t, Config{Outbox: ob, Clock: clock.NewFake(t0), Client: newClient(DefaultGuard, resolver)})
	ob.add(t0, Event{Lane: "room/1", URL: "http://loop.test:" + port + "/", Body: []byte(`{}`)})
	d.Notify()
	ob.waitAttempts(1)
	stop()
	if accepts.Load() == 0 {
		t.Error("the allowed connection did not reach the listener: the zero above proves nothing")
	}
}

func TestNewClientHasNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	tr := NewClient(DefaultGuard).Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Fatal("the callback transport uses a proxy")
	}
}

// The client refuses at dial time on its own, without ValidateURL's help: literal hosts
// that ValidateURL would have caught are refused again by the dialer's Control.
func TestClientRefusesAtDial(t *testing.T) {
	port, accepts := countingListener(t, ":0")
	client := NewClient(DefaultGuard)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/",
		"http://[fe80::1]:" + port + "/",
		"http://0.0.0.0:" + port + "/",
		"http://[::]:" + port + "/",
		"http://224.0.0.1:" + port + "/",
	} {
		resp, err := client.Post(u, "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("POST %s: %v, want ErrAddressRefused", u, err)
		}
	}
	if n := accepts.Load(); n != 0 {
		t.Errorf("the listener got %d connections, want 0", n)
	}
}

// TestPullClient: ingest sources are fetched through the guard (a refused address is
// never dialled) and https is verified against the roots given.
func TestPullClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "media") }))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	if _, err := NewPullClient(Guard{}, roots).Get(srv.URL); !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("a loopback source with loopback refused: %v", err)
	}
	var unknown *tls.CertificateVerificationError
	if _, err := NewPullClient(DefaultGuard, nil).Get(srv.URL); !errors.As(err, &unknown) {
		t.Fatalf("a certificate outside the system pool: %v", err)
	}
	resp, err := NewPullClient(DefaultGuard, roots).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "media" {
		t.Fatalf("body %q", body)
	}
}
