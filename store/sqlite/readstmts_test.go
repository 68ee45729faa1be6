package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

func openReadStmtsStore(t *testing.T, readers int) *Store {
	t.Helper()
	// A read that waited on its own connection would stop here: Open
	// reads the migration status on the readers.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, testdb.SQLitePath(t), Config{Readers: readers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var acts []store.Activity
	for i := range 50 {
		acts = append(acts, store.Activity{UserID: fmt.Sprintf("u%d", i%5), ActivityType: "login", CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	if err := s.ActivityInsertMany(t.Context(), acts); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadStatementsPreparedOnce checks that the reads' statements are
// prepared once and then reused: the same reads again prepare nothing new
// and give the same answers.
func TestReadStatementsPreparedOnce(t *testing.T) {
	s := openReadStmtsStore(t, 2)
	ctx := t.Context()
	p := store.ActivityListParams{Limit: 10, ActivityFilter: store.ActivityFilter{UserID: "u1",
		From: time.Date(2025, 3, 1, 12, 5, 0, 0, time.UTC)}}
	first, err := s.ActivityList(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientPerformance(ctx, ""); err != nil {
		t.Fatal(err)
	}
	n := s.reads.Len()
	if n == 0 {
		t.Fatal("no read statement prepared")
	}
	for range 3 {
		again, err := s.ActivityList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if again.Total != first.Total || len(again.Activities) != len(first.Activities) || again.Total != 9 {
			t.Fatalf("prepared read: total %d, %d rows; first read: total %d, %d rows (want 9)",
				again.Total, len(again.Activities), first.Total, len(first.Activities))
		}
		if _, err := s.ClientPerformance(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.reads.Len(); got != n {
		t.Errorf("%d statements prepared after the same reads again, want %d", got, n)
	}
}

// TestReadStatementsBounded checks that no more texts than the bound
// (sqlexec.StmtsMaxDefault) are kept prepared, and that a text past the
// bound still runs.
func TestReadStatementsBounded(t *testing.T) {
	s := openReadStmtsStore(t, 1)
	ctx := t.Context()
	for i := range sqlexec.StmtsMaxDefault + 10 {
		var n int
		q := fmt.Sprintf("SELECT COUNT(*) + %d FROM activities", i)
		if err := s.read().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 50+i {
			t.Fatalf("%s = %d, want %d", q, n, 50+i)
		}
	}
	if got := s.reads.Len(); got != sqlexec.StmtsMaxDefault {
		t.Errorf("%d statements prepared, want the bound %d", got, sqlexec.StmtsMaxDefault)
	}
}

// TestReadStatementsOneReader runs concurrent reads that each prepare new
// statements on a pool of one reader connection: a read transaction
// prepares its statements only once it has given its connection back, so
// none waits on itself.
func TestReadStatementsOneReader(t *testing.T) {
	s := openReadStmtsStore(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			p := store.ActivityListParams{Limit: 5, ActivityFilter: store.ActivityFilter{UserID: fmt.Sprintf("u%d", i%5)}}
			if i%2 == 0 {
				p.ActivityFilter.ActivityType = "login"
			}
			if _, err := s.ActivityList(ctx, p); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.reads.Len() == 0 {
		t.Error("no read statement prepared")
	}
}

// TestReadStatementsAfterClose checks that a closed store prepares
// nothing and its reads fail as a closed store's do.
func TestReadStatementsAfterClose(t *testing.T) {
	s := openReadStmtsStore(t, 1)
	if _, err := s.ActivityList(t.Context(), store.ActivityListParams{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.reads.Len(); got != 0 {
		t.Errorf("%d statements held after Close", got)
	}
	if _, err := s.ActivityList(t.Context(), store.ActivityListParams{Limit: 5}); err == nil {
		t.Error("ActivityList after Close: no error")
	}
	if st := s.reads.Prepared(t.Context(), s.reader, "SELECT 1"); st != nil {
		t.Error("a statement prepared after Close")
	}
}
