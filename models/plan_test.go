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
	var rows []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := s.reader(context.Background()).Raw("EXPLAIN QUERY PLAN "+sql, args...).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, r.Detail)
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

// TestRoomWindowPlanIsBounded: DescribeRoomInfo's statement reads the rooms by their end
// (open, or ended since the window's start), never scanning rooms that ended before it.
func TestRoomWindowPlanIsBounded(t *testing.T) {
	s := openPlanStore(t)
	plan := queryPlan(t, s, roomsInWindowSQL, roomsWindowArgs(RoomQuery{SdkAppId: 1, StartTime: 1000, EndTime: 2000, PageSize: 10}))
	t.Logf("plan:\n%s", plan)
	for _, line := range strings.Split(plan, "\n") {
		if strings.HasPrefix(line, "SCAN rooms") {
			t.Errorf("a full scan of rooms: %s", line)
		}
		if strings.Contains(line, " rooms ") && !strings.Contains(line, "USING INDEX rooms_by_end (sdk_app_id=? AND destroyed_at_ms") {
			t.Errorf("rooms read without a bound on their end: %s", line)
		}
	}
	if strings.Count(plan, "rooms_by_end") != 2 {
		t.Errorf("want both arms on rooms_by_end:\n%s", plan)
	}
}
