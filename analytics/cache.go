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
	TTLMetrics           = 15 * time.Minute
	TTLTrends            = 15 * time.Minute
	TTLCategories        = 15 * time.Minute
	TTLRecentActivity    = 5 * time.Minute
	TTLClientPerformance = 15 * time.Minute
	TTLBusinessImpact    = 15 * time.Minute
	TTLCostInsights      = 15 * time.Minute
	TTLSystemHealth      = 5 * time.Minute
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
