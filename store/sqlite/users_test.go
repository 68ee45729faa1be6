package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

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
