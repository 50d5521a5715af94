package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleKey is the key published in tls-sig-api-v2's README and test file.
// The decoded UserSig in api-protocol.md §7 reproduces with it (HMAC checked
// by TestDocUserSig), so the doc example is a real vector, not a guess.
const sampleKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

// docTime is TLS.time of the §7 example, 2026-11-24T03:04:57Z.
var docTime = time.Unix(1795489497, 0)

// inflateTicket undoes the ticket base64 and zlib layers.
func inflateTicket(t testing.TB, ticket string) (header, js []byte) {
	t.Helper()
	raw, err := ticketEncoding.DecodeString(ticket)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	js, err = io.ReadAll(zr)
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	return raw[:2], js
}

func deflate(t testing.TB, js []byte) string {
	t.Helper()
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(js)
	zw.Close()
	return ticketEncoding.EncodeToString(b.Bytes())
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seed: api-protocol.md §7, "Observed decoded UserSig [RUN:usersig]".
func TestDocUserSig(t *testing.T) {
	const want = `{"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":1400000001,"TLS.expire":86400,"TLS.time":1795489497,"TLS.sig":"6zZYLD9pN3Sf4cXEENUDO20rPHXQGeX6M7ulnyKRivc="}` + "\n"
	sig, err := Gen(Params{SdkAppId: 1400000001, Key: sampleKey, UserId: "alice", Expire: 86400 * time.Second, Now: docTime})
	if err != nil {
		t.Fatal(err)
	}
	header, js := inflateTicket(t, sig)
	if string(js) != want {
		t.Errorf("decoded ticket\n got %q\nwant %q", js, want)
	}
	// tls-sig-api-v2-golang's default zlib.NoCompression; §7 observed 78 01.
	if hex.EncodeToString(header) != "7801" {
		t.Errorf("zlib header %x, want 7801", header)
	}
	// The doc's own bytes, compressed anyhow, verify too.
	tk, err := Verify(deflate(t, []byte(want)), 1400000001, sampleKey, "alice", docTime.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.ExpiresAt().Format(time.RFC3339); got != "2026-11-25T03:04:57Z" {
		t.Errorf("ExpiresAt %s", got)
	}
}

// seed: api-protocol.md §7, the two observed userbufs.
func TestDocUserBufs(t *testing.T) {
	tests := []struct {
		hex  string
		want PrivateMap
	}{
		{"000005616c69636553724e01000004d26b050ce9000000ff00000000", PrivateMap{
			UserId: "alice", SdkAppId: 1400000001, RoomId: 1234,
			ExpiresAt: time.Unix(0x6b050ce9, 0).UTC(), Privileges: 255,
		}},
		{"010005616c69636553724e01000000006b050ce90000002a000000000008726f6f6d2d616263", PrivateMap{
			UserId: "alice", SdkAppId: 1400000001, StrRoomId: "room-abc",
			ExpiresAt: time.Unix(0x6b050ce9, 0).UTC(), Privileges: 42,
		}},
	}
	for _, tt := range tests {
		buf := mustHex(t, tt.hex)
		var m PrivateMap
		if err := m.UnmarshalBinary(buf); err != nil {
			t.Fatalf("%s: %v", tt.hex, err)
		}
		if m != tt.want {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", tt.hex, m, tt.want)
		}
		// The §7 ticket was issued at docTime with a one-hour PrivateMapKey.
		if !m.ExpiresAt.Equal(docTime.Add(time.Hour)) {
			t.Errorf("ExpiresAt %v, want docTime+1h", m.ExpiresAt)
		}
		got, err := tt.want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf) {
			t.Errorf("MarshalBinary\n got %x\nwant %x", got, buf)
		}
	}
}

// goLibTicket mirrors tls-sig-api-v2-golang's userSig struct, whose
// json.Encoder output FormatGo reproduces.
type goLibTicket struct {
	Version    string `json:"TLS.ver,omitempty"`
	Identifier string `json:"TLS.identifier,omitempty"`
	SdkAppID   uint64 `json:"TLS.sdkappid,omitempty"`
	Expire     int64  `json:"TLS.expire,omitempty"`
	Time       int64  `json:"TLS.time,omitempty"`
	UserBuf    []byte `json:"TLS.userbuf,omitempty"`
	Sig        []byte `json:"TLS.sig,omitempty"`
}

func TestFormatGoMatchesEncodingJSON(t *testing.T) {
	ids := []string{"alice", `q"b\s/<a>&` + "\u2028\u2029\x7f", "用户甲", "👩‍🚀", "é\u0085\u00a0\ufeff"}
	var all strings.Builder
	for c := rune(1); c < 0x3000; c++ {
		all.WriteRune(c)
	}
	ids = append(ids, all.String())
	for _, id := range ids {
		for _, ub := range [][]byte{nil, {0, 1, 0xff}} {
			tk := Ticket{Version: "2.0", Identifier: id, SdkAppId: 1400000001, Expire: 86400, Time: 1795489497, UserBuf: ub}
			tk.Sig = tk.sign("k")
			var want bytes.Buffer
			json.NewEncoder(&want).Encode(goLibTicket{"2.0", id, 1400000001, 86400, 1795489497, ub, tk.Sig})
			if got := tk.appendJSON(nil, FormatGo); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("id %q userbuf %x:\n got %s\nwant %s", id, ub, got, want.Bytes())
			}
		}
	}
}

