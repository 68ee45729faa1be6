package postgres

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/lib/pq"
)

// readStmts runs the store's constant read queries (the dashboard's,
// metrics' and trends' parts) as prepared statements. lib/pq sends a query
// with arguments in two round trips, parse and describe, then bind and
// execute, and the server plans it each time; a prepared statement is one
// round trip and, after a few runs, a cached plan: 0.36 → 0.23 ms for the
// trends' counters read. database/sql prepares each statement on a
// connection the first time it runs there.
//
// Only constant SQL belongs here: every distinct query string is kept until
// Close (up to readStmtsMax; beyond, queries run unprepared). A statement
// the server no longer knows (a pooler between the store and PostgreSQL
// that does not keep prepared statements) or whose plan no longer fits
// (26000, 0A000) is dropped, and the query runs again unprepared; the
// first turns preparing off for good.
type readStmts struct {
	db *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
	off   bool
}

// readStmtsMax bounds the statements readStmts keeps.
const readStmtsMax = 64

// QueryContext runs query, prepared; it is a sqlexec.Queryer.
func (r *readStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st := r.stmt(ctx, query)
	if st == nil {
		return r.db.QueryContext(ctx, query, args...)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil && notPreparable(err) {
		r.forget(query, err)
		return r.db.QueryContext(ctx, query, args...)
	}
	return rows, err
}

// QueryRowScan runs query, prepared, and scans its one row into dest;
// sql.ErrNoRows when there is none.
func (r *readStmts) QueryRowScan(ctx context.Context, dest []any, query string, args ...any) error {
	rows, err := r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// stmt returns the prepared statement of query, preparing it on first use;
// nil when preparing is off, the cache is full or preparing failed (the
// query then runs unprepared, and reports its own error).
func (r *readStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	r.mu.RLock()
	st, ok := r.stmts[query]
	skip := r.off || len(r.stmts) >= readStmtsMax
	r.mu.RUnlock()
	if ok || skip {
		return st
	}
	// Prepared outside the lock: a statement prepared twice at once keeps
	// the first, and the second is closed.
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off || len(r.stmts) >= readStmtsMax {
		_ = st.Close()
		return nil
	}
	if first, ok := r.stmts[query]; ok {
		_ = st.Close()
		return first
	}
	if r.stmts == nil {
		r.stmts = map[string]*sql.Stmt{}
	}
	r.stmts[query] = st
	return st
}

// forget drops the statement of query after err (see notPreparable): a
// statement the server does not know turns preparing off for good; one
// whose plan no longer fits is prepared again on its next use.
func (r *readStmts) forget(query string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts[query]; ok {
		_ = st.Close()
		delete(r.stmts, query)
	}
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "26000" {
		r.off = true
		r.closeLocked()
	}
}

// close closes the prepared statements; later queries run unprepared.
func (r *readStmts) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
	r.closeLocked()
}

func (r *readStmts) closeLocked() {
	for q, st := range r.stmts {
		_ = st.Close()
		delete(r.stmts, q)
	}
}

// notPreparable reports whether err says that a prepared statement cannot
// be used: the server does not know it (26000) or its cached plan no
// longer fits the tables (0A000, "cached plan must not change result
// type").
func notPreparable(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "26000" || pe.Code == "0A000")
}
