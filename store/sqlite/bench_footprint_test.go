package sqlite_test

import (
	"database/sql"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// BenchmarkActivityFootprint fills a database with 100,000 activities of
// 200 users over 120 days (ANALYTICS_BENCH_ACTIVITIES and
// ANALYTICS_BENCH_USERS change the numbers) and reports the bytes per
// activity of the activities table, of its indexes and of the activity
// counters (from the dbstat table), logging each object's share with -v.
//
//	go test ./store/sqlite -run XXX -bench ActivityFootprint -benchtime 1x -v
func BenchmarkActivityFootprint(b *testing.B) {
	n, users := benchdata.EnvInt(b, "ANALYTICS_BENCH_ACTIVITIES", 100_000), benchdata.EnvInt(b, "ANALYTICS_BENCH_USERS", 200)
	for b.Loop() {
		s, path := openStore(b)
		if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: n, Users: users, Reports: 100, Recommendations: 100}); err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		benchdata.ReportFootprint(b, db, n, "", `SELECT d.name, COALESCE(m.type, '') = 'index', SUM(d.pgsize)
			FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name
			WHERE d.name LIKE 'activit%' GROUP BY d.name ORDER BY 3 DESC`)
		_ = db.Close()
	}
}
