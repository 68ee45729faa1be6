package analytics

import (
	"context"
	"database/sql"
	"os"
	"strings"
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
// first as autovacuum would after the load:
//
//	go test ./analytics -run XXX -bench DatabaseSize -benchtime 1x -timeout 60m -v
func BenchmarkDatabaseSize(b *testing.B) {
	data := benchdata.Config{Activities: 1_000_000, Reports: 20_000, Recommendations: 200_000}
	ctx := context.Background()
	for b.Loop() {
		var db *sql.DB
		var query string
		if os.Getenv("ANALYTICS_BENCH_POSTGRES") != "" {
			st, _ := benchStore(b, data)
			db = st.(*postgres.Store).DB()
			if _, err := db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
				b.Fatal(err)
			}
			// Partitions count under the table they belong to; indexes and
			// TOAST under their table.
			query = `SELECT COALESCE(p.relname, c.relname), SUM(pg_total_relation_size(c.oid))
				FROM pg_class c
				LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
				LEFT JOIN pg_class p ON p.oid = i.inhparent
				WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
				GROUP BY 1`
			partsAndTotal(b, db, query, "", nil)
			// Then as the daily retention run leaves it: closed partitions
			// compacted.
			if _, err := st.(*postgres.Store).CompactActivityPartitions(ctx, 1000); err != nil {
				b.Fatal(err)
			}
			partsAndTotal(b, db, query, "compacted-", nil)
			continue
		}
		st, _, path := benchSQLite(b, data)
		var err error
		if db, err = sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)"); err != nil {
			b.Fatal(err)
		}
		// Indexes count under their table.
		query = `SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize)
			FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1`
		partsAndTotal(b, db, query, "", st.Size)
		_ = db.Close()
	}
}

// partsAndTotal reports the sizes in MiB of the tables that query returns
// (a name and its bytes a row), summed into activities, activity counters
// and the rest, and the whole database's: size's, or the parts' sum when
// size is nil. The units are prefixed with stage.
func partsAndTotal(b *testing.B, db *sql.DB, query, stage string, size func(context.Context) (int64, error)) {
	b.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var activities, counters, rest float64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			b.Fatal(err)
		}
		mib := float64(n) / (1 << 20)
		b.Logf("%s%-40s %8.1f MiB", stage, name, mib)
		switch {
		case name == "activities" || name == "activity_users":
			activities += mib
		case strings.HasPrefix(name, "activit"):
			counters += mib
		default:
			rest += mib
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	total := int64((activities + counters + rest) * (1 << 20))
	if size != nil {
		if total, err = size(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(activities, stage+"activities-MiB")
	b.ReportMetric(counters, stage+"activity-counters-MiB")
	b.ReportMetric(rest, stage+"rest-MiB")
	b.ReportMetric(float64(total)/(1<<20), stage+"database-MiB")
}
