package postgres_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/teststandby"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// eventually polls cond every 50 ms for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestReplicatedReads runs against a real streaming standby of the test
// database: reads go to it once it has caught up, a read after
// ReadAfter(WritePosition) sees the write, a standby whose replay is paused
// past MaxLag or that is stopped no longer serves reads, and reads go on
// from the primary.
func TestReplicatedReads(t *testing.T) {
	ctx := t.Context()
	url := testdb.PostgresURL(t)
	sb := teststandby.Start(t, url)
	r, err := postgres.OpenReplicated(ctx, url, postgres.Config{},
		postgres.ReplicaConfig{URLs: []string{sb.URL}, MaxLag: time.Second, CheckInterval: 100 * time.Millisecond})
	must(t, err)
	defer r.Close()
	status := func() postgres.ReplicaStatus { return r.Replicas()[0] }
	if st := status(); strings.Contains(st.Name, "@") || !strings.HasPrefix(st.Name, "127.0.0.1:") {
		t.Errorf("replica name %q: want host:port/database without credentials", st.Name)
	}
	eventually(t, "the standby to be healthy", func() bool { return status().Healthy })

	total := func(useCtx func() (int64, error)) int64 {
		n, err := useCtx()
		must(t, err)
		return n
	}
	plain := func() (int64, error) {
		sum, err := r.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByType})
		if err != nil {
			return 0, err
		}
		return sum.Total, nil
	}

	// A write, then a read that must see it.
	must(t, r.ActivityInsertMany(ctx, spread(50, time.Now().Add(-time.Hour), time.Second)))
	pos, err := r.WritePosition(ctx)
	must(t, err)
	rctx := r.ReadAfter(ctx, pos)
	page, err := r.ActivityList(rctx, store.ActivityListParams{Limit: 10})
	must(t, err)
	if page.Total != 50 {
		t.Fatalf("read after the write: total %d, want 50", page.Total)
	}

	// Plain reads are served by the standby once it has replayed the write.
	eventually(t, "the standby to replay the write", func() bool { return total(plain) == 50 })
	before := status().Reads
	if got := total(plain); got != 50 {
		t.Fatalf("total %d, want 50", got)
	}
	if status().Reads <= before {
		t.Errorf("the standby served no read: %+v", status())
	}

	// Replay paused: the standby falls behind MaxLag and reads come from
	// the primary, which has the new rows.
	if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	more := spread(20, time.Now().Add(-time.Minute), time.Second)
	for i := range more {
		more[i].ID = strings.Replace(more[i].ID, "a", "e", 1)
	}
	must(t, r.ActivityInsertMany(ctx, more))
	eventually(t, "the paused standby to be dropped", func() bool { return !status().Healthy })
	if st := status(); !strings.Contains(st.Err, "behind the primary") {
		t.Errorf("status of the paused standby: %+v", st)
	}
	before = status().Reads
	if got := total(plain); got != 70 {
		t.Errorf("total with the standby behind: %d, want 70 (from the primary)", got)
	}
	if status().Reads != before {
		t.Errorf("a standby past MaxLag served a read")
	}
	if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the standby to catch up", func() bool { return status().Healthy })

	// Stopped: reads fail over to the primary at once.
	sb.Stop(t)
	if got := total(plain); got != 70 {
		t.Errorf("total with the standby down: %d, want 70", got)
	}
	eventually(t, "the stopped standby to be dropped", func() bool { return !status().Healthy })
	var n int
	must(t, r.ActivityIterate(ctx, store.ActivityFilter{}, func(*store.Activity) error { n++; return nil }))
	if n != 70 {
		t.Errorf("iterate with the standby down: %d rows, want 70", n)
	}
}

// TestWritePositionAfterAsyncCommit checks that WritePosition is past the
// commit record of every write that returned, also with synchronous_commit
// off, when a write returns before its commit record is written out: the
// commit record's end, read with pg_walinspect, must be at or before it.
func TestWritePositionAfterAsyncCommit(t *testing.T) {
	ctx := t.Context()
	url := testdb.PostgresURL(t)
	// The admin connection commits synchronously (the server's default may
	// be asynchronous): its commits flush the log for pg_walinspect.
	admin, err := sql.Open("postgres", url+"&synchronous_commit=on")
	must(t, err)
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_walinspect"); err != nil {
		t.Fatalf("pg_walinspect (in PostgreSQL's contrib, from version 15): %v", err)
	}
	var schema string
	must(t, admin.QueryRowContext(ctx, "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_walinspect'").Scan(&schema))

	r, err := postgres.OpenReplicated(ctx, url+"&synchronous_commit=off", postgres.Config{}, postgres.ReplicaConfig{})
	must(t, err)
	defer r.Close()
	if _, err := admin.ExecContext(ctx, "CREATE TABLE flushes (n int)"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		// The search for the write's commit record starts at the log flushed
		// just before the write, so that other tests' writes do not lengthen it.
		var start string
		must(t, admin.QueryRowContext(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&start))
		batch := spread(5, time.Now().Add(-time.Hour), time.Second)
		for j := range batch {
			batch[j].ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j)
		}
		must(t, r.ActivityInsertMany(ctx, batch))
		pos, err := r.WritePosition(ctx)
		must(t, err)
		var xid string
		must(t, admin.QueryRowContext(ctx, "SELECT xmin::text FROM activities WHERE id = $1", batch[0].ID).Scan(&xid))
		// A synchronous commit flushes the log up to its own commit record,
		// past the one looked for: pg_walinspect reads flushed records only.
		if _, err := admin.ExecContext(ctx, "INSERT INTO flushes VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var end sql.NullString
		var after bool
		must(t, admin.QueryRowContext(ctx, `SELECT max(end_lsn)::text, coalesce(max(end_lsn) > $4::pg_lsn, false)
			FROM `+schema+`.pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
			WHERE xid = $2::xid AND resource_manager = 'Transaction' AND record_type = $3`,
			start, xid, "COMMIT", pos).Scan(&end, &after))
		if !end.Valid {
			t.Fatalf("write %d: no commit record of transaction %s after %s", i, xid, start)
		}
		if after {
			t.Fatalf("write %d: WritePosition %s is before the end of the write's commit record, %s", i, pos, end.String)
		}
	}
}
