//go:build !windows

package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
)

// BenchmarkAnalyticsdLoopback measures the reference server as a separate
// process on the demo data, over loopback with 64 keep-alive connections:
// /healthz (the cheapest route: the ceiling of the HTTP stack here) and the
// cached metrics route (bearer authentication, request log, API handler).
// Client and server share the machine's cores. It reports requests per
// second and latency percentiles; ns/op is the inverse of the throughput.
//
//	go test -run '^$' -bench AnalyticsdLoopback -benchtime 200000x ./internal/loadgen
func BenchmarkAnalyticsdLoopback(b *testing.B) {
	srv := startServer(b, filepath.Join(b.TempDir(), "analytics.db"), "-demo")
	auth := http.Header{"Authorization": {"Bearer " + loadToken}}
	for _, route := range []struct {
		name, path string
	}{
		{"healthz", "/healthz"},
		{"metrics", "/api/v1/analytics/metrics/"},
	} {
		cfg := loadgen.Config{URL: srv.url + route.path, Header: auth, Concurrency: 64}
		b.Run(route.name, func(b *testing.B) { runLoad(b, cfg, 1000, http.StatusOK) })
	}
}

// runLoad sends warm requests of cfg (the cache and the connections), then
// b.N timed ones, each of which must answer want, and reports the rate and
// latency percentiles.
func runLoad(b *testing.B, cfg loadgen.Config, warm int, want int) {
	b.Helper()
	w := cfg
	w.Requests = warm
	if res, err := loadgen.Run(context.Background(), w); err != nil || res.Status(want) != int64(warm) {
		b.Fatalf("warm-up of %s: %v\n%s", cfg.URL, err, res.String())
	}
	cfg.Requests = b.N
	b.ResetTimer()
	res, err := loadgen.Run(context.Background(), cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Status(want) != int64(b.N) {
		b.Fatalf("%d of %d requests answered %d\n%s", res.Status(want), b.N, want, res.String())
	}
	b.ReportMetric(res.Rate, "req/s")
	b.ReportMetric(float64(res.Latency.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.Latency.P99.Microseconds())/1000, "p99-ms")
}

// BenchmarkActivities202 measures the latency of POST activities/ with 16
// clients: with the spool (a 202 once the event is fsynced to it), without
// it (a 202 once the database committed the event), and /healthz on the same
// server as the floor of the HTTP path.
//
//	go test -run '^$' -bench Activities202 -benchtime 20000x ./internal/loadgen
func BenchmarkActivities202(b *testing.B) {
	auth := http.Header{"Authorization": {"Bearer " + loadToken}, "Content-Type": {"application/json"}}
	body := func(i int) []byte {
		return fmt.Appendf(nil, `{"activity_type":"report_view","description":"bench %d","metadata":{"i":%d}}`, i, i)
	}
	for _, tc := range []struct {
		name, path, method string
		want               int
		extra              []string
	}{
		{"healthz", "/healthz", "GET", http.StatusOK, nil},
		{"spool", "/api/v1/analytics/activities/", "POST", http.StatusAccepted, nil},
		{"spool-off", "/api/v1/analytics/activities/", "POST", http.StatusAccepted, []string{"-spool-dir", "off"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := startServer(b, filepath.Join(b.TempDir(), "analytics.db"), tc.extra...)
			cfg := loadgen.Config{URL: srv.url + tc.path, Method: tc.method, Header: auth, Concurrency: 16}
			if tc.method == "POST" {
				cfg.Body = body
			}
			runLoad(b, cfg, 500, tc.want)
		})
	}
}
