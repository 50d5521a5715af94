package storagetest

import (
	"context"
	"io"
	"sync"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// Op names a Store method for Faulty; Any is all of them.
type Op string

const (
	Any    Op = ""
	Put    Op = "Put"
	Get    Op = "Get"
	Head   Op = "Head"
	Delete Op = "Delete"
	List   Op = "List"
)

// ErrInjected is what Faulty fails with when given no error: the service unavailable.
var ErrInjected = &storage.Error{Code: storage.CodeServiceUnavailable, Message: "storagetest: injected failure"}

// Faulty wraps a Store and fails chosen calls before they reach it. Calls are counted
// from the Faulty's creation, per method and over all methods, starting at 1. It is safe
// for concurrent use.
type Faulty struct {
	Store storage.Store

	mu    sync.Mutex
	calls map[Op]int
	nth   []nthRule
	all   map[Op]error
}

type nthRule struct {
	op  Op
	n   int
	err error
}

var _ storage.Store = (*Faulty)(nil)

// NewFaulty wraps s; until told otherwise every call goes through.
func NewFaulty(s storage.Store) *Faulty {
	return &Faulty{Store: s, calls: map[Op]int{}, all: map[Op]error{}}
}

// FailNth makes the nth call of op (of any method when op is Any) fail with err
// (ErrInjected when nil).
func (f *Faulty) FailNth(op Op, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nth = append(f.nth, nthRule{op, n, orInjected(err)})
}

// FailAll makes every call of op (Any: every call) fail with err until Heal: the
// service is down.
func (f *Faulty) FailAll(op Op, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all[op] = orInjected(err)
}

// Heal removes every rule; counts go on.
func (f *Faulty) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nth = nil
	clear(f.all)
}

// Calls returns how many calls of op (Any: of all methods) were made, failed ones included.
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// call counts a call of op and returns the error it must fail with, if any.
func (f *Faulty) call(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	f.calls[Any]++
	for _, r := range f.nth {
		if (r.op == op && r.n == f.calls[op]) || (r.op == Any && r.n == f.calls[Any]) {
			return r.err
		}
	}
	if err := f.all[op]; err != nil {
		return err
	}
	return f.all[Any]
}

func (f *Faulty) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error {
	if err := f.call(Put); err != nil {
		return err
	}
	return f.Store.Put(ctx, bucket, key, r, size, contentType)
}

func (f *Faulty) Get(ctx context.Context, bucket, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := f.call(Get); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return f.Store.Get(ctx, bucket, key)
}

func (f *Faulty) Head(ctx context.Context, bucket, key string) (storage.ObjectInfo, error) {
	if err := f.call(Head); err != nil {
		return storage.ObjectInfo{}, err
	}
	return f.Store.Head(ctx, bucket, key)
}

func (f *Faulty) Delete(ctx context.Context, bucket, key string) error {
	if err := f.call(Delete); err != nil {
		return err
	}
	return f.Store.Delete(ctx, bucket, key)
}

func (f *Faulty) List(ctx context.Context, bucket, prefix, startAfter string, max int) ([]storage.ObjectInfo, bool, error) {
	if err := f.call(List); err != nil {
		return nil, false, err
	}
	return f.Store.List(ctx, bucket, prefix, startAfter, max)
}
