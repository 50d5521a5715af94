// Package jobs runs the emulator's durable work: it wires models' durable rows to the
// workers that act on them. The callback outbox is delivered by the webhooks dispatcher;
// cloud recording tasks are run by the Recorder (recorder.go: leases, one run per task;
// streams.go: what each task records and the HLS files; mp4out.go: MP4 and AAC files;
// uploads.go: the spool and uploads to COS/S3; naming.go: the seed's file names). Ingest,
// relay and periodic sweeps (robfig/cron) follow. Everything that waits takes an
// internal/clock.Clock so tests can move time.
package jobs
