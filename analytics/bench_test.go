package analytics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkCachedMetrics measures a cached route through the handler
// (identity, routing, cache hit, response), without the network.
func BenchmarkCachedMetrics(b *testing.B) {
	st := openSQLiteF(b)
	svc, err := New(st, Config{IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler()
	req := httptest.NewRequest(http.MethodGet, "/metrics/", nil)
	req.Header.Set("Authorization", "Bearer bob")
	h.ServeHTTP(httptest.NewRecorder(), req) // warm the cache
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
