package postgres

import (
	"context"

	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

// writeOne runs one statement; with dest it scans the returned row.
func (s *Store) writeOne(ctx context.Context, _, query string, dest []any, args ...any) (int64, error) {
	if dest != nil {
		return 0, s.db.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var rollupSQL = sqlexec.RollupSQL{
	UpsertSnapshot: `INSERT INTO metrics_snapshots (period, period_start, from_at, to_at, total_reports,
			reports_created, reports_completed, reports_failed, active_users, new_clients, total_recommendations,
			total_potential_savings, activities, logins, uploads, downloads, shares, avg_generation_seconds,
			success_rate, category_counts, report_type_counts, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT (period, period_start) DO UPDATE SET from_at = EXCLUDED.from_at, to_at = EXCLUDED.to_at,
			total_reports = EXCLUDED.total_reports, reports_created = EXCLUDED.reports_created,
			reports_completed = EXCLUDED.reports_completed, reports_failed = EXCLUDED.reports_failed,
			active_users = EXCLUDED.active_users, new_clients = EXCLUDED.new_clients,
			total_recommendations = EXCLUDED.total_recommendations,
			total_potential_savings = EXCLUDED.total_potential_savings, activities = EXCLUDED.activities,
			logins = EXCLUDED.logins, uploads = EXCLUDED.uploads, downloads = EXCLUDED.downloads,
			shares = EXCLUDED.shares, avg_generation_seconds = EXCLUDED.avg_generation_seconds,
			success_rate = EXCLUDED.success_rate, category_counts = EXCLUDED.category_counts,
			report_type_counts = EXCLUDED.report_type_counts, computed_at = EXCLUDED.computed_at`,
	ListSnapshots: `SELECT period, to_char(period_start, 'YYYY-MM-DD'), from_at, to_at, total_reports,
			reports_created, reports_completed, reports_failed, active_users, new_clients, total_recommendations,
			total_potential_savings::float8, activities, logins, uploads, downloads, shares, avg_generation_seconds,
			success_rate, category_counts, report_type_counts, computed_at
		FROM metrics_snapshots
		WHERE period = $1 AND ($2::date IS NULL OR period_start >= $2::date) AND ($3::date IS NULL OR period_start <= $3::date)
		ORDER BY period_start`,
	UpsertUsage: `INSERT INTO usage_stats (hour_start, reports_generated, reports_failed, csv_uploads,
			failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (hour_start) DO UPDATE SET reports_generated = EXCLUDED.reports_generated,
			reports_failed = EXCLUDED.reports_failed, csv_uploads = EXCLUDED.csv_uploads,
			failed_uploads = EXCLUDED.failed_uploads, downloads = EXCLUDED.downloads, shares = EXCLUDED.shares,
			avg_csv_size_bytes = EXCLUDED.avg_csv_size_bytes, avg_processing_minutes = EXCLUDED.avg_processing_minutes,
			report_type_counts = EXCLUDED.report_type_counts, computed_at = EXCLUDED.computed_at`,
	ListUsage: `SELECT hour_start, reports_generated, reports_failed, csv_uploads, failed_uploads, downloads,
			shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= $1 AND hour_start < $2 ORDER BY hour_start`,
	InsertHealth: `INSERT INTO health_samples (taken_at, status, data) VALUES ($1, $2, $3) RETURNING id`,
	ListHealth:   `SELECT id, taken_at, status, data FROM health_samples ORDER BY taken_at DESC, id DESC LIMIT $1`,
	DeleteHealth: `DELETE FROM health_samples WHERE taken_at < $1`,
	StartJobRun: `INSERT INTO job_runs (id, job, run_key, scheduled_at, started_at, finished_at, outcome, error,
			rows_affected, message, instance)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
	FinishJobRun: `UPDATE job_runs SET finished_at = $2, outcome = $3, error = $4, rows_affected = $5, message = $6
		WHERE id = $1`,
	LatestJobRuns: `SELECT DISTINCT ON (job) ` + sqlexec.JobRunColumns + `
		FROM job_runs ORDER BY job, started_at DESC, id DESC`,
	ListJobRuns:   `SELECT ` + sqlexec.JobRunColumns + ` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`,
	ListJobRunsOf: `SELECT ` + sqlexec.JobRunColumns + ` FROM job_runs WHERE job = $2 ORDER BY started_at DESC, id DESC LIMIT $1`,
	UpsertWeekly: `INSERT INTO weekly_reports (week_start, summary, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (week_start) DO UPDATE SET summary = EXCLUDED.summary, created_at = EXCLUDED.created_at`,
	ListWeekly: `SELECT to_char(week_start, 'YYYY-MM-DD'), summary, created_at FROM weekly_reports
		ORDER BY week_start DESC LIMIT $1`,
}
