package analytics

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// countingStore counts aggregate calls and can hold them until released.
type countingStore struct {
	store.Store
	categories atomic.Int64
	costs      atomic.Int64
	release    chan struct{} // nil: answer at once
	cats       []store.CountByKey
}

func (c *countingStore) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	c.categories.Add(1)
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.cats, nil
}

// ActivityInsertMany takes the audit-trail entry of an invalidation.
func (c *countingStore) ActivityInsertMany(context.Context, []store.Activity) error { return nil }

func (c *countingStore) CostFigures(context.Context, store.CostParams) (*store.CostFigures, error) {
	c.costs.Add(1)
	return &store.CostFigures{}, nil
}

func TestSingleflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &countingStore{release: make(chan struct{}), cats: []store.CountByKey{{Key: "cost", Count: 3}, {Key: "security", Count: 1}}}
		svc, err := New(cs, Config{Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		const callers = 20
		var wg sync.WaitGroup
		results := make([]*Categories, callers)
		for i := range callers {
			wg.Go(func() {
				c, err := svc.Categories(context.Background(), bob)
				if err != nil {
					t.Error(err)
				}
				results[i] = c
			})
		}
		synctest.Wait() // every caller is blocked: one in the store, the rest in singleflight
		if n := cs.categories.Load(); n != 1 {
			t.Fatalf("%d concurrent misses reached the store %d times, want 1", callers, n)
		}
		close(cs.release)
		wg.Wait()
		for i, r := range results {
			if r == nil || r.Total != 4 || len(r.Categories) != 2 || r.Categories[0].Percentage != 75 {
				t.Fatalf("caller %d got %+v", i, r)
			}
		}
		if _, err := svc.Categories(context.Background(), bob); err != nil {
			t.Fatal(err)
		}
		if n := cs.categories.Load(); n != 1 {
			t.Errorf("a cached value was recomputed: %d store calls", n)
		}
		// Another cache entry expires after its TTL (fake clock of the bubble).
		time.Sleep(ttlCategories + time.Second)
		if _, err := svc.Categories(context.Background(), bob); err != nil {
			t.Fatal(err)
		}
		if n := cs.categories.Load(); n != 2 {
			t.Errorf("after the TTL: %d store calls, want 2", n)
		}
	})
}

