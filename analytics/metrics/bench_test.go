package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advisoranalytics/advisor-analytics/analytics/metrics"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/benchhttp"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
)

// BenchmarkCachedMetricsMiddleware measures the cached metrics route in
// process (mux, identity, cache hit, response; no network) without and
// with the request metrics middleware.
//
//	go test -run '^$' -bench CachedMetricsMiddleware -benchtime 2s -count 5 ./analytics/metrics
func BenchmarkCachedMetricsMiddleware(b *testing.B) {
	st := teststore.SQLite(b)
	svc := newServiceB(b, st)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/analytics/", svc.HandlerWithPrefix("/api/v1/analytics"))
	h := metrics.NewHTTP(metrics.HTTPConfig{})
	prometheus.NewRegistry().MustRegister(h)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"off", mux}, {"on", h.Middleware(mux)}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/analytics/metrics/", nil)
			req.Header.Set("Authorization", "Bearer tok-admin")
			benchhttp.Parallel(b, c.h, req)
		})
	}
}

// BenchmarkMiddlewareOverhead measures the middleware alone around a mux
// whose handler only writes a status: the cost it adds to every request.
//
//	go test -run '^$' -bench MiddlewareOverhead -count 3 ./analytics/metrics
func BenchmarkMiddlewareOverhead(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := metrics.NewHTTP(metrics.HTTPConfig{})
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"off", mux}, {"on", h.Middleware(mux)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := httptest.NewRecorder()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
