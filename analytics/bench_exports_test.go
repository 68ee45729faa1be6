package analytics

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// sharedCounter counts the bytes written to it by several goroutines and
// keeps none.
type sharedCounter struct{ n *atomic.Int64 }

func (w sharedCounter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// BenchmarkReadsDuringExports measures an uncached read (page 1 of one
// user's activity, with its total) while other goroutines run exports of
// every activity as fast as their writer takes the rows: 0 exports (the
// baseline) and 16, more than the store has connections. Each export loads
// keyset pages from the store, so the read queues behind their page loads
// unless the store keeps connections free for other reads. It reports the
// read's median, 99th percentile and slowest call. SQLite (4 readers), or
// PostgreSQL when ANALYTICS_BENCH_POSTGRES is set:
//
//	go test ./analytics -run XXX -bench ReadsDuringExports -benchtime 300x
func BenchmarkReadsDuringExports(b *testing.B) {
	ctx := context.Background()
	st, opts := benchStore(b, benchdata.Config{Activities: 100_000, Reports: 100, Recommendations: 1000})
	svc, err := New(st, Config{NowFunc: func() time.Time { return opts.End }, Logger: discardLogger(),
		ExportsPerPrincipal: 64, ExportsTotal: 64})
	if err != nil {
		b.Fatal(err)
	}
	admin := Principal{ID: "bench", Role: RoleAdmin}
	for _, exports := range []int{0, 16} {
		b.Run("exports-"+strconv.Itoa(exports), func(b *testing.B) {
			ectx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var written atomic.Int64 // bytes the exports wrote
			for range exports {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ectx.Err() == nil {
						_ = svc.ExportUserActivity(ectx, admin, UserActivityQuery{}, sharedCounter{&written}, FormatNDJSON)
					}
				}()
			}
			time.Sleep(200 * time.Millisecond) // every export under way
			began, before := time.Now(), written.Load()
			defer func() {
				if exports > 0 {
					b.ReportMetric(float64(written.Load()-before)/time.Since(began).Seconds()/(1<<20), "export-MiB/s")
				}
				cancel()
				wg.Wait()
			}()
			timeReads(b, func() error {
				_, err := svc.UserActivity(ctx, admin, UserActivityQuery{UserID: benchdata.UserID(1)})
				return err
			})
		})
	}
}

// BenchmarkReadsBesideHeavyCaller measures an uncached read of one
// principal (page 1 of one user's activity) while another principal runs
// 16 deep OFFSET pages at once in a loop, with ReadsPerPrincipal off (the
// baseline: the heavy caller's reads can hold every store connection) and
// at its default. It reports the read's median, 99th percentile and
// slowest call, and the heavy caller's pages/s. SQLite (4 readers), or
// PostgreSQL when ANALYTICS_BENCH_POSTGRES is set:
//
//	go test ./analytics -run XXX -bench ReadsBesideHeavyCaller -benchtime 300x
func BenchmarkReadsBesideHeavyCaller(b *testing.B) {
	ctx := context.Background()
	const activities = 100_000
	st, opts := benchStore(b, benchdata.Config{Activities: activities, Reports: 100, Recommendations: 1000})
	for _, bound := range []int{-1, ReadsPerPrincipalDefault} {
		name := "unbounded"
		if bound > 0 {
			name = "per-principal-" + strconv.Itoa(bound)
		}
		b.Run(name, func(b *testing.B) {
			svc, err := New(st, Config{NowFunc: func() time.Time { return opts.End }, Logger: discardLogger(), ReadsPerPrincipal: bound})
			if err != nil {
				b.Fatal(err)
			}
			heavy := Principal{ID: "heavy", Role: RoleAdmin}
			other := Principal{ID: "other", Role: RoleAdmin}
			hctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var pages atomic.Int64
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for hctx.Err() == nil {
						if _, err := svc.UserActivity(hctx, heavy, UserActivityQuery{Offset: activities * 9 / 10}); err == nil {
							pages.Add(1)
						}
					}
				}()
			}
			time.Sleep(200 * time.Millisecond) // every heavy read under way
			began, before := time.Now(), pages.Load()
			defer func() {
				b.ReportMetric(float64(pages.Load()-before)/time.Since(began).Seconds(), "heavy-pages/s")
				cancel()
				wg.Wait()
			}()
			timeReads(b, func() error {
				_, err := svc.UserActivity(ctx, other, UserActivityQuery{UserID: benchdata.UserID(1)})
				return err
			})
		})
	}
}

// timeReads runs read once per benchmark iteration and reports the
// median, 99th percentile and slowest call in milliseconds.
func timeReads(b *testing.B, read func() error) {
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := read(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
