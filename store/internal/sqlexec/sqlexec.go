// Package sqlexec is what the database/sql drivers share above their SQL:
// running a query and collecting its rows, so that each driver writes only
// its SQL and the scan of one row, and the part of error translation that
// does not depend on the database.
package sqlexec

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
)

// Execer runs a statement: a *sql.Tx, a *sql.DB or a driver's wrapper of
// them.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Stmt is one statement of ExecAll and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// ExecAll runs the statements in order and stops at the first error.
func ExecAll(ctx context.Context, e Execer, stmts ...Stmt) error {
	for _, st := range stmts {
		if _, err := e.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return err
		}
	}
	return nil
}

// Translate returns err in the store's error vocabulary when it already
// belongs to it or needs no knowledge of the database: a validation error,
// a sentinel or a context error as they are, sql.ErrNoRows as
// store.ErrNotFound. Otherwise it returns err and false, and the driver
// interprets its own errors.
func Translate(err error) (error, bool) {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound, true
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err, true
	}
	if _, ok := errors.AsType[*store.ValidationError](err); ok {
		return err, true
	}
	return err, false
}

// Queryer is what both drivers read through (*sql.DB, *sql.Tx, *sqlx.DB).
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Scanner is one result row.
type Scanner interface{ Scan(dest ...any) error }

// Query runs query and returns every row as scanned by scan, an empty (not
// nil) slice when there is none.
func Query[T any](ctx context.Context, q Queryer, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// QueryOne runs query on q and scans its first row with scan;
// sql.ErrNoRows when it has none.
func QueryOne[T any](ctx context.Context, q Queryer, scan func(Scanner) (T, error), query string, args ...any) (T, error) {
	var zero T
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		return zero, cmp.Or(rows.Err(), sql.ErrNoRows)
	}
	v, err := scan(rows)
	if err != nil {
		return zero, err
	}
	return v, rows.Close()
}

// Collect scans and closes rows.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ScanReportDayCount scans a day (as days since 1970-01-01), a report type
// and a count.
func ScanReportDayCount(sc Scanner) (d store.ReportDayCount, err error) {
	var day int64
	err = sc.Scan(&day, &d.ReportType, &d.Count)
	d.Day = DayString(day)
	return d, err
}

// DayString formats a count of days since 1970-01-01 as YYYY-MM-DD.
func DayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// AddCounts runs a query of (key, count) rows and adds each count to
// into[key]; zero counts add no key. The key column must scan into a K
// (text into a string, an integer into an int64).
func AddCounts[K string | int64](ctx context.Context, q Queryer, into map[K]int64, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k K
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		if n != 0 {
			into[k] += n
		}
	}
	return rows.Err()
}

// UserRef is a row of activity_users, the table both drivers key
// activities by: a user's key and names as first recorded.
type UserRef struct {
	Key            int64
	Name, FullName string
}

// AddUsers adds to users, by user id, the rows (user_key, user_id,
// user_name, user_full_name) of rows, and closes them.
func AddUsers(rows *sql.Rows, users map[string]UserRef) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var u UserRef
		if err := rows.Scan(&u.Key, &id, &u.Name, &u.FullName); err != nil {
			return err
		}
		users[id] = u
	}
	return rows.Err()
}

// Each scans rows one at a time and hands each to fn, closing rows. Rows
// read ahead are not delivered once ctx is done. Errors of the database
// and of scan go through wrap; fn's errors are returned as they are.
func Each[T any](ctx context.Context, rows *sql.Rows, scan func(Scanner) (T, error), fn func(*T) error, wrap func(error) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return wrap(err)
		}
		v, err := scan(rows)
		if err != nil {
			return wrap(err)
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
	return wrap(rows.Err())
}

// Slots bounds how many page loads of long iterations (exports) run at
// once, so that many of them together never hold every connection of a
// pool and interactive queries always find one within a query's time.
type Slots chan struct{}

