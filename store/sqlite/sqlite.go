// Package sqlite is the embedded store.Store driver, built on the pure-Go
// modernc.org/sqlite (no cgo).
//
// The database runs in WAL mode with one writer connection (every write goes
// through it, in one transaction per call) and a separate pool of read-only
// connections, so readers never wait for the writer; bulk activity inserts
// also checkpoint the write-ahead log on a connection of their own, off the
// write path. Times are stored as INTEGER unix microseconds in UTC, money as
// INTEGER cents and maps as JSON text. Activity totals are kept in counter tables maintained in the same
// transaction as every insert and delete, so the first page of a listing
// answers with its exact total without counting the whole table.
//
// SQLite has no time zones: local-day and local-month buckets are computed
// by splitting the queried range into the UTC-offset intervals of the
// Location (its zone transitions) and shifting each timestamp by the offset
// of its interval in SQL.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Option defaults.
const (
	// ReadersDefault is the default size of the read-only connection pool.
	ReadersDefault = 4
	// BusyTimeoutDefault is the default time a connection waits for a lock
	// held by another connection or process before failing.
	BusyTimeoutDefault = 5 * time.Second
	// CacheSizeDefault is the default page cache of the writer connection,
	// in KiB.
	CacheSizeDefault = 8 << 10
	// ReaderCacheSizeDefault is the default page cache of each read-only
	// connection, in KiB. SQLite empties a connection's cache whenever
	// another connection has written since its last read, so reader caches
	// mostly serve one read at a time; the operating system's file cache
	// keeps the database warm between them.
	ReaderCacheSizeDefault = 2 << 10
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Readers is the maximum number of read-only connections of the reader
	// pool (Ping has one more of its own). ActivityIterate's page loads
	// (exports) hold at most half of them at once, so other reads always
	// find one. Defaults to ReadersDefault.
	Readers int
	// BusyTimeout is how long a statement waits for a database lock.
	// Defaults to BusyTimeoutDefault.
	BusyTimeout time.Duration
	// CacheSize is the page cache of the writer connection in KiB (SQLite
	// allocates it as pages are read, up to this size). Defaults to
	// CacheSizeDefault.
	CacheSize int
	// ReaderCacheSize is the page cache of each read-only connection in
	// KiB. Defaults to ReaderCacheSizeDefault.
	ReaderCacheSize int
	// SkipMigrate leaves the schema as it is on Open; call Migrate
	// explicitly. Defaults to false (pending migrations are applied).
	SkipMigrate bool
	// Logger receives migration messages. Defaults to slog.Default().
	Logger *slog.Logger
	// NowFunc returns the current time, used for zero timestamps. Defaults
	// to time.Now.
	NowFunc func() time.Time
	// Location is the reporting time zone of the per-day report counters:
	// ReportDailyCounts and ReportMetrics in this zone, on local-midnight
	// bounds, read them instead of the reports. Open refills the counters
	// when the zone changes. Every process sharing the file must use the
	// same. Defaults to UTC.
	Location *time.Location
}

