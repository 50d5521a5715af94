//go:build race

package main

// The tests run the binary with the race detector when they run with it themselves: its
// goroutines (recorder, uploads, dispatcher) are checked end to end, and a race makes the
// binary exit with status 66, which proc.stop reports.
func init() { buildFlags = append(buildFlags, "-race") }
