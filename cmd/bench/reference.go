package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/trtc-emulator/trtc-emulator/cam"
)

// referenceEnv makes this program serve a reference handler instead of measuring:
// "read" or "write". The address is printed as "ADDR host:port".
const referenceEnv = "TRTC_BENCH_REFERENCE"

// The reference servers' key (the emulator's default root key, so one signer serves all).
const (
	benchSecretId  = "AKIDtrtcEmulatorDefaultSecretId00000"
	benchSecretKey = "trtcEmulatorDefaultSecretKey0000"
	benchUin       = "100000000001"
	benchSdkAppId  = 1400000001
	// benchSdkSecretKey is the emulator's default UserSig key (cmd/trtc-emulator).
	benchSdkSecretKey = "ca83e59afa9f9111b5432673f1a1ccb47e26f649dfdaab8581db7a6702cf9f93"
)

// referenceRow is what the reference servers read and write: a row shaped like a room.
type referenceRow struct {
	ID            int64 `gorm:"primaryKey"`
	SdkAppId      uint64
	RoomId        string
	RoomIdType    int
	CreatorUserId string
	CreatedAtMs   int64
	DestroyedAtMs *int64
}

// serveReference runs a reference server until the process is killed. Both do what every
// API call must do (read the body, verify TC3 against an in-memory key, decode the JSON,
// answer an envelope with a RequestId) plus the one database operation of their kind, over
// SQLite opened as models.Open opens it (WAL; reads on a read-only pool, writes on one
// connection).
func serveReference(mode string, out io.Writer) error {
	dir, err := os.MkdirTemp("", "trtc-bench-ref-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ref.db")
	writer, err := gorm.Open(sqlite.Open("file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=on"),
		&gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return err
	}
	wdb, err := writer.DB()
	if err != nil {
		return err
	}
	wdb.SetMaxOpenConns(1)
	if err := writer.AutoMigrate(&referenceRow{}); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if err := writer.Create(&referenceRow{SdkAppId: benchSdkAppId, RoomId: fmt.Sprint("room-", i), CreatorUserId: "alice", CreatedAtMs: time.Now().UnixMilli()}).Error; err != nil {
			return err
		}
	}
	reader, err := gorm.Open(sqlite.Open("file:"+path+"?mode=ro&_query_only=1&_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return err
	}
	rdb, err := reader.DB()
	if err != nil {
		return err
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)

	key := cam.Key{SecretId: benchSecretId, SecretKey: benchSecretKey, Uin: benchUin}
	lookup := func(id string) (cam.Key, bool, error) { return key, id == key.SecretId, nil }
	var operation func(r *http.Request, params map[string]any) (map[string]any, error)
	switch mode {
	case "read":
		operation = func(r *http.Request, _ map[string]any) (map[string]any, error) {
			var row referenceRow
			if err := reader.WithContext(r.Context()).Where("id = ?", 42).Take(&row).Error; err != nil {
				return nil, err
			}
			return map[string]any{"RoomId": row.RoomId}, nil
		}
	case "write":
		operation = func(r *http.Request, params map[string]any) (map[string]any, error) {
			row := referenceRow{SdkAppId: benchSdkAppId, RoomId: "written", CreatorUserId: fmt.Sprint(params["UserId"]), CreatedAtMs: time.Now().UnixMilli()}
			err := writer.WithContext(r.Context()).Transaction(func(tx *gorm.DB) error { return tx.Create(&row).Error })
			if err != nil {
				return nil, err
			}
			return map[string]any{"Id": row.ID}, nil
		}
	default:
		return fmt.Errorf("%s=%q: want read or write", referenceEnv, mode)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/", func(c echo.Context) error {
		r := c.Request()
		requestId := uuid.NewString()
		fail := func(code string) error {
			return c.JSON(200, map[string]any{"Response": map[string]any{"Error": map[string]string{"Code": code, "Message": code}, "RequestId": requestId}})
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 10<<20))
		if err != nil {
			return fail("InvalidParameter")
		}
		signed := &cam.Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Header: r.Header, Body: body}
		if _, err := cam.VerifyTC3(signed, lookup, time.Now()); err != nil {
			return fail("AuthFailure.SignatureFailure")
		}
		var params map[string]any
		if err := json.Unmarshal(body, &params); err != nil {
			return fail("InvalidParameter")
		}
		resp, err := operation(r, params)
		if err != nil {
			return fail("InternalError")
		}
		resp["RequestId"] = requestId
		return c.JSON(200, map[string]any{"Response": resp})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ADDR %s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
