package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Errors of Parse, Verify and VerifyPrivateMapKey. The returned errors wrap
// one of these (test with errors.Is) and their text names the problem, e.g.
// "usersig: expired at 2026-11-25T08:00:00Z".
var (
	ErrMalformed         = errors.New("usersig: malformed ticket")
	ErrSdkAppIdMismatch  = errors.New("usersig: sdkappid mismatch")
	ErrUserIdMismatch    = errors.New("usersig: user id mismatch")
	ErrExpired           = errors.New("usersig: expired")
	ErrSignatureMismatch = errors.New("usersig: signature mismatch")
)

// Limits on what Parse reads. Real tickets are a few hundred bytes; a
// PrivateMapKey with the longest possible user id and room string stays well
// below.
const (
	maxTicketLen = 1 << 20
	maxJSONLen   = 1 << 20
)

// Ticket is a decoded UserSig or PrivateMapKey, field for field as on the
// wire.
type Ticket struct {
	Version    string // TLS.ver, "2.0"
	Identifier string // TLS.identifier: the user id
	SdkAppId   uint64 // TLS.sdkappid
	Expire     int64  // TLS.expire: lifetime in seconds, counted from Time
	Time       int64  // TLS.time: issue time, unix seconds
	UserBuf    []byte // TLS.userbuf; nil when absent, empty when present but ""
	Sig        []byte // TLS.sig: the HMAC-SHA256
}

// IssuedAt returns TLS.time.
func (t *Ticket) IssuedAt() time.Time { return time.Unix(t.Time, 0).UTC() }

// ExpiresAt returns TLS.time + TLS.expire, the last second in which the
// ticket is valid.
func (t *Ticket) ExpiresAt() time.Time { return time.Unix(t.expiresAtUnix(), 0).UTC() }

// expiresAtUnix is Time+Expire, saturated instead of wrapping.
func (t *Ticket) expiresAtUnix() int64 {
	switch {
	case t.Expire > 0 && t.Time > math.MaxInt64-t.Expire:
		return math.MaxInt64
	case t.Expire < 0 && t.Time < math.MinInt64-t.Expire:
		return math.MinInt64
	}
	return t.Time + t.Expire
}

// wireTicket has pointers to tell absent keys from zero values.
type wireTicket struct {
	Version    *string `json:"TLS.ver"`
	Identifier *string `json:"TLS.identifier"`
	SdkAppId   *uint64 `json:"TLS.sdkappid"`
	Expire     *int64  `json:"TLS.expire"`
	Time       *int64  `json:"TLS.time"`
	UserBuf    *string `json:"TLS.userbuf"`
	Sig        *string `json:"TLS.sig"`
}

// Parse decodes a ticket without checking it. It inflates any zlib level.
// Errors wrap ErrMalformed. Unlike tls-sig-api-v2-golang, which takes invalid
// JSON for an empty ticket, Parse rejects it, and it requires every key but
// TLS.userbuf.
func Parse(sig string) (*Ticket, error) {
	if len(sig) > maxTicketLen {
		return nil, malformedf("ticket is %d bytes, more than %d", len(sig), maxTicketLen)
	}
	raw, err := ticketEncoding.DecodeString(sig)
	if err != nil {
		return nil, malformedf("base64: %w", err)
	}
	js, err := inflateZlib(raw)
	if err != nil {
		return nil, malformedf("zlib: %w", err)
	}
	if len(js) > maxJSONLen {
		return nil, malformedf("JSON is more than %d bytes", maxJSONLen)
	}
	var w wireTicket
	if err := json.Unmarshal(js, &w); err != nil {
		return nil, malformedf("JSON: %w", err)
	}
	switch {
	case w.Version == nil:
		return nil, malformedf("no TLS.ver")
	case *w.Version != ticketVersion:
		return nil, malformedf("TLS.ver is %q, want %q", *w.Version, ticketVersion)
	case w.Identifier == nil:
		return nil, malformedf("no TLS.identifier")
	case w.SdkAppId == nil:
		return nil, malformedf("no TLS.sdkappid")
	case w.Expire == nil:
		return nil, malformedf("no TLS.expire")
	case w.Time == nil:
		return nil, malformedf("no TLS.time")
	case w.Sig == nil:
		return nil, malformedf("no TLS.sig")
	}
	t := &Ticket{
		Version:    *w.Version,
		Identifier: *w.Identifier,
		SdkAppId:   *w.SdkAppId,
		Expire:     *w.Expire,
		Time:       *w.Time,
	}
	if t.Sig, err = base64.StdEncoding.DecodeString(*w.Sig); err != nil {
		return nil, malformedf("TLS.sig: %w", err)
	}
	if w.UserBuf != nil {
		t.UserBuf = []byte{}
		if t.UserBuf, err = base64.StdEncoding.AppendDecode(t.UserBuf, []byte(*w.UserBuf)); err != nil {
			return nil, malformedf("TLS.userbuf: %w", err)
		}
	}
	return t, nil
}

// Verify parses sig and checks it, in the reference's order: sdkappid, user
// id, expiry (expired when now is after TLS.time + TLS.expire), then the
// HMAC under key, compared in constant time. It does not look at TLS.userbuf
// beyond the signature: a PrivateMapKey passes as well as a UserSig, and
// callers that must tell them apart look at Ticket.UserBuf.
func Verify(sig string, sdkAppId uint64, key, userId string, now time.Time) (*Ticket, error) {
	t, err := Parse(sig)
	if err != nil {
		return nil, err
	}
	if err := t.verify(sdkAppId, key, userId, now); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Ticket) verify(sdkAppId uint64, key, userId string, now time.Time) error {
	if t.SdkAppId != sdkAppId {
		return fmt.Errorf("%w: ticket is for %d, want %d", ErrSdkAppIdMismatch, t.SdkAppId, sdkAppId)
	}
	if t.Identifier != userId {
		return fmt.Errorf("%w: ticket is for %q, want %q", ErrUserIdMismatch, t.Identifier, userId)
	}
	if now.Unix() > t.expiresAtUnix() {
		return fmt.Errorf("%w at %s", ErrExpired, t.ExpiresAt().Format(time.RFC3339))
	}
	if !hmac.Equal(t.sign(key), t.Sig) {
		return fmt.Errorf("%w: wrong key or altered ticket", ErrSignatureMismatch)
	}
	return nil
}

// zlibReaders pools inflaters: a new one allocates some 40 KB, most of
// Verify's cost.
var zlibReaders sync.Pool

// inflateZlib returns at most maxJSONLen+1 bytes of the zlib stream in raw, its
// checksum checked when the whole stream was read.
func inflateZlib(raw []byte) ([]byte, error) {
	var zr io.ReadCloser
	var err error
	if pooled, ok := zlibReaders.Get().(io.ReadCloser); ok {
		zr, err = pooled, pooled.(zlib.Resetter).Reset(bytes.NewReader(raw), nil)
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, err
	}
	defer zlibReaders.Put(zr)
	return io.ReadAll(io.LimitReader(zr, maxJSONLen+1))
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrMalformed, fmt.Errorf(format, args...))
}