// PoolSlots returns the slots long iterations may hold of a pool of conns
// connections: half of them, at least one.
func PoolSlots(conns int) Slots { return make(Slots, max(1, conns/2)) }

// take waits for a free slot until ctx is done. Nil Slots bound nothing.
func (s Slots) take(ctx context.Context) error {
	if s == nil {
		return ctx.Err()
	}
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s Slots) give() {
	if s != nil {
		<-s
	}
}

// EachPage hands every row of successive pages to fn: load returns up to
// size rows following after (nil for the first page), and the next page
// follows the last row of the previous one. Each load runs in one of
// slots; no slot and no connection is held while fn runs, and no row is
// delivered once ctx is done. Errors of load and of ctx go through wrap;
// fn's errors are returned as they are.
func EachPage[T any](ctx context.Context, slots Slots, size int, load func(after *T) ([]T, error), fn func(*T) error, wrap func(error) error) error {
	var after *T
	for {
		if err := slots.take(ctx); err != nil {
			return wrap(err)
		}
		page, err := load(after)
		slots.give()
		if err != nil {
			return wrap(err)
		}
		for i := range page {
			if err := ctx.Err(); err != nil {
				return wrap(err)
			}
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < size {
			return nil
		}
		after = &page[len(page)-1]
	}
}

// Defaults fills the settings every driver has, so they default alike: a
// nil logger is slog.Default(), a nil clock time.Now and a nil zone UTC.
func Defaults(logger **slog.Logger, now *func() time.Time, loc **time.Location) {
	if *logger == nil {
		*logger = slog.Default()
	}
	if *now == nil {
		*now = time.Now
	}
	if *loc == nil {
		*loc = time.UTC
	}
}

// InTx runs fn in the transaction begin opens: committed when fn returns
// nil, rolled back otherwise. Errors are returned as the database gave
// them.
func InTx[T interface {
	Commit() error
	Rollback() error
}](begin func() (T, error), fn func(T) error) error {
	tx, err := begin()
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// OpenSchema readies the schema of a store being opened: it applies the
// pending migrations, or with skipMigrate only brings the derived tables
// in step with the store's settings (sync).
func OpenSchema(ctx context.Context, skipMigrate bool, migrate, sync func(context.Context) error) error {
	if !skipMigrate {
		return migrate(ctx)
	}
	return sync(ctx)
}

// Applied reports whether the migration version has been applied, from
// the driver's MigrationStatus.
func Applied(ctx context.Context, status func(context.Context) (applied, latest int, err error), version int) (bool, error) {
	applied, _, err := status(ctx)
	return err == nil && applied >= version, err
}

// Tx is what RefillDayCounters needs of a transaction.
type Tx interface {
	Execer
	Queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// RefillDayCounters rebuilds the per-day report counters in tx when
// report_day_zone records another zone than loc's: it empties
// report_day_counts, adds the local day of every report (read as columns,
// scanned by scan), hands the counts to write and records the zone with
// setZone (an UPDATE in the driver's placeholder style). rebuilt reports
// whether it did.
func RefillDayCounters(ctx context.Context, tx Tx, loc *time.Location, columns string, scan func(Scanner) (recagg.Facts, error),
	write func(recagg.DayDeltas) error, setZone string) (rebuilt bool, err error) {
	want := recagg.ZoneName(loc)
	var zone string
	if err := tx.QueryRowContext(ctx, "SELECT zone FROM report_day_zone WHERE id = 1").Scan(&zone); err != nil || zone == want {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM report_day_counts"); err != nil {
		return false, err
	}
	d := recagg.DayDeltas{}
	rows, err := tx.QueryContext(ctx, "SELECT "+columns+" FROM reports")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scan(rows)
		if err != nil {
			return false, err
		}
		d.Add(recagg.DayOf(f, loc), 1)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if err := rows.Close(); err != nil {
		return false, err
	}
	if err := write(d); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, setZone, want)
	return err == nil, err
}
