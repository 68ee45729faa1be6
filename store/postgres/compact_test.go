package postgres_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// TestCompactCounters bloats the counter tables that writes rewrite in
// place (every row updated over and over in one transaction, so that no
// old version can be pruned), and checks that the retention run rewrites
// them to their rows' size with every count kept; and that a table whose
// lock is held elsewhere is left as it is, without failing the run or
// waiting for the lock.
func TestCompactCounters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := newStore(t)
	acts := spread(3000, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 7*time.Minute)
	must(t, s.ActivityInsertMany(ctx, slices.Clone(acts)))
	before := summaries(t, s)
	tables := []string{"activity_user_block_counts", "activity_day_counts", "activity_hour_counts"}
	size := func(table string) int64 {
		return count(t, s, `SELECT pg_relation_size($1::regclass)`, table)
	}
	bloat := func() {
		tx, err := s.DB().BeginTx(ctx, nil)
		must(t, err)
		defer tx.Rollback()
		for _, table := range tables {
			for {
				_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET n = n`)
				must(t, err)
				var n int64
				must(t, tx.QueryRowContext(ctx, `SELECT pg_relation_size($1::regclass)`, table).Scan(&n))
				if n > 3<<19 {
					break
				}
			}
		}
		must(t, tx.Commit())
	}

	bloat()
	// The block counters' lock is held by a reader: that table is left,
	// the others are compacted.
	tx, err := s.DB().BeginTx(ctx, nil)
	must(t, err)
	_, err = tx.ExecContext(ctx, `LOCK TABLE activity_user_block_counts IN ACCESS SHARE MODE`)
	must(t, err)
	bloated := size("activity_user_block_counts")
	start := time.Now()
	done, err := postgres.CompactCounters(ctx, s)
	must(t, err)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("compaction with a table locked took %v; want it to give up on the lock", took)
	}
	if d := cmp.Diff(tables[1:], done); d != "" {
		t.Errorf("compacted with the block counters locked (-want +got):\n%s", d)
	}
	if got := size("activity_user_block_counts"); got != bloated {
		t.Errorf("locked block counters: %d bytes after the run, %d before", got, bloated)
	}
	must(t, tx.Rollback())

	// The retention run compacts them once the lock is free; nothing else
	// is bloated any more, and nothing is deleted.
	if n, err := s.ActivityDeleteBefore(ctx, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 1000); err != nil || n != 0 {
		t.Fatalf("retention: %d deleted, %v", n, err)
	}
	for _, table := range tables {
		got, rows := size(table), count(t, s, `SELECT COALESCE(sum(pg_column_size(t.*) + 4), 0) FROM `+table+` t`)
		if got > max(2*rows, 8192) {
			t.Errorf("%s: %d bytes for %d bytes of rows after the retention run", table, got, rows)
		}
	}
	if d := cmp.Diff(before, summaries(t, s)); d != "" {
		t.Errorf("summaries after compaction (-before +after):\n%s", d)
	}
	checkCounters(t, s)
	// Writes after a compaction land in the rewritten tables.
	late := store.Activity{ID: "d0000000-0000-4000-8000-000000000000", UserID: "u2", ActivityType: "login",
		CreatedAt: time.Date(2024, 3, 20, 23, 0, 0, 0, time.UTC)}
	must(t, s.ActivityInsertMany(ctx, []store.Activity{late}))
	checkSummaries(t, s, append(acts, late))
}
