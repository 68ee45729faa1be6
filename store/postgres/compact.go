package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// compactedCounters are the counter tables that every write rewrites in
// place, a few rows many times over: the current block of each user, the
// day and the hour. Autovacuum frees the old row versions, but it does not
// give the pages back, and the rows that stay (past blocks, days and hours)
// end up spread over them: after a bulk load of 10,000,000 activities the
// block counters took 24 MB for 4 MB of rows, and reading them was a
// third of a summary by user. They stay small (users times blocks, days,
// hours), so rewriting one holds its lock for a short time.
var compactedCounters = []string{"activity_user_block_counts", "activity_day_counts", "activity_hour_counts"}

const (
	// compactLockTimeout is how long compactCounters waits for a table's
	// lock before it leaves the table for the next run: it queues behind
	// running transactions, and the writers that come after queue behind it.
	compactLockTimeout = "200ms"
	// compactMaxBytes bounds the tables compactCounters rewrites, and so
	// how long it holds a lock (about 150 ms for 24 MB); a larger one is
	// left to autovacuum.
	compactMaxBytes = 64 << 20
	// compactMinBytes is the smallest heap compactCounters rewrites.
	compactMinBytes = 1 << 20
)

// compactCounters rewrites (VACUUM FULL) each of compactedCounters whose
// heap is more than twice the size of its rows, and returns their names. A
// table whose lock it cannot have within compactLockTimeout is left for
// the next run, with a warning in the log. The rewrite takes the table's
// exclusive lock: the writes and reads that need the table wait for it.
// ActivityDeleteBefore (the scheduler's retention run) calls it.
func (s *Store) compactCounters(ctx context.Context) (done []string, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = '"+compactLockTimeout+"'"); err != nil {
		return nil, err
	}
	defer func() {
		// The connection goes back to the pool: it must not keep the
		// timeout. If the reset fails, it is discarded instead.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "RESET lock_timeout"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, rerr)
		}
	}()
	for _, table := range compactedCounters {
		var heap, rows int64
		if err := conn.QueryRowContext(ctx, `SELECT pg_relation_size($1::regclass)`, table).Scan(&heap); err != nil {
			return done, fmt.Errorf("%s: %w", table, err)
		}
		if heap < compactMinBytes || heap > compactMaxBytes {
			continue
		}
		// A row takes its tuple (pg_column_size of the whole row counts
		// its header) and a 4-byte line pointer.
		if err := conn.QueryRowContext(ctx, `SELECT COALESCE(sum(pg_column_size(t.*) + 4), 0) FROM `+table+` t`).Scan(&rows); err != nil {
			return done, fmt.Errorf("%s: %w", table, err)
		}
		if heap <= 2*rows {
			continue
		}
		if _, err := conn.ExecContext(ctx, "VACUUM (FULL) "+table); err != nil {
			if isLockTimeout(err) {
				s.log.WarnContext(ctx, "postgres: counter table busy, compaction left for the next run",
					"table", table, "schema", s.schema)
				continue
			}
			return done, fmt.Errorf("%s: %w", table, err)
		}
		done = append(done, table)
		s.log.InfoContext(ctx, "postgres: compacted counter table", "table", table, "schema", s.schema,
			"bytes_before", heap, "bytes_of_rows", rows)
	}
	return done, nil
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available,
// which lock_timeout raises.
func isLockTimeout(err error) bool { return errCode(err) == "55P03" }
