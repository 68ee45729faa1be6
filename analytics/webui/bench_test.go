package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// BenchmarkPages renders each page for an admin with a warm cache over a
// benchdata dataset (100,000 activities; 1,000,000 with
// ANALYTICS_BENCH_FULL set; on PostgreSQL with ANALYTICS_BENCH_POSTGRES
// set), reporting the page's size. The baseline is the cached JSON
// dashboard route of the same Service. Run with a fixed count so the fill
// is not repeated:
//
//	ANALYTICS_BENCH_FULL=1 go test ./analytics/webui -run XXX -bench BenchmarkPages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	var err error
	var st interface {
		Close() error
	}
	var svc *analytics.Service
	activities := 100_000
	if os.Getenv("ANALYTICS_BENCH_FULL") != "" {
		activities = 1_000_000
	}
	fill := benchdata.Config{Activities: activities, Recommendations: 100_000}
	var end time.Time
	admin := analytics.Principal{ID: benchdata.UserID(1), Username: "bench", Role: analytics.RoleAdmin}
	ident := func(*http.Request) (analytics.Principal, error) { return admin, nil }
	if os.Getenv("ANALYTICS_BENCH_POSTGRES") != "" {
		pg, err := postgres.Open(ctx, testdb.PostgresURL(b), postgres.Config{})
		if err != nil {
			b.Fatal(err)
		}
		st = pg
		opts, err := benchdata.Fill(ctx, pg, fill)
		if err != nil {
			b.Fatal(err)
		}
		end = opts.End
		if _, err := pg.DB().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
		svc, err = analytics.New(pg, analytics.Config{IdentifyFunc: ident, NowFunc: func() time.Time { return end }, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
	} else {
		sq, err := sqlite.Open(ctx, testdb.SQLitePath(b), sqlite.Config{})
		if err != nil {
			b.Fatal(err)
		}
		st = sq
		opts, err := benchdata.Fill(ctx, sq, fill)
		if err != nil {
			b.Fatal(err)
		}
		end = opts.End
		svc, err = analytics.New(sq, analytics.Config{IdentifyFunc: ident, NowFunc: func() time.Time { return end }, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
	}
	defer st.Close()
	ui, err := webui.New(svc, webui.Config{Identify: ident, Now: func() time.Time { return end }, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	api := svc.Handler()
	clientPath := "/clients/10000000-0000-4000-8000-000000000007" // a benchdata client
	for _, pg := range []struct {
		name string
		h    http.Handler
		path string
	}{
		{"baseline-api-dashboard", api, "/dashboard/"},
		{"overview", ui, "/"},
		{"overview-90d", ui, "/?days=90"},
		{"activity", ui, "/activity"},
		{"activity-filtered", ui, "/activity?activity_type=login&date_from=2025-06-01&date_to=2025-06-30"},
		{"clients", ui, "/clients"},
		{"client", ui, clientPath},
		{"cost", ui, "/cost"},
		{"health", ui, "/health"},
	} {
		b.Run(pg.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, pg.path, nil)
			req.Header.Set("Authorization", "Bearer bench")
			warm := httptest.NewRecorder()
			pg.h.ServeHTTP(warm, req) // warm the cache
			if warm.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", pg.path, warm.Code, warm.Body.String())
			}
			size := warm.Body.Len()
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				pg.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", pg.path, rec.Code)
				}
				_, _ = io.Copy(io.Discard, rec.Body)
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}
