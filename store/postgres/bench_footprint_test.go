package postgres_test

import (
	"database/sql"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// BenchmarkActivityFootprint fills a schema with activities (100,000, or
// ANALYTICS_BENCH_ACTIVITIES) of ANALYTICS_BENCH_USERS users (200) over
// 120 days, vacuums it, and reports the bytes per activity of the
// activities partitions, of their indexes and of the activity counters
// (tables and indexes), logging each relation's share with -v; then again
// with every partition compacted (CompactActivityPartitions).
//
//	go test ./store/postgres -run XXX -bench ActivityFootprint -benchtime 1x -v
//	ANALYTICS_BENCH_ACTIVITIES=1000000 ANALYTICS_BENCH_USERS=2000 go test ./store/postgres -run XXX -bench ActivityFootprint -benchtime 1x -v -timeout 30m
func BenchmarkActivityFootprint(b *testing.B) {
	n, users := benchdata.EnvInt(b, "ANALYTICS_BENCH_ACTIVITIES", 100_000), benchdata.EnvInt(b, "ANALYTICS_BENCH_USERS", 200)
	for b.Loop() {
		s, url := newStore(b)
		if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: n, Users: users, Reports: 100, Recommendations: 100}); err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("postgres", url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(b.Context(), "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
		// The partitions' heaps and indexes are counted under the
		// partitioned table and index they belong to: as filled, then with
		// every (closed) partition compacted.
		const query = `
			SELECT COALESCE(p.relname, c.relname), c.relkind = 'i', SUM(pg_relation_size(c.oid))
			FROM pg_class c
			LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
			LEFT JOIN pg_class p ON p.oid = i.inhparent
			WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
				AND COALESCE(p.relname, c.relname) LIKE 'activit%'
			GROUP BY 1, 2 ORDER BY 3 DESC`
		benchdata.ReportFootprint(b, db, n, "", query)
		if _, err := s.CompactActivityPartitions(b.Context(), 1000); err != nil {
			b.Fatal(err)
		}
		benchdata.ReportFootprint(b, db, n, "compacted-", query)
		_ = db.Close()
	}
}
