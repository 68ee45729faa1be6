package postgres_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// TestMigrationBackfillsReportAggregates writes reports and
// recommendations on the first schema version, migrates, and checks that
// the report aggregates computed from them match.
func TestMigrationBackfillsReportAggregates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	init, err := os.ReadFile("migrations/0001_init.sql")
	must(t, err)
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), postgres.Config{SkipMigrate: true})
	must(t, err)
	defer s.Close()
	const client = "c0000000-0000-4000-8000-000000000001"
	for _, q := range []string{
		string(init),
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO schema_migrations (version, name) VALUES (1, 'init')`,
		`INSERT INTO clients VALUES ('` + client + `', 'Contoso', 'technology', 'active', now(), now())`,
		`INSERT INTO reports (id, client_id, report_type, status, created_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '` + client + `', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000002', '` + client + `', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000003', '` + client + `', 'cost', 'completed', now())`,
		`INSERT INTO recommendations (id, report_id, position, category, business_impact, potential_savings, currency) VALUES
			('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'cost', 'high', 0.10, 'USD'),
			('e0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1, 'cost', NULL, 0.20, 'USD'),
			('e0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 2, 'security', 'low', 1000000000.01, 'USD'),
			('e0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 0, 'security', 'high', 19.99, 'USD')`,
	} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	must(t, s.Migrate(ctx))
	cats, err := s.RecommendationCategoryCounts(ctx)
	must(t, err)
	imps, err := s.RecommendationImpactCounts(ctx)
	must(t, err)
	perf, err := s.ClientPerformance(ctx, client)
	must(t, err)
	type figures struct {
		Categories, Impacts, ClientCategories []store.CountByKey
		Recommendations                       int64
		Savings                               float64
	}
	want := figures{
		Categories:       []store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}},
		Impacts:          []store.CountByKey{{Key: "high", Count: 2}, {Key: "", Count: 1}, {Key: "low", Count: 1}},
		ClientCategories: []store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}},
		Recommendations:  4, Savings: 1000000020.30,
	}
	got := figures{cats, imps, perf.Categories, perf.TotalRecommendations, perf.TotalSavings}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("aggregates after migrating (-want +got):\n%s", d)
	}
}

// TestMigrationRefillsReportDayCounters starts from a database that the
// previous schema version left with its per-day report counters built:
// migrating fills them again, with the failed reports and processing times
// they did not count.
func TestMigrationRefillsReportDayCounters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), postgres.Config{SkipMigrate: true})
	must(t, err)
	defer s.Close()
	queries := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`}
	for v, name := range []string{"0001_init", "0002_report_aggregates", "0003_activities_key", "0004_report_day_counts",
		"0005_activities_partitioned", "0006_user_block_counts"} {
		b, err := os.ReadFile("migrations/" + name + ".sql")
		must(t, err)
		queries = append(queries, string(b), fmt.Sprintf("INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')", v+1, name))
	}
	const client = "c0000000-0000-4000-8000-000000000001"
	queries = append(queries,
		`INSERT INTO clients VALUES ('`+client+`', 'Contoso', 'technology', 'active', now(), now())`,
		`INSERT INTO reports (id, client_id, report_type, status, created_at, processing_started_at, processing_completed_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+client+`', 'cost', 'completed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:02.5Z'),
			('a0000000-0000-4000-8000-000000000002', '`+client+`', 'cost', 'failed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:09Z')`,
		// The counters as the previous version built them, in UTC.
		`INSERT INTO report_day_counts (day, report_type, reports, completed, recommendations, savings_cents)
			VALUES ('2025-01-01', 'cost', 2, 1, 0, 0)`,
		`UPDATE report_day_zone SET zone = 'UTC'`)
	for _, q := range queries {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	must(t, s.Migrate(ctx))
	all, err := s.ClientPerformance(ctx, "")
	must(t, err)
	if all.TotalReports != 2 || all.CompletedReports != 1 || all.FailedReports != 1 || all.AvgProcessingSeconds != 2.5 {
		t.Errorf("performance of every client after migrating: %+v", all)
	}
}
