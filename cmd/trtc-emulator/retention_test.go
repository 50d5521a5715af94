package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/models"
)

func TestHistoryRetentionSetting(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		env  map[string]string
		args []string
		want time.Duration
	}{
		{nil, nil, 30 * 24 * time.Hour},
		{map[string]string{"TRTC_EMULATOR_HISTORY_RETENTION": "7"}, nil, 7 * 24 * time.Hour},
		{map[string]string{"TRTC_EMULATOR_HISTORY_RETENTION": "7"}, []string{"-history-retention", "0"}, 0},
	} {
		cfg, err := parseConfig(c.args, env(c.env))
		if err != nil || cfg.HistoryRetention != c.want {
			t.Errorf("%v %v: %v %v, want %v", c.env, c.args, cfg, err, c.want)
		}
	}
	for _, bad := range []string{"-1", "30d", "x"} {
		for _, flag := range []string{"-history-retention", "-callback-log-retention", "-multipart-retention"} {
			if _, err := parseConfig([]string{flag, bad}, env(nil)); err == nil {
				t.Errorf("%s %q accepted", flag, bad)
			}
		}
	}
	cfg, err := parseConfig(nil, env(nil))
	if err != nil || cfg.CallbackLogRetention != 7*24*time.Hour || cfg.MultipartRetention != 24*time.Hour {
		t.Fatalf("defaults: %+v %v, want a 7-day callback log and 1-day multipart uploads", cfg, err)
	}
	cfg, err = parseConfig([]string{"-multipart-retention", "0"}, env(map[string]string{"TRTC_EMULATOR_CALLBACK_LOG_RETENTION": "2"}))
	if err != nil || cfg.CallbackLogRetention != 2*24*time.Hour || cfg.MultipartRetention != 0 {
		t.Fatalf("set: %+v %v", cfg, err)
	}
}

// TestHistorySweptAtStart: a room closed 40 days ago is gone shortly after the emulator
// starts with the default retention; one closed 10 days ago stays.
func TestHistorySweptAtStart(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "emulator.db")
	ctx := context.Background()
	clk := clock.NewFake(time.Now().Add(-40 * 24 * time.Hour))
	store, err := models.Open(ctx, models.Options{Database: "sqlite://" + db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Seed(ctx, models.Seed{Uin: defaultUin, SecretId: defaultSecretId, SecretKey: defaultSecretKey,
		SdkAppId: defaultSdkAppId, SdkSecretKey: defaultSdkSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	visit := func(room string) {
		t.Helper()
		id := models.Identity{SdkAppId: defaultSdkAppId, RoomId: room, RoomIdType: models.RoomIdString, UserId: "alice"}
		sig, err := usersig.Gen(usersig.Params{SdkAppId: defaultSdkAppId, Key: defaultSdkSecretKey, UserId: "alice", Expire: time.Hour, Now: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Enter(ctx, models.EnterParams{Identity: id, UserSig: sig}); err != nil {
			t.Fatal(err)
		}
		if err := store.Leave(ctx, id, models.ExitVoluntary); err != nil {
			t.Fatal(err)
		}
	}
	visit("forty-days-ago")
	clk.Set(time.Now().Add(-10 * 24 * time.Hour))
	visit("ten-days-ago")
	store.Close()

	start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + dir})
	peek, err := gorm.Open(sqlite.Open("file:"+db+"?mode=ro&_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := peek.DB(); err == nil {
		defer sqlDB.Close()
	}
	var rooms []string
	waitFor(t, "the start's sweep", 20*time.Second, func() bool {
		rooms = nil
		if err := peek.Table("rooms").Order("room_id").Pluck("room_id", &rooms).Error; err != nil {
			t.Fatal(err)
		}
		return len(rooms) == 1
	})
	if rooms[0] != "ten-days-ago" {
		t.Fatalf("rooms after the start's sweep: %v", rooms)
	}
}
