package whip

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

func TestTokenRoundTrip(t *testing.T) {
	in := Token{SdkAppId: 1400000001, RoomId: "hello-string-room", UserId: "obs", UserSig: "eJw…", PrivateMapKey: "pmk"}
	out, err := ParseToken(in.String())
	if err != nil || out != in {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	for _, bad := range []string{"", "trtc1.", "bearer x", "trtc1.!!!", "trtc1." + strings.Repeat("A", maxToken),
		Token{RoomId: "r", UserId: "u", UserSig: "s"}.String(),                             // no app
		Token{SdkAppId: 1, UserId: "u", UserSig: "s"}.String(),                             // no room
		Token{SdkAppId: 1, RoomId: "r", RoomIdType: 2, UserId: "u", UserSig: "s"}.String(), // bad type
		Token{SdkAppId: 1, RoomId: "r", UserSig: "s"}.String(),                             // no user
		Token{SdkAppId: 1, RoomId: "r", UserId: "u"}.String(),                              // no UserSig
	} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%.40q) took it", bad)
		}
	}
}

func newTestServer(t testing.TB, admitted *int) *Server {
	s, err := New(Config{Hub: hub.New(), Now: time.Now, Admit: func(tok Token) (*Publisher, error) {
		*admitted++
		return &Publisher{Room: "r", UserId: tok.UserId}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestRefusals: what is not a WHIP publish is answered with a 4xx and never admitted.
func TestRefusals(t *testing.T) {
	admitted := 0
	s := newTestServer(t, &admitted)
	tok := Token{SdkAppId: 1, RoomId: "r", UserId: "u", UserSig: "s"}.String()
	for _, c := range []struct {
		name, method, path, ctype, auth, body string
		want                                  int
	}{
		{"no token", "POST", "/whip", "application/sdp", "", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", 401},
		{"bad token", "POST", "/whip", "application/sdp", "Bearer nope", "v=0\r\n", 401},
		{"not sdp", "POST", "/whip", "application/json", "Bearer " + tok, "{}", 415},
		{"garbage offer", "POST", "/whip", "application/sdp", "Bearer " + tok, "hello", 400},
		{"no media", "POST", "/whip", "application/sdp", "Bearer " + tok, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 400},
		{"unknown resource", "DELETE", "/whip/abc", "", "", "", 404},
		{"trickle", "PATCH", "/whip/abc", "application/trickle-ice-sdpfrag", "", "", 405},
		{"options", "OPTIONS", "/whip", "", "", "", 204},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%s: HTTP %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}
	if admitted != 0 {
		t.Fatalf("%d refused requests were admitted", admitted)
	}
}

// FuzzToken: any Bearer value parses or is refused, never panics; what parses round-trips.
func FuzzToken(f *testing.F) {
	f.Add(Token{SdkAppId: 1400000001, RoomId: "r", UserId: "u", UserSig: "s"}.String())
	f.Add("trtc1.e30")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		if again, err := ParseToken(tok.String()); err != nil || again != tok {
			t.Fatalf("%+v does not round-trip: %+v %v", tok, again, err)
		}
	})
}

// FuzzOffer: any body POSTed as an offer with a valid token gets an answer or a 4xx,
// never a panic or a 5xx.
func FuzzOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=sendonly\r\n")
	f.Add("v=0\r\nm=audio 9 RTP/AVP 111\r\n")
	admitted := 0
	s := newTestServer(f, &admitted)
	tok := Token{SdkAppId: 1, RoomId: "r", UserId: "u", UserSig: "s"}.String()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/whip", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("HTTP %d for %q: %s", w.Code, body, w.Body)
		}
		if w.Code == http.StatusCreated {
			req := httptest.NewRequest("DELETE", w.Header().Get("Location"), nil)
			s.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}
