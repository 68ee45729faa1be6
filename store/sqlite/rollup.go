package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// HealthSampleListDefault is the number of samples HealthSampleList returns
// when the limit is 0; the other list methods use it too.
const HealthSampleListDefault = 100

func listLimit(limit int) (int, error) {
	if limit < 0 {
		return 0, storedriver.Invalid("limit", "must not be negative")
	}
	if limit == 0 {
		return HealthSampleListDefault, nil
	}
	return limit, nil
}

func validDay(field, day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return storedriver.Invalid(field, "must be a date YYYY-MM-DD")
	}
	return nil
}

func utcNow(t time.Time, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.UTC().Truncate(time.Microsecond)
}

// MetricsSnapshotUpsert stores a snapshot, replacing the one with the same
// (Period, PeriodStart).
func (s *Store) MetricsSnapshotUpsert(ctx context.Context, m *store.MetricsSnapshot) error {
	const op = "upsert metrics snapshot"
	if !m.Period.Valid() {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("period", "unknown period %q", m.Period))
	}
	if err := validDay("period_start", m.PeriodStart); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	cats, err := encodeMap(m.CategoryCounts)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	types, err := encodeMap(m.ReportTypeCounts)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	m.From, m.To = m.From.UTC().Truncate(time.Microsecond), m.To.UTC().Truncate(time.Microsecond)
	m.ComputedAt = utcNow(m.ComputedAt, s.now())
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
	if !period.Valid() {
		return nil, fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("period", "unknown period %q", period))
	}
	query := `SELECT period, period_start, from_at, to_at, total_reports, reports_created, reports_completed,
		reports_failed, active_users, new_clients, total_recommendations, total_potential_savings, activities,
		logins, uploads, downloads, shares, avg_generation_seconds, success_rate, category_counts,
		report_type_counts, computed_at FROM metrics_snapshots WHERE period = ?`
	args := []any{string(period)}
	if fromDay != "" {
		if err := validDay("date_from", fromDay); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		query, args = query+" AND period_start >= ?", append(args, fromDay)
	}
	if toDay != "" {
		if err := validDay("date_to", toDay); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		query, args = query+" AND period_start <= ?", append(args, toDay)
	}
	rows, err := s.reader.QueryContext(ctx, query+" ORDER BY period_start", args...)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []store.MetricsSnapshot{}
	for rows.Next() {
		var m store.MetricsSnapshot
		var p, cats, types string
		var from, to, computed int64
		if err := rows.Scan(&p, &m.PeriodStart, &from, &to, &m.TotalReports, &m.ReportsCreated, &m.ReportsCompleted,
			&m.ReportsFailed, &m.ActiveUsers, &m.NewClients, &m.TotalRecommendations, &m.TotalPotentialSavings,
			&m.Activities, &m.Logins, &m.Uploads, &m.Downloads, &m.Shares, &m.AvgGenerationSeconds, &m.SuccessRate,
			&cats, &types, &computed); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		m.Period, m.From, m.To, m.ComputedAt = store.Period(p), fromMicro(from), fromMicro(to), fromMicro(computed)
		if m.CategoryCounts, err = decodeCountMap(cats); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		if m.ReportTypeCounts, err = decodeCountMap(types); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// UsageStatsUpsert stores the usage of one hour, replacing the stored one.
// HourStart is truncated to the hour.
func (s *Store) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	const op = "upsert usage stats"
	if u.HourStart.IsZero() {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("hour_start", "is required"))
	}
	types, err := encodeMap(u.ReportTypeCounts)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	u.HourStart = u.HourStart.UTC().Truncate(time.Hour)
	u.ComputedAt = utcNow(u.ComputedAt, s.now())
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
	const op = "list usage stats"
	rows, err := s.reader.QueryContext(ctx, `SELECT hour_start, reports_generated, reports_failed, csv_uploads,
		failed_uploads, downloads, shares, avg_csv_size_bytes, avg_processing_minutes, report_type_counts, computed_at
		FROM usage_stats WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start`, micro(from), micro(to))
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []store.UsageStats{}
	for rows.Next() {
		var u store.UsageStats
		var hour, computed int64
		var types string
		if err := rows.Scan(&hour, &u.ReportsGenerated, &u.ReportsFailed, &u.CSVUploads, &u.FailedUploads,
			&u.Downloads, &u.Shares, &u.AvgCSVSizeBytes, &u.AvgProcessingMinutes, &types, &computed); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		u.HourStart, u.ComputedAt = fromMicro(hour), fromMicro(computed)
		if u.ReportTypeCounts, err = decodeCountMap(types); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// HealthSampleInsert stores a sample and sets its ID.
func (s *Store) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	const op = "insert health sample"
	if h.Status == "" {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("status", "is required"))
	}
	data, err := encodeMap(h.Data)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("data", "cannot be encoded as JSON: %v", err))
	}
	h.TakenAt = utcNow(h.TakenAt, s.now())
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO health_samples (taken_at, status, data) VALUES (?, ?, ?) RETURNING id",
			micro(h.TakenAt), h.Status, data).Scan(&h.ID)
	})
}

