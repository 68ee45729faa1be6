package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// spread returns n activities of three users and three types, one every
// step from start, with fixed ids.
func spread(n int, start time.Time, step time.Duration) []store.Activity {
	types := []string{"login", "view_report", "download_report"}
	acts := make([]store.Activity, n)
	for i := range acts {
		acts[i] = store.Activity{ID: fmt.Sprintf("a%07d-0000-4000-8000-000000000000", i), UserID: fmt.Sprintf("u%d", i%3),
			Username: fmt.Sprintf("user%d", i%3), ActivityType: types[(i/3)%3], Metadata: map[string]any{"i": float64(i)},
			CreatedAt: start.Add(time.Duration(i) * step)}
	}
	return acts
}

// summaries is every all-time summary of s, which the counter tables answer.
func summaries(t *testing.T, s store.Store) map[store.SummaryGroup]*store.ActivitySummary {
	t.Helper()
	out := map[store.SummaryGroup]*store.ActivitySummary{}
	for _, g := range []store.SummaryGroup{store.GroupByType, store.GroupByUser, store.GroupByDay} {
		sum, err := s.ActivitySummary(t.Context(), store.ActivitySummaryParams{GroupBy: g})
		must(t, err)
		out[g] = sum
	}
	return out
}

// wantSummaries computes the all-time summaries of acts by hand.
func wantSummaries(acts []store.Activity) map[store.SummaryGroup]map[string]int64 {
	out := map[store.SummaryGroup]map[string]int64{store.GroupByType: {}, store.GroupByUser: {}, store.GroupByDay: {}}
	for _, a := range acts {
		out[store.GroupByType][a.ActivityType]++
		out[store.GroupByUser][a.UserID]++
		out[store.GroupByDay][a.CreatedAt.UTC().Format(time.DateOnly)]++
	}
	return out
}

func checkSummaries(t *testing.T, s store.Store, acts []store.Activity) {
	t.Helper()
	got := map[store.SummaryGroup]map[string]int64{store.GroupByType: {}, store.GroupByUser: {}, store.GroupByDay: {}}
	for g, sum := range summaries(t, s) {
		for _, r := range sum.Rows {
			got[g][r.ActivityType+r.UserID+r.Day] = r.Count
		}
		if sum.Total != int64(len(acts)) {
			t.Errorf("%s summary total = %d, want %d", g, sum.Total, len(acts))
		}
	}
	if d := cmp.Diff(wantSummaries(acts), got); d != "" {
		t.Errorf("summaries (-want +got):\n%s", d)
	}
}

// storedIDs lists the ids of every stored activity, sorted.
func storedIDs(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	must(t, s.ActivityIterate(t.Context(), store.ActivityFilter{}, func(a *store.Activity) error {
		out = append(out, a.ID)
		return nil
	}))
	slices.Sort(out)
	return out
}

func idsOf(acts []store.Activity) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.ID
	}
	slices.Sort(out)
	return out
}

