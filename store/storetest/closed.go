package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// testClosedEveryMethod calls every method of a closed store with valid
// arguments: each returns an error wrapping store.ErrUnavailable.
func testClosedEveryMethod(t *testing.T, s store.Store) {
	d := DomainDataset()
	Seed(t, s, Dataset{Clients: d.Clients, Reports: d.Reports[:2], Activities: ActivityDataset(5)})
	must(t, s.Close(), "Close")
	c := ctx(t)
	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	client := d.Clients[0]
	report := cloneReport(d.Reports[0])
	err2 := func(_ any, err error) error { return err }
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(c) }},
		{"Size", func() error { return err2(s.Size(c)) }},
		{"MigrationStatus", func() error { _, _, err := s.MigrationStatus(c); return err }},
		{"Migrate", func() error { return s.Migrate(c) }},
		{"ActivityInsertMany", func() error { return s.ActivityInsertMany(c, []store.Activity{{ActivityType: "login"}}) }},
		{"ActivityList", func() error { return err2(s.ActivityList(c, store.ActivityListParams{})) }},
		{"ActivityIterate", func() error {
			return s.ActivityIterate(c, store.ActivityFilter{}, func(*store.Activity) error { return nil })
		}},
		{"ActivitySummary", func() error {
			return err2(s.ActivitySummary(c, store.ActivitySummaryParams{GroupBy: store.GroupByType}))
		}},
		{"ActivityDistinctUsers", func() error { return err2(s.ActivityDistinctUsers(c, now)) }},
		{"ActivityDeleteByUser", func() error { return err2(s.ActivityDeleteByUser(c, "u1")) }},
		{"ActivityDeleteBefore", func() error { return err2(s.ActivityDeleteBefore(c, now, 0)) }},
		{"ClientUpsert", func() error { return s.ClientUpsert(c, &client) }},
		{"ReportUpsert", func() error { return s.ReportUpsert(c, &report) }},
		{"ClientGet", func() error { return err2(s.ClientGet(c, ClientContoso)) }},
		{"ClientList", func() error { return err2(s.ClientList(c, "", 0, 0)) }},
		{"ReportGet", func() error { return err2(s.ReportGet(c, DomainReport(1))) }},
		{"ReportMetrics", func() error {
			return err2(s.ReportMetrics(c, store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart}))
		}},
		{"RecommendationCategoryCounts", func() error { return err2(s.RecommendationCategoryCounts(c)) }},
		{"RecommendationImpactCounts", func() error { return err2(s.RecommendationImpactCounts(c)) }},
		{"ReportDailyCounts", func() error { return err2(s.ReportDailyCounts(c, DomainPrevMonthStart, now, nil)) }},
		{"ReportRecent", func() error { return err2(s.ReportRecent(c, "", 5)) }},
		{"ClientPerformance", func() error { return err2(s.ClientPerformance(c, ClientContoso)) }},
		{"CostFigures", func() error { return err2(s.CostFigures(c, store.CostParams{MonthsFrom: DomainPrevMonthStart})) }},
		{"ReportWindowStats", func() error { return err2(s.ReportWindowStats(c, DomainPrevMonthStart, now)) }},
		{"MetricsSnapshotUpsert", func() error {
			return s.MetricsSnapshotUpsert(c, &store.MetricsSnapshot{Period: store.PeriodDaily, PeriodStart: "2025-03-09",
				From: now.Add(-24 * time.Hour), To: now})
		}},
		{"MetricsSnapshotList", func() error { return err2(s.MetricsSnapshotList(c, store.PeriodDaily, "", "")) }},
		{"UsageStatsUpsert", func() error { return s.UsageStatsUpsert(c, &store.UsageStats{HourStart: now}) }},
		{"UsageStatsList", func() error { return err2(s.UsageStatsList(c, now.Add(-time.Hour), now)) }},
		{"HealthSampleInsert", func() error {
			return s.HealthSampleInsert(c, &store.HealthSample{TakenAt: now, Status: "healthy"})
		}},
		{"HealthSampleList", func() error { return err2(s.HealthSampleList(c, 5)) }},
		{"HealthSampleDeleteBefore", func() error { return err2(s.HealthSampleDeleteBefore(c, now)) }},
		{"JobRunStart", func() error {
			return s.JobRunStart(c, &store.JobRun{Job: "j", RunKey: "j@1", StartedAt: now, Outcome: store.JobRunning})
		}},
		{"JobRunFinish", func() error {
			return s.JobRunFinish(c, &store.JobRun{ID: ID('f', 1), Job: "j", StartedAt: now, FinishedAt: &now, Outcome: store.JobSucceeded})
		}},
		{"JobRunLatest", func() error { return err2(s.JobRunLatest(c)) }},
		{"JobRunList", func() error { return err2(s.JobRunList(c, "", 5)) }},
		{"WeeklyReportUpsert", func() error {
			return s.WeeklyReportUpsert(c, &store.WeeklyReport{WeekStart: "2025-03-03", Summary: map[string]any{"n": 1}, CreatedAt: now})
		}},
		{"WeeklyReportList", func() error { return err2(s.WeeklyReportList(c, 5)) }},
	}
	for _, call := range calls {
		err := call.call()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: got error %v, want one wrapping store.ErrUnavailable", call.name, err)
		}
	}
}
