package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/text"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Identity is the user a request is made by, as the host application knows
// it.
type Identity struct {
	// UserID is the user's id, stored as Activity.UserID.
	UserID string
	// Username is the login name, stored with the activity.
	Username string
	// FullName is the display name, stored with the activity.
	FullName string
}

// MiddlewareConfig configures the tracking middleware. Only Recorder is
// required.
type MiddlewareConfig struct {
	// Recorder receives the tracked events. Required.
	Recorder *Recorder
	// Identify returns the user making the request, and false for an
	// anonymous request. It is called after the handler has run, with the
	// request the handler saw. An identity set with SetIdentity takes
	// precedence. Defaults to treating every request as anonymous.
	Identify func(*http.Request) (Identity, bool)
	// Rules map requests to activities; the first match wins. nil means
	// DefaultRules(); a non-nil slice replaces them (append to
	// DefaultRules() to add rules, or to DefaultRulesAt when the analytics
	// handler is not mounted at AnalyticsPathDefault).
	Rules []Rule
	// SkipPaths lists URL path prefixes that are never tracked (nor
	// counted in Stats), such as "/healthz" or "/static/".
	SkipPaths []string
	// TrackAnonymous records requests without an identity too. Defaults
	// to false.
	TrackAnonymous bool
	// TrackFailed records requests whose response status is 400 or more
	// too (the status is recorded). Defaults to false.
	TrackFailed bool
	// IP resolves the client address. Defaults to the peer address
	// (Request.RemoteAddr), trusting no forwarding header.
	IP *IPResolver
	// IPStorage is how client addresses are stored. Defaults to IPFull.
	IPStorage IPStorage
	// IPHashKey is the secret HMAC key used with IPStorage IPHash (at
	// least MinIPHashKeyLen bytes). See IPStore.
	IPHashKey []byte
	// Stats, when set, counts every request that is not skipped (tracked
	// or not) for the HTTP figures.
	Stats *HTTPStats
	// Logger receives errors of the tracking code itself. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// NowFunc returns the current time. Defaults to time.Now.
	NowFunc func() time.Time
}

type middleware struct {
	rec       *Recorder
	identify  func(*http.Request) (Identity, bool)
	rules     *ruleSet
	skip      []string
	anonymous bool
	failed    bool
	ip        *IPResolver
	ipStore   IPStore
	stats     *HTTPStats
	log       *slog.Logger
	now       func() time.Time // nil: time.Now, with time.Since for durations
}

// NewMiddleware returns the activity-tracking middleware.
//
// The middleware tracks, by default, requests made by an identified user
// whose response status is below 400 and whose method is POST, PUT, PATCH
// or DELETE, plus requests of any method that match a rule (such as report
// downloads and dashboard views). Each tracked request becomes one event
// handed to the Recorder; the request never waits for the store, and
// nothing the tracking does changes the response or fails the request.
//
// Requests that cannot be tracked (other methods without a matching rule,
// skipped paths) pass straight through, without allocating.
func NewMiddleware(cfg MiddlewareConfig) (func(http.Handler) http.Handler, error) {
	if cfg.Recorder == nil {
		return nil, errors.New("tracking: MiddlewareConfig.Recorder is required")
	}
	rules := cfg.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	compiled, err := compileRules(rules)
	if err != nil {
		return nil, err
	}
	ips, err := NewIPStore(cfg.IPStorage, cfg.IPHashKey)
	if err != nil {
		return nil, err
	}
	for i, p := range cfg.SkipPaths {
		if p == "" {
			return nil, fmt.Errorf("tracking: MiddlewareConfig.SkipPaths[%d] is empty", i)
		}
	}
	m := &middleware{
		rec:       cfg.Recorder,
		identify:  cfg.Identify,
		rules:     compiled,
		skip:      append([]string(nil), cfg.SkipPaths...),
		anonymous: cfg.TrackAnonymous,
		failed:    cfg.TrackFailed,
		ip:        cfg.IP,
		ipStore:   ips,
		stats:     cfg.Stats,
		log:       cfg.Logger,
		now:       cfg.NowFunc,
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m.wrap, nil
}

func (m *middleware) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		for _, p := range m.skip {
			if strings.HasPrefix(path, p) {
				next.ServeHTTP(w, r)
				return
			}
		}
		method := r.Method
		rule, id, format := m.rules.match(method, path)
		if rule == nil && !mutating(method) {
			m.serveUntracked(next, w, r)
			return
		}
		m.serveTracked(next, w, r, method, path, rule, id, format)
	})
}

