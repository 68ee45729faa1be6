package tracking

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// BenchmarkIngestWhileReading sustains tracked events through a Recorder
// into each store for a fixed time (ANALYTICS_BENCH_SECONDS, default 10)
// while one goroutine reads in a loop (the first user-activity page with
// its total, and a 90-day summary by type), and reports the events/s
// written and the reads' median and 99th-percentile latency. Enqueueing
// never waits: the queue's Block policy holds the producer when the writers
// fall behind, so the rate is what the store sustains. The reader starts
// its reads back to back, or one every ANALYTICS_BENCH_READ_EVERY (a Go
// duration such as 10ms) when that is set. ANALYTICS_BENCH_BATCH sets the
// Recorder's BatchSize, ANALYTICS_BENCH_WRITERS its Writers (default 1 on
// SQLite, 4 on PostgreSQL).
//
//	ANALYTICS_BENCH_SECONDS=60 go test ./tracking -run XXX -bench IngestWhileReading -benchtime 1x
//	ANALYTICS_BENCH_SECONDS=60 ANALYTICS_BENCH_READ_EVERY=10ms go test ./tracking -run XXX -bench IngestWhileReading -benchtime 1x
func BenchmarkIngestWhileReading(b *testing.B) {
	seconds := 10
	if v := os.Getenv("ANALYTICS_BENCH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 600 {
			b.Fatalf("ANALYTICS_BENCH_SECONDS=%q: want 1 to 600", v)
		}
		seconds = n
	}
	batch := 0 // the Recorder's default
	if v := os.Getenv("ANALYTICS_BENCH_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > QueueSizeDefault {
			b.Fatalf("ANALYTICS_BENCH_BATCH=%q: want 1 to %d", v, QueueSizeDefault)
		}
		batch = n
	}
	var every time.Duration
	if v := os.Getenv("ANALYTICS_BENCH_READ_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			b.Fatalf("ANALYTICS_BENCH_READ_EVERY=%q: want a duration from 0 to 1m", v)
		}
		every = d
	}
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			s := d.open(b)
			writers := d.writers
			if d.name == "postgres" {
				writers = 4
			}
			if v := os.Getenv("ANALYTICS_BENCH_WRITERS"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 64 {
					b.Fatalf("ANALYTICS_BENCH_WRITERS=%q: want 1 to 64", v)
				}
				writers = n
			}
			for b.Loop() {
				rec, err := NewRecorder(s, RecorderConfig{BatchSize: batch, Writers: writers, FullPolicy: Block, BlockTimeout: time.Minute, Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				if err := rec.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				var lat []time.Duration
				var wg sync.WaitGroup
				wg.Go(func() {
					ctx := context.Background()
					next := time.Now()
					for {
						if wait := time.Until(next); every > 0 && wait > 0 {
							select {
							case <-stop:
								return
							case <-time.After(wait):
							}
						}
						next = next.Add(every)
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						if _, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25}); err != nil {
							b.Error(err)
							return
						}
						if _, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByType,
							ActivityFilter: store.ActivityFilter{From: time.Now().AddDate(0, 0, -90)}}); err != nil {
							b.Error(err)
							return
						}
						lat = append(lat, time.Since(start))
					}
				})
				a := benchActivity()
				began := time.Now()
				deadline := began.Add(time.Duration(seconds) * time.Second)
				n := 0
				for time.Now().Before(deadline) {
					for range 1000 {
						if !rec.Enqueue(a) {
							b.Fatal("Enqueue refused")
						}
					}
					n += 1000
				}
				if err := rec.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				took := time.Since(began)
				close(stop)
				wg.Wait()
				if st := rec.Stats(); st.Written != int64(n) {
					b.Fatalf("written %d of %d", st.Written, n)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(n)/took.Seconds(), "events/s")
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "read-p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "read-p99-ms")
					b.ReportMetric(float64(len(lat)), "reads")
				}
			}
		})
	}
}
