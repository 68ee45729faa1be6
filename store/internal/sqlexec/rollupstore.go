package sqlexec

import (
	"context"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// RollupSQL holds a driver's statements for the rollup tables. Each SELECT
// lists the columns in the order of the matching Scan function; the
// arguments are described on each field.
type RollupSQL struct {
	UpsertSnapshot string // the MetricsSnapshot columns in table order
	ListSnapshots  string // period, from day (NULL = unbounded), to day (NULL = unbounded)
	UpsertUsage    string // the UsageStats columns in table order
	ListUsage      string // from, to
	InsertHealth   string // taken_at, status, data; returns id
	ListHealth     string // limit
	DeleteHealth   string // cutoff
	StartJobRun    string // id, job, run_key, scheduled_at, started_at, finished_at, outcome, error, rows_affected, message, instance
	FinishJobRun   string // id, finished_at, outcome, error, rows_affected, message
	LatestJobRuns  string // none
	ListJobRuns    string // limit
	ListJobRunsOf  string // limit, job
	UpsertWeekly   string // week_start, summary, created_at
	ListWeekly     string // limit
}

// RollupDB is what a driver gives Rollups.
type RollupDB struct {
	SQL  RollupSQL
	Read Queryer
	// Write runs one statement in its own write transaction and returns
	// the rows it affected; with dest it scans the statement's one row
	// into dest instead.
	Write func(ctx context.Context, op, query string, dest []any, args ...any) (int64, error)
	Wrap  func(ctx context.Context, op string, err error) error
	Now   func() time.Time
	Time  func(time.Time) any // a time as the driver binds it
	Text  func(string) string // text as the driver stores it
}

// Rollups implements store.RollupStore once for both drivers, which embed
// it: the checks, the encoding and the scans are here, the SQL and the
// transaction in the driver.
type Rollups struct{ db RollupDB }

// NewRollups returns the rollup methods over db.
func NewRollups(db RollupDB) *Rollups { return &Rollups{db: db} }

func (r *Rollups) write(ctx context.Context, op, query string, args ...any) error {
	_, err := r.db.Write(ctx, op, query, nil, args...)
	return r.db.Wrap(ctx, op, err)
}

func (r *Rollups) timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return r.db.Time(t)
}

func (r *Rollups) timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return r.db.Time(*t)
}

func (r *Rollups) textOrNil(s string) any {
	if s == "" {
		return nil
	}
	return r.db.Text(s)
}

// MetricsSnapshotUpsert stores a snapshot, replacing the one of the same
// period and start.
func (r *Rollups) MetricsSnapshotUpsert(ctx context.Context, m *store.MetricsSnapshot) error {
	const op = "upsert metrics snapshot"
	if err := storedriver.PrepareMetricsSnapshot(m, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	cats, err := jsonenc.Counts(m.CategoryCounts)
	if err != nil {
		return r.db.Wrap(ctx, op, storedriver.Invalid("category_counts", "%v", err))
	}
	types, err := jsonenc.Counts(m.ReportTypeCounts)
	if err != nil {
		return r.db.Wrap(ctx, op, storedriver.Invalid("report_type_counts", "%v", err))
	}
	return r.write(ctx, op, r.db.SQL.UpsertSnapshot, string(m.Period), m.PeriodStart, r.db.Time(m.From),
		r.db.Time(m.To), m.TotalReports, m.ReportsCreated, m.ReportsCompleted, m.ReportsFailed, m.ActiveUsers,
		m.NewClients, m.TotalRecommendations, m.TotalPotentialSavings, m.Activities, m.Logins, m.Uploads,
		m.Downloads, m.Shares, m.AvgGenerationSeconds, m.SuccessRate, cats, types, r.db.Time(m.ComputedAt))
}

// MetricsSnapshotList returns the snapshots of one period whose start is in
// [fromDay, toDay], oldest first.
func (r *Rollups) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	const op = "list metrics snapshots"
	if err := storedriver.CheckSnapshotRange(period, fromDay, toDay); err != nil {
		return nil, r.db.Wrap(ctx, op, err)
	}
	out, err := Query(ctx, r.db.Read, ScanMetricsSnapshot, r.db.SQL.ListSnapshots, string(period),
		r.textOrNil(fromDay), r.textOrNil(toDay))
	return out, r.db.Wrap(ctx, op, err)
}

// UsageStatsUpsert stores the usage of one hour, replacing a previous one.
// HourStart is truncated to the hour.
func (r *Rollups) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	const op = "upsert usage stats"
	if err := storedriver.PrepareUsageStats(u, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	types, err := jsonenc.Counts(u.ReportTypeCounts)
	if err != nil {
		return r.db.Wrap(ctx, op, storedriver.Invalid("report_type_counts", "%v", err))
	}
	return r.write(ctx, op, r.db.SQL.UpsertUsage, r.db.Time(u.HourStart), u.ReportsGenerated, u.ReportsFailed,
		u.CSVUploads, u.FailedUploads, u.Downloads, u.Shares, u.AvgCSVSizeBytes, u.AvgProcessingMinutes, types,
		r.db.Time(u.ComputedAt))
}

