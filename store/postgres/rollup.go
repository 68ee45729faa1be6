package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

const (
	listLimitRollupDefault = 100
)

func countsJSON(m map[string]int64) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeCounts(b []byte) (map[string]int64, error) {
	m := map[string]int64{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func validDay(field, day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return storedriver.Invalid(field, "must be a date (YYYY-MM-DD)")
	}
	return nil
}

func utcStamp(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.UTC().Truncate(time.Microsecond)
}

// MetricsSnapshotUpsert stores a snapshot, replacing the one of the same
// period and start.
func (s *Store) MetricsSnapshotUpsert(ctx context.Context, m *store.MetricsSnapshot) error {
	const op = "upsert metrics snapshot"
	if !m.Period.Valid() {
		return s.wrap(ctx, storedriver.Invalid("period", "unknown period %q", m.Period), op)
	}
	if err := validDay("period_start", m.PeriodStart); err != nil {
		return s.wrap(ctx, err, op)
	}
	m.From, m.To = m.From.UTC(), m.To.UTC()
	m.ComputedAt = utcStamp(m.ComputedAt, s.now())
	cats, err := countsJSON(m.CategoryCounts)
	if err != nil {
		return s.wrap(ctx, storedriver.Invalid("category_counts", "%v", err), op)
	}
	types, err := countsJSON(m.ReportTypeCounts)
	if err != nil {
		return s.wrap(ctx, storedriver.Invalid("report_type_counts", "%v", err), op)
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
	return s.wrap(ctx, err, op)
}

// MetricsSnapshotList returns the snapshots of one period whose start is in
// [fromDay, toDay], oldest first.
func (s *Store) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	const op = "list metrics snapshots"
	if !period.Valid() {
		return nil, s.wrap(ctx, storedriver.Invalid("period", "unknown period %q", period), op)
	}
	var from, to any
	if fromDay != "" {
		if err := validDay("from", fromDay); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		from = fromDay
	}
	if toDay != "" {
		if err := validDay("to", toDay); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		to = toDay
	}
	rows, err := s.db.QueryContext(ctx, `SELECT period, to_char(period_start, 'YYYY-MM-DD'), from_at, to_at, total_reports,
			reports_created, reports_completed, reports_failed, active_users, new_clients, total_recommendations,
			total_potential_savings::float8, activities, logins, uploads, downloads, shares, avg_generation_seconds,
			success_rate, category_counts, report_type_counts, computed_at
		FROM metrics_snapshots
		WHERE period = $1 AND ($2::date IS NULL OR period_start >= $2::date) AND ($3::date IS NULL OR period_start <= $3::date)
		ORDER BY period_start`, string(period), from, to)
	if err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	defer rows.Close()
	out := []store.MetricsSnapshot{}
	for rows.Next() {
		var m store.MetricsSnapshot
		var cats, types []byte
		if err := rows.Scan(&m.Period, &m.PeriodStart, &m.From, &m.To, &m.TotalReports, &m.ReportsCreated,
			&m.ReportsCompleted, &m.ReportsFailed, &m.ActiveUsers, &m.NewClients, &m.TotalRecommendations,
			&m.TotalPotentialSavings, &m.Activities, &m.Logins, &m.Uploads, &m.Downloads, &m.Shares,
			&m.AvgGenerationSeconds, &m.SuccessRate, &cats, &types, &m.ComputedAt); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		m.From, m.To, m.ComputedAt = m.From.UTC(), m.To.UTC(), m.ComputedAt.UTC()
		if m.CategoryCounts, err = decodeCounts(cats); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		if m.ReportTypeCounts, err = decodeCounts(types); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	return out, nil
}

// UsageStatsUpsert stores the usage of one hour, replacing a previous one.
// HourStart is truncated to the hour.
func (s *Store) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	const op = "upsert usage stats"
	if u.HourStart.IsZero() {
		return s.wrap(ctx, storedriver.Invalid("hour_start", "is required"), op)
	}
	u.HourStart = u.HourStart.UTC().Truncate(time.Hour)
	u.ComputedAt = utcStamp(u.ComputedAt, s.now())
	types, err := countsJSON(u.ReportTypeCounts)
	if err != nil {
		return s.wrap(ctx, storedriver.Invalid("report_type_counts", "%v", err), op)
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
	return s.wrap(ctx, err, op)
}

// UsageStatsList returns the hours in [from, to), oldest first.
func (s *Store) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	const op = "list usage stats"
	rows, err := s.db.QueryContext(ctx, `SELECT hour_start, reports_generated, reports_failed, csv_uploads, failed_uploads,
			downloads, shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= $1 AND hour_start < $2 ORDER BY hour_start`, from.UTC(), to.UTC())
	if err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	defer rows.Close()
	out := []store.UsageStats{}
	for rows.Next() {
		var u store.UsageStats
		var types []byte
		if err := rows.Scan(&u.HourStart, &u.ReportsGenerated, &u.ReportsFailed, &u.CSVUploads, &u.FailedUploads,
			&u.Downloads, &u.Shares, &u.AvgCSVSizeBytes, &u.AvgProcessingMinutes, &types, &u.ComputedAt); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		u.HourStart, u.ComputedAt = u.HourStart.UTC(), u.ComputedAt.UTC()
		if u.ReportTypeCounts, err = decodeCounts(types); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	return out, nil
}

// HealthSampleInsert stores a sample and sets its ID.
func (s *Store) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	const op = "insert health sample"
	if h.Status == "" {
		return s.wrap(ctx, storedriver.Invalid("status", "is required"), op)
	}
	h.TakenAt = utcStamp(h.TakenAt, s.now())
	data, err := jsonenc.Object(h.Data)
	if err != nil {
		return s.wrap(ctx, storedriver.Invalid("data", "cannot be encoded as JSON: %v", err), op)
	}
	err = s.db.QueryRowContext(ctx, `INSERT INTO health_samples (taken_at, status, data) VALUES ($1, $2, $3) RETURNING id`,
		h.TakenAt, clean(h.Status), data).Scan(&h.ID)
	return s.wrap(ctx, err, op)
}

// HealthSampleList returns the newest samples first, at most limit (0
// means 100).
func (s *Store) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	const op = "list health samples"
	if limit < 0 {
		return nil, s.wrap(ctx, storedriver.Invalid("limit", "must not be negative"), op)
	}
	if limit == 0 {
		limit = listLimitRollupDefault
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, taken_at, status, data FROM health_samples
		ORDER BY taken_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	defer rows.Close()
	out := []store.HealthSample{}
	for rows.Next() {
		var h store.HealthSample
		var data []byte
		if err := rows.Scan(&h.ID, &h.TakenAt, &h.Status, &data); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		h.TakenAt = h.TakenAt.UTC()
		if h.Data, err = decodeObject(data); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	return out, nil
}

// HealthSampleDeleteBefore deletes the samples taken before cutoff.
func (s *Store) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM health_samples WHERE taken_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, s.wrap(ctx, err, "delete health samples")
	}
	n, err := res.RowsAffected()
	return n, s.wrap(ctx, err, "delete health samples")
}

