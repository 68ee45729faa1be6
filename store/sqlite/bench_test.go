package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
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
		s, err := sqlite.Open(ctx, testdb.SQLitePath(b), sqlite.Config{})
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
		s, err := sqlite.Open(ctx, path, sqlite.Config{})
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
			if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO activity_users (user_id, user_name, user_full_name)
				VALUES (?, ?, ?)`, a.UserID, a.Username, a.FullName); err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO activities (id, user_key, username, full_name, activity_type,
				description, client_id, report_id, ip_address, user_agent, method, path, status_code, duration_ns,
				metadata, created_at) VALUES (?, (SELECT user_key FROM activity_users WHERE user_id = ?), NULL, NULL,
				?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				store.NewID(), a.UserID, a.ActivityType, a.Description, a.ClientID, nil,
				a.IPAddress, a.UserAgent, a.Method, a.Path, a.StatusCode, int64(a.Duration), string(meta),
				a.CreatedAt.UnixMicro()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "events/s")
	})
}

// seedActivities inserts n activities spread over the 90 days before end,
// 50 users (one in ten anonymous) and 12 types, in batches of 500.
func seedActivities(b *testing.B, s *sqlite.Store, n int, end time.Time) {
	b.Helper()
	ctx := context.Background()
	types := []string{"login", "logout", "create_client", "update_client", "delete_client", "upload_csv",
		"generate_report", "download_report", "delete_report", "share_report", "view_dashboard", "other"}
	step := 90 * 24 * time.Hour / time.Duration(n)
	batch := make([]store.Activity, 0, 500)
	for i := 0; i < n; i++ {
		a := benchActivity(i, end)
		a.CreatedAt = end.Add(-time.Duration(i) * step)
		a.ActivityType = types[i%len(types)]
		if i%10 == 0 {
			a.UserID, a.Username = "", ""
		}
		batch = append(batch, a)
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.ActivityInsertMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkActivityList1M measures the user-activity queries on 1,000,000
// activities: page 1 with its exact total, a deep cursor page, filtered
// first pages and deep OFFSET pages of one user and of one type.
func BenchmarkActivityList1M(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, testdb.SQLitePath(b), sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	end := time.Date(2025, 6, 30, 15, 30, 0, 0, time.UTC)
	seedActivities(b, s, 1_000_000, end)
	deep, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25, Offset: 500_000})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		p    store.ActivityListParams
	}{
		{"page1", store.ActivityListParams{Limit: 25}},
		{"cursor-500k", store.ActivityListParams{Limit: 25, Cursor: deep.NextCursor}},
		{"page1-user", store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{UserID: "user-7"}}},
		{"page1-type", store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{ActivityType: "login"}}},
		{"offset-10k-user", store.ActivityListParams{Limit: 25, Offset: 10_000, ActivityFilter: store.ActivityFilter{UserID: "user-7"}}},
		{"offset-50k-type", store.ActivityListParams{Limit: 25, Offset: 50_000, ActivityFilter: store.ActivityFilter{ActivityType: "login"}}},
		{"page1-30days", store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{
			From: end.Add(-30 * 24 * time.Hour), To: end}}},
		{"page1-30days-user-type", store.ActivityListParams{Limit: 25, ActivityFilter: store.ActivityFilter{
			From: end.Add(-30 * 24 * time.Hour), To: end, UserID: "user-8", ActivityType: "login"}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.ActivityList(ctx, c.p)
				if err != nil {
					b.Fatal(err)
				}
				if page.Total == 0 || len(page.Activities) == 0 {
					b.Fatalf("empty page: total %d", page.Total)
				}
			}
		})
	}
	sums := []struct {
		name string
		p    store.ActivitySummaryParams
	}{
		{"summary-type-90days", store.ActivitySummaryParams{GroupBy: store.GroupByType, ActivityFilter: store.ActivityFilter{
			From: end.Add(-90 * 24 * time.Hour), To: end}}},
		{"summary-user-90days", store.ActivitySummaryParams{GroupBy: store.GroupByUser, Limit: 20, ActivityFilter: store.ActivityFilter{
			From: end.Add(-90 * 24 * time.Hour), To: end}}},
		{"summary-day-utc-90days", store.ActivitySummaryParams{GroupBy: store.GroupByDay, ActivityFilter: store.ActivityFilter{
			From: end.Add(-90 * 24 * time.Hour), To: end}}},
		{"summary-day-newyork-90days", store.ActivitySummaryParams{GroupBy: store.GroupByDay, Location: newYork(b),
			ActivityFilter: store.ActivityFilter{From: end.Add(-90 * 24 * time.Hour), To: end}}},
	}
	for _, c := range sums {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ActivitySummary(ctx, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newYork(b *testing.B) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	return loc
}

// BenchmarkSummaryByUser90Days measures the summary by user (top 20) of
// the 90 days back from the newest activity, at 1,000,000 activities of
// 2,000 users over a year, with a context that can be cancelled, as a
// request's: from, a range with no end (as the Service's benchmark asks),
// and from-to, one that ends at the newest activity (as a date_to of
// today does). Whole 32-day blocks come from the per-user block counters,
// the edge blocks and days from their count vectors.
//
//	go test ./store/sqlite -run XXX -bench SummaryByUser90Days -benchtime 100x
func BenchmarkSummaryByUser90Days(b *testing.B) {
	s, _ := openStore(b)
	end := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: 1_000_000, Users: 2000, Days: 365, End: end,
		Reports: 100, Recommendations: 100}); err != nil {
		b.Fatal(err)
	}
	from := end.Add(-90 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		f    store.ActivityFilter
	}{{"from", store.ActivityFilter{From: from}}, {"from-to", store.ActivityFilter{From: from, To: end}}} {
		b.Run(c.name, func(b *testing.B) {
			p := store.ActivitySummaryParams{GroupBy: store.GroupByUser, Limit: 20, ActivityFilter: c.f}
			for b.Loop() {
				sum, err := s.ActivitySummary(b.Context(), p)
				if err != nil {
					b.Fatal(err)
				}
				if len(sum.Rows) != 20 || sum.Total == 0 {
					b.Fatalf("%d rows, total %d", len(sum.Rows), sum.Total)
				}
			}
		})
	}
}

// BenchmarkSummaryByUserAllTime measures the summary by user of 2,000 users
// over all time at 200,000 activities, with a context that can be
// cancelled, as a request's (the driver costs more a statement then):
// keep-names, users whose activities all carry their first username, and
// renamed, every user marked as having activities under another name (the
// latest username then comes from a query per user).
//
//	go test ./store/sqlite -run XXX -bench SummaryByUserAllTime -benchtime 100x
func BenchmarkSummaryByUserAllTime(b *testing.B) {
	s, path := openStore(b)
	if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: 200_000, Users: 2000, Reports: 100, Recommendations: 100}); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B) {
		for b.Loop() {
			sum, err := s.ActivitySummary(b.Context(), store.ActivitySummaryParams{GroupBy: store.GroupByUser})
			if err != nil {
				b.Fatal(err)
			}
			if len(sum.Rows) != 2000 {
				b.Fatalf("%d rows, want 2000", len(sum.Rows))
			}
		}
	}
	b.Run("keep-names", run)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE activity_users SET renamed = 1"); err != nil {
		b.Fatal(err)
	}
	b.Run("renamed", run)
}

// BenchmarkActivityFootprint fills a database (benchdata.FillFootprint)
// and reports the bytes per activity of the activities table, of its
// indexes and of the activity counters, from the dbstat table, logging
// each object's share with -v.
//
//	go test ./store/sqlite -run XXX -bench ActivityFootprint -benchtime 1x -v
func BenchmarkActivityFootprint(b *testing.B) {
	for b.Loop() {
		s, path := openStore(b)
		n := benchdata.FillFootprint(b, s)
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		benchdata.ReportFootprint(b, db, n, "", `SELECT d.name, COALESCE(m.type, '') = 'index', SUM(d.pgsize)
			FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name
			WHERE d.name LIKE 'activit%' GROUP BY d.name ORDER BY 3 DESC`)
		_ = db.Close()
	}
}

// BenchmarkReadsOnFile runs benchdata.KeptReads on a database file kept
// between runs, so that two builds can be compared on the same 10,000,000
// activities without filling them again (about 45 minutes). The file is
// ANALYTICS_BENCH_SQLITE_FILE; when it holds no activity, benchdata.FillKept
// fills it (ANALYTICS_BENCH_ACTIVITIES, default 10,000,000) through a
// writer with a 512 MiB page cache, as a bulk load would be. The reads run
// with the default caches.
//
//	ANALYTICS_BENCH_SQLITE_FILE=/var/tmp/a10m.db go test ./store/sqlite -run XXX -bench ReadsOnFile -benchtime 200x -timeout 90m
func BenchmarkReadsOnFile(b *testing.B) {
	path := os.Getenv("ANALYTICS_BENCH_SQLITE_FILE")
	if path == "" {
		b.Skip("ANALYTICS_BENCH_SQLITE_FILE is not set")
	}
	fill, err := sqlite.Open(b.Context(), path, sqlite.Config{CacheSize: 512 << 10})
	if err != nil {
		b.Fatal(err)
	}
	benchdata.FillKept(b, fill, 10_000_000, 100, 100)
	if err := fill.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := sqlite.Open(b.Context(), path, sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchdata.Run(b, benchdata.KeptReads(s))
}

// BenchmarkPagesPerBatch reports how many pages of the database file one
// batch of 10,000 activities of 500 users changes, after 200,000 such
// activities (each batch going on in time): the file is checkpointed
// before and after the batch and compared page by page, each changed page
// counted to the table or index dbstat names as its owner (logged with
// -v). Every changed page is written twice, to the log and by the
// checkpoint, so it is the write cost of a batch.
//
//	go test ./store/sqlite -run XXX -bench PagesPerBatch -benchtime 1x -v
func BenchmarkPagesPerBatch(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		path := testdb.SQLitePath(b)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		next := 0
		batch := func() []store.Activity {
			acts := make([]store.Activity, 10_000)
			for i := range acts {
				next++
				acts[i] = store.Activity{UserID: fmt.Sprint(next%500 + 1), Username: fmt.Sprintf("user%d", next%500),
					ActivityType: []string{"login", "report_view", "api_call", "report_download"}[next%4],
					Description:  "Viewed the cost report", IPAddress: "10.0.0.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
					Method: "GET", Path: "/api/reports/42/", StatusCode: 200, Duration: 12 * time.Millisecond,
					Metadata: map[string]any{"report_type": "cost", "page": next % 7}, CreatedAt: start.Add(time.Duration(next) * time.Second)}
			}
			return acts
		}
		write := func(batches int) []byte {
			s, err := sqlite.Open(ctx, path, sqlite.Config{})
			if err != nil {
				b.Fatal(err)
			}
			for range batches {
				if err := s.ActivityInsertMany(ctx, batch()); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			return data
		}
		before := write(20)
		after := write(1)

		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		var pageSize int
		if err := db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
			b.Fatal(err)
		}
		owner := map[int]string{}
		rows, err := db.Query("SELECT name, pageno FROM dbstat")
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var name string
			var page int
			if err := rows.Scan(&name, &page); err != nil {
				b.Fatal(err)
			}
			owner[page] = name
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
		changed := map[string]int{}
		total := 0
		for p := 0; (p+1)*pageSize <= len(after); p++ {
			var old []byte
			if (p+1)*pageSize <= len(before) {
				old = before[p*pageSize : (p+1)*pageSize]
			}
			if !bytes.Equal(old, after[p*pageSize:(p+1)*pageSize]) {
				changed[owner[p+1]]++ // dbstat numbers pages from 1
				total++
			}
		}
		for _, name := range slices.Sorted(maps.Keys(changed)) {
			b.Logf("%-40s %6d pages", name, changed[name])
		}
		b.ReportMetric(float64(total), "pages/batch")
		b.ReportMetric(float64(changed["activities_user_created_at"]), "user-index-pages/batch")
	}
}
