package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/migratetest"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// insertClient writes migratetest.Client on an earlier schema version.
const insertClient = `INSERT INTO clients VALUES ('` + migratetest.Client + `', 'Contoso', 'technology', 'active', 0, 0)`

// openAfter writes a database at schema version n with the embedded
// migrations' files, runs queries on it, then opens it with the store,
// which applies the later migrations.
func openAfter(t *testing.T, n int, queries ...string) *sqlite.Store {
	t.Helper()
	s, _ := openAfterAt(t, n, queries...)
	return s
}

// openAfterAt is openAfter that returns the database's path too.
func openAfterAt(t *testing.T, n int, queries ...string) (*sqlite.Store, string) {
	t.Helper()
	path := testdb.SQLitePath(t)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < n {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	all := []string{`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
	for v, f := range files[:n] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(b), fmt.Sprintf("INSERT INTO schema_migrations VALUES (%d, '%s', 0)", v+1, filepath.Base(f)))
	}
	for _, q := range append(all, queries...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Config{})
	if err != nil {
		t.Fatalf("open and migrate: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

// TestMigrationBackfillsReportAggregates writes reports and
// recommendations on the first schema version, migrates, and checks that
// the report aggregates computed from them match.
func TestMigrationBackfillsReportAggregates(t *testing.T) {
	ctx := context.Background()
	s := openAfter(t, 1,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at, processing_started_at, processing_completed_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migratetest.Client+`', 'cost', 'completed', 1000, 1000, 2501000),
			('a0000000-0000-4000-8000-000000000002', '`+migratetest.Client+`', 'cost', 'completed', 2000, 2000, 4002000),
			('a0000000-0000-4000-8000-000000000003', '`+migratetest.Client+`', 'cost', 'failed', 3000, 3000, 9000)`,
		// Activities of two users in two 32-day blocks (days 20000 and 20040),
		// with the counters of that version.
		`INSERT INTO activities (id, user_id, username, activity_type, status_code, duration_ns, metadata, created_at) VALUES
			('f0000000-0000-4000-8000-000000000001', 'u1', 'one', 'login', 0, 0, '{}', 1728000000000000),
			('f0000000-0000-4000-8000-000000000002', 'u1', 'one', 'login', 0, 0, '{}', 1731456000000000),
			('f0000000-0000-4000-8000-000000000003', 'u2', 'two', 'login', 0, 0, '{}', 1731456000000001)`,
		`INSERT INTO activity_day_counts VALUES (20000, 'login', 1), (20040, 'login', 2)`,
		`INSERT INTO activity_user_counts VALUES ('u1', 20000, 'login', 1), ('u1', 20040, 'login', 1), ('u2', 20040, 'login', 1)`,
		`INSERT INTO activity_user_hour_counts (hour, user_id, n) VALUES (480000, 'u1', 1), (480960, 'u1', 1), (480960, 'u2', 1)`,
		`INSERT INTO recommendations (id, report_id, position, category, business_impact, potential_savings_cents, currency) VALUES
			('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'cost', 'high', 10, 'USD'),
			('e0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1, 'cost', NULL, 20, 'USD'),
			('e0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 2, 'security', 'low', 100000000001, 'USD'),
			('e0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 0, 'security', 'high', 1999, 'USD')`,
	)
	migratetest.CheckReportAggregates(t, s)
	// Every client's figures come from the per-day counters, refilled on
	// open after the migration that gave them the new columns.
	all, err := s.ClientPerformance(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if all.TotalReports != 3 || all.CompletedReports != 2 || all.FailedReports != 1 || all.AvgProcessingSeconds != 3.25 ||
		all.TotalRecommendations != 4 {
		t.Errorf("performance of every client after migrating: %+v", all)
	}
	// The per-user block counters are filled from the daily ones.
	sum, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByUser})
	if err != nil {
		t.Fatal(err)
	}
	wantSum := &store.ActivitySummary{Total: 3, Rows: []store.SummaryRow{{UserID: "u1", Username: "one", Count: 2},
		{UserID: "u2", Username: "two", Count: 1}}}
	if d := cmp.Diff(wantSum, sum); d != "" {
		t.Errorf("summary by user after migrating (-want +got):\n%s", d)
	}
	// A user's total from a time on: day and hour numbers as the counters
	// count them.
	for _, c := range []struct {
		what string
		user string
		from int64 // unix seconds
		want int64
	}{
		// The per-user daily totals are filled too: u1's total from day
		// 20040 on.
		{"u1 from day 20040", "u1", 20040 * 86400, 1},
		// And the day vectors of the blocks: u1's block of day 20040 less
		// that day.
		{"u1 from day 20041", "u1", 20041 * 86400, 0},
		// And the hour vectors of the days: u2's block less the first hour
		// of day 20040.
		{"u2 from 01:00 of day 20040", "u2", 20040*86400 + 3600, 0},
	} {
		page, err := s.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: c.user,
			From: time.Unix(c.from, 0)}, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != c.want {
			t.Errorf("total of %s after migrating = %d, want %d", c.what, page.Total, c.want)
		}
	}
}

// TestMigrationRefillsReportDayCounters starts from a database that the
// previous schema version left with its per-day report counters built:
// opening it migrates and fills them again, with the failed reports and
// processing times they did not count.
func TestMigrationRefillsReportDayCounters(t *testing.T) {
	ctx := context.Background()
	s := openAfter(t, 4,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at, processing_started_at, processing_completed_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migratetest.Client+`', 'cost', 'completed', 1000, 1000, 2501000),
			('a0000000-0000-4000-8000-000000000002', '`+migratetest.Client+`', 'cost', 'failed', 2000, 2000, 9000)`,
		// The counters as the previous version built them, in UTC.
		`INSERT INTO report_day_counts VALUES ('1970-01-01', 'cost', 2, 1, 0, 0)`,
		`UPDATE report_day_zone SET zone = 'UTC'`)
	all, err := s.ClientPerformance(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if all.TotalReports != 2 || all.CompletedReports != 1 || all.FailedReports != 1 || all.AvgProcessingSeconds != 2.5 {
		t.Errorf("performance of every client after migrating: %+v", all)
	}
}

// TestMigrationActivityUsers writes activities as schema version 7 kept
// them (the user's id and names on every row, NULL for an empty name),
// with names that change over time, empty names and rows without a user,
// then migrates: every activity reads back as written, rows keep only the
// names that differ from their user's first ones, and later inserts,
// filters and erasure work on the new layout.
func TestMigrationActivityUsers(t *testing.T) {
	ctx := context.Background()
	s, path := openAfterAt(t, 7, `INSERT INTO activities (id, user_id, username, full_name, activity_type, status_code,
			duration_ns, metadata, created_at) VALUES
		('a0000000-0000-4000-8000-000000000000', 'u1', 'alice', 'Alice A', 'login', 0, 0, '{}', 1714564800000000),
		('a0000001-0000-4000-8000-000000000000', 'u1', 'alicia', 'Alice A', 'login', 0, 0, '{}', 1714651200000000),
		('a0000002-0000-4000-8000-000000000000', 'u1', NULL, NULL, 'login', 0, 0, '{}', 1714737600000000),
		('a0000003-0000-4000-8000-000000000000', 'u1', 'alice', 'Alice A', 'login', 0, 0, '{}', 1714824000000000),
		('a0000004-0000-4000-8000-000000000000', 'u2', NULL, 'Bob', 'login', 0, 0, '{}', 1714651200000000),
		('a0000005-0000-4000-8000-000000000000', 'u2', 'bob', 'Bob', 'login', 0, 0, '{}', 1714910400000000),
		('a0000006-0000-4000-8000-000000000000', NULL, 'anonymous', 'No One', 'login', 0, 0, '{}', 1714737600000000),
		('a0000007-0000-4000-8000-000000000000', NULL, NULL, NULL, 'login', 0, 0, '{}', 1714996800000000)`)
	db := rawDB(t, path)
	id := migratetest.ActivityID
	acts := migratetest.UserActivities()
	migratetest.CheckActivities(t, s, acts, "after the migration")
	own := func() []string {
		t.Helper()
		return dump(t, db, `SELECT id || '|' || COALESCE(username, 'NULL') || '|' || COALESCE(full_name, 'NULL')
			FROM activities ORDER BY id`)
	}
	want := []string{
		id(0) + "|NULL|NULL", id(1) + "|alicia|NULL", id(2) + "||", id(3) + "|NULL|NULL",
		id(4) + "|NULL|NULL", id(5) + "|bob|NULL", id(6) + "|anonymous|No One", id(7) + "|NULL|NULL",
	}
	if d := cmp.Diff(want, own()); d != "" {
		t.Errorf("names kept on the rows (-want +got):\n%s", d)
	}
	users := func() []string {
		t.Helper()
		return dump(t, db, `SELECT user_id || '|' || user_name || '|' || user_full_name FROM activity_users ORDER BY user_id`)
	}
	if d := cmp.Diff([]string{"u1|alice|Alice A", "u2||Bob"}, users()); d != "" {
		t.Errorf("users after the migration (-want +got):\n%s", d)
	}
	renamed := func() []string {
		t.Helper()
		return dump(t, db, `SELECT user_id || '|' || renamed FROM activity_users ORDER BY user_id`)
	}
	// Both users have rows with usernames of their own.
	if d := cmp.Diff([]string{"u1|1", "u2|1"}, renamed()); d != "" {
		t.Errorf("renamed users after the migration (-want +got):\n%s", d)
	}

	acts = migratetest.AddUserActivities(t, s, acts)
	migratetest.CheckActivities(t, s, acts, "after new inserts")
	want = append(want, id(8)+"|al|NULL", id(9)+"|NULL|NULL")
	if d := cmp.Diff(want, own()); d != "" {
		t.Errorf("names kept on the new rows (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"u1|1", "u2|1", "u3|0"}, renamed()); d != "" {
		t.Errorf("renamed users after new inserts (-want +got):\n%s", d)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: "u1"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	// (Total comes from the counters, which these rows written in SQL lack.)
	if len(page.Activities) != 5 || page.Activities[0].ID != id(8) {
		t.Errorf("u1's page after the migration: %d rows", len(page.Activities))
	}
	// Erasure takes the user's id and names too.
	if n, err := s.ActivityDeleteByUser(ctx, "u2"); err != nil || n != 2 {
		t.Fatalf("erasing u2: %d, %v", n, err)
	}
	if d := cmp.Diff([]string{"u1|alice|Alice A", "u3|carol|Carol"}, users()); d != "" {
		t.Errorf("users after erasing u2 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(acts[:4], migratetest.ReadActivities(t, s)[:4], cmpopts.EquateEmpty()); d != "" {
		t.Errorf("u1's activities after erasing u2 (-want +got):\n%s", d)
	}
}

// TestMigrationUserCountersKeyed writes per-user counters as schema
// version 9 kept them (by text user id, the empty id for anonymous activity, and a
// leftover row of a user no longer in activity_users), migrates, and
// checks that every row is keyed by its user's key (0 for anonymous) and
// the leftover is gone, and that a summary by user reads them.
func TestMigrationUserCountersKeyed(t *testing.T) {
	ctx := context.Background()
	vec := func(n int) string { return fmt.Sprintf("zeroblob(%d)", n*4) }
	s, path := openAfterAt(t, 9,
		`INSERT INTO activity_users (user_key, user_id, user_name, user_full_name) VALUES (7, 'u1', 'one', ''), (9, 'u2', 'two', '')`,
		`INSERT INTO activity_user_counts VALUES ('u1', 20000, 'login', 2), ('', 20000, 'login', 1), ('ghost', 20000, 'login', 0)`,
		`INSERT INTO activity_user_day_counts VALUES ('u1', 20000, 2), ('u2', 20001, 3), ('', 20000, 1), ('ghost', 20000, 0)`,
		`INSERT INTO activity_user_block_counts VALUES ('u1', 625, 2), ('u2', 625, 3), ('', 625, 1), ('ghost', 625, 0)`,
		`INSERT INTO activity_user_block_days VALUES (625, 'u1', `+vec(32)+`), (625, '', `+vec(32)+`), (625, 'ghost', `+vec(32)+`)`,
		`INSERT INTO activity_user_day_hours VALUES (20000, 'u1', `+vec(24)+`), (20000, '', `+vec(24)+`), (20000, 'ghost', `+vec(24)+`)`)
	db := rawDB(t, path)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"SELECT user_key || '|' || day || '|' || activity_type || '|' || n FROM activity_user_counts ORDER BY 1",
			[]string{"0|20000|login|1", "7|20000|login|2"}},
		{"SELECT user_key || '|' || day || '|' || n FROM activity_user_day_counts ORDER BY 1",
			[]string{"0|20000|1", "7|20000|2", "9|20001|3"}},
		{"SELECT user_key || '|' || block || '|' || n FROM activity_user_block_counts ORDER BY 1",
			[]string{"0|625|1", "7|625|2", "9|625|3"}},
		{"SELECT block || '|' || user_key || '|' || length(counts) FROM activity_user_block_days ORDER BY 1",
			[]string{"625|0|128", "625|7|128"}},
		{"SELECT day || '|' || user_key || '|' || length(counts) FROM activity_user_day_hours ORDER BY 1",
			[]string{"20000|0|96", "20000|7|96"}},
	} {
		if d := cmp.Diff(c.want, dump(t, db, c.query)); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.query, d)
		}
	}
	sum, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByUser})
	if err != nil {
		t.Fatal(err)
	}
	want := &store.ActivitySummary{Total: 6, Rows: []store.SummaryRow{{UserID: "u2", Username: "two", Count: 3},
		{UserID: "u1", Username: "one", Count: 2}}}
	if d := cmp.Diff(want, sum); d != "" {
		t.Errorf("summary by user after migrating (-want +got):\n%s", d)
	}
}

// TestMigrationUsersAutoincrement migrates users and their activities
// written at version 10: keys and names are kept, the activities read back
// with their users, and a new user's key follows the largest one.
func TestMigrationUsersAutoincrement(t *testing.T) {
	ctx := context.Background()
	s, path := openAfterAt(t, 10,
		`INSERT INTO activity_users (user_key, user_id, user_name, user_full_name, renamed) VALUES
			(3, 'u1', 'one', 'One', 0), (8, 'u2', 'two', '', 1)`,
		`INSERT INTO activities (id, user_key, username, full_name, activity_type, status_code, duration_ns, metadata, created_at) VALUES
			('a0000000-0000-4000-8000-000000000001', 3, NULL, NULL, 'login', 200, 0, '{}', 1741000000000000),
			('a0000000-0000-4000-8000-000000000002', 8, 'two-b', NULL, 'login', 200, 0, '{}', 1741000001000000)`)
	db := rawDB(t, path)
	if d := cmp.Diff([]string{"3|u1|one|One|0", "8|u2|two||1"}, dump(t, db,
		"SELECT user_key || '|' || user_id || '|' || user_name || '|' || user_full_name || '|' || renamed FROM activity_users ORDER BY 1")); d != "" {
		t.Errorf("users (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"activity_users|8"}, dump(t, db, "SELECT name || '|' || seq FROM sqlite_sequence")); d != "" {
		t.Errorf("sqlite_sequence (-want +got):\n%s", d)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range page.Activities {
		got = append(got, a.UserID+"|"+a.Username+"|"+a.FullName)
	}
	if d := cmp.Diff([]string{"u2|two-b|", "u1|one|One"}, got); d != "" {
		t.Errorf("activities (-want +got):\n%s", d)
	}
	if _, err := s.ActivityDeleteByUser(ctx, "u2"); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivityInsertMany(ctx, []store.Activity{{UserID: "u3", ActivityType: "login"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"3|u1", "9|u3"}, dump(t, db, "SELECT user_key || '|' || user_id FROM activity_users ORDER BY 1")); d != "" {
		t.Errorf("users after an erasure and a new user (-want +got):\n%s", d)
	}
}
