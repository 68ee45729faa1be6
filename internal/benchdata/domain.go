package benchdata

import (
	"context"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Case is one measured call.
type Case struct {
	Name string
	Fn   func() error
}

// Run measures every case as a sub-benchmark.
func Run(b *testing.B, cases []Case) {
	for _, c := range cases {
		b.Run(c.Name, func(b *testing.B) {
			for b.Loop() {
				if err := c.Fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// DomainReads returns the report aggregations the analytics routes use, on
// a store filled by Fill whose data ends at end.
func DomainReads(ctx context.Context, s store.DomainReader, end time.Time) []Case {
	month := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC)
	return []Case{
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
}
