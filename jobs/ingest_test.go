package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/media/hub"
	"github.com/trtc-emulator/trtc-emulator/media/ingest"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// toneMedia is a file source of n audio units of 100 ms; each unit's Frame names its URL
// and index, so that a test sees what was played.
type toneMedia struct {
	url    string
	n, i   int
	volume chan int // each SetVolume
}

func (m *toneMedia) Video() *hub.Params { return nil }
func (m *toneMedia) Audio() *hub.Params {
	return &hub.Params{Codec: hub.AAC, AudioConfig: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2}
}
func (m *toneMedia) Live() bool { return false }
func (m *toneMedia) Next(context.Context) (ingest.Packet, error) {
	if m.i == m.n {
		return ingest.Packet{}, io.EOF
	}
	d := time.Duration(m.i) * 100 * time.Millisecond
	m.i++
	return ingest.Packet{Track: hub.Audio, Unit: hub.Unit{PTS: d, DTS: d, Key: true, Frame: fmt.Appendf(nil, "%s#%d", m.url, m.i-1)}}, nil
}
func (m *toneMedia) SetVolume(v int) bool {
	select {
	case m.volume <- v:
	default:
	}
	return true
}
func (m *toneMedia) Close() error { return nil }

// ingestRig runs an Ingester on a virtual clock, its sources toneMedia.
type ingestRig struct {
	store *models.Store
	clock *clock.Virtual
	hub   *hub.Hub
	g     *Ingester

	mu      sync.Mutex
	opens   []string // "url@seek"
	volume  chan int // what the sources' SetVolume was given
	failing map[string]bool
}

