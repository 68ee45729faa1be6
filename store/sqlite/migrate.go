package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/advisoranalytics/advisor-analytics/store/internal/migrations"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
)`

// Migrate applies the pending embedded migrations, each in its own
// transaction together with its schema_migrations record, then fills the
// per-day report counters if they were kept in another zone.
func (s *Store) Migrate(ctx context.Context) error {
	migs, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx, createMigrationsTable); err != nil {
		return s.wrap(ctx, "migrate", err)
	}
	for _, m := range migs {
		applied := false
		err := s.writeTx(ctx, "migrate "+m.File, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.File, s.now().UnixMicro()); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return err
		}
		if applied {
			s.opts.Logger.InfoContext(ctx, "applied migration", "driver", "sqlite", "version", m.Version, "name", m.File)
		}
	}
	return s.syncDayCounters(ctx)
}

// MigrationStatus reports the highest applied migration version (0 on an
// empty database) and the latest embedded one.
func (s *Store) MigrationStatus(ctx context.Context) (applied, latest int, err error) {
	migs, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: migration status: %w", err)
	}
	latest = migrations.Latest(migs)
	err = s.readTx(ctx, "migration status", func(tx *sqlexec.StmtTx) error {
		var n int
		if err := tx.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied)
	})
	if err != nil {
		return 0, 0, err
	}
	return applied, latest, nil
}
