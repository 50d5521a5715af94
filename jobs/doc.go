// Package jobs runs the emulator's durable work: it wires models' durable rows to the
// workers that act on them. So far that is the callback outbox, delivered by the
// webhooks dispatcher; recording, ingest, relay, MP4 conversion and upload jobs follow
// (leased job rows that survive restarts, periodic sweeps with robfig/cron). Everything
// that waits takes an internal/clock.Clock so tests can move time.
package jobs
