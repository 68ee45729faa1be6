package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the read statements a Store keeps prepared. The
// reads build their SQL from the filter's parts, not its values, so a few
// hundred texts cover every combination; past the bound a text is parsed
// each time, as it would be without the cache. Each prepared statement
// takes a few KiB on every reader connection that ran it.
const maxReadStmts = 256

// readStmts holds the statements of the read transactions, prepared once on
// the reader pool. SQLite parses and plans a statement's text each time it
// is prepared, which costs as much as running many of these reads (a third
// of a first page with its total on a small table, where the rows are
// found fast). database/sql prepares a Stmt again on each connection it
// runs on, once, and keeps it there.
type readStmts struct {
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

func (c *readStmts) get(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// prepare prepares the texts not held yet, up to the bound, on db. It is
// called with no connection of db held, so it cannot wait on itself for
// one; a text that fails to prepare is run unprepared again next time.
func (c *readStmts) prepare(ctx context.Context, db *sql.DB, queries []string) {
	for _, q := range queries {
		c.prepared(ctx, db, q)
	}
}

// prepared returns the statement of query, prepared on db if it was not
// yet; nil past the bound, once closed or when it fails to prepare. The
// caller holds no connection of db.
func (c *readStmts) prepared(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.RLock()
	st, full := c.m[query], len(c.m) >= maxReadStmts || c.closed
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if held := c.m[query]; held != nil || len(c.m) >= maxReadStmts || c.closed {
		_ = st.Close()
		return held
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

// close closes the statements held; the cache holds none after it and
// prepares no more.
func (c *readStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m, c.closed = nil, true
}

// readTxn is a read transaction whose queries run the statements the store
// has prepared for their text; those it has not are run as text and named
// in missed, for readTx to prepare once the transaction is over.
type readTxn struct {
	*sql.Tx
	stmts  *readStmts
	missed []string
}

// QueryContext runs query in the transaction, prepared when it can be.
func (t *readTxn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	t.missed = append(t.missed, query)
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction, prepared when it can be.
func (t *readTxn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	t.missed = append(t.missed, query)
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// readDB runs reads of one statement on the reader pool, each with its
// prepared statement: one that is not prepared yet is prepared first,
// while no connection is held.
type readDB struct {
	db    *sql.DB
	stmts *readStmts
}

// QueryContext runs query on the pool, prepared when it can be.
func (r readDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmts.prepared(ctx, r.db, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query on the pool, prepared when it can be.
func (r readDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmts.prepared(ctx, r.db, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}
