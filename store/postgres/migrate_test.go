package postgres_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/migratetest"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// insertClient writes migratetest.Client on an earlier schema version.
const insertClient = `INSERT INTO clients VALUES ('` + migratetest.Client + `', 'Contoso', 'technology', 'active', now(), now())`

// storeAt opens a store on a new schema without migrating, applies the
// first n embedded migrations' files and runs queries.
func storeAt(t *testing.T, n int, queries ...string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), testdb.PostgresURL(t), postgres.Config{SkipMigrate: true})
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < n {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	all := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`}
	for v, f := range files[:n] {
		b, err := os.ReadFile(f)
		must(t, err)
		all = append(all, string(b), fmt.Sprintf("INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
			v+1, strings.TrimSuffix(filepath.Base(f), ".sql")))
	}
	for _, q := range append(all, queries...) {
		if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	return s
}

// TestMigrationBackfillsReportAggregates writes reports and
// recommendations on the first schema version, migrates, and checks that
// the report aggregates computed from them match.
func TestMigrationBackfillsReportAggregates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeAt(t, 1,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migratetest.Client+`', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000002', '`+migratetest.Client+`', 'cost', 'completed', now()),
			('a0000000-0000-4000-8000-000000000003', '`+migratetest.Client+`', 'cost', 'completed', now())`,
		`INSERT INTO recommendations (id, report_id, position, category, business_impact, potential_savings, currency) VALUES
			('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'cost', 'high', 0.10, 'USD'),
			('e0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1, 'cost', NULL, 0.20, 'USD'),
			('e0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 2, 'security', 'low', 1000000000.01, 'USD'),
			('e0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 0, 'security', 'high', 19.99, 'USD')`)
	must(t, s.Migrate(ctx))
	migratetest.CheckReportAggregates(t, s)
}

// TestMigrationRefillsReportDayCounters starts from a database that the
// previous schema version left with its per-day report counters built:
// migrating fills them again, with the failed reports and processing times
// they did not count.
func TestMigrationRefillsReportDayCounters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeAt(t, 6,
		insertClient,
		`INSERT INTO reports (id, client_id, report_type, status, created_at, processing_started_at, processing_completed_at) VALUES
			('a0000000-0000-4000-8000-000000000001', '`+migratetest.Client+`', 'cost', 'completed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:02.5Z'),
			('a0000000-0000-4000-8000-000000000002', '`+migratetest.Client+`', 'cost', 'failed', '2025-01-01T00:00:00Z',
				'2025-01-01T00:00:00Z', '2025-01-01T00:00:09Z')`,
		// The counters as the previous version built them, in UTC.
		`INSERT INTO report_day_counts (day, report_type, reports, completed, recommendations, savings_cents)
			VALUES ('2025-01-01', 'cost', 2, 1, 0, 0)`,
		`UPDATE report_day_zone SET zone = 'UTC'`)
	must(t, s.Migrate(ctx))
	all, err := s.ClientPerformance(ctx, "")
	must(t, err)
	if all.TotalReports != 2 || all.CompletedReports != 1 || all.FailedReports != 1 || all.AvgProcessingSeconds != 2.5 {
		t.Errorf("performance of every client after migrating: %+v", all)
	}
}

// TestMigrationActivityUsers writes activities as version 8 kept them (the
// user's id and names on every row, names changing over time, empty, or
// without a user), applies the activity_users migrations and checks that
// the counters match the activities, that every activity reads back as
// written, that rows keep only the names that differ from their user's
// first ones, and that new activities, erasure and retention keep
// activity_users in step.
func TestMigrationActivityUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeAt(t, 8, `CREATE TABLE activities_p20240501 PARTITION OF activities
		FOR VALUES FROM ('2024-05-01 00:00:00+00') TO ('2024-06-01 00:00:00+00')`)
	at, id := migratetest.Day, migratetest.ActivityID
	acts := migratetest.UserActivities()
	insertOldActivities(t, s, acts)
	must(t, s.Migrate(ctx))
	checkCounters(t, s)
	migratetest.CheckActivities(t, s, acts, "after the migration")
	own := func() map[string][2]*string {
		t.Helper()
		rows, err := s.DB().QueryContext(ctx, `SELECT id::text, username, full_name FROM activities`)
		must(t, err)
		defer rows.Close()
		out := map[string][2]*string{}
		for rows.Next() {
			var id string
			var name, full *string
			must(t, rows.Scan(&id, &name, &full))
			out[id] = [2]*string{name, full}
		}
		must(t, rows.Err())
		return out
	}
	str := func(s string) *string { return &s }
	want := map[string][2]*string{
		id(0): {nil, nil}, id(1): {str("alicia"), nil}, id(2): {str(""), str("")}, id(3): {nil, nil},
		id(4): {nil, nil}, id(5): {str("bob"), nil}, id(6): {str("anonymous"), str("No One")}, id(7): {nil, nil},
	}
	if d := cmp.Diff(want, own()); d != "" {
		t.Errorf("names kept on the rows (-want +got):\n%s", d)
	}
	sum, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByUser})
	must(t, err)
	wantRows := []store.SummaryRow{{UserID: "u1", Username: "alice", Count: 4}, {UserID: "u2", Username: "bob", Count: 2}}
	if d := cmp.Diff(wantRows, sum.Rows); d != "" {
		t.Errorf("summary by user (-want +got):\n%s", d)
	}

	acts = migratetest.AddUserActivities(t, s, acts)
	migratetest.CheckActivities(t, s, acts, "after new inserts")
	want[id(8)], want[id(9)] = [2]*string{str("al"), nil}, [2]*string{nil, nil}
	if d := cmp.Diff(want, own()); d != "" {
		t.Errorf("names kept on the new rows (-want +got):\n%s", d)
	}
	users := func() []string {
		t.Helper()
		var out []string
		rows, err := s.DB().QueryContext(ctx, `SELECT user_id FROM activity_users ORDER BY 1`)
		must(t, err)
		defer rows.Close()
		for rows.Next() {
			var u string
			must(t, rows.Scan(&u))
			out = append(out, u)
		}
		must(t, rows.Err())
		return out
	}
	// Erasure takes the user's id and names too; retention takes users
	// whose activities are all gone.
	if _, err := s.ActivityDeleteByUser(ctx, "u2"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"u1", "u3"}, users()); d != "" {
		t.Errorf("users after erasing u2 (-want +got):\n%s", d)
	}
	if _, err := s.ActivityDeleteBefore(ctx, at(7), 0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"u1", "u3"}, users()); d != "" {
		t.Errorf("users after retention before day 7 (-want +got):\n%s", d)
	}
	if _, err := s.ActivityDeleteBefore(ctx, at(8), 0); err != nil {
		t.Fatal(err)
	}
	if got := users(); len(got) != 0 {
		t.Errorf("users after retention of every activity: %v", got)
	}
	// A user erased and seen again gets a new row.
	again := store.Activity{ID: id(10), UserID: "u2", Username: "bobby", ActivityType: "login", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	must(t, s.ActivityInsertMany(ctx, []store.Activity{again}))
	page, err := s.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: "u2"}})
	must(t, err)
	if len(page.Activities) != 1 || page.Activities[0].Username != "bobby" || page.Total != 1 {
		t.Errorf("u2 after coming back: %+v", page)
	}
}

