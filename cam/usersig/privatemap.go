package usersig

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
)

// Privilege bits of a PrivateMap (seed: "PrivateMapKey", permission bit list).
const (
	PrivCreateRoom    uint32 = 1
	PrivEnterRoom     uint32 = 2
	PrivSendAudio     uint32 = 4
	PrivRecvAudio     uint32 = 8
	PrivSendVideo     uint32 = 16
	PrivRecvVideo     uint32 = 32
	PrivSendSubstream uint32 = 64  // screen sharing
	PrivRecvSubstream uint32 = 128 // screen sharing
	PrivAll           uint32 = 255
)

// PrivateMap is the userbuf of a PrivateMapKey: which room a user may enter,
// with which privileges, until when.
//
// Binary layout, big-endian: version byte (0 numeric room, 1 string room),
// u16 length + user id, u32 sdkappid, u32 room id, u32 expiry, u32 privilege
// map, u32 account type, and for version 1 u16 length + room string.
type PrivateMap struct {
	UserId   string
	SdkAppId uint32
	// RoomId is the numeric room; 0 for a string room.
	RoomId uint32
	// StrRoomId is the string room; "" for a numeric room. It selects
	// version 1 of the layout.
	StrRoomId string
	// ExpiresAt is absolute, unlike a ticket's relative TLS.expire. It is
	// stored as the low 32 bits of its unix seconds, as both reference
	// libraries do.
	ExpiresAt  time.Time
	Privileges uint32
	// AccountType is 0 in both reference libraries.
	AccountType uint32
}

var (
	_ encoding.BinaryMarshaler   = (*PrivateMap)(nil)
	_ encoding.BinaryUnmarshaler = (*PrivateMap)(nil)
)

const privateMapFixedLen = 4 * 5 // sdkappid, room id, expiry, privileges, account type

// MarshalBinary encodes m as a userbuf.
func (m *PrivateMap) MarshalBinary() ([]byte, error) {
	if len(m.UserId) > math.MaxUint16 {
		return nil, fmt.Errorf("usersig: user id is %d bytes, more than %d", len(m.UserId), math.MaxUint16)
	}
	if len(m.StrRoomId) > math.MaxUint16 {
		return nil, fmt.Errorf("usersig: string room id is %d bytes, more than %d", len(m.StrRoomId), math.MaxUint16)
	}
	n := 1 + 2 + len(m.UserId) + privateMapFixedLen
	version := byte(0)
	if m.StrRoomId != "" {
		version = 1
		n += 2 + len(m.StrRoomId)
	}
	b := make([]byte, 0, n)
	b = append(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.UserId)))
	b = append(b, m.UserId...)
	b = binary.BigEndian.AppendUint32(b, m.SdkAppId)
	b = binary.BigEndian.AppendUint32(b, m.RoomId)
	b = binary.BigEndian.AppendUint32(b, uint32(m.ExpiresAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, m.Privileges)
	b = binary.BigEndian.AppendUint32(b, m.AccountType)
	if version == 1 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.StrRoomId)))
		b = append(b, m.StrRoomId...)
	}
	return b, nil
}

// UnmarshalBinary decodes a userbuf. Truncated input, trailing bytes, an
// unknown version and a version-1 buffer with an empty room string (which
// would re-encode as version 0) wrap ErrMalformed. ExpiresAt is read as
// unix seconds in [0, 2^32); VerifyPrivateMapKey places it next to the
// ticket's own expiry instead.
func (m *PrivateMap) UnmarshalBinary(b []byte) error {
	var d PrivateMap
	if len(b) < 3 {
		return malformedf("userbuf: %d bytes, truncated", len(b))
	}
	version := b[0]
	if version > 1 {
		return malformedf("userbuf: unknown version %d", version)
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	b = b[3:]
	if len(b) < n+privateMapFixedLen {
		return malformedf("userbuf: truncated after the %d-byte user id", n)
	}
	d.UserId = string(b[:n])
	b = b[n:]
	d.SdkAppId = binary.BigEndian.Uint32(b[0:4])
	d.RoomId = binary.BigEndian.Uint32(b[4:8])
	d.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint32(b[8:12])), 0).UTC()
	d.Privileges = binary.BigEndian.Uint32(b[12:16])
	d.AccountType = binary.BigEndian.Uint32(b[16:20])
	b = b[privateMapFixedLen:]
	if version == 1 {
		if len(b) < 2 {
			return malformedf("userbuf: truncated before the room string")
		}
		n := int(binary.BigEndian.Uint16(b[0:2]))
		b = b[2:]
		if len(b) < n {
			return malformedf("userbuf: truncated in the %d-byte room string", n)
		}
		if n == 0 {
			return malformedf("userbuf: version 1 with an empty room string")
		}
		d.StrRoomId = string(b[:n])
		b = b[n:]
	}
	if len(b) != 0 {
		return malformedf("userbuf: %d trailing bytes", len(b))
	}
	*m = d
	return nil
}