// UsageStatsList returns the hours in [from, to), oldest first.
func (r *Rollups) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	out, err := Query(ctx, r.db.Read, ScanUsageStats, r.db.SQL.ListUsage, r.db.Time(from), r.db.Time(to))
	return out, r.db.Wrap(ctx, "list usage stats", err)
}

// HealthSampleInsert stores a sample and sets its ID.
func (r *Rollups) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	const op = "insert health sample"
	if err := storedriver.PrepareHealthSample(h, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	data, err := jsonenc.Object(h.Data)
	if err != nil {
		return r.db.Wrap(ctx, op, storedriver.Invalid("data", "cannot be encoded as JSON: %v", err))
	}
	_, err = r.db.Write(ctx, op, r.db.SQL.InsertHealth, []any{&h.ID}, r.db.Time(h.TakenAt), r.db.Text(h.Status), data)
	return r.db.Wrap(ctx, op, err)
}

// HealthSampleList returns the newest samples first, at most limit (0
// means store.RollupListDefault).
func (r *Rollups) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	const op = "list health samples"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, r.db.Wrap(ctx, op, err)
	}
	out, err := Query(ctx, r.db.Read, ScanHealthSample, r.db.SQL.ListHealth, limit)
	return out, r.db.Wrap(ctx, op, err)
}

// HealthSampleDeleteBefore deletes the samples taken before cutoff.
func (r *Rollups) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	const op = "delete health samples"
	n, err := r.db.Write(ctx, op, r.db.SQL.DeleteHealth, nil, r.db.Time(cutoff))
	if err != nil {
		return 0, r.db.Wrap(ctx, op, err)
	}
	return n, nil
}

// JobRunStart records the start of a run; a RunKey already recorded is
// store.ErrConflict. Empty ID, StartedAt and Outcome are filled in.
func (r *Rollups) JobRunStart(ctx context.Context, run *store.JobRun) error {
	const op = "start job run"
	if err := storedriver.PrepareJobRunStart(run, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	return r.write(ctx, op+" "+run.Job, r.db.SQL.StartJobRun, run.ID, r.db.Text(run.Job), r.textOrNil(run.RunKey),
		r.timeOrNil(run.ScheduledAt), r.db.Time(run.StartedAt), r.timePtr(run.FinishedAt), string(run.Outcome),
		r.textOrNil(run.Error), run.RowsAffected, r.textOrNil(run.Message), r.textOrNil(run.Instance))
}

// JobRunFinish records the outcome of a started run. A nil FinishedAt
// becomes now; an empty or running Outcome becomes failed when Error is
// set and succeeded otherwise. An unknown ID is store.ErrNotFound.
func (r *Rollups) JobRunFinish(ctx context.Context, run *store.JobRun) error {
	const op = "finish job run"
	if err := storedriver.PrepareJobRunFinish(run, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	n, err := r.db.Write(ctx, op, r.db.SQL.FinishJobRun, nil, run.ID, r.timePtr(run.FinishedAt), string(run.Outcome),
		r.textOrNil(run.Error), run.RowsAffected, r.textOrNil(run.Message))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return r.db.Wrap(ctx, op, err)
}

// JobRunLatest returns the latest run of every job, ordered by job name.
func (r *Rollups) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	out, err := Query(ctx, r.db.Read, ScanJobRun, r.db.SQL.LatestJobRuns)
	return out, r.db.Wrap(ctx, "latest job runs", err)
}

// JobRunList returns the newest runs of one job (every job when job is
// empty), at most limit (0 means store.RollupListDefault).
func (r *Rollups) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	const op = "list job runs"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, r.db.Wrap(ctx, op, err)
	}
	query, args := r.db.SQL.ListJobRuns, []any{limit}
	if job != "" {
		query, args = r.db.SQL.ListJobRunsOf, append(args, r.db.Text(job))
	}
	out, err := Query(ctx, r.db.Read, ScanJobRun, query, args...)
	return out, r.db.Wrap(ctx, op, err)
}

// WeeklyReportUpsert stores the summary of one week, replacing a previous
// one.
func (r *Rollups) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	const op = "upsert weekly report"
	if err := storedriver.PrepareWeeklyReport(w, r.db.Now()); err != nil {
		return r.db.Wrap(ctx, op, err)
	}
	summary, err := jsonenc.Object(w.Summary)
	if err != nil {
		return r.db.Wrap(ctx, op, storedriver.Invalid("summary", "cannot be encoded as JSON: %v", err))
	}
	return r.write(ctx, op, r.db.SQL.UpsertWeekly, w.WeekStart, summary, r.db.Time(w.CreatedAt))
}

// WeeklyReportList returns the newest weeks first, at most limit (0 means
// store.RollupListDefault).
func (r *Rollups) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	const op = "list weekly reports"
	limit, err := storedriver.ListLimit(limit, store.RollupListDefault)
	if err != nil {
		return nil, r.db.Wrap(ctx, op, err)
	}
	out, err := Query(ctx, r.db.Read, ScanWeeklyReport, r.db.SQL.ListWeekly, limit)
	return out, r.db.Wrap(ctx, op, err)
}
