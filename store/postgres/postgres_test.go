package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
)

// open returns a migrated store on url, closed when the test ends.
func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Config{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// newStore returns a migrated store on a fresh schema.
func newStore(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	url := testdb.PostgresURL(t)
	return open(t, url), url
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func count(t testing.TB, s *postgres.Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	must(t, s.DB().QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

func wantField(t testing.TB, err error, field string) {
	t.Helper()
	ve, ok := errors.AsType[*store.ValidationError](err)
	if !ok {
		t.Fatalf("got error %v, want a *store.ValidationError on %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("got ValidationError on %q (%v), want %q", ve.Field, err, field)
	}
}

func TestOpenMigratesOnceConcurrently(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	const replicas = 4
	stores := make([]*postgres.Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.Config{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: open: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	s := stores[0]
	applied, latest, err := s.MigrationStatus(t.Context())
	must(t, err)
	if applied != latest || latest < 1 {
		t.Errorf("MigrationStatus = %d, %d; want applied = latest ≥ 1", applied, latest)
	}
	if n := count(t, s, `SELECT count(*) FROM schema_migrations`); n != int64(latest) {
		t.Errorf("schema_migrations has %d rows, want %d", n, latest)
	}
	// Migrating again is a no-op.
	must(t, s.Migrate(t.Context()))
	if n := count(t, s, `SELECT count(*) FROM schema_migrations`); n != int64(latest) {
		t.Errorf("after a second Migrate schema_migrations has %d rows, want %d", n, latest)
	}
	// Every table is in the schema of the URL, none in public.
	if n := count(t, s, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'activities'`, s.Schema()); n != 1 {
		t.Errorf("activities table found %d times in schema %s, want 1", n, s.Schema())
	}
}

func TestOpenSkipMigrate(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	s, err := postgres.Open(t.Context(), url, postgres.Config{SkipMigrate: true})
	must(t, err)
	defer s.Close()
	applied, latest, err := s.MigrationStatus(t.Context())
	must(t, err)
	if applied != 0 || latest < 1 {
		t.Errorf("MigrationStatus before Migrate = %d, %d; want 0, ≥ 1", applied, latest)
	}
	must(t, s.Migrate(t.Context()))
	applied, _, err = s.MigrationStatus(t.Context())
	must(t, err)
	if applied != latest {
		t.Errorf("applied after Migrate = %d, want %d", applied, latest)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  postgres.Config
		field string
	}{
		{"negative max open", postgres.Config{MaxOpenConns: -1}, "max_open_conns"},
		{"negative max idle", postgres.Config{MaxIdleConns: -1}, "max_idle_conns"},
		{"negative lifetime", postgres.Config{ConnMaxLifetime: -time.Second}, "conn_max_lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), "postgres://127.0.0.1:1/none?sslmode=disable", tt.opts)
			wantField(t, err, tt.field)
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.Config{})
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	must(t, s.Close())
	must(t, s.Close())
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping after Close: got %v, want ErrUnavailable", err)
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	must(t, s.Ping(t.Context()))
	n, err := s.Size(t.Context())
	must(t, err)
	if n <= 0 {
		t.Errorf("Size = %d, want > 0", n)
	}
	if st := s.Stats(); st.Driver != "postgres" || st.OpenConnections < 1 {
		t.Errorf("Stats = %+v, want driver postgres with an open connection", st)
	}
}

func TestErrorTranslation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()

	_, err := s.ClientGet(ctx, store.NewID())
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClientGet unknown: got %v, want ErrNotFound", err)
	}
	_, err = s.ClientGet(ctx, "nope")
	wantField(t, err, "id")

	run := &store.JobRun{Job: "j", RunKey: "j@1"}
	must(t, s.JobRunStart(ctx, run))
	err = s.JobRunStart(ctx, &store.JobRun{Job: "j", RunKey: "j@1"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second JobRunStart: got %v, want ErrConflict", err)
	}
	if n := count(t, s, `SELECT count(*) FROM job_runs`); n != 1 {
		t.Errorf("job_runs has %d rows, want 1", n)
	}
	err = s.JobRunFinish(ctx, &store.JobRun{ID: store.NewID()})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("JobRunFinish unknown: got %v, want ErrNotFound", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.ActivityList(cctx, store.ActivityListParams{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ActivityList with a cancelled context: got %v, want context.Canceled", err)
	}
	err = s.ActivityInsertMany(cctx, []store.Activity{{ActivityType: "login"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ActivityInsertMany with a cancelled context: got %v, want context.Canceled", err)
	}

}

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	a, url := newStore(t)
	b := open(t, url)
	other, _ := newStore(t) // another schema on the same database

	got := make(chan string, 10)
	stop, err := b.Subscribe(t.Context(), "cache", func(p string) { got <- p })
	must(t, err)
	defer stop()
	leaked := make(chan string, 10)
	stopOther, err := other.Subscribe(t.Context(), "cache", func(p string) { leaked <- p })
	must(t, err)
	defer stopOther()

	must(t, a.Publish(t.Context(), "cache", "clear:1"))
	must(t, a.Publish(t.Context(), "other-channel", "ignored"))
	must(t, a.Publish(t.Context(), "cache", "clear:2"))
	for _, want := range []string{"clear:1", "clear:2"} {
		select {
		case p := <-got:
			if p != want {
				t.Errorf("received %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification %q within 10s", want)
		}
	}
	// A publish on the other schema's store reaches its own subscriber
	// only; the round trip also proves nothing from the first schema
	// arrived before it.
	must(t, other.Publish(t.Context(), "cache", "mine"))
	select {
	case p := <-leaked:
		if p != "mine" {
			t.Errorf("subscriber of another schema received %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification on the other schema")
	}
	stop()
	stop() // idempotent
	must(t, a.Publish(t.Context(), "cache", "after-stop"))
	must(t, other.Publish(t.Context(), "cache", "sync"))
	<-leaked
	select {
	case p := <-got:
		t.Errorf("received %q after stop", p)
	default:
	}
}

func TestSubscribeStopsWithContext(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	stop, err := s.Subscribe(ctx, "c", func(string) {})
	must(t, err)
	cancel()
	stop() // returns once the subscription goroutine has ended
	must(t, s.Close())
}

func TestTryLockExclusive(t *testing.T) {
	t.Parallel()
	a, url := newStore(t)
	b := open(t, url)
	other, _ := newStore(t)
	ctx := t.Context()

	unlock, ok, err := a.TryLock(ctx, "job:daily")
	must(t, err)
	if !ok {
		t.Fatal("first TryLock: not acquired")
	}
	_, ok, err = b.TryLock(ctx, "job:daily")
	must(t, err)
	if ok {
		t.Fatal("second store acquired a held lock")
	}
	_, ok, err = a.TryLock(ctx, "job:daily")
	must(t, err)
	if ok {
		t.Fatal("the same store acquired a held lock on another connection")
	}
	u2, ok, err := b.TryLock(ctx, "job:weekly")
	must(t, err)
	if !ok {
		t.Fatal("another key was not acquired")
	}
	must(t, u2(ctx))
	u3, ok, err := other.TryLock(ctx, "job:daily")
	must(t, err)
	if !ok {
		t.Fatal("the same key in another schema was not acquired")
	}
	must(t, u3(ctx))

	must(t, unlock(ctx))
	must(t, unlock(ctx)) // idempotent
	u4, ok, err := b.TryLock(ctx, "job:daily")
	must(t, err)
	if !ok {
		t.Fatal("lock not acquired after unlock")
	}
	must(t, u4(ctx))
	if st := a.Stats(); st.InUse != 0 {
		t.Errorf("connections in use after unlocking: %d", st.InUse)
	}
}

func TestClientAndReport(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	created := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	c := &store.Client{ID: store.NewID(), CompanyName: "Contoso", Industry: store.IndustryRetail, CreatedAt: created}
	must(t, s.ClientUpsert(ctx, c))
	// An update without CreatedAt keeps the stored one.
	must(t, s.ClientUpsert(ctx, &store.Client{ID: c.ID, CompanyName: "Contoso Ltd", Status: store.ClientSuspended}))
	got, err := s.ClientGet(ctx, c.ID)
	must(t, err)
	if got.CompanyName != "Contoso Ltd" || got.Status != store.ClientSuspended || !got.CreatedAt.Equal(created) {
		t.Errorf("client after update = %+v", got)
	}

	started := created.Add(time.Hour)
	done := started.Add(90 * time.Second)
	r := &store.Report{
		ID: store.NewID(), ClientID: c.ID, CreatedBy: "u1", ReportType: store.ReportCost, Status: store.StatusCompleted,
		CreatedAt: created, ProcessingStartedAt: &started, ProcessingCompletedAt: &done,
		Recommendations: []store.Recommendation{
			{Category: store.CategoryCost, BusinessImpact: "High", PotentialSavings: 1234.567, Recommendation: "Resize"},
			{Category: store.CategorySecurity, PotentialSavings: 1e12},
		},
	}
	must(t, s.ReportUpsert(ctx, r))
	gotR, err := s.ReportGet(ctx, r.ID)
	must(t, err)
	if d := cmp.Diff(r, gotR); d != "" {
		t.Errorf("ReportGet mismatch (-want +got):\n%s", d)
	}
	if gotR.Recommendations[0].PotentialSavings != 1234.57 || gotR.Recommendations[0].BusinessImpact != store.ImpactHigh {
		t.Errorf("recommendation not normalised: %+v", gotR.Recommendations[0])
	}

	// Re-posting replaces the recommendations.
	r.Recommendations = []store.Recommendation{{Category: store.CategoryReliability, PotentialSavings: 5}}
	must(t, s.ReportUpsert(ctx, r))
	if n := count(t, s, `SELECT count(*) FROM recommendations WHERE report_id = $1`, r.ID); n != 1 {
		t.Errorf("recommendations after replace = %d, want 1", n)
	}

	// Bad input names the field and writes nothing.
	tests := []struct {
		name  string
		r     store.Report
		field string
	}{
		{"unknown client", store.Report{ID: store.NewID(), ClientID: store.NewID(), ReportType: store.ReportCost}, "client_id"},
		{"bad type", store.Report{ID: store.NewID(), ClientID: c.ID, ReportType: "nope"}, "report_type"},
		{"bad recommendation", store.Report{ID: store.NewID(), ClientID: c.ID, ReportType: store.ReportCost,
			Recommendations: []store.Recommendation{{Category: store.CategoryCost}, {Category: store.CategoryCost, PotentialSavings: -1}}},
			"recommendations[1].potential_savings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ReportUpsert(ctx, &tt.r)
			wantField(t, err, tt.field)
			if n := count(t, s, `SELECT count(*) FROM reports WHERE id = $1`, tt.r.ID); n != 0 {
				t.Errorf("report written despite the error")
			}
		})
	}
	if n := count(t, s, `SELECT count(*) FROM recommendations`); n != 1 {
		t.Errorf("recommendations = %d after refused writes, want 1", n)
	}

	perf, err := s.ClientPerformance(ctx, c.ID)
	must(t, err)
	want := &store.ClientPerformance{TotalReports: 1, CompletedReports: 1, AvgProcessingSeconds: 90,
		TotalRecommendations: 1, TotalSavings: 5, Categories: []store.CountByKey{{Key: "reliability", Count: 1}}}
	if d := cmp.Diff(want, perf); d != "" {
		t.Errorf("ClientPerformance mismatch (-want +got):\n%s", d)
	}
	if _, err := s.ClientPerformance(ctx, store.NewID()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClientPerformance of an unknown client: got %v, want ErrNotFound", err)
	}
}

// activityAt returns an activity of user and type at t.
func activityAt(t time.Time, user, typ string) store.Activity {
	return store.Activity{UserID: user, Username: "name-" + user, ActivityType: typ, CreatedAt: t}
}

func TestActivityInsertRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	now := time.Now()
	tests := []struct {
		name  string
		bad   store.Activity
		field string
	}{
		{"no type", store.Activity{}, "activity_type"},
		{"bad client", store.Activity{ActivityType: "x", ClientID: "nope"}, "client_id"},
		{"bad id", store.Activity{ID: "nope", ActivityType: "x"}, "id"},
		{"negative duration", store.Activity{ActivityType: "x", Duration: -1}, "duration_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := []store.Activity{activityAt(now, "u1", "login"), tt.bad}
			wantField(t, s.ActivityInsertMany(t.Context(), batch), tt.field)
		})
	}
	if n := count(t, s, `SELECT count(*) FROM activities`); n != 0 {
		t.Errorf("activities = %d after refused batches, want 0", n)
	}
	if n := count(t, s, `SELECT COALESCE(sum(n), 0) FROM activity_day_counts`); n != 0 {
		t.Errorf("counters = %d after refused batches, want 0", n)
	}
}

func TestActivityRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	a := store.Activity{
		UserID: "u1", Username: "alice", FullName: "Alice", ActivityType: "download_report",
		Description: "Downloaded\x00 report", ClientID: store.NewID(), ReportID: store.NewID(), IPAddress: "10.0.0.1",
		UserAgent: "curl", Method: "GET", Path: "/r", StatusCode: 200, Duration: 1500 * time.Microsecond,
		Metadata:  map[string]any{"n": 1.5, "s": "x\x00y", "nested": map[string]any{"ok": true}},
		CreatedAt: time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC),
	}
	batch := []store.Activity{a, {ActivityType: "login"}}
	must(t, s.ActivityInsertMany(t.Context(), batch))
	page, err := s.ActivityList(t.Context(), store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: "u1"}})
	must(t, err)
	want := batch[0]
	want.Description = "Downloaded report"
	want.Metadata = map[string]any{"n": 1.5, "s": "x\ufffdy", "nested": map[string]any{"ok": true}}
	if d := cmp.Diff([]store.Activity{want}, page.Activities); d != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", d)
	}
	page, err = s.ActivityList(t.Context(), store.ActivityListParams{ActivityFilter: store.ActivityFilter{ActivityType: "login"}})
	must(t, err)
	if len(page.Activities) != 1 || page.Activities[0].Metadata == nil || len(page.Activities[0].Metadata) != 0 {
		t.Errorf("nil metadata read back as %#v, want an empty map", page.Activities[0].Metadata)
	}
}

// seedActivities inserts n activities spread over ten days around
// 2025-03-01 for three users (and anonymous ones) and four types.
func seedActivities(t testing.TB, s *postgres.Store, n int) []store.Activity {
	t.Helper()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	users := []string{"u1", "u2", "u3", ""}
	types := []string{"login", "upload_csv", "download_report", "view_dashboard"}
	all := make([]store.Activity, n)
	for i := range all {
		at := base.Add(time.Duration(i) * 10 * 24 * time.Hour / time.Duration(n)).Add(time.Duration(i%7) * time.Microsecond)
		all[i] = activityAt(at, users[i%len(users)], types[(i/3)%len(types)])
		if i%5 == 0 {
			all[i].ClientID = "00000000-0000-4000-8000-000000000001"
		}
	}
	for i := 0; i < n; i += 250 {
		must(t, s.ActivityInsertMany(t.Context(), all[i:min(i+250, n)]))
	}
	return all
}

// filters covers whole days, partial edge days, single days and every
// filter field.
func filters() []store.ActivityFilter {
	d := func(day, hour, minute int) time.Time { return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC) }
	return []store.ActivityFilter{
		{},
		{UserID: "u1"},
		{ActivityType: "login"},
		{UserID: "u2", ActivityType: "upload_csv"},
		{From: d(3, 0, 0)},
		{To: d(5, 0, 0)},
		{From: d(3, 0, 0), To: d(6, 0, 0).Add(-time.Nanosecond)},
		{From: d(3, 7, 30), To: d(8, 13, 15)},
		{From: d(4, 1, 0), To: d(4, 22, 0)},
		{From: d(4, 1, 0), To: d(5, 2, 0), UserID: "u3"},
		{From: d(2, 12, 0), ActivityType: "view_dashboard"},
		{ClientID: "00000000-0000-4000-8000-000000000001"},
		{ClientID: "00000000-0000-4000-8000-000000000001", From: d(2, 0, 0), To: d(4, 12, 0)},
		{From: d(20, 0, 0)},
		{From: d(5, 0, 0), To: d(4, 0, 0)},
	}
}

// checkTotals compares every filter's Total with COUNT(*) of the same
// filter.
func checkTotals(t *testing.T, s *postgres.Store) {
	t.Helper()
	for i, f := range filters() {
		page, err := s.ActivityList(t.Context(), store.ActivityListParams{ActivityFilter: f, Limit: 1})
		must(t, err)
		want := count(t, s, `SELECT count(*) FROM activities LEFT JOIN activity_users USING (user_key)
			WHERE ($1 = '' OR user_id = $1) AND ($2 = '' OR activity_type = $2) AND ($3 = '' OR client_id::text = $3)
			AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at <= $5)`,
			f.UserID, f.ActivityType, f.ClientID, nullTime(f.From), nullTime(f.To))
		if page.Total != want {
			t.Errorf("filter %d %+v: Total = %d, COUNT(*) = %d", i, f, page.Total, want)
		}
		if page.HasNext != (want > 1) {
			t.Errorf("filter %d: HasNext = %v with %d rows and limit 1", i, page.HasNext, want)
		}
	}
}

// checkCounters compares every counter table with a recount of activities.
func checkCounters(t *testing.T, s *postgres.Store) {
	t.Helper()
	recounts := map[string]string{
		"activity_day_counts": `SELECT (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*) FROM activities LEFT JOIN activity_users USING (user_key) GROUP BY 1, 2`,
		"activity_hour_counts": `SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', activity_type, count(*)
			FROM activities LEFT JOIN activity_users USING (user_key) GROUP BY 1, 2`,
		"activity_user_counts": `SELECT user_key, (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*) FROM activities
			WHERE user_key IS NOT NULL GROUP BY 1, 2, 3`,
		"activity_user_day_counts": `SELECT user_key, (created_at AT TIME ZONE 'UTC')::date, count(*) FROM activities
			WHERE user_key IS NOT NULL GROUP BY 1, 2`,
		"activity_user_block_counts": `SELECT user_key, floor(extract(epoch FROM created_at) / (32 * 86400))::integer, count(*)
			FROM activities WHERE user_key IS NOT NULL GROUP BY 1, 2`,
	}
	cols := map[string]string{
		"activity_day_counts":        "day, activity_type, n",
		"activity_hour_counts":       "hour, activity_type, n",
		"activity_user_counts":       "user_key, day, activity_type, n",
		"activity_user_day_counts":   "user_key, day, n",
		"activity_user_block_counts": "user_key, block, n",
	}
	for table, recount := range recounts {
		stored := `SELECT ` + cols[table] + ` FROM ` + table + ` WHERE n <> 0`
		if n := count(t, s, `SELECT count(*) FROM ((`+stored+` EXCEPT `+recount+`) UNION ALL (`+recount+` EXCEPT `+stored+`)) x`); n != 0 {
			t.Errorf("%s differs from a recount of activities in %d rows", table, n)
		}
	}
	// The day columns of the block counters: (user, block, day of the
	// block, count), unpivoted.
	days := make([]string, 32)
	for i := range days {
		days[i] = fmt.Sprintf("d%d", i)
	}
	stored := `SELECT user_key, block, i, v FROM activity_user_block_counts,
		unnest(ARRAY[` + strings.Join(days, ", ") + `]) WITH ORDINALITY AS u(v, i) WHERE v <> 0`
	recount := `SELECT user_key, floor(e / (32 * 86400))::integer, floor(e / 86400)::integer - 32 * floor(e / (32 * 86400))::integer + 1, count(*)
		FROM (SELECT user_key, extract(epoch FROM created_at) AS e FROM activities WHERE user_key IS NOT NULL) a GROUP BY 1, 2, 3`
	if n := count(t, s, `SELECT count(*) FROM ((`+stored+` EXCEPT `+recount+`) UNION ALL (`+recount+` EXCEPT `+stored+`)) x`); n != 0 {
		t.Errorf("the day columns of activity_user_block_counts differ from a recount of activities in %d rows", n)
	}
	// The hour columns of the per-user daily totals: (user, day, hour of
	// the day, count), unpivoted.
	hours := make([]string, 24)
	for i := range hours {
		hours[i] = fmt.Sprintf("h%d", i)
	}
	stored = `SELECT user_key, day, i::integer - 1, v FROM activity_user_day_counts,
		unnest(ARRAY[` + strings.Join(hours, ", ") + `]) WITH ORDINALITY AS u(v, i) WHERE v <> 0`
	recount = `SELECT user_key, (created_at AT TIME ZONE 'UTC')::date, extract(hour FROM created_at AT TIME ZONE 'UTC')::integer, count(*)
		FROM activities WHERE user_key IS NOT NULL GROUP BY 1, 2, 3`
	if n := count(t, s, `SELECT count(*) FROM ((`+stored+` EXCEPT `+recount+`) UNION ALL (`+recount+` EXCEPT `+stored+`)) x`); n != 0 {
		t.Errorf("the hour columns of activity_user_day_counts differ from a recount of activities in %d rows", n)
	}
	if n := count(t, s, `SELECT count(*) FROM activity_user_day_counts WHERE n <> `+strings.Join(hours, " + ")); n != 0 {
		t.Errorf("%d rows of activity_user_day_counts whose hours do not add up to n", n)
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func TestActivityTotalsMatchCount(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	seedActivities(t, s, 2000)
	checkTotals(t, s)
	checkCounters(t, s)

	n, err := s.ActivityDeleteByUser(t.Context(), "u2")
	must(t, err)
	if n != 500 {
		t.Errorf("ActivityDeleteByUser = %d, want 500", n)
	}
	checkTotals(t, s)
	checkCounters(t, s)

	cutoff := time.Date(2025, 3, 4, 6, 0, 0, 0, time.UTC)
	want := count(t, s, `SELECT count(*) FROM activities WHERE created_at < $1`, cutoff)
	n, err = s.ActivityDeleteBefore(t.Context(), cutoff, 97)
	must(t, err)
	if n != want {
		t.Errorf("ActivityDeleteBefore = %d, want %d", n, want)
	}
	if left := count(t, s, `SELECT count(*) FROM activities WHERE created_at < $1`, cutoff); left != 0 {
		t.Errorf("%d activities left before the cutoff", left)
	}
	checkTotals(t, s)
	checkCounters(t, s)
	if z := count(t, s, `SELECT count(*) FROM activity_day_counts WHERE n <= 0`); z != 0 {
		t.Errorf("%d empty or negative day counters left", z)
	}
	// The per-user rows of the days wholly before the cutoff are gone too
	// (a type emptied on the cutoff's own day may stay at zero until that
	// day is emptied).
	for _, table := range []string{"activity_user_counts", "activity_user_day_counts"} {
		if z := count(t, s, `SELECT count(*) FROM `+table+` WHERE day < $1::date`, cutoff.Format(time.DateOnly)); z != 0 {
			t.Errorf("%s: %d rows left of the days before the cutoff", table, z)
		}
	}
}

func TestActivityListPaging(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	seedActivities(t, s, 300)
	var all []string
	must(t, s.ActivityIterate(t.Context(), store.ActivityFilter{}, func(a *store.Activity) error {
		all = append(all, a.ID)
		return nil
	}))
	if len(all) != 300 {
		t.Fatalf("ActivityIterate yielded %d rows, want 300", len(all))
	}
	// Cursor pages walk the same order.
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.ActivityList(t.Context(), store.ActivityListParams{Limit: 70, Cursor: cursor})
		must(t, err)
		if page.Total != 300 {
			t.Fatalf("Total = %d, want 300", page.Total)
		}
		for _, a := range page.Activities {
			got = append(got, a.ID)
		}
		if !page.HasNext {
			if page.NextCursor != "" {
				t.Errorf("NextCursor %q on the last page", page.NextCursor)
			}
			break
		}
		cursor = page.NextCursor
	}
	if d := cmp.Diff(all, got); d != "" {
		t.Errorf("cursor pages differ from ActivityIterate (-want +got):\n%s", d)
	}
	page, err := s.ActivityList(t.Context(), store.ActivityListParams{Limit: 10, Offset: 295})
	must(t, err)
	if d := cmp.Diff(all[295:], ids(page.Activities)); d != "" || page.HasNext {
		t.Errorf("offset page mismatch (HasNext %v) (-want +got):\n%s", page.HasNext, d)
	}

	stop := errors.New("stop")
	seen := 0
	err = s.ActivityIterate(t.Context(), store.ActivityFilter{}, func(*store.Activity) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("ActivityIterate stopped with %v after %d rows, want the callback's error after 3", err, seen)
	}

	for _, tt := range []struct {
		name  string
		p     store.ActivityListParams
		field string
	}{
		{"limit too big", store.ActivityListParams{Limit: 1001}, "limit"},
		{"negative offset", store.ActivityListParams{Offset: -1}, "offset"},
		{"offset with cursor", store.ActivityListParams{Offset: 1, Cursor: storedriver.EncodeCursor(time.Now(), store.NewID())}, "offset"},
		{"bad cursor", store.ActivityListParams{Cursor: "!!"}, "cursor"},
		{"bad report id", store.ActivityListParams{ActivityFilter: store.ActivityFilter{ReportID: "x"}}, "report_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ActivityList(t.Context(), tt.p)
			wantField(t, err, tt.field)
		})
	}
}

func ids(as []store.Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func TestActivitySummaryMatchesSQL(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	seedActivities(t, s, 1000)
	ny, err := time.LoadLocation("America/New_York")
	must(t, err)
	for i, f := range filters() {
		cond := `($1 = '' OR user_id = $1) AND ($2 = '' OR activity_type = $2) AND ($3 = '' OR client_id::text = $3)
			AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at <= $5)`
		args := []any{f.UserID, f.ActivityType, f.ClientID, nullTime(f.From), nullTime(f.To)}
		tests := []struct {
			p    store.ActivitySummaryParams
			want string
		}{
			{store.ActivitySummaryParams{GroupBy: store.GroupByType},
				`SELECT activity_type, '', '', count(*) FROM activities LEFT JOIN activity_users USING (user_key) WHERE ` + cond + ` GROUP BY 1 ORDER BY 4 DESC, 1`},
			{store.ActivitySummaryParams{GroupBy: store.GroupByUser, Limit: 2},
				`SELECT '', user_id, 'name-' || user_id, count(*) FROM activities LEFT JOIN activity_users USING (user_key) WHERE user_id IS NOT NULL AND ` + cond +
					` GROUP BY 2 ORDER BY 4 DESC, 2 LIMIT 2`},
			{store.ActivitySummaryParams{GroupBy: store.GroupByDay},
				`SELECT '', '', to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), count(*) FROM activities LEFT JOIN activity_users USING (user_key) WHERE ` + cond + ` GROUP BY 3 ORDER BY 3`},
			{store.ActivitySummaryParams{GroupBy: store.GroupByDay, Location: ny},
				`SELECT '', '', to_char((created_at AT TIME ZONE 'America/New_York')::date, 'YYYY-MM-DD'), count(*) FROM activities LEFT JOIN activity_users USING (user_key) WHERE ` + cond + ` GROUP BY 3 ORDER BY 3`},
		}
		for _, tt := range tests {
			tt.p.ActivityFilter = f
			got, err := s.ActivitySummary(t.Context(), tt.p)
			must(t, err)
			want := &store.ActivitySummary{Rows: []store.SummaryRow{}, Total: count(t, s, `SELECT count(*) FROM activities LEFT JOIN activity_users USING (user_key) WHERE `+cond, args...)}
			rows, err := s.DB().QueryContext(t.Context(), tt.want, args...)
			must(t, err)
			for rows.Next() {
				var r store.SummaryRow
				var key string
				must(t, rows.Scan(&r.ActivityType, &r.UserID, &key, &r.Count))
				if tt.p.GroupBy == store.GroupByUser {
					r.Username = key
				} else {
					r.Day = key
				}
				want.Rows = append(want.Rows, r)
			}
			must(t, rows.Err())
			rows.Close()
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("filter %d %+v, %s %v: mismatch (-want +got):\n%s", i, f, tt.p.GroupBy, tt.p.Location, d)
			}
		}
	}

	for _, since := range []time.Time{{}, time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC), time.Date(2025, 3, 10, 3, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} {
		got, err := s.ActivityDistinctUsers(t.Context(), since)
		must(t, err)
		want := count(t, s, `SELECT count(DISTINCT user_id) FROM activities LEFT JOIN activity_users USING (user_key) WHERE created_at >= $1`, since)
		if got != want {
			t.Errorf("ActivityDistinctUsers(%v) = %d, want %d", since, got, want)
		}
	}
}

func TestRollups(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	snap := store.MetricsSnapshot{Period: store.PeriodDaily, PeriodStart: "2025-03-01",
		From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
		TotalReports: 3, TotalPotentialSavings: 12.5, CategoryCounts: map[string]int64{"cost": 2}, ReportTypeCounts: map[string]int64{},
		ComputedAt: time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC)}
	must(t, s.MetricsSnapshotUpsert(ctx, &snap))
	snap.TotalReports = 4
	must(t, s.MetricsSnapshotUpsert(ctx, &snap))
	list, err := s.MetricsSnapshotList(ctx, store.PeriodDaily, "2025-03-01", "")
	must(t, err)
	if d := cmp.Diff([]store.MetricsSnapshot{snap}, list); d != "" {
		t.Errorf("snapshots mismatch (-want +got):\n%s", d)
	}
	wantField(t, s.MetricsSnapshotUpsert(ctx, &store.MetricsSnapshot{Period: "hourly", PeriodStart: "2025-03-01"}), "period")
	wantField(t, s.MetricsSnapshotUpsert(ctx, &store.MetricsSnapshot{Period: store.PeriodDaily, PeriodStart: "March"}), "period_start")

	old := &store.HealthSample{TakenAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Status: "healthy"}
	recent := &store.HealthSample{TakenAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Status: "degraded", Data: map[string]any{"cpu": 91.5}}
	must(t, s.HealthSampleInsert(ctx, old))
	must(t, s.HealthSampleInsert(ctx, recent))
	hs, err := s.HealthSampleList(ctx, 10)
	must(t, err)
	old.Data = map[string]any{}
	if d := cmp.Diff([]store.HealthSample{*recent, *old}, hs); d != "" {
		t.Errorf("health samples mismatch (-want +got):\n%s", d)
	}
	n, err := s.HealthSampleDeleteBefore(ctx, recent.TakenAt)
	must(t, err)
	if n != 1 {
		t.Errorf("HealthSampleDeleteBefore = %d, want 1", n)
	}

	for i, job := range []string{"b", "a", "b"} {
		r := &store.JobRun{Job: job, RunKey: fmt.Sprintf("%s@%d", job, i), StartedAt: time.Date(2025, 3, 1, i, 0, 0, 0, time.UTC)}
		must(t, s.JobRunStart(ctx, r))
		r.Error = "boom"
		must(t, s.JobRunFinish(ctx, r))
		if r.Outcome != store.JobFailed {
			t.Errorf("outcome with an error = %q, want failed", r.Outcome)
		}
	}
	latest, err := s.JobRunLatest(ctx)
	must(t, err)
	if len(latest) != 2 || latest[0].Job != "a" || latest[1].RunKey != "b@2" {
		t.Errorf("JobRunLatest = %+v", latest)
	}
	runs, err := s.JobRunList(ctx, "b", 1)
	must(t, err)
	if len(runs) != 1 || runs[0].RunKey != "b@2" || runs[0].FinishedAt == nil {
		t.Errorf("JobRunList(b, 1) = %+v", runs)
	}

	must(t, s.WeeklyReportUpsert(ctx, &store.WeeklyReport{WeekStart: "2025-02-24", Summary: map[string]any{"v": 1.0}}))
	must(t, s.WeeklyReportUpsert(ctx, &store.WeeklyReport{WeekStart: "2025-03-03", Summary: map[string]any{"v": 2.0}}))
	must(t, s.WeeklyReportUpsert(ctx, &store.WeeklyReport{WeekStart: "2025-03-03", Summary: map[string]any{"v": 3.0}}))
	ws, err := s.WeeklyReportList(ctx, 10)
	must(t, err)
	if len(ws) != 2 || ws[0].WeekStart != "2025-03-03" || ws[0].Summary["v"] != 3.0 {
		t.Errorf("WeeklyReportList = %+v", ws)
	}

	hour := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	u := &store.UsageStats{HourStart: hour, ReportsGenerated: 2, ReportTypeCounts: map[string]int64{"cost": 2}, ComputedAt: hour}
	must(t, s.UsageStatsUpsert(ctx, u))
	us, err := s.UsageStatsList(ctx, hour, hour.Add(time.Hour))
	must(t, err)
	if d := cmp.Diff([]store.UsageStats{*u}, us); d != "" {
		t.Errorf("usage stats mismatch (-want +got):\n%s", d)
	}
}

func TestSubscribeReconnects(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	got := make(chan string, 100)
	stop, err := s.Subscribe(t.Context(), "reconnect", func(p string) { got <- p })
	must(t, err)
	defer stop()

	// Kill the listening session from the server side.
	n := count(t, s, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		`LISTEN "`+s.Schema()+`:reconnect"`)
	if n != 1 {
		t.Fatalf("terminated %d listening sessions, want 1", n)
	}
	// Publish until the re-established subscription hears it.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case p := <-got:
			if p != "after" {
				t.Fatalf("received %q, want %q", p, "after")
			}
			return
		case <-tick.C:
			must(t, s.Publish(t.Context(), "reconnect", "after"))
		case <-deadline:
			t.Fatal("no notification after the connection was killed")
		}
	}
}

// TestActivityInsertManyReplayIsConflict inserts an activity again with
// its id and time (a replayed event): ErrConflict, and the batch writes
// nothing.
func TestActivityInsertManyReplayIsConflict(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	a := store.Activity{ID: store.NewID(), ActivityType: "login", CreatedAt: at}
	must(t, s.ActivityInsertMany(ctx, []store.Activity{a}))
	err := s.ActivityInsertMany(ctx, []store.Activity{{ActivityType: "logout", CreatedAt: at}, a})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replayed activity: %v, want ErrConflict", err)
	}
	if n := count(t, s, `SELECT count(*) FROM activities`); n != 1 {
		t.Errorf("%d activities stored, want 1 (the failed batch wrote nothing)", n)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{})
	must(t, err)
	if page.Total != 1 {
		t.Errorf("ActivityList total %d, want 1 (counters untouched by the failed batch)", page.Total)
	}
}

// TestReportUpsertText stores report text PostgreSQL cannot hold as given
// (NUL characters, bytes that are not UTF-8) cleaned, and refuses a
// currency that would need cleaning, naming the field.
func TestReportUpsertText(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	const client = "c0000000-0000-4000-8000-000000000001"
	must(t, s.ClientUpsert(ctx, &store.Client{ID: client, CompanyName: "Con\x00toso \xff", Industry: store.IndustryRetail}))
	c, err := s.ClientGet(ctx, client)
	must(t, err)
	if c.CompanyName != "Contoso \uFFFD" {
		t.Errorf("company name stored as %q", c.CompanyName)
	}
	r := store.Report{ID: "a0000000-0000-4000-8000-000000000001", ClientID: client, CreatedBy: "u\x001",
		ReportType: store.ReportCost, CreatedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Recommendations: []store.Recommendation{{Category: store.CategoryCost, Recommendation: "Resize\x00 VM \xc3",
			SubscriptionID: "s\x00", SubscriptionName: "\xffname", ResourceGroup: "rg\x00", ResourceName: "vm\xfe",
			ResourceType: "t\x00", PotentialSavings: 1}}}
	must(t, s.ReportUpsert(ctx, &r))
	got, err := s.ReportGet(ctx, r.ID)
	must(t, err)
	rec := got.Recommendations[0]
	want := []string{"u1", "Resize VM \uFFFD", "s", "\uFFFDname", "rg", "vm\uFFFD", "t"}
	if d := cmp.Diff(want, []string{got.CreatedBy, rec.Recommendation, rec.SubscriptionID, rec.SubscriptionName,
		rec.ResourceGroup, rec.ResourceName, rec.ResourceType}); d != "" {
		t.Errorf("stored text (-want +got):\n%s", d)
	}

	for _, cur := range []string{"U\x00S", "\xffUS"} {
		bad := r
		bad.Recommendations = []store.Recommendation{{Category: store.CategoryCost, Currency: cur}}
		err := s.ReportUpsert(ctx, &bad)
		ve, ok := errors.AsType[*store.ValidationError](err)
		if !ok || ve.Field != "recommendations[0].currency" {
			t.Errorf("currency %q: got %v, want a validation error on recommendations[0].currency", cur, err)
		}
	}
}

func openZone(t testing.TB, url string, loc *time.Location, skipMigrate bool) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Config{Location: loc, SkipMigrate: skipMigrate})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformanceZoned(t *testing.T) {
	storetest.RunZoned(t, func(t *testing.T, loc *time.Location) store.Store {
		return openZone(t, testdb.PostgresURL(t), loc, false)
	})
}

// TestReportDayCountersFollowTheZone reopens a schema in another reporting
// zone: the per-day counters are refilled in the new zone, and the counts
// read from them match a scan of the reports.
func TestReportDayCountersFollowTheZone(t *testing.T) {
	ctx := context.Background()
	s, url := newStore(t)
	storetest.Seed(t, s, storetest.DomainDataset())
	ny, err := time.LoadLocation("America/New_York")
	must(t, err)
	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, ny), time.Date(2025, 4, 1, 0, 0, 0, 0, ny)
	// In UTC the New York query scans the reports; that is the reference.
	want, err := s.ReportDailyCounts(ctx, from, to, ny)
	must(t, err)
	if len(want) == 0 {
		t.Fatal("no reports in the range")
	}
	for _, skip := range []bool{false, true} {
		s2 := openZone(t, url, ny, skip)
		if n := count(t, s2, "SELECT count(*) FROM report_day_zone WHERE zone = 'America/New_York'"); n != 1 {
			t.Fatalf("recorded zone: %d rows name New York", n)
		}
		got, err := s2.ReportDailyCounts(ctx, from, to, ny)
		must(t, err)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("counts in New York after reopening (skip migrate %v) (-want +got):\n%s", skip, d)
		}
	}
}

// TestSynchronousCommit checks that writes of activities commit
// synchronously even when the connection would otherwise not (here through
// PGOPTIONS, as a role's or the server's setting would): the Recorder and
// its spool forget a batch once its commit returns, and a commit that a
// crash of the server can still undo would lose it. A statement trigger
// on activities records the setting each write runs with.
func TestSynchronousCommit(t *testing.T) {
	t.Setenv("PGOPTIONS", "-c synchronous_commit=off")
	ctx := t.Context()
	s := open(t, testdb.PostgresURL(t))
	if got := count(t, s, `SELECT (current_setting('synchronous_commit') = 'off')::int`); got != 1 {
		t.Fatal("the store's connections do not run with synchronous_commit off; the test needs them to")
	}
	_, err := s.DB().ExecContext(ctx, `CREATE TABLE commit_settings (v text);
		CREATE FUNCTION note_commit_setting() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO commit_settings VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$;
		CREATE TRIGGER note_commit_setting AFTER INSERT ON activities FOR EACH STATEMENT EXECUTE FUNCTION note_commit_setting()`)
	must(t, err)
	must(t, s.ActivityInsertMany(ctx, []store.Activity{{UserID: "u1", ActivityType: "login"}}))
	must(t, s.ActivityInsertChunks(ctx, storedriver.OneChunk([]store.Activity{{UserID: "u2", ActivityType: "login"}})))
	var seen []string
	rows, err := s.DB().QueryContext(ctx, `SELECT v FROM commit_settings`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var v string
		must(t, rows.Scan(&v))
		seen = append(seen, v)
	}
	must(t, rows.Err())
	if len(seen) == 0 {
		t.Fatal("the trigger saw no write")
	}
	for _, v := range seen {
		if v != "on" {
			t.Errorf("a write of activities ran with synchronous_commit %q; want on (all: %v)", v, seen)
		}
	}
}

// TestActivityInsertAfterConnectionsDied checks that a write goes through
// when the pool's idle connections died with the server (a restart, a
// failover): each dead one is dropped and another taken, instead of the
// write failing once per dead connection.
func TestActivityInsertAfterConnectionsDied(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	name := "dead_conns_" + strings.ReplaceAll(store.NewID()[:8], "-", "")
	url := testdb.PostgresURL(t) + "&application_name=" + name
	s := open(t, url)
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	batch := func(i int) []store.Activity {
		return []store.Activity{activityAt(at.Add(time.Duration(i)*time.Minute), "alice", "login")}
	}
	must(t, s.ActivityInsertMany(ctx, batch(0)))

	// The store's connections, now idle in its pool, end as a server
	// restart would end them.
	admin := open(t, testdb.PostgresURL(t))
	killed := count(t, admin, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, name)
	if killed == 0 {
		t.Fatal("no connection of the store to end")
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, admin, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the store's connections did not end")
		}
		time.Sleep(20 * time.Millisecond)
	}

	for i := 1; i <= 3; i++ {
		if err := s.ActivityInsertMany(ctx, batch(i)); err != nil {
			t.Fatalf("write %d after %d connections died: %v", i, killed, err)
		}
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{})
	must(t, err)
	if page.Total != 4 {
		t.Errorf("%d activities stored, want 4", page.Total)
	}
}
