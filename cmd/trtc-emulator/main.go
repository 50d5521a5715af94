// Command trtc-emulator serves a local emulator of Tencent RTC's server side: the
// Tencent Cloud API 3.0 actions of TRTC and the emulator's control API.
//
//	trtc-emulator [flags]            serve (see -h for every setting and its env var)
//	trtc-emulator usersig ...        generate a UserSig
//	trtc-emulator privatemapkey ...  generate a PrivateMapKey
//	trtc-emulator whip-token ...     generate a WHIP Bearer token
//	trtc-emulator version            print the version
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/trtc-emulator/trtc-emulator/handlers"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/jobs"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/virtual"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trtc-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, version)
			return nil
		case "usersig":
			return runUserSig(args[1:], getenv, stdout)
		case "whip-token":
			return runWHIPToken(args[1:], getenv, stdout)
		case "privatemapkey":
			return runPrivateMapKey(args[1:], getenv, stdout)
		case "serve":
			args = args[1:]
		}
	}
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		if errors.Is(err, flagHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, stdout)
}

// serve runs the emulator until ctx ends, then shuts down gracefully: the listener closes,
// in-flight requests finish (up to ShutdownTimeout) and the store is closed.
func serve(ctx context.Context, cfg *Config, stdout io.Writer) error {
	log := cfg.logger(os.Stderr)
	started := time.Now()
	clk := cfg.clock()
	store, err := models.Open(ctx, models.Options{Database: cfg.Database, Logger: log, Clock: clk})
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.Seed(ctx, models.Seed{Uin: cfg.Uin, SecretId: cfg.SecretId, SecretKey: cfg.SecretKey,
		SdkAppId: cfg.SdkAppId, SdkSecretKey: cfg.SdkSecretKey, CallbackURL: cfg.CallbackURL, CallbackKey: cfg.CallbackKey})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := handlers.SeedPresets(ctx, store); err != nil {
		return fmt.Errorf("seed CAM presets: %w", err)
	}
	objects, err := embedded.Open(filepath.Join(cfg.DataDir, "objects"), embedded.Options{Clock: clk})
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	defer objects.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	guard := webhooks.DefaultGuard
	if cfg.CallbackPrivate == "deny" {
		guard = webhooks.Guard{}
	}
	dispatcher := webhooks.NewDispatcher(webhooks.Config{Outbox: jobs.CallbackOutbox{Store: store},
		Client: webhooks.NewClient(guard), Logger: log, Clock: clk})
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- dispatcher.Run(jobsCtx) }()
	endpoint := "http://" + ln.Addr().String()
	uploaders := jobs.Uploaders{COSEndpoint: endpoint + handlers.StoragePrefix, S3Endpoint: endpoint + handlers.StoragePrefix}
	for _, e := range []struct {
		set string
		dst *string
	}{{cfg.COSEndpoint, &uploaders.COSEndpoint}, {cfg.S3Endpoint, &uploaders.S3Endpoint}} {
		switch e.set {
		case "":
		case "cloud":
			*e.dst = ""
		default:
			*e.dst = e.set
		}
	}
	// One hub: the virtual participants' encoders and RTMP publishers write the members'
	// streams into it; recordings read them.
	mediaHub := hub.New()
	roots, err := sourceRoots(cfg.CAFile)
	if err != nil {
		return err
	}
	// The virtual participants' encoders, shared by the recordings and relays of a room.
	virtualMedia := virtual.New(mediaHub)
	roomMedia := jobs.NewRoomMedia(virtualMedia, log)
	recorder, err := jobs.NewRecorder(jobs.RecorderConfig{Store: store, SpoolDir: filepath.Join(cfg.DataDir, "spool"),
		Uploaders: uploaders, Logger: log, SegmentDuration: cfg.SegmentDuration,
		UploadGiveUp: cfg.UploadGiveUp, Clock: clk, Hub: mediaHub, Media: virtualMedia, Rooms: roomMedia,
		Images: webhooks.NewPullClient(guard, roots)})
	if err != nil {
		return err
	}
	push, err := startRTMP(cfg, mediaHub, store, clk, log)
	if err != nil {
		return err
	}
	defer push.stop()
	rtmpEndpoint := push.endpoint
	publishWHIP, err := startWHIP(cfg, mediaHub, store, clk, log)
	if err != nil {
		return err
	}
	defer publishWHIP.stop()
	ingester, err := jobs.NewIngester(jobs.IngesterConfig{Store: store, Hub: mediaHub, Clock: clk, Logger: log,
		Client: webhooks.NewPullClient(guard, roots), Dial: guard.DialContext, TempDir: filepath.Join(cfg.DataDir, "ingest")})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "ingest"), 0o755); err != nil {
		return err
	}
	ingestCtx, stopIngest := context.WithCancel(context.Background())
	defer stopIngest()
	ingestDone := make(chan struct{})
	go func() { defer close(ingestDone); ingester.Run(ingestCtx) }()
	if v, ok := clk.(*clock.Virtual); ok {
		// First the sources pulled into rooms publish what is due (what recordings read).
		v.OnSettle(ingester.Settle)
	}
	// Relays to CDN publish the room's streams to RTMP destinations (through the guard).
	relayer, err := jobs.NewRelayer(jobs.RelayerConfig{Store: store, Hub: mediaHub, Rooms: roomMedia, Clock: clk,
		Dial: guard.DialContext, Images: webhooks.NewPullClient(guard, roots), Logger: log})
	if err != nil {
		return err
	}
	relayCtx, stopRelay := context.WithCancel(context.Background())
	defer stopRelay()
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); relayer.Run(relayCtx) }()
	if v, ok := clk.(*clock.Virtual); ok {
		v.OnSettle(relayer.Settle)
	}
	if v, ok := clk.(*clock.Virtual); ok {
		// After each step of an advance: the recordings' passes (their callbacks
		// committed), then (sweeps.start) the sweeps, then the deliveries due, theirs
		// included.
		v.OnSettle(recorder.Settle)
	}
	recorderCtx, stopRecorder := context.WithCancel(context.Background())
	defer stopRecorder()
	recorderDone := make(chan error, 1)
	go func() { recorderDone <- recorder.Run(recorderCtx) }()
	// Every commit that changed something wakes who acts on it: new callback events the
	// dispatcher; new jobs, room and recording changes the recorder (its runner and its
	// tasks that record nothing yet).
	store.OnChange(func(c models.Change) {
		if c&models.ChangeCallbacks != 0 {
			dispatcher.Notify()
		}
		if c&(models.ChangeJobs|models.ChangeRooms|models.ChangeRecordings) != 0 {
			recorder.Wake()
		}
		if c&models.ChangeRooms != 0 {
			push.wake()
			publishWHIP.rooms.Wake()
		}
		if c&(models.ChangeJobs|models.ChangeRooms|models.ChangeIngest) != 0 {
			ingester.Wake()
		}
		if c&(models.ChangeJobs|models.ChangeRooms|models.ChangeRelay) != 0 {
			relayer.Wake()
		}
	})
	stopSweeps, err := sweeps{store: store, objects: objects, recorder: recorder, clock: clk, log: log}.start(cfg)
	if err != nil {
		return err
	}
	defer stopSweeps()
	if v, ok := clk.(*clock.Virtual); ok {
		v.OnSettle(dispatcher.Settle)
	}
	h := handlers.New(handlers.Settings{
		Version: version, Region: cfg.Region, Uin: cfg.Uin, SdkAppId: cfg.SdkAppId,
		APIEndpoint: endpoint, AuthOff: cfg.Auth == "off",
		RateLimit: cfg.RateLimit, RateLimits: cfg.RateLimits, Logger: log,
		Rescan:       dispatcher.Rescan,
		ObjectStore:  s3api.New(objects, s3api.Config{Prefix: handlers.StoragePrefix, Region: cfg.Region, Logger: log}),
		ControlToken: cfg.ControlToken, Clock: clk, RTMPEndpoint: rtmpEndpoint, WHIP: publishWHIP.server,
		Streams: func(sdkAppId uint64, roomIdType int, roomId, userId string) []handlers.StreamInfo {
			return memberStreams(mediaHub, jobs.HubRoom(sdkAppId, roomIdType, roomId), userId)
		},
	}, store)
	srv := handlers.NewServer(cfg.Addr, h, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	app, err := store.App(ctx, cfg.SdkAppId)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `trtc-emulator %s ready in %s
  API endpoint   %s   (SDK: Endpoint %q, Scheme "http")
  Control API    %s/_emulator/v1
  Object store   %s%s   (S3/COS path-style, any credentials)
  SecretId       %s
  SecretKey      %s
  Uin            %s
  SdkAppId       %d
  SDK secret key %s
`, version, time.Since(started).Round(time.Millisecond), endpoint, ln.Addr().String(), endpoint, endpoint, handlers.StoragePrefix,
		cfg.SecretId, cfg.SecretKey, cfg.Uin, app.SdkAppId, app.SdkSecretKey)
	if cfg.Auth == "off" {
		fmt.Fprintln(stdout, "  Auth           off: signatures are not checked")
	}
	if rtmpEndpoint != "" {
		fmt.Fprintf(stdout, "  RTMP push      %s/<RoomId>?sdkappid=%d&userid=<UserId>&usersig=<UserSig>\n", rtmpEndpoint, app.SdkAppId)
	}
	fmt.Fprintf(stdout, "  WHIP publish   POST %s%s (Authorization: Bearer <trtc-emulator whip-token>)\n", endpoint, handlers.WHIPPrefix)
	if v, ok := clk.(*clock.Virtual); ok {
		fmt.Fprintf(stdout, "  Clock          virtual at %s, scale %g: POST %s/_emulator/v1/clock {\"Advance\":\"90s\"}\n",
			v.Now().UTC().Format(time.RFC3339), v.Scale(), endpoint)
	}
	switch {
	case cfg.ControlToken != "":
		fmt.Fprintln(stdout, "  Control token  required: Authorization: Bearer $TRTC_EMULATOR_CONTROL_TOKEN (not for /_emulator/health)")
	case cfg.controlWarning() != "":
		fmt.Fprintln(stdout, "  Control token  NONE on a non-loopback address (TRTC_EMULATOR_INSECURE_CONTROL=1): see the warning")
		log.Warn(cfg.controlWarning(), "addr", ln.Addr().String())
	}
	// Last: a reader of the banner knows it has all of it at this line.
	fmt.Fprintf(stdout, "  Database       %s\n", cfg.Database)
	log.Info("serving", "addr", ln.Addr().String(), "auth", cfg.Auth, "rate_limit", cfg.RateLimit, "log_format", cfg.LogFormat)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	// Recordings suspend first (files spooled, leases given back), while the listener that
	// also serves the embedded object store is still up: their uploads end cleanly.
	push.stop() // publishers leave their rooms (104) while the recorder still runs
	publishWHIP.stop()
	// Ingest tasks stop playing and give their jobs back; their anchors stay in their
	// rooms, and the next start resumes them.
	stopIngest()
	<-ingestDone
	// Relays stop publishing and give their jobs back; the next start republishes
	// (RECOVERING, then RUNNING).
	stopRelay()
	<-relayDone
	stopRecorder()
	if err := <-recorderDone; err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// The dispatcher stops after the last request: attempts in flight are recorded,
	// pending events stay in the outbox.
	stopJobs()
	if err := <-jobsDone; err != nil {
		return fmt.Errorf("callback dispatcher: %w", err)
	}
	log.Info("stopped")
	return nil
}

// sourceRoots is the certificate pool https ingest sources are verified against: the
// system's, plus the PEM certificates of caFile when set.
func sourceRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca-file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca-file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}
