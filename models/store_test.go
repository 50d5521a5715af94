package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

func openTestStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Database: "sqlite://" + path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testSeed = Seed{Uin: "100000000001", SecretId: "AKIDa", SecretKey: "keyA", SdkAppId: 1400000001,
	SdkSecretKey: "sdk-secret-key-0123456789", CallbackURL: "http://127.0.0.1:9/cb", CallbackKey: "k1"}

func TestMigrationsAndSeedSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	s := openTestStore(t, path)
	if err := s.Seed(ctx, testSeed); err != nil {
		t.Fatal(err)
	}
	names, err := s.AppliedMigrations(ctx)
	if err != nil || len(names) == 0 || names[0] != "0001_accounts_apps_rooms.sql" {
		t.Fatalf("applied = %v, %v", names, err)
	}
	var tables []string
	s.db.Raw(`SELECT name FROM sqlite_master WHERE type IN ('table','index') ORDER BY name`).Scan(&tables)
	for _, want := range []string{"accounts", "api_keys", "apps", "app_callbacks", "rooms", "rooms_open", "rooms_by_time"} {
		if !slices.Contains(tables, want) {
			t.Fatalf("migrations did not create %s (have %v)", want, tables)
		}
	}
	all, _ := loadMigrations()
	if len(names) != len(all) {
		t.Fatalf("applied %d of %d migrations", len(names), len(all))
	}
	app, err := s.App(ctx, 1400000001)
	if err != nil || len(app.Callbacks) != 5 || app.Callbacks[0].Key != "k1" {
		t.Fatalf("seeded app = %+v, %v", app, err)
	}
	if _, _, err := s.PutApp(ctx, "100000000001", 1400000001, AppSettings{Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenRoom(ctx, 1400000001, "r1", RoomIdString, "alice"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A second start with other configured values keeps the stored state.
	s = openTestStore(t, path)
	defer s.Close()
	other := testSeed
	other.SecretKey, other.SdkSecretKey, other.CallbackURL = "keyB", "another-sdk-secret-key-0000", ""
	if err := s.Seed(ctx, other); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.AppliedMigrations(ctx); len(again) != len(names) {
		t.Fatalf("migrations re-applied: %v", again)
	}
	key, ok, err := s.APIKey(ctx, "AKIDa")
	if !ok || err != nil || key.SecretKey != "keyA" {
		t.Fatalf("key after restart = %+v %v %v", key, ok, err)
	}
	app, err = s.App(ctx, 1400000001)
	if err != nil || app.Name != "renamed" || app.SdkSecretKey != testSeed.SdkSecretKey || len(app.Callbacks) != 5 {
		t.Fatalf("app after restart = %+v, %v", app, err)
	}
	total, rooms, err := s.Rooms(ctx, RoomQuery{Uin: "100000000001", SdkAppId: 1400000001,
		StartTime: time.Now().Add(-time.Hour).Unix(), EndTime: time.Now().Unix() + 1, PageSize: 10})
	if err != nil || total != 1 || rooms[0].RoomId != "r1" {
		t.Fatalf("rooms after restart = %d %+v %v", total, rooms, err)
	}
}

func TestRoomIdRules(t *testing.T) {
	cases := []struct {
		id   string
		kind int
		ok   bool
		want string
	}{
		{"1234", RoomIdInt, true, "1234"},
		{"0001234", RoomIdInt, true, "1234"},
		{"0", RoomIdInt, false, ""},
		{"4294967294", RoomIdInt, true, "4294967294"},
		{"4294967295", RoomIdInt, false, ""},
		{"-1", RoomIdInt, false, ""},
		{"abc", RoomIdInt, false, ""},
		{"room_1-a", RoomIdString, true, "room_1-a"},
		{"1234", RoomIdString, true, "1234"},
		{"", RoomIdString, false, ""},
		{strings.Repeat("a", 64), RoomIdString, true, strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), RoomIdString, false, ""},
		{"a/b", RoomIdString, false, ""},
		{"a\x00b", RoomIdString, false, ""},
		{"x", 7, false, ""},
	}
	for _, c := range cases {
		got, err := ValidateRoomId("RoomId", c.id, c.kind)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ValidateRoomId(%q, %d) = %q, %v", c.id, c.kind, got, err)
		}
	}
}

