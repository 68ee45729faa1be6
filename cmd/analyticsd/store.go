package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// openStore opens the database of c: a postgres:// URL or a SQLite file
// path. With migrate false the schema is left as it is. c's location is the
// reporting time zone the store keeps its per-day report counters in.
func openStore(ctx context.Context, c *commonFlags, migrate bool) (store.Store, error) {
	dsn, loc, logger := c.database, c.location, c.logger
	if isPostgresURL(dsn) {
		cfg := postgres.Config{Logger: logger, SkipMigrate: !migrate, Location: loc, PartitionInterval: c.partitionInterval,
			PartitionCompactions: c.partitionCompactions}
		if c.partitionCompactions == 0 {
			cfg.PartitionCompactions = -1 // none
		}
		if len(c.replicas.values) > 0 {
			st, err := postgres.OpenReplicated(ctx, dsn, cfg, postgres.ReplicaConfig{URLs: c.replicas.values, MaxLag: c.replicaMaxLag})
			if err != nil {
				secrets := urlPasswords(dsn)
				for _, r := range c.replicas.values {
					secrets = append(secrets, urlPasswords(r)...)
				}
				return nil, fmt.Errorf("open PostgreSQL database %s with %d replicas: %w", redactURL(dsn), len(c.replicas.values), redactedError{err, secrets})
			}
			return st, nil
		}
		st, err := postgres.Open(ctx, dsn, cfg)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database %s: %w", redactURL(dsn), redactedError{err, urlPasswords(dsn)})
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, dsn, sqlite.Config{Logger: logger, SkipMigrate: !migrate, Location: loc})
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
		return nil, fmt.Errorf("%s names no host (e.g. postgres://user@localhost:5432/analytics)", redactURL(s))
	}
	return u, nil
}

// redactURL hides the passwords of a URL for display: the one of its user
// info and any password query parameter.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable URL>"
	}
	q := u.Query()
	hidden := false
	for k := range q {
		if strings.EqualFold(k, "password") {
			q[k] = []string{"xxxxx"}
			hidden = true
		}
	}
	if hidden {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// keyValueDSN matches a libpq key=value connection string.
var keyValueDSN = regexp.MustCompile(`(?i)(^|\s)(host|hostaddr|port|user|password|dbname|sslmode)\s*=`)

// redactedError hides secret in the message of err.
type redactedError struct {
	err    error
	secret []string
}

func (e redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secret {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func (e redactedError) Unwrap() error { return e.err }

// urlPasswords returns the passwords a database URL holds.
func urlPasswords(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok {
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
	}
	for k, vs := range u.Query() {
		if strings.EqualFold(k, "password") {
			for _, v := range vs {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	return out
}
