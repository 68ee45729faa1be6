package postgres_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// migrationClient is the client the migration tests write on an earlier
// schema version, with insertClient.
const (
	migrationClient = "c0000000-0000-4000-8000-000000000001"
	insertClient    = `INSERT INTO clients VALUES ('` + migrationClient + `', 'Contoso', 'technology', 'active', now(), now())`
)

// storeAt opens a store on a new schema without migrating, applies the
// first n embedded migrations' files and runs queries.
func storeAt(t *testing.T, n int, queries ...string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), testdb.PostgresURL(t), postgres.Config{SkipMigrate: true})
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < n {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	all := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`}
	for v, f := range files[:n] {
		b, err := os.ReadFile(f)
		must(t, err)
		all = append(all, string(b), fmt.Sprintf("INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
			v+1, strings.TrimSuffix(filepath.Base(f), ".sql")))
	}
	for _, q := range append(all, queries...) {
		if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	return s
}

// TestMigrationBackfillsReportAggregates writes reports and
// recommendations on the first schema version, migrates, and checks that
// the report aggregates computed from them match.
func TestMigrationBackfillsReportAggregates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeAt(t, 1,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migrationClient+`', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000002', '`+migrationClient+`', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000003', '`+migrationClient+`', 'cost', 'completed', now())`,
		`INSERT INTO recommendations (id, report_id, position, category, business_impact, potential_savings, currency) VALUES
			('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'cost', 'high', 0.10, 'USD'),
			('e0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1, 'cost', NULL, 0.20, 'USD'),
			('e0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 2, 'security', 'low', 1000000000.01, 'USD'),
			('e0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 0, 'security', 'high', 19.99, 'USD')`)
	must(t, s.Migrate(ctx))
	cats, err := s.RecommendationCategoryCounts(ctx)
	must(t, err)
	imps, err := s.RecommendationImpactCounts(ctx)
	must(t, err)
	perf, err := s.ClientPerformance(ctx, migrationClient)
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
	s := storeAt(t, 6,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at, processing_started_at, processing_completed_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migrationClient+`', 'cost', 'completed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:02.5Z'),
			('a0000000-0000-4000-8000-000000000002', '`+migrationClient+`', 'cost', 'failed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:09Z')`,
		// The counters as the previous version built them, in UTC.
		`INSERT INTO report_day_counts (day, report_type, reports, completed, recommendations, savings_cents)
			VALUES ('2025-01-01', 'cost', 2, 1, 0, 0)`,
		`UPDATE report_day_zone SET zone = 'UTC'`)
	must(t, s.Migrate(ctx))
	all, err := s.ClientPerformance(ctx, "")
	must(t, err)
	if all.TotalReports != 2 || all.CompletedReports != 1 || all.FailedReports != 1 || all.AvgProcessingSeconds != 2.5 {
		t.Errorf("performance of every client after migrating: %+v", all)
	}
}