// JobRunStart records the start of a run; a RunKey already recorded is
// store.ErrConflict. Empty ID, StartedAt and Outcome are filled in.
func (s *Store) JobRunStart(ctx context.Context, r *store.JobRun) error {
	const op = "start job run"
	if r.Job == "" {
		return s.wrap(ctx, storedriver.Invalid("job", "is required"), op)
	}
	if r.ID == "" {
		r.ID = store.NewID()
	} else if id, ok := store.NormalizeUUID(r.ID); ok {
		r.ID = id
	} else {
		return s.wrap(ctx, storedriver.Invalid("id", "must be a UUID"), op)
	}
	if r.Outcome == "" {
		r.Outcome = store.JobRunning
	}
	r.StartedAt = utcStamp(r.StartedAt, s.now())
	var scheduled any
	if !r.ScheduledAt.IsZero() {
		r.ScheduledAt = r.ScheduledAt.UTC().Truncate(time.Microsecond)
		scheduled = r.ScheduledAt
	}
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC().Truncate(time.Microsecond)
		r.FinishedAt = &t
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO job_runs (id, job, run_key, scheduled_at, started_at, finished_at, outcome,
			error, rows_affected, message, instance)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, clean(r.Job), null(r.RunKey), scheduled, r.StartedAt, r.FinishedAt, string(r.Outcome), null(r.Error),
		r.RowsAffected, null(r.Message), null(r.Instance))
	return s.wrap(ctx, err, op)
}

