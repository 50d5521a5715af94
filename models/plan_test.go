package models

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// queryPlan is SQLite's EXPLAIN QUERY PLAN of a statement, one detail per line.
func queryPlan(t *testing.T, s *Store, sql string, args ...any) string {
	t.Helper()
	// Through database/sql, as the store runs it (gorm would renumber ?NNN parameters).
	db, err := s.rdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func openPlanStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRoomWindowPlanIsBounded: DescribeRoomInfo's statements read the rooms by their end
// (open, or ended since the window's start), never scanning rooms that ended before it, and
// from the index alone; the open rooms come in the page's order, so only the ended ones are
// sorted.
func TestRoomWindowPlanIsBounded(t *testing.T) {
	s := openPlanStore(t)
	args := roomsWindowArgs(RoomQuery{SdkAppId: 1, StartTime: 1000, EndTime: 2000, PageSize: 10})
	t.Run("page", func(t *testing.T) {
		plan := queryPlan(t, s, roomsPageSQL, args...)
		checkRoomWindowPlan(t, plan, 6) // and its total's, in each arm
		if !strings.HasPrefix(plan, "MERGE (UNION ALL)") || strings.Count(plan, "USE TEMP B-TREE") != 1 {
			t.Errorf("want the open rooms merged unsorted with the sorted ended ones:\n%s", plan)
		}
	})
	t.Run("count", func(t *testing.T) { checkRoomWindowPlan(t, queryPlan(t, s, roomsCountSQL, args[:4]...), 2) })
}

func checkRoomWindowPlan(t *testing.T, plan string, arms int) {
	t.Logf("plan:\n%s", plan)
	for _, line := range strings.Split(plan, "\n") {
		if strings.HasPrefix(line, "SCAN rooms") {
			t.Errorf("a full scan of rooms: %s", line)
		}
		if strings.Contains(line, " rooms ") && !strings.Contains(line, "USING COVERING INDEX rooms_by_end (sdk_app_id=? AND destroyed_at_ms") {
			t.Errorf("rooms read without a bound on their end, or not from the index alone: %s", line)
		}
	}
	if n := strings.Count(plan, "rooms_by_end"); n != arms {
		t.Errorf("%d arms on rooms_by_end, want %d:\n%s", n, arms, plan)
	}
}

// TestAppCacheFollowsChanges: App is cached, and a change of the application is seen by the
// next read (an entry writes its callbacks to the new URL).
func TestAppCacheFollowsChanges(t *testing.T) {
	s := openPlanStore(t)
	ctx := context.Background()
	if err := s.Seed(ctx, Seed{Uin: "1", SecretId: "AKIDx", SecretKey: "k", SdkAppId: 1400000010, SdkSecretKey: "0123456789abcdef0123"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutApp(ctx, "1", 1400000009, AppSettings{Callbacks: []AppCallback{{EventGroupId: 1, Url: "http://127.0.0.1:1/a"}}}); err != nil {
		t.Fatal(err)
	}
	a, err := s.App(ctx, 1400000009)
	if err != nil || a.Callbacks[0].Url != "http://127.0.0.1:1/a" {
		t.Fatal(a, err)
	}
	a.Callbacks[0].Url = "mutated by a caller"
	if b, _ := s.App(ctx, 1400000009); b.Callbacks[0].Url != "http://127.0.0.1:1/a" {
		t.Fatalf("the cached copy changed with the caller's: %q", b.Callbacks[0].Url)
	}
	if _, _, err := s.PutApp(ctx, "1", 1400000009, AppSettings{Callbacks: []AppCallback{{EventGroupId: 1, Url: "http://127.0.0.1:1/b"}}}); err != nil {
		t.Fatal(err)
	}
	if b, err := s.App(ctx, 1400000009); err != nil || b.Callbacks[0].Url != "http://127.0.0.1:1/b" {
		t.Fatalf("after PutApp: %+v %v", b, err)
	}
	if err := s.checkOwner(ctx, "1", 1400000009); err != nil {
		t.Fatal(err)
	}
	if err := s.checkOwner(ctx, "2", 1400000009); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("another account's app: %v", err)
	}
	if err := s.checkOwner(ctx, "1", 1400000099); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown app: %v", err)
	}
}

// TestMemberWindowPlanIsBounded: DescribeUserInfo and DescribeCallDetailInfo read the
// presences of a call by their end, not every presence that entered before the window.
func TestMemberWindowPlanIsBounded(t *testing.T) {
	s := openPlanStore(t)
	plan := queryPlan(t, s, "SELECT * FROM members WHERE id IN ("+membersInWindow+")", 1, 2, 1, 1, 2)
	t.Logf("plan:\n%s", plan)
	if strings.Contains(plan, "SCAN members") || strings.Contains(plan, "members_by_room") || strings.Count(plan, "members_by_end (room_ref=? AND left_at_ms") != 2 {
		t.Errorf("members read without a bound on their end:\n%s", plan)
	}
}
