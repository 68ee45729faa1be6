package postgres_test

import (
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// BenchmarkDomainReads measures each report aggregation the analytics
// routes use over 10,000 reports with 100,000 recommendations, with the
// planner statistics up to date.
func BenchmarkDomainReads(b *testing.B) {
	ctx := b.Context()
	s, _ := newStore(b)
	opts, err := benchdata.Fill(ctx, s, benchdata.Config{Activities: 1000, Recommendations: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	// As autovacuum does after a bulk load (and so it does not run during
	// the measurements).
	if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE activities, activity_day_counts, activity_user_counts,
			activity_user_day_counts, activity_user_block_counts, activity_hour_counts, clients, reports, recommendations, report_category_counts`); err != nil {
		b.Fatal(err)
	}
	benchdata.Run(b, benchdata.DomainReads(ctx, s, opts.End))
}

// BenchmarkClientList reads pages of 50 of the client directory among
// 100,000 clients, with the planner statistics up to date.
func BenchmarkClientList(b *testing.B) {
	ctx := b.Context()
	s, _ := newStore(b)
	cases, err := benchdata.ClientDirectory(ctx, s, 100_000)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "VACUUM ANALYZE clients"); err != nil {
		b.Fatal(err)
	}
	benchdata.Run(b, cases)
}
