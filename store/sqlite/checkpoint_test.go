package sqlite_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// TestBulkInsertCheckpointsAsItGoes: batch inserts copy the write-ahead log
// into the database file as they go (about 25 MiB of log here, below the
// writer connection's automatic checkpoint at 32 MiB, which would otherwise
// be the first to write the database file), and Close waits for a running
// checkpoint.
func TestBulkInsertCheckpointsAsItGoes(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	batch := make([]store.Activity, 500)
	for n := 0; n < 40_000; n += len(batch) {
		for i := range batch {
			batch[i] = store.Activity{
				UserID: "user", ActivityType: "download_report", Description: "Downloaded report",
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
				Path:      "/api/v1/reports/download/", Method: "GET", StatusCode: 200,
				Metadata:  map[string]any{"path": "/api/v1/reports/download/", "status": 200},
				CreatedAt: fixedNow.Add(time.Duration(n+i) * time.Millisecond),
			}
		}
		if err := s.ActivityInsertMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 4<<20 {
		t.Errorf("database file has %d bytes after 40,000 inserts, want the log checkpointed into it (at least 4 MiB)", fi.Size())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	page, err := s2.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 40_000 {
		t.Errorf("Total = %d after reopening, want 40000", page.Total)
	}
}
