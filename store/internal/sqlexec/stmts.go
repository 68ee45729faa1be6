package sqlexec

import (
	"cmp"
	"context"
	"database/sql"
	"sync"
)

// StmtsMaxDefault is the bound of Stmts when its Max is zero.
const StmtsMaxDefault = 256

// Stmts holds the statements of a store's reads, prepared once on a pool.
// database/sql prepares a Stmt again on each connection it runs on, once,
// and keeps it there. A database that parses and plans a text each time it
// runs unprepared (SQLite), or needs two round trips for a query with
// arguments and plans it again (PostgreSQL through lib/pq), answers small
// reads much sooner from a prepared statement.
//
// The reads build their SQL from the parts of a filter, not from its
// values, so a bounded number of texts covers them; past Max a text runs
// unprepared, as without the cache.
type Stmts struct {
	// Max bounds the statements held; StmtsMaxDefault when zero.
	Max int
	// Unusable, when set, tells from a prepared statement's error that the
	// statement cannot serve (PostgreSQL: the server does not know it, or
	// its plan no longer fits the tables). The query then runs again
	// unprepared, the statement is dropped, and with off the cache
	// prepares nothing more.
	Unusable func(err error) (drop, off bool)

	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool // closed, or turned off by Unusable
}

// Len returns how many statements are held.
func (c *Stmts) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *Stmts) get(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// Prepare prepares the texts not held yet, up to the bound, on db. It is
// called with no connection of db held, so it cannot wait on itself for
// one; a text that fails to prepare runs unprepared again next time.
func (c *Stmts) Prepare(ctx context.Context, db *sql.DB, queries []string) {
	for _, q := range queries {
		c.Prepared(ctx, db, q)
	}
}

// Prepared returns the statement of query, prepared on db if it was not
// yet; nil past the bound, once closed or when it fails to prepare. The
// caller holds no connection of db.
func (c *Stmts) Prepared(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.RLock()
	st, full := c.m[query], c.full()
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	// Prepared outside the lock: a text prepared twice at once keeps the
	// first statement, and the second is closed.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if held := c.m[query]; held != nil || c.full() {
		_ = st.Close()
		return held
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

func (c *Stmts) full() bool {
	return c.closed || len(c.m) >= cmp.Or(c.Max, StmtsMaxDefault)
}

// unusable reports whether err from the statement of query means that it
// cannot serve, and if so drops it (all of them, and prepares no more, when
// Unusable says off).
func (c *Stmts) unusable(query string, err error) bool {
	if err == nil || c.Unusable == nil {
		return false
	}
	drop, off := c.Unusable(err)
	if !drop && !off {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		_ = st.Close()
		delete(c.m, query)
	}
	if off {
		c.closeLocked()
	}
	return true
}

// Close closes the statements held; the cache holds none after it and
// prepares no more.
func (c *Stmts) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *Stmts) closeLocked() {
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m, c.closed = nil, true
}

// StmtTx is a read transaction whose queries run the statements of Stmts
// prepared for their text; those not prepared yet run as text and are
// named in Missed, for the caller to Prepare once the transaction is over
// (and its connection back in the pool).
type StmtTx struct {
	*sql.Tx
	Stmts  *Stmts
	Missed []string
}

// QueryContext runs query in the transaction, prepared when it can be. A
// statement Stmts.Unusable refuses is dropped, and its error returned:
// the transaction cannot go on after a failed statement on PostgreSQL.
func (t *StmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.Stmts.get(query); st != nil {
		rows, err := t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		t.Stmts.unusable(query, err)
		return rows, err
	}
	t.Missed = append(t.Missed, query)
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction, prepared when it can be.
// With Stmts.Unusable set it runs query as text: a *sql.Row keeps its error
// until Scan, where an unusable statement could not be dropped (use
// QueryRowScan instead).
func (t *StmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.Stmts.Unusable != nil {
		return t.Tx.QueryRowContext(ctx, query, args...)
	}
	if st := t.Stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	t.Missed = append(t.Missed, query)
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// StmtDB runs reads of one statement on a pool, each with its prepared
// statement: one that is not prepared yet is prepared first, while no
// connection is held.
type StmtDB struct {
	DB    *sql.DB
	Stmts *Stmts
}

// QueryContext runs query on the pool, prepared when it can be; a
// statement Stmts.Unusable refuses is dropped and query runs again as text.
func (r StmtDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.Stmts.Prepared(ctx, r.DB, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if !r.Stmts.unusable(query, err) {
			return rows, err
		}
	}
	return r.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query on the pool, prepared when it can be; as
// text with Stmts.Unusable set (see StmtTx.QueryRowContext).
func (r StmtDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if r.Stmts.Unusable != nil {
		return r.DB.QueryRowContext(ctx, query, args...)
	}
	if st := r.Stmts.Prepared(ctx, r.DB, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, query, args...)
}

// QueryRowScan runs query on q and scans its one row into dest;
// sql.ErrNoRows when there is none. Unlike QueryRowContext, an error of a
// prepared statement reaches StmtDB.QueryContext, which can run the query
// again unprepared.
func QueryRowScan(ctx context.Context, q Queryer, dest []any, query string, args ...any) error {
	_, err := QueryOne(ctx, q, func(sc Scanner) (struct{}, error) { return struct{}{}, sc.Scan(dest...) }, query, args...)
	return err
}
