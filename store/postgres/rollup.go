package postgres

import (
	"context"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// MetricsSnapshotUpsert stores a snapshot, replacing the one of the same
// period and start.
func (s *Store) MetricsSnapshotUpsert(ctx context.Context, m *store.MetricsSnapshot) error {
	const op = "upsert metrics snapshot"
	if err := storedriver.PrepareMetricsSnapshot(m, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	cats, err := jsonenc.Counts(m.CategoryCounts)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("category_counts", "%v", err))
	}
	types, err := jsonenc.Counts(m.ReportTypeCounts)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("report_type_counts", "%v", err))
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO metrics_snapshots (period, period_start, from_at, to_at, total_reports,
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
		string(m.Period), m.PeriodStart, m.From, m.To, m.TotalReports, m.ReportsCreated, m.ReportsCompleted,
		m.ReportsFailed, m.ActiveUsers, m.NewClients, m.TotalRecommendations, m.TotalPotentialSavings, m.Activities,
		m.Logins, m.Uploads, m.Downloads, m.Shares, m.AvgGenerationSeconds, m.SuccessRate, cats, types, m.ComputedAt)
	return s.wrap(ctx, op, err)
}

// MetricsSnapshotList returns the snapshots of one period whose start is in
// [fromDay, toDay], oldest first.
func (s *Store) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	const op = "list metrics snapshots"
	if err := storedriver.CheckSnapshotRange(period, fromDay, toDay); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanMetricsSnapshot, `SELECT period, to_char(period_start, 'YYYY-MM-DD'),
			from_at, to_at, total_reports, reports_created, reports_completed, reports_failed, active_users,
			new_clients, total_recommendations, total_potential_savings::float8, activities, logins, uploads,
			downloads, shares, avg_generation_seconds, success_rate, category_counts, report_type_counts, computed_at
		FROM metrics_snapshots
		WHERE period = $1 AND ($2::date IS NULL OR period_start >= $2::date) AND ($3::date IS NULL OR period_start <= $3::date)
		ORDER BY period_start`, string(period), nullDay(fromDay), nullDay(toDay))
	return out, s.wrap(ctx, op, err)
}

func nullDay(day string) any {
	if day == "" {
		return nil
	}
	return day
}

// UsageStatsUpsert stores the usage of one hour, replacing a previous one.
// HourStart is truncated to the hour.
func (s *Store) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	const op = "upsert usage stats"
	if err := storedriver.PrepareUsageStats(u, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	types, err := jsonenc.Counts(u.ReportTypeCounts)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("report_type_counts", "%v", err))
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO usage_stats (hour_start, reports_generated, reports_failed, csv_uploads,
			failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (hour_start) DO UPDATE SET reports_generated = EXCLUDED.reports_generated,
			reports_failed = EXCLUDED.reports_failed, csv_uploads = EXCLUDED.csv_uploads,
			failed_uploads = EXCLUDED.failed_uploads, downloads = EXCLUDED.downloads, shares = EXCLUDED.shares,
			avg_csv_size_bytes = EXCLUDED.avg_csv_size_bytes, avg_processing_minutes = EXCLUDED.avg_processing_minutes,
			report_type_counts = EXCLUDED.report_type_counts, computed_at = EXCLUDED.computed_at`,
		u.HourStart, u.ReportsGenerated, u.ReportsFailed, u.CSVUploads, u.FailedUploads, u.Downloads, u.Shares,
		u.AvgCSVSizeBytes, u.AvgProcessingMinutes, types, u.ComputedAt)
	return s.wrap(ctx, op, err)
}

// UsageStatsList returns the hours in [from, to), oldest first.
func (s *Store) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanUsageStats, `SELECT hour_start, reports_generated, reports_failed,
			csv_uploads, failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes,
			report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= $1 AND hour_start < $2 ORDER BY hour_start`, from.UTC(), to.UTC())
	return out, s.wrap(ctx, "list usage stats", err)
}

// HealthSampleInsert stores a sample and sets its ID.
func (s *Store) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	const op = "insert health sample"
	if err := storedriver.PrepareHealthSample(h, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	data, err := jsonenc.Object(h.Data)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("data", "cannot be encoded as JSON: %v", err))
	}
	err = s.db.QueryRowContext(ctx, `INSERT INTO health_samples (taken_at, status, data) VALUES ($1, $2, $3) RETURNING id`,
		h.TakenAt, clean(h.Status), data).Scan(&h.ID)
	return s.wrap(ctx, op, err)
}

// HealthSampleList returns the newest samples first, at most limit (0
// means store.RollupListDefault).
func (s *Store) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	const op = "list health samples"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanHealthSample, `SELECT id, taken_at, status, data FROM health_samples
		ORDER BY taken_at DESC, id DESC LIMIT $1`, limit)
	return out, s.wrap(ctx, op, err)
}

// HealthSampleDeleteBefore deletes the samples taken before cutoff.
func (s *Store) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	const op = "delete health samples"
	res, err := s.db.ExecContext(ctx, `DELETE FROM health_samples WHERE taken_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	return n, s.wrap(ctx, op, err)
}

