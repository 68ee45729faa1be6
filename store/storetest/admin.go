package storetest

import (
	"context"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func runAdmin(t *testing.T, open OpenFunc) {
	parallel(t, open, "Database", testAdminDatabase)
	parallel(t, open, "CancelledContext", testCancelledContext)
	parallel(t, open, "Close", testClose)
	parallel(t, open, "ClosedEveryMethod", testClosedEveryMethod)
}

func testAdminDatabase(t *testing.T, s store.Store) {
	must(t, s.Ping(ctx(t)), "Ping")
	Seed(t, s, Dataset{Activities: ActivityDataset(20)})
	size, err := s.Size(ctx(t))
	must(t, err, "Size")
	if size <= 0 {
		t.Errorf("Size = %d, want > 0", size)
	}
	applied, latest, err := s.MigrationStatus(ctx(t))
	must(t, err, "MigrationStatus")
	if latest < 1 || applied != latest {
		t.Errorf("MigrationStatus = applied %d, latest %d; want applied == latest ≥ 1", applied, latest)
	}
	// Migrating a migrated store changes nothing.
	must(t, s.Migrate(ctx(t)), "Migrate")
	applied2, latest2, err := s.MigrationStatus(ctx(t))
	must(t, err, "MigrationStatus")
	if applied2 != applied || latest2 != latest {
		t.Errorf("after Migrate: applied %d latest %d, want %d %d", applied2, latest2, applied, latest)
	}
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if page.Total != 20 {
		t.Errorf("after Migrate: Total %d, want 20", page.Total)
	}
	if st := s.Stats(); st.Driver == "" {
		t.Errorf("Stats().Driver is empty")
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(c) }},
		{"ActivityInsertMany", func() error {
			return s.ActivityInsertMany(c, []store.Activity{{ActivityType: "login"}})
		}},
		{"ActivityList", func() error { _, err := s.ActivityList(c, store.ActivityListParams{}); return err }},
		{"ActivityIterate", func() error {
			return s.ActivityIterate(c, store.ActivityFilter{}, func(*store.Activity) error { return nil })
		}},
		{"ActivitySummary", func() error {
			_, err := s.ActivitySummary(c, store.ActivitySummaryParams{GroupBy: store.GroupByDay})
			return err
		}},
		{"ActivityDeleteBefore", func() error { _, err := s.ActivityDeleteBefore(c, DomainMonthStart, 0); return err }},
		{"ClientUpsert", func() error {
			return s.ClientUpsert(c, &store.Client{ID: ID('c', 50), CompanyName: "Late"})
		}},
		{"ReportGet", func() error { _, err := s.ReportGet(c, DomainReport(1)); return err }},
		{"ReportMetrics", func() error {
			_, err := s.ReportMetrics(c, store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart})
			return err
		}},
		{"ClientPerformance", func() error { _, err := s.ClientPerformance(c, ""); return err }},
		{"JobRunLatest", func() error { _, err := s.JobRunLatest(c); return err }},
		{"Size", func() error { _, err := s.Size(c); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			wantIs(t, tc.call(), context.Canceled, tc.name+" with a cancelled context")
		})
	}
	// Nothing was written.
	if _, err := s.ClientGet(ctx(t), ID('c', 50)); err == nil {
		t.Errorf("ClientUpsert with a cancelled context wrote the client")
	}
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if page.Total != 0 {
		t.Errorf("ActivityInsertMany with a cancelled context wrote %d rows", page.Total)
	}
}

func testClose(t *testing.T, s store.Store) {
	must(t, s.Ping(ctx(t)), "Ping")
	must(t, s.Close(), "Close")
	must(t, s.Close(), "second Close")
	// A closed store is shutting down: ErrUnavailable.
	wantIs(t, s.Ping(ctx(t)), store.ErrUnavailable, "Ping after Close")
	wantIs(t, s.ActivityInsertMany(ctx(t), []store.Activity{{ActivityType: "login"}}), store.ErrUnavailable, "ActivityInsertMany after Close")
	_, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	wantIs(t, err, store.ErrUnavailable, "ActivityList after Close")
}
