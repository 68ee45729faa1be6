package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// TrackingConfig configures the activity Recorder and the Middleware; it
// is passed through to the tracking package. The zero value means every
// tracking default.
type TrackingConfig struct {
	// Recorder configures the batching Recorder (queue size, batch size,
	// flush interval, writers, full policy, retries).
	Recorder tracking.RecorderConfig
	// Rules map requests to activities. nil means
	// tracking.DefaultRulesAt(AnalyticsPath).
	Rules []tracking.Rule
	// AnalyticsPath is the path the Service's Handler is mounted at in the
	// mux the Middleware wraps: the prefix given to HandlerWithPrefix or
	// stripped before Handler, such as "/admin/analytics". GETs of
	// AnalyticsPath + "/dashboard/" are recorded as view_dashboard
	// activities. It places the default rules only: it cannot be combined
	// with Rules (build those with tracking.DefaultRulesAt). Defaults to
	// tracking.AnalyticsPathDefault ("/api/v1/analytics").
	AnalyticsPath string
	// SkipPaths lists URL path prefixes never tracked.
	SkipPaths []string
	// TrackAnonymous records requests without an identity too.
	TrackAnonymous bool
	// TrackFailed records requests answered with a status ≥ 400 too.
	TrackFailed bool
	// IP configures how the client address is found (trusted proxies,
	// hop count or header). The zero value trusts no forwarding header.
	IP tracking.IPConfig
	// IPStorage is how addresses are stored (full, truncate, hash, none).
	// Defaults to tracking.IPFull.
	IPStorage tracking.IPStorage
	// IPHashKey is the HMAC key for IPStorage tracking.IPHash (at least
	// tracking.MinIPHashKeyLen bytes).
	IPHashKey []byte
}

// trackingParts are the Service's Recorder, middleware and HTTP counters.
type trackingParts struct {
	rec   *tracking.Recorder
	mw    func(http.Handler) http.Handler
	stats *tracking.HTTPStats
	ip    *tracking.IPResolver
	ips   tracking.IPStore
}

func newTrackingParts(s *Service) (*trackingParts, error) {
	c := s.cfg.Tracking
	rc := c.Recorder
	if rc.Logger == nil {
		rc.Logger = s.log
	}
	rules := c.Rules
	switch {
	case c.AnalyticsPath != "" && !strings.HasPrefix(c.AnalyticsPath, "/"):
		return nil, fmt.Errorf("analytics: Config.Tracking.AnalyticsPath %q must start with /", c.AnalyticsPath)
	case c.AnalyticsPath != "" && rules != nil:
		return nil, errors.New("analytics: Config.Tracking.AnalyticsPath cannot be combined with Rules; build Rules with tracking.DefaultRulesAt")
	case rules == nil:
		rules = tracking.DefaultRulesAt(c.AnalyticsPath)
	}
	ip, err := tracking.NewIPResolver(c.IP)
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking.IP: %w", err)
	}
	ips, err := tracking.NewIPStore(c.IPStorage, c.IPHashKey)
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking: %w", err)
	}
	rec, err := tracking.NewRecorder(s.st, rc)
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking.Recorder: %w", err)
	}
	t := &trackingParts{rec: rec, stats: &tracking.HTTPStats{}, ip: ip, ips: ips}
	identify := func(r *http.Request) (tracking.Identity, bool) {
		if s.cfg.IdentifyFunc == nil {
			return tracking.Identity{}, false
		}
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			var err error
			if p, err = s.cfg.IdentifyFunc(r); err != nil {
				return tracking.Identity{}, false
			}
		}
		if !p.Authenticated() {
			return tracking.Identity{}, false
		}
		return tracking.Identity{UserID: p.ID, Username: p.Username, FullName: p.FullName}, true
	}
	t.mw, err = tracking.NewMiddleware(tracking.MiddlewareConfig{
		Recorder:       rec,
		Identify:       identify,
		Rules:          rules,
		SkipPaths:      c.SkipPaths,
		TrackAnonymous: c.TrackAnonymous,
		TrackFailed:    c.TrackFailed,
		IP:             ip,
		IPStorage:      c.IPStorage,
		IPHashKey:      c.IPHashKey,
		Stats:          t.stats,
		Logger:         s.log,
		NowFunc:        s.cfg.NowFunc,
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking: %w", err)
	}
	return t, nil
}

func (t *trackingParts) start(ctx context.Context) error { return t.rec.Start(ctx) }
func (t *trackingParts) close(ctx context.Context) error { return t.rec.Close(ctx) }

// Middleware returns the activity-tracking middleware, wired to the
// Service's Recorder, IdentifyFunc and HTTP counters (the system-health
// http figures). Wrap the host's whole mux with it.
func (s *Service) Middleware() func(http.Handler) http.Handler { return s.track.mw }

// Record hands one activity (for example logged by hand in a host
// handler) to the Recorder, which writes it in the background. It returns
// ErrQueueFull when the Recorder refuses it (queue full or closed); the
// activity is validated first (a *store.ValidationError).
func (s *Service) Record(_ context.Context, a store.Activity) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	if err := storedriver.PrepareActivity(&a, s.now()); err != nil {
		return err
	}
	if !s.track.rec.Enqueue(a) {
		return ErrQueueFull
	}
	return nil
}

// RecorderStats returns the Recorder's counters.
func (s *Service) RecorderStats() tracking.RecorderStats { return s.track.rec.Stats() }

// HTTPStats returns the request counters the Middleware feeds.
func (s *Service) HTTPStats() *tracking.HTTPStats { return s.track.stats }

// fillFromRequest sets the request details of an activity recorded through
// the activities route, and keeps the middleware from recording the call
// itself as a second activity.
func (s *Service) fillFromRequest(a *store.Activity, r *http.Request) {
	tracking.Skip(r)
	a.UserAgent = r.UserAgent()
	a.IPAddress = s.track.ips.Apply(s.track.ip.ClientIP(r))
}
