package analytics

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
	"unicode"

	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// Configuration defaults.
const (
	// SavingsRateDefault is the share of analysed cost that Advisor's
	// savings represent: total cost analysed = savings ÷ 0.20.
	SavingsRateDefault = 0.20
	// MaxBodyBytesDefault limits JSON request bodies (1 MiB).
	MaxBodyBytesDefault = 1 << 20
	// MaxIngestBytesDefault limits bulk bodies: ingest/activities and
	// Advisor CSV uploads (64 MiB).
	MaxIngestBytesDefault = 64 << 20
	// MaxIngestActivities is the most activities one ingest call accepts.
	MaxIngestActivities = 10000
	// MaxIngestReports is the most reports one ingest/reports/batch call
	// accepts.
	MaxIngestReports = 1000
	// StorageRefreshDefault is how often the storage directories are
	// measured in the background.
	StorageRefreshDefault = 10 * time.Minute
	// BodyReadTimeoutDefault is how long a small JSON request body may
	// take to arrive.
	BodyReadTimeoutDefault = 10 * time.Second
	// MaxUserIDLen is the longest user id the default ValidUserID accepts.
	MaxUserIDLen = 150
	// ExportsPerPrincipalDefault is the default Config.ExportsPerPrincipal.
	ExportsPerPrincipalDefault = 2
	// ExportsTotalDefault is the default Config.ExportsTotal.
	ExportsTotalDefault = 8
	// ExportStallTimeoutDefault is the default Config.ExportStallTimeout.
	ExportStallTimeoutDefault = 30 * time.Second
	// ImportsTotalDefault is the default Config.ImportsTotal.
	ImportsTotalDefault = 2
	// ReadsPerPrincipalDefault is the default Config.ReadsPerPrincipal:
	// half of the SQLite driver's default four read connections.
	ReadsPerPrincipalDefault = 2
	// RateLimitWindowDefault is the window the request budgets of
	// RateLimitConfig are counted over.
	RateLimitWindowDefault = time.Hour
)

// Config configures a Service. The zero value is usable for the Service
// methods; IdentifyFunc is required by the HTTP handlers.
type Config struct {
	// IdentifyFunc returns the caller of a request. Returning
	// ErrUnauthenticated or a Principal with an empty ID answers 401 with
	// `WWW-Authenticate: Bearer`; any other error is a 500 ("Failed to
	// authenticate"), or its own status when it is an *Error. Required by
	// Handler and Middleware.
	IdentifyFunc func(*http.Request) (Principal, error)
	// ErrorFunc writes error responses. Defaults to writing ErrorBody as
	// JSON with the status.
	ErrorFunc func(w http.ResponseWriter, r *http.Request, status int, body ErrorBody)
	// NowFunc returns the current time. Defaults to time.Now.
	NowFunc func() time.Time
	// Logger receives errors and background events. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Location is the reporting time zone: "today", day buckets, week and
	// month starts. Defaults to UTC.
	Location *time.Location
	// SavingsRate converts savings to cost analysed (cost = savings ÷
	// rate); 0 < rate ≤ 1. Defaults to SavingsRateDefault.
	SavingsRate float64
	// Cache stores the cached routes. Defaults to NewMemoryCache().
	Cache Cache
	// StorageDirs are measured in the background for storage_used. Empty
	// means storage is reported as 0 bytes.
	StorageDirs []string
	// StorageRefresh is how often StorageDirs are measured. Defaults to
	// StorageRefreshDefault.
	StorageRefresh time.Duration
	// MaxBodyBytes limits JSON request bodies. Defaults to
	// MaxBodyBytesDefault.
	MaxBodyBytes int64
	// MaxIngestBytes limits ingest/activities and CSV upload bodies.
	// Defaults to MaxIngestBytesDefault.
	MaxIngestBytes int64
	// BodyReadTimeout is how long the body of a small JSON request (every
	// route but ingest/activities, ingest/reports, ingest/reports/batch and
	// ingest/advisor-csv) may take to arrive, from when the handler starts
	// reading it; a body
	// still incomplete then is a 400 and the connection is closed. Bulk
	// routes keep the server's own read timeout. It needs a ResponseWriter
	// that supports http.ResponseController.SetReadDeadline (net/http's
	// does). Defaults to BodyReadTimeoutDefault.
	BodyReadTimeout time.Duration
	// ValidUserID checks a user_id parameter before it reaches the store
	// (a malformed one is a 400). Defaults to any text of 1…MaxUserIDLen
	// bytes without control characters; hosts whose ids are UUIDs can pass
	// store.ValidUUID.
	ValidUserID func(string) bool
	// ExportsPerPrincipal bounds the activity exports one principal may
	// run at once; one more is answered 429. Defaults to
	// ExportsPerPrincipalDefault.
	ExportsPerPrincipal int
	// ExportsTotal bounds the activity exports running at once, whoever
	// runs them; one more is answered 429. Defaults to ExportsTotalDefault.
	ExportsTotal int
	// ExportStallTimeout is how long one page of an export may wait for
	// its client to take it before the response is cut short. Defaults to
	// ExportStallTimeoutDefault.
	ExportStallTimeout time.Duration
	// ImportsTotal bounds the Advisor CSV imports running at once; one
	// more is answered 429. Defaults to ImportsTotalDefault.
	ImportsTotal int
	// ReadsPerPrincipal bounds the uncached activity reads (the pages of
	// user-activity, activity-history and entity-history, activity-summary)
	// that one principal runs at once; the next ones wait their turn, in arrival
	// order, until their context ends. One caller's slow reads (a deep
	// offset page, a summary over years) then hold at most this many of the
	// store's connections, and other callers' reads find one free. Keep it
	// below the store's read connections. Defaults to
	// ReadsPerPrincipalDefault; a negative value bounds nothing.
	ReadsPerPrincipal int
	// Tracking configures the activity Recorder and the Middleware.
	Tracking TrackingConfig
	// RateLimit limits the API requests of each user and the failed
	// authentications of each client address. The zero value limits
	// nothing.
	RateLimit RateLimitConfig
}