func TestFormatsVerifyAlike(t *testing.T) {
	for _, f := range []Format{FormatGo, FormatNode} {
		p := Params{SdkAppId: 1400000001, Key: "k", UserId: "a<b>&\u2028", Expire: time.Minute, Now: docTime, UserBuf: []byte{}, Format: f}
		sig, err := Gen(p)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := Verify(sig, p.SdkAppId, p.Key, p.UserId, docTime)
		if err != nil {
			t.Fatalf("format %d: %v", f, err)
		}
		if tk.UserBuf == nil || len(tk.UserBuf) != 0 {
			t.Errorf("format %d: empty userbuf came back as %#v", f, tk.UserBuf)
		}
		header, js := inflateTicket(t, sig)
		wantHeader := map[Format]string{FormatGo: "7801", FormatNode: "789c"}[f]
		if hex.EncodeToString(header) != wantHeader {
			t.Errorf("format %d: zlib header %x, want %s", f, header, wantHeader)
		}
		if f == FormatNode && bytes.HasSuffix(js, []byte("\n")) {
			t.Errorf("FormatNode JSON ends with a newline")
		}
	}
}

func TestVerify(t *testing.T) {
	p := Params{SdkAppId: 1400000001, Key: sampleKey, UserId: "alice", Expire: 86400 * time.Second, Now: docTime}
	sig, err := Gen(p)
	if err != nil {
		t.Fatal(err)
	}
	end := docTime.Add(86400 * time.Second)
	tests := []struct {
		name    string
		appId   uint64
		key     string
		user    string
		now     time.Time
		wantErr error
		wantMsg string
	}{
		{"ok at issue", 1400000001, sampleKey, "alice", docTime, nil, ""},
		{"ok before issue", 1400000001, sampleKey, "alice", docTime.Add(-time.Hour), nil, ""},
		{"ok in the last second", 1400000001, sampleKey, "alice", end.Add(999 * time.Millisecond), nil, ""},
		{"expired", 1400000001, sampleKey, "alice", end.Add(time.Second), ErrExpired, "usersig: expired at 2026-11-25T03:04:57Z"},
		{"wrong app", 1400000002, sampleKey, "alice", docTime, ErrSdkAppIdMismatch, "usersig: sdkappid mismatch: ticket is for 1400000001, want 1400000002"},
		{"wrong user", 1400000001, sampleKey, "bob", docTime, ErrUserIdMismatch, `usersig: user id mismatch: ticket is for "alice", want "bob"`},
		{"wrong key", 1400000001, sampleKey + "0", "alice", docTime, ErrSignatureMismatch, "usersig: signature mismatch: wrong key or altered ticket"},
		// The reference's order: app, user, expiry, then the HMAC.
		{"app before user", 7, "x", "bob", end.Add(time.Hour), ErrSdkAppIdMismatch, ""},
		{"user before expiry", 1400000001, "x", "bob", end.Add(time.Hour), ErrUserIdMismatch, ""},
		{"expiry before key", 1400000001, "x", "alice", end.Add(time.Hour), ErrExpired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := Verify(sig, tt.appId, tt.key, tt.user, tt.now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && (tk.Identifier != "alice" || tk.Time != docTime.Unix() || tk.Expire != 86400) {
				t.Errorf("ticket %+v", tk)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

// Every signed field is covered: changing one and re-encoding breaks the
// signature, while TLS.ver and key order are not signed.
func TestVerifyAlteredFields(t *testing.T) {
	p := Params{SdkAppId: 1400000001, Key: "k", UserId: "alice", Expire: time.Hour, Now: docTime, UserBuf: []byte("grant")}
	sig, err := Gen(p)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(tk Ticket, f Format) string {
		s, err := tk.encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := Verify(reencode(*orig, FormatNode), p.SdkAppId, "k", "alice", docTime); err != nil {
		t.Errorf("re-encoded in the other layout: %v", err)
	}
	alter := map[string]func(*Ticket){
		"time":    func(tk *Ticket) { tk.Time-- },
		"expire":  func(tk *Ticket) { tk.Expire++ },
		"userbuf": func(tk *Ticket) { tk.UserBuf = []byte("grant!") },
		"no userbuf": func(tk *Ticket) {
			tk.UserBuf = nil
		},
		"empty userbuf": func(tk *Ticket) { tk.UserBuf = []byte{} },
		"sig":           func(tk *Ticket) { tk.Sig = append([]byte(nil), tk.Sig[:31]...) },
	}
	for name, f := range alter {
		tk := *orig
		f(&tk)
		_, err := Verify(reencode(tk, FormatGo), p.SdkAppId, "k", "alice", docTime)
		if !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s altered: err %v, want ErrSignatureMismatch", name, err)
		}
	}
	tk := *orig
	tk.Version = "2.1"
	if _, err := Verify(reencode(tk, FormatGo), p.SdkAppId, "k", "alice", docTime); !errors.Is(err, ErrMalformed) {
		t.Errorf("TLS.ver 2.1: err %v, want ErrMalformed", err)
	}
}

func TestParseMalformed(t *testing.T) {
	z := func(s string) string { return deflate(t, []byte(s)) }
	valid := `"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1`
	var bomb bytes.Buffer
	zw := zlib.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte(" "), maxJSONLen+1))
	zw.Close()
	tests := map[string]string{
		"empty":              "",
		"not base64":         "eJ!!",
		"standard padding":   strings.ReplaceAll(z("{}"), "_", "="),
		"not zlib":           ticketEncoding.EncodeToString([]byte("hello, world")),
		"truncated zlib":     z(`{"TLS.ver":"2.0"}`)[:12],
		"not JSON":           z("not json"),
		"JSON array":         z("[]"),
		"JSON null":          z("null"),
		"empty object":       z("{}"),
		"trailing JSON":      z("{" + valid + `,"TLS.sig":""} {}`),
		"no sig":             z("{" + valid + "}"),
		"sig not base64":     z("{" + valid + `,"TLS.sig":"***"}`),
		"userbuf not base64": z("{" + valid + `,"TLS.userbuf":"a","TLS.sig":""}`),
		"ver 1":              z(strings.Replace("{"+valid+`,"TLS.sig":""}`, "2.0", "1.0", 1)),
		"time is a string":   z(`{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":"1","TLS.sig":""}`),
		"time is fractional": z(`{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1.5,"TLS.sig":""}`),
		"negative sdkappid":  z(`{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":-1,"TLS.expire":1,"TLS.time":1,"TLS.sig":""}`),
		"null identifier":    z(`{"TLS.ver":"2.0","TLS.identifier":null,"TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":""}`),
		"too long":           strings.Repeat("A", maxTicketLen+4),
		"zlib bomb":          ticketEncoding.EncodeToString(bomb.Bytes()),
	}
	for name, sig := range tests {
		if _, err := Parse(sig); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
		if _, err := Verify(sig, 1, "k", "a", docTime); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify err %v, want ErrMalformed", name, err)
		}
	}
	// A minimal well-formed ticket parses, whatever its signature.
	if _, err := Parse(z("{" + valid + `,"TLS.sig":""}`)); err != nil {
		t.Errorf("minimal ticket: %v", err)
	}
}

func TestGenRejects(t *testing.T) {
	ok := Params{SdkAppId: 1400000001, Key: "k", UserId: "alice", Expire: time.Hour, Now: docTime}
	if _, err := Gen(ok); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*Params){
		"no app":            func(p *Params) { p.SdkAppId = 0 },
		"no key":            func(p *Params) { p.Key = "" },
		"no user":           func(p *Params) { p.UserId = "" },
		"invalid UTF-8":     func(p *Params) { p.UserId = "a\xff" },
		"zero expire":       func(p *Params) { p.Expire = 0 },
		"negative expire":   func(p *Params) { p.Expire = -time.Second },
		"fractional expire": func(p *Params) { p.Expire = 1500 * time.Millisecond },
		"no now":            func(p *Params) { p.Now = time.Time{} },
		"unknown format":    func(p *Params) { p.Format = 7 },
	}
	for name, f := range tests {
		p := ok
		f(&p)
		if _, err := Gen(p); err == nil {
			t.Errorf("%s: Gen succeeded", name)
		}
		if _, err := GenPrivateMapKey(p, PrivateMap{RoomId: 1}); err == nil {
			t.Errorf("%s: GenPrivateMapKey succeeded", name)
		}
	}
}

func TestPrivateMapKey(t *testing.T) {
	p := Params{SdkAppId: 1400000001, Key: "k", UserId: "alice", Expire: time.Hour, Now: docTime}
	for _, grant := range []PrivateMap{
		{RoomId: 1234, Privileges: PrivAll},
		{StrRoomId: "room-abc", Privileges: PrivEnterRoom | PrivRecvAudio | PrivRecvVideo},
	} {
		key, err := GenPrivateMapKey(p, grant)
		if err != nil {
			t.Fatal(err)
		}
		m, err := VerifyPrivateMapKey(key, p.SdkAppId, p.Key, p.UserId, docTime)
		if err != nil {
			t.Fatal(err)
		}
		want := grant
		want.UserId, want.SdkAppId, want.ExpiresAt = "alice", 1400000001, docTime.Add(time.Hour).UTC()
		if *m != want {
			t.Errorf("got %+v\nwant %+v", *m, want)
		}
		if _, err := VerifyPrivateMapKey(key, p.SdkAppId, p.Key, p.UserId, docTime.Add(time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
			t.Errorf("after expiry: %v", err)
		}
	}

	// A UserSig is not a PrivateMapKey.
	sig, _ := Gen(p)
	if _, err := VerifyPrivateMapKey(sig, p.SdkAppId, p.Key, p.UserId, docTime); !errors.Is(err, ErrMalformed) {
		t.Errorf("UserSig as PrivateMapKey: %v", err)
	}

	// The userbuf's own fields are checked, though the outer ticket is valid.
	withBuf := func(m PrivateMap) string {
		buf, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		q := p
		q.UserBuf = buf
		s, err := Gen(q)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := PrivateMap{UserId: "alice", SdkAppId: 1400000001, RoomId: 1, ExpiresAt: docTime.Add(time.Minute)}
	bad := map[string]struct {
		m    PrivateMap
		want error
		msg  string
	}{
		"other user": {PrivateMap{UserId: "mallory", SdkAppId: 1400000001, ExpiresAt: good.ExpiresAt}, ErrUserIdMismatch,
			`usersig: user id mismatch: PrivateMapKey userbuf is for "mallory", want "alice"`},
		"other app": {PrivateMap{UserId: "alice", SdkAppId: 7, ExpiresAt: good.ExpiresAt}, ErrSdkAppIdMismatch,
			"usersig: sdkappid mismatch: PrivateMapKey userbuf is for 7, want 1400000001"},
		"expired userbuf": {PrivateMap{UserId: "alice", SdkAppId: 1400000001, ExpiresAt: docTime.Add(-time.Second)}, ErrExpired,
			"usersig: expired at 2026-11-24T03:04:56Z (PrivateMapKey userbuf)"},
	}
	for name, tt := range bad {
		_, err := VerifyPrivateMapKey(withBuf(tt.m), p.SdkAppId, p.Key, p.UserId, docTime)
		if !errors.Is(err, tt.want) || err.Error() != tt.msg {
			t.Errorf("%s: err %v, want %q", name, err, tt.msg)
		}
	}
	if _, err := VerifyPrivateMapKey(withBuf(good), p.SdkAppId, p.Key, p.UserId, docTime); err != nil {
		t.Errorf("good userbuf: %v", err)
	}
	q := p
	q.UserBuf = []byte{1, 2, 3}
	junk, _ := Gen(q)
	if _, err := VerifyPrivateMapKey(junk, p.SdkAppId, p.Key, p.UserId, docTime); !errors.Is(err, ErrMalformed) {
		t.Errorf("junk userbuf: %v", err)
	}

	// GenPrivateMapKey refuses a PrivateMap naming someone else.
	for name, m := range map[string]PrivateMap{
		"other user": {UserId: "bob"},
		"other app":  {SdkAppId: 7},
		"long user":  {StrRoomId: strings.Repeat("r", 1<<16)},
	} {
		if _, err := GenPrivateMapKey(p, m); err == nil {
			t.Errorf("%s: GenPrivateMapKey succeeded", name)
		}
	}
	big := p
	big.SdkAppId = 1 << 32
	if _, err := GenPrivateMapKey(big, PrivateMap{}); err == nil {
		t.Error("sdkappid 2^32: GenPrivateMapKey succeeded")
	}
}

func TestUnmarshalBinaryRejects(t *testing.T) {
	for _, h := range []string{
		"000005616c69636553724e01000004d26b050ce9000000ff00000000",
		"010005616c69636553724e01000000006b050ce90000002a000000000008726f6f6d2d616263",
	} {
		buf := mustHex(t, h)
		for n := 0; n < len(buf); n++ {
			var m PrivateMap
			if err := m.UnmarshalBinary(buf[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s cut to %d bytes: err %v", h, n, err)
			}
			if m != (PrivateMap{}) {
				t.Errorf("failed UnmarshalBinary changed the receiver: %+v", m)
			}
		}
		var m PrivateMap
		if err := m.UnmarshalBinary(append(buf, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s plus a byte: err %v", h, err)
		}
	}
	for name, h := range map[string]string{
		"version 2":            "020000" + strings.Repeat("00", 20),
		"v1 empty room string": "010000" + strings.Repeat("00", 20) + "0000",
		"user length too big":  "00ffff" + strings.Repeat("00", 20),
	} {
		var m PrivateMap
		if err := m.UnmarshalBinary(mustHex(t, h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestMatchesRoomAndAllows(t *testing.T) {
	num := PrivateMap{RoomId: 1234, Privileges: PrivEnterRoom | PrivRecvAudio | PrivRecvVideo}
	str := PrivateMap{StrRoomId: "room-abc", Privileges: PrivAll}
	node := PrivateMap{StrRoomId: utf16LowBytes("房间-1")}
	tests := []struct {
		m     *PrivateMap
		room  string
		isStr bool
		want  bool
	}{
		{&num, "1234", false, true},
		{&num, "01234", false, true},
		{&num, "1235", false, false},
		{&num, "1234", true, false},
		{&num, "", false, false},
		{&num, "4294968530", false, false}, // 1234 + 2^32
		{&str, "room-abc", true, true},
		{&str, "room-ABC", true, false},
		{&str, "room-abc", false, false},
		{&str, "", true, false},
		{&node, "房间-1", true, true},
		{&node, "?\xf4-1", true, true},
	}
	for _, tt := range tests {
		if got := tt.m.MatchesRoom(tt.room, tt.isStr); got != tt.want {
			t.Errorf("%+v.MatchesRoom(%q, %v) = %v", *tt.m, tt.room, tt.isStr, got)
		}
	}
	for bits, want := range map[uint32]bool{
		0: true, PrivEnterRoom: true, PrivEnterRoom | PrivRecvVideo: true,
		PrivSendAudio: false, PrivEnterRoom | PrivSendVideo: false, PrivAll: false,
	} {
		if got := num.Allows(bits); got != want {
			t.Errorf("Allows(%d) = %v", bits, got)
		}
	}
	if !str.Allows(PrivCreateRoom | PrivSendSubstream | PrivRecvSubstream) {
		t.Error("PrivAll does not allow everything")
	}
}

func TestUnwrap32(t *testing.T) {
	tests := []struct {
		low  uint32
		near int64
		want int64
	}{
		{0x6b050ce9, 0x6b050ce9, 0x6b050ce9},
		{0x6b050ce8, 0x6b050ce9, 0x6b050ce8},
		{0x130, 1<<32 + 0x130, 1<<32 + 0x130},
		{0xffffff00, 1<<32 + 0x10, 0xffffff00},
		{5, 10, 5},
		{0xfffffff0, 10, 0xfffffff0}, // would be negative
		{7, -1, 7},
	}
	for _, tt := range tests {
		if got := unwrap32(tt.low, tt.near); got != tt.want {
			t.Errorf("unwrap32(%#x, %#x) = %#x, want %#x", tt.low, tt.near, got, tt.want)
		}
	}
}

func TestUTF16LowBytes(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice",
		"用户甲":   "\x28\x37\x32",
		"émile": "\xe9mile",
		"👩‍🚀":   "\x3d\x69\x0d\x3d\x80", // surrogate pairs around U+200D
	} {
		if got := utf16LowBytes(in); got != want {
			t.Errorf("utf16LowBytes(%q) = %x, want %x", in, got, want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	p := Params{SdkAppId: 1400000001, Key: sampleKey, UserId: "alice", Expire: 86400 * time.Second, Now: docTime}
	for _, f := range []struct {
		name   string
		format Format
	}{{"go", FormatGo}, {"node", FormatNode}} {
		p.Format = f.format
		sig, err := Gen(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Verify(sig, p.SdkAppId, p.Key, p.UserId, docTime); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
