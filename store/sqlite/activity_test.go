package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// rawDB opens the store's file directly, to check what is stored.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// countersMatch checks that the counter tables agree with COUNT(*) over the
// activities, per UTC day, type and user.
func countersMatch(t *testing.T, db *sql.DB) {
	t.Helper()
	queries := []struct{ name, counters, direct string }{
		{"day counts",
			"SELECT day, activity_type, n FROM activity_day_counts WHERE n <> 0 ORDER BY 1, 2",
			`SELECT (created_at + 8640000000000000) / 86400000000 - 100000, activity_type, COUNT(*)
			 FROM activity_rows GROUP BY 1, 2 ORDER BY 1, 2`},
		{"hour counts",
			"SELECT hour, activity_type, n FROM activity_hour_counts WHERE n <> 0 ORDER BY 1, 2",
			`SELECT (created_at + 8640000000000000) / 3600000000 - 2400000, activity_type, COUNT(*)
			 FROM activity_rows GROUP BY 1, 2 ORDER BY 1, 2`},
		{"user day counts",
			"SELECT user_key || '/' || day, n FROM activity_user_day_counts WHERE n <> 0 ORDER BY 1",
			`SELECT COALESCE(user_key, 0) || '/' || ((created_at + 8640000000000000) / 86400000000 - 100000), COUNT(*)
			 FROM activities GROUP BY 1 ORDER BY 1`},
		{"user block counts",
			"SELECT user_key || '/' || block, n FROM activity_user_block_counts WHERE n <> 0 ORDER BY 1",
			`SELECT COALESCE(user_key, 0) || '/' || ((created_at + 8640000000000000) / 2764800000000 - 3125), COUNT(*)
			 FROM activities GROUP BY 1 ORDER BY 1`},
		{"user counts",
			"SELECT user_key || '/' || day || '/' || activity_type, n FROM activity_user_counts WHERE n <> 0 ORDER BY 1",
			`SELECT COALESCE(user_key, 0) || '/' || ((created_at + 8640000000000000) / 86400000000 - 100000) || '/' || activity_type,
			 COUNT(*) FROM activities GROUP BY 1 ORDER BY 1`},
	}
	for _, q := range queries {
		got, want := dump(t, db, q.counters), dump(t, db, q.direct)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differ from COUNT(*) (-want +got):\n%s", q.name, diff)
		}
	}
	// The count vectors, decoded here rather than by the driver's functions.
	want := dump(t, db, `SELECT COALESCE(user_key, 0) || '/' || ((created_at + 8640000000000000) / 86400000000 - 100000), COUNT(*)
		FROM activities GROUP BY 1 ORDER BY 1`)
	if diff := cmp.Diff(want, countVectors(t, db, "activity_user_block_days", "block", 32)); diff != "" {
		t.Errorf("user block day vectors differ from COUNT(*) (-want +got):\n%s", diff)
	}
	want = dump(t, db, `SELECT COALESCE(user_key, 0) || '/' || ((created_at + 8640000000000000) / 3600000000 - 2400000), COUNT(*)
		FROM activities GROUP BY 1 ORDER BY 1`)
	if diff := cmp.Diff(want, countVectors(t, db, "activity_user_day_hours", "day", 24)); diff != "" {
		t.Errorf("user day hour vectors differ from COUNT(*) (-want +got):\n%s", diff)
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM activities a WHERE a.user_key IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM activity_users u WHERE u.user_key = a.user_key)`); n != 0 {
		t.Errorf("%d activities name a user not in activity_users", n)
	}
	var negative int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM activity_day_counts WHERE n < 0) +
		(SELECT COUNT(*) FROM activity_hour_counts WHERE n < 0) +
		(SELECT COUNT(*) FROM activity_user_block_counts WHERE n < 0) +
		(SELECT COUNT(*) FROM activity_user_day_counts WHERE n < 0) +
		(SELECT COUNT(*) FROM activity_user_counts WHERE n < 0)`).Scan(&negative); err != nil {
		t.Fatal(err)
	}
	if negative != 0 {
		t.Errorf("%d negative counters", negative)
	}
}

