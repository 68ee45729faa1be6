// Package postgres is the PostgreSQL implementation of store.Store, built on
// jmoiron/sqlx and lib/pq.
//
// Every object lives in the connection's current schema (the first existing
// schema of search_path), so several installations, or parallel tests, can
// share one database by giving each its own schema:
//
//	postgres://user@host/db?sslmode=disable&search_path=analytics
//
// Activities are inserted with COPY, one transaction per batch. Exact
// activity totals are answered from per-day counter tables maintained in the
// same transaction as every insert and delete, so the first page of a listing
// stays fast at any table size.
//
// Day buckets in another zone than UTC come from per-hour counters when the
// zone's offset is a whole number of hours, else from a scan of the
// matching rows. Locations are passed to PostgreSQL by their IANA name;
// fixed zones (time.FixedZone) and time.Local by their current UTC offset.
//
// Besides store.Store, *Store implements store.Broadcaster (LISTEN/NOTIFY)
// and store.Locker (session advisory locks). Both are scoped to the current
// schema: channels and lock keys in one schema never reach another.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Defaults of Config.
const (
	// MaxOpenConnsDefault is the default limit of open connections.
	MaxOpenConnsDefault = 20
	// MaxIdleConnsDefault is the default number of idle connections kept.
	MaxIdleConnsDefault = 10
	// ConnMaxLifetimeDefault is the default maximum age of a connection.
	ConnMaxLifetimeDefault = 30 * time.Minute
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// MaxOpenConns limits the open connections of the pool (locks taken
	// with TryLock, subscriptions and Ping hold connections of their own).
	// ActivityIterate's page loads (exports) hold at most half of them at
	// once, so other queries always find one. Defaults to
	// MaxOpenConnsDefault.
	MaxOpenConns int
	// MaxIdleConns is how many idle connections the pool keeps. Defaults
	// to MaxIdleConnsDefault (capped at MaxOpenConns).
	MaxIdleConns int
	// ConnMaxLifetime closes connections older than this. Defaults to
	// ConnMaxLifetimeDefault.
	ConnMaxLifetime time.Duration
	// Logger receives notices such as subscription reconnects. Defaults
	// to slog.Default().
	Logger *slog.Logger
	// NowFunc returns the current time, used for zero CreatedAt values
	// and UpdatedAt stamps. Defaults to time.Now.
	NowFunc func() time.Time
	// SkipMigrate leaves the schema untouched on Open; call Migrate
	// yourself. Defaults to false (Open applies pending migrations).
	SkipMigrate bool
	// Location is the reporting time zone of the per-day report counters:
	// ReportDailyCounts and ReportMetrics in this zone, on local-midnight
	// bounds, read them instead of the reports. Open refills the counters
	// when the zone changes. Every process sharing the schema must use the
	// same. Defaults to UTC.
	Location *time.Location
	// PartitionInterval is the span of each partition of the activities
	// table: PartitionMonth (the default), PartitionWeek or PartitionDay,
	// in UTC. Retention drops whole partitions, so a shorter interval
	// frees space sooner at the cost of more tables. Existing partitions
	// keep their span; new ones stop short of their neighbours.
	PartitionInterval string
	// PartitionsAhead is how many partitions past the current one are
	// created ahead of time (on Open and on each ActivityDeleteBefore);
	// others are created when an insert needs them. Defaults to
	// PartitionsAheadDefault.
	PartitionsAhead int
	// PartitionCompactions is how many closed partitions each
	// ActivityDeleteBefore (the scheduler's retention run) compacts: their
	// indexes are rebuilt once, without blocking reads or inserts (see
	// CompactActivityPartitions). Defaults to PartitionCompactionsDefault;
	// negative compacts none.
	PartitionCompactions int
}

