package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// openStore opens the database named by dsn: a postgres:// URL or a SQLite
// file path. With migrate false the schema is left as it is.
func openStore(ctx context.Context, dsn string, migrate bool, logger *slog.Logger) (store.Store, error) {
	if isPostgresURL(dsn) {
		st, err := postgres.Open(ctx, dsn, postgres.Config{Logger: logger, SkipMigrate: !migrate})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database %s: %w", redactURL(dsn), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, dsn, sqlite.Config{Logger: logger, SkipMigrate: !migrate})
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", dsn, err)
	}
	return st, nil
}

// netURL parses a database URL.
func netURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			return nil, fmt.Errorf("not a valid URL: %v", ue.Err)
		}
		return nil, errors.New("not a valid URL")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return nil, fmt.Errorf("%s names no host (e.g. postgres://user@localhost:5432/analytics)", u.Redacted())
	}
	return u, nil
}

// redactURL hides the password of a URL for display.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable URL>"
	}
	return u.Redacted()
}
