package analytics

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/reqbody"
	"github.com/advisoranalytics/advisor-analytics/internal/routelabel"
	"github.com/advisoranalytics/advisor-analytics/internal/text"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// Route describes one route of the JSON API. Routes returns the table;
// Handler serves all of them.
type Route struct {
	// Path is relative to where the handler is mounted, without slashes
	// at either end ("metrics/history", "users/{id}/activities"). It is
	// served with and without a trailing slash.
	Path string
	// Methods lists the allowed methods; GET implies HEAD.
	Methods []string
	// Role is the least role allowed; "" means any authenticated user.
	// Handler answers 403 to the others before reading any parameter.
	Role Role
	// Public routes need no identity (only openapi.json).
	Public bool
	// Summary is a one-line description (used in the OpenAPI document).
	Summary string
	// Params are the query parameters the route reads.
	Params []param
	// CacheTTL is how long results are cached; 0 means not cached.
	CacheTTL time.Duration
	// Handler serves this route alone (method check, identity, errors),
	// for hosts that register routes on their own mux.
	Handler http.Handler

	action string   // "retrieve metrics": for 500 messages
	segs   []string // Path split on "/"
	serve  func(s *Service, w http.ResponseWriter, r *http.Request, p Principal) error

	// For the OpenAPI document:
	resp, req reflect.Type // Go types of the success body and the JSON request body
	okStatus  int          // success status; 0 means 200
	media     []string     // media types of the success body (the first carries resp); nil means JSON
	reqMedia  string       // media type of the request body; "" means JSON
	multipart bool         // the request body may also be a multipart form with a "file" part
	noBody    bool         // a POST without request body
	audited   bool         // an admin action: its request details go to the audit trail
	scoped    bool         // answers 403 although Role is "": what is allowed depends on the parameters
	bounded   bool         // answers 429 when too many calls run at once
	conflicts bool         // answers 409 when the write collides with stored data
	finds     bool         // answers 404 when the client or job it names is unknown
}

// param is a query parameter of a route.
type param struct {
	// Name is the query parameter's name.
	Name string
	// Type is "string", "integer", "date" or "uuid".
	Type string
	// Description is a one-line description.
	Description string
	// Enum lists the accepted values, when there is a fixed set.
	Enum []string
}

type route = Route

var (
	pDateFrom = param{"date_from", "date", "Inclusive lower bound (YYYY-MM-DD or ISO date-time).", nil}
	pDateTo   = param{"date_to", "date", "Inclusive upper bound; a date-only value covers that whole day.", nil}
	pActivity = []param{
		{"limit", "integer", "Page size, default 25, clamped to 1…100.", nil},
		{"offset", "integer", "Rows to skip, default 0; must be 0 with cursor.", nil},
		{"cursor", "string", "Keyset cursor from next_cursor of the previous page.", nil},
		pDateFrom, pDateTo,
		{"user_id", "string", "Only this user's activity (admin and manager; others only their own id).", nil},
		{"activity_type", "string", "Only this activity type.", nil},
		{"client_id", "uuid", "Only activity about this client.", nil},
		{"report_id", "uuid", "Only activity about this report.", nil},
	}
)