func (o *Config) setDefaults() error {
	switch {
	case o.MaxOpenConns < 0:
		return storedriver.Invalid("max_open_conns", "must not be negative")
	case o.MaxIdleConns < 0:
		return storedriver.Invalid("max_idle_conns", "must not be negative")
	case o.ConnMaxLifetime < 0:
		return storedriver.Invalid("conn_max_lifetime", "must not be negative")
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = MaxOpenConnsDefault
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = MaxIdleConnsDefault
	}
	o.MaxIdleConns = min(o.MaxIdleConns, o.MaxOpenConns)
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = ConnMaxLifetimeDefault
	}
	o.PartitionInterval = cmp.Or(o.PartitionInterval, PartitionMonth)
	if o.PartitionsAhead == 0 {
		o.PartitionsAhead = PartitionsAheadDefault
	}
	if o.PartitionCompactions == 0 {
		o.PartitionCompactions = PartitionCompactionsDefault
	}
	if err := validPartitioning(o.PartitionInterval, o.PartitionsAhead); err != nil {
		return err
	}
	sqlexec.Defaults(&o.Logger, &o.NowFunc, &o.Location)
	return nil
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use.
//
// Its store.RollupStore methods (MetricsSnapshotUpsert … WeeklyReportList)
// come from code it shares with the SQLite driver, over this driver's SQL;
// they are not listed here but behave as the interface documents.
type Store struct {
	db     *sqlx.DB
	health *sql.DB // one connection of its own for Ping
	// iter bounds the connections that ActivityIterate's page loads hold
	// at once, so many exports never starve other queries.
	iter     sqlexec.Slots
	url      string
	schema   string
	log      *slog.Logger
	now      func() time.Time
	loc      *time.Location // the zone of the per-day report counters
	*rollups                // the store.RollupStore methods, over rollupSQL
	reads    sqlexec.Stmts  // the read queries, prepared (see read and readTx)

	mu        sync.Mutex
	closed    bool
	listeners map[*pq.Listener]struct{}
	parts     partitions // guarded by mu
}

// rollups is embedded in Store (unexported): its methods implement
// store.RollupStore.
type rollups = sqlexec.Rollups

// Compile-time checks.
var (
	_ store.Store       = (*Store)(nil)
	_ store.Broadcaster = (*Store)(nil)
	_ store.Locker      = (*Store)(nil)
)

// Open connects to the database at url, checks the connection and, unless
// opts.SkipMigrate, applies the pending migrations. The schema named by the
// URL's search_path must exist.
func Open(ctx context.Context, url string, opts Config) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s, err := connect(url, opts)
	if err != nil {
		return nil, err
	}
	var schema sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		err = s.wrap(ctx, "open", err)
		_ = s.Close()
		return nil, err
	}
	if !schema.Valid {
		_ = s.Close()
		return nil, fmt.Errorf("postgres: open: %w", storedriver.Invalid("search_path", "names no existing schema"))
	}
	s.schema = schema.String
	sync := func(ctx context.Context) error {
		if err := s.syncDayCounters(ctx); err != nil {
			return err
		}
		return s.loadPartitioning(ctx)
	}
	if err := sqlexec.OpenSchema(ctx, opts.SkipMigrate, s.Migrate, sync); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// connect makes the pools of a Store at url without touching the database.
func connect(url string, opts Config) (*Store, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxIdleConns)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	// Ping has a connection of its own, so a health check never waits for
	// a connection of the pool.
	health, err := sql.Open("postgres", url)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	health.SetMaxOpenConns(1)
	health.SetMaxIdleConns(1)
	health.SetConnMaxLifetime(opts.ConnMaxLifetime)
	s := &Store{db: db, health: health, url: url, reads: newReadStmts(), log: opts.Logger, now: opts.NowFunc, loc: opts.Location, listeners: map[*pq.Listener]struct{}{},
		iter: sqlexec.PoolSlots(opts.MaxOpenConns), parts: partitions{interval: opts.PartitionInterval, ahead: opts.PartitionsAhead,
			compactions: opts.PartitionCompactions}}
	s.rollups = sqlexec.NewRollups(sqlexec.RollupDB{SQL: rollupSQL, Read: db, Write: s.writeOne, Wrap: s.wrap,
		Now: s.now, Time: func(t time.Time) any { return t.UTC() }, Text: clean})
	return s, nil
}