// insertOldActivities writes acts and their counters with SQL, as the
// schema before activity_users (version 8 and earlier) keeps them: the
// user's id and names on every row. The per-user block counters are filled
// when the schema has them.
func insertOldActivities(t *testing.T, s *postgres.Store, acts []store.Activity) {
	t.Helper()
	n := len(acts)
	ids, users, names, fulls, types, metas, ats := make([]string, n), make([]any, n), make([]any, n), make([]any, n),
		make([]string, n), make([]string, n), make([]time.Time, n)
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for i, a := range acts {
		meta, err := json.Marshal(a.Metadata)
		must(t, err)
		ids[i], users[i], names[i], fulls[i], types[i], metas[i], ats[i] = a.ID, null(a.UserID), null(a.Username),
			null(a.FullName), a.ActivityType, string(meta), a.CreatedAt
	}
	queries := []string{
		`INSERT INTO activities (id, user_id, username, full_name, activity_type, metadata, created_at)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])`,
		`INSERT INTO activity_day_counts SELECT (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*) FROM activities GROUP BY 1, 2`,
		`INSERT INTO activity_hour_counts SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', activity_type, count(*)
			FROM activities GROUP BY 1, 2`,
		`INSERT INTO activity_user_counts SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, activity_type, count(*)
			FROM activities WHERE user_id IS NOT NULL GROUP BY 1, 2, 3`,
		`INSERT INTO activity_user_day_counts SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, count(*)
			FROM activities WHERE user_id IS NOT NULL GROUP BY 1, 2`,
		`DO $$ BEGIN IF to_regclass('activity_user_block_counts') IS NOT NULL THEN
			INSERT INTO activity_user_block_counts SELECT user_id, floor((day - DATE '1970-01-01') / 32.0)::integer, sum(n)
			FROM activity_user_day_counts GROUP BY 1, 2;
		END IF; END $$`,
	}
	for i, q := range queries {
		var err error
		if i == 0 {
			_, err = s.DB().ExecContext(t.Context(), q, pq.Array(ids), pq.Array(users), pq.Array(names), pq.Array(fulls),
				pq.Array(types), pq.Array(metas), pq.Array(ats))
		} else {
			_, err = s.DB().ExecContext(t.Context(), q)
		}
		if err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
}

// TestMigrationPartitionsActivities writes activities on the schema before
// partitioning (years apart, so the months with rows are sparse), applies
// the partitioning migration and checks that every row and every counter
// is kept, with one partition per month that has rows plus the months
// ahead, and that inserts go on.
func TestMigrationPartitionsActivities(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeAt(t, 4)
	acts := append(spread(2000, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 90*time.Minute),
		store.Activity{ID: "b0000000-0000-4000-8000-000000000001", UserID: "u9", ActivityType: "login", CreatedAt: time.Date(2019, 7, 4, 12, 0, 0, 0, time.UTC)})
	insertOldActivities(t, s, acts)
	if parts, err := s.ActivityPartitions(ctx); err != nil || len(parts) != 0 {
		t.Fatalf("partitions before the migration: %v, %v", parts, err)
	}

	must(t, s.Migrate(ctx))
	parts, err := s.ActivityPartitions(ctx)
	must(t, err)
	months := map[string]bool{}
	for _, a := range acts {
		months[a.CreatedAt.Format("20060102")[:6]+"01"] = true
	}
	now := time.Now().UTC()
	for i := range 4 {
		months[time.Date(now.Year(), now.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC).Format("20060102")] = true
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.From.Format("20060102"))
		if want := p.From.AddDate(0, 1, 0); !p.To.Equal(want) || p.Name != "activities_p"+p.From.Format("20060102") {
			t.Errorf("partition %+v: want a month named after its start", p)
		}
	}
	want := make([]string, 0, len(months))
	for m := range months {
		want = append(want, m)
	}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("partitions after the migration (-want +got):\n%s", d)
	}
	if d := cmp.Diff(idsOf(acts), storedIDs(t, s)); d != "" {
		t.Errorf("activities after the migration (-want +got):\n%s", d)
	}
	checkSummaries(t, s, acts)
	// The key still refuses a replayed event.
	if err := s.ActivityInsertMany(ctx, slices.Clone(acts[:1])); err == nil {
		t.Error("a replayed event was stored twice")
	}
	more := spread(10, time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	for i := range more {
		more[i].ID = fmt.Sprintf("c%07d-0000-4000-8000-000000000000", i)
	}
	must(t, s.ActivityInsertMany(ctx, slices.Clone(more)))
	checkSummaries(t, s, append(acts, more...))
}

