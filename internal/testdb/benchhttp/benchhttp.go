// Package benchhttp holds what the HTTP benchmarks share.
package benchhttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Parallel serves req through h once to warm any cache, then from every
// benchmark goroutine until b.N requests, failing b on a status other than
// 200, and reports req/s and allocations.
func Parallel(b *testing.B, h http.Handler, req *http.Request) {
	b.Helper()
	h.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
