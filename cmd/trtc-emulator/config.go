package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// Defaults of the external contract (DESIGN §2). The credentials are fixed and documented
// so that a fresh emulator and its users agree without configuration.
const (
	defaultAddr         = "127.0.0.1:4599"
	defaultRTMPAddr     = "127.0.0.1:1935"
	defaultDataDir      = "./.trtc-emulator"
	defaultUin          = "100000000001"
	defaultSecretId     = "AKIDtrtcEmulatorDefaultSecretId00000"
	defaultSecretKey    = "trtcEmulatorDefaultSecretKey0000"
	defaultSdkAppId     = 1400000001
	defaultSdkSecretKey = "ca83e59afa9f9111b5432673f1a1ccb47e26f649dfdaab8581db7a6702cf9f93"
	defaultRegion       = "ap-guangzhou"
	defaultRateLimit    = 20
)

// Config is every setting of the emulator; each has an env var and a flag (the flag wins).
type Config struct {
	Addr            string
	RTMPAddr        string
	DataDir         string
	Database        string
	Uin             string
	SecretId        string
	SecretKey       string
	SdkAppId        uint64
	SdkSecretKey    string
	CallbackURL     string
	CallbackKey     string
	CallbackPrivate string // "allow" or "deny": may callbacks go to loopback and private addresses
	// CAFile is a PEM file of certificates trusted, besides the system's, by https
	// sources of stream ingest.
	CAFile          string
	Region          string
	Auth            string // "on" or "off"
	RateLimit       float64
	RateLimits      map[string]float64
	LogLevel        slog.Level
	LogFormat       string // "text" or "json"
	ShutdownTimeout time.Duration
	// COSEndpoint and S3Endpoint receive recordings for StorageParams Vendor 0 and 1 (path-style
	// base URLs); "" is the embedded object store.
	COSEndpoint, S3Endpoint string
	SegmentDuration         time.Duration // HLS target segment length of recordings
	// ControlToken, when set, is required as "Authorization: Bearer <token>" on the control
	// API (everything under /_emulator/ but /_emulator/health), whatever the address.
	ControlToken string
	// InsecureControl lets the emulator serve an unprotected control API on an address
	// that is not loopback (it hands out keys and changes state); without it, such an
	// address needs a ControlToken.
	InsecureControl bool
	UploadGiveUp    time.Duration // how long storage may refuse a recording's file for good
	// HistoryRetention: the records of a room closed longer ago are swept (0 keeps them).
	HistoryRetention time.Duration
	// CallbackLogRetention: the delivery log of callback events finished longer ago is
	// swept (0 keeps it).
	CallbackLogRetention time.Duration
	// MultipartRetention: multipart uploads to the embedded store initiated longer ago and
	// never completed are discarded (0 keeps them).
	MultipartRetention time.Duration
	// ExpiredRecordings is what happens to a recording task past its ResourceExpiredHour:
	// "continue" (the API contract: it is no longer described, modified or stopped, but
	// records on) or "end" (the hourly sweep stops it: 302 LeaveCode 3).
	ExpiredRecordings string
	// Clock is "system" (the wall clock) or "virtual": time starts at ClockStart (the
	// real time when zero) and moves by POST /_emulator/v1/clock and, with TimeScale > 0,
	// TimeScale virtual seconds per real second.
	Clock      string
	ClockStart time.Time
	TimeScale  float64
}

// controlWarning is what to warn about the control API's exposure at start: "" unless it
// is served without a token on an address that is not loopback (the explicit opt-in).
func (c *Config) controlWarning() string {
	if c.ControlToken != "" || c.Loopback() {
		return ""
	}
	return "the control API is unprotected on " + c.Addr + ", which is not a loopback address: anyone who reaches it " +
		"can read the API and SDK secret keys and change every room, app and key; set TRTC_EMULATOR_CONTROL_TOKEN"
}

