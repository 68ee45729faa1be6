package benchdata

import (
	"context"
	"fmt"
	"os"
	"strconv"
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
		{"ReportRecent", func() error { _, err := s.ReportRecent(ctx, "", 10); return err }},
		{"ReportRecentOfClient", func() error {
			_, err := s.ReportRecent(ctx, "10000000-0000-4000-8000-000000000007", 10)
			return err
		}},
		{"ClientList", func() error { _, err := s.ClientList(ctx, "", 25, 0); return err }},
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

// KeptEnd is the end of the activities FillKept writes.
var KeptEnd = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

// FillKept fills st, a store kept between benchmark runs, unless it holds
// activities already: ANALYTICS_BENCH_ACTIVITIES (default n) activities of
// 2,000 users over the year up to KeptEnd, with reports and
// recommendations as given; in time order when ANALYTICS_BENCH_IN_ORDER is
// set (see Config.InOrder), else in random time order.
func FillKept(b *testing.B, st store.Store, n, reports, recommendations int) {
	b.Helper()
	page, err := st.ActivityList(b.Context(), store.ActivityListParams{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if page.Total > 0 {
		return
	}
	if v := os.Getenv("ANALYTICS_BENCH_ACTIVITIES"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ANALYTICS_BENCH_ACTIVITIES=%q: want a positive number", v)
		}
	}
	inOrder := os.Getenv("ANALYTICS_BENCH_IN_ORDER") != ""
	b.Logf("filling a kept store with %d activities (in time order: %v)", n, inOrder)
	if _, err := Fill(b.Context(), st, Config{Activities: n, Users: 2000, Days: 365, End: KeptEnd,
		Reports: reports, Recommendations: recommendations, InOrder: inOrder}); err != nil {
		b.Fatal(err)
	}
}

// KeptReads are the reads of the kept stores' benchmarks, over the data of
// FillKept: the summaries by user (top 20) of the 90 days back from KeptEnd
// with no end and up to KeptEnd and of all time (each checks that it names
// 20 users), the first page of activities with its total (of everyone, and
// of one user over the 90 days), the 90-day summary by type and the report
// metrics.
func KeptReads(st store.Store) []Case {
	ctx := context.Background()
	from := KeptEnd.Add(-90 * 24 * time.Hour)
	var cases []Case
	for _, c := range []struct {
		name string
		f    store.ActivityFilter
	}{{"90-days", store.ActivityFilter{From: from}}, {"90-days-to-end", store.ActivityFilter{From: from, To: KeptEnd}},
		{"all-time", store.ActivityFilter{}}} {
		p := store.ActivitySummaryParams{GroupBy: store.GroupByUser, Limit: 20, ActivityFilter: c.f}
		cases = append(cases, Case{Name: "summary-by-user/" + c.name, Fn: func() error {
			sum, err := st.ActivitySummary(ctx, p)
			if err == nil && (len(sum.Rows) != 20 || sum.Total == 0) {
				err = fmt.Errorf("%d rows, total %d", len(sum.Rows), sum.Total)
			}
			return err
		}})
	}
	page := func(f store.ActivityFilter) func() error {
		return func() error {
			pg, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 20, ActivityFilter: f})
			if err == nil && pg.Total == 0 {
				err = fmt.Errorf("no activity")
			}
			return err
		}
	}
	metrics := store.ReportMetricsParams{MonthStart: time.Date(KeptEnd.Year(), KeptEnd.Month(), 1, 0, 0, 0, 0, time.UTC)}
	metrics.PrevMonthStart = metrics.MonthStart.AddDate(0, -1, 0)
	return append(cases,
		Case{Name: "page-1", Fn: page(store.ActivityFilter{})},
		Case{Name: "page-1-user-90-days", Fn: page(store.ActivityFilter{UserID: UserID(7), From: from})},
		Case{Name: "summary-by-type-90-days", Fn: func() error {
			_, err := st.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByType,
				ActivityFilter: store.ActivityFilter{From: from}})
			return err
		}},
		Case{Name: "report-metrics", Fn: func() error {
			_, err := st.ReportMetrics(ctx, metrics)
			return err
		}})
}

// ClientDirectory writes n clients and returns reads of the client
// directory among them: its first page of 50, the page at half of the
// clients, the last page and the first page of a search by name
// (DomainReader.ClientList), after a read of one client by its key
// (ClientGet) as the same run's baseline.
func ClientDirectory(ctx context.Context, s store.Store, n int) ([]Case, error) {
	for i := range n {
		// Ids in another order than names, as real ones are.
		c := store.Client{ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", (i*7919)%n), CompanyName: fmt.Sprintf("Client %07d", i)}
		if err := s.ClientUpsert(ctx, &c); err != nil {
			return nil, err
		}
	}
	page := func(offset int) func() error {
		return func() error {
			cs, err := s.ClientList(ctx, "", 50, offset)
			if err == nil && len(cs) == 0 {
				err = fmt.Errorf("no clients at offset %d", offset)
			}
			return err
		}
	}
	// One client by its key: the baseline of the same run.
	get := func() error {
		_, err := s.ClientGet(ctx, fmt.Sprintf("20000000-0000-4000-8000-%012d", n/2))
		return err
	}
	// A search: every name is read, 50 of those that match are returned.
	search := func() error {
		cs, err := s.ClientList(ctx, "CLIENT 00999", 50, 0)
		if err == nil && len(cs) == 0 {
			err = fmt.Errorf("the search found no client")
		}
		return err
	}
	return []Case{{"ClientGet", get}, {"FirstPage", page(0)}, {"HalfWay", page(n / 2)}, {"LastPage", page(n - 50)}, {"Search", search}}, nil
}
