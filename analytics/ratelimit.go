package analytics

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a budget: Requests per Per.
type Limit struct {
	Requests int
	Per      time.Duration
}

// RateResult is a RateLimiter's answer.
type RateResult struct {
	// Allowed reports whether the request may go ahead.
	Allowed bool
	// Remaining is the number of requests left in the budget.
	Remaining int
	// Reset is how long until the budget is whole again.
	Reset time.Duration
	// RetryAfter, when the request is refused, is how long until one
	// request is allowed again.
	RetryAfter time.Duration
}

// RateLimiter keeps request budgets by key. The Service asks it about
// "user:<principal id>" keys (the API budget of each user) and
// "auth:<client address>" keys (failed authentications). The default,
// NewMemoryRateLimiter, keeps them in the process: behind a load balancer
// each replica counts its own requests, so a client may reach up to N
// times the limit over N replicas. A host needing one budget across
// replicas plugs in its own, backed by a shared store. Implementations
// must be safe for concurrent use.
type RateLimiter interface {
	// Take spends one request of key's budget and reports whether it was
	// allowed and what is left.
	Take(ctx context.Context, key string, l Limit) (RateResult, error)
	// Peek reports whether one request of key's budget would be allowed,
	// without spending it.
	Peek(ctx context.Context, key string, l Limit) (RateResult, error)
}

// memoryRateLimiter is the in-process RateLimiter: a token bucket per key
// (golang.org/x/time/rate) holding Requests tokens, refilled evenly over
// Per. Buckets that are full again are forgotten, so memory follows the
// number of recently active keys; beyond maxKeys, arbitrary keys are
// forgotten (their budget starts afresh).
type memoryRateLimiter struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	now       func() time.Time
	maxKeys   int
	lastSweep time.Time
}

type bucket struct {
	lim   *rate.Limiter
	limit Limit
}

// memoryRateLimiterMaxKeys bounds the keys a memoryRateLimiter holds.
const memoryRateLimiterMaxKeys = 100000

// NewMemoryRateLimiter returns an empty in-process RateLimiter.
func NewMemoryRateLimiter() RateLimiter {
	return &memoryRateLimiter{buckets: map[string]*bucket{}, now: time.Now, maxKeys: memoryRateLimiterMaxKeys}
}

// Take implements RateLimiter.
func (m *memoryRateLimiter) Take(_ context.Context, key string, l Limit) (RateResult, error) {
	return m.do(key, l, true), nil
}

// Peek implements RateLimiter.
func (m *memoryRateLimiter) Peek(_ context.Context, key string, l Limit) (RateResult, error) {
	return m.do(key, l, false), nil
}

func (m *memoryRateLimiter) do(key string, l Limit, take bool) RateResult {
	if l.Requests <= 0 || l.Per <= 0 {
		return RateResult{Allowed: true, Remaining: math.MaxInt32}
	}
	now := m.now()
	interval := l.Per / time.Duration(l.Requests)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	if b == nil || b.limit != l {
		if !take {
			// A key never seen has its whole budget.
			return RateResult{Allowed: true, Remaining: l.Requests}
		}
		m.sweep(now)
		b = &bucket{lim: rate.NewLimiter(rate.Every(interval), l.Requests), limit: l}
		m.buckets[key] = b
	}
	allowed := true
	if take {
		allowed = b.lim.AllowN(now, 1)
	}
	tokens := b.lim.TokensAt(now)
	res := RateResult{Allowed: allowed && tokens >= 0, Remaining: max(0, int(math.Floor(tokens)))}
	if !take {
		res.Allowed = tokens >= 1
	}
	res.Reset = time.Duration((float64(l.Requests) - tokens) * float64(interval))
	if !res.Allowed {
		res.RetryAfter = time.Duration((1 - tokens) * float64(interval))
	}
	return res
}

// sweep forgets, at most once a minute, the buckets that are full again
// (they are the same as a new one), then arbitrary ones over maxKeys.
func (m *memoryRateLimiter) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute && len(m.buckets) < m.maxKeys {
		return
	}
	m.lastSweep = now
	for k, b := range m.buckets {
		if b.lim.TokensAt(now) >= float64(b.limit.Requests) {
			delete(m.buckets, k)
		}
	}
	for k := range m.buckets {
		if len(m.buckets) < m.maxKeys {
			break
		}
		delete(m.buckets, k)
	}
}
