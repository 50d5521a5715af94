package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/jobs"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
	"github.com/trtc-emulator/trtc-emulator/media/whip"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// rtmpPush is the RTMP push listener as main runs it.
type rtmpPush struct {
	endpoint string // rtmp://<addr>/push; "" when it does not listen
	rooms    *jobs.RTMPRooms
	stop     func()
}

// startRTMP runs the RTMP push listener on cfg.RTMPAddr. The default address being taken
// (another emulator runs) leaves RTMP push off with a warning; an address the user set
// must be free.
func startRTMP(cfg *Config, h *hub.Hub, store *models.Store, clk clock.Clock, log *slog.Logger) (*rtmpPush, error) {
	ln, err := net.Listen("tcp", cfg.RTMPAddr)
	if err != nil {
		if cfg.RTMPAddr == defaultRTMPAddr {
			log.Warn("RTMP push is off: its default address is taken", "addr", cfg.RTMPAddr, "err", err)
			return &rtmpPush{stop: func() {}}, nil
		}
		return nil, fmt.Errorf("-rtmp-addr %s: %w", cfg.RTMPAddr, err)
	}
	rooms := jobs.NewRTMPRooms(store, log)
	srv, err := rtmp.New(rtmp.Config{Hub: h, Now: clk.Now, Admit: rooms.Admit, Logger: log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		rooms.Run(ctx)
	}()
	go srv.Serve(ln)
	var once sync.Once
	return &rtmpPush{endpoint: "rtmp://" + ln.Addr().String() + "/" + rtmp.App, rooms: rooms, stop: func() {
		once.Do(func() {
			srv.Close()
			cancel()
			<-watched
		})
	}}, nil
}

// wake tells the listener the rooms changed: a publisher removed is disconnected.
func (p *rtmpPush) wake() {
	if p.rooms != nil {
		p.rooms.Wake()
	}
}

// memberStreams is what a member's streams in the hub carry, for GET /_emulator/v1/rooms.
func memberStreams(h *hub.Hub, room, userId string) []handlers.StreamInfo {
	var out []handlers.StreamInfo
	for _, track := range []hub.Track{hub.MainVideo, hub.AuxVideo, hub.Audio} {
		p, ok := h.Params(hub.Key{Room: room, UserId: userId, Track: track})
		if !ok {
			continue
		}
		out = append(out, handlers.StreamInfo{Track: track.String(), Codec: p.Codec.String(), Width: p.Width, Height: p.Height,
			Fps: p.FPS, SampleRate: p.SampleRate, Channels: p.Channels})
	}
	return out
}

// whipPublish is the WHIP endpoint as main runs it, on the main listener.
type whipPublish struct {
	server *whip.Server
	rooms  *jobs.RTMPRooms
	stop   func()
}

// startWHIP makes the WHIP endpoint (served on the main listener): ICE host candidates
// of the listen address (iceAddrs), mDNS off.
func startWHIP(cfg *Config, h *hub.Hub, store *models.Store, clk clock.Clock, log *slog.Logger) (*whipPublish, error) {
	rooms := jobs.NewRTMPRooms(store, log)
	srv, err := whip.New(whip.Config{Hub: h, Now: clk.Now, Admit: rooms.AdmitWHIP, Logger: log, ICEAddrs: iceAddrs(cfg.Addr)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		rooms.Run(ctx)
	}()
	var once sync.Once
	return &whipPublish{server: srv, rooms: rooms, stop: func() {
		once.Do(func() {
			srv.Close()
			cancel()
			<-watched
		})
	}}, nil
}

// iceAddrs keeps the host candidates of the listen address: loopback addresses when it
// is loopback (the default) or a name, every address when it is unspecified (0.0.0.0),
// else that address.
func iceAddrs(addr string) func(net.IP) bool {
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	switch {
	case ip == nil || ip.IsLoopback():
		return nil
	case ip.IsUnspecified():
		return func(net.IP) bool { return true }
	}
	return ip.Equal
}
