// Package analytics is the facade of Advisor Analytics: a Service that
// answers the usage and cost analytics of an Azure Advisor reports platform
// (and records its activity audit trail), and the JSON API over it.
//
// A host builds one Service over a store (store/sqlite or store/postgres),
// starts it, mounts its Handler and wraps its own mux in Middleware:
//
//	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: identify})
//	...
//	svc.Start(ctx)
//	defer svc.Close(shutdownCtx)
//	mux.Handle("/api/v1/analytics/", http.StripPrefix("/api/v1/analytics", svc.Handler()))
//	http.ListenAndServe(addr, svc.Middleware()(mux))
//
// Every route is also a Go method taking the caller's Principal;
// authorisation is enforced by the Service itself.
package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/advisoranalytics/advisor-analytics/internal/sysinfo"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Service answers the analytics queries. It is safe for concurrent use.
type Service struct {
	st      store.Store
	cfg     Config
	log     *slog.Logger
	loc     *time.Location
	cache   Cache
	sf      singleflight.Group
	cstate  cacheState
	writes  *writePositions
	born    time.Time
	track   *trackingParts
	sizer   dirSizer
	sampler *sysinfo.Sampler
	routes  []*route
	// wholeIngest turns off the streamed write of ingest/activities
	// bodies (ingestActivitiesBody), for the tests that compare the two.
	wholeIngest bool
	mu          sync.Mutex // guards jobs, started, closed, stopSub and cancel
	jobs        JobLister
	started     bool
	closed      bool
	stopSub     func()
	cancel      context.CancelFunc
	// costKeys bounds the number of cost-insights filters cached at once.
	costKeys keyBudget
	// cacheHits and cacheMisses count the lookups of the cached routes.
	cacheHits, cacheMisses atomic.Uint64
	// instance identifies this Service in invalidation messages, so that
	// it ignores its own (it has cleared its cache already, and clearing
	// again could drop values warmed since).
	instance string
	// invalidated, when set (tests), is called after each invalidation
	// message is handled.
	invalidated func(payload string)
	// exports and imports bound the running activity exports and Advisor
	// CSV imports.
	exports, imports *slots
	// reads bounds the uncached activity reads of each principal.
	reads *turns
}

// New returns a Service over st. It validates cfg (zero fields take their
// documented defaults) and starts no goroutine: call Start.
func New(st store.Store, cfg Config) (*Service, error) {
	if st == nil {
		return nil, errors.New("analytics: New: store is nil")
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		st:     st,
		cfg:    cfg,
		log:    cfg.Logger,
		loc:    cfg.Location,
		cache:  cfg.Cache,
		writes: newWritePositions(st),
		born:   cfg.NowFunc(),

		instance: store.NewID(),
		costKeys: keyBudget{max: costInsightsKeysMax, ttl: ttlCostInsights},
		exports:  newSlots(cfg.ExportsTotal, cfg.ExportsPerPrincipal),
		imports:  newSlots(cfg.ImportsTotal, 0),
		reads:    newTurns(cfg.ReadsPerPrincipal),
	}
	var err error
	if s.track, err = newTrackingParts(s); err != nil {
		return nil, err
	}
	if s.sizer, err = newDirSizer(cfg); err != nil {
		return nil, err
	}
	s.sampler = sysinfo.NewSampler()
	s.routes = s.buildRoutes()
	return s, nil
}

// Start starts the background work: the activity Recorder, the cache
// invalidation subscription when the store is a store.Broadcaster, and the
// storage measurement. It returns quickly; calling it again does nothing.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("analytics: start: service is closed")
	}
	if s.started {
		return nil
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := s.track.start(bg); err != nil {
		cancel()
		return fmt.Errorf("analytics: start recorder: %w", err)
	}
	if b, ok := s.st.(store.Broadcaster); ok {
		stop, err := b.Subscribe(bg, invalidateChannel, s.onInvalidation(bg))
		if err != nil {
			cancel()
			_ = s.track.close(ctx)
			return fmt.Errorf("analytics: subscribe to cache invalidations: %w", err)
		}
		s.stopSub = stop
	}
	s.sizer.start(bg)
	s.cancel = cancel
	s.started = true
	return nil
}

// Close stops the background work and drains the Recorder: every accepted
// activity is written unless ctx ends first. It is idempotent; the store is
// not closed (it belongs to the caller).
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopSub != nil {
		s.stopSub()
	}
	s.sizer.close()
	err := s.track.close(ctx)
	if s.cancel != nil {
		s.cancel()
	}
	if err != nil {
		return fmt.Errorf("analytics: close: %w", err)
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.NowFunc() }

// cachedJSON is one cached result: its JSON and, when this caller computed
// it alone, the value itself, so that a Go caller of a missed entry does
// not decode again what was just encoded.
type cachedJSON struct {
	b []byte
	v any
}

// cached returns the JSON of key, computing it with compute on a miss.
// Concurrent misses on one key compute once (and share the JSON only); a
// value computed across an invalidation is returned but not stored.
func (s *Service) cached(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) (any, error)) (cachedJSON, error) {
	return s.cachedAdmit(ctx, key, ttl, nil, compute)
}

