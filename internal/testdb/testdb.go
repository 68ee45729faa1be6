// Package testdb gives tests a real database: a SQLite file in a temporary
// directory, or a fresh schema on the PostgreSQL server named by
// ANALYTICS_TEST_DATABASE_URL.
//
// Without that variable the PostgreSQL tests are skipped, except when the
// CI variable is set, where they fail: continuous integration must run them.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver for schema set-up
)

// EnvURL is the environment variable naming the test PostgreSQL server.
const EnvURL = "ANALYTICS_TEST_DATABASE_URL"

// SQLitePath returns the path of a new SQLite database file in a temporary
// directory removed when the test ends.
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "analytics.db")
}

// PostgresURL returns a connection URL whose search_path is a new, empty
// schema dropped when the test ends, so tests can run in parallel.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: PostgreSQL tests must run in CI", EnvURL)
		}
		t.Skipf("%s is not set; skipping PostgreSQL test", EnvURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])

	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("testdb: open %s: %v", EnvURL, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testdb: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns rawURL with its search_path set to schema.
func WithSearchPath(t testing.TB, rawURL, schema string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("testdb: parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
