package usersig

import (
	"bytes"
	"compress/zlib"
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzParse feeds Parse, Verify and VerifyPrivateMapKey arbitrary tickets,
// and arbitrary JSON wrapped the way tickets are: they must return a ticket
// or an error wrapping one of the package's sentinels, never panic. A ticket
// that parses must survive re-encoding in either layout unchanged.
func FuzzParse(f *testing.F) {
	for _, v := range loadReferenceVectors(f) {
		f.Add(v.Ticket, []byte(v.JSON))
	}
	p := Params{SdkAppId: 1400000001, Key: "k", UserId: "alice", Expire: time.Hour, Now: docTime}
	for _, fm := range []Format{FormatGo, FormatNode} {
		p.Format = fm
		sig, _ := Gen(p)
		pmk, _ := GenPrivateMapKey(p, PrivateMap{StrRoomId: "room", Privileges: PrivAll})
		_, js := inflateTicket(f, pmk)
		f.Add(sig, js)
	}
	f.Add("", []byte(`{}`))
	f.Add("eJ_", []byte(`{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":-1,"TLS.time":9223372036854775807,"TLS.sig":""}`))

	zw, _ := zlib.NewWriterLevel(nil, zlib.NoCompression)
	f.Fuzz(func(t *testing.T, sig string, js []byte) {
		var z bytes.Buffer
		zw.Reset(&z) // fuzz workers call this function one input at a time
		zw.Write(js)
		zw.Close()
		for _, s := range []string{sig, ticketEncoding.EncodeToString(z.Bytes())} {
			checkTicket(t, s)
		}
	})
}

func checkTicket(t *testing.T, sig string) {
	tk, err := Parse(sig)
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse: error %v does not wrap ErrMalformed", err)
	}
	app, user, now := uint64(1400000001), "alice", docTime
	if tk != nil {
		app, user, now = tk.SdkAppId, tk.Identifier, tk.IssuedAt()
		_ = tk.ExpiresAt().String()
		for _, f := range []Format{FormatGo, FormatNode} {
			again, err := tk.encode(f)
			if err != nil {
				t.Fatal(err)
			}
			tk2, err := Parse(again)
			if err != nil {
				t.Fatalf("re-encoded ticket does not parse: %v", err)
			}
			if !reflect.DeepEqual(tk, tk2) {
				t.Fatalf("re-encoding changed the ticket\n was %#v\n now %#v", tk, tk2)
			}
		}
	}
	sentinels := []error{ErrMalformed, ErrSdkAppIdMismatch, ErrUserIdMismatch, ErrExpired, ErrSignatureMismatch}
	classified := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return err == nil
	}
	if _, err := Verify(sig, app, "k", user, now); !classified(err) {
		t.Fatalf("Verify: unclassified error %v", err)
	} else if err == nil && tk == nil {
		t.Fatal("Verify accepted what Parse rejected")
	}
	m, err := VerifyPrivateMapKey(sig, app, "k", user, now)
	if !classified(err) {
		t.Fatalf("VerifyPrivateMapKey: unclassified error %v", err)
	}
	if err == nil {
		m.MatchesRoom(m.StrRoomId, m.StrRoomId != "")
	}
}

// FuzzUserBuf: UnmarshalBinary never panics, fails only with ErrMalformed,
// and whatever it decodes marshals back to the same bytes.
func FuzzUserBuf(f *testing.F) {
	for _, v := range loadReferenceVectors(f) {
		if v.TicketUserBuf != "" {
			f.Add(mustHex(f, v.TicketUserBuf))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0})
	f.Add(mustHex(f, "010000"+"0000000000000000000000000000000000000000"+"0001"+"41"))

	f.Fuzz(func(t *testing.T, b []byte) {
		var m PrivateMap
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot marshal it: %v", m, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip\n  in %x\n out %x", b, out)
		}
		m.MatchesRoom(m.StrRoomId, true)
		m.Allows(m.Privileges)
	})
}
