package postgres_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// TestPreparedReads checks, on a store of one connection (so that
// pg_prepared_statements, which is per connection, shows its statements), that
// the dashboard's constant reads run prepared, each prepared once; that a
// plan the tables no longer fit (a column's type changed) is prepared again
// with the same answers; and that statements the server has forgotten (as
// behind a pooler that does not keep them) make the store go on unprepared,
// answering the same.
func TestPreparedReads(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), postgres.Config{MaxOpenConns: 1})
	must(t, err)
	defer s.Close()
	created := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	c := &store.Client{ID: store.NewID(), CompanyName: "Contoso", Industry: store.IndustryRetail, CreatedAt: created}
	must(t, s.ClientUpsert(ctx, c))
	for i := range 3 {
		must(t, s.ReportUpsert(ctx, &store.Report{ID: store.NewID(), ClientID: c.ID, CreatedBy: "u1",
			ReportType: store.ReportCost, Status: store.StatusCompleted, CreatedAt: created.Add(time.Duration(i) * 24 * time.Hour),
			Recommendations: []store.Recommendation{{Category: store.CategoryCost, BusinessImpact: "High", PotentialSavings: 10}}}))
	}
	from, to := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	type answers struct {
		Days       []store.ReportDayCount
		Categories []store.CountByKey
		Metrics    *store.ReportMetrics
	}
	read := func() answers {
		t.Helper()
		var a answers
		var err error
		a.Days, err = s.ReportDailyCounts(ctx, from, to, time.UTC)
		must(t, err)
		a.Categories, err = s.RecommendationCategoryCounts(ctx)
		must(t, err)
		a.Metrics, err = s.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: from, PrevMonthStart: from.AddDate(0, -1, 0)})
		must(t, err)
		return a
	}
	prepared := func() int64 {
		return count(t, s, `SELECT count(*) FROM pg_prepared_statements`)
	}
	want := read()
	if len(want.Days) != 3 || len(want.Categories) != 1 || want.Metrics.TotalReports != 3 {
		t.Fatalf("answers = %+v", want)
	}
	if n := prepared(); n != 3 {
		t.Errorf("%d statements prepared after the first reads, want 3", n)
	}
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("second reads (-first +second):\n%s", d)
	}
	if n := prepared(); n != 3 {
		t.Errorf("%d statements prepared after the second reads, want 3 (each once)", n)
	}

	// The counters' column changes type: the prepared plan no longer fits
	// (0A000); the read is answered, and its statement is prepared again
	// on the next.
	_, err = s.DB().ExecContext(ctx, `ALTER TABLE report_day_counts ALTER COLUMN reports TYPE numeric`)
	must(t, err)
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("reads after the type change (-before +after):\n%s", d)
	}
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("reads after the type change, again (-before +after):\n%s", d)
	}
	if n := prepared(); n != 3 {
		t.Errorf("%d statements prepared after the type change, want 3", n)
	}

	// The server forgets the statements (26000): the reads are answered,
	// from then on unprepared.
	_, err = s.DB().ExecContext(ctx, `DEALLOCATE ALL`)
	must(t, err)
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("reads after DEALLOCATE ALL (-before +after):\n%s", d)
	}
	if n := prepared(); n != 0 {
		t.Errorf("%d statements prepared after the server forgot them, want 0", n)
	}
}
