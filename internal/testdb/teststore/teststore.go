// Package teststore opens the stores of the tests: a SQLite file in the
// test's temporary directory, or a schema of its own on the PostgreSQL
// server of testdb, each closed when the test ends.
//
// It is separate from testdb so that the drivers' own tests can use testdb
// without importing themselves.
package teststore

import (
	"context"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// SQLite opens a new SQLite database with the default configuration.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	return SQLiteAt(t, testdb.SQLitePath(t), sqlite.Config{})
}

// SQLiteAt opens the SQLite database at path with cfg.
func SQLiteAt(t testing.TB, path string, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, cfg)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Postgres opens a new, empty PostgreSQL schema (skipped or failed as
// testdb.PostgresURL says when no server is configured).
func Postgres(t testing.TB) *postgres.Store {
	t.Helper()
	return PostgresAt(t, testdb.PostgresURL(t))
}

// PostgresAt opens the PostgreSQL database at url with the default
// configuration.
func PostgresAt(t testing.TB, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), url, postgres.Config{})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Driver names a store driver and opens a new store of it.
type Driver struct {
	Name string
	Open func(testing.TB) store.Store
}

// Drivers are the two drivers every cross-driver test runs on.
var Drivers = []Driver{
	{"sqlite", func(t testing.TB) store.Store { return SQLite(t) }},
	{"postgres", func(t testing.TB) store.Store { return Postgres(t) }},
}

// Each runs fn as a subtest on a new store of every driver.
func Each(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(d.Name, func(t *testing.T) { fn(t, d.Open(t)) })
	}
}
