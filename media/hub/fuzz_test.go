package hub

import (
	"errors"
	"testing"
	"time"
)

// FuzzHubSequences drives the hub with arbitrary sequences of publish, write, subscribe,
// read, sink close and source close over two streams (a video and an audio one) and
// checks, against a model of what each sink may see:
//   - a sink's units come in the order written, each at most once;
//   - a video sink's first unit, and its first unit after a gap, is a keyframe;
//   - every unit written while a sink is subscribed is read, queued or counted skipped;
//   - a sink ends (ErrEnded) only after its source closed or it closed itself, and reads
//     nothing after;
//   - a queue never holds more than its limit (a replayed group included).
func FuzzHubSequences(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 2, 2, 4, 5, 6, 7})
	f.Add([]byte{0, 16, 2, 18, 3, 19, 2, 2, 2, 20, 4, 21, 5, 22, 7, 23})
	f.Add([]byte{0, 2, 2, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 6, 0, 3, 5})
	f.Fuzz(runHubSequence)
}

func runHubSequence(t *testing.T, ops []byte) {
	if len(ops) > 1024 { // longer sequences find nothing new, slowly (every sink is read per op)
		return
	}
	type sinkModel struct {
		s         *Sink
		key       Key
		last      int // sequence number of the last unit read, -1 before any
		needKey   bool
		ended     bool
		gaps      int
		closed    bool
		srcClosed bool
		expect    int // units replayed at the subscription and written since
	}
	keys := []Key{videoKey, audioKey}
	params := []Params{videoParam, audioParam}
	h := New()
	srcs := make([]*Source, 2)
	seq := make([]int, 2) // next sequence number per stream (its PTS in frames)
	var sinks []*sinkModel
	const queue = 4
	read := func(m *sinkModel) {
		u, ok, err := m.s.TryRead()
		if m.ended {
			if ok || !errors.Is(err, ErrEnded) {
				t.Fatalf("read after the end: %v %v", ok, err)
			}
			return
		}
		st := m.s.Stats()
		if st.Gaps > m.gaps {
			m.gaps, m.needKey = st.Gaps, m.key.Track != Audio
		}
		switch {
		case errors.Is(err, ErrEnded):
			if !m.closed && !m.srcClosed {
				t.Fatal("a sink ended while its source and itself were open")
			}
			m.ended = true
		case err != nil:
			t.Fatal(err)
		case ok:
			n := frameOf(u)
			if n <= m.last {
				t.Fatalf("unit %d read after %d", n, m.last)
			}
			if m.needKey && !u.Key {
				t.Fatalf("unit %d is not a keyframe after a subscription or a gap", n)
			}
			m.last, m.needKey = n, false
		}
	}
	for i, op := range ops {
		k := int(op>>4) & 1
		switch op & 15 {
		case 0, 1: // publish
			if srcs[k] == nil {
				src, err := h.Publish(keys[k], params[k])
				if err != nil {
					t.Fatal(err)
				}
				srcs[k] = src
			} else if _, err := h.Publish(keys[k], params[k]); !errors.Is(err, ErrPublished) {
				t.Fatalf("second publish: %v", err)
			}
		case 2, 3, 4: // write: a keyframe every third op value, or as the byte says
			if srcs[k] == nil {
				continue
			}
			u := Unit{PTS: time.Duration(seq[k]) * frame, Key: op&15 == 3 || i%7 == 0, Frame: []byte{op}}
			seq[k]++
			if err := srcs[k].Write(u); err != nil {
				t.Fatal(err)
			}
			for _, m := range sinks {
				if m.key == keys[k] && !m.srcClosed {
					m.expect++
				}
			}
		case 5, 6: // subscribe
			s, err := h.Subscribe(keys[k], SinkOptions{Queue: queue})
			if srcs[k] == nil {
				if !errors.Is(err, ErrNotPublished) {
					t.Fatalf("subscribe to nothing: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Queued() > queue {
				t.Fatalf("%d units replayed into a queue of %d", s.Queued(), queue)
			}
			sinks = append(sinks, &sinkModel{s: s, key: keys[k], last: -1, needKey: keys[k].Track != Audio, expect: s.Queued()})
		case 7, 8, 9, 10: // read from a sink
			if len(sinks) > 0 {
				read(sinks[i%len(sinks)])
			}
		case 11: // a sink closes
			if len(sinks) > 0 {
				m := sinks[i%len(sinks)]
				m.s.Close()
				m.closed = true
			}
		case 12, 13: // the source leaves
			if srcs[k] != nil {
				srcs[k].Close()
				srcs[k] = nil
				for _, m := range sinks {
					if m.key == keys[k] {
						m.srcClosed = true
					}
				}
			}
		default: // read from every sink
			for _, m := range sinks {
				read(m)
			}
		}
		for _, m := range sinks {
			if q := m.s.Queued(); q > queue {
				t.Fatalf("a sink holds %d units, more than its %d", q, queue)
			}
		}
	}
	// Drain: every sink of a closed source ends; accounting holds for those that
	// were never closed themselves.
	for k := range srcs {
		if srcs[k] != nil {
			srcs[k].Close()
			for _, m := range sinks {
				if m.key == keys[k] {
					m.srcClosed = true
				}
			}
		}
	}
	for _, m := range sinks {
		for !m.ended {
			read(m)
		}
		if st := m.s.Stats(); !m.closed && st.Delivered+st.Skipped != m.expect {
			t.Fatalf("a sink read %d and skipped %d of %d units", st.Delivered, st.Skipped, m.expect)
		}
	}
}
