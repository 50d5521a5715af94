// Command bench measures the emulator's API against in-repo reference servers that do only
// the essential work of a request, and prints the ratios issue 9 set goals for:
//
//   - the read ceiling: an echo server doing the TC3 check and one gorm/SQLite point read;
//   - the write ceiling: an echo server doing the TC3 check and one insert transaction on a
//     single writer connection;
//   - DescribeRoomInfo (20 rooms in the window), DescribeCloudRecording (a real, running task)
//     and a participant entry (room, member and callback rows) on the built emulator;
//   - DescribeRoomInfo with 17k old rooms outside the window, against the 20-room figure.
//
// Every server is a separate process (the emulator binary given by -emulator, the reference
// servers this program started again in reference mode), so its CPU per request is read
// from the kernel's accounting of that process alone, without the load generator's. Every
// answer is checked: an envelope with an Error, a wrong status or a wrong result counts as a
// failure, and any failure makes the run exit with status 1. Measurements are taken in
// rounds, each server in turn, and the figures are the medians over the rounds; ratios are
// taken within a round, so a machine whose speed drifts still compares like with like.
//
//	go run ./cmd/bench -emulator bin/trtc-emulator [-baseline other/trtc-emulator] [-rounds 5]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if mode := os.Getenv(referenceEnv); mode != "" {
		if err := serveReference(mode, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench reference:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options of one run.
type options struct {
	emulator    string // the binary measured
	baseline    string // optional second binary measured in the same rounds
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	connections int
	oldRooms    int
}

func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.emulator, "emulator", "bin/trtc-emulator", "the emulator binary to measure")
	fs.StringVar(&o.baseline, "baseline", "", "a second emulator binary (e.g. a build of an older commit) measured side by side")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "length of one measurement")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "load before each measurement that is not counted")
	fs.IntVar(&o.rounds, "rounds", 5, "measurements of each server; the figures are medians")
	fs.IntVar(&o.connections, "connections", 64, "concurrent keep-alive connections")
	fs.IntVar(&o.oldRooms, "old-rooms", 17000, "closed rooms of the last days, outside the queried window, for the history figure")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %v", fs.Args())
	case o.rounds < 1 || o.connections < 1 || o.duration <= 0:
		return nil, errors.New("-rounds, -connections and -duration must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "trtc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &bench{opts: o, work: work, log: out}
	defer b.stopAll()
	results, err := b.measure(ctx)
	if err != nil {
		return err
	}
	report(out, o, results)
	return results.failed()
}
