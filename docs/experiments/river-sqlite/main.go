// Trying river v0.51.2 with riversqlite on mattn SQLite, the emulator's way: WAL, a
// stubbed clock, and the emulator's own writer busy at the same time.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

type RecArgs struct{ N int }

func (RecArgs) Kind() string { return "recording" }

type RecWorker struct {
	river.WorkerDefaults[RecArgs]
	done chan time.Time
}

func (w *RecWorker) Work(ctx context.Context, job *river.Job[RecArgs]) error {
	w.done <- time.Now()
	return nil
}

// stub is a stubbed clock: Now is what the test says.
type stub struct {
	mu sync.Mutex
	t  time.Time
}

func (s *stub) Now() time.Time          { s.mu.Lock(); defer s.mu.Unlock(); return s.t }
func (s *stub) NowOrNil() *time.Time    { t := s.Now(); return &t }
func (s *stub) advance(d time.Duration) { s.mu.Lock(); s.t = s.t.Add(d); s.mu.Unlock() }

func main() {
	dir, _ := os.MkdirTemp("", "rivertry")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "e.db")
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	must(err)
	db.SetMaxOpenConns(1) // the emulator's single writer
	ctx := context.Background()
	mig, err := rivermigrate.New(riversqlite.New(db), nil)
	must(err)
	_, err = mig.Migrate(ctx, rivermigrate.DirectionUp, nil)
	must(err)

	clk := &stub{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	w := &RecWorker{done: make(chan time.Time, 100)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers: workers,
		Test:    river.TestConfig{Time: clk},
	})
	must(err)
	must(client.Start(ctx))
	defer client.Stop(ctx)

	// 1. A job scheduled an hour ahead on the stubbed clock; the clock is advanced an hour.
	_, err = client.Insert(ctx, RecArgs{N: 1}, &river.InsertOpts{ScheduledAt: clk.Now().Add(time.Hour)})
	must(err)
	time.Sleep(300 * time.Millisecond)
	clk.advance(time.Hour)
	advanced := time.Now()
	select {
	case at := <-w.done:
		fmt.Printf("scheduled job: ran %v (wall) after the stubbed clock reached its time\n", at.Sub(advanced).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		fmt.Println("scheduled job: not run 10 s after the stubbed clock reached its time")
	}

	// 2. The emulator's writes on a second connection pool to the same file while river works.
	other, err := sql.Open("sqlite3", dsn)
	must(err)
	other.SetMaxOpenConns(1)
	_, err = other.Exec(`CREATE TABLE IF NOT EXISTS load (id INTEGER PRIMARY KEY, v TEXT)`)
	must(err)
	var writeErrs, insertErrs, writes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := other.Exec(`INSERT INTO load (v) VALUES ('x')`); err != nil {
					writeErrs.Add(1)
				}
				writes.Add(1)
			}
		})
	}
	start := time.Now()
	const jobs = 500
	for i := range jobs {
		if _, err := client.Insert(ctx, RecArgs{N: i}, nil); err != nil {
			insertErrs.Add(1)
		}
	}
	got := 0
	deadline := time.After(60 * time.Second)
loop:
	for got < jobs-int(insertErrs.Load()) {
		select {
		case <-w.done:
			got++
		case <-deadline:
			break loop
		}
	}
	close(stop)
	wg.Wait()
	fmt.Printf("under write load: %d jobs inserted (%d insert errors), %d worked in %v; %d other writes, %d errors\n",
		jobs-insertErrs.Load(), insertErrs.Load(), got, time.Since(start).Round(time.Millisecond), writes.Load(), writeErrs.Load())
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
