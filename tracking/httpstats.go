package tracking

import (
	"sync"
	"sync/atomic"
	"time"
)

// statsBuckets is the number of hourly buckets HTTPStats keeps: one day.
const statsBuckets = 24

// HTTPStats counts requests, 5xx responses and latency in hourly buckets
// covering the last 24 hours. Observe costs a few atomic additions, cheap
// enough for every request. The zero value is ready to use and it is safe
// for concurrent use.
type HTTPStats struct {
	mu      sync.Mutex // taken only when a bucket rolls over to a new hour
	buckets [statsBuckets]statsBucket
}

type statsBucket struct {
	hour     atomic.Int64 // Unix hour + 1 the counters belong to (0 = unused)
	requests atomic.Int64
	errors   atomic.Int64
	latency  atomic.Int64 // nanoseconds
}

// HTTPFigures are the HTTP figures of the last 24 hours.
type HTTPFigures struct {
	// Requests is the number of requests observed.
	Requests int64 `json:"requests"`
	// ErrorRatePercent is the share of 5xx responses, 0–100 (0 without
	// requests), unrounded.
	ErrorRatePercent float64 `json:"error_rate_percent"`
	// AvgLatencyMS is the mean request duration in milliseconds, unrounded.
	AvgLatencyMS float64 `json:"avg_latency_ms"`
}

// Observe counts one request that ended at now with status after d.
func (s *HTTPStats) Observe(now time.Time, status int, d time.Duration) {
	h := now.Unix()/3600 + 1
	b := &s.buckets[h%statsBuckets]
	if b.hour.Load() != h && !s.rollover(b, h) {
		return // older than the window the bucket now covers
	}
	b.requests.Add(1)
	if status >= 500 && status <= 599 {
		b.errors.Add(1)
	}
	b.latency.Add(int64(d))
}

// rollover moves b on to hour h, and reports false when b already holds a
// later hour (an observation more than a day late).
func (s *HTTPStats) rollover(b *statsBucket, h int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := b.hour.Load(); cur >= h {
		return cur == h // another goroutine moved it on already
	}
	b.requests.Store(0)
	b.errors.Store(0)
	b.latency.Store(0)
	b.hour.Store(h) // last: observers that see h add to zeroed counters
	return true
}

// Snapshot returns the figures of the 24 hours up to now (the current hour
// and the 23 before it).
func (s *HTTPStats) Snapshot(now time.Time) HTTPFigures {
	h := now.Unix()/3600 + 1
	var req, errs, lat int64
	for i := range s.buckets {
		b := &s.buckets[i]
		bh := b.hour.Load()
		if bh == 0 || bh > h || bh <= h-statsBuckets {
			continue
		}
		req += b.requests.Load()
		errs += b.errors.Load()
		lat += b.latency.Load()
	}
	f := HTTPFigures{Requests: req}
	if req > 0 {
		f.ErrorRatePercent = float64(errs) / float64(req) * 100
		f.AvgLatencyMS = float64(lat) / float64(req) / float64(time.Millisecond)
	}
	return f
}