// JobRunStart records the start of a run; a RunKey already recorded is
// store.ErrConflict. Empty ID, StartedAt and Outcome are filled in.
func (s *Store) JobRunStart(ctx context.Context, r *store.JobRun) error {
	const op = "start job run"
	if err := storedriver.PrepareJobRunStart(r, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	var scheduled any
	if !r.ScheduledAt.IsZero() {
		scheduled = r.ScheduledAt
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO job_runs (id, job, run_key, scheduled_at, started_at, finished_at, outcome,
			error, rows_affected, message, instance)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, clean(r.Job), null(r.RunKey), scheduled, r.StartedAt, r.FinishedAt, string(r.Outcome), null(r.Error),
		r.RowsAffected, null(r.Message), null(r.Instance))
	return s.wrap(ctx, op, err)
}

// JobRunFinish records the outcome of a started run. A nil FinishedAt
// becomes now; an empty or running Outcome becomes failed when Error is
// set and succeeded otherwise.
func (s *Store) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	const op = "finish job run"
	if err := storedriver.PrepareJobRunFinish(r, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE job_runs SET finished_at = $2, outcome = $3, error = $4, rows_affected = $5,
		message = $6 WHERE id = $1`, r.ID, *r.FinishedAt, string(r.Outcome), null(r.Error), r.RowsAffected, null(r.Message))
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(ctx, op, err)
	} else if n == 0 {
		return s.wrap(ctx, op, store.ErrNotFound)
	}
	return nil
}

// JobRunLatest returns the latest run of every job, ordered by job name.
func (s *Store) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanJobRun, `SELECT DISTINCT ON (job) `+sqlexec.JobRunColumns+`
		FROM job_runs ORDER BY job, started_at DESC, id DESC`)
	return out, s.wrap(ctx, "latest job runs", err)
}

// JobRunList returns the newest runs of one job (every job when job is
// empty), at most limit (0 means store.RollupListDefault).
func (s *Store) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	const op = "list job runs"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	query, args := `SELECT `+sqlexec.JobRunColumns+` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, []any{limit}
	if job != "" {
		query = `SELECT ` + sqlexec.JobRunColumns + ` FROM job_runs WHERE job = $2 ORDER BY started_at DESC, id DESC LIMIT $1`
		args = append(args, clean(job))
	}
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanJobRun, query, args...)
	return out, s.wrap(ctx, op, err)
}

// WeeklyReportUpsert stores the summary of one week, replacing a previous
// one.
func (s *Store) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	const op = "upsert weekly report"
	if err := storedriver.PrepareWeeklyReport(w, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	summary, err := jsonenc.Object(w.Summary)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("summary", "cannot be encoded as JSON: %v", err))
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO weekly_reports (week_start, summary, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (week_start) DO UPDATE SET summary = EXCLUDED.summary, created_at = EXCLUDED.created_at`,
		w.WeekStart, summary, w.CreatedAt)
	return s.wrap(ctx, op, err)
}

// WeeklyReportList returns the newest weeks first, at most limit (0 means
// store.RollupListDefault).
func (s *Store) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	const op = "list weekly reports"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanWeeklyReport, `SELECT to_char(week_start, 'YYYY-MM-DD'), summary, created_at
		FROM weekly_reports ORDER BY week_start DESC LIMIT $1`, limit)
	return out, s.wrap(ctx, op, err)
}
