package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/trtc-emulator/trtc-emulator/models"
)

// historySchedule is when the history sweep runs (cron syntax), besides once at start.
const historySchedule = "@hourly"

// startHistorySweep deletes the records of rooms closed more than retention ago, now and
// then on historySchedule, until the returned stop is called (it waits for a sweep under
// way). retention 0 sweeps nothing.
func startHistorySweep(store *models.Store, retention time.Duration, log *slog.Logger) (stop func(), err error) {
	if retention <= 0 {
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	sweep := func() {
		n, err := store.SweepHistory(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("history sweep", "err", err)
		case n > 0:
			log.Info("history sweep", "rooms_deleted", n, "retention", retention)
		}
	}
	c := cron.New()
	if _, err := c.AddFunc(historySchedule, sweep); err != nil {
		cancel()
		return nil, err
	}
	c.Start()
	var first sync.WaitGroup
	first.Go(sweep) // a restart catches up at once
	return func() {
		cancel()
		<-c.Stop().Done()
		first.Wait()
	}, nil
}
