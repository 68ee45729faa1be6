package analytics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// Cache stores encoded analytics results. Implementations must be safe for
// concurrent use. A miss is found=false with a nil error; errors are for a
// cache that cannot answer (the Service then computes the value and logs
// the error). Clear removes every entry the cache holds, so give the
// Service a cache (or a namespace of one) of its own.
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, found bool, err error)
	// Set stores val under key for ttl (ttl > 0).
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Clear(ctx context.Context) error
}

// MemoryCache is the default Cache: an in-process go-cache. Expired
// entries are dropped lazily (on access and every few hundred writes), so
// it starts no goroutine.
type MemoryCache struct {
	c    *gocache.Cache
	sets atomic.Uint64
}

// NewMemoryCache returns an empty in-process cache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{c: gocache.New(gocache.NoExpiration, 0)}
}

// Get implements Cache.
func (m *MemoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := m.c.Get(key)
	if !ok {
		return nil, false, nil
	}
	b, _ := v.([]byte)
	return b, true, nil
}

// Set implements Cache.
func (m *MemoryCache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	m.c.Set(key, val, ttl)
	if m.sets.Add(1)%256 == 0 {
		m.c.DeleteExpired()
	}
	return nil
}

// Delete implements Cache.
func (m *MemoryCache) Delete(_ context.Context, key string) error {
	m.c.Delete(key)
	return nil
}

// Clear implements Cache.
func (m *MemoryCache) Clear(context.Context) error {
	m.c.Flush()
	return nil
}

// Len returns the number of entries held (expired ones included until
// they are dropped).
func (m *MemoryCache) Len() int { return m.c.ItemCount() }

// Cache TTLs of the cached routes.
const (
	ttlMetrics           = 15 * time.Minute
	ttlTrends            = 15 * time.Minute
	ttlCategories        = 15 * time.Minute
	ttlRecentActivity    = 5 * time.Minute
	ttlClientPerformance = 15 * time.Minute
	ttlBusinessImpact    = 15 * time.Minute
	ttlCostInsights      = 15 * time.Minute
	ttlSystemHealth      = 5 * time.Minute
	cacheKeyPrefix       = "analytics:"
	invalidateChannel    = "analytics_cache"
	cacheComputeTimeout  = time.Minute
)

// cacheState tracks the invalidation generation so that a value computed
// before an invalidation is never stored after it.
type cacheState struct {
	gen atomic.Uint64
	mu  sync.Mutex // serialises Clear with generation bumps
}

// costInsightsKeysMax is how many distinct cost-insights filters are
// cached at once. Results of further filters are computed (once for
// concurrent callers) but not stored until entries expire, so callers
// cannot grow the cache without bound.
const costInsightsKeysMax = 1000

// keyBudget admits at most max distinct keys per TTL window.
type keyBudget struct {
	mu   sync.Mutex
	max  int
	ttl  time.Duration
	keys map[string]time.Time // key → when its entry expires
}

// admit reports whether key may be stored now and records it.
func (b *keyBudget) admit(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.keys == nil {
		b.keys = make(map[string]time.Time)
	}
	if _, ok := b.keys[key]; !ok && len(b.keys) >= b.max {
		for k, exp := range b.keys {
			if !exp.After(now) {
				delete(b.keys, k)
			}
		}
		if len(b.keys) >= b.max {
			return false
		}
	}
	b.keys[key] = now.Add(b.ttl)
	return true
}

// reset forgets every key (the cache was cleared).
func (b *keyBudget) reset() {
	b.mu.Lock()
	b.keys = nil
	b.mu.Unlock()
}

// CacheStats counts the lookups of the cached routes since the Service was
// created.
type CacheStats struct {
	// Hits counts values answered from the cache.
	Hits uint64
	// Misses counts values that had to be computed (or were being computed
	// for a concurrent caller).
	Misses uint64
}

// CacheStats returns the cache lookup counters.
func (s *Service) CacheStats() CacheStats {
	return CacheStats{Hits: s.cacheHits.Load(), Misses: s.cacheMisses.Load()}
}