func (s *Service) buildRoutes() []*route {
	get := []string{http.MethodGet}
	post := []string{http.MethodPost}
	rs := []*route{
		{Path: "dashboard", Methods: get, Summary: "Dashboard: metrics, categories, 30-day trend and recent reports.", action: "retrieve dashboard",
			resp: reflect.TypeFor[Dashboard](), serve: (*Service).serveDashboard},
		{Path: "metrics", Methods: get, Summary: "Report, user, cost and storage metrics with month-over-month changes.", CacheTTL: ttlMetrics, action: "retrieve metrics",
			resp: reflect.TypeFor[Metrics](), serve: (*Service).serveMetrics},
		{Path: "metrics/history", Methods: get, Summary: "Stored dashboard snapshots, oldest first.", action: "retrieve metrics history",
			Params: []param{{"period", "string", "Snapshot period, default daily.", []string{"daily", "weekly", "monthly"}}, pDateFrom, pDateTo},
			resp:   reflect.TypeFor[MetricsHistory](), serve: (*Service).serveMetricsHistory},
		{Path: "trends", Methods: get, Summary: "Reports per local day over the last N days (N+1 points).", CacheTTL: ttlTrends, action: "retrieve trends",
			Params: []param{{"days", "integer", "Days back from today, 1…366, default 30.", nil}},
			resp:   reflect.TypeFor[Trends](), serve: (*Service).serveTrends},
		{Path: "categories", Methods: get, Summary: "Recommendations by category.", CacheTTL: ttlCategories, action: "retrieve categories",
			resp: reflect.TypeFor[Categories](), serve: (*Service).serveCategories},
		{Path: "recent-activity", Methods: get, Summary: "Newest reports, newest first.", CacheTTL: ttlRecentActivity, action: "retrieve recent activity",
			Params: []param{{"limit", "integer", "Items, default 10; < 1 → 10; > 100 → 100.", nil},
				{"client_id", "uuid", "Only this client's reports; an unknown client is a 404.", nil}},
			resp: reflect.TypeFor[[]RecentItem](), finds: true, serve: (*Service).serveRecent},
		{Path: "client-performance", Methods: get, Summary: "Report figures of one client or of all.", CacheTTL: ttlClientPerformance, action: "retrieve client performance",
			Params: []param{{"client_id", "uuid", "The client; all reports when absent.", nil}},
			resp:   reflect.TypeFor[ClientPerformance](), finds: true, serve: (*Service).serveClientPerformance},
		{Path: "clients", Methods: get, Summary: "Clients in name order, one page.", action: "retrieve clients",
			Params: []param{{"search", "string", "Only clients whose name contains this text (ASCII letters without case).", nil},
				{"limit", "integer", "Clients, default 25, clamped to 1…100.", nil}, {"offset", "integer", "Clients to skip, default 0; < 0 → 0.", nil}},
			resp: reflect.TypeFor[[]ClientOut](), serve: (*Service).serveClients},
		{Path: "clients/{id}", Methods: get, Summary: "One client; an unknown client is a 404.", action: "retrieve client",
			resp: reflect.TypeFor[ClientOut](), finds: true, serve: (*Service).serveClient},
		{Path: "business-impact", Methods: get, Summary: "Recommendations by business impact.", CacheTTL: ttlBusinessImpact, action: "retrieve business impact",
			resp: reflect.TypeFor[BusinessImpact](), serve: (*Service).serveBusinessImpact},
		{Path: "user-activity", Methods: get, Summary: "One page of activities, newest first.", Params: pActivity, action: "retrieve user activity",
			resp: reflect.TypeFor[ActivityPage](), scoped: true, serve: (*Service).serveUserActivity},
		{Path: "user-activity/export", Methods: get, Summary: "Every matching activity as CSV or NDJSON (streamed).", action: "export user activity",
			Params: append([]param{{"format", "string", "Export format, default csv.", []string{"csv", "ndjson"}}}, pActivity[3:]...),
			scoped: true, bounded: true, media: []string{"text/csv", "application/x-ndjson"}, serve: (*Service).serveExport},
		{Path: "activity-summary", Methods: get, Summary: "Activity counts by type, user or day.", action: "retrieve activity summary",
			Params: []param{{"group_by", "string", "Grouping, default activity_type.", []string{"activity_type", "user", "day"}}, pDateFrom, pDateTo},
			resp:   reflect.TypeFor[ActivitySummary](), serve: (*Service).serveSummary},
		{Path: "system-health", Methods: get, Role: RoleManager, Summary: "Database, process, host, HTTP and tracking health.", CacheTTL: ttlSystemHealth, action: "retrieve system health",
			resp: reflect.TypeFor[SystemHealth](), serve: (*Service).serveHealth},
		{Path: "cost-insights", Methods: get, Summary: "Cost analysed, savings and the 12-month cost trend.", CacheTTL: ttlCostInsights, action: "retrieve cost insights",
			Params: []param{pDateFrom, pDateTo, {"report_type", "string", "One report type or a comma-separated list.", nil}},
			resp:   reflect.TypeFor[CostInsights](), serve: (*Service).serveCostInsights},
		{Path: "activity-history", Methods: get, Role: RoleManager, Summary: "Activities with request details, client and report.", Params: pActivity, action: "retrieve activity history",
			resp: reflect.TypeFor[HistoryPage](), serve: (*Service).serveActivityHistory},
		{Path: "entity-history", Methods: get, Role: RoleManager, Summary: "Newest activities about one client or report.", action: "retrieve entity history",
			Params: []param{{"entity_type", "string", "Entity kind.", []string{"client", "report"}}, {"entity_id", "uuid", "Entity id.", nil}, {"limit", "integer", "Items, default 25, clamped to 1…100.", nil}},
			resp:   reflect.TypeFor[EntityHistory](), serve: (*Service).serveEntityHistory},
		{Path: "jobs", Methods: get, Role: RoleAdmin, Summary: "Background jobs with schedule, last and next run.", action: "retrieve jobs",
			resp: reflect.TypeFor[jobsDoc](), serve: (*Service).serveJobs},
		{Path: "jobs/{name}/run", Methods: post, Role: RoleAdmin, Summary: "Run a background job once, now (202), under the scheduler's once-per-cluster guard.", action: "run job",
			resp: reflect.TypeFor[JobRunStarted](), okStatus: http.StatusAccepted, noBody: true, audited: true, finds: true, serve: (*Service).serveRunJob},
		{Path: "cache/invalidate", Methods: post, Role: RoleAdmin, Summary: "Clear every cached analytics result on every replica.", action: "invalidate cache",
			resp: reflect.TypeFor[CacheInvalidated](), noBody: true, audited: true, serve: (*Service).serveInvalidate},
		{Path: "users/{id}/activities", Methods: []string{http.MethodDelete}, Role: RoleAdmin, Summary: "Erase one user's activity.", action: "erase user activities",
			resp: reflect.TypeFor[ErasedActivities](), audited: true, serve: (*Service).serveErase},
		{Path: "activities", Methods: post, Summary: "Record an activity of the caller (202).", action: "record activity",
			resp: reflect.TypeFor[ActivityAccepted](), req: reflect.TypeFor[ActivityInput](), okStatus: http.StatusAccepted, serve: (*Service).serveRecordActivity},
		{Path: "ingest/activities", Methods: post, Role: RoleAdmin, Summary: "Write up to 10,000 historical activities, all or nothing.", action: "ingest activities",
			resp: reflect.TypeFor[Ingested](), req: reflect.TypeFor[IngestActivitiesInput](), okStatus: http.StatusCreated, audited: true, conflicts: true, serve: (*Service).serveIngestActivities},
		{Path: "ingest/clients", Methods: post, Role: RoleManager, Summary: "Create or update a client.", action: "ingest client",
			resp: reflect.TypeFor[ClientOut](), req: reflect.TypeFor[ClientInput](), okStatus: http.StatusCreated, audited: true, serve: (*Service).serveIngestClient},
		{Path: "ingest/reports", Methods: post, Role: RoleAnalyst, Summary: "Create or replace a report with its recommendations.", action: "ingest report",
			resp: reflect.TypeFor[ReportOut](), req: reflect.TypeFor[ReportInput](), okStatus: http.StatusCreated, audited: true, serve: (*Service).serveIngestReport},
		{Path: "ingest/reports/batch", Methods: post, Role: RoleAnalyst, Summary: "Create or replace up to 1,000 reports with their recommendations, all or nothing.", action: "ingest reports",
			resp: reflect.TypeFor[ReportsIngested](), req: reflect.TypeFor[IngestReportsInput](), okStatus: http.StatusCreated, audited: true, serve: (*Service).serveIngestReports},
		{Path: "ingest/advisor-csv", Methods: post, Role: RoleAnalyst, Summary: "Import an Azure Advisor CSV export as one report.", action: "import advisor csv",
			Params: []param{{"client_id", "uuid", "The client the report belongs to (required).", nil}, {"report_type", "string", "Report type, default detailed.", []string{"detailed", "executive", "cost", "security", "operations"}}},
			resp:   reflect.TypeFor[CSVImported](), okStatus: http.StatusCreated, reqMedia: "text/csv", multipart: true, bounded: true, audited: true, serve: (*Service).serveAdvisorCSV},
		{Path: "openapi.json", Methods: get, Public: true, Summary: "This API's OpenAPI 3.1 document.", action: "retrieve openapi document", serve: (*Service).serveOpenAPI},
	}
	for _, rt := range rs {
		rt.segs = splitPath(rt.Path)
		rt.Handler = s.routeHandler(rt)
	}
	return rs
}