// countVectors decodes the count vectors of table (rows keyed by key, of
// size units) into "user/unit" and count pairs, as dump formats them, for
// the units with a count other than 0, in the order of their text (as
// ORDER BY sorts it).
func countVectors(t *testing.T, db *sql.DB, table, key string, size int64) []string {
	t.Helper()
	rows, err := db.Query("SELECT " + key + ", user_key, counts FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type entry struct {
		key string
		n   int64
	}
	var entries []entry
	for rows.Next() {
		var row int64
		var user string
		var counts []byte
		if err := rows.Scan(&row, &user, &counts); err != nil {
			t.Fatal(err)
		}
		if int64(len(counts)) != size*4 {
			t.Fatalf("%s %d of %q: a vector of %d bytes, want %d", table, row, user, len(counts), size*4)
		}
		for i := range size {
			if n := int32(binary.LittleEndian.Uint32(counts[i*4:])); n != 0 {
				entries = append(entries, entry{user + "/" + strconv.FormatInt(row*size+i, 10), int64(n)})
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprint(e.key, e.n))
	}
	return out
}

func dump(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// spread returns n activities every 37 minutes from start, over three users
// (one anonymous) and three types.
func spread(n int, start time.Time) []store.Activity {
	users := []string{"alice", "bob", ""}
	types := []string{"login", "download_report", "view_dashboard"}
	out := make([]store.Activity, n)
	for i := range out {
		out[i] = store.Activity{
			UserID:       users[i%3],
			Username:     users[i%3],
			ActivityType: types[(i/3)%3],
			CreatedAt:    start.Add(time.Duration(i) * 37 * time.Minute),
		}
	}
	return out
}

func countAll(t *testing.T, db *sql.DB, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT COUNT(*) FROM activity_rows WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCountersMatchCountAfterInsertEraseRetention(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	db := rawDB(t, path)
	start := time.Date(2025, 3, 1, 22, 15, 0, 0, time.UTC)
	acts := spread(700, start) // about 18 days
	for i := 0; i < len(acts); i += 250 {
		if err := s.ActivityInsertMany(ctx, acts[i:min(i+250, len(acts))]); err != nil {
			t.Fatal(err)
		}
	}
	countersMatch(t, db)

	// Totals for filters the counters serve, against COUNT(*).
	from, to := start.Add(26*time.Hour+7*time.Minute), start.Add(9*24*time.Hour+5*time.Hour)
	filters := []struct {
		name  string
		f     store.ActivityFilter
		where string
		args  []any
	}{
		{"all", store.ActivityFilter{}, "1", nil},
		{"range", store.ActivityFilter{From: from, To: to}, "created_at BETWEEN ? AND ?", []any{from.UnixMicro(), to.UnixMicro()}},
		{"from only", store.ActivityFilter{From: from}, "created_at >= ?", []any{from.UnixMicro()}},
		{"to only", store.ActivityFilter{To: to}, "created_at <= ?", []any{to.UnixMicro()}},
		{"short range", store.ActivityFilter{From: from, To: from.Add(3 * time.Hour)}, "created_at BETWEEN ? AND ?",
			[]any{from.UnixMicro(), from.Add(3 * time.Hour).UnixMicro()}},
		{"user and type in range", store.ActivityFilter{From: from, To: to, UserID: "alice", ActivityType: "login"},
			"created_at BETWEEN ? AND ? AND user_id = 'alice' AND activity_type = 'login'", []any{from.UnixMicro(), to.UnixMicro()}},
		{"type", store.ActivityFilter{ActivityType: "view_dashboard"}, "activity_type = 'view_dashboard'", nil},
		{"user in range", store.ActivityFilter{From: from, To: to, UserID: "bob"},
			"created_at BETWEEN ? AND ? AND user_id = 'bob'", []any{from.UnixMicro(), to.UnixMicro()}},
		{"midnight bounds", store.ActivityFilter{From: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
			"created_at BETWEEN ? AND ?", []any{time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC).UnixMicro()}},
	}
	check := func(stage string) {
		t.Helper()
		for _, c := range filters {
			page, err := s.ActivityList(ctx, store.ActivityListParams{ActivityFilter: c.f, Limit: 5})
			if err != nil {
				t.Fatalf("%s %s: %v", stage, c.name, err)
			}
			if want := countAll(t, db, c.where, c.args...); page.Total != want {
				t.Errorf("%s %s: Total = %d, want COUNT(*) %d", stage, c.name, page.Total, want)
			}
		}
	}
	check("after insert")
	for _, since := range []time.Time{{}, start, from, from.Add(30 * time.Minute), to, start.Add(40 * 24 * time.Hour)} {
		got, err := s.ActivityDistinctUsers(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		if err := db.QueryRow("SELECT COUNT(DISTINCT user_id) FROM activity_rows WHERE created_at >= ?", since.UnixMicro()).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if since.IsZero() {
			want = 2
		}
		if got != want {
			t.Errorf("ActivityDistinctUsers(%v) = %d, want %d", since, got, want)
		}
	}

	n, err := s.ActivityDeleteByUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n != 234 { // every third of 700, from the first
		t.Errorf("ActivityDeleteByUser = %d, want 234", n)
	}
	if got := countAll(t, db, "user_id = 'alice'"); got != 0 {
		t.Errorf("%d activities of alice left", got)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM activity_users WHERE user_id = 'alice'"); n != 0 {
		t.Error("the erased user is still in activity_users")
	}
	countersMatch(t, db)
	check("after erase")

	// Two months earlier, in a 32-day block of its own that retention
	// empties.
	if err := s.ActivityInsertMany(ctx, spread(30, start.AddDate(0, -2, 0))); err != nil {
		t.Fatal(err)
	}
	countersMatch(t, db)
	cutoff := start.Add(5*24*time.Hour + 3*time.Hour + 11*time.Minute)
	before := countAll(t, db, "created_at < ?", cutoff.UnixMicro())
	deleted, err := s.ActivityDeleteBefore(ctx, cutoff, 17)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != before || before == 0 {
		t.Errorf("ActivityDeleteBefore = %d, want %d", deleted, before)
	}
	if left := countAll(t, db, "created_at < ?", cutoff.UnixMicro()); left != 0 {
		t.Errorf("%d activities before the cutoff left", left)
	}
	countersMatch(t, db)
	check("after retention")
	// Alice, back with activities before the cutoff only, is gone again.
	if n := countRows(t, db, `SELECT COUNT(*) FROM activity_users u
		WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.user_key = u.user_key)`); n != 0 {
		t.Errorf("%d users without activities left after retention", n)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM activity_users"); n != 1 {
		t.Errorf("%d users after retention, want bob alone", n)
	}
	// Retention drops the count vectors it emptied.
	if n := countRows(t, db, `SELECT (SELECT COUNT(*) FROM activity_user_block_days WHERE counts = zeroblob(128)) +
		(SELECT COUNT(*) FROM activity_user_day_hours WHERE counts = zeroblob(96))`); n != 0 {
		t.Errorf("%d empty count vectors left after retention", n)
	}
}

func countRows(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestActivityInsertManyRefusesBadInputWritingNothing(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	db := rawDB(t, path)
	cases := []struct {
		name  string
		bad   store.Activity
		field string
	}{
		{"no type", store.Activity{UserID: "u"}, "activity_type"},
		{"bad client", store.Activity{ActivityType: "login", ClientID: "nope"}, "client_id"},
		{"bad id", store.Activity{ActivityType: "login", ID: "x"}, "id"},
		{"negative duration", store.Activity{ActivityType: "login", Duration: -1}, "duration_ms"},
		{"unencodable metadata", store.Activity{ActivityType: "login", Metadata: map[string]any{"c": make(chan int)}}, "metadata"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batch := []store.Activity{{ActivityType: "login"}, c.bad, {ActivityType: "logout"}}
			err := s.ActivityInsertMany(ctx, batch)
			ve, ok := errors.AsType[*store.ValidationError](err)
			if !ok {
				t.Fatalf("error = %v, want a *store.ValidationError", err)
			}
			if ve.Field != c.field {
				t.Errorf("Field = %q, want %q", ve.Field, c.field)
			}
			if n := countAll(t, db, "1"); n != 0 {
				t.Errorf("%d activities written", n)
			}
		})
	}
	var counters int
	if err := db.QueryRow("SELECT COUNT(*) FROM activity_day_counts").Scan(&counters); err != nil {
		t.Fatal(err)
	}
	if counters != 0 {
		t.Errorf("%d counter rows written", counters)
	}
}

func TestActivityInsertManyDuplicateIsConflict(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	a := store.Activity{ID: store.NewID(), ActivityType: "login", CreatedAt: fixedNow}
	if err := s.ActivityInsertMany(ctx, []store.Activity{a}); err != nil {
		t.Fatal(err)
	}
	// The replayed event comes last, after several multi-row statements
	// of the batch have run: the whole transaction must be undone.
	batch := make([]store.Activity, 300, 301)
	for i := range batch {
		batch[i] = store.Activity{ActivityType: "logout", CreatedAt: fixedNow.Add(time.Duration(i) * time.Second)}
	}
	err := s.ActivityInsertMany(ctx, append(batch, a))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replayed activity: %v, want ErrConflict", err)
	}
	db := rawDB(t, path)
	if n := countAll(t, db, "1"); n != 1 {
		t.Errorf("%d activities stored, want 1 (the failed batch wrote nothing)", n)
	}
	// The writer connection is still usable and the counters still exact.
	if err := s.ActivityInsertMany(ctx, []store.Activity{{ActivityType: "logout", CreatedAt: fixedNow}}); err != nil {
		t.Fatalf("insert after a conflict: %v", err)
	}
	if n := countAll(t, db, "1"); n != 2 {
		t.Errorf("%d activities stored, want 2", n)
	}
	var counted int64
	if err := db.QueryRow("SELECT COALESCE(SUM(n), 0) FROM activity_day_counts").Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != 2 {
		t.Errorf("day counters total %d, want 2", counted)
	}
}

func TestSummaryByDayAcrossDST(t *testing.T) {
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := openStore(t)
	// 2025-03-09: clocks go from 02:00 EST (UTC−5) to 03:00 EDT (UTC−4).
	times := []string{
		"2025-03-09T04:59:59Z", // 23:59:59 EST on 03-08
		"2025-03-09T05:00:00Z", // 00:00 EST on 03-09
		"2025-03-09T06:59:59Z", // 01:59:59 EST
		"2025-03-09T07:00:00Z", // 03:00 EDT
		"2025-03-10T03:59:59Z", // 23:59:59 EDT on 03-09
		"2025-03-10T04:00:00Z", // 00:00 EDT on 03-10
	}
	var acts []store.Activity
	for _, v := range times {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		acts = append(acts, store.Activity{ActivityType: "login", UserID: "u", CreatedAt: at})
	}
	if err := s.ActivityInsertMany(ctx, acts); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    store.ActivityFilter
	}{
		{"unbounded", store.ActivityFilter{}},
		{"bounded", store.ActivityFilter{From: time.Date(2025, 3, 1, 0, 0, 0, 0, ny), To: time.Date(2025, 3, 31, 0, 0, 0, 0, ny)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: c.f, GroupBy: store.GroupByDay, Location: ny})
			if err != nil {
				t.Fatal(err)
			}
			want := &store.ActivitySummary{Total: 6, Rows: []store.SummaryRow{
				{Day: "2025-03-08", Count: 1}, {Day: "2025-03-09", Count: 4}, {Day: "2025-03-10", Count: 1},
			}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("days in America/New_York (-want +got):\n%s", diff)
			}
		})
	}
	utc, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByDay})
	if err != nil {
		t.Fatal(err)
	}
	want := &store.ActivitySummary{Total: 6, Rows: []store.SummaryRow{{Day: "2025-03-09", Count: 4}, {Day: "2025-03-10", Count: 2}}}
	if diff := cmp.Diff(want, utc); diff != "" {
		t.Errorf("days in UTC (-want +got):\n%s", diff)
	}
}

func TestReportUpsertUnknownClientWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	r := &store.Report{ID: store.NewID(), ClientID: store.NewID(), ReportType: store.ReportCost,
		Recommendations: []store.Recommendation{{Category: store.CategoryCost, PotentialSavings: 10}}}
	err := s.ReportUpsert(ctx, r)
	if ve, ok := errors.AsType[*store.ValidationError](err); !ok || ve.Field != "client_id" {
		t.Fatalf("ReportUpsert with unknown client = %v, want a validation error on client_id", err)
	}
	var n int
	if err := rawDB(t, path).QueryRow("SELECT (SELECT COUNT(*) FROM reports) + (SELECT COUNT(*) FROM recommendations)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows written", n)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, _ := openStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checks := map[string]error{
		"insert": s.ActivityInsertMany(ctx, []store.Activity{{ActivityType: "login"}}),
		"list": func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{})
			return err
		}(),
	}
	for name, err := range checks {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.ActivityInsertMany(ctx, []store.Activity{{ActivityType: "login"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("insert with cancelled context = %v, want context.Canceled", err)
	}
	_, err = s.ActivityList(ctx, store.ActivityListParams{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("list with cancelled context = %v, want context.Canceled", err)
	}
}

func TestSummaryByDayMatchesReference(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	start := time.Date(2025, 3, 5, 21, 41, 13, 0, time.UTC)
	acts := spread(900, start) // about 23 days across the 2025-03-09 (US) and 2025-04-06 (Lord Howe) transitions
	if err := s.ActivityInsertMany(ctx, acts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []store.ActivityFilter{
			{},
			{From: start.Add(90 * time.Minute), To: start.Add(20*24*time.Hour + 17*time.Minute)},
			{From: start.Add(3 * time.Hour), To: start.Add(15 * 24 * time.Hour), UserID: "bob"},
			{From: start.Add(3 * time.Hour), To: start.Add(15 * 24 * time.Hour), ActivityType: "login"},
			{UserID: "alice", ActivityType: "login"},
		} {
			t.Run(fmt.Sprintf("%s/%s-%s-%s", name, f.From.Format(time.TimeOnly), f.UserID, f.ActivityType), func(t *testing.T) {
				want := &store.ActivitySummary{Rows: []store.SummaryRow{}}
				byDay := map[string]int64{}
				var days []string
				for _, a := range acts {
					if (!f.From.IsZero() && a.CreatedAt.Before(f.From)) || (!f.To.IsZero() && a.CreatedAt.After(f.To)) ||
						(f.UserID != "" && a.UserID != f.UserID) || (f.ActivityType != "" && a.ActivityType != f.ActivityType) {
						continue
					}
					d := a.CreatedAt.In(loc).Format(time.DateOnly)
					if byDay[d] == 0 {
						days = append(days, d)
					}
					byDay[d]++
					want.Total++
				}
				for _, d := range days { // acts are in time order, so days are too
					want.Rows = append(want.Rows, store.SummaryRow{Day: d, Count: byDay[d]})
				}
				got, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: store.GroupByDay, Location: loc})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestActivityInsertManyRefusesBadInputLateInALargeBatch(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	batch := make([]store.Activity, 500)
	for i := range batch {
		batch[i] = store.Activity{ActivityType: "login", UserID: "u", CreatedAt: fixedNow.Add(time.Duration(i) * time.Second)}
	}
	batch[400].ActivityType = ""
	err := s.ActivityInsertMany(ctx, batch)
	ve, ok := errors.AsType[*store.ValidationError](err)
	if !ok {
		t.Fatalf("error = %v, want a *store.ValidationError", err)
	}
	if ve.Field != "activity_type" || !strings.Contains(err.Error(), "activity 400:") {
		t.Errorf("error = %v (field %q), want activity 400's activity_type", err, ve.Field)
	}
	db := rawDB(t, path)
	if n := countAll(t, db, "1"); n != 0 {
		t.Errorf("%d activities written", n)
	}
	batch[400].ActivityType = "logout"
	if err := s.ActivityInsertMany(ctx, batch); err != nil {
		t.Fatalf("insert after the refused batch: %v", err)
	}
	if n := countAll(t, db, "1"); n != 500 {
		t.Errorf("%d activities stored, want 500", n)
	}
	countersMatch(t, db)
}

// TestSummaryByUserAfterErasure checks the users a summary by user names
// when the newest user is erased and another one added: the new user's key
// is not the erased one's (AUTOINCREMENT), so what a store remembers of the
// erased user's key never names the new one.
func TestSummaryByUserAfterErasure(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	at := fixedNow.Add(-time.Hour)
	add := func(s *sqlite.Store, user, name string) {
		t.Helper()
		if err := s.ActivityInsertMany(ctx, []store.Activity{{UserID: user, Username: name, ActivityType: "login", CreatedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	summary := func(s *sqlite.Store) []store.SummaryRow {
		t.Helper()
		sum, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByUser})
		if err != nil {
			t.Fatal(err)
		}
		return sum.Rows
	}
	add(s, "u1", "alice")
	add(s, "u2", "bob")
	add(s, "u3", "carol")
	want := []store.SummaryRow{{UserID: "u1", Username: "alice", Count: 1}, {UserID: "u2", Username: "bob", Count: 1},
		{UserID: "u3", Username: "carol", Count: 1}}
	if diff := cmp.Diff(want, summary(s)); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}

	// A second store on the file, which has read the users too, erases the
	// newest user and adds another; then a user is renamed.
	other, err := sqlite.Open(ctx, path, sqlite.Config{NowFunc: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if diff := cmp.Diff(want, summary(other)); diff != "" {
		t.Fatalf("summary of the second store (-want +got):\n%s", diff)
	}
	if _, err := other.ActivityDeleteByUser(ctx, "u3"); err != nil {
		t.Fatal(err)
	}
	add(other, "u4", "dave")
	add(other, "u1", "alice2")
	want = []store.SummaryRow{{UserID: "u1", Username: "alice2", Count: 2}, {UserID: "u2", Username: "bob", Count: 1},
		{UserID: "u4", Username: "dave", Count: 1}}
	for name, st := range map[string]*sqlite.Store{"first": s, "second": other} {
		if diff := cmp.Diff(want, summary(st)); diff != "" {
			t.Errorf("%s store: summary after the erasure (-want +got):\n%s", name, diff)
		}
	}
}
