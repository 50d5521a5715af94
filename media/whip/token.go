package whip

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Token is what a WHIP publisher's Bearer token says: the member it publishes as (the
// application, the room, the user) and its tickets. On the wire it is
// "trtc1." + base64url(JSON), e.g. the JSON
// {"SdkAppId":1400000001,"RoomId":"demo","RoomIdType":0,"UserId":"obs","UserSig":"…"}.
type Token struct {
	SdkAppId      uint64
	RoomId        string
	RoomIdType    int // 0: a string room id, 1: an integer one (as CreateCloudRecording)
	UserId        string
	UserSig       string
	PrivateMapKey string `json:",omitempty"`
}

// TokenPrefix starts every token.
const TokenPrefix = "trtc1."

// maxToken bounds a token's length (a UserSig is a few hundred bytes).
const maxToken = 8 << 10

// String is the token as a publisher sends it.
func (t Token) String() string {
	b, _ := json.Marshal(t)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken reads a token (without "Bearer "). It checks its form only: whether the
// tickets are valid is the admission's business.
func ParseToken(s string) (Token, error) {
	var t Token
	if len(s) > maxToken {
		return t, fmt.Errorf("whip: the token is longer than %d bytes", maxToken)
	}
	body, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok {
		return t, fmt.Errorf("whip: the token does not start with %q (make one with trtc-emulator whip-token)", TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body, "="))
	if err != nil {
		return t, fmt.Errorf("whip: the token is not base64url: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Token{}, fmt.Errorf("whip: the token's JSON: %v", err)
	}
	switch {
	case t.SdkAppId == 0:
		return Token{}, errors.New("whip: the token names no SdkAppId")
	case t.RoomId == "":
		return Token{}, errors.New("whip: the token names no RoomId")
	case t.RoomIdType != 0 && t.RoomIdType != 1:
		return Token{}, fmt.Errorf("whip: the token's RoomIdType is %d: 0 (string) or 1 (integer)", t.RoomIdType)
	case t.UserId == "":
		return Token{}, errors.New("whip: the token names no UserId")
	case t.UserSig == "":
		return Token{}, errors.New("whip: the token carries no UserSig")
	}
	return t, nil
}
