// Package jobs runs the emulator's durable work: leased job rows that survive restarts
// (recording, ingest, relay, MP4 conversion, upload, idle timers, periodic sweeps with
// robfig/cron). Everything that waits takes a Clock so tests can move time.
//
// Only the Clock exists so far; workers arrive with the first feature that needs them.
package jobs

import "time"

// Clock is the time source of everything that waits.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time                         { return time.Now() }
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
