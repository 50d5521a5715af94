package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/jobs"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// startRTMP runs the RTMP push listener on cfg.RTMPAddr and returns the URL it announces
// (rtmp://<addr>/push) and its stop. The default address being taken (another emulator
// runs) leaves RTMP push off with a warning; an address the user set must be free.
func startRTMP(cfg *Config, h *hub.Hub, store *models.Store, clk clock.Clock, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", cfg.RTMPAddr)
	if err != nil {
		if cfg.RTMPAddr == defaultRTMPAddr {
			log.Warn("RTMP push is off: its default address is taken", "addr", cfg.RTMPAddr, "err", err)
			return "", func() {}, nil
		}
		return "", nil, fmt.Errorf("-rtmp-addr %s: %w", cfg.RTMPAddr, err)
	}
	srv, err := rtmp.New(rtmp.Config{Hub: h, Now: clk.Now, Admit: jobs.RTMPRooms{Store: store, Logger: log}.Admit, Logger: log})
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	go srv.Serve(ln)
	return "rtmp://" + ln.Addr().String() + "/" + rtmp.App, func() { srv.Close() }, nil
}