// cachedAdmit is cached where admit (when not nil) decides whether a newly
// computed value may be stored.
func (s *Service) cachedAdmit(ctx context.Context, key string, ttl time.Duration, admit func(key string) bool, compute func(context.Context) (any, error)) (cachedJSON, error) {
	key = cacheKeyPrefix + key
	if b, ok, err := s.cache.Get(ctx, key); err != nil {
		s.log.WarnContext(ctx, "analytics: cache get failed", "key", key, "err", err)
	} else if ok {
		s.cacheHits.Add(1)
		return cachedJSON{b: b}, nil
	}
	s.cacheMisses.Add(1)
	gen := s.cstate.gen.Load()
	flight := fmt.Sprintf("%d|%s", gen, key)
	ch := s.sf.DoChan(flight, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheComputeTimeout)
		defer cancel()
		if b, ok, err := s.cache.Get(cctx, key); err == nil && ok {
			return cachedJSON{b: b}, nil
		}
		v, err := compute(s.writes.forCache(cctx))
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", key, err)
		}
		s.cstate.mu.Lock()
		if s.cstate.gen.Load() == gen && (admit == nil || admit(key)) {
			if err := s.cache.Set(cctx, key, b, ttl); err != nil {
				s.log.WarnContext(cctx, "analytics: cache set failed", "key", key, "err", err)
			}
		}
		s.cstate.mu.Unlock()
		return cachedJSON{b: b, v: v}, nil
	})
	select {
	case <-ctx.Done():
		return cachedJSON{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return cachedJSON{}, res.Err
		}
		c := res.Val.(cachedJSON)
		if res.Shared {
			// Each caller gets a value of its own to keep or change.
			c.v = nil
		}
		return c, nil
	}
}

// clearLocal empties this process's cache and makes in-flight loads
// discard their results.
func (s *Service) clearLocal(ctx context.Context) {
	s.writes.invalidation(ctx)
	s.cstate.mu.Lock()
	defer s.cstate.mu.Unlock()
	s.cstate.gen.Add(1)
	s.costKeys.reset()
	if err := s.cache.Clear(ctx); err != nil {
		s.log.ErrorContext(ctx, "analytics: clear cache", "err", err)
	}
}

// onInvalidation handles an invalidation message from a replica.
func (s *Service) onInvalidation(ctx context.Context) func(payload string) {
	return func(payload string) {
		if payload != s.instance {
			s.clearLocal(ctx)
		}
		if s.invalidated != nil {
			s.invalidated(payload)
		}
	}
}

// invalidate clears every cached analytics value here and, when the store
// is a store.Broadcaster, on every replica.
func (s *Service) invalidate(ctx context.Context) error {
	s.clearLocal(ctx)
	if b, ok := s.st.(store.Broadcaster); ok {
		if err := b.Publish(ctx, invalidateChannel, s.instance); err != nil {
			return fmt.Errorf("publish cache invalidation: %w", err)
		}
	}
	return nil
}

// CacheInvalidated is the body of the cache invalidation route.
type CacheInvalidated struct {
	Message string `json:"message"`
}

// InvalidateCache clears every cached analytics result, on every replica
// sharing a PostgreSQL store. Admin only.
func (s *Service) InvalidateCache(ctx context.Context, p Principal) (*CacheInvalidated, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	if err := s.invalidate(ctx); err != nil {
		return nil, err
	}
	s.audit(ctx, p, AdminAction{Action: ActionCacheInvalidate, Description: "Invalidated the analytics cache"})
	return &CacheInvalidated{Message: "Analytics cache invalidated successfully"}, nil
}

// RefreshCache invalidates every cached analytics result (on every
// replica) and computes the cached routes again, so the next requests are
// hits. The background jobs call it after the nightly rollup.
func (s *Service) RefreshCache(ctx context.Context) error {
	if err := s.invalidate(ctx); err != nil {
		return fmt.Errorf("analytics: refresh cache: %w", err)
	}
	sys := Principal{ID: "system", Username: "system", Role: RoleAdmin}
	var errs []error
	warm := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("warm %s: %w", name, err))
		}
	}
	_, err := s.metricsJSON(ctx)
	warm("metrics", err)
	_, err = s.trendsJSON(ctx, trendsDaysDefault)
	warm("trends", err)
	_, err = s.categoriesJSON(ctx)
	warm("categories", err)
	_, err = s.recentJSON(ctx, "", recentLimitDefault)
	warm("recent-activity", err)
	_, err = s.businessImpactJSON(ctx)
	warm("business-impact", err)
	_, err = s.clientPerformanceJSON(ctx, "")
	warm("client-performance", err)
	_, err = s.costInsightsJSON(ctx, CostQuery{})
	warm("cost-insights", err)
	_, err = s.SystemHealth(ctx, sys)
	warm("system-health", err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("analytics: refresh cache: %w", err)
	}
	return nil
}

// decodeCached returns a cached result as a T: the computed value itself
// when the caller has it, else its JSON decoded.
func decodeCached[T any](c cachedJSON, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	switch v := c.v.(type) {
	case *T:
		return v, nil
	case T:
		return &v, nil
	}
	v := new(T)
	if err := json.Unmarshal(c.b, v); err != nil {
		return nil, fmt.Errorf("analytics: decode cached value: %w", err)
	}
	return v, nil
}
