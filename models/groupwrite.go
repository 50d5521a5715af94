package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// groupWriter commits the writes of many goroutines together. When the writer connection
// is free it takes every write queued meanwhile (at most maxGroup) and runs them in one
// transaction, each under a savepoint of its own: one commit then writes the pages of the
// tables and indexes they share once, where each write alone would write them all again.
// A write's error or panic rolls back that write only; a failed commit fails them all.
// Each caller waits for the commit, so an answer never reports a write that is not durable.
type groupWriter struct {
	db *gorm.DB
	// changed is told, after the commit, what each write that committed changed.
	changed func(Change)
	ops     chan *groupOp
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	// largest is the most writes one transaction has held.
	largest atomic.Int64
}

type groupOp struct {
	fn      func(tx *gorm.DB) error
	ctx     context.Context // the caller's, collecting changes
	changes *changeSet
	err     chan error
}

func newGroupOp(ctx context.Context, fn func(tx *gorm.DB) error) *groupOp {
	set := &changeSet{}
	return &groupOp{fn: fn, ctx: withChanges(ctx, set), changes: set, err: make(chan error, 1)}
}

// maxGroup bounds the writes of one transaction (and so the wait of its first).
const maxGroup = 64

var errStoreClosed = errors.New("models: store closed")

func newGroupWriter(db *gorm.DB, changed func(Change)) *groupWriter {
	g := &groupWriter{db: db, changed: changed, ops: make(chan *groupOp), stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// write runs fn in a transaction shared with other writes and returns its error once the
// transaction has committed (or fn's own error, its writes rolled back). fn must have no
// effect outside tx: it may run in a transaction that another write's commit failure
// rolls back after fn returned nil.
func (g *groupWriter) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	op := newGroupOp(ctx, fn)
	select {
	case g.ops <- op:
	case <-g.stop:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Taken: the outcome is the transaction's, whatever ctx does now.
	return <-op.err
}

// close stops the writer after the writes it has taken.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.stop) })
	<-g.done
}

func (g *groupWriter) run() {
	defer close(g.done)
	for {
		var first *groupOp
		select {
		case first = <-g.ops:
		case <-g.stop:
			return
		}
		group := []*groupOp{first}
	more:
		for len(group) < maxGroup {
			select {
			case op := <-g.ops:
				group = append(group, op)
			default:
				break more
			}
		}
		if n := int64(len(group)); n > g.largest.Load() {
			g.largest.Store(n)
		}
		g.commit(group)
	}
}

// commit runs group in one transaction and tells each write its outcome.
func (g *groupWriter) commit(group []*groupOp) {
	errs := make([]error, len(group))
	err := g.db.Transaction(func(tx *gorm.DB) error {
		if len(group) == 1 { // alone: its error rolls the transaction back, no savepoint needed
			errs[0] = runContained(tx.WithContext(group[0].ctx), group[0].fn)
			return errs[0]
		}
		for i, op := range group {
			sp := "w" + strconv.Itoa(i)
			if err := tx.SavePoint(sp).Error; err != nil {
				return err
			}
			if errs[i] = runContained(tx.WithContext(op.ctx), op.fn); errs[i] != nil {
				if err := tx.RollbackTo(sp).Error; err != nil {
					return err
				}
			}
			if err := tx.Exec("RELEASE SAVEPOINT " + sp).Error; err != nil {
				return err
			}
		}
		return nil
	})
	// The hooks first: whoever a caller's next request needs (the dispatcher, the
	// recorder) is woken before the caller is answered.
	var changes Change
	for i, op := range group {
		if errs[i] == nil && err == nil {
			changes |= op.changes.c
		}
	}
	if g.changed != nil {
		g.changed(changes)
	}
	for i, op := range group {
		switch {
		case errs[i] != nil:
			op.err <- errs[i]
		default:
			op.err <- err // nil once committed
		}
	}
}

// runContained runs fn, turning a panic into an error.
func runContained(tx *gorm.DB, fn func(tx *gorm.DB) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("models: write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}