// Allows reports whether m grants every bit of bits.
func (m *PrivateMap) Allows(bits uint32) bool { return m.Privileges&bits == bits }

// MatchesRoom reports whether m grants the room roomId, a string room when
// isStr, else a decimal uint32. String and numeric rooms never match each
// other.
func (m *PrivateMap) MatchesRoom(roomId string, isStr bool) bool {
	if isStr {
		return m.StrRoomId != "" && (m.StrRoomId == roomId || m.StrRoomId == utf16LowBytes(roomId))
	}
	if m.StrRoomId != "" {
		return false
	}
	n, err := strconv.ParseUint(roomId, 10, 32)
	return err == nil && uint32(n) == m.RoomId
}

// GenPrivateMapKey issues a PrivateMapKey: Gen with m as the userbuf. m's
// UserId and SdkAppId, when zero, are taken from p, and otherwise must equal
// p's; a zero ExpiresAt becomes p.Now + p.Expire, as in the reference
// libraries. p.UserBuf must be nil.
func GenPrivateMapKey(p Params, m PrivateMap) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	if p.UserBuf != nil {
		return "", fmt.Errorf("usersig: Params.UserBuf is set; a PrivateMapKey's userbuf is its PrivateMap")
	}
	switch {
	case m.UserId == "":
		m.UserId = p.UserId
	case m.UserId != p.UserId:
		return "", fmt.Errorf("usersig: PrivateMap.UserId %q differs from Params.UserId %q", m.UserId, p.UserId)
	}
	switch {
	case p.SdkAppId > math.MaxUint32:
		return "", fmt.Errorf("usersig: SdkAppId %d does not fit the userbuf's 32 bits", p.SdkAppId)
	case m.SdkAppId == 0:
		m.SdkAppId = uint32(p.SdkAppId)
	case uint64(m.SdkAppId) != p.SdkAppId:
		return "", fmt.Errorf("usersig: PrivateMap.SdkAppId %d differs from Params.SdkAppId %d", m.SdkAppId, p.SdkAppId)
	}
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = p.Now.Add(p.Expire)
	}
	buf, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	p.UserBuf = buf
	return Gen(p)
}

// VerifyPrivateMapKey verifies key as Verify does, then decodes its userbuf
// and checks that it names sdkAppId and userId and that its absolute expiry
// has not passed. Whether the room and privileges fit is the caller's
// business (MatchesRoom, Allows).
//
// The 32-bit expiry is read as the instant nearest the ticket's own expiry,
// so keys issued after 2106 keep working. A user id that is not ASCII also
// matches the form npm tls-sig-api-v2 writes (see utf16LowBytes).
func VerifyPrivateMapKey(key string, sdkAppId uint64, secret, userId string, now time.Time) (*PrivateMap, error) {
	t, err := Verify(key, sdkAppId, secret, userId, now)
	if err != nil {
		return nil, err
	}
	if t.UserBuf == nil {
		return nil, malformedf("no TLS.userbuf: a UserSig, not a PrivateMapKey")
	}
	var m PrivateMap
	if err := m.UnmarshalBinary(t.UserBuf); err != nil {
		return nil, err
	}
	if uint64(m.SdkAppId) != sdkAppId {
		return nil, fmt.Errorf("%w: PrivateMapKey userbuf is for %d, want %d", ErrSdkAppIdMismatch, m.SdkAppId, sdkAppId)
	}
	if m.UserId != userId && m.UserId != utf16LowBytes(userId) {
		return nil, fmt.Errorf("%w: PrivateMapKey userbuf is for %q, want %q", ErrUserIdMismatch, m.UserId, userId)
	}
	m.ExpiresAt = time.Unix(unwrap32(uint32(m.ExpiresAt.Unix()), t.expiresAtUnix()), 0).UTC()
	if now.Unix() > m.ExpiresAt.Unix() {
		return nil, fmt.Errorf("%w at %s (PrivateMapKey userbuf)", ErrExpired, m.ExpiresAt.Format(time.RFC3339))
	}
	return &m, nil
}

// unwrap32 returns the number whose low 32 bits are low that lies nearest
// near. Outside plausible unix times it returns low unchanged.
func unwrap32(low uint32, near int64) int64 {
	if near < 0 || near >= 1<<40 {
		return int64(low)
	}
	v := near&^0xffffffff | int64(low)
	switch {
	case v-near > 1<<31:
		v -= 1 << 32
	case near-v > 1<<31:
		v += 1 << 32
	}
	if v < 0 {
		return int64(low)
	}
	return v
}

// utf16LowBytes returns s as npm tls-sig-api-v2 writes strings into a
// userbuf: one byte per UTF-16 code unit, its low 8 bits (charCodeAt stored
// into a Buffer). For ASCII that is s itself.
func utf16LowBytes(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	units := utf16.Encode([]rune(s))
	b := make([]byte, len(units))
	for i, u := range units {
		b[i] = byte(u)
	}
	return string(b)
}
