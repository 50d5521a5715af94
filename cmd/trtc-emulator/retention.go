package main

import (
	"context"
	"log/slog"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/jobs"
	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
)

// sweepSchedule is when the periodic sweeps run (cron syntax), besides once at start.
const sweepSchedule = "@hourly"

// sweeps are what the periodic sweeps clean.
type sweeps struct {
	store    *models.Store
	objects  *embedded.Store
	recorder *jobs.Recorder
	clock    clock.Clock
	log      *slog.Logger
}

// start runs the sweeps the configuration asks for, at once and then on sweepSchedule on
// the clock, until the returned stop is called (it waits for the sweeps under way): room
// history and the callback delivery log past their retention, unfinished multipart
// uploads to the embedded store, the spool directories of tasks that ended (the recorder
// also sweeps these when it starts) and, with -expired-recordings end, the recording tasks
// past their ResourceExpiredHour.
func (s sweeps) start(cfg *Config) (stop func(), err error) {
	p := jobs.NewPeriodic(s.clock, s.log)
	if v, ok := s.clock.(*clock.Virtual); ok {
		v.OnSettle(p.Settle) // an advance returns after the sweeps due by then
	}
	add := func(name string, atStart bool, run func(ctx context.Context) (int64, error)) error {
		sweep := func(ctx context.Context) error {
			n, err := run(ctx)
			if n > 0 {
				s.log.Info("sweep", "name", name, "deleted", n)
			}
			return err
		}
		if atStart {
			return p.Add(name, sweepSchedule, sweep)
		}
		return p.AddScheduled(name, sweepSchedule, sweep)
	}
	var errs []error
	if r := cfg.HistoryRetention; r > 0 {
		errs = append(errs, add("history", true, func(ctx context.Context) (int64, error) { return s.store.SweepHistory(ctx, r) }))
	}
	if r := cfg.CallbackLogRetention; r > 0 {
		errs = append(errs, add("callback-log", true, func(ctx context.Context) (int64, error) { return s.store.SweepCallbackLog(ctx, r) }))
	}
	if r := cfg.MultipartRetention; r > 0 && s.objects != nil {
		errs = append(errs, add("multipart-uploads", true, func(ctx context.Context) (int64, error) {
			n, err := s.objects.AbortStaleUploads(ctx, s.clock.Now().Add(-r))
			return int64(n), err
		}))
	}
	if cfg.ExpiredRecordings == "end" {
		errs = append(errs, add("expired-recordings", true, func(ctx context.Context) (int64, error) {
			return s.store.EndExpiredRecordings(ctx)
		}))
	}
	if s.recorder != nil {
		errs = append(errs, add("spool", false, func(ctx context.Context) (int64, error) { return 0, s.recorder.SweepSpool(ctx) }))
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}
