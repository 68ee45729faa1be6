package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/advisoranalytics/advisor-analytics/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate applies the pending embedded migrations in one transaction. It
// holds a transaction-level advisory lock keyed by the schema, so replicas
// starting together apply each migration once: the others wait, then find
// nothing left to do. It then fills the per-day report counters if they
// were kept in another zone.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return s.wrap(ctx, "migrate", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.schema+":migrate"); err != nil {
		return s.wrap(ctx, "migrate: lock", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return s.wrap(ctx, "migrate: create schema_migrations", err)
	}
	var applied []int
	if err := tx.SelectContext(ctx, &applied, `SELECT version FROM schema_migrations`); err != nil {
		return s.wrap(ctx, "migrate: read applied versions", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return s.wrap(ctx, fmt.Sprintf("migrate: apply %04d_%s", m.Version, m.Name), err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return s.wrap(ctx, fmt.Sprintf("migrate: record %04d_%s", m.Version, m.Name), err)
		}
		s.log.DebugContext(ctx, "postgres: applied migration", "version", m.Version, "name", m.Name, "schema", s.schema)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(ctx, "migrate: commit", err)
	}
	if err := s.syncDayCounters(ctx); err != nil {
		return err
	}
	return s.loadPartitioning(ctx)
}

// MigrationStatus returns the highest applied migration version (0 when
// none) and the latest embedded one.
func (s *Store) MigrationStatus(ctx context.Context) (applied, latest int, err error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migration status: %w", err)
	}
	latest = migrations.Latest(ms)
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, 0, s.wrap(ctx, "migration status", err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, 0, s.wrap(ctx, "migration status", err)
	}
	return applied, latest, nil
}
