package main

import (
	"fmt"
	"io"
	"net"
	"slices"
	"text/tabwriter"
)

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// figures of a scenario: per-round values, and per-round ratios to a yardstick scenario.
func (r *results) series(label, name string, f func(sample) float64) []float64 {
	var out []float64
	for _, s := range r.samples[key(label, name)] {
		out = append(out, f(s))
	}
	return out
}

func (r *results) ratios(label, name, yardLabel, yardName string, f func(sample) float64) []float64 {
	a, b := r.samples[key(label, name)], r.samples[key(yardLabel, yardName)]
	var out []float64
	for i := range min(len(a), len(b)) {
		if y := f(b[i]); y > 0 {
			out = append(out, f(a[i])/y)
		}
	}
	return out
}

func spread(v []float64, format string) string {
	if len(v) < 2 {
		return ""
	}
	return fmt.Sprintf("("+format+"–"+format+")", slices.Min(v), slices.Max(v))
}

// report prints medians over the rounds: req/s and CPU µs per request of every scenario,
// and for the emulator's its ratio to its ceiling (read actions to the read reference, the
// entry to the write reference), pair by pair within a round.
func report(out io.Writer, o *options, r *results) {
	rate := func(s sample) float64 { return s.rate() }
	cpu := func(s sample) float64 { return s.cpuPerRequest() }
	fmt.Fprintf(out, "\n%d connections, %d rounds of %s, medians (min–max over rounds)\n", o.connections, o.rounds, o.duration)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\tscenario\treq/s\tx ceiling\tCPU µs/req\tx ceiling CPU\t")
	for _, name := range []string{refRead, refWrite} {
		rs, cs := r.series("", name, rate), r.series("", name, cpu)
		fmt.Fprintf(w, "\t%s\t%.0f %s\t\t%.0f %s\t\t\n", name, median(rs), spread(rs, "%.0f"), median(cs), spread(cs, "%.0f"))
	}
	for _, label := range r.builds {
		path := o.emulator
		if label == "baseline" {
			path = o.baseline
		}
		fmt.Fprintf(w, "%s (%s)\t\t\t\t\t\t\n", label, path)
		for _, row := range []struct{ name, yard string }{{roomInfo, refRead}, {describeRec, refRead}, {entry, refWrite}, {roomInfoOld, refRead}} {
			rs, cs := r.series(label, row.name, rate), r.series(label, row.name, cpu)
			rr, cr := r.ratios(label, row.name, "", row.yard, rate), r.ratios(label, row.name, "", row.yard, cpu)
			name := row.name
			if row.name == roomInfoOld {
				name = fmt.Sprintf("DescribeRoomInfo (20 rooms + %d old rooms)", o.oldRooms)
			}
			fmt.Fprintf(w, "\t%s\t%.0f %s\t%.2fx %s\t%.0f %s\t%.2fx %s\t\n", name, median(rs), spread(rs, "%.0f"),
				median(rr), spread(rr, "%.2f"), median(cs), spread(cs, "%.0f"), median(cr), spread(cr, "%.2f"))
		}
		hist := r.ratios(label, roomInfoOld, label, roomInfo, cpu)
		fmt.Fprintf(w, "\thistory: DescribeRoomInfo CPU/req with %d old rooms ÷ with 20\t%.2fx %s\t\t\t\t\n", o.oldRooms, median(hist), spread(hist, "%.2f"))
	}
	w.Flush()
	fmt.Fprintln(out, "\nGoals (issue 9): read actions >= 0.8x the read ceiling, the entry >= 0.5x the write ceiling; history cost near 1x.")
}
