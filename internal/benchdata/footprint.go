package benchdata

import (
	"database/sql"
	"os"
	"strconv"
	"strings"
	"testing"
)

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
