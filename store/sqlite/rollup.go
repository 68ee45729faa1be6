package sqlite

import (
	"context"
	"database/sql"

	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

// writeOne runs one statement in a write transaction; with dest it scans
// the returned row.
func (s *Store) writeOne(ctx context.Context, _, query string, dest []any, args ...any) (n int64, err error) {
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if dest != nil {
			return tx.QueryRowContext(ctx, query, args...).Scan(dest...)
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

var rollupSQL = sqlexec.RollupSQL{
	UpsertSnapshot: `INSERT OR REPLACE INTO metrics_snapshots (period, period_start, from_at, to_at,
			total_reports, reports_created, reports_completed, reports_failed, active_users, new_clients,
			total_recommendations, total_potential_savings, activities, logins, uploads, downloads, shares,
			avg_generation_seconds, success_rate, category_counts, report_type_counts, computed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	ListSnapshots: `SELECT period, period_start, from_at, to_at, total_reports, reports_created, reports_completed,
			reports_failed, active_users, new_clients, total_recommendations, total_potential_savings, activities,
			logins, uploads, downloads, shares, avg_generation_seconds, success_rate, category_counts,
			report_type_counts, computed_at
		FROM metrics_snapshots
		WHERE period = ?1 AND (?2 IS NULL OR period_start >= ?2) AND (?3 IS NULL OR period_start <= ?3)
		ORDER BY period_start`,
	UpsertUsage: `INSERT OR REPLACE INTO usage_stats (hour_start, reports_generated, reports_failed, csv_uploads,
			failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts,
			computed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	ListUsage: `SELECT hour_start, reports_generated, reports_failed, csv_uploads, failed_uploads, downloads,
			shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start`,
	InsertHealth: `INSERT INTO health_samples (taken_at, status, data) VALUES (?, ?, ?) RETURNING id`,
	ListHealth:   `SELECT id, taken_at, status, data FROM health_samples ORDER BY taken_at DESC, id DESC LIMIT ?`,
	DeleteHealth: `DELETE FROM health_samples WHERE taken_at < ?`,
	StartJobRun: `INSERT INTO job_runs (id, job, run_key, scheduled_at, started_at, finished_at, outcome, error,
			rows_affected, message, instance)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	FinishJobRun: `UPDATE job_runs SET finished_at = ?2, outcome = ?3, error = ?4, rows_affected = ?5, message = ?6
		WHERE id = ?1`,
	LatestJobRuns: `SELECT ` + sqlexec.JobRunColumns + ` FROM (
			SELECT *, ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC, id DESC) AS rn FROM job_runs)
		WHERE rn = 1 ORDER BY job`,
	ListJobRuns:   `SELECT ` + sqlexec.JobRunColumns + ` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT ?1`,
	ListJobRunsOf: `SELECT ` + sqlexec.JobRunColumns + ` FROM job_runs WHERE job = ?2 ORDER BY started_at DESC, id DESC LIMIT ?1`,
	UpsertWeekly:  `INSERT OR REPLACE INTO weekly_reports (week_start, summary, created_at) VALUES (?, ?, ?)`,
	ListWeekly:    `SELECT week_start, summary, created_at FROM weekly_reports ORDER BY week_start DESC LIMIT ?`,
}
