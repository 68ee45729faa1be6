package tracking

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHTTPStats(t *testing.T) {
	t0 := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	var s HTTPStats
	if got := s.Snapshot(t0); got != (HTTPFigures{}) {
		t.Errorf("empty snapshot = %+v", got)
	}
	s.Observe(t0, 200, 10*time.Millisecond)
	s.Observe(t0.Add(-23*time.Hour), 503, 30*time.Millisecond) // oldest hour still in the window
	s.Observe(t0.Add(-24*time.Hour), 500, time.Second)         // outside the window: ignored
	s.Observe(t0, 404, 20*time.Millisecond)                    // 4xx is not an error here
	s.Observe(t0.Add(-48*time.Hour), 500, time.Second)         // very late: ignored
	want := HTTPFigures{Requests: 3, ErrorRatePercent: float64(1) / 3 * 100, AvgLatencyMS: 20}
	if diff := cmp.Diff(want, s.Snapshot(t0)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	// An hour later the oldest hour has left the window.
	want = HTTPFigures{Requests: 2, AvgLatencyMS: 15}
	if diff := cmp.Diff(want, s.Snapshot(t0.Add(time.Hour))); diff != "" {
		t.Errorf("snapshot an hour later (-want +got):\n%s", diff)
	}
	// A day later the bucket of t0 is reused from zero.
	s.Observe(t0.Add(24*time.Hour), 500, 50*time.Millisecond)
	want = HTTPFigures{Requests: 1, ErrorRatePercent: 100, AvgLatencyMS: 50}
	if diff := cmp.Diff(want, s.Snapshot(t0.Add(24*time.Hour))); diff != "" {
		t.Errorf("snapshot a day later (-want +got):\n%s", diff)
	}
}

func TestHTTPStatsConcurrent(t *testing.T) {
	var s HTTPStats
	t0 := time.Date(2025, 1, 15, 10, 59, 59, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				now := t0.Add(time.Duration((g*1000+i)%3) * time.Second) // straddles the hour
				s.Observe(now, 200+300*(i%2), time.Millisecond)
			}
		})
	}
	wg.Wait()
	got := s.Snapshot(t0.Add(time.Hour))
	want := HTTPFigures{Requests: 8000, ErrorRatePercent: 50, AvgLatencyMS: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if n := testing.AllocsPerRun(100, func() { s.Observe(t0, 200, time.Millisecond) }); n != 0 {
		t.Errorf("Observe allocates %v times", n)
	}
}
