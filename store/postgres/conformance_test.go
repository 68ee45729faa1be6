package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := newStore(t)
		return s
	})
}

func openZone(t testing.TB, url string, loc *time.Location, skipMigrate bool) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Config{Location: loc, SkipMigrate: skipMigrate})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformanceZoned(t *testing.T) {
	storetest.RunZoned(t, func(t *testing.T, loc *time.Location) store.Store {
		return openZone(t, testdb.PostgresURL(t), loc, false)
	})
}

// TestReportDayCountersFollowTheZone reopens a schema in another reporting
// zone: the per-day counters are refilled in the new zone, and the counts
// read from them match a scan of the reports.
func TestReportDayCountersFollowTheZone(t *testing.T) {
	ctx := context.Background()
	s, url := newStore(t)
	storetest.Seed(t, s, storetest.DomainDataset())
	ny, err := time.LoadLocation("America/New_York")
	must(t, err)
	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, ny), time.Date(2025, 4, 1, 0, 0, 0, 0, ny)
	// In UTC the New York query scans the reports; that is the reference.
	want, err := s.ReportDailyCounts(ctx, from, to, ny)
	must(t, err)
	if len(want) == 0 {
		t.Fatal("no reports in the range")
	}
	for _, skip := range []bool{false, true} {
		s2 := openZone(t, url, ny, skip)
		if n := count(t, s2, "SELECT count(*) FROM report_day_zone WHERE zone = 'America/New_York'"); n != 1 {
			t.Fatalf("recorded zone: %d rows name New York", n)
		}
		got, err := s2.ReportDailyCounts(ctx, from, to, ny)
		must(t, err)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("counts in New York after reopening (skip migrate %v) (-want +got):\n%s", skip, d)
		}
	}
}
