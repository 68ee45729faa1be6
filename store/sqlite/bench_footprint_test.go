package sqlite_test

import (
	"database/sql"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// BenchmarkActivityFootprint fills a database with 100,000 activities of
// 200 users over 120 days and reports the bytes per activity of the
// activities table, of its indexes and of the activity counters (from the
// dbstat table), logging each object's share with -v.
//
//	go test ./store/sqlite -run XXX -bench ActivityFootprint -benchtime 1x -v
func BenchmarkActivityFootprint(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		s, path := openStore(b)
		if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: n, Reports: 100, Recommendations: 100}); err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		rows, err := db.QueryContext(b.Context(), `SELECT d.name, COALESCE(m.type, ''), SUM(d.pgsize)
			FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name
			WHERE d.name LIKE 'activit%' GROUP BY d.name ORDER BY 3 DESC`)
		if err != nil {
			b.Fatal(err)
		}
		var table, indexes, counters float64
		for rows.Next() {
			var name, typ string
			var size int64
			if err := rows.Scan(&name, &typ, &size); err != nil {
				b.Fatal(err)
			}
			perRow := float64(size) / n
			b.Logf("%-28s %-6s %6.1f B/activity", name, typ, perRow)
			switch {
			case name == "activities":
				table += perRow
			case typ == "index" && len(name) > 11 && name[:11] == "activities_":
				indexes += perRow
			default:
				counters += perRow
			}
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
		b.ReportMetric(table, "table-B/activity")
		b.ReportMetric(indexes, "indexes-B/activity")
		b.ReportMetric(counters, "counters-B/activity")
	}
}