// RateLimitConfig configures the rate limits of the Handler. A request
// over a budget is answered 429 with Retry-After; every answer to a
// limited caller carries RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset (seconds until the budget is whole again).
type RateLimitConfig struct {
	// Requests is the number of API requests each user (Principal.ID)
	// may make per Window; 0 means no limit.
	Requests int
	// Roles overrides Requests for the users of a role; 0 means no limit
	// for that role.
	Roles map[Role]int
	// FailedAuth is the number of failed authentications (401) a client
	// address may cause per Window; once spent, the address's requests
	// that carry no valid identity yet are answered 429 before the
	// credentials are even checked, to slow down token guessing. 0 means
	// no limit.
	FailedAuth int
	// Window is the period the budgets are counted over (token buckets
	// refilled evenly over it). Defaults to RateLimitWindowDefault (1h).
	Window time.Duration
	// Limiter keeps the budgets. Defaults to NewMemoryRateLimiter(): per
	// process, so each replica counts its own requests.
	Limiter RateLimiter
}

// enabled reports whether any limit is set.
func (c *RateLimitConfig) enabled() bool {
	if c.Requests > 0 || c.FailedAuth > 0 {
		return true
	}
	for _, n := range c.Roles {
		if n > 0 {
			return true
		}
	}
	return false
}

// limitFor returns the request budget of a user of role r (0: none).
func (c *RateLimitConfig) limitFor(r Role) int {
	if n, ok := c.Roles[r]; ok {
		return n
	}
	return c.Requests
}

