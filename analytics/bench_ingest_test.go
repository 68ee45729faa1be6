package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// BenchmarkIngestReportsHTTP writes reports of 10 recommendations each
// over HTTP (a loopback httptest server with the Middleware and the
// Handler): one POST ingest/reports/ per report (the baseline) against one
// POST ingest/reports/batch/ per 1,000 reports. It reports reports/s of
// the posts alone (the client builds and encodes the bodies untimed). On
// SQLite, or on PostgreSQL when ANALYTICS_BENCH_POSTGRES is set:
//
//	go test ./analytics -run XXX -bench IngestReportsHTTP -benchtime 3x
func BenchmarkIngestReportsHTTP(b *testing.B) {
	const perBatch, recs = 1000, 10
	st := benchIngestStore(b)
	ctx := context.Background()
	client := store.Client{ID: client1, CompanyName: "Contoso", Industry: store.IndustryTechnology, Status: store.ClientActive}
	if err := st.ClientUpsert(ctx, &client); err != nil {
		b.Fatal(err)
	}
	srv := benchIngestServer(b, st)

	next := 0
	report := func() ReportInput {
		next++
		in := ReportInput{ID: fmt.Sprintf("33333333-0000-4000-8000-%012d", next), ClientID: client1, ReportType: "cost",
			Status: "completed", Recommendations: make([]RecommendationInput, recs)}
		cats := []string{"cost", "security", "reliability", "operational_excellence", "performance"}
		for j := range in.Recommendations {
			in.Recommendations[j] = RecommendationInput{Category: cats[j%len(cats)], BusinessImpact: "High",
				Recommendation: "Right-size or shutdown underutilized virtual machines", SubscriptionID: "sub-1",
				ResourceGroup: "rg-prod", ResourceName: fmt.Sprintf("vm-%d", j), ResourceType: "Microsoft.Compute/virtualMachines",
				PotentialSavings: float64(j) * 12.5, Currency: "USD"}
		}
		return in
	}
	marshal := func(v any) []byte {
		body, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	// run times the posts of the bodies each iteration builds; building and
	// encoding them is the client's work and left out, as in
	// BenchmarkIngestActivitiesHTTP.
	run := func(name, path string, bodies func() [][]byte) {
		b.Run(name, func(b *testing.B) {
			var spent time.Duration
			for b.Loop() {
				b.StopTimer()
				posts := bodies()
				b.StartTimer()
				start := time.Now()
				for _, body := range posts {
					postCreated(b, srv, "carol", path, body)
				}
				spent += time.Since(start)
			}
			b.ReportMetric(float64(b.N*perBatch)/spent.Seconds(), "reports/s")
		})
	}
	run("single", "ingest/reports/", func() [][]byte {
		posts := make([][]byte, perBatch)
		for i := range posts {
			posts[i] = marshal(report())
		}
		return posts
	})
	run("batch", "ingest/reports/batch/", func() [][]byte {
		in := IngestReportsInput{Reports: make([]ReportInput, perBatch)}
		for i := range in.Reports {
			in.Reports[i] = report()
		}
		return [][]byte{marshal(in)}
	})
}

// BenchmarkIngestActivitiesHTTP writes batches of 10,000 activities over
// HTTP (a loopback httptest server with the Middleware and the Handler),
// one POST ingest/activities/ per batch, and reports events/s. On SQLite,
// or on PostgreSQL when ANALYTICS_BENCH_POSTGRES is set:
//
//	go test ./analytics -run XXX -bench IngestActivitiesHTTP -benchtime 5x
func BenchmarkIngestActivitiesHTTP(b *testing.B) {
	srv := benchIngestServer(b, benchIngestStore(b))
	batches := activityBatches(b)
	b.ResetTimer()
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		body := batches()
		b.StartTimer()
		began := time.Now()
		if err := post(srv, "dave", "ingest/activities/", body); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(began)
	}
	b.ReportMetric(float64(b.N*MaxIngestActivities)/spent.Seconds(), "events/s")
}

