package postgres

import (
	"context"
	"database/sql"

	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

// readStmtsMax bounds the prepared statements of a Store: the constant
// texts of the dashboard's, the metrics' and the trends' reads, and those
// of the activity pages and summaries, one text for each shape of filter
// the host's callers use (a few dozen at most through the API). Each is a
// plan kept by every connection it ran on; texts past the bound run
// unprepared.
const readStmtsMax = 64

// newReadStmts returns the cache of the store's prepared reads (see
// Store.read and Store.readTx). lib/pq sends a query with arguments in two round trips,
// parse and describe, then bind and execute, and the server plans it each
// time; a prepared statement is one round trip and, after a few runs, a
// cached plan: 0.36 → 0.23 ms for the trends' counters read.
func newReadStmts() sqlexec.Stmts {
	return sqlexec.Stmts{Max: readStmtsMax, Unusable: notPreparable}
}

// notPreparable tells sqlexec.Stmts which errors of a prepared statement
// mean that it cannot serve: the server does not know it (26000: a pooler
// between the store and PostgreSQL that does not keep prepared statements),
// and the store then prepares nothing more; or its cached plan no longer
// fits the tables (0A000, "cached plan must not change result type"), and
// that statement is prepared again on its next use.
func notPreparable(err error) (drop, off bool) {
	code := errCode(err)
	return code == "0A000", code == "26000"
}

// readTx runs fn in a read-only repeatable-read transaction whose
// queries run as prepared statements (see sqlexec.StmtTx); the texts that
// ran unprepared are prepared once the transaction is over. A statement the
// server can no longer run as prepared (see notPreparable) aborts the
// transaction: fn runs again, in a new one, without that statement, so fn
// must set its results anew on each run. Its error is wrapped with op.
func (s *Store) readTx(ctx context.Context, op string, fn func(tx *sqlexec.StmtTx) error) error {
	return s.readTxSet(ctx, op, readTxSettings, fn)
}

// readTxSet is readTx with settings, the SET LOCAL statements run first
// (readTxSettings and others).
func (s *Store) readTxSet(ctx context.Context, op, settings string, fn func(tx *sqlexec.StmtTx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.readTxOnce(ctx, settings, fn)
		if drop, off := notPreparable(err); (drop || off) && attempt < readTxAttempts && ctx.Err() == nil {
			continue
		}
		return s.wrap(ctx, op, err)
	}
}

// readTxSettings plans each statement of a readTx for its arguments:
// after five runs PostgreSQL would otherwise also build a generic plan of
// it and keep it on the connection, which for a read over every activities
// partition takes about 200 kB a statement (8 MB for 40 of them on one
// connection, at 17 partitions), and can be worse for the arguments at
// hand. Prepared, a statement is still parsed and described once: most of
// what preparing saves (measured: the page and summary reads' server CPU
// about the same with either plan).
const readTxSettings = "SET LOCAL plan_cache_mode = force_custom_plan"

// readTxAttempts bounds the runs of a readTx whose prepared statements the
// server refuses: each refusal drops one statement, or all of them.
const readTxAttempts = 4

func (s *Store) readTxOnce(ctx context.Context, settings string, fn func(tx *sqlexec.StmtTx) error) error {
	tx, err := s.db.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // should fn panic
	if _, err := tx.ExecContext(ctx, settings); err != nil {
		return err
	}
	t := &sqlexec.StmtTx{Tx: tx, Stmts: &s.reads}
	err = fn(t)
	_ = tx.Rollback() // the connection goes back before the prepares below
	if err == nil && len(t.Missed) > 0 {
		s.reads.Prepare(ctx, s.db.DB, t.Missed)
	}
	return err
}