func (c *Config) setDefaults() {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	c.SavingsRate = cmp.Or(c.SavingsRate, SavingsRateDefault)
	if c.Cache == nil {
		c.Cache = NewMemoryCache()
	}
	c.StorageRefresh = cmp.Or(c.StorageRefresh, StorageRefreshDefault)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, MaxBodyBytesDefault)
	c.MaxIngestBytes = cmp.Or(c.MaxIngestBytes, MaxIngestBytesDefault)
	c.BodyReadTimeout = cmp.Or(c.BodyReadTimeout, BodyReadTimeoutDefault)
	c.RateLimit.Window = cmp.Or(c.RateLimit.Window, RateLimitWindowDefault)
	if c.RateLimit.Limiter == nil && c.RateLimit.enabled() {
		c.RateLimit.Limiter = NewMemoryRateLimiter()
	}
	if c.ValidUserID == nil {
		c.ValidUserID = defaultValidUserID
	}
	c.ExportsPerPrincipal = cmp.Or(c.ExportsPerPrincipal, ExportsPerPrincipalDefault)
	c.ExportsTotal = cmp.Or(c.ExportsTotal, ExportsTotalDefault)
	c.ExportStallTimeout = cmp.Or(c.ExportStallTimeout, ExportStallTimeoutDefault)
	c.ImportsTotal = cmp.Or(c.ImportsTotal, ImportsTotalDefault)
	c.ReadsPerPrincipal = cmp.Or(c.ReadsPerPrincipal, ReadsPerPrincipalDefault)
}

func (c *Config) validate() error {
	if math.IsNaN(c.SavingsRate) || c.SavingsRate <= 0 || c.SavingsRate > 1 {
		return fmt.Errorf("analytics: Config.SavingsRate must be in (0, 1], got %v", c.SavingsRate)
	}
	if c.StorageRefresh < time.Second {
		return errors.New("analytics: Config.StorageRefresh must be at least 1s")
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("analytics: Config.MaxBodyBytes must not be negative")
	}
	if c.MaxIngestBytes < 0 {
		return errors.New("analytics: Config.MaxIngestBytes must not be negative")
	}
	if c.ExportsPerPrincipal < 0 || c.ExportsTotal < 0 || c.ImportsTotal < 0 {
		return errors.New("analytics: Config.ExportsPerPrincipal, ExportsTotal and ImportsTotal must not be negative")
	}
	if c.ExportStallTimeout < 0 {
		return errors.New("analytics: Config.ExportStallTimeout must not be negative")
	}
	if c.BodyReadTimeout < 0 {
		return errors.New("analytics: Config.BodyReadTimeout must not be negative")
	}
	if rl := c.RateLimit; rl.Requests < 0 || rl.FailedAuth < 0 || rl.Window < 0 {
		return errors.New("analytics: Config.RateLimit: Requests, FailedAuth and Window must not be negative")
	}
	for r, n := range c.RateLimit.Roles {
		if !r.Valid() || n < 0 {
			return fmt.Errorf("analytics: Config.RateLimit.Roles: %q=%d: want a known role and a number ≥ 0", r, n)
		}
	}
	for i, d := range c.StorageDirs {
		if d == "" {
			return fmt.Errorf("analytics: Config.StorageDirs[%d] is empty", i)
		}
	}
	return nil
}

func defaultValidUserID(s string) bool {
	if s == "" || len(s) > MaxUserIDLen {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// TrackingConfig configures the activity Recorder and the Middleware; the
// zero value means every tracking default.
type TrackingConfig struct {
	// Recorder configures the batching Recorder (queue size, batch size,
	// flush interval, writers, full policy, retries). Logger defaults to
	// Config.Logger.
	Recorder tracking.RecorderConfig
	// Middleware configures the Middleware: Rules, SkipPaths,
	// TrackAnonymous, TrackFailed, IP, IPStorage, IPHashKey and Stats as
	// documented on tracking.MiddlewareConfig. Recorder and Identify must
	// be left nil: the Service sets them (its Recorder and IdentifyFunc).
	// Logger and NowFunc default to Config.Logger and Config.NowFunc. Rules
	// nil means tracking.DefaultRulesAt(AnalyticsPath); IP nil trusts no
	// forwarding header; Stats nil means counters of the Service's own
	// (set it to feed the system-health HTTP figures from elsewhere too).
	Middleware tracking.MiddlewareConfig
	// AnalyticsPath is the path the Service's Handler is mounted at in the
	// mux the Middleware wraps: the prefix given to HandlerWithPrefix or
	// stripped before Handler, such as "/admin/analytics". GETs of
	// AnalyticsPath + "/dashboard/" are recorded as view_dashboard
	// activities. It places the default rules only: it cannot be combined
	// with Middleware.Rules (build those with tracking.DefaultRulesAt).
	// Defaults to tracking.AnalyticsPathDefault ("/api/v1/analytics").
	AnalyticsPath string
}