// BenchmarkIngestActivitiesHTTPParallel is BenchmarkIngestActivitiesHTTP
// with several clients posting at once (ANALYTICS_BENCH_CLIENTS, default
// 2), as producers that each send their own batches do. Every body is
// encoded before the clock starts, each going on in time from the one
// before as in BenchmarkIngestActivitiesHTTP (about 3.6 MB a body held in
// memory; the same bodies posted again would land among rows already
// written, which a backfill does not do); it reports events/s over the
// wall time of all the posts.
//
//	ANALYTICS_BENCH_POSTGRES=1 go test ./analytics -run XXX -bench IngestActivitiesHTTPParallel -benchtime 40x
func BenchmarkIngestActivitiesHTTPParallel(b *testing.B) {
	clients := 2
	if v := os.Getenv("ANALYTICS_BENCH_CLIENTS"); v != "" {
		var err error
		if clients, err = strconv.Atoi(v); err != nil || clients < 1 {
			b.Fatalf("ANALYTICS_BENCH_CLIENTS=%q: want a positive number", v)
		}
	}
	srv := benchIngestServer(b, benchIngestStore(b))
	batches := activityBatches(b)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = batches()
	}
	var taken atomic.Int64
	errs := make(chan error, clients)
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := taken.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := post(srv, "dave", "ingest/activities/", bodies[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	spent := time.Since(began)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*MaxIngestActivities)/spent.Seconds(), "events/s")
}

// activityBatches returns a function that encodes the next body of
// MaxIngestActivities activities of 500 users, a second apart, each body
// going on in time from the one before.
func activityBatches(b *testing.B) func() []byte {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := 0
	return func() []byte {
		in := IngestActivitiesInput{Activities: make([]ActivityRecord, MaxIngestActivities)}
		for i := range in.Activities {
			next++
			at := start.Add(time.Duration(next) * time.Second)
			in.Activities[i] = ActivityRecord{
				User:         UserInput{ID: fmt.Sprint(next%500 + 1), Username: fmt.Sprintf("user%d", next%500), Email: fmt.Sprintf("user%d@example.com", next%500)},
				ActivityType: []string{"login", "report_view", "api_call", "report_download"}[next%4],
				Description:  "Viewed the cost report", IPAddress: "10.0.0.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
				Method: "GET", Path: "/api/reports/42/", StatusCode: 200, DurationMS: 12.5,
				Metadata: map[string]any{"report_type": "cost", "page": next % 7}, CreatedAt: &at,
			}
		}
		body, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
}

// benchIngestStore opens the store of the ingest benchmarks: SQLite, or
// PostgreSQL when ANALYTICS_BENCH_POSTGRES is set.
func benchIngestStore(b *testing.B) store.Store {
	if os.Getenv("ANALYTICS_BENCH_POSTGRES") != "" {
		return openPostgresURL(b, testdb.PostgresURL(b))
	}
	return openSQLiteF(b)
}

// benchIngestServer serves a started Service over st on loopback, with the
// Middleware and the Handler, until the benchmark ends.
func benchIngestServer(b *testing.B, st store.Store) *httptest.Server {
	ctx := context.Background()
	svc, err := New(st, Config{IdentifyFunc: identify, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close(ctx) })
	mux := http.NewServeMux()
	mux.Handle(basePath+"/", http.StripPrefix(basePath, svc.Handler()))
	srv := httptest.NewServer(svc.Middleware()(mux))
	b.Cleanup(srv.Close)
	return srv
}

// postCreated posts a JSON body to the API path as the token's principal
// and fails the benchmark unless the answer is 201.
func postCreated(b *testing.B, srv *httptest.Server, token, path string, body []byte) {
	if err := post(srv, token, path, body); err != nil {
		b.Fatal(err)
	}
}

// post posts a JSON body to the API path as the token's principal; an
// answer other than 201 is an error.
func post(srv *httptest.Server, token, path string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, srv.URL+basePath+"/"+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %d %.300s", path, res.StatusCode, out)
	}
	return nil
}
