// Package usersig generates and verifies TRTC UserSig and PrivateMapKey
// tickets (TLS sig API v2). It knows nothing of HTTP or the database.
//
// A ticket is a JSON object, zlib-compressed and base64-encoded with the
// alphabet A–Z a–z 0–9 * - and '_' as padding. Its TLS.sig is an HMAC-SHA256,
// keyed with the application's secret key string as is, over the identifier,
// sdkappid, time, expire and, when present, the userbuf. TLS.ver, the JSON
// layout and the compression are not signed, so tickets made by either
// reference library verify alike. A PrivateMapKey is a ticket whose userbuf is
// a PrivateMap: one room, privilege bits and an absolute expiry.
//
// seed: api-protocol.md §7 "UserSig and PrivateMapKey", gotcha 13.
package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Format selects the byte layout of a generated ticket. The layouts differ
// only in bytes the signature does not cover; Parse and Verify accept both.
type Format int

const (
	// FormatGo is the layout of github.com/tencentyun/tls-sig-api-v2-golang:
	// TLS.expire before TLS.time, encoding/json escaping (<, >, &, U+2028 and
	// U+2029 escaped), a trailing newline, zlib without compression. With it
	// Gen returns the same string as that library.
	FormatGo Format = iota
	// FormatNode is the layout of npm tls-sig-api-v2: TLS.time before
	// TLS.expire, JSON.stringify escaping, no trailing newline, zlib's default
	// level. The decompressed JSON equals that library's; the compressed
	// bytes may not, as Go's deflate is not zlib's.
	FormatNode
)

// Params are the inputs of Gen.
type Params struct {
	SdkAppId uint64
	// Key is the application's secret key, used as the HMAC key byte for byte
	// (not hex-decoded).
	Key    string
	UserId string
	// Expire is the ticket's lifetime, counted from Now: a positive whole
	// number of seconds.
	Expire time.Duration
	// Now is the issue time; TLS.time is its unix seconds.
	Now time.Time
	// UserBuf, when not nil, is signed and carried as TLS.userbuf; an empty
	// one as "", like npm tls-sig-api-v2 (tls-sig-api-v2-golang signs it but
	// leaves it out of the JSON, so nothing can verify that ticket).
	UserBuf []byte
	Format  Format
}

const ticketVersion = "2.0"

// ticketEncoding is std base64 with + → *, / → - and = → _.
var ticketEncoding = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-").WithPadding('_')

// Gen issues a ticket: a UserSig, or with p.UserBuf a ticket carrying that
// userbuf (GenPrivateMapKey builds one).
func Gen(p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	t := Ticket{
		Version:    ticketVersion,
		Identifier: p.UserId,
		SdkAppId:   p.SdkAppId,
		Expire:     int64(p.Expire / time.Second),
		Time:       p.Now.Unix(),
		UserBuf:    p.UserBuf,
	}
	t.Sig = t.sign(p.Key)
	return t.encode(p.Format)
}

func (p *Params) validate() error {
	switch {
	case p.SdkAppId == 0:
		return errors.New("usersig: SdkAppId is 0")
	case p.Key == "":
		return errors.New("usersig: Key is empty")
	case p.UserId == "":
		return errors.New("usersig: UserId is empty")
	case !utf8.ValidString(p.UserId):
		// JSON would carry U+FFFD while the HMAC covers the raw bytes.
		return fmt.Errorf("usersig: UserId %q is not valid UTF-8", p.UserId)
	case p.Expire <= 0 || p.Expire%time.Second != 0:
		return fmt.Errorf("usersig: Expire %v is not a positive whole number of seconds", p.Expire)
	case p.Now.IsZero():
		return errors.New("usersig: Now is not set")
	case p.Format != FormatGo && p.Format != FormatNode:
		return fmt.Errorf("usersig: unknown Format %d", p.Format)
	}
	return nil
}

// sign computes TLS.sig. The userbuf line is present when UserBuf is not nil,
// even if it is empty (npm tls-sig-api-v2 signs an empty userbuf that way).
func (t *Ticket) sign(key string) []byte {
	b := make([]byte, 0, 128+base64.StdEncoding.EncodedLen(len(t.UserBuf)))
	b = append(b, "TLS.identifier:"...)
	b = append(b, t.Identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, t.SdkAppId, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, t.Time, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, t.Expire, 10)
	b = append(b, '\n')
	if t.UserBuf != nil {
		b = append(b, "TLS.userbuf:"...)
		b = base64.StdEncoding.AppendEncode(b, t.UserBuf)
		b = append(b, '\n')
	}
	h := hmac.New(sha256.New, []byte(key))
	h.Write(b)
	return h.Sum(nil)
}

// zlibWriters keeps one pool per Format: a flate compressor allocates about
// a megabyte, which would dominate Gen.
var zlibWriters [2]sync.Pool

func (t *Ticket) encode(f Format) (string, error) {
	js := t.appendJSON(nil, f)
	level := zlib.NoCompression
	if f == FormatNode {
		level = zlib.DefaultCompression
	}
	var z bytes.Buffer
	pool := &zlibWriters[f&1]
	zw, _ := pool.Get().(*zlib.Writer)
	if zw == nil {
		var err error
		if zw, err = zlib.NewWriterLevel(&z, level); err != nil {
			return "", err
		}
	} else {
		zw.Reset(&z)
	}
	defer pool.Put(zw)
	if _, err := zw.Write(js); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return ticketEncoding.EncodeToString(z.Bytes()), nil
}

// appendJSON writes the ticket's JSON in the key order and escaping of f.
func (t *Ticket) appendJSON(b []byte, f Format) []byte {
	goStyle := f == FormatGo
	b = append(b, `{"TLS.ver":`...)
	b = appendJSONString(b, t.Version, goStyle)
	b = append(b, `,"TLS.identifier":`...)
	b = appendJSONString(b, t.Identifier, goStyle)
	b = append(b, `,"TLS.sdkappid":`...)
	b = strconv.AppendUint(b, t.SdkAppId, 10)
	if goStyle {
		b = append(b, `,"TLS.expire":`...)
		b = strconv.AppendInt(b, t.Expire, 10)
		b = append(b, `,"TLS.time":`...)
		b = strconv.AppendInt(b, t.Time, 10)
	} else {
		b = append(b, `,"TLS.time":`...)
		b = strconv.AppendInt(b, t.Time, 10)
		b = append(b, `,"TLS.expire":`...)
		b = strconv.AppendInt(b, t.Expire, 10)
	}
	if t.UserBuf != nil {
		b = append(b, `,"TLS.userbuf":"`...)
		b = base64.StdEncoding.AppendEncode(b, t.UserBuf)
		b = append(b, '"')
	}
	b = append(b, `,"TLS.sig":"`...)
	b = base64.StdEncoding.AppendEncode(b, t.Sig)
	b = append(b, `"}`...)
	if goStyle {
		b = append(b, '\n') // json.Encoder.Encode
	}
	return b
}

// appendJSONString appends s, valid UTF-8, as a JSON string: escaped as
// encoding/json does when goStyle (HTML characters and U+2028/U+2029 too),
// else as JavaScript's JSON.stringify does (only ", \ and control characters).
func appendJSONString(b []byte, s string, goStyle bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if goStyle && (r == '\u2028' || r == '\u2029') {
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, `\b`...)
		case c == '\f':
			b = append(b, `\f`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20 || goStyle && (c == '<' || c == '>' || c == '&'):
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
