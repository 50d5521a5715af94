package models

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestNoDeadlockBetweenTransactionsAndQueries: with one SQLite connection, queries outside
// a transaction and the same queries inside transactions run side by side. gorm's prepared
// statement cache deadlocks exactly there (go-gorm/gorm#7465: a prepare waits for the only
// connection while its holder waits for that prepare), which hung the emulator under 16
// recordings; the store must not use it. A hang is reported after a minute.
func TestNoDeadlockBetweenTransactionsAndQueries(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	h.enter(t, "77", "alice")
	var tasks []*RecordingTask
	for i := 0; i < 4; i++ {
		task, err := h.record(t, "77", "rec"+string(rune('a'+i)), 3600)
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for _, task := range tasks {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					if _, err := h.DescribeRecording(ctx, histUin, histApp, task.TaskId); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					if _, err := h.RecordingTick(ctx, task.ID); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("deadlock: queries and transactions on the one connection stopped making progress")
	}
}