// start returns the current time.
func (m *middleware) start() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// end returns the current time and the time elapsed since start. With the
// default clock it reads only the monotonic clock, which is cheaper than
// time.Now.
func (m *middleware) end(start time.Time) (time.Time, time.Duration) {
	if m.now != nil {
		end := m.now()
		return end, end.Sub(start)
	}
	d := time.Since(start)
	return start.Add(d), d
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (m *middleware) serveUntracked(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if m.stats == nil {
		next.ServeHTTP(w, r)
		return
	}
	rw := getWriter(w)
	if m.now != nil {
		start := m.now()
		next.ServeHTTP(rw, r)
		end, d := m.end(start)
		m.stats.Observe(end, rw.statusCode(), d)
	} else {
		// Only the monotonic clock: two readings of it cost less than one
		// time.Now, and the hour bucket needs no more than the process's
		// start time plus the elapsed time.
		begin := time.Since(clockBase)
		next.ServeHTTP(rw, r)
		end := time.Since(clockBase)
		m.stats.Observe(clockBase.Add(end), rw.statusCode(), end-begin)
	}
	putWriter(rw)
}

// clockBase anchors the untracked path's monotonic readings to wall time.
var clockBase = time.Now()

func (m *middleware) serveTracked(next http.Handler, w http.ResponseWriter, r *http.Request, method, path string, rule *compiledRule, id, format string) {
	st := &requestState{Context: r.Context()}
	r2 := r.WithContext(st)
	rw := getWriter(w)
	start := m.start()
	next.ServeHTTP(rw, r2)
	end, d := m.end(start)
	status, bytes := rw.statusCode(), rw.bytes
	putWriter(rw)
	if m.stats != nil {
		m.stats.Observe(end, status, d)
	}
	m.record(r2, st, method, path, rule, id, format, status, bytes, start, d)
}

// record enqueues the event of a finished request. A panic here (in
// Identify, for example) is logged, never passed to the client.
func (m *middleware) record(r *http.Request, st *requestState, method, path string, rule *compiledRule, id, format string, status int, bytes int64, start time.Time, d time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("tracking: recording a request panicked", "method", method, "path", path, "panic", p)
		}
	}()
	st.mu.Lock()
	st.done = true
	skip, ident, hasIdent, typ, desc, meta := st.skip, st.ident, st.hasIdent, st.typ, st.desc, st.meta
	st.mu.Unlock()
	if skip {
		return
	}
	if !hasIdent && m.identify != nil {
		ident, hasIdent = m.identify(r)
	}
	if !hasIdent && !m.anonymous {
		return
	}
	if status >= 400 && !m.failed {
		return
	}
	ev := event{
		act: store.Activity{
			UserID:       ident.UserID,
			Username:     ident.Username,
			FullName:     ident.FullName,
			ActivityType: typ,
			Description:  desc,
			UserAgent:    r.Header.Get("User-Agent"),
			Method:       method,
			Path:         path,
			StatusCode:   status,
			Duration:     d,
			Metadata:     meta,
			CreatedAt:    start,
		},
		mw:     m,
		rule:   rule,
		id:     id,
		format: format,
		addr:   m.ip.ClientIP(r),
		bytes:  bytes,
	}
	m.rec.enqueue(&ev)
}

// complete turns a captured event into its final activity. It runs in a
// Recorder writer goroutine.
func (m *middleware) complete(ev *event) {
	a := &ev.act
	if a.ActivityType == "" {
		if ev.rule != nil {
			a.ActivityType = ev.rule.ActivityType
		} else {
			a.ActivityType = TypeOther
		}
	}
	if a.Description == "" {
		if ev.rule != nil {
			a.Description = ev.rule.describe(a.Method, a.Path, ev.id, ev.format)
		} else {
			a.Description = a.Method + " " + a.Path
		}
	}
	a.Description = text.Truncate(a.Description, store.MaxDescriptionLen)
	meta := a.Metadata
	if meta == nil {
		meta = make(map[string]any, 8)
	}
	if ev.id != "" {
		switch ev.rule.idField {
		case IDReport:
			if a.ReportID == "" {
				a.ReportID = ev.id
			}
		case IDClient:
			if a.ClientID == "" {
				a.ClientID = ev.id
			}
		default:
			meta["id"] = ev.id
		}
	}
	pathIDs(a.Path, a)
	if a.ReportID != "" {
		meta["report_id"] = a.ReportID
	}
	if a.ClientID != "" {
		meta["client_id"] = a.ClientID
	}
	if ev.format != "" {
		meta["format"] = ev.format
	}
	meta["path"] = a.Path
	meta["method"] = boxMethod(a.Method)
	meta["status"] = a.StatusCode
	meta["duration_ms"] = math.Round(float64(a.Duration)/1e3) / 1e3
	meta["bytes"] = ev.bytes
	a.Metadata = meta
	a.IPAddress = m.ipStore.Apply(ev.addr)
}