// JobRunFinish records the outcome of a started run. A nil FinishedAt
// becomes now; an empty or running Outcome becomes failed when Error is
// set and succeeded otherwise.
func (s *Store) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	const op = "finish job run"
	id, ok := store.NormalizeUUID(r.ID)
	if !ok {
		return s.wrap(ctx, storedriver.Invalid("id", "must be a UUID"), op)
	}
	r.ID = id
	fin := utcStamp(time.Time{}, s.now())
	if r.FinishedAt != nil && !r.FinishedAt.IsZero() {
		fin = r.FinishedAt.UTC().Truncate(time.Microsecond)
	}
	r.FinishedAt = &fin
	if r.Outcome == "" || r.Outcome == store.JobRunning {
		r.Outcome = store.JobSucceeded
		if r.Error != "" {
			r.Outcome = store.JobFailed
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE job_runs SET finished_at = $2, outcome = $3, error = $4, rows_affected = $5,
		message = $6 WHERE id = $1`, r.ID, fin, string(r.Outcome), null(r.Error), r.RowsAffected, null(r.Message))
	if err != nil {
		return s.wrap(ctx, err, op)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(ctx, err, op)
	} else if n == 0 {
		return s.wrap(ctx, store.ErrNotFound, op)
	}
	return nil
}

const jobRunColumns = `id, job, COALESCE(run_key, ''), scheduled_at, started_at, finished_at, outcome,
	COALESCE(error, ''), rows_affected, COALESCE(message, ''), COALESCE(instance, '')`

func (s *Store) jobRuns(ctx context.Context, op, query string, a ...any) ([]store.JobRun, error) {
	rows, err := s.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	defer rows.Close()
	out := []store.JobRun{}
	for rows.Next() {
		var r store.JobRun
		var scheduled, finished sql.NullTime
		if err := rows.Scan(&r.ID, &r.Job, &r.RunKey, &scheduled, &r.StartedAt, &finished, &r.Outcome, &r.Error,
			&r.RowsAffected, &r.Message, &r.Instance); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		r.StartedAt = r.StartedAt.UTC()
		if scheduled.Valid {
			r.ScheduledAt = scheduled.Time.UTC()
		}
		if finished.Valid {
			t := finished.Time.UTC()
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	return out, nil
}

// JobRunLatest returns the latest run of every job, ordered by job name.
func (s *Store) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	return s.jobRuns(ctx, "latest job runs", `SELECT DISTINCT ON (job) `+jobRunColumns+`
		FROM job_runs ORDER BY job, started_at DESC, id DESC`)
}

// JobRunList returns the newest runs of one job (every job when job is
// empty), at most limit (0 means 100).
func (s *Store) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	const op = "list job runs"
	if limit < 0 {
		return nil, s.wrap(ctx, storedriver.Invalid("limit", "must not be negative"), op)
	}
	if limit == 0 {
		limit = listLimitRollupDefault
	}
	if job == "" {
		return s.jobRuns(ctx, op, `SELECT `+jobRunColumns+` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	}
	return s.jobRuns(ctx, op, `SELECT `+jobRunColumns+` FROM job_runs WHERE job = $1
		ORDER BY started_at DESC, id DESC LIMIT $2`, clean(job), limit)
}

// WeeklyReportUpsert stores the summary of one week, replacing a previous
// one.
func (s *Store) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	const op = "upsert weekly report"
	if err := validDay("week_start", w.WeekStart); err != nil {
		return s.wrap(ctx, err, op)
	}
	w.CreatedAt = utcStamp(w.CreatedAt, s.now())
	summary, err := jsonenc.Object(w.Summary)
	if err != nil {
		return s.wrap(ctx, storedriver.Invalid("summary", "cannot be encoded as JSON: %v", err), op)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO weekly_reports (week_start, summary, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (week_start) DO UPDATE SET summary = EXCLUDED.summary, created_at = EXCLUDED.created_at`,
		w.WeekStart, summary, w.CreatedAt)
	return s.wrap(ctx, err, op)
}

// WeeklyReportList returns the newest weeks first, at most limit (0 means
// 100).
func (s *Store) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	const op = "list weekly reports"
	if limit < 0 {
		return nil, s.wrap(ctx, storedriver.Invalid("limit", "must not be negative"), op)
	}
	if limit == 0 {
		limit = listLimitRollupDefault
	}
	rows, err := s.db.QueryContext(ctx, `SELECT to_char(week_start, 'YYYY-MM-DD'), summary, created_at FROM weekly_reports
		ORDER BY week_start DESC LIMIT $1`, limit)
	if err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	defer rows.Close()
	out := []store.WeeklyReport{}
	for rows.Next() {
		var w store.WeeklyReport
		var summary []byte
		if err := rows.Scan(&w.WeekStart, &summary, &w.CreatedAt); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		if w.Summary, err = decodeObject(summary); err != nil {
			return nil, s.wrap(ctx, err, op)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, err, op)
	}
	return out, nil
}
