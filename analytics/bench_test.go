package analytics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/benchhttp"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// BenchmarkCachedMetrics measures a cached route through the handler
// (identity, routing, cache hit, response), without the network.
func BenchmarkCachedMetrics(b *testing.B) {
	benchCachedMetrics(b, RateLimitConfig{})
}

// BenchmarkCachedMetricsRateLimited is BenchmarkCachedMetrics with the
// in-process rate limiter in the path (a budget it never spends) and the
// failed-authentication check.
func BenchmarkCachedMetricsRateLimited(b *testing.B) {
	benchCachedMetrics(b, RateLimitConfig{Requests: 1 << 40, FailedAuth: 100})
}

func benchCachedMetrics(b *testing.B, rl RateLimitConfig) {
	st := openSQLiteF(b)
	svc, err := New(st, Config{IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger(), RateLimit: rl})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler()
	req := httptest.NewRequest(http.MethodGet, "/metrics/", nil)
	req.Header.Set("Authorization", "Bearer bob")
	benchhttp.Parallel(b, h, req)
}

// benchStore opens the store of BenchmarkUncached, SQLite or PostgreSQL
// when ANALYTICS_BENCH_POSTGRES is set, and fills it with data. SQLite is
// filled through a writer with a 512 MiB page cache, as a bulk load would
// be (with the default 8 MiB the indexes' pages are read again and again
// past a few million rows), and opened again with the defaults for the
// measurements.
func benchStore(b *testing.B, data benchdata.Config) (store.Store, benchdata.Config) {
	ctx := context.Background()
	if os.Getenv("ANALYTICS_BENCH_POSTGRES") != "" {
		st := openPostgresURL(b, testdb.PostgresURL(b))
		opts, err := benchdata.Fill(ctx, st, data)
		if err != nil {
			b.Fatal(err)
		}
		return st, opts
	}
	st, opts, _ := benchSQLite(b, data)
	return st, opts
}

// benchSQLite is benchStore on SQLite; it returns the database's path too.
func benchSQLite(b *testing.B, data benchdata.Config) (store.Store, benchdata.Config, string) {
	ctx := context.Background()
	path := testdb.SQLitePath(b)
	loader, err := sqlite.Open(ctx, path, sqlite.Config{CacheSize: 512 << 10})
	if err != nil {
		b.Fatal(err)
	}
	opts, err := benchdata.Fill(ctx, loader, data)
	if cerr := loader.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st, opts, path
}