func newIngestRig(t *testing.T) *ingestRig {
	t.Helper()
	ctx := context.Background()
	v := clock.NewVirtual(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), 0)
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "e.db"), Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, models.Seed{Uin: recUin, SecretId: "AKID", SecretKey: "k", SdkAppId: recApp, SdkSecretKey: recKey,
		CallbackURL: "http://127.0.0.1:9/cb"}); err != nil {
		t.Fatal(err)
	}
	rig := &ingestRig{store: store, clock: v, hub: hub.New(), volume: make(chan int, 8), failing: map[string]bool{}}
	rig.g, err = NewIngester(IngesterConfig{Store: store, Hub: rig.hub, Clock: v,
		Open: func(_ context.Context, url string, opts ingest.Options) (ingest.Media, error) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.opens = append(rig.opens, fmt.Sprintf("%s@%v", url, opts.Seek))
			if rig.failing[url] {
				return nil, errors.New("connection refused")
			}
			return &toneMedia{url: url, n: 10, volume: rig.volume}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	v.OnSettle(rig.g.Settle)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rig.g.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return rig
}

func (r *ingestRig) start(t *testing.T, room string, repeat int) *models.IngestTask {
	t.Helper()
	sig, _ := usersig.Gen(usersig.Params{SdkAppId: recApp, Key: recKey, UserId: "puller", Expire: 48 * time.Hour, Now: r.clock.Now()})
	task, err := r.store.StartIngest(context.Background(), recUin, &models.IngestSpec{SdkAppId: recApp, RoomId: room,
		RoomIdType: models.RoomIdString, UserId: "puller", StreamUrl: "http://a/" + room, RepeatNum: repeat, Volume: 100}, sig, "")
	if err != nil {
		t.Fatal(err)
	}
	r.g.Wake()
	r.advance(t, 0)
	return task
}

// advance moves the clock; when it returns, the tasks have published what was due.
func (r *ingestRig) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := r.clock.Advance(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// read drains what the anchor's audio stream holds: each unit's "url#i@PTS".
func read(t *testing.T, s *hub.Sink) []string {
	t.Helper()
	var out []string
	for {
		u, ok, err := s.TryRead()
		if !ok || err != nil {
			return out
		}
		out = append(out, fmt.Sprintf("%s@%v", u.Frame, u.PTS))
	}
}

func (r *ingestRig) sink(t *testing.T, room string) *hub.Sink {
	t.Helper()
	s, err := r.hub.Subscribe(hub.Key{Room: HubRoom(recApp, models.RoomIdString, room), UserId: "puller", Track: hub.Audio},
		hub.SinkOptions{FromStart: true})
	if err != nil {
		t.Fatalf("the anchor's audio is not in the hub: %v", err)
	}
	return s
}

// TestIngestPlaysLoopsAndEnds: a 1 s source with RepeatNum 2 plays in clock time, twice,
// its units on one time line (the second play from 1 s on), and the task ends (702) when
// the second play ends; the anchor's stream then ends.
func TestIngestPlaysLoopsAndEnds(t *testing.T) {
	r := newIngestRig(t)
	task := r.start(t, "loop", 2)
	s := r.sink(t, "loop")
	r.advance(t, 450*time.Millisecond)
	if got := read(t, s); !slices.Equal(got, []string{"http://a/loop#0@0s", "http://a/loop#1@100ms", "http://a/loop#2@200ms",
		"http://a/loop#3@300ms", "http://a/loop#4@400ms"}) {
		t.Fatalf("after 450 ms: %v", got)
	}
	r.advance(t, time.Second)
	if got := read(t, s); len(got) != 10 || got[5] != "http://a/loop#0@1s" || got[9] != "http://a/loop#4@1.4s" {
		t.Fatalf("after 1.45 s, the second play: %v", got)
	}
	r.advance(t, time.Second)
	got := read(t, s)
	if len(got) != 5 || got[4] != "http://a/loop#9@1.9s" {
		t.Fatalf("the end of the second play: %v", got)
	}
	if _, _, err := s.TryRead(); !errors.Is(err, hub.ErrEnded) {
		t.Fatalf("the anchor's stream after the task ended: %v", err)
	}
	st, err := r.store.DescribeIngest(context.Background(), recUin, recApp, task.TaskId)
	if err != nil || st != models.IngestNotExist {
		t.Fatalf("the task after its plays: %s %v", st, err)
	}
	if !slices.Equal(r.opens, []string{"http://a/loop@0s", "http://a/loop@0s"}) {
		t.Fatalf("opens %v", r.opens)
	}
}

// TestIngestFollowsUpdates: a pause holds the media (the pause a gap on the time line),
// Volume reaches the source, a new StreamUrl is played from its start on the same time
// line, Stop ends the stream.
func TestIngestFollowsUpdates(t *testing.T) {
	r := newIngestRig(t)
	ctx := context.Background()
	task := r.start(t, "upd", -1)
	s := r.sink(t, "upd")
	r.advance(t, 250*time.Millisecond)
	if got := read(t, s); len(got) != 3 {
		t.Fatalf("before the pause: %v", got)
	}
	paused, vol := true, 40
	if _, err := r.store.UpdateIngest(ctx, recUin, recApp, task.TaskId, models.IngestChange{Paused: &paused, Volume: &vol}); err != nil {
		t.Fatal(err)
	}
	r.g.Wake()
	r.advance(t, 2*time.Second)
	if got := read(t, s); len(got) != 0 {
		t.Fatalf("units while paused: %v", got)
	}
	select {
	case v := <-r.volume:
		if v != 40 {
			t.Fatalf("the source's volume was set to %d, want 40", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the source was not given the new volume")
	}
	paused = false
	if _, err := r.store.UpdateIngest(ctx, recUin, recApp, task.TaskId, models.IngestChange{Paused: &paused}); err != nil {
		t.Fatal(err)
	}
	r.g.Wake()
	r.advance(t, 100*time.Millisecond)
	// #3 was due at 300 ms; 2 s of pause later it plays at 2.3 s.
	if got := read(t, s); !slices.Equal(got, []string{"http://a/upd#3@2.3s"}) {
		t.Fatalf("after the pause: %v", got)
	}
	url := "http://a/other"
	if _, err := r.store.UpdateIngest(ctx, recUin, recApp, task.TaskId, models.IngestChange{StreamUrl: &url}); err != nil {
		t.Fatal(err)
	}
	r.g.Wake()
	r.advance(t, 150*time.Millisecond)
	got := read(t, s)
	if len(got) < 2 || got[0] != "http://a/other#0@2.4s" || got[1] != "http://a/other#1@2.5s" {
		t.Fatalf("after the new URL: %v", got)
	}
	if err := r.store.StopIngest(ctx, recUin, recApp, task.TaskId); err != nil {
		t.Fatal(err)
	}
	r.g.Wake()
	r.advance(t, 100*time.Millisecond)
	read(t, s)
	if _, _, err := s.TryRead(); !errors.Is(err, hub.ErrEnded) {
		t.Fatalf("the anchor's stream after Stop: %v", err)
	}
}

// TestIngestRetriesThenFails: a source that never opens is tried at 0, 0, 1 and 3 s of
// the clock, then the task fails; nothing enters the room.
func TestIngestRetriesThenFails(t *testing.T) {
	r := newIngestRig(t)
	r.failing["http://a/gone"] = true
	task := r.start(t, "gone", 1)
	var at []time.Duration
	t0 := r.clock.Now()
	for range 8 {
		r.mu.Lock()
		n := len(r.opens)
		r.mu.Unlock()
		for len(at) < n {
			at = append(at, r.clock.Now().Sub(t0))
		}
		r.advance(t, 500*time.Millisecond)
	}
	if !slices.Equal(at, []time.Duration{0, 0, time.Second, 3 * time.Second}) {
		t.Fatalf("opens at %v, want 0, 0, 1 s, 3 s", at)
	}
	got, err := r.store.IngestByRef(context.Background(), task.ID)
	if err != nil || got.State != models.IngestEnded || got.MemberRef != nil {
		t.Fatalf("the failed task: %+v %v", got, err)
	}
}
