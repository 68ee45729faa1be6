package benchdata

import (
	"database/sql"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// FillFootprint fills st for the drivers' BenchmarkActivityFootprint:
// ANALYTICS_BENCH_ACTIVITIES activities (100,000) of ANALYTICS_BENCH_USERS
// users (200) over 120 days, with 100 reports of 100 recommendations. It
// returns the number of activities.
func FillFootprint(b *testing.B, st store.Store) int {
	b.Helper()
	n, users := EnvInt(b, "ANALYTICS_BENCH_ACTIVITIES", 100_000), EnvInt(b, "ANALYTICS_BENCH_USERS", 200)
	if _, err := Fill(b.Context(), st, Config{Activities: n, Users: users, Reports: 100, Recommendations: 100}); err != nil {
		b.Fatal(err)
	}
	return n
}

// ReportFootprint reads the rows of query, each a relation's name, whether
// it is an index, and its size in bytes, then logs each one's bytes per
// activity (of n) and reports those of the activities table, of its
// indexes (named activities_…) and of everything else (the counters),
// their units prefixed with stage.
func ReportFootprint(b *testing.B, db *sql.DB, n int, stage, query string) {
	b.Helper()
	rows, err := db.QueryContext(b.Context(), query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var table, indexes, counters float64
	for rows.Next() {
		var name string
		var index bool
		var size int64
		if err := rows.Scan(&name, &index, &size); err != nil {
			b.Fatal(err)
		}
		perRow := float64(size) / float64(n)
		kind := "table"
		if index {
			kind = "index"
		}
		b.Logf("%s%-40s %-5s %6.1f B/activity", stage, name, kind, perRow)
		switch {
		case name == "activities":
			table += perRow
		case index && strings.HasPrefix(name, "activities_"):
			indexes += perRow
		default:
			counters += perRow
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(table, stage+"table-B/activity")
	b.ReportMetric(indexes, stage+"indexes-B/activity")
	b.ReportMetric(counters, stage+"counters-B/activity")
}

// EnvInt reads a positive integer from the environment variable name, or
// returns def when it is unset.
func EnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