func TestOpenRoomsAreUniquePerNamespace(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, filepath.Join(t.TempDir(), "e.db"))
	defer s.Close()
	if err := s.Seed(ctx, testSeed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenRoom(ctx, 1400000001, "7", RoomIdInt, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenRoom(ctx, 1400000001, "7", RoomIdString, "a"); err != nil {
		t.Fatalf("string room 7 beside integer room 7: %v", err)
	}
	if _, err := s.OpenRoom(ctx, 1400000001, "7", RoomIdInt, "b"); err == nil {
		t.Fatal("a second open lifetime of integer room 7 was allowed")
	}
	if err := s.DismissRoom(ctx, "100000000001", 1400000001, "7", RoomIdInt); err != nil {
		t.Fatal(err)
	}
	if err := s.DismissRoom(ctx, "100000000001", 1400000001, "7", RoomIdInt); !tcerr.Is(err, tcerr.CodeRoomNotExist) {
		t.Fatalf("second dismissal: %v", err)
	}
	if _, err := s.OpenRoom(ctx, 1400000001, "7", RoomIdInt, "b"); err != nil {
		t.Fatalf("reopening a dismissed room: %v", err)
	}
	if err := s.DismissRoom(ctx, "999", 1400000001, "7", RoomIdInt); !tcerr.Is(err, tcerr.CodeUnauthorizedSdkAppId) {
		t.Fatalf("another account's app: %v", err)
	}
}

func TestReaderPoolSeesCommitsAndCannotWrite(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "e.db"))
	ctx := context.Background()
	if err := s.db.Exec(`CREATE TABLE probe (v INTEGER)`).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.db.Exec(`INSERT INTO probe (v) VALUES (42)`).Error; err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.reader(ctx).Raw(`SELECT v FROM probe`).Scan(&v).Error; err != nil || v != 42 {
		t.Fatalf("reader sees %d, %v; want the committed 42", v, err)
	}
	if err := s.reader(ctx).Exec(`INSERT INTO probe (v) VALUES (1)`).Error; err == nil {
		t.Fatal("a write through the read-only pool succeeded")
	}
	// A reader inside a long read does not block the writer (WAL).
	tx := s.rdb.Begin()
	if err := tx.Raw(`SELECT v FROM probe`).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.db.Exec(`INSERT INTO probe (v) VALUES (43)`).Error; err != nil {
		t.Fatalf("writer blocked by an open reader: %v", err)
	}
	tx.Rollback()
}

// TestMigrationMovesRecordingLeasesToJobs: 0014 gives each unfinished task of an older
// database its job, holding the lease the task held, so that a task whose recorder died
// before the upgrade is taken over (306) and a free one is simply run; an ended task gets
// none.
func TestMigrationMovesRecordingLeasesToJobs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DATETIME NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.version < 14 {
			if err := applyMigration(ctx, db, m, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	nowMs := time.Now().UnixMilli()
	for _, row := range []struct {
		taskId, state, owner string
		until                int64
	}{{"ended", "ended", "", 0}, {"dead", "recording", "deadbeef", nowMs - 1000}, {"free", "exiting", "", 0}} {
		if _, err := db.Exec(`INSERT INTO recording_tasks (task_id, sdk_app_id, room_id, room_id_type, robot_user_id, spec,
			state, created_at_ms, expires_at_ms, lease_owner, lease_until_ms) VALUES (?, 1400000001, 'r', 0, 'rec', '{}', ?, ?, ?, ?, ?)`,
			row.taskId, row.state, nowMs, nowMs+3600_000, row.owner, row.until); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openTestStore(t, path)
	defer s.Close()
	claimed, err := s.ClaimJobs(ctx, "upgraded", []string{JobRecording}, time.Now(), time.Now().Add(5*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ClaimedJob{}
	for _, j := range claimed {
		var args RecordingJobArgs
		if err := json.Unmarshal(j.Args, &args); err != nil {
			t.Fatal(err)
		}
		task, err := s.RecordingByRef(ctx, args.TaskRef)
		if err != nil {
			t.Fatal(err)
		}
		if task.JobRef == nil || *task.JobRef != j.ID || j.MaxAttempts != RecordingJobAttempts {
			t.Errorf("task %s: job_ref %v, job %+v", task.TaskId, task.JobRef, j.Job)
		}
		got[task.TaskId] = j
	}
	if len(got) != 2 || !got["dead"].TakenOver || got["dead"].Takeovers != 1 || got["free"].TakenOver || got["free"].Attempts != 1 {
		t.Fatalf("claimed after the upgrade: %+v, want the dead recorder's task taken over and the free one run", got)
	}
	if ended, err := s.Recording(ctx, "ended"); err != nil || ended.JobRef != nil {
		t.Fatalf("the ended task: %+v, %v: want no job", ended, err)
	}
}