// Routes returns the route table: every route with its own Handler, for
// hosts that register routes one by one. Register each under both
// prefix+Path and prefix+Path+"/"; a route with a {id} segment reads it
// from r.PathValue("id") or from the end of the request path.
func (s *Service) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = *rt
	}
	return out
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether segs (the tail of a path) match pattern, and the
// value of its {id} segment.
func match(pattern, segs []string) (id string, ok bool) {
	if len(pattern) != len(segs) {
		return "", false
	}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return "", false
			}
			id = segs[i]
			continue
		}
		if p != segs[i] {
			return "", false
		}
	}
	return id, true
}

// pathSegment is the {id} segment of a request's path, as Handler matched it.
type pathSegment string

// Handler returns the handler serving every route relative to where it is
// mounted: strip the mount prefix first, e.g.
//
//	mux.Handle("/api/v1/analytics/", http.StripPrefix("/api/v1/analytics", svc.Handler()))
//
// or use HandlerWithPrefix. A mount prefix other than "/api/v1/analytics"
// belongs in Config.Tracking.AnalyticsPath. An unknown path is a JSON 404.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := splitPath(r.URL.Path)
		slot := routelabel.From(w)
		for _, rt := range s.routes {
			if id, ok := match(rt.segs, segs); ok {
				if slot != nil {
					slot.Set(r.Pattern, rt.Path, true)
				}
				if id != "" {
					r = r.WithContext(withValue(r.Context(), pathSegment(id)))
				}
				rt.Handler.ServeHTTP(w, r)
				return
			}
		}
		if slot != nil {
			slot.Set(r.Pattern, "", false)
		}
		reqID := requestID(w, r)
		s.writeError(w, r, &Error{Status: http.StatusNotFound, Detail: "No analytics route at " + r.URL.Path, Summary: "Not found"}, "route", reqID)
	})
}