// BenchmarkUncached measures the Service over a benchdata dataset with an
// empty cache, one sub-benchmark per figure: the dashboard, the metrics
// route, the 90-day trends, user-activity page 1, a cursor page and (as the
// baseline it replaces) an OFFSET page in the middle of the table, the
// 90-day activity summary by type, by day and by user, and the other read
// routes. Each sub-benchmark also reports its slowest call (max-ms), where
// a cold connection or a checkpoint would show.
//
// The dataset has 100,000 activities, 10,000 reports and 100,000
// recommendations; with ANALYTICS_BENCH_FULL set it has 1,000,000
// activities, 20,000 reports and 200,000 recommendations, the data set the
// replaced Django module was measured on (uncached, median of 5: trends 90
// days 22.9 ms, dashboard 601 ms, metrics 479 ms). It is on SQLite, or on
// PostgreSQL when ANALYTICS_BENCH_POSTGRES is set. Run it with a fixed count
// so the fill is not repeated, for example:
//
//	ANALYTICS_BENCH_FULL=1 go test ./analytics -run XXX -bench BenchmarkUncached -benchtime 20x
func BenchmarkUncached(b *testing.B) {
	data := benchdata.Config{Activities: 100_000, Reports: 10_000, Recommendations: 100_000}
	if os.Getenv("ANALYTICS_BENCH_FULL") != "" {
		data = benchdata.Config{Activities: 1_000_000, Reports: 20_000, Recommendations: 200_000}
	}
	if v := os.Getenv("ANALYTICS_BENCH_ACTIVITIES"); v != "" {
		// The scale runs: n activities, n/100 reports and n/10
		// recommendations over a year (10,000,000 gives 100,000 reports and
		// 1,000,000 recommendations).
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("ANALYTICS_BENCH_ACTIVITIES=%q: want a number of activities of at least 1000", v)
		}
		data = benchdata.Config{Activities: n, Reports: n / 100, Recommendations: n / 10, Days: 365, Users: 2000, Clients: 500}
	}
	activities := data.Activities
	ctx := context.Background()
	st, opts := benchStore(b, data)
	vacuumAfterLoad(b, st)
	svc, err := New(st, Config{NowFunc: func() time.Time { return opts.End }, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	admin := Principal{ID: "bench", Role: RoleAdmin}
	uncached := func(name string, fn func() error) {
		b.Run(name, func(b *testing.B) {
			var slowest time.Duration
			for b.Loop() {
				svc.clearLocal(ctx)
				start := time.Now()
				if err := fn(); err != nil {
					b.Fatal(err)
				}
				slowest = max(slowest, time.Since(start))
			}
			b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms")
		})
	}
	uncached("dashboard", func() error { _, err := svc.Dashboard(ctx, admin); return err })
	uncached("metrics", func() error { _, err := svc.Metrics(ctx, admin); return err })
	uncached("trends-90d", func() error { _, err := svc.Trends(ctx, admin, 90); return err })
	b.Run("user-activity/page1", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.UserActivity(ctx, admin, UserActivityQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	depth := activities / 2
	b.Run("user-activity/cursor-at-"+strconv.Itoa(depth), func(b *testing.B) {
		page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1, Offset: depth - 1})
		if err != nil || len(page.Activities) == 0 {
			b.Fatal(err)
		}
		cursor := storedriver.EncodeCursor(page.Activities[0].CreatedAt, page.Activities[0].ID)
		for b.Loop() {
			if _, err := svc.UserActivity(ctx, admin, UserActivityQuery{Cursor: cursor}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("user-activity/offset-at-"+strconv.Itoa(depth), func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.UserActivity(ctx, admin, UserActivityQuery{Offset: depth}); err != nil {
				b.Fatal(err)
			}
		}
	})
	from := opts.End.Add(-90 * 24 * time.Hour)
	for _, g := range []string{"activity_type", "day", "user"} {
		b.Run("activity-summary-90d/"+g, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.ActivitySummary(ctx, admin, g, DateRange{From: from}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	benchOtherReads(b, svc, admin, opts, uncached)
	if os.Getenv("ANALYTICS_BENCH_ACTIVITIES") != "" {
		benchScaleExtras(b, st, svc, admin, activities)
	}
}

// benchOtherReads measures the read routes BenchmarkUncached does not
// time above, uncached.
func benchOtherReads(b *testing.B, svc *Service, admin Principal, opts benchdata.Config, uncached func(string, func() error)) {
	ctx := context.Background()
	uncached("categories", func() error { _, err := svc.Categories(ctx, admin); return err })
	uncached("business-impact", func() error { _, err := svc.BusinessImpact(ctx, admin); return err })
	uncached("client-performance", func() error { _, err := svc.ClientPerformance(ctx, admin, ""); return err })
	uncached("cost-insights", func() error { _, err := svc.CostInsights(ctx, admin, CostQuery{}); return err })
	uncached("recent-activity", func() error { _, err := svc.RecentActivity(ctx, admin, 10); return err })
	uncached("metrics-history", func() error {
		_, err := svc.MetricsHistory(ctx, admin, "daily", DateRange{From: opts.End.AddDate(0, 0, -30)})
		return err
	})
	uncached("activity-history/page1", func() error { _, err := svc.ActivityHistory(ctx, admin, UserActivityQuery{}); return err })
	uncached("activity-summary-all/day", func() error { _, err := svc.ActivitySummary(ctx, admin, "day", DateRange{}); return err })
	uncached("activity-summary-all/user", func() error { _, err := svc.ActivitySummary(ctx, admin, "user", DateRange{}); return err })
}

// benchScaleExtras measures, once each, what the scale runs add: an export
// of every activity (rows/s and the peak Go heap meanwhile, sampled every
// 10 ms) and the database size per million activities.
func benchScaleExtras(b *testing.B, st store.Store, svc *Service, admin Principal, activities int) {
	ctx := context.Background()
	b.Run("export-all", func(b *testing.B) {
		for b.Loop() {
			runtime.GC()
			var peak atomic.Uint64
			done := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}()
			start := time.Now()
			cw := &countingWriter{}
			err := svc.ExportUserActivity(ctx, admin, UserActivityQuery{}, cw, FormatNDJSON)
			close(done)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(activities)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(cw.n)/(1<<20), "MB-written")
		}
	})
	size, err := st.Size(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("database size %.1f MB: %.1f MB per million activities", float64(size)/(1<<20), float64(size)/(1<<20)/(float64(activities)/1e6))
}

// countingWriter counts and discards what is written.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// vacuumAfterLoad runs on PostgreSQL what autovacuum does after a bulk load
// (so that it does not run during the measurements).
func vacuumAfterLoad(b *testing.B, st store.Store) {
	if pg, ok := st.(*postgres.Store); ok {
		if _, err := pg.DB().ExecContext(context.Background(), `VACUUM ANALYZE activities, activity_day_counts, activity_user_counts,
			activity_user_day_counts, activity_user_block_counts, activity_hour_counts, clients, reports, recommendations,
			report_category_counts, report_day_counts`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummaryEdges measures summaries by user and by day whose range
// starts 3, 12 and 21 hours into a UTC day, on 1,000,000 activities of 2,000
// users over 37 days (about 27,000 a day, the density of 10,000,000 over a
// year): the part of the first day inside the range is what differs.
func BenchmarkSummaryEdges(b *testing.B) {
	ctx := context.Background()
	st, opts := benchStore(b, benchdata.Config{Activities: 1_000_000, Days: 37, Users: 2000, Reports: 1000, Recommendations: 1000})
	vacuumAfterLoad(b, st)
	day := opts.End.Truncate(24*time.Hour).AddDate(0, 0, -20)
	for _, h := range []time.Duration{3, 12, 21} {
		from := day.Add(h * time.Hour)
		for _, g := range []store.SummaryGroup{store.GroupByUser, store.GroupByDay} {
			b.Run(fmt.Sprintf("%s/from-%dh", g, h), func(b *testing.B) {
				for b.Loop() {
					p := store.ActivitySummaryParams{ActivityFilter: store.ActivityFilter{From: from}, GroupBy: g, Limit: 10}
					if _, err := st.ActivitySummary(ctx, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