func TestCachedEmptyResultIsHit(t *testing.T) {
	cs := &countingStore{}
	svc, err := New(cs, Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := svc.Categories(t.Context(), bob)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != 0 || c.Categories == nil || len(c.Categories) != 0 {
			t.Fatalf("empty categories = %+v", c)
		}
	}
	if n := cs.categories.Load(); n != 1 {
		t.Errorf("empty result computed %d times, want 1", n)
	}
	if _, err := svc.InvalidateCache(t.Context(), carol); err != ErrForbidden {
		t.Errorf("manager invalidation: %v, want ErrForbidden", err)
	}
	if _, err := svc.InvalidateCache(t.Context(), erin); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Categories(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if n := cs.categories.Load(); n != 2 {
		t.Errorf("after invalidation: %d computations, want 2", n)
	}
}

func TestCostInsightsKeyIsNormalised(t *testing.T) {
	cs := &countingStore{}
	svc, err := New(cs, Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	from := tp("2025-01-01T00:00:00Z")
	same := []CostQuery{
		{From: from, Types: []store.ReportType{"cost", "security"}},
		{From: from.In(time.FixedZone("x", 3600)), Types: []store.ReportType{"security", "cost", "COST", " cost "}},
		{From: from.Add(100 * time.Nanosecond), Types: []store.ReportType{"security", "cost"}},
	}
	for _, q := range same {
		if _, err := svc.CostInsights(t.Context(), bob, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.costs.Load(); n != 1 {
		t.Errorf("equivalent filters computed %d times, want 1", n)
	}
	all := CostQuery{Types: store.ReportTypes}
	none := CostQuery{}
	for _, q := range []CostQuery{all, none} {
		if _, err := svc.CostInsights(t.Context(), bob, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.costs.Load(); n != 2 {
		t.Errorf("every type and no filter: %d computations, want 2 in all", n)
	}
	if _, err := svc.CostInsights(t.Context(), bob, CostQuery{Types: []store.ReportType{"weekly"}}); err == nil {
		t.Error("unknown type accepted")
	}
}

// TestInvalidationReachesEveryReplica runs two Services on one PostgreSQL
// schema: invalidating on one clears the other's cache.
func TestInvalidationReachesEveryReplica(t *testing.T) {
	url := testdb.PostgresURL(t)
	st1, st2 := openPostgresURL(t, url), openPostgresURL(t, url)
	seed(t, st1)
	e1, e2 := newEnv(t, st1, nil), newEnv(t, st2, nil)
	ctx := t.Context()
	m1, err := e1.svc.Metrics(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.svc.Metrics(ctx, bob); err != nil {
		t.Fatal(err)
	}
	// A write behind the Services' back: both caches are now stale.
	r := store.Report{ID: store.NewID(), ClientID: client1, ReportType: store.ReportCost, CreatedAt: tp("2025-06-15T11:00:00Z")}
	if err := st1.ReportUpsert(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if m, _ := e2.svc.Metrics(ctx, bob); m.TotalReports != m1.TotalReports {
		t.Fatalf("replica 2 not served from its cache: %d reports", m.TotalReports)
	}
	if res := e1.do(t, "POST", "cache/invalidate/", "dave", nil); res.status != 200 || string(res.body) != `{"message":"Analytics cache invalidated successfully"}`+"\n" {
		t.Fatalf("invalidate: %d %s", res.status, res.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e2.svc.Metrics(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		if m.TotalReports == m1.TotalReports+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica 2 still serves %d reports 10s after the invalidation", m.TotalReports)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRefreshCacheWarms(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	mc := NewMemoryCache()
	e := newEnv(t, st, func(c *Config) { c.Cache = mc })
	if err := e.svc.RefreshCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"metrics", "trends:30", "categories", "recent-activity:10", "business-impact", "client-performance:", "cost-insights:-:-:", "system-health"} {
		if _, ok, _ := mc.Get(t.Context(), cacheKeyPrefix+k); !ok {
			t.Errorf("%s not warmed", k)
		}
	}
	hs, err := e.svc.HealthSample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if hs.Status != statusHealthy || hs.Data["total_reports"] != float64(5) || !hs.TakenAt.Equal(fixedNow) {
		t.Errorf("health sample %+v", hs)
	}
}

// TestRefreshCacheSurvivesItsOwnNotification checks on PostgreSQL that the
// Service ignores its own invalidation message, which arrives after the
// refresh has warmed the cache again.
func TestRefreshCacheSurvivesItsOwnNotification(t *testing.T) {
	url := testdb.PostgresURL(t)
	st := openPostgresURL(t, url)
	seed(t, st)
	mc := NewMemoryCache()
	seen := make(chan string, 16)
	cfg := Config{Cache: mc, IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger()}
	svc, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.invalidated = func(p string) { seen <- p }
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	if err := svc.RefreshCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Messages arrive in order: once the sentinel is seen, the refresh's
	// own message has been handled too.
	if err := st.(store.Broadcaster).Publish(t.Context(), invalidateChannel, svc.instance); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 2; n++ {
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 2 invalidation messages received", n)
		}
	}
	if _, ok, _ := mc.Get(t.Context(), cacheKeyPrefix+"metrics"); !ok {
		t.Error("the refresh's own notification cleared the warmed cache")
	}
}

func TestCostInsightsKeySpaceIsBounded(t *testing.T) {
	cs := &countingStore{}
	svc, err := New(cs, Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	svc.costKeys.max = 3
	from := tp("2025-01-01T00:00:00Z")
	for i := range 5 {
		if _, err := svc.CostInsights(t.Context(), bob, CostQuery{From: from.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	mc := svc.cache.(*MemoryCache)
	if n := mc.Len(); n != 3 {
		t.Errorf("%d cost-insights entries cached, want the budget of 3", n)
	}
	// An admitted key is still served from the cache.
	before := cs.costs.Load()
	if _, err := svc.CostInsights(t.Context(), bob, CostQuery{From: from}); err != nil {
		t.Fatal(err)
	}
	if cs.costs.Load() != before {
		t.Error("an admitted filter was recomputed")
	}
	// Invalidation frees the budget.
	if _, err := svc.InvalidateCache(t.Context(), dave); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CostInsights(t.Context(), bob, CostQuery{From: from.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n := mc.Len(); n != 1 {
		t.Errorf("after invalidation %d entries, want 1", n)
	}
}

// TestInvalidationDuringLoad checks that a value computed across an
// invalidation is returned but not stored, and that callers arriving after
// the invalidation do not join the stale load.
func TestInvalidationDuringLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &countingStore{release: make(chan struct{}), cats: []store.CountByKey{{Key: "cost", Count: 1}}}
		svc, err := New(cs, Config{Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := svc.Categories(context.Background(), bob); err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait() // the first load is in the store
		if _, err := svc.InvalidateCache(context.Background(), dave); err != nil {
			t.Fatal(err)
		}
		second := make(chan struct{})
		go func() {
			defer close(second)
			if _, err := svc.Categories(context.Background(), bob); err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait()
		if n := cs.categories.Load(); n != 2 {
			t.Errorf("a caller after the invalidation joined the stale load: %d loads, want 2", n)
		}
		close(cs.release)
		<-done
		<-second
		if _, err := svc.Categories(context.Background(), bob); err != nil {
			t.Fatal(err)
		}
		if n := cs.categories.Load(); n != 2 {
			t.Errorf("the fresh load was not cached: %d loads, want 2", n)
		}
	})
}
