// Package whip owns WHIP publishing into rooms (RFC 9725, as OBS speaks it): the HTTP
// endpoint that takes a publisher's SDP offer with its Bearer token and answers with the
// emulator's, a pion PeerConnection per publisher receiving H.264 and Opus, and the
// depacketizing of what arrives into the hub as the member's streams: H.264 as sent, Opus
// decoded (pion/opus) and re-encoded to AAC, which recordings store. ICE offers host
// candidates of loopback addresses only unless configured otherwise, with mDNS off. It
// knows no database: admission and room state are the caller's.
package whip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// Prefix is where the endpoint answers on the emulator's HTTP listener: POST Prefix
// publishes, DELETE Prefix/<id> stops.
const Prefix = "/whip"

// Publisher is an admitted publisher: the member its streams belong to and what to tell
// about them (as media/rtmp's).
type Publisher struct {
	Room, UserId string // the hub keys of its streams
	// Tracks is told the tracks once their streams are in the hub; an error ends the
	// session.
	Tracks func(video, audio *hub.Params) error
	// Ended is told why the publisher is gone (nil: it stopped, DELETE), once.
	Ended func(err error)
	// Stop, when closed, disconnects the publisher (it was removed from the room).
	Stop <-chan struct{}
}

// Config configures a Server. Hub, Now and Admit are required.
type Config struct {
	Hub   *hub.Hub
	Now   func() time.Time
	Admit func(Token) (*Publisher, error)
	// ICEAddrs keeps the addresses ICE host candidates are gathered on; loopback ones
	// only when nil.
	ICEAddrs func(net.IP) bool
	// Idle ends a session that receives no media for so long (real time); 10 s when 0.
	Idle   time.Duration
	Logger *slog.Logger
}

// Refusals and ends, as Publisher.Ended gives them.
var (
	ErrIdle     = errors.New("whip: nothing received: timed out")
	ErrClosed   = errors.New("whip: the connection closed")
	ErrStopped  = errors.New("whip: the publisher was removed from the room")
	ErrNoTracks = errors.New("whip: the offer has no H.264 video or Opus audio to receive")
	ErrOffer    = errors.New("whip: the offer could not be answered")
)

// Server is the WHIP endpoint.
type Server struct {
	cfg Config
	log *slog.Logger
	api *webrtc.API

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup
}

// New checks cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Hub == nil || cfg.Now == nil || cfg.Admit == nil {
		return nil, errors.New("whip: Hub, Now and Admit are required")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, PayloadType: 102}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, PayloadType: 104}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
		ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	keep := cfg.ICEAddrs
	if keep == nil {
		keep = net.IP.IsLoopback
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(keep)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "whip"), api: api, sessions: map[string]*session{}}, nil
}

// Close ends every session and waits for their ends.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for _, se := range s.sessions {
		sessions = append(sessions, se)
	}
	s.mu.Unlock()
	for _, se := range sessions {
		se.end(ErrClosed)
	}
	s.wg.Wait()
}

// ServeHTTP answers WHIP: POST Prefix with an SDP offer, DELETE Prefix/<id>, OPTIONS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("whip request panicked", "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && id == "":
		s.publish(w, r)
	case r.Method == http.MethodDelete && id != "":
		s.mu.Lock()
		se := s.sessions[id]
		s.mu.Unlock()
		if se == nil {
			http.Error(w, "no such WHIP session", http.StatusNotFound)
			return
		}
		se.end(nil)
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPatch && id != "":
		// Trickle ICE is not taken: the answer carries every candidate.
		http.Error(w, "trickle ICE is not supported: the answer has all candidates", http.StatusMethodNotAllowed)
	default:
		http.Error(w, "WHIP: POST an SDP offer to "+Prefix+", DELETE the resource it returns", http.StatusMethodNotAllowed)
	}
}

// maxOffer bounds an offer's size.
const maxOffer = 64 << 10

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/sdp" {
		http.Error(w, "the offer must be Content-Type application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trtc-emulator WHIP"`)
		http.Error(w, "an Authorization: Bearer <token> is required (trtc-emulator whip-token prints one)", http.StatusUnauthorized)
		return
	}
	tok, err := ParseToken(strings.TrimSpace(bearer))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, maxOffer+1))
	if err != nil || len(offer) > maxOffer {
		http.Error(w, "the offer is unreadable or larger than 64 KiB", http.StatusBadRequest)
		return
	}
	if err := checkOffer(string(offer)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "the emulator is stopping", http.StatusServiceUnavailable)
		return
	}
	pub, err := s.cfg.Admit(tok)
	if err != nil {
		s.log.Info("whip publisher refused", "room", tok.RoomId, "user", tok.UserId, "reason", err)
		http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		return
	}
	se, answer, err := s.negotiate(r.Context(), pub, string(offer))
	if err != nil {
		if pub.Ended != nil {
			pub.Ended(fmt.Errorf("%w: %w", ErrOffer, err))
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", Prefix+"/"+se.id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// checkOffer refuses what is not an SDP offer before pion reads it.
func checkOffer(sdp string) error {
	if !strings.HasPrefix(sdp, "v=0") {
		return errors.New("the body is not an SDP offer (it must start with v=0)")
	}
	if !strings.Contains(sdp, "m=video") && !strings.Contains(sdp, "m=audio") {
		return errors.New("the offer has no audio or video section")
	}
	return nil
}

// negotiate makes the publisher's PeerConnection and the answer to its offer, every
// candidate gathered.
func (s *Server) negotiate(ctx context.Context, pub *Publisher, offer string) (*session, string, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	id := make([]byte, 12)
	rand.Read(id)
	se := &session{srv: s, id: hex.EncodeToString(id), pc: pc, pub: pub, start: s.cfg.Now(), done: make(chan struct{}),
		got: make(chan struct{}, 1), log: s.log.With("room", pub.Room, "user", pub.UserId)}
	se.expect(offer)
	fail := func(err error) (*session, string, error) {
		pc.Close()
		return nil, "", err
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail(err)
		}
	}
	pc.OnTrack(se.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("the offer: %v", err))
	}
	if !offersMedia(pc) {
		return fail(ErrNoTracks)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("no answer to the offer: %v", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(5 * time.Second):
		return fail(errors.New("ICE gathering took more than 5 s"))
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(errors.New("the emulator is stopping"))
	}
	s.sessions[se.id] = se
	s.wg.Add(1)
	s.mu.Unlock()
	// From here the session ends through end (which the registration above pairs with).
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go se.end(ErrClosed)
		}
	})
	go se.watch()
	return se, pc.LocalDescription().SDP, nil
}

// offersMedia says whether the negotiated transceivers receive H.264 or Opus.
func offersMedia(pc *webrtc.PeerConnection) bool {
	for _, t := range pc.GetTransceivers() {
		if t.Receiver() == nil || t.Direction() == webrtc.RTPTransceiverDirectionInactive {
			continue
		}
		for _, c := range t.Receiver().GetParameters().Codecs {
			if strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) || strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) {
				return true
			}
		}
	}
	return false
}
