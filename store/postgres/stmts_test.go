package postgres_test

import (
	"fmt"
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
	s := oneConnStore(t)
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
	want := read()
	if len(want.Days) != 3 || len(want.Categories) != 1 || want.Metrics.TotalReports != 3 {
		t.Fatalf("answers = %+v", want)
	}
	// The counters' column changes type: the prepared plan no longer fits.
	checkPrepared(t, s, want, read, 3, `ALTER TABLE report_day_counts ALTER COLUMN reports TYPE numeric`)
}

// TestPreparedActivityReads is TestPreparedReads for a page of activities
// with its total and a summary, which run prepared in a read transaction:
// a statement the server refuses there aborts the transaction, and the
// read runs again in a new one.
func TestPreparedActivityReads(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := oneConnStore(t)
	at := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)
	var batch []store.Activity
	for i := range 30 {
		batch = append(batch, store.Activity{UserID: fmt.Sprintf("u%d", i%3), ActivityType: []string{"login", "report_view"}[i%2],
			StatusCode: 200, CreatedAt: at.Add(time.Duration(i) * time.Hour)})
	}
	must(t, s.ActivityInsertMany(ctx, batch))
	type answers struct {
		Page    *store.ActivityPage
		Next    *store.ActivityPage
		Summary *store.ActivitySummary
	}
	read := func() answers {
		t.Helper()
		var a answers
		var err error
		a.Page, err = s.ActivityList(ctx, store.ActivityListParams{Limit: 10, ActivityFilter: store.ActivityFilter{ActivityType: "login"}})
		must(t, err)
		a.Next, err = s.ActivityList(ctx, store.ActivityListParams{Limit: 10, Cursor: a.Page.NextCursor, ActivityFilter: store.ActivityFilter{ActivityType: "login"}})
		must(t, err)
		a.Summary, err = s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByType, ActivityFilter: store.ActivityFilter{From: at.Add(90 * time.Minute)}})
		must(t, err)
		return a
	}
	want := read()
	if len(want.Page.Activities) != 10 || want.Page.Total != 15 || len(want.Next.Activities) != 5 ||
		len(want.Summary.Rows) != 2 || want.Summary.Total != 28 {
		t.Fatalf("answers = %+v", want)
	}
	// Past the five runs after which PostgreSQL would build and keep a
	// generic plan of each, they are still planned for their arguments.
	for range 6 {
		read()
	}
	if n := count(t, s, `SELECT count(*) FROM pg_prepared_statements WHERE generic_plans > 0`); n != 0 {
		t.Errorf("%d statements with a generic plan, want none", n)
	}
	// A column the pages return changes type: their plans no longer fit.
	checkPrepared(t, s, want, read, 5, `ALTER TABLE activities ALTER COLUMN status_code TYPE bigint`)
}

// oneConnStore opens a store of one connection, so that
// pg_prepared_statements, which is per connection, shows its statements.
func oneConnStore(t *testing.T) *postgres.Store {
	s, err := postgres.Open(t.Context(), testdb.PostgresURL(t), postgres.Config{MaxOpenConns: 1})
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// checkPrepared checks on s, a store of one connection, that read (whose
// first answers are want) runs prepared statements, n of them, each
// prepared once; that after alter, which changes the result type of a
// statement, read still answers want and the statements are prepared
// again; and that once the server has forgotten them (26000), read still
// answers want, prepared no more.
func checkPrepared[T any](t *testing.T, s *postgres.Store, want T, read func() T, n int64, alter string) {
	t.Helper()
	prepared := func() int64 {
		return count(t, s, `SELECT count(*) FROM pg_prepared_statements`)
	}
	if got := prepared(); got != n {
		t.Errorf("%d statements prepared after the first reads, want %d", got, n)
	}
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("second reads (-first +second):\n%s", d)
	}
	if got := prepared(); got != n {
		t.Errorf("%d statements prepared after the second reads, want %d (each once)", got, n)
	}

	// The plan no longer fits (0A000): the reads are answered, and the
	// statement is prepared again on the next.
	_, err := s.DB().ExecContext(t.Context(), alter)
	must(t, err)
	for range 2 {
		if d := cmp.Diff(want, read()); d != "" {
			t.Errorf("reads after %q (-before +after):\n%s", alter, d)
		}
	}
	if got := prepared(); got != n {
		t.Errorf("%d statements prepared after %q, want %d", got, alter, n)
	}

	// The server forgets the statements (26000): the reads are answered,
	// from then on unprepared.
	_, err = s.DB().ExecContext(t.Context(), `DEALLOCATE ALL`)
	must(t, err)
	if d := cmp.Diff(want, read()); d != "" {
		t.Errorf("reads after DEALLOCATE ALL (-before +after):\n%s", d)
	}
	if got := prepared(); got != 0 {
		t.Errorf("%d statements prepared after the server forgot them, want 0", got)
	}
}