// pathIDs fills a's empty ReportID and ClientID from UUID segments that
// follow a "reports" or "clients" segment of path.
func pathIDs(path string, a *store.Activity) {
	prev := ""
	for path != "" {
		var seg string
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			seg, path = path, ""
		}
		if store.ValidUUID(seg) {
			switch inferIDField(prev) {
			case IDReport:
				if a.ReportID == "" {
					a.ReportID = seg
				}
			case IDClient:
				if a.ClientID == "" {
					a.ClientID = seg
				}
			}
		}
		prev = seg
	}
}

// requestState is the per-request tracking state. It is the request's
// context itself (one allocation instead of two), found by the helpers
// through Value.
type requestState struct {
	context.Context

	mu       sync.Mutex
	done     bool // the event has been built; later changes are ignored
	skip     bool
	typ      string
	desc     string
	meta     map[string]any
	ident    Identity
	hasIdent bool
}

type stateKey struct{}

// Value implements context.Context.
func (s *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	return s.Context.Value(key)
}

func stateOf(ctx context.Context) *requestState {
	s, _ := ctx.Value(stateKey{}).(*requestState)
	return s
}

// AddMetadata adds key to the metadata of the activity recorded for r. The
// keys "path", "method", "status", "duration_ms" and "bytes" are always
// set by the middleware and win over values given here. It does nothing on
// requests the middleware cannot track (see NewMiddleware).
func AddMetadata(r *http.Request, key string, value any) {
	AddMetadataContext(r.Context(), key, value)
}

// AddMetadataContext is AddMetadata for a request context.
func AddMetadataContext(ctx context.Context, key string, value any) {
	if s := stateOf(ctx); s != nil {
		s.mu.Lock()
		if !s.done {
			if s.meta == nil {
				s.meta = make(map[string]any, 8)
			}
			s.meta[key] = value
		}
		s.mu.Unlock()
	}
}

// SetActivity overrides the activity type and description recorded for r
// (an empty value keeps the rule's, or "other"). Like the other helpers it
// acts on requests the middleware may track (see NewMiddleware).
func SetActivity(r *http.Request, activityType, description string) {
	SetActivityContext(r.Context(), activityType, description)
}

// SetActivityContext is SetActivity for a request context.
func SetActivityContext(ctx context.Context, activityType, description string) {
	if s := stateOf(ctx); s != nil {
		s.mu.Lock()
		if !s.done {
			s.typ, s.desc = activityType, description
		}
		s.mu.Unlock()
	}
}

// SetIdentity sets the user of r, overriding MiddlewareConfig.Identify: a
// login handler can name the user it just authenticated.
func SetIdentity(r *http.Request, id Identity) {
	SetIdentityContext(r.Context(), id)
}

// SetIdentityContext is SetIdentity for a request context.
func SetIdentityContext(ctx context.Context, id Identity) {
	if s := stateOf(ctx); s != nil {
		s.mu.Lock()
		if !s.done {
			s.ident, s.hasIdent = id, true
		}
		s.mu.Unlock()
	}
}

// Skip makes the middleware record nothing for r.
func Skip(r *http.Request) {
	SkipContext(r.Context())
}

// SkipContext is Skip for a request context.
func SkipContext(ctx context.Context) {
	if s := stateOf(ctx); s != nil {
		s.mu.Lock()
		s.skip = true
		s.mu.Unlock()
	}
}

// boxMethod returns method as an interface value without allocating for
// the common methods.
func boxMethod(m string) any {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	}
	return m
}
