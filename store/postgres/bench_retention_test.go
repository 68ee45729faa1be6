package postgres_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// openUnpartitioned opens a new schema at the last version before
// activities were partitioned (migrations 1 to 4 only).
func openUnpartitioned(b *testing.B) *postgres.Store {
	b.Helper()
	ctx := b.Context()
	s, err := postgres.Open(ctx, testdb.PostgresURL(b), postgres.Config{SkipMigrate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	for v, name := range []string{"0001_init", "0002_report_aggregates", "0003_activities_key", "0004_report_day_counts"} {
		sql, err := os.ReadFile("migrations/" + name + ".sql")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, string(sql)); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v+1, name); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// ingestDuring inserts batches of 500 current activities into s until
// stop is closed and returns how many it wrote.
func ingestDuring(b *testing.B, s *postgres.Store, stop <-chan struct{}) func() int64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			acts := benchActivities(500)
			if err := s.ActivityInsertMany(context.Background(), acts); err != nil {
				b.Error(err)
				return
			}
			n.Add(int64(len(acts)))
		}
	})
	return func() int64 { wg.Wait(); return n.Load() }
}

// BenchmarkActivityRetention1M deletes 1,000,000 expired activities (the
// year before the cutoff, in SQL like seedMillion) while a writer ingests
// current ones: on the partitioned table, where retention drops whole
// months, against the batched DELETE of the table before partitioning
// (the same data, the same run). It also times the migration that
// partitions a table of 1,000,000 rows. Slow (two fills of a million
// rows), so run it alone:
//
//	ANALYTICS_TEST_DATABASE_URL=… go test ./store/postgres -run XXX -bench ActivityRetention1M -benchtime 1x
func BenchmarkActivityRetention1M(b *testing.B) {
	const n = 1_000_000
	cutoff := time.Date(2025, 1, 16, 0, 0, 0, 0, time.UTC)
	end := cutoff.Add(-time.Hour) // every seeded row is expired
	measure := func(b *testing.B, s *postgres.Store) {
		stop := make(chan struct{})
		ingested := ingestDuring(b, s, stop)
		start := time.Now()
		deleted, err := s.ActivityDeleteBefore(b.Context(), cutoff, 0)
		took := time.Since(start)
		close(stop)
		during := ingested()
		if err != nil {
			b.Fatal(err)
		}
		if deleted != n {
			b.Fatalf("deleted %d, want %d", deleted, n)
		}
		b.ReportMetric(took.Seconds(), "s/retention")
		b.ReportMetric(float64(during)/took.Seconds(), "ingest-events/s")
	}
	b.Run("batched-delete", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := openUnpartitioned(b)
			seedMillion(b, s, n, end)
			b.StartTimer()
			measure(b, s)
		}
	})
	b.Run("partitions", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := openUnpartitioned(b)
			seedMillion(b, s, n, end)
			start := time.Now()
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/migration")
			b.StartTimer()
			measure(b, s)
		}
	})
}