// TestUserDeletionRacesWriters erases a user, and lets retention drop the
// users it leaves without activities, while writers keep adding that
// user's activities: no activity may be left naming a deleted user, and
// the counters must match the activities.
func TestUserDeletionRacesWriters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := newStore(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var n atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]store.Activity, 20)
				for i := range batch {
					batch[i] = store.Activity{UserID: "racer", Username: fmt.Sprintf("racer-%d", w), ActivityType: "login",
						CreatedAt: time.Now().UTC().Add(-time.Duration(n.Add(1)) * time.Millisecond)}
				}
				if err := s.ActivityInsertMany(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			if i%2 == 0 {
				_, err = s.ActivityDeleteByUser(ctx, "racer")
			} else if err = s.ActivityInsertMany(ctx, []store.Activity{{UserID: "old", ActivityType: "login", CreatedAt: old}}); err == nil {
				// Retention deletes the old activity, then the users left
				// without any: the racer too, when just erased.
				_, err = s.ActivityDeleteBefore(ctx, old.AddDate(1, 0, 0), 0)
			}
			if err != nil {
				errs <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var dangling int64
	must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM activities a WHERE user_key IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM activity_users u WHERE u.user_key = a.user_key)`).Scan(&dangling))
	if dangling != 0 {
		t.Errorf("%d activities name a deleted user", dangling)
	}
	checkCounters(t, s)
	t.Logf("%d activities written", n.Load())
}
