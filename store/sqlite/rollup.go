package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// MetricsSnapshotUpsert stores a snapshot, replacing the one with the same
// (Period, PeriodStart).
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
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO metrics_snapshots (period, period_start, from_at, to_at,
			total_reports, reports_created, reports_completed, reports_failed, active_users, new_clients,
			total_recommendations, total_potential_savings, activities, logins, uploads, downloads, shares,
			avg_generation_seconds, success_rate, category_counts, report_type_counts, computed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(m.Period), m.PeriodStart, micro(m.From), micro(m.To), m.TotalReports, m.ReportsCreated,
			m.ReportsCompleted, m.ReportsFailed, m.ActiveUsers, m.NewClients, m.TotalRecommendations,
			m.TotalPotentialSavings, m.Activities, m.Logins, m.Uploads, m.Downloads, m.Shares,
			m.AvgGenerationSeconds, m.SuccessRate, cats, types, micro(m.ComputedAt))
		return err
	})
}

// MetricsSnapshotList returns the snapshots of one period whose PeriodStart
// is within [fromDay, toDay], oldest first.
func (s *Store) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	const op = "list metrics snapshots"
	if err := storedriver.CheckSnapshotRange(period, fromDay, toDay); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanMetricsSnapshot, `SELECT period, period_start, from_at, to_at,
			total_reports, reports_created, reports_completed, reports_failed, active_users, new_clients,
			total_recommendations, total_potential_savings, activities, logins, uploads, downloads, shares,
			avg_generation_seconds, success_rate, category_counts, report_type_counts, computed_at
		FROM metrics_snapshots
		WHERE period = ?1 AND (?2 = '' OR period_start >= ?2) AND (?3 = '' OR period_start <= ?3)
		ORDER BY period_start`, string(period), fromDay, toDay)
	return out, s.wrap(ctx, op, err)
}

// UsageStatsUpsert stores the usage of one hour, replacing the stored one.
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
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO usage_stats (hour_start, reports_generated, reports_failed,
			csv_uploads, failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes,
			report_type_counts, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			micro(u.HourStart), u.ReportsGenerated, u.ReportsFailed, u.CSVUploads, u.FailedUploads, u.Downloads,
			u.Shares, u.AvgCSVSizeBytes, u.AvgProcessingMinutes, types, micro(u.ComputedAt))
		return err
	})
}

// UsageStatsList returns the hours in [from, to), oldest first.
func (s *Store) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanUsageStats, `SELECT hour_start, reports_generated, reports_failed,
			csv_uploads, failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes,
			report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start`, micro(from), micro(to))
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
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO health_samples (taken_at, status, data) VALUES (?, ?, ?) RETURNING id",
			micro(h.TakenAt), h.Status, data).Scan(&h.ID)
	})
}

// HealthSampleList returns the newest samples first, at most limit (0
// means store.RollupListDefault).
func (s *Store) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	const op = "list health samples"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanHealthSample, `SELECT id, taken_at, status, data FROM health_samples
		ORDER BY taken_at DESC, id DESC LIMIT ?`, limit)
	return out, s.wrap(ctx, op, err)
}

// HealthSampleDeleteBefore deletes the samples taken before cutoff.
func (s *Store) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "delete health samples", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM health_samples WHERE taken_at < ?", micro(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// JobRunStart records the start of a run: a new ID when empty, StartedAt
// now when zero, Outcome running when empty. A RunKey already recorded is
// ErrConflict.
func (s *Store) JobRunStart(ctx context.Context, r *store.JobRun) error {
	const op = "start job run"
	if err := storedriver.PrepareJobRunStart(r, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	var scheduled any
	if !r.ScheduledAt.IsZero() {
		scheduled = micro(r.ScheduledAt)
	}
	return s.writeTx(ctx, op+" "+r.Job, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO job_runs (id, job, run_key, scheduled_at, started_at, finished_at,
			outcome, error, rows_affected, message, instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Job, nullString(r.RunKey), scheduled, micro(r.StartedAt), microPtr(r.FinishedAt),
			string(r.Outcome), nullString(r.Error), r.RowsAffected, nullString(r.Message), nullString(r.Instance))
		return err
	})
}

// JobRunFinish records the outcome of a started run by its ID: FinishedAt
// (now when nil), Outcome (succeeded when empty or running), Error,
// RowsAffected and Message. An unknown ID is ErrNotFound.
func (s *Store) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	const op = "finish job run"
	if err := storedriver.PrepareJobRunFinish(r, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, outcome = ?, error = ?, rows_affected = ?,
			message = ? WHERE id = ?`, microPtr(r.FinishedAt), string(r.Outcome), nullString(r.Error), r.RowsAffected,
			nullString(r.Message), r.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// JobRunLatest returns the latest run of every job, ordered by job name.
func (s *Store) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanJobRun, `SELECT `+sqlexec.JobRunColumns+` FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC, id DESC) AS rn FROM job_runs)
		WHERE rn = 1 ORDER BY job`)
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
	query, args := "SELECT "+sqlexec.JobRunColumns+" FROM job_runs ORDER BY started_at DESC, id DESC LIMIT ?1", []any{limit}
	if job != "" {
		query = "SELECT " + sqlexec.JobRunColumns + " FROM job_runs WHERE job = ?2 ORDER BY started_at DESC, id DESC LIMIT ?1"
		args = append(args, job)
	}
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanJobRun, query, args...)
	return out, s.wrap(ctx, op, err)
}

// WeeklyReportUpsert stores the summary of one week, replacing the stored one.
func (s *Store) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	const op = "upsert weekly report"
	if err := storedriver.PrepareWeeklyReport(w, s.now()); err != nil {
		return s.wrap(ctx, op, err)
	}
	summary, err := jsonenc.Object(w.Summary)
	if err != nil {
		return s.wrap(ctx, op, storedriver.Invalid("summary", "cannot be encoded as JSON: %v", err))
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO weekly_reports (week_start, summary, created_at) VALUES (?, ?, ?)",
			w.WeekStart, summary, micro(w.CreatedAt))
		return err
	})
}

// WeeklyReportList returns the newest weeks first, at most limit (0 means
// store.RollupListDefault).
func (s *Store) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	const op = "list weekly reports"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.reader, sqlexec.ScanWeeklyReport,
		"SELECT week_start, summary, created_at FROM weekly_reports ORDER BY week_start DESC LIMIT ?", limit)
	return out, s.wrap(ctx, op, err)
}
