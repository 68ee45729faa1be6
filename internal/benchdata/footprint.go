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
	var table, indexes, counters float64
	for _, r := range relations(b, db, query) {
		perRow := float64(r.bytes) / float64(n)
		kind := "table"
		if r.index {
			kind = "index"
		}
		b.Logf("%s%-40s %-5s %6.1f B/activity", stage, r.name, kind, perRow)
		switch {
		case r.name == "activities":
			table += perRow
		case r.index && strings.HasPrefix(r.name, "activities_"):
			indexes += perRow
		default:
			counters += perRow
		}
	}
	b.ReportMetric(table, stage+"table-B/activity")
	b.ReportMetric(indexes, stage+"indexes-B/activity")
	b.ReportMetric(counters, stage+"counters-B/activity")
}

// ReportDatabaseSize reads the rows of query as ReportFootprint does, each
// a table's name, false, and its size with its indexes, then logs each
// one's MiB and reports those of the activities (with activity_users), of
// the activity counters and of the rest, and total (or, when total is 0,
// the sum of the three) as the whole database's, their units prefixed with
// stage.
func ReportDatabaseSize(b *testing.B, db *sql.DB, stage, query string, total int64) {
	b.Helper()
	var activities, counters, rest, sum float64
	for _, r := range relations(b, db, query) {
		mib := float64(r.bytes) / (1 << 20)
		b.Logf("%s%-40s %8.1f MiB", stage, r.name, mib)
		switch {
		case r.name == "activities" || r.name == "activity_users":
			activities += mib
		case strings.HasPrefix(r.name, "activit"):
			counters += mib
		default:
			rest += mib
		}
		sum += mib
	}
	if total > 0 {
		sum = float64(total) / (1 << 20)
	}
	b.ReportMetric(activities, stage+"activities-MiB")
	b.ReportMetric(counters, stage+"activity-counters-MiB")
	b.ReportMetric(rest, stage+"rest-MiB")
	b.ReportMetric(sum, stage+"database-MiB")
}

// relation is one row of a size query: a relation's name, whether it is
// an index, and its size in bytes.
type relation struct {
	name  string
	index bool
	bytes int64
}

// relations runs a size query.
func relations(b *testing.B, db *sql.DB, query string) []relation {
	b.Helper()
	rows, err := db.QueryContext(b.Context(), query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []relation
	for rows.Next() {
		var r relation
		if err := rows.Scan(&r.name, &r.index, &r.bytes); err != nil {
			b.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
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
