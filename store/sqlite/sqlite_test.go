package sqlite_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

var fixedNow = time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)

// openStore returns a migrated store on a new file whose clock reads
// fixedNow, closed when the test ends.
func openStore(t testing.TB) (*sqlite.Store, string) {
	return openWith(t, sqlite.Config{NowFunc: func() time.Time { return fixedNow }})
}

func openWith(t testing.TB, opts sqlite.Config) (*sqlite.Store, string) {
	t.Helper()
	path := testdb.SQLitePath(t)
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestOpenMigrateReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	applied, latest, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if applied != latest || latest < 1 {
		t.Fatalf("MigrationStatus = %d, %d; want applied = latest ≥ 1", applied, latest)
	}
	if err := s.ActivityInsertMany(ctx, []store.Activity{{ActivityType: "login", UserID: "u1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}

	s2, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	page, err := s2.ActivityList(ctx, store.ActivityListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Activities) != 1 {
		t.Fatalf("after reopen: total %d, %d rows; want 1, 1", page.Total, len(page.Activities))
	}
	size, err := s2.Size(ctx)
	if err != nil || size <= 0 {
		t.Fatalf("Size = %d, %v", size, err)
	}
	if st := s2.Stats(); st.Driver != "sqlite" {
		t.Fatalf("Stats().Driver = %q", st.Driver)
	}
}

func TestOpenSkipMigrate(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, latest, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([2]int{0, latest}, [2]int{applied, latest}); diff != "" || latest < 1 {
		t.Fatalf("before Migrate (-want +got):\n%s", diff)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if applied, _, _ = s.MigrationStatus(ctx); applied != latest {
		t.Fatalf("after Migrate applied = %d, want %d", applied, latest)
	}
}

func TestOpenBadOptions(t *testing.T) {
	_, err := sqlite.Open(context.Background(), testdb.SQLitePath(t), sqlite.Config{Readers: -1})
	ve, ok := errors.AsType[*store.ValidationError](err)
	if !ok || ve.Field != "readers" {
		t.Fatalf("Open with Readers -1 = %v, want a validation error on readers", err)
	}
}

// TestSyncWrites: SyncWrites syncs the write-ahead log of committed
// writes (what the Recorder waits for before its spool forgets them), and
// refuses a done context. The sync itself is the operating system's; a
// power loss is not something a test can stage.
func TestSyncWrites(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	if err := s.SyncWrites(ctx); err != nil {
		t.Fatalf("SyncWrites on a new store: %v", err)
	}
	if err := s.ActivityInsertMany(ctx, []store.Activity{{UserID: "u1", ActivityType: "login"}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("write-ahead log after a commit: %v, %v", fi, err)
	}
	if err := storedriver.SyncWrites(ctx, s); err != nil {
		t.Fatalf("SyncWrites after a commit: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SyncWrites(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("SyncWrites with a done context: %v", err)
	}
}