// TestActivityPartitionsOnDemand inserts activities far in the past and
// the future, from two stores at once, and with a shorter interval next to
// existing partitions: every insert finds or creates its partition, and
// no two partitions overlap.
func TestActivityPartitionsOnDemand(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := twoStores(t, postgres.Config{PartitionInterval: postgres.PartitionDay, PartitionsAhead: 1})

	var all []store.Activity
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, st := range []*postgres.Store{a, b, a, b} {
		wg.Go(func() {
			// Each writer covers the same months, so they race to create
			// the same partitions.
			acts := spread(300, time.Date(2001, 3, 1, 0, 0, 0, 0, time.UTC), 7*time.Hour)
			acts = append(acts, spread(50, time.Date(2099, 12, 30, 0, 0, 0, 0, time.UTC), time.Hour)...)
			for i := range acts {
				acts[i].ID = fmt.Sprintf("d%07d-0000-4000-8000-%012d", i, w)
			}
			if err := st.ActivityInsertMany(ctx, slices.Clone(acts)); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
			mu.Lock()
			all = append(all, acts...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if d := cmp.Diff(idsOf(all), storedIDs(t, a)); d != "" {
		t.Errorf("activities (-want +got):\n%s", d)
	}
	checkSummaries(t, a, all)
	parts, err := a.ActivityPartitions(ctx)
	must(t, err)
	for i := 1; i < len(parts); i++ {
		if parts[i].From.Before(parts[i-1].To) {
			t.Errorf("partitions %+v and %+v overlap", parts[i-1], parts[i])
		}
	}
	for _, at := range []time.Time{time.Date(2001, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2001, 5, 20, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 1, 1, 1, 0, 0, 0, time.UTC)} {
		if !slices.ContainsFunc(parts, func(p postgres.Partition) bool { return !at.Before(p.From) && at.Before(p.To) }) {
			t.Errorf("no partition holds %s", at)
		}
	}
	// Store b makes day partitions: one inside a month a made is not
	// needed, one next to it is cut at its bound.
	lastMonth := parts[len(parts)-1]
	edge := lastMonth.To.Add(-time.Hour)
	after := lastMonth.To.Add(2 * time.Hour)
	must(t, b.ActivityInsertMany(ctx, []store.Activity{{UserID: "u1", ActivityType: "login", CreatedAt: edge},
		{UserID: "u1", ActivityType: "login", CreatedAt: after}}))
	parts2, err := b.ActivityPartitions(ctx)
	must(t, err)
	i := slices.IndexFunc(parts2, func(p postgres.Partition) bool { return !after.Before(p.From) && after.Before(p.To) })
	if i < 0 || parts2[i].To.Sub(parts2[i].From) != 24*time.Hour {
		t.Errorf("partition of %s: %+v, want one day", after, parts2)
	}
}

// TestRetentionDropsPartitions deletes the activities before a cutoff in
// the middle of a month: the months before are dropped whole, the month
// of the cutoff loses its rows before it, and the counters stay exact.
func TestRetentionDropsPartitions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), postgres.Config{})
	must(t, err)
	defer s.Close()
	acts := spread(3000, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour+17*time.Minute)
	must(t, s.ActivityInsertMany(ctx, slices.Clone(acts)))
	cutoff := time.Date(2024, 3, 15, 6, 30, 0, 0, time.UTC)
	var kept []store.Activity
	for _, a := range acts {
		if !a.CreatedAt.Before(cutoff) {
			kept = append(kept, a)
		}
	}
	n, err := s.ActivityDeleteBefore(ctx, cutoff, 100)
	must(t, err)
	if n != int64(len(acts)-len(kept)) {
		t.Errorf("deleted %d, want %d", n, len(acts)-len(kept))
	}
	parts, err := s.ActivityPartitions(ctx)
	must(t, err)
	if len(parts) == 0 || !parts[0].From.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first partition after retention: %+v, want March 2024", parts[:min(1, len(parts))])
	}
	if d := cmp.Diff(idsOf(kept), storedIDs(t, s)); d != "" {
		t.Errorf("activities after retention (-want +got):\n%s", d)
	}
	checkSummaries(t, s, kept)
	checkCounters(t, s)
	// Inserting into a dropped month creates its partition again.
	old := store.Activity{UserID: "u1", ActivityType: "login", CreatedAt: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)}
	must(t, s.ActivityInsertMany(ctx, []store.Activity{old}))
	if n, err := s.ActivityDeleteBefore(ctx, cutoff, 0); err != nil || n != 1 {
		t.Errorf("second retention: %d, %v; want 1", n, err)
	}
	checkSummaries(t, s, kept)
	checkCounters(t, s)
}