// HandlerWithPrefix is Handler mounted at prefix (for example
// "/api/v1/analytics"): register it on a mux with the prefix followed by
// a slash. A prefix other than "/api/v1/analytics" belongs in
// Config.Tracking.AnalyticsPath too, so that the Middleware records the
// dashboard views made there.
func (s *Service) HandlerWithPrefix(prefix string) http.Handler {
	return http.StripPrefix(strings.TrimRight(prefix, "/"), s.Handler())
}

func (rt *route) allows(method string) bool {
	for _, m := range rt.Methods {
		if m == method || (m == http.MethodGet && method == http.MethodHead) {
			return true
		}
	}
	return false
}

func (rt *route) allowHeader() string {
	var ms []string
	for _, m := range rt.Methods {
		ms = append(ms, m)
		if m == http.MethodGet {
			ms = append(ms, http.MethodHead)
		}
	}
	return strings.Join(ms, ", ")
}

func (s *Service) routeHandler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := requestID(w, r)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "analytics: panic serving request", "request_id", reqID, "route", rt.Path, "panic", fmt.Sprint(v))
				s.writeError(w, r, errors.New("panic"), rt.action, reqID)
			}
		}()
		if !rt.allows(r.Method) {
			w.Header().Set("Allow", rt.allowHeader())
			s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Detail: "Method " + r.Method + " not allowed.", Summary: "Method not allowed"}, rt.action, reqID)
			return
		}
		var p Principal
		if !rt.Public {
			var err error
			authKey := ""
			if s.cfg.RateLimit.FailedAuth > 0 {
				authKey = "auth:" + s.clientIP(r)
				if !s.rateCheck(w, r, authKey, s.cfg.RateLimit.FailedAuth, false, reqID) {
					return
				}
			}
			if p, err = s.identify(r); err != nil {
				if authKey != "" && isStatus(err, http.StatusUnauthorized) {
					s.rateSpend(w, r, authKey, s.cfg.RateLimit.FailedAuth, reqID)
				}
				s.writeError(w, r, err, "authenticate", reqID)
				return
			}
			if n := s.cfg.RateLimit.limitFor(p.Role); n > 0 && !s.rateCheck(w, r, "user:"+p.ID, n, true, reqID) {
				return
			}
			r = r.WithContext(WithPrincipal(r.Context(), p))
			// Spare the tracking middleware a second IdentifyFunc call.
			tracking.SetIdentity(r, tracking.Identity{UserID: p.ID, Username: p.Username, FullName: p.FullName})
			// The route's role is checked before its parameters, so that a
			// caller without it learns nothing from 400s.
			if err := require(p, rt.Role); err != nil {
				s.writeError(w, r, err, rt.action, reqID)
				return
			}
		}
		if err := checkRawQuery(r.URL.RawQuery); err != nil {
			s.writeError(w, r, err, rt.action, reqID)
			return
		}
		if rt.audited {
			r = r.WithContext(withValue(r.Context(), requestInfo{method: r.Method, path: requestPath(r),
				userAgent: r.UserAgent(), ip: s.track.ips.Apply(s.track.ip.ClientIP(r))}))
		}
		if !rt.Public {
			// A new request only when the reads must follow a write.
			if ctx := s.writes.forCaller(r.Context(), p.ID, s.now()); ctx != r.Context() {
				r = r.WithContext(ctx)
			}
		}
		if err := rt.serve(s, w, r, p); err != nil {
			s.writeError(w, r, err, rt.action, reqID)
		} else if rt.audited && r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writes.wrote(r.Context(), p.ID, s.now())
		}
	})
}

