package storedriver

import (
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// PrepareMetricsSnapshot validates m (a known Period, PeriodStart a date)
// and normalises its times in place (UTC, zero ComputedAt = now).
func PrepareMetricsSnapshot(m *store.MetricsSnapshot, now time.Time) error {
	if !m.Period.Valid() {
		return Invalid("period", "unknown period %q", m.Period)
	}
	if err := validDay("period_start", m.PeriodStart); err != nil {
		return err
	}
	m.From, m.To = utc(m.From), utc(m.To)
	m.ComputedAt = utcOrNow(m.ComputedAt, now)
	return nil
}

// PrepareUsageStats validates u (HourStart set), truncates HourStart to
// the hour in UTC and sets a zero ComputedAt to now.
func PrepareUsageStats(u *store.UsageStats, now time.Time) error {
	if u.HourStart.IsZero() {
		return Invalid("hour_start", "is required")
	}
	u.HourStart = u.HourStart.UTC().Truncate(time.Hour)
	u.ComputedAt = utcOrNow(u.ComputedAt, now)
	return nil
}

// PrepareHealthSample validates h (Status set) and sets a zero TakenAt to
// now.
func PrepareHealthSample(h *store.HealthSample, now time.Time) error {
	if h.Status == "" {
		return Invalid("status", "is required")
	}
	h.TakenAt = utcOrNow(h.TakenAt, now)
	return nil
}

// PrepareJobRunStart validates r (Job set, ID empty or a UUID) and fills
// it in place: a new ID when empty, StartedAt now when zero, Outcome
// running when empty, times in UTC.
func PrepareJobRunStart(r *store.JobRun, now time.Time) error {
	if r.Job == "" {
		return Invalid("job", "is required")
	}
	if r.ID == "" {
		r.ID = store.NewID()
	} else if id, ok := store.NormalizeUUID(r.ID); ok {
		r.ID = id
	} else {
		return Invalid("id", "must be a UUID")
	}
	if r.Outcome == "" {
		r.Outcome = store.JobRunning
	}
	r.StartedAt = utcOrNow(r.StartedAt, now)
	r.ScheduledAt = utc(r.ScheduledAt)
	r.FinishedAt = utcPtr(r.FinishedAt)
	return nil
}

// PrepareJobRunFinish validates r (ID a UUID) and fills it in place:
// FinishedAt now when nil or zero, an empty or running Outcome failed when
// Error is set and succeeded otherwise.
func PrepareJobRunFinish(r *store.JobRun, now time.Time) error {
	id, ok := store.NormalizeUUID(r.ID)
	if !ok {
		return Invalid("id", "must be a UUID")
	}
	r.ID = id
	fin := now
	if r.FinishedAt != nil && !r.FinishedAt.IsZero() {
		fin = *r.FinishedAt
	}
	r.FinishedAt = utcPtr(&fin)
	if r.Outcome == "" || r.Outcome == store.JobRunning {
		r.Outcome = store.JobSucceeded
		if r.Error != "" {
			r.Outcome = store.JobFailed
		}
	}
	return nil
}

// PrepareWeeklyReport validates w (WeekStart a date) and sets a zero
// CreatedAt to now.
func PrepareWeeklyReport(w *store.WeeklyReport, now time.Time) error {
	if err := validDay("week_start", w.WeekStart); err != nil {
		return err
	}
	w.CreatedAt = utcOrNow(w.CreatedAt, now)
	return nil
}

// CheckSnapshotRange validates the parameters of MetricsSnapshotList: a
// known period and bounds that are empty or dates (YYYY-MM-DD).
func CheckSnapshotRange(period store.Period, fromDay, toDay string) error {
	if !period.Valid() {
		return Invalid("period", "unknown period %q", period)
	}
	if fromDay != "" {
		if err := validDay("from", fromDay); err != nil {
			return err
		}
	}
	if toDay != "" {
		return validDay("to", toDay)
	}
	return nil
}

// ListLimit validates the limit of a list method and returns it with its
// default (0 means dflt: store.RollupListDefault for the rollup lists,
// store.RecentListDefault for ReportRecent).
func ListLimit(limit, dflt int) (int, error) {
	if limit < 0 {
		return 0, Invalid("limit", "must not be negative")
	}
	if limit == 0 {
		return dflt, nil
	}
	return limit, nil
}

// DeleteBatch validates the batch size of ActivityDeleteBefore and
// returns it with its default (0 means store.DeleteBatchDefault).
func DeleteBatch(n int) (int, error) {
	if n < 0 {
		return 0, Invalid("batch_size", "must not be negative")
	}
	if n == 0 {
		return store.DeleteBatchDefault, nil
	}
	return n, nil
}

func validDay(field, day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return Invalid(field, "must be a date (YYYY-MM-DD)")
	}
	return nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}
