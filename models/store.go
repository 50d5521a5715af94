// Package models owns the emulator's state and the rules that guard it: accounts and API
// keys, applications, rooms (and later members, tasks, files and the callback outbox).
// Every operation that changes state is one transaction. It returns *tcerr.Error values
// for rule violations and knows nothing of HTTP.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/trtc-emulator/trtc-emulator/internal/clock"
	"github.com/trtc-emulator/trtc-emulator/migrations"
)

// Store is the emulator's database.
type Store struct {
	db *gorm.DB // the one writer connection: every transaction and every write
	// rdb is a pool of read-only connections: in WAL mode readers see the last commit and
	// never wait for the writer, so reads that need no transaction (API lookups, the
	// callback dispatcher's queue) do not queue behind write bursts.
	rdb *gorm.DB
	now func() time.Time
	log *slog.Logger
	// keys caches API keys by SecretId: every signed call looks one up, and keys change
	// only through Store methods, which clear the cache.
	keys sync.Map
	// attached caches AttachedPolicies (every sub-user call reads them): entries are valid
	// while camGen, raised after each change of users, policies or attachments, is theirs.
	attached sync.Map
	camGen   atomic.Uint64
	// owners caches the owning account of each application (SdkAppId → uin): every TRTC
	// action checks it, and an application never changes owner nor goes away.
	owners sync.Map
	// apps caches App; appGen is raised after every change of an application.
	apps   sync.Map
	appGen atomic.Uint64
	// readStmts are statements of the hottest reads prepared on the read pool (by SQL text),
	// scanned without gorm's reflection.
	readStmts sync.Map
	// appsMu orders changes of applications (Lock) against the operations that use a cached
	// application's callback targets inside their transaction (RLock).
	appsMu sync.RWMutex
	// writeStmts are an entry's statements prepared once on the writer connection.
	writeStmts writeStmts
	// group commits concurrent writes of the hottest kind (entries) together.
	group *groupWriter
	// changes are the hooks told after each commit what it changed (OnChange).
	changes changeHooks
}

// Options configure Open.
type Options struct {
	// Database is "sqlite://<path>" (the only kind so far).
	Database string
	Clock    clock.Clock // the emulator's time; clock.System when nil
	Logger   *slog.Logger
}

// Open opens the database, applies pending migrations and returns the store.
// SQLite runs in WAL mode with one connection: measured here, a pool of writers was 2x
// slower and read-then-write transactions failed with "database is locked".
func Open(ctx context.Context, opts Options) (*Store, error) {
	path, err := sqlitePath(opts.Database)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.System
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=on"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// No PrepareStmt: gorm's statement cache deadlocks with one connection when a query
		// outside a transaction and the same one inside a transaction are first prepared at
		// once (go-gorm/gorm#7465; TestNoDeadlockBetweenTransactionsAndQueries). It saved
		// sqlite3_prepare's 13% of CPU on the API path.
		NowFunc: func() time.Time { return clk.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	s := &Store{db: db, now: clk.Now, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if err := s.writeStmts.prepare(ctx, sqlDB); err != nil {
		sqlDB.Close()
		return nil, err
	}
	// Opened after the migrations, so that the readers see the schema.
	// The readers keep their prepared statements (PrepareStmt): they never run a
	// transaction, so the deadlock that rules it out on the writer cannot happen here, and
	// preparing was 17% of DescribeRoomInfo's CPU. _mutex=no: database/sql hands a
	// connection to one goroutine at a time, so SQLite's own per-call lock is not needed
	// (7% of DescribeRoomInfo's store CPU).
	rdb, err := gorm.Open(sqlite.Open("file:"+path+"?mode=ro&_query_only=1&_busy_timeout=5000&_mutex=no"), &gorm.Config{
		Logger: logger.Discard, SkipDefaultTransaction: true, PrepareStmt: true, PrepareStmtMaxSize: 512,
		NowFunc: func() time.Time { return clk.Now().UTC() },
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	readers, err := rdb.DB()
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	readers.SetMaxOpenConns(readConns)
	readers.SetMaxIdleConns(readConns)
	s.rdb = rdb
	s.group = newGroupWriter(db, s.changed)
	return s, nil
}

// readConns is the size of the read-only pool: one per core is enough to keep reads off the
// writer; more only adds SQLite page caches.
const readConns = 4

// reader is the read-only pool, for reads outside transactions.
func (s *Store) reader(ctx context.Context) *gorm.DB { return s.rdb.WithContext(statementContext(ctx)) }

// writer is the writer connection for ctx's work.
func (s *Store) writer(ctx context.Context) *gorm.DB { return s.db.WithContext(statementContext(ctx)) }

// statementContext is ctx without its cancellation. Under a cancellable context the SQLite
// driver runs every statement and every row step on a goroutine of its own so that it can
// interrupt it, and database/sql watches each transaction with another: more work than our
// statements, all short and bounded, take. They run to their end instead.
func statementContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// readStmt is a statement prepared once on the read pool (database/sql prepares it again on
// each connection as needed).
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	pool, err := s.rdb.DB()
	if err != nil {
		return nil, err
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	s.group.close()
	s.readStmts.Range(func(_, st any) bool { errs = append(errs, st.(*sql.Stmt).Close()); return true })
	errs = append(errs, s.writeStmts.close())
	for _, db := range []*gorm.DB{s.rdb, s.db} {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func sqlitePath(database string) (string, error) {
	u, err := url.Parse(database)
	if err != nil || u.Scheme != "sqlite" {
		return "", fmt.Errorf("database %q: want sqlite://<path>", database)
	}
	path := u.Host + u.Path
	if u.Opaque != "" {
		path = u.Opaque
	}
	if path == "" {
		return "", fmt.Errorf("database %q has no path", database)
	}
	return path, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range entries {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// migrate applies each migration not yet recorded in schema_migrations, one transaction
// each. It runs on database/sql directly: with gorm's PrepareStmt a multi-statement script
// would be prepared, and SQLite compiles only the first statement of it.
func (s *Store) migrate(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DATETIME NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := sqlDB.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range all {
		if done[m.version] {
			continue
		}
		if err := applyMigration(ctx, sqlDB, m, s.now().UTC()); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		s.log.Info("applied migration", "name", m.name)
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.version, m.name, now); err != nil {
		return err
	}
	return tx.Commit()
}

// AppliedMigrations lists the recorded migration names in order.
func (s *Store) AppliedMigrations(ctx context.Context) ([]string, error) {
	var names []string
	err := s.writer(ctx).Raw(`SELECT name FROM schema_migrations ORDER BY version`).Scan(&names).Error
	return names, err
}

func isNotFound(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows)
}