func (o *Config) validate() error {
	if o.Readers < 0 {
		return storedriver.Invalid("readers", "must not be negative")
	}
	if o.BusyTimeout < 0 {
		return storedriver.Invalid("busy_timeout", "must not be negative")
	}
	if o.CacheSize < 0 {
		return storedriver.Invalid("cache_size", "must not be negative")
	}
	if o.ReaderCacheSize < 0 {
		return storedriver.Invalid("reader_cache_size", "must not be negative")
	}
	o.CacheSize = cmp.Or(o.CacheSize, CacheSizeDefault)
	o.ReaderCacheSize = cmp.Or(o.ReaderCacheSize, ReaderCacheSizeDefault)
	o.Readers = cmp.Or(o.Readers, ReadersDefault)
	o.BusyTimeout = cmp.Or(o.BusyTimeout, BusyTimeoutDefault)
	sqlexec.Defaults(&o.Logger, &o.NowFunc, &o.Location)
	return nil
}

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
//
// Its store.RollupStore methods (MetricsSnapshotUpsert … WeeklyReportList)
// come from code it shares with the PostgreSQL driver, over this driver's
// SQL; they are not listed here but behave as the interface documents.
type Store struct {
	path   string
	opts   Config
	writer *sql.DB // one connection: every write is serialised here
	reader *sql.DB // read-only pool
	health *sql.DB // one read-only connection of its own for Ping
	// iter bounds the reader connections that ActivityIterate's page
	// loads hold at once, so many exports never starve other reads.
	iter sqlexec.Slots

	insertMu sync.Mutex
	stmts    *writeStmts // prepared on first ActivityInsertMany

	// Checkpoints started by ActivityInsertMany run on their own
	// connection, off the write path.
	ckpt        *sql.DB
	ckptMu      sync.Mutex
	ckptPending int  // activities inserted since the last checkpoint started
	ckptRunning bool // a checkpoint goroutine is running
	ckptClosed  bool // Close has begun: start no more checkpoints
	ckptDone    sync.WaitGroup

	*rollups // the store.RollupStore methods, over rollupSQL

	users userCache     // the user ids and names of the summaries by user
	reads sqlexec.Stmts // the read transactions' statements, prepared

	closed    atomic.Bool // Close has begun: errors from here on are ErrUnavailable
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// rollups is embedded in Store (unexported): its methods implement
// store.RollupStore.
type rollups = sqlexec.Rollups

// Open opens (creating it when needed, with its parent directories) the
// database file at path and applies the pending migrations unless
// opts.SkipMigrate is set.
func Open(ctx context.Context, path string, opts Config) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open: %w", storedriver.Invalid("path", "must name a database file"))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// A new database is readable by its owner only; SQLite gives its WAL
	// and shared-memory files the mode of the database file.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	pools, err := openPools(abs, opts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer, reader, ckpt, health := pools[0], pools[1], pools[2], pools[3]

	s := &Store{path: abs, opts: opts, writer: writer, reader: reader, health: health, ckpt: ckpt,
		iter: sqlexec.PoolSlots(opts.Readers)}
	s.rollups = sqlexec.NewRollups(sqlexec.RollupDB{SQL: rollupSQL, Read: reader, Write: s.writeOne, Wrap: s.wrap,
		Now: s.now, Time: func(t time.Time) any { return micro(t) }, Text: func(v string) string { return v }})
	// The first writer connection creates the file and switches it to WAL
	// before any reader connects.
	if err := writer.PingContext(ctx); err != nil {
		_ = s.Close()
		return nil, s.wrap(ctx, "open "+path, err)
	}
	if err := sqlexec.OpenSchema(ctx, opts.SkipMigrate, s.Migrate, s.syncDayCounters); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.warmReaders(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// openPools opens the store's four pools on the file at abs: the one
// writer connection, the read-only pool, the checkpoint connection and
// Ping's own read-only connection (so a health check never waits for a
// reader slot or for the writer).
func openPools(abs string, opts Config) ([4]*sql.DB, error) {
	busy := "busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"
	wq := url.Values{"_pragma": {busy, "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)",
		"temp_store(MEMORY)", "cache_size(-" + strconv.Itoa(opts.CacheSize) + ")",
		// Checkpoint every 32 MiB of log rather than 4 MiB: fewer, larger
		// checkpoints on the write path of bulk activity inserts.
		"wal_autocheckpoint(8192)"}}
	wq.Set("_txlock", "immediate")
	rq := url.Values{"_pragma": {busy, "foreign_keys(ON)", "query_only(1)", "temp_store(MEMORY)",
		"cache_size(-" + strconv.Itoa(opts.ReaderCacheSize) + ")"}}
	cq := url.Values{"_pragma": {busy}}
	var pools [4]*sql.DB
	for i, p := range []struct {
		q     url.Values
		conns int
	}{{wq, 1}, {rq, opts.Readers}, {cq, 1}, {rq, 1}} {
		db, err := sql.Open("sqlite", fileDSN(abs, p.q))
		if err != nil {
			for _, open := range pools[:i] {
				_ = open.Close()
			}
			return pools, err
		}
		db.SetMaxOpenConns(p.conns)
		db.SetMaxIdleConns(p.conns)
		pools[i] = db
	}
	return pools, nil
}

// warmReaders opens every read-only connection now and has each parse
// the schema, so the first concurrent reads (the dashboard's four parts)
// do not pay for opening connections.
func (s *Store) warmReaders(ctx context.Context) error {
	conns := make([]*sql.Conn, 0, s.opts.Readers)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range s.opts.Readers {
		c, err := s.reader.Conn(ctx)
		if err != nil {
			return s.wrap(ctx, "open readers", err)
		}
		conns = append(conns, c)
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&n); err != nil {
			return s.wrap(ctx, "open readers", err)
		}
	}
	return nil
}

func fileDSN(abs string, q url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

func (s *Store) now() time.Time { return s.opts.NowFunc() }

// wrap translates a database error into the store's error vocabulary and
// wraps it with the operation. It is the only place database errors are
// interpreted.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if err, ok := sqlexec.Translate(err); ok {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if ctx != nil && ctx.Err() != nil {
		// The driver reports an interrupted statement; the cause is the context.
		return fmt.Errorf("sqlite: %s: %w (%v)", op, ctx.Err(), err)
	}
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %s: %w: the store is closed (%w)", op, store.ErrUnavailable, err)
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
		case sqlite3.SQLITE_CONSTRAINT:
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrConflict, err)
			}
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// writeTx runs fn in one IMMEDIATE transaction on the writer connection.
func (s *Store) writeTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	return s.wrap(ctx, op, s.inWriteTx(ctx, fn))
}

