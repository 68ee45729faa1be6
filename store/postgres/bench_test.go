package postgres_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// benchActivities returns n activities shaped like the ones the tracking
// middleware records.
func benchActivities(n int) []store.Activity {
	types := []string{"login", "logout", "create_client", "update_client", "upload_csv", "generate_report",
		"download_report", "share_report", "view_dashboard", "other"}
	base := time.Now().UTC()
	out := make([]store.Activity, n)
	for i := range out {
		user := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i%50)
		out[i] = store.Activity{
			UserID: user, Username: "user" + user[:8], FullName: "User " + user[:8],
			ActivityType: types[i%len(types)], Description: "Downloaded report 5b0c1f6e-8a41-4f0e-9d55-0d3c1a2b3c4d",
			ReportID: "5b0c1f6e-8a41-4f0e-9d55-0d3c1a2b3c4d", IPAddress: "203.0.113.7",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
			Method:    "GET", Path: "/api/v1/reports/5b0c1f6e-8a41-4f0e-9d55-0d3c1a2b3c4d/download/", StatusCode: 200,
			Duration: 12 * time.Millisecond,
			Metadata: map[string]any{"path": "/api/v1/reports/5b0c1f6e-8a41-4f0e-9d55-0d3c1a2b3c4d/download/",
				"method": "GET", "status": 200, "duration_ms": 12},
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return out
}

// BenchmarkStoreInsert measures activity inserts: COPY in batches of 500
// through ActivityInsertMany, against the baseline of one autocommit
// INSERT per event.
func BenchmarkStoreInsert(b *testing.B) {
	b.Run("copy500", func(b *testing.B) {
		s, _ := newStore(b)
		acts := benchActivities(b.N)
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < len(acts); i += 500 {
			if err := s.ActivityInsertMany(b.Context(), acts[i:min(i+500, len(acts))]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
	// copy500-parallel runs GOMAXPROCS writers at once, as a Recorder
	// with several flushers or several replicas do.
	b.Run("copy500-parallel", func(b *testing.B) {
		s, _ := newStore(b)
		acts := benchActivities(b.N)
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				// Each iteration claims one event; whoever completes a
				// batch of 500 inserts it.
				i := int(next.Add(1))
				if i%500 == 0 || i == len(acts) {
					lo := (i - 1) / 500 * 500
					if err := s.ActivityInsertMany(b.Context(), acts[lo:i]); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("row-by-row", func(b *testing.B) {
		s, _ := newStore(b)
		acts := benchActivities(b.N)
		now := time.Now()
		for i := range acts {
			if err := storedriver.PrepareActivity(&acts[i], now); err != nil {
				b.Fatal(err)
			}
		}
		// The users are known, as they are after their first activities.
		for i := range min(len(acts), 50) {
			if _, err := s.DB().ExecContext(b.Context(), `INSERT INTO activity_users (user_id, user_name, user_full_name)
				VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, acts[i].UserID, acts[i].Username, acts[i].FullName); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		start := time.Now()
		for i := range acts {
			a := &acts[i]
			meta, err := json.Marshal(a.Metadata)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.DB().ExecContext(b.Context(), `INSERT INTO activities (id, user_key, username, full_name,
					activity_type, description, client_id, report_id, ip_address, user_agent, method, path, status_code,
					duration_ns, metadata, created_at)
				VALUES ($1, (SELECT user_key FROM activity_users WHERE user_id = $2), $3, $4, $5, $6, $7, $8, $9, $10,
					$11, $12, $13, $14, $15, $16)`,
				a.ID, a.UserID, a.Username, a.FullName, a.ActivityType, a.Description, nil, a.ReportID, a.IPAddress,
				a.UserAgent, a.Method, a.Path, a.StatusCode, int64(a.Duration), string(meta), a.CreatedAt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}

// BenchmarkActivityFootprint fills a schema (benchdata.FillFootprint),
// vacuums it, and reports the bytes per activity of the activities
// partitions, of their indexes and of the activity counters (tables and
// indexes), logging each relation's share with -v; then again with every
// partition compacted (CompactActivityPartitions).
//
//	go test ./store/postgres -run XXX -bench ActivityFootprint -benchtime 1x -v
//	ANALYTICS_BENCH_ACTIVITIES=1000000 ANALYTICS_BENCH_USERS=2000 go test ./store/postgres -run XXX -bench ActivityFootprint -benchtime 1x -v -timeout 30m
func BenchmarkActivityFootprint(b *testing.B) {
	for b.Loop() {
		s, url := newStore(b)
		n := benchdata.FillFootprint(b, s)
		db, err := sql.Open("postgres", url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(b.Context(), "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
		// The partitions' heaps and indexes are counted under the
		// partitioned table and index they belong to: as filled, then with
		// every (closed) partition compacted.
		const query = `
			SELECT COALESCE(p.relname, c.relname), c.relkind = 'i', SUM(pg_relation_size(c.oid))
			FROM pg_class c
			LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
			LEFT JOIN pg_class p ON p.oid = i.inhparent
			WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
				AND COALESCE(p.relname, c.relname) LIKE 'activit%'
			GROUP BY 1, 2 ORDER BY 3 DESC`
		benchdata.ReportFootprint(b, db, n, "", query)
		if _, err := s.CompactActivityPartitions(b.Context(), 1000); err != nil {
			b.Fatal(err)
		}
		benchdata.ReportFootprint(b, db, n, "compacted-", query)
		_ = db.Close()
	}
}
