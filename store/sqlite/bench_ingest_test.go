package sqlite_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// BenchmarkReadsDuringIngest measures the metrics and the 90-day report
// trend over 10,000 reports while nothing else runs (idle), right after
// one activity is written before each read (cold: SQLite empties a reader's
// page cache when another connection has written since its last read, so
// each read starts from the file), and while another goroutine inserts
// activities in batches of 5,000 without pause (ingest), and reports the median, the 99th percentile and the slowest
// call: the slow calls are where a lock, a checkpoint or a cold reader
// would show.
func BenchmarkReadsDuringIngest(b *testing.B) {
	s, _ := openStore(b)
	ctx := context.Background()
	opts, err := benchdata.Fill(ctx, s, benchdata.Config{Activities: 1000, Recommendations: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	month := time.Date(opts.End.Year(), opts.End.Month(), 1, 0, 0, 0, 0, time.UTC)
	day := time.Date(opts.End.Year(), opts.End.Month(), opts.End.Day(), 0, 0, 0, 0, time.UTC)
	reads := []struct {
		name string
		fn   func() error
	}{
		{"metrics", func() error {
			_, err := s.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: month, PrevMonthStart: month.AddDate(0, -1, 0)})
			return err
		}},
		{"trends-90d", func() error {
			_, err := s.ReportDailyCounts(ctx, day.AddDate(0, 0, -90), day.AddDate(0, 0, 1), nil)
			return err
		}},
	}
	for _, mode := range []string{"idle", "cold", "ingest"} {
		for _, r := range reads {
			b.Run(mode+"/"+r.name, func(b *testing.B) {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				if mode == "ingest" {
					wg.Go(func() {
						batch := make([]store.Activity, 5000)
						for n := 0; ; n += len(batch) {
							select {
							case <-stop:
								return
							default:
							}
							for i := range batch {
								batch[i] = benchActivity(n+i, opts.End)
							}
							if err := s.ActivityInsertMany(ctx, batch); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				var lat []time.Duration
				one := []store.Activity{{}}
				for b.Loop() {
					if mode == "cold" {
						b.StopTimer()
						one[0] = store.Activity{UserID: "cold", ActivityType: "login", CreatedAt: opts.End}
						if err := s.ActivityInsertMany(ctx, one); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					t := time.Now()
					if err := r.fn(); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t))
				}
				close(stop)
				wg.Wait()
				slices.Sort(lat)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
				b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			})
		}
	}
}
