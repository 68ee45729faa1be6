package postgres_test

import (
	"os"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// seedMillion fills s with n activities over the year before end (200
// users and anonymous ones, 12 types), written in SQL for speed, and
// builds the counter tables from them.
func seedMillion(b testing.TB, s *postgres.Store, n int, end time.Time) {
	b.Helper()
	ctx := b.Context()
	if err := s.EnsureActivityPartitions(ctx, end.AddDate(-1, 0, -1), end, 0); err != nil {
		b.Fatal(err)
	}
	for i, q := range []string{
		`INSERT INTO activity_users (user_id, user_name, user_full_name)
		SELECT 'user-' || u, 'name-' || u, '' FROM generate_series(0, 199) u`,
		`INSERT INTO activities (id, user_key, activity_type, description, client_id, method, path, status_code, metadata, created_at)
		SELECT gen_random_uuid(),
			CASE WHEN i % 10 = 0 THEN NULL ELSE (SELECT user_key FROM activity_users WHERE user_id = 'user-' || (i % 200)) END,
			(ARRAY['login','logout','create_client','update_client','delete_client','upload_csv','generate_report',
				'download_report','delete_report','share_report','view_dashboard','other'])[1 + (i / 7) % 12],
			'Did something', CASE WHEN i % 10 = 3 THEN '00000000-0000-4000-8000-000000000001'::uuid END,
			'GET', '/api/v1/x', 200, '{"path": "/api/v1/x", "status": 200}',
			$2::timestamptz - (i * (365 * 86400.0 / $1)) * interval '1 second'
		FROM generate_series(1, $1) i`,
		`INSERT INTO activity_day_counts (day, activity_type, n)
		SELECT (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*) FROM activities GROUP BY 1, 2`,
		`INSERT INTO activity_user_counts (user_key, day, activity_type, n)
		SELECT user_key, (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*) FROM activities
		WHERE user_key IS NOT NULL GROUP BY 1, 2, 3`,
		`INSERT INTO activity_hour_counts (hour, activity_type, n)
		SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', activity_type, count(*)
		FROM activities GROUP BY 1, 2`,
		postgres.UserDayCountsFromActivities,
		postgres.BlockCountsFromDays,
		`VACUUM ANALYZE activities`,
		`VACUUM ANALYZE activity_day_counts`,
		`VACUUM ANALYZE activity_user_counts`,
		`VACUUM ANALYZE activity_hour_counts`,
		`VACUUM ANALYZE activity_user_day_counts`,
		`VACUUM ANALYZE activity_user_block_counts`,
	} {
		var args []any
		if i == 1 { // the activities themselves
			args = []any{n, end}
		}
		if _, err := s.DB().ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

// BenchmarkActivityRead1M measures the read paths of the user-activity and
// activity-summary routes over 1,000,000 activities. The figure to compare
// with the targets is ns/op (page 1 with its exact total ≤ 5 ms; summary
// over 90 days ≤ 50 ms).
func BenchmarkActivityRead1M(b *testing.B) {
	s, _ := newStore(b)
	end := time.Now().UTC()
	seedMillion(b, s, 1_000_000, end)
	ctx := b.Context()
	ninety := store.ActivityFilter{From: end.Add(-90 * 24 * time.Hour)}
	page, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Offset: 500_000})
	if err != nil {
		b.Fatal(err)
	}
	deep := page.NextCursor

	benchdata.Run(b, []benchdata.Case{
		{Name: "page1", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25})
			return err
		}},
		{Name: "page1-user", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{UserID: "user-7"}})
			return err
		}},
		{Name: "page1-type-90d", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{
				ActivityType: "login", From: ninety.From}})
			return err
		}},
		{Name: "page1-client", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{
				ClientID: "00000000-0000-4000-8000-000000000001"}})
			return err
		}},
		{Name: "cursor-deep", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Cursor: deep})
			return err
		}},
		{Name: "offset-500k", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Offset: 500_000})
			return err
		}},
		{Name: "offset-4k-user", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Offset: 4_000, ActivityFilter: store.ActivityFilter{UserID: "user-7"}})
			return err
		}},
		{Name: "offset-50k-type", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Offset: 50_000, ActivityFilter: store.ActivityFilter{ActivityType: "login"}})
			return err
		}},
		{Name: "summary-type-90d", Fn: func() error {
			_, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: ninety, GroupBy: store.GroupByType})
			return err
		}},
		{Name: "summary-user-90d", Fn: func() error {
			_, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: ninety, GroupBy: store.GroupByUser, Limit: 20})
			return err
		}},
		{Name: "summary-day-90d", Fn: func() error {
			_, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: ninety, GroupBy: store.GroupByDay})
			return err
		}},
		{Name: "summary-day-90d-newyork", Fn: func() error {
			ny, _ := time.LoadLocation("America/New_York")
			_, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: ninety, GroupBy: store.GroupByDay, Location: ny})
			return err
		}},
		{Name: "distinct-users-7d", Fn: func() error {
			_, err := s.ActivityDistinctUsers(ctx, end.Add(-7*24*time.Hour))
			return err
		}},
	})
}

// BenchmarkReadsOnSchema runs benchdata.KeptReads on a schema kept between
// runs, so that two builds can be compared on the same activities without
// filling them again. The schema is the search_path of
// ANALYTICS_BENCH_POSTGRES_URL; when it holds no activity, benchdata.FillKept
// fills it (ANALYTICS_BENCH_ACTIVITIES, default 1,000,000) and it is
// vacuumed.
//
//	ANALYTICS_BENCH_POSTGRES_URL='postgres://…/db?search_path=bench' go test ./store/postgres -run XXX -bench ReadsOnSchema -benchtime 100x -timeout 90m
func BenchmarkReadsOnSchema(b *testing.B) {
	u := os.Getenv("ANALYTICS_BENCH_POSTGRES_URL")
	if u == "" {
		b.Skip("ANALYTICS_BENCH_POSTGRES_URL is not set")
	}
	s, err := postgres.Open(b.Context(), u, postgres.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchdata.FillKept(b, s, 1_000_000, 1000, 10000)
	if _, err := s.DB().ExecContext(b.Context(), "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	benchdata.Run(b, benchdata.KeptReads(s))
}

// TestSeedMillionMatchesCounters checks the benchmarks' direct seeding on a
// small scale: the counters it writes are those the store would keep.
func TestSeedMillionMatchesCounters(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	seedMillion(t, s, 3000, time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC))
	checkCounters(t, s)
}
