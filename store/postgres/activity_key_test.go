package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

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
