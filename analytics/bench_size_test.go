package analytics

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// BenchmarkDatabaseSize fills the data set the replaced Django module was
// measured on (1,000,000 activities, 20,000 reports, 200,000
// recommendations; its database took 455 MB) and reports the size of the
// whole database in MiB, and of its parts: the activities with their
// indexes, the activity counters, and the rest (clients, reports,
// recommendations, their counters). On SQLite, the database file; on
// PostgreSQL with ANALYTICS_BENCH_POSTGRES set, the relations of the
// test's schema (the test database holds other tests' schemas), vacuumed
// first as autovacuum would after the load, then again with the closed
// partitions compacted as the daily retention run leaves them:
//
//	go test ./analytics -run XXX -bench DatabaseSize -benchtime 1x -timeout 60m -v
func BenchmarkDatabaseSize(b *testing.B) {
	data := benchdata.Config{Activities: 1_000_000, Reports: 20_000, Recommendations: 200_000}
	ctx := context.Background()
	for b.Loop() {
		if os.Getenv("ANALYTICS_BENCH_POSTGRES") != "" {
			st, _ := benchStore(b, data)
			pg := st.(*postgres.Store)
			if _, err := pg.DB().ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
				b.Fatal(err)
			}
			// Partitions count under the table they belong to; indexes and
			// TOAST under their table.
			const query = `SELECT COALESCE(p.relname, c.relname), false, SUM(pg_total_relation_size(c.oid))
				FROM pg_class c
				LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
				LEFT JOIN pg_class p ON p.oid = i.inhparent
				WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
				GROUP BY 1`
			benchdata.ReportDatabaseSize(b, pg.DB(), "", query, 0)
			if _, err := pg.CompactActivityPartitions(ctx, 1000); err != nil {
				b.Fatal(err)
			}
			benchdata.ReportDatabaseSize(b, pg.DB(), "compacted-", query, 0)
			continue
		}
		st, _, path := benchSQLite(b, data)
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		total, err := st.Size(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// Indexes count under their table.
		benchdata.ReportDatabaseSize(b, db, "", `SELECT COALESCE(m.tbl_name, d.name), false, SUM(d.pgsize)
			FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1`, total)
		_ = db.Close()
	}
}