// read is the pool with the store's prepared statements, for its constant
// reads of one statement.
func (s *Store) read() sqlexec.StmtDB { return sqlexec.StmtDB{DB: s.db.DB, Stmts: &s.reads} }

// Schema returns the schema the store works in.
func (s *Store) Schema() string { return s.schema }

// DB returns the underlying connection pool, for host applications that
// need to run their own queries.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Ping checks that the database answers. It runs on a connection of its
// own, outside the pool, so it never queues behind the pool's queries.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.health.PingContext(ctx); err != nil {
		return s.wrap(ctx, "ping", err)
	}
	return nil
}

// Size returns the size in bytes of the whole database.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
		return 0, s.wrap(ctx, "database size", err)
	}
	return n, nil
}

// Stats describes the connection pool.
func (s *Store) Stats() store.DBStats {
	st := s.db.Stats()
	return store.DBStats{Driver: "postgres", OpenConnections: st.OpenConnections, InUse: st.InUse, Idle: st.Idle}
}

// Close stops every subscription and closes the pool. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for l := range ls {
		_ = l.Close()
	}
	s.reads.Close()
	if err := errors.Join(closePool(s.db.DB), closePool(s.health)); err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

// closePool closes db. Closing a connection sends the server a goodbye; a
// connection the server has already dropped (it restarted, or the network
// was cut) fails that write, which loses nothing: the connection is closed
// all the same.
func closePool(db *sql.DB) error {
	err := db.Close()
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// wrap translates a database error into the store's sentinel errors and
// wraps it with the operation. It is the only place that inspects driver
// errors.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if s.isClosed() {
		return fmt.Errorf("postgres: %s: %w: the store is closed (%w)", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, translate(ctx, err))
}

// errCode is the SQLSTATE of err's PostgreSQL error, empty when it has none.
func errCode(err error) string {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return string(pe.Code)
	}
	return ""
}

func translate(ctx context.Context, err error) error {
	if err, ok := sqlexec.Translate(err); ok {
		return err
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := string(pe.Code)
		switch {
		case code == "57014": // query_canceled: the context ended
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %s", store.ErrUnavailable, pe.Message)
		case code == "23505":
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
		case code == "23503":
			if f, ok := fkFields[pe.Constraint]; ok {
				return storedriver.Invalid(f, "references an unknown entity")
			}
			return fmt.Errorf("%w: %s", store.ErrNotFound, pe.Message)
		case code == "22021": // character_not_in_repertoire: text PostgreSQL cannot hold
			return storedriver.Invalid("text", "contains characters that cannot be stored: %s", pe.Message)
		case code == "22023" && strings.Contains(pe.Message, "time zone"):
			return storedriver.Invalid("location", "unknown time zone")
		case code[:2] == "08", code == "57P01", code == "57P02", code == "57P03", code == "53300",
			code == "40001", code == "40P01": // retryable: unreachable, overloaded or a lost race
			return fmt.Errorf("%w: %s", store.ErrUnavailable, pe.Message)
		}
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if connectionLost(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// connectionLost reports whether err, not from the server, says that the
// connection failed: closed, reset, timed out or found bad by the driver.
func connectionLost(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne)
}

// fkFields names the record field behind each foreign key.
var fkFields = map[string]string{
	"reports_client_id_fkey": "client_id",
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	return sqlexec.InTx(func() (*sqlx.Tx, error) { return s.db.BeginTxx(ctx, opts) }, fn)
}

// null maps the empty string to NULL and cleans the others.
func null(s string) any {
	if s == "" {
		return nil
	}
	return clean(s)
}

// clean makes s storable in PostgreSQL text: NUL characters are removed
// and byte sequences that are not UTF-8 become U+FFFD.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