// HealthSampleList returns the newest samples first, at most limit
// (0 means HealthSampleListDefault).
func (s *Store) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	const op = "list health samples"
	limit, err := listLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT id, taken_at, status, data FROM health_samples
		ORDER BY taken_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []store.HealthSample{}
	for rows.Next() {
		var h store.HealthSample
		var taken int64
		var data string
		if err := rows.Scan(&h.ID, &taken, &h.Status, &data); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		h.TakenAt = fromMicro(taken)
		if h.Data, err = decodeAnyMap(data); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
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
	if r.Job == "" {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("job", "is required"))
	}
	if r.ID == "" {
		r.ID = store.NewID()
	} else if id, ok := store.NormalizeUUID(r.ID); ok {
		r.ID = id
	} else {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("id", "must be a UUID"))
	}
	if r.Outcome == "" {
		r.Outcome = store.JobRunning
	}
	now := s.now()
	r.StartedAt = utcNow(r.StartedAt, now)
	if !r.ScheduledAt.IsZero() {
		r.ScheduledAt = r.ScheduledAt.UTC().Truncate(time.Microsecond)
	}
	r.FinishedAt = normPtr(r.FinishedAt)
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

func normPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// JobRunFinish records the outcome of a started run by its ID: FinishedAt
// (now when nil), Outcome (succeeded when empty or running), Error,
// RowsAffected and Message. An unknown ID is ErrNotFound.
func (s *Store) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	const op = "finish job run"
	id, ok := store.NormalizeUUID(r.ID)
	if !ok {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("id", "must be a UUID"))
	}
	r.ID = id
	if r.FinishedAt == nil || r.FinishedAt.IsZero() {
		now := s.now()
		r.FinishedAt = &now
	}
	r.FinishedAt = normPtr(r.FinishedAt)
	if r.Outcome == "" || r.Outcome == store.JobRunning {
		if r.Error != "" {
			r.Outcome = store.JobFailed
		} else {
			r.Outcome = store.JobSucceeded
		}
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, outcome = ?, error = ?, rows_affected = ?,
			message = ? WHERE id = ?`, microPtr(r.FinishedAt), string(r.Outcome), nullString(r.Error), r.RowsAffected,
			nullString(r.Message), r.ID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

const jobRunColumns = `id, job, run_key, scheduled_at, started_at, finished_at, outcome, error, rows_affected,
	message, instance`

func scanJobRuns(rows *sql.Rows) ([]store.JobRun, error) {
	defer rows.Close()
	out := []store.JobRun{}
	for rows.Next() {
		var r store.JobRun
		var key, errText, msg, inst sql.NullString
		var scheduled, finished sql.NullInt64
		var started int64
		var outcome string
		if err := rows.Scan(&r.ID, &r.Job, &key, &scheduled, &started, &finished, &outcome, &errText,
			&r.RowsAffected, &msg, &inst); err != nil {
			return nil, err
		}
		r.RunKey, r.Error, r.Message, r.Instance = key.String, errText.String, msg.String, inst.String
		if scheduled.Valid {
			r.ScheduledAt = fromMicro(scheduled.Int64)
		}
		r.StartedAt, r.FinishedAt, r.Outcome = fromMicro(started), timePtr(finished), store.JobOutcome(outcome)
		out = append(out, r)
	}
	return out, rows.Err()
}

// JobRunLatest returns the latest run of every job, ordered by job name.
func (s *Store) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	const op = "latest job runs"
	rows, err := s.reader.QueryContext(ctx, `SELECT `+jobRunColumns+` FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC, id DESC) AS rn FROM job_runs)
		WHERE rn = 1 ORDER BY job`)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := scanJobRuns(rows)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// JobRunList returns the newest runs of one job (every job when job is
// empty), at most limit (0 means HealthSampleListDefault).
func (s *Store) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	const op = "list job runs"
	limit, err := listLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	query, args := "SELECT "+jobRunColumns+" FROM job_runs", []any{}
	if job != "" {
		query, args = query+" WHERE job = ?", append(args, job)
	}
	rows, err := s.reader.QueryContext(ctx, query+" ORDER BY started_at DESC, id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out, err := scanJobRuns(rows)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// WeeklyReportUpsert stores the summary of one week, replacing the stored one.
func (s *Store) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	const op = "upsert weekly report"
	if err := validDay("week_start", w.WeekStart); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	summary, err := encodeMap(w.Summary)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("summary", "cannot be encoded as JSON: %v", err))
	}
	w.CreatedAt = utcNow(w.CreatedAt, s.now())
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO weekly_reports (week_start, summary, created_at) VALUES (?, ?, ?)",
			w.WeekStart, summary, micro(w.CreatedAt))
		return err
	})
}

// WeeklyReportList returns the newest weeks first, at most limit (0 means
// HealthSampleListDefault).
func (s *Store) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	const op = "list weekly reports"
	limit, err := listLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT week_start, summary, created_at FROM weekly_reports ORDER BY week_start DESC LIMIT ?", limit)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []store.WeeklyReport{}
	for rows.Next() {
		var w store.WeeklyReport
		var summary string
		var created int64
		if err := rows.Scan(&w.WeekStart, &summary, &created); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		w.CreatedAt = fromMicro(created)
		if w.Summary, err = decodeAnyMap(summary); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}
