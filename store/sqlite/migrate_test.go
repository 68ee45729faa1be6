package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// TestMigrationBackfillsReportAggregates writes reports and
// recommendations on the first schema version, migrates, and checks that
// the report aggregates computed from them match.
func TestMigrationBackfillsReportAggregates(t *testing.T) {
	ctx := context.Background()
	path := testdb.SQLitePath(t)
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	const client = "c0000000-0000-4000-8000-000000000001"
	for _, q := range []string{
		string(init),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO clients VALUES ('` + client + `', 'Contoso', 'technology', 'active', 0, 0)`,
		`INSERT INTO reports (id, client_id, report_type, status, created_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '` + client + `', 'cost', 'completed', 1000),
			('a0000000-0000-4000-8000-000000000002', '` + client + `', 'cost', 'completed', 2000),
			('a0000000-0000-4000-8000-000000000003', '` + client + `', 'cost', 'completed', 3000)`,
		`INSERT INTO recommendations (id, report_id, position, category, business_impact, potential_savings_cents, currency) VALUES
			('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'cost', 'high', 10, 'USD'),
			('e0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1, 'cost', NULL, 20, 'USD'),
			('e0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 2, 'security', 'low', 100000000001, 'USD'),
			('e0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 0, 'security', 'high', 1999, 'USD')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		t.Fatalf("open and migrate: %v", err)
	}
	defer s.Close()
	cats, err := s.RecommendationCategoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imps, err := s.RecommendationImpactCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perf, err := s.ClientPerformance(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	type figures struct {
		Categories, Impacts []store.CountByKey
		Recommendations     int64
		Savings             float64
	}
	want := figures{
		Categories:      []store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}},
		Impacts:         []store.CountByKey{{Key: "high", Count: 2}, {Key: "", Count: 1}, {Key: "low", Count: 1}},
		Recommendations: 4, Savings: 1000000020.30,
	}
	got := figures{cats, imps, perf.TotalRecommendations, perf.TotalSavings}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("aggregates after migrating (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}}, perf.Categories); d != "" {
		t.Errorf("client categories after migrating (-want +got):\n%s", d)
	}
}