// inWriteTx is writeTx with the error as the database gave it.
func (s *Store) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return sqlexec.InTx(func() (*sql.Tx, error) { return s.writer.BeginTx(ctx, nil) }, fn)
}

// readTx runs fn in one read transaction (a consistent snapshot) on a
// reader connection.
func (s *Store) readTx(ctx context.Context, op string, fn func(tx *sqlexec.StmtTx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	defer func() { _ = tx.Rollback() }() // should fn panic
	t := &sqlexec.StmtTx{Tx: tx, Stmts: &s.reads}
	err = fn(t)
	_ = tx.Rollback() // the connection goes back before the prepares below
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if len(t.Missed) > 0 {
		s.reads.Prepare(ctx, s.reader, t.Missed)
	}
	return nil
}

// read is the reader pool with the store's prepared statements, for reads
// of one statement.
func (s *Store) read() sqlexec.StmtDB { return sqlexec.StmtDB{DB: s.reader, Stmts: &s.reads} }

// Ping checks that the database file answers a read. It runs on a
// connection of its own, so it never queues behind the readers (long
// queries, exports) or the writer.
func (s *Store) Ping(ctx context.Context) error {
	var v int64
	if err := s.health.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v); err != nil {
		return s.wrap(ctx, "ping", err)
	}
	return nil
}

// Size is the database size in bytes: its pages plus the write-ahead log.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var pages, pageSize int64
	err := s.readTx(ctx, "size", func(tx *sqlexec.StmtTx) error {
		if err := tx.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize)
	})
	if err != nil {
		return 0, err
	}
	size := pages * pageSize
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		size += fi.Size()
	}
	return size, nil
}

// Stats describes both connection pools together.
func (s *Store) Stats() store.DBStats {
	w, r := s.writer.Stats(), s.reader.Stats()
	return store.DBStats{
		Driver:          "sqlite",
		OpenConnections: w.OpenConnections + r.OpenConnections,
		InUse:           w.InUse + r.InUse,
		Idle:            w.Idle + r.Idle,
	}
}

// SyncWrites makes every committed write durable across a power loss. The
// store commits with synchronous=NORMAL: a commit is in the write-ahead log
// when it returns, which survives a crash of the process but not of the
// machine until the log is synced (at the next checkpoint). SyncWrites syncs
// the log file now; the Recorder calls it (through storedriver.SyncWrites)
// before its spool forgets the events it wrote (at most every 200 ms), and
// before Record answers for an activity it wrote without the spool.
func (s *Store) SyncWrites(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.OpenFile(s.path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no log: every commit is in the database file, synced
	}
	if err != nil {
		return fmt.Errorf("sqlite: sync writes: %w", err)
	}
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("sqlite: sync writes: %w", err)
	}
	return nil
}

// Close closes both connection pools. It is idempotent; later calls return
// the result of the first.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.insertMu.Lock()
		if s.stmts != nil {
			s.stmts.close()
		}
		s.insertMu.Unlock()
		s.reads.Close()
		s.ckptMu.Lock()
		s.ckptClosed = true
		s.ckptMu.Unlock()
		s.ckptDone.Wait()
		cerr := s.ckpt.Close()
		rerr := s.reader.Close()
		herr := s.health.Close()
		werr := s.writer.Close()
		if err := errors.Join(cerr, rerr, herr, werr); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// checkpointEvery is the number of inserted activities (a few MiB of log)
// after which ActivityInsertMany starts a PASSIVE checkpoint of the
// write-ahead log on another goroutine and connection. It copies the log
// into the database file while the writer goes on, so the writer
// connection's own automatic checkpoint, which runs inside a commit, finds
// little left to copy.
const checkpointEvery = 5000

// insertedActivities counts n committed activities towards the next
// background checkpoint and starts it when due and none is running.
func (s *Store) insertedActivities(n int) {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	s.ckptPending += n
	if s.ckptPending < checkpointEvery || s.ckptRunning || s.ckptClosed {
		return
	}
	s.ckptPending, s.ckptRunning = 0, true
	s.ckptDone.Add(1)
	go func() {
		defer s.ckptDone.Done()
		// A PASSIVE checkpoint neither waits for nor blocks the writer and
		// the readers; a failed one leaves the log to the next.
		_, _ = s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		s.ckptMu.Lock()
		s.ckptRunning = false
		s.ckptMu.Unlock()
	}()
}
