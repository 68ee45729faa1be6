package sqlexec

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
)

// timeDest scans a timestamp stored as a time (PostgreSQL) or as unix
// microseconds (SQLite) into UTC; NULL is the zero time.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = v.UTC()
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

// timePtrDest is timeDest for a nullable time: NULL is nil.
type timePtrDest struct{ t **time.Time }

func (d timePtrDest) Scan(src any) error {
	if src == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (timeDest{&t}).Scan(src); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// The rollup rows below are scanned alike by both drivers: each driver's
// SELECT lists the columns in the order of the scan.

// ScanMetricsSnapshot scans period, period_start (text), from_at, to_at,
// the figures, category_counts, report_type_counts (JSON) and computed_at.
func ScanMetricsSnapshot(sc Scanner) (m store.MetricsSnapshot, err error) {
	var cats, types []byte
	if err := sc.Scan(&m.Period, &m.PeriodStart, timeDest{&m.From}, timeDest{&m.To}, &m.TotalReports,
		&m.ReportsCreated, &m.ReportsCompleted, &m.ReportsFailed, &m.ActiveUsers, &m.NewClients,
		&m.TotalRecommendations, &m.TotalPotentialSavings, &m.Activities, &m.Logins, &m.Uploads, &m.Downloads,
		&m.Shares, &m.AvgGenerationSeconds, &m.SuccessRate, &cats, &types, timeDest{&m.ComputedAt}); err != nil {
		return m, err
	}
	if m.CategoryCounts, err = jsonenc.DecodeCounts(cats); err != nil {
		return m, err
	}
	m.ReportTypeCounts, err = jsonenc.DecodeCounts(types)
	return m, err
}

// ScanUsageStats scans hour_start, the figures, report_type_counts (JSON)
// and computed_at.
func ScanUsageStats(sc Scanner) (u store.UsageStats, err error) {
	var types []byte
	if err := sc.Scan(timeDest{&u.HourStart}, &u.ReportsGenerated, &u.ReportsFailed, &u.CSVUploads,
		&u.FailedUploads, &u.Downloads, &u.Shares, &u.AvgCSVSizeBytes, &u.AvgProcessingMinutes, &types,
		timeDest{&u.ComputedAt}); err != nil {
		return u, err
	}
	u.ReportTypeCounts, err = jsonenc.DecodeCounts(types)
	return u, err
}

// ScanHealthSample scans id, taken_at, status and data (JSON).
func ScanHealthSample(sc Scanner) (h store.HealthSample, err error) {
	var data []byte
	if err := sc.Scan(&h.ID, timeDest{&h.TakenAt}, &h.Status, &data); err != nil {
		return h, err
	}
	h.Data, err = jsonenc.DecodeObject(data)
	return h, err
}

// JobRunColumns are the columns ScanJobRun reads, in its order.
const JobRunColumns = `id, job, run_key, scheduled_at, started_at, finished_at, outcome, error, rows_affected,
	message, instance`

// ScanJobRun scans the JobRunColumns.
func ScanJobRun(sc Scanner) (r store.JobRun, err error) {
	var key, errText, msg, inst sql.NullString
	if err := sc.Scan(&r.ID, &r.Job, &key, timeDest{&r.ScheduledAt}, timeDest{&r.StartedAt},
		timePtrDest{&r.FinishedAt}, &r.Outcome, &errText, &r.RowsAffected, &msg, &inst); err != nil {
		return r, err
	}
	r.RunKey, r.Error, r.Message, r.Instance = key.String, errText.String, msg.String, inst.String
	return r, nil
}

// ScanWeeklyReport scans week_start (text), summary (JSON) and created_at.
func ScanWeeklyReport(sc Scanner) (w store.WeeklyReport, err error) {
	var summary []byte
	if err := sc.Scan(&w.WeekStart, &summary, timeDest{&w.CreatedAt}); err != nil {
		return w, err
	}
	w.Summary, err = jsonenc.DecodeObject(summary)
	return w, err
}
