package models

import (
	"context"
	"database/sql"
	"errors"

	"gorm.io/gorm"
)

// Statements of a participant's entry, run on the writer inside its transaction without
// gorm's reflection and without preparing them again on every entry.
const (
	sqlOpenRoomFor = `SELECT r.id, r.sdk_app_id, r.room_id, r.room_id_type, r.creator_user_id, r.created_at_ms, r.destroyed_at_ms,
			COALESCE(m.id, 0), COALESCE(m.robot, 0)
		FROM rooms r LEFT JOIN members m ON m.room_ref = r.id AND m.user_id = ? AND m.left_at_ms IS NULL
		WHERE r.sdk_app_id = ? AND r.room_id_type = ? AND r.room_id = ? AND r.destroyed_at_ms IS NULL`
	sqlInsertRoom = `INSERT INTO rooms (sdk_app_id, room_id, room_id_type, creator_user_id, created_at_ms, destroyed_at_ms)
		VALUES (?, ?, ?, ?, ?, ?)`
	sqlInsertMember = `INSERT INTO members (room_ref, user_id, role, terminal_type, user_type, robot, pub_video, pub_audio,
			pub_substream, video_width, video_height, video_fps, blocked, joined_at_ms, left_at_ms, leave_reason, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertCallbackEvent = `INSERT INTO callback_events (sdk_app_id, event_group_id, event_type, lane, room_id, task_id, url, key,
			body, event_ms_ts, created_at_ms, state, attempts, first_attempt_at_ms, next_attempt_at_ms, finished_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// Statements recording the dispatcher's delivery attempts (RecordCallbackAttempts).
const (
	sqlAttemptRetry = `UPDATE callback_events SET attempts = attempts + 1,
		first_attempt_at_ms = COALESCE(first_attempt_at_ms, ?), state = ?, next_attempt_at_ms = ?
		WHERE id = ? AND state = 'pending'`
	sqlAttemptFinal = `UPDATE callback_events SET attempts = attempts + 1,
		first_attempt_at_ms = COALESCE(first_attempt_at_ms, ?), state = ?, finished_at_ms = ?
		WHERE id = ? AND state = 'pending'`
	sqlInsertAttempt = `INSERT INTO callback_attempts (event_id, at_ms, duration_ms, body, sign, status_code, error)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
)

// writeStmts are prepared on the writer pool when the store opens (preparing later, from
// outside a transaction, would wait for the one connection a transaction holds).
type writeStmts struct {
	openRoomFor, insertRoom, insertMember, insertCallbackEvent *sql.Stmt
	attemptRetry, attemptFinal, insertAttempt                  *sql.Stmt
}

func (w *writeStmts) all() []struct {
	st    **sql.Stmt
	query string
} {
	return []struct {
		st    **sql.Stmt
		query string
	}{
		{&w.openRoomFor, sqlOpenRoomFor}, {&w.insertRoom, sqlInsertRoom},
		{&w.insertMember, sqlInsertMember}, {&w.insertCallbackEvent, sqlInsertCallbackEvent},
		{&w.attemptRetry, sqlAttemptRetry}, {&w.attemptFinal, sqlAttemptFinal}, {&w.insertAttempt, sqlInsertAttempt},
	}
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range w.all() {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return errors.Join(err, w.close())
		}
		*p.st = st
	}
	return nil
}

func (w *writeStmts) close() error {
	var errs []error
	for _, p := range w.all() {
		if *p.st != nil {
			errs = append(errs, (*p.st).Close())
			*p.st = nil
		}
	}
	return errors.Join(errs...)
}

// inTx is st bound to tx's connection (the writer's one connection, where st is already
// prepared), or nil if tx is not a database/sql transaction or st is nil.
func inTx(tx *gorm.DB, st *sql.Stmt) *sql.Stmt {
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok || st == nil {
		return nil
	}
	return sqlTx.StmtContext(tx.Statement.Context, st)
}

// execIn runs query in tx: through the prepared st when it binds, else as plain SQL.
func execIn(tx *gorm.DB, st *sql.Stmt, query string, args ...any) (sql.Result, error) {
	if b := inTx(tx, st); b != nil {
		return b.ExecContext(tx.Statement.Context, args...)
	}
	return tx.Statement.ConnPool.ExecContext(tx.Statement.Context, query, args...)
}

// queryIn is execIn for a query returning rows.
func queryIn(tx *gorm.DB, st *sql.Stmt, query string, args ...any) (*sql.Rows, error) {
	if b := inTx(tx, st); b != nil {
		return b.QueryContext(tx.Statement.Context, args...)
	}
	return tx.Statement.ConnPool.QueryContext(tx.Statement.Context, query, args...)
}

// insertID runs an INSERT and returns the new row's id.
func insertID(tx *gorm.DB, st *sql.Stmt, query string, args ...any) (int64, error) {
	res, err := execIn(tx, st, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}