// Loopback reports whether the HTTP listener is reachable from this host only: a
// loopback IP or "localhost". A host name or an empty host (every interface) is not.
func (c *Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// flagHelp reports that -h was asked for and usage was printed.
var flagHelp = errors.New("help requested")

type setting struct {
	env, flag, def, usage string
	target                *string
}

// parseConfig reads env vars, then flags, and validates the result.
func parseConfig(args []string, getenv func(string) string) (*Config, error) {
	var raw struct {
		addr, rtmp, dataDir, database, uin, secretId, secretKey, sdkAppId, sdkSecretKey,
		callbackURL, callbackKey, callbackPrivate, region, auth, rateLimit, rateLimits, logLevel, logFormat, shutdown,
		cosEndpoint, s3Endpoint, segment, controlToken, insecureControl, uploadGiveUp, retention string
		callbackRetention, multipartRetention, clock, clockStart, timeScale, expiredRecordings, caFile string
	}
	settings := []setting{
		{"TRTC_EMULATOR_ADDR", "addr", defaultAddr, "HTTP listener: API 3.0, control API", &raw.addr},
		{"TRTC_EMULATOR_RTMP_ADDR", "rtmp-addr", defaultRTMPAddr, "RTMP push listener (rtmp://<addr>/push/<RoomId>?sdkappid=&userid=&usersig=); the default address taken leaves it off with a warning", &raw.rtmp},
		{"TRTC_EMULATOR_DATA_DIR", "data-dir", defaultDataDir, "directory of the SQLite database and stored media", &raw.dataDir},
		{"TRTC_EMULATOR_DATABASE", "database", "", "database URL (default sqlite://<data dir>/emulator.db)", &raw.database},
		{"TRTC_EMULATOR_UIN", "uin", defaultUin, "root account uin", &raw.uin},
		{"TRTC_EMULATOR_SECRET_ID", "secret-id", defaultSecretId, "root account API SecretId", &raw.secretId},
		{"TRTC_EMULATOR_SECRET_KEY", "secret-key", defaultSecretKey, "root account API SecretKey", &raw.secretKey},
		{"TRTC_EMULATOR_SDKAPPID", "sdkappid", strconv.Itoa(defaultSdkAppId), "SdkAppId of the default application", &raw.sdkAppId},
		{"TRTC_EMULATOR_SDKSECRETKEY", "sdksecretkey", defaultSdkSecretKey, "UserSig secret key of the default application", &raw.sdkSecretKey},
		{"TRTC_EMULATOR_CALLBACK_URL", "callback-url", "", "callback URL for every event group of the default application", &raw.callbackURL},
		{"TRTC_EMULATOR_CALLBACK_KEY", "callback-key", "", "callback signing key (up to 32 letters and digits)", &raw.callbackKey},
		{"TRTC_EMULATOR_CALLBACK_PRIVATE", "callback-private", "allow", "allow or deny callbacks to loopback and private addresses (link-local and metadata addresses are always refused)", &raw.callbackPrivate},
		{"TRTC_EMULATOR_CA_FILE", "ca-file", "", "PEM certificates trusted, besides the system's, by https sources of stream ingest (StartStreamIngest); the address rule of -callback-private applies to sources too", &raw.caFile},
		{"TRTC_EMULATOR_REGION", "region", defaultRegion, "region reported by the emulator", &raw.region},
		{"TRTC_EMULATOR_AUTH", "auth", "on", "verify API signatures: on or off", &raw.auth},
		{"TRTC_EMULATOR_RATE_LIMIT", "rate-limit", strconv.Itoa(defaultRateLimit), "API requests per second per action and caller; 0 = no limit", &raw.rateLimit},
		{"TRTC_EMULATOR_RATE_LIMITS", "rate-limits", "", "per-action overrides, e.g. DescribeRoomInfo=100,DismissRoom=5", &raw.rateLimits},
		{"TRTC_EMULATOR_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", &raw.logLevel},
		{"TRTC_EMULATOR_LOG_FORMAT", "log-format", "text", "text or json", &raw.logFormat},
		{"TRTC_EMULATOR_SHUTDOWN_TIMEOUT", "shutdown-timeout", "10s", "how long in-flight requests may take after SIGINT/SIGTERM", &raw.shutdown},
		{"TRTC_EMULATOR_COS_ENDPOINT", "cos-endpoint", "", "path-style COS endpoint recordings with Vendor 0 go to (default: the embedded store, <api endpoint>/storage; \"cloud\": real COS)", &raw.cosEndpoint},
		{"TRTC_EMULATOR_S3_ENDPOINT", "s3-endpoint", "", "path-style S3 endpoint recordings with Vendor 1 go to (default: the embedded store; \"cloud\": real AWS S3)", &raw.s3Endpoint},
		{"TRTC_EMULATOR_RECORDING_SEGMENT", "recording-segment", "10s", "HLS target segment duration of cloud recordings (1s to 60s)", &raw.segment},
		{"TRTC_EMULATOR_CONTROL_TOKEN", "control-token", "", "token the control API requires as \"Authorization: Bearer <token>\" (required when -addr is not loopback)", &raw.controlToken},
		{"TRTC_EMULATOR_INSECURE_CONTROL", "insecure-control", "0", "1 serves the control API without a token on a non-loopback address (anyone reaching it can read keys)", &raw.insecureControl},
		{"TRTC_EMULATOR_UPLOAD_GIVE_UP", "upload-give-up", "5m", "how long the storage may refuse a recording's file for good (4xx other than throttling) before the task fails (1s to 24h)", &raw.uploadGiveUp},
		{"TRTC_EMULATOR_HISTORY_RETENTION", "history-retention", "30", "days the records of a closed room are kept (swept hourly); 0 keeps them forever", &raw.retention},
		{"TRTC_EMULATOR_CALLBACK_LOG_RETENTION", "callback-log-retention", "7", "days the delivery log of a delivered or failed callback is kept (swept hourly); 0 keeps it forever", &raw.callbackRetention},
		{"TRTC_EMULATOR_MULTIPART_RETENTION", "multipart-retention", "1", "days an unfinished multipart upload to the embedded store is kept (swept hourly); 0 keeps it", &raw.multipartRetention},
		{"TRTC_EMULATOR_EXPIRED_RECORDINGS", "expired-recordings", "continue", "a recording task past its ResourceExpiredHour: continue (as the API contract says; no longer described or stoppable) or end (the hourly sweep stops it, 302 LeaveCode 3)", &raw.expiredRecordings},
		{"TRTC_EMULATOR_CLOCK", "clock", "system", "system, or virtual: time moves when told (POST /_emulator/v1/clock) and by -time-scale", &raw.clock},
		{"TRTC_EMULATOR_CLOCK_START", "clock-start", "", "the virtual clock's start, RFC 3339 (default: the real time at start); implies -clock virtual", &raw.clockStart},
		{"TRTC_EMULATOR_TIME_SCALE", "time-scale", "0", "virtual seconds per real second (60: a minute a second; 0: only when told); above 0 implies -clock virtual", &raw.timeScale},
	}
	fs := flag.NewFlagSet("trtc-emulator", flag.ContinueOnError)
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		fs.StringVar(s.target, s.flag, def, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flagHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c := &Config{Addr: raw.addr, RTMPAddr: raw.rtmp, DataDir: raw.dataDir, Database: raw.database,
		Uin: raw.uin, SecretId: raw.secretId, SecretKey: raw.secretKey, SdkSecretKey: raw.sdkSecretKey,
		CallbackURL: raw.callbackURL, CallbackKey: raw.callbackKey, CallbackPrivate: raw.callbackPrivate, Region: raw.region, Auth: raw.auth, LogFormat: raw.logFormat,
		COSEndpoint: raw.cosEndpoint, S3Endpoint: raw.s3Endpoint, ControlToken: raw.controlToken, CAFile: raw.caFile}
	var err error
	if c.Database == "" {
		c.Database = "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "emulator.db"))
	}
	for _, a := range []struct{ name, addr string }{{"addr", c.Addr}, {"rtmp-addr", c.RTMPAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return nil, fmt.Errorf("-%s %q: %v", a.name, a.addr, err)
		}
	}
	if c.SdkAppId, err = strconv.ParseUint(raw.sdkAppId, 10, 32); err != nil || c.SdkAppId == 0 {
		return nil, fmt.Errorf("-sdkappid %q: want 1 to 4294967295", raw.sdkAppId)
	}
	if _, err := strconv.ParseUint(c.Uin, 10, 64); err != nil {
		return nil, fmt.Errorf("-uin %q: want a number", c.Uin)
	}
	if c.SecretId == "" || c.SecretKey == "" {
		return nil, fmt.Errorf("-secret-id and -secret-key must not be empty")
	}
	if c.CallbackURL != "" {
		if err := webhooks.ValidateURL(c.CallbackURL); err != nil {
			return nil, fmt.Errorf("-callback-url: %v", err)
		}
	}
	for _, e := range []struct{ name, url string }{{"cos-endpoint", c.COSEndpoint}, {"s3-endpoint", c.S3Endpoint}} {
		if e.url == "" || e.url == "cloud" {
			continue
		}
		if u, err := url.Parse(e.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-%s %q: want an http(s) URL or \"cloud\"", e.name, e.url)
		}
	}
	if c.SegmentDuration, err = time.ParseDuration(raw.segment); err != nil || c.SegmentDuration < time.Second || c.SegmentDuration > time.Minute {
		return nil, fmt.Errorf("-recording-segment %q: want a duration from 1s to 60s", raw.segment)
	}
	if c.UploadGiveUp, err = time.ParseDuration(raw.uploadGiveUp); err != nil || c.UploadGiveUp < time.Second || c.UploadGiveUp > 24*time.Hour {
		return nil, fmt.Errorf("-upload-give-up %q: want a duration from 1s to 24h", raw.uploadGiveUp)
	}
	for _, r := range []struct {
		flag, raw string
		dst       *time.Duration
	}{
		{"history-retention", raw.retention, &c.HistoryRetention},
		{"callback-log-retention", raw.callbackRetention, &c.CallbackLogRetention},
		{"multipart-retention", raw.multipartRetention, &c.MultipartRetention},
	} {
		days, err := strconv.Atoi(r.raw)
		if err != nil || days < 0 || days > 36500 {
			return nil, fmt.Errorf("-%s %q: want a number of days from 0 (keep forever) to 36500", r.flag, r.raw)
		}
		*r.dst = time.Duration(days) * 24 * time.Hour
	}
	if c.Clock = raw.clock; c.Clock != "system" && c.Clock != "virtual" {
		return nil, fmt.Errorf("-clock %q: want system or virtual", raw.clock)
	}
	if raw.clockStart != "" {
		if c.ClockStart, err = time.Parse(time.RFC3339Nano, raw.clockStart); err != nil {
			return nil, fmt.Errorf("-clock-start %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", raw.clockStart)
		}
		c.Clock = "virtual"
	}
	if c.TimeScale, err = strconv.ParseFloat(raw.timeScale, 64); err != nil || c.TimeScale < 0 || c.TimeScale > 100000 || c.TimeScale != c.TimeScale {
		return nil, fmt.Errorf("-time-scale %q: want a number from 0 to 100000", raw.timeScale)
	}
	if c.TimeScale > 0 {
		c.Clock = "virtual"
	}
	if c.ExpiredRecordings = raw.expiredRecordings; c.ExpiredRecordings != "continue" && c.ExpiredRecordings != "end" {
		return nil, fmt.Errorf("-expired-recordings %q: want continue or end", raw.expiredRecordings)
	}
	if c.CallbackPrivate != "allow" && c.CallbackPrivate != "deny" {
		return nil, fmt.Errorf("-callback-private %q: want allow or deny", c.CallbackPrivate)
	}
	if c.Auth != "on" && c.Auth != "off" {
		return nil, fmt.Errorf("-auth %q: want on or off", c.Auth)
	}
	if c.RateLimit, err = strconv.ParseFloat(raw.rateLimit, 64); err != nil || c.RateLimit < 0 {
		return nil, fmt.Errorf("-rate-limit %q: want a number >= 0", raw.rateLimit)
	}
	c.RateLimits = map[string]float64{}
	for _, pair := range strings.FieldsFunc(raw.rateLimits, func(r rune) bool { return r == ',' }) {
		name, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		n, err := strconv.ParseFloat(val, 64)
		if !ok || name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("-rate-limits %q: want Action=N,…", raw.rateLimits)
		}
		c.RateLimits[name] = n
	}
	if err := c.LogLevel.UnmarshalText([]byte(raw.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", raw.logLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("-log-format %q: want text or json", c.LogFormat)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(raw.shutdown); err != nil || c.ShutdownTimeout <= 0 {
		return nil, fmt.Errorf("-shutdown-timeout %q: want a positive duration such as 10s", raw.shutdown)
	}
	if c.InsecureControl, err = strconv.ParseBool(raw.insecureControl); err != nil {
		return nil, fmt.Errorf("-insecure-control %q: want 1 or 0", raw.insecureControl)
	}
	if strings.TrimSpace(c.ControlToken) != c.ControlToken || strings.ContainsAny(c.ControlToken, "\r\n") {
		return nil, fmt.Errorf("-control-token: no leading or trailing spaces or line breaks")
	}
	if !c.Loopback() && c.ControlToken == "" && !c.InsecureControl {
		return nil, fmt.Errorf("-addr %s is not a loopback address and the control API, unsigned, hands out API and SDK secret keys: "+
			"set TRTC_EMULATOR_CONTROL_TOKEN (-control-token) to require \"Authorization: Bearer <token>\", "+
			"or TRTC_EMULATOR_INSECURE_CONTROL=1 (-insecure-control=1) to serve it unprotected", c.Addr)
	}
	return c, nil
}

// clock is the emulator's time: the wall clock, or a virtual clock at ClockStart.
func (c *Config) clock() clock.Clock {
	if c.Clock != "virtual" {
		return clock.System
	}
	start := c.ClockStart
	if start.IsZero() {
		start = time.Now()
	}
	return clock.NewVirtual(start, c.TimeScale)
}

func (c *Config) logger(w *os.File) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
