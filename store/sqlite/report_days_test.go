package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
)

func TestConformanceZoned(t *testing.T) {
	storetest.RunZoned(t, func(t *testing.T, loc *time.Location) store.Store {
		s, _ := openWith(t, sqlite.Config{Location: loc})
		return s
	})
}

// TestReportDayCountersFollowTheZone reopens a database in another
// reporting zone: the per-day counters are refilled in the new zone, and
// the counts read from them match a scan of the reports.
func TestReportDayCountersFollowTheZone(t *testing.T) {
	ctx := context.Background()
	s, path := openWith(t, sqlite.Config{})
	storetest.Seed(t, s, storetest.DomainDataset())
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, ny), time.Date(2025, 4, 1, 0, 0, 0, 0, ny)
	// In UTC the New York query scans the reports; that is the reference.
	want, err := s.ReportDailyCounts(ctx, from, to, ny)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no reports in the range")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		s2, err := sqlite.Open(ctx, path, sqlite.Config{Location: ny, SkipMigrate: skip})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s2.ReportDailyCounts(ctx, from, to, ny)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("counts in New York after reopening (skip migrate %v) (-want +got):\n%s", skip, d)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
