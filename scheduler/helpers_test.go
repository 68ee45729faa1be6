package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// storeCase opens one kind of real store for a test.
// eachStore runs fn as a subtest on every driver.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, sc := range teststore.Drivers {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, sc.Open(t))
		})
	}
}

// fakeAnalytics stands in for the analytics service.
type fakeAnalytics struct {
	mu        sync.Mutex
	refreshes int
	samples   int
	// sampleErrs are returned by successive HealthSample calls (nil or
	// past the end: success).
	sampleErrs []error
	refreshErr error
	// block, when set, makes HealthSample wait for it (or ctx) after
	// signalling entered.
	block   chan struct{}
	entered chan struct{}
}

func (f *fakeAnalytics) RefreshCache(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	return f.refreshErr
}

func (f *fakeAnalytics) HealthSample(ctx context.Context) (*store.HealthSample, error) {
	f.mu.Lock()
	n := f.samples
	f.samples++
	var err error
	if n < len(f.sampleErrs) {
		err = f.sampleErrs[n]
	}
	block, entered := f.block, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	return &store.HealthSample{Status: "healthy", Data: map[string]any{"call": float64(n)}}, nil
}

func (f *fakeAnalytics) counts() (refreshes, samples int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes, f.samples
}

var errBoom = errors.New("boom")

// fixedNow returns a NowFunc stuck at t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load location %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptime(s string) *time.Time { t := utc(s); return &t }

func pint(n int64) *int64 { return &n }

func newScheduler(t testing.TB, st store.Store, cfg Config) *Scheduler {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	s, err := New(st, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
