package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// benchActivity returns a realistic tracked request.
func benchActivity(i int, at time.Time) store.Activity {
	return store.Activity{
		UserID:       fmt.Sprintf("user-%d", i%50),
		Username:     fmt.Sprintf("user%d", i%50),
		FullName:     "Bench User",
		ActivityType: []string{"login", "download_report", "generate_report", "view_dashboard"}[i%4],
		Description:  "Downloaded report",
		ClientID:     "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
		IPAddress:    "203.0.113.7",
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		Method:       "GET",
		Path:         "/api/v1/reports/download/",
		StatusCode:   200,
		Duration:     3 * time.Millisecond,
		Metadata:     map[string]any{"path": "/api/v1/reports/download/", "method": "GET", "status": 200, "duration_ms": 3},
		CreatedAt:    at.Add(time.Duration(i) * time.Millisecond),
	}
}

// BenchmarkStoreInsert measures activity insertion: batch500 is
// ActivityInsertMany with 500 events per call (one transaction each);
// row-by-row is the baseline it replaces, one autocommit INSERT per event on
// the same schema.
func BenchmarkStoreInsert(b *testing.B) {
	ctx := context.Background()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	b.Run("batch500", func(b *testing.B) {
		s, err := sqlite.Open(ctx, testdb.SQLitePath(b), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		batch := make([]store.Activity, 500)
		b.ResetTimer()
		began := time.Now()
		for done := 0; done < b.N; done += len(batch) {
			n := min(len(batch), b.N-done)
			for i := 0; i < n; i++ {
				batch[i] = benchActivity(done+i, start)
			}
			if err := s.ActivityInsertMany(ctx, batch[:n]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "events/s")
	})

	b.Run("row-by-row", func(b *testing.B) {
		path := testdb.SQLitePath(b)
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		b.ResetTimer()
		began := time.Now()
		for i := 0; i < b.N; i++ {
			a := benchActivity(i, start)
			meta, err := json.Marshal(a.Metadata)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO activities (id, user_id, username, full_name, activity_type,
				description, client_id, report_id, ip_address, user_agent, method, path, status_code, duration_ns,
				metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				store.NewID(), a.UserID, a.Username, a.FullName, a.ActivityType, a.Description, a.ClientID, nil,
				a.IPAddress, a.UserAgent, a.Method, a.Path, a.StatusCode, int64(a.Duration), string(meta),
				a.CreatedAt.UnixMicro()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "events/s")
	})
}
