//go:build !windows

package loadgen_test

import (
	"context"
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
		// Warm the cache and the connections.
		warm := cfg
		warm.Requests = 1000
		if res, err := loadgen.Run(context.Background(), warm); err != nil || res.Status(http.StatusOK) != 1000 {
			b.Fatalf("warm-up of %s: %v\n%s", route.path, err, res.String())
		}
		b.Run(route.name, func(b *testing.B) {
			cfg := cfg
			cfg.Requests = b.N
			b.ResetTimer()
			res, err := loadgen.Run(context.Background(), cfg)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.Status(http.StatusOK) != int64(b.N) {
				b.Fatalf("%d of %d requests answered 200\n%s", res.Status(http.StatusOK), b.N, res.String())
			}
			b.ReportMetric(res.Rate, "req/s")
			b.ReportMetric(float64(res.Latency.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.Latency.P99.Microseconds())/1000, "p99-ms")
		})
	}
}
