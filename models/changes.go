package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// Change is what a committed write changed, for the components that act on it: the
// callback dispatcher, the recorder and the job runner (Store.OnChange).
type Change uint8

const (
	ChangeCallbacks  Change = 1 << iota // callback events were written: the dispatcher has work
	ChangeRooms                         // a member entered, left, switched role or changed what it publishes or is blocked from
	ChangeRecordings                    // a recording task was created, modified, stopped or wrote a file
	ChangeJobs                          // a job was enqueued
	ChangeIngest                        // a stream ingest task was updated or ended
	ChangeRelay                         // a relay task was started, updated or stopped
)

// changeSet collects one transaction's changes; only the goroutine running it writes it.
type changeSet struct{ c Change }

type changeKey struct{}

// markChange notes in tx's transaction what it changes; the hooks hear of it after the
// commit (Store.write, the group writer).
func markChange(tx *gorm.DB, c Change) {
	if set, ok := tx.Statement.Context.Value(changeKey{}).(*changeSet); ok {
		set.c |= c
	}
}

// withChanges is ctx for a write transaction whose changes set collects.
func withChanges(ctx context.Context, set *changeSet) context.Context {
	return context.WithValue(statementContext(ctx), changeKey{}, set)
}

// changeHooks are the functions OnChange added.
type changeHooks struct {
	mu    sync.RWMutex
	hooks []func(Change)
}

// OnChange adds a hook called after each commit that changed something, with what it
// changed; never inside the transaction, so that whoever it wakes sees the change. A hook
// must return quickly (it runs on the committing goroutine): wake, do not work.
func (s *Store) OnChange(hook func(Change)) {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	s.changes.hooks = append(s.changes.hooks, hook)
}

// changed tells the hooks about a commit's changes.
func (s *Store) changed(c Change) {
	if c == 0 {
		return
	}
	s.changes.mu.RLock()
	defer s.changes.mu.RUnlock()
	for _, hook := range s.changes.hooks {
		hook(c)
	}
}

// write runs fn in a transaction on the writer and, once it committed, tells the hooks
// what fn marked (markChange): the one place that wakes the dispatcher and the jobs.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	set := &changeSet{}
	if err := s.db.WithContext(withChanges(ctx, set)).Transaction(fn); err != nil {
		return err
	}
	s.changed(set.c)
	return nil
}
