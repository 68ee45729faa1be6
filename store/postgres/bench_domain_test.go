package postgres_test

import (
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// BenchmarkDomainReads measures each report aggregation the analytics
// routes use over 10,000 reports with 100,000 recommendations, with the
// planner statistics up to date.
func BenchmarkDomainReads(b *testing.B) {
	ctx := b.Context()
	s, _ := newStore(b)
	opts, err := benchdata.Fill(ctx, s, benchdata.Options{Activities: 1000, Recommendations: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	// As autovacuum does after a bulk load (and so it does not run during
	// the measurements).
	if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE activities, activity_day_counts, activity_user_counts,
			activity_user_day_counts, activity_hour_counts, clients, reports, recommendations, report_category_counts`); err != nil {
		b.Fatal(err)
	}
	end := opts.End
	month := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		fn   func() error
	}{
		{"ReportMetrics", func() error {
			_, err := s.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: month, PrevMonthStart: month.AddDate(0, -1, 0)})
			return err
		}},
		{"RecommendationCategoryCounts", func() error { _, err := s.RecommendationCategoryCounts(ctx); return err }},
		{"RecommendationImpactCounts", func() error { _, err := s.RecommendationImpactCounts(ctx); return err }},
		{"ReportDailyCounts30d", func() error {
			_, err := s.ReportDailyCounts(ctx, end.AddDate(0, 0, -30), end, nil)
			return err
		}},
		{"ReportRecent", func() error { _, err := s.ReportRecent(ctx, 10); return err }},
		{"ClientPerformanceAll", func() error { _, err := s.ClientPerformance(ctx, ""); return err }},
		{"ClientPerformanceOne", func() error {
			_, err := s.ClientPerformance(ctx, "10000000-0000-4000-8000-000000000007")
			return err
		}},
		{"CostFigures", func() error {
			_, err := s.CostFigures(ctx, store.CostParams{MonthsFrom: end.AddDate(-1, 0, 0), To: end})
			return err
		}},
		{"ReportWindowStats30d", func() error {
			_, err := s.ReportWindowStats(ctx, end.AddDate(0, 0, -30), end)
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