// errRateLimited: the caller's budget is spent (HTTP 429).
var errRateLimited = &Error{Status: http.StatusTooManyRequests, Detail: "Request limit reached; retry later.", Summary: "Too many requests"}

// rateCheck spends (take) or checks one request of key's budget of n per
// window. Over the budget it answers 429 with Retry-After and the
// RateLimit-* headers and returns false; a request taken from the budget
// carries the RateLimit-* headers too. A failing limiter lets the request
// through.
func (s *Service) rateCheck(w http.ResponseWriter, r *http.Request, key string, n int, take bool, reqID string) bool {
	res, ok := s.rateDo(r, take, key, n, reqID)
	if !ok {
		return true
	}
	if take || !res.Allowed {
		setRateHeaders(w, n, res)
	}
	if res.Allowed {
		return true
	}
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(res.RetryAfter)), 10))
	s.writeError(w, r, errRateLimited, "rate limit", reqID)
	return false
}

// rateSpend spends one request of key's budget (a failed authentication)
// and sets the RateLimit-* headers; the answer is the caller's.
func (s *Service) rateSpend(w http.ResponseWriter, r *http.Request, key string, n int, reqID string) {
	if res, ok := s.rateDo(r, true, key, n, reqID); ok {
		setRateHeaders(w, n, res)
	}
}

// rateDo calls the limiter's Take or Peek; ok is false when it failed.
func (s *Service) rateDo(r *http.Request, take bool, key string, n int, reqID string) (res RateResult, ok bool) {
	l := Limit{Requests: n, Per: s.cfg.RateLimit.Window}
	var err error
	if take {
		res, err = s.cfg.RateLimit.Limiter.Take(r.Context(), key, l)
	} else {
		res, err = s.cfg.RateLimit.Limiter.Peek(r.Context(), key, l)
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "analytics: rate limiter failed; request let through", "request_id", reqID, "err", err)
		return res, false
	}
	return res, true
}

func setRateHeaders(w http.ResponseWriter, n int, res RateResult) {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(n))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(res.Reset), 10))
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// isStatus reports whether err is an *Error with status.
func isStatus(err error, status int) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Status == status
}

// clientIP is the request's client address as the Middleware sees it
// (Config.Tracking.Middleware.IP: the trusted-proxy settings), never a
// header an untrusted client sets.
func (s *Service) clientIP(r *http.Request) string {
	a := s.cfg.Tracking.Middleware.IP.ClientIP(r)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}

func (s *Service) identify(r *http.Request) (Principal, error) {
	if s.cfg.IdentifyFunc == nil {
		return Principal{}, ErrUnauthenticated
	}
	p, err := s.cfg.IdentifyFunc(r)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return Principal{}, err
		}
		return Principal{}, fmt.Errorf("identify: %w", err)
	}
	if !p.Authenticated() {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// requestID returns the request's X-Request-ID (when it is short and
// printable) or a new one, and echoes it in the response header.
func requestID(w http.ResponseWriter, r *http.Request) string {
	id := r.Header.Get("X-Request-ID")
	ok := id != "" && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c > ' ' && c < 0x7f && c != '"' && c != '\\'
	}
	if !ok {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-ID", id)
	return id
}

// writeError maps err to its status and body (StatusOf) and writes it with
// ErrorFunc. 500s are logged with the request id; the body carries only
// the request id.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error, action, reqID string) {
	status, body := StatusOf(err, action)
	switch {
	case status == 499:
		s.log.DebugContext(r.Context(), "analytics: request cancelled", "request_id", reqID, "path", r.URL.Path)
		return
	case status >= 500:
		body.RequestID = reqID
		s.log.ErrorContext(r.Context(), "analytics: request failed", "request_id", reqID, "method", r.Method,
			"path", r.URL.Path, "status", status, "err", err)
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	reqbody.Discard(w, r)
	if s.cfg.ErrorFunc != nil {
		s.cfg.ErrorFunc(w, r, status, body)
		return
	}
	WriteErrorJSON(w, status, body)
}

// WriteErrorJSON writes body as the JSON error response (the default
// ErrorFunc).
func WriteErrorJSON(w http.ResponseWriter, status int, body ErrorBody) {
	b, _ := json.Marshal(body)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte{'\n'})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeRaw(w, status, b)
	return nil
}