// TestPartitionConfig checks the settings' validation.
func TestPartitionConfig(t *testing.T) {
	for _, c := range []postgres.Config{{PartitionInterval: "year"}, {PartitionsAhead: -1}} {
		if _, err := postgres.Open(context.Background(), "postgres://127.0.0.1:1/x", c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestInsertAfterAnotherStoreDroppedPartition has one store drop a
// partition another store has seen: the second store's next insert into
// that period finds it missing, creates it again and succeeds.
func TestInsertAfterAnotherStoreDroppedPartition(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := twoStores(t, postgres.Config{})
	jan := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	must(t, a.ActivityInsertMany(ctx, []store.Activity{{UserID: "u1", ActivityType: "login", CreatedAt: jan}}))
	if n, err := b.ActivityDeleteBefore(ctx, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), 0); err != nil || n != 1 {
		t.Fatalf("retention: %d, %v", n, err)
	}
	// a still believes January has a partition.
	must(t, a.ActivityInsertMany(ctx, []store.Activity{{UserID: "u2", ActivityType: "login", CreatedAt: jan.Add(time.Hour)}}))
	checkSummaries(t, a, []store.Activity{{UserID: "u2", ActivityType: "login", CreatedAt: jan.Add(time.Hour)}})
}

// twoStores opens two stores on one new schema, as two processes would:
// the first with the defaults, the second with cfg.
func twoStores(t *testing.T, cfg postgres.Config) (*postgres.Store, *postgres.Store) {
	t.Helper()
	url := testdb.PostgresURL(t)
	a, err := postgres.Open(t.Context(), url, postgres.Config{})
	must(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := postgres.Open(t.Context(), url, cfg)
	must(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return a, b
}

// TestCompactActivityPartitions fills two closed months and the current
// one, compacts them one call at a time and checks that only closed
// partitions are compacted, each once and newest first, that the user index
// of a compacted partition is smaller than before, and that every row and
// counter is kept.
func TestCompactActivityPartitions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), postgres.Config{})
	must(t, err)
	defer s.Close()
	// 40 users, each with rows every few minutes through the month: the
	// user index grows at 40 places, as under real traffic.
	mar := spread(12000, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3*time.Minute)
	for i := range mar {
		mar[i].UserID = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i%40)
	}
	apr := spread(300, time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	for i := range apr {
		apr[i].ID = fmt.Sprintf("b%07d-0000-4000-8000-000000000000", i)
	}
	now := []store.Activity{{ID: "c0000000-0000-4000-8000-000000000000", UserID: "u1", ActivityType: "login",
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}}
	all := slices.Concat(mar, apr)
	for _, batch := range [][]store.Activity{mar, apr, now} {
		must(t, s.ActivityInsertMany(ctx, slices.Clone(batch)))
	}
	all = append(all, now...)
	userIndex := func() int64 {
		var n int64
		must(t, s.DB().QueryRowContext(ctx, `SELECT pg_relation_size(i.indexrelid) FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = 'activities_p20240301'::regclass AND c.relname LIKE '%user_key%'`).Scan(&n))
		return n
	}
	before := userIndex()

	done, err := s.CompactActivityPartitions(ctx, 1)
	must(t, err)
	if d := cmp.Diff([]string{"activities_p20240401"}, done); d != "" {
		t.Errorf("first call compacted (-want +got):\n%s", d)
	}
	done, err = s.CompactActivityPartitions(ctx, 5)
	must(t, err)
	if d := cmp.Diff([]string{"activities_p20240301"}, done); d != "" {
		t.Errorf("second call compacted (-want +got):\n%s", d)
	}
	if done, err := s.CompactActivityPartitions(ctx, 5); err != nil || len(done) != 0 {
		t.Errorf("third call: compacted %v, %v; want none", done, err)
	}
	if after := userIndex(); after >= before {
		t.Errorf("user index of March: %d bytes after compaction, %d before; want smaller", after, before)
	} else {
		t.Logf("user index of March: %d → %d bytes", before, after)
	}
	parts, err := s.ActivityPartitions(ctx)
	must(t, err)
	for _, p := range parts {
		closed := p.To.Before(time.Now().Add(-24 * time.Hour))
		if closed == p.Compacted.IsZero() {
			t.Errorf("partition %s (to %s): compacted at %v", p.Name, p.To.Format(time.DateOnly), p.Compacted)
		}
	}
	if d := cmp.Diff(idsOf(all), storedIDs(t, s)); d != "" {
		t.Errorf("activities after compaction (-want +got):\n%s", d)
	}
	// Inserts into a compacted partition go on.
	late := store.Activity{ID: "d0000000-0000-4000-8000-000000000000", UserID: "u2", ActivityType: "login",
		CreatedAt: time.Date(2024, 3, 31, 23, 0, 0, 0, time.UTC)}
	must(t, s.ActivityInsertMany(ctx, []store.Activity{late}))
	all = append(all, late)
	checkSummaries(t, s, all)
}
