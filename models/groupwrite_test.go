package models

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// TestGroupCommitIsolatesWrites: writes sharing one transaction keep their own outcome.
// An error or a panic rolls back that write's rows only; the others commit; a later write
// of the group sees an earlier one's rows (they run in order).
func TestGroupCommitIsolatesWrites(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "g.db"))
	t.Cleanup(func() { s.Close() })
	insert := func(name string) func(tx *gorm.DB) error {
		return func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO accounts (uin, created_at) VALUES (?, CURRENT_TIMESTAMP)`, name).Error
		}
	}
	failing := func(tx *gorm.DB) error {
		if err := insert("rolled-back")(tx); err != nil {
			return err
		}
		return errors.New("refused")
	}
	panicking := func(tx *gorm.DB) error {
		if err := insert("panicked")(tx); err != nil {
			return err
		}
		panic("boom")
	}
	var seen int64
	readsEarlier := func(tx *gorm.DB) error {
		return tx.Raw(`SELECT COUNT(*) FROM accounts WHERE uin = 'first'`).Scan(&seen).Error
	}
	fns := []func(*gorm.DB) error{insert("first"), failing, panicking, readsEarlier, insert("last")}
	group := make([]*groupOp, len(fns))
	for i, fn := range fns {
		group[i] = newGroupOp(context.Background(), fn)
	}
	s.group.commit(group)
	errs := make([]error, len(group))
	for i, op := range group {
		errs[i] = <-op.err
	}
	if errs[0] != nil || errs[3] != nil || errs[4] != nil {
		t.Fatalf("successful writes failed: %v", errs)
	}
	if errs[1] == nil || errs[1].Error() != "refused" {
		t.Errorf("failing write: %v", errs[1])
	}
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "panicked: boom") {
		t.Errorf("panicking write: %v", errs[2])
	}
	if seen != 1 {
		t.Errorf("a write saw %d rows of the earlier write of its group, want 1", seen)
	}
	var names []string
	if err := s.db.Raw(`SELECT uin FROM accounts WHERE uin IN ('first', 'rolled-back', 'panicked', 'last') ORDER BY uin`).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[first last]" {
		t.Fatalf("committed %v, want [first last]", names)
	}
}

// TestConcurrentEntriesShareCommits: 64 goroutines enter 20 rooms, each user twice. Every
// user is in the room once (the second entry is FailedOperation.UserExist, its writes
// rolled back alone), every entry has its own 103 and every room one 101, and entries
// did share transactions.
func TestConcurrentEntriesShareCommits(t *testing.T) {
	h := newHistoryStore(t)
	ctx := context.Background()
	if _, _, err := h.PutApp(ctx, testSeed.Uin, histApp, AppSettings{Callbacks: []AppCallback{
		{EventGroupId: EventGroupRoom, Url: "http://127.0.0.1:9/room", Key: "k"}}}); err != nil {
		t.Fatal(err)
	}
	const users, rooms, workers = 400, 20, 64
	sigs := make([]string, users)
	for u := range users {
		sigs[u] = h.sig(t, fmt.Sprint("user-", u))
	}
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		entered, existed int
		grouped          bool
	)
	work := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range work {
				u := i % users
				_, err := h.Enter(ctx, EnterParams{Identity: Identity{SdkAppId: histApp, RoomId: fmt.Sprint("r", u%rooms),
					RoomIdType: RoomIdString, UserId: fmt.Sprint("user-", u)}, UserSig: sigs[u]})
				mu.Lock()
				var te *tcerr.Error
				switch {
				case err == nil:
					entered++
				case errors.As(err, &te) && te.Code == CodeUserExist:
					existed++
				default:
					t.Errorf("entry %d: %v", i, err)
				}
				mu.Unlock()
			}
		})
	}
	for i := range 2 * users {
		work <- i
	}
	close(work)
	wg.Wait()
	grouped = h.group.largest.Load() > 1
	if entered != users || existed != users {
		t.Fatalf("%d entered, %d refused as present; want %d each", entered, existed, users)
	}
	var members, enters, creates int64
	h.db.Raw(`SELECT COUNT(*) FROM members WHERE left_at_ms IS NULL`).Scan(&members)
	h.db.Raw(`SELECT COUNT(*) FROM callback_events WHERE event_type = ?`, EventEnterRoom).Scan(&enters)
	h.db.Raw(`SELECT COUNT(*) FROM callback_events WHERE event_type = ?`, EventCreateRoom).Scan(&creates)
	if members != users || enters != users || creates != rooms {
		t.Fatalf("%d members, %d 103, %d 101; want %d, %d, %d", members, enters, creates, users, users, rooms)
	}
	if !grouped {
		t.Fatal("64 concurrent entries never shared a transaction")
	}
}