// errBodyTimeout: a small JSON body did not arrive within
// Config.BodyReadTimeout.
var errBodyTimeout = &Error{Status: http.StatusRequestTimeout, Detail: "The request body did not arrive in time.", Summary: "Request timeout"}

// readJSON decodes a JSON body of at most limit bytes into v, rejecting
// unknown fields and trailing data. With timeout > 0 the whole body must
// arrive within timeout; the connection's read deadline is cleared after.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration, v any) error {
	data, err := readBody(w, r, limit, timeout)
	if err != nil {
		return err
	}
	return decodeBody(data, v)
}

// readBody reads a JSON request body of at most limit bytes (arriving
// within timeout when not 0) and refuses an empty one and one with a NUL
// character; decodeBody decodes it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) ([]byte, error) {
	var rc *http.ResponseController
	if timeout > 0 {
		rc = http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(timeout)) != nil {
			rc = nil // not supported by this ResponseWriter
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			return nil, ErrBodyTooLarge
		case rc != nil && errors.As(err, &ne) && ne.Timeout():
			return nil, errBodyTimeout
		}
		return nil, badBody("", "cannot read the request body")
	}
	if rc != nil {
		// The body is in: later reads (the server watching for the client
		// going away) must not hit the deadline.
		_ = rc.SetReadDeadline(time.Time{})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badBody("", "a JSON request body is required")
	}
	if text.HasNULEscape(data) {
		// Databases cannot store NUL in text; refuse it here rather than
		// fail in the store.
		return nil, badBody("", "strings must not contain NUL characters (\\u0000)")
	}
	return data, nil
}

// decodeBody decodes a body read by readBody into v, rejecting unknown
// fields and trailing data.
func decodeBody(data []byte, v any) error {
	if err := reqbody.Decode(data, v); err != nil {
		if errors.Is(err, reqbody.ErrTrailingData) {
			return badBody("", "unexpected data after the JSON body")
		}
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badBody("", "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badBody("", "the body must be a JSON object")
		}
		return badBody(field, "%s must be of type %s", field, jsonTypeName(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badBody(name, "unknown field %q", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badBody("", "truncated JSON body")
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return badBody("", "invalid timestamp %q: use RFC 3339", pe.Value)
	}
	return badBody("", "invalid JSON body")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	}
	return "object"
}

// checkRawQuery refuses a query string that net/http would read only in
// part: a pair with a ';' or a malformed %-escape is dropped by URL.Query,
// so the route would answer without the filter the caller sent.
func checkRawQuery(raw string) error {
	if !strings.ContainsAny(raw, ";%") {
		return nil
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		switch {
		case strings.Contains(pair, ";"):
			return badParam(queryPairName(pair), "Malformed query string: separate parameters with '&', not ';' (a ';' in a value is written %%3B).")
		case strings.Contains(pair, "%"):
			if _, err := url.ParseQuery(pair); err != nil {
				return badParam(queryPairName(pair), "Malformed query string: a '%%' must start an escape of two hex digits.")
			}
		}
	}
	return nil
}

// queryPairName is the parameter name of a malformed query pair as far as
// it can be read, for the error's field ("query" when it has none).
func queryPairName(pair string) string {
	key, _, _ := strings.Cut(pair, "=")
	key, _, _ = strings.Cut(key, ";")
	name, err := url.QueryUnescape(key)
	if err != nil {
		name = key
	}
	if name == "" {
		name = "query"
	}
	return name
}

func (s *Service) query(r *http.Request) query { return query{v: r.URL.Query(), loc: s.loc} }

// pathID returns the {id} segment of the request path.
func pathID(r *http.Request, pattern string) string {
	if id := r.PathValue("id"); id != "" {
		return id
	}
	if id, ok := valueFrom[pathSegment](r.Context()); ok {
		return string(id)
	}
	pat, segs := splitPath(pattern), splitPath(r.URL.Path)
	if len(segs) >= len(pat) {
		if id, ok := match(pat, segs[len(segs)-len(pat):]); ok {
			return id
		}
	}
	return ""
}

// requestPath is the path the client asked for (before any prefix was
// stripped), without the query.
func requestPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.Path
}
