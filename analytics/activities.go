package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// Paging defaults and limits of the activity routes.
const (
	activityLimitDefault = 25
	activityLimitMax     = 100
	summaryTopUsers      = 20
)

// UserActivityQuery filters and pages the user-activity routes.
type UserActivityQuery struct {
	Limit        int // < 1 → 25; > 100 → 100
	Offset       int // < 0 → 0; must be 0 with Cursor
	Cursor       string
	From, To     time.Time // inclusive; zero = unbounded
	UserID       string
	ActivityType string
	ClientID     string // UUID
	ReportID     string // UUID
}

func (q *UserActivityQuery) clamp() {
	if q.Limit < 1 {
		q.Limit = activityLimitDefault
	}
	q.Limit = min(q.Limit, activityLimitMax)
	q.Offset = max(q.Offset, 0)
}

// filter checks q and applies the principal's scope: admins and managers
// see everyone; other roles only themselves (another user_id → 403).
func (s *Service) scopedFilter(p Principal, q UserActivityQuery) (store.ActivityFilter, error) {
	f := store.ActivityFilter{From: q.From, To: q.To, ActivityType: q.ActivityType}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return f, badParam("date_from", "date_from must not be after date_to")
	}
	if q.UserID != "" && !s.cfg.ValidUserID(q.UserID) {
		return f, badParam("user_id", "user_id is not a valid user id")
	}
	if len(q.ActivityType) > store.MaxActivityTypeLen {
		return f, badParam("activity_type", "activity_type must be at most %d characters", store.MaxActivityTypeLen)
	}
	var ok bool
	if q.ClientID != "" {
		if f.ClientID, ok = store.NormalizeUUID(q.ClientID); !ok {
			return f, badParam("client_id", "client_id must be a UUID")
		}
	}
	if q.ReportID != "" {
		if f.ReportID, ok = store.NormalizeUUID(q.ReportID); !ok {
			return f, badParam("report_id", "report_id must be a UUID")
		}
	}
	f.UserID = q.UserID
	if !p.seesEveryone() {
		if q.UserID != "" && q.UserID != p.ID {
			return f, ErrForbidden
		}
		f.UserID = p.ID
	}
	return f, nil
}

// activityUser is the user of an activity.
type activityUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
}

// activityItem is one activity of the user-activity route.
type activityItem struct {
	ID           string         `json:"id"`
	User         activityUser   `json:"user"`
	ActivityType string         `json:"activity_type"`
	Description  string         `json:"description"`
	Metadata     map[string]any `json:"metadata"`
	ClientID     *string        `json:"client_id"`
	ReportID     *string        `json:"report_id"`
	Timestamp    Timestamp      `json:"timestamp"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toActivityItem(a *store.Activity) activityItem {
	full := a.FullName
	if full == "" {
		full = a.Username
	}
	md := a.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return activityItem{
		ID:           a.ID,
		User:         activityUser{ID: a.UserID, Username: a.Username, FullName: full},
		ActivityType: a.ActivityType,
		Description:  a.Description,
		Metadata:     md,
		ClientID:     nullable(a.ClientID),
		ReportID:     nullable(a.ReportID),
		Timestamp:    ts(a.CreatedAt),
	}
}

// ActivityPage is the body of the user-activity route.
type ActivityPage struct {
	Activities []activityItem `json:"activities"`
	pageInfo
}

// pageInfo is where a page of the user-activity and activity-history
// routes stands: the filter's total, the query's window and the way on.
type pageInfo struct {
	TotalCount  int64   `json:"total_count"`
	Limit       int     `json:"limit"`
	Offset      int     `json:"offset"`
	HasNext     bool    `json:"has_next"`
	HasPrevious bool    `json:"has_previous"`
	NextCursor  *string `json:"next_cursor"`
}

// newPageInfo describes page, read for q.
func newPageInfo(page *store.ActivityPage, q UserActivityQuery) pageInfo {
	pi := pageInfo{TotalCount: page.Total, Limit: q.Limit, Offset: q.Offset, HasNext: page.HasNext,
		HasPrevious: q.Offset > 0 || q.Cursor != ""}
	if page.HasNext && page.NextCursor != "" {
		pi.NextCursor = &page.NextCursor
	}
	return pi
}

func (s *Service) listActivities(ctx context.Context, p Principal, q UserActivityQuery) (*store.ActivityPage, UserActivityQuery, error) {
	q.clamp()
	if q.Cursor != "" && q.Offset != 0 {
		return nil, q, badParam("offset", "offset must be 0 when cursor is given")
	}
	if q.Cursor != "" {
		if _, _, err := storedriver.DecodeCursor(q.Cursor); err != nil {
			return nil, q, badParam("cursor", "cursor is malformed")
		}
	}
	f, err := s.scopedFilter(p, q)
	if err != nil {
		return nil, q, err
	}
	done, err := s.reads.wait(ctx, p.ID)
	if err != nil {
		return nil, q, err
	}
	page, err := s.st.ActivityList(ctx, store.ActivityListParams{ActivityFilter: f, Limit: q.Limit, Offset: q.Offset, Cursor: q.Cursor})
	done()
	if err != nil {
		return nil, q, fmt.Errorf("list activities: %w", err)
	}
	return page, q, nil
}

// UserActivity returns one page of activities, newest first. Admins and
// managers see everyone; other roles see their own activity only (a
// UserID other than their own is ErrForbidden).
func (s *Service) UserActivity(ctx context.Context, p Principal, q UserActivityQuery) (*ActivityPage, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	page, q, err := s.listActivities(ctx, p, q)
	if err != nil {
		return nil, err
	}
	out := &ActivityPage{Activities: make([]activityItem, 0, len(page.Activities)), pageInfo: newPageInfo(page, q)}
	for i := range page.Activities {
		out.Activities = append(out.Activities, toActivityItem(&page.Activities[i]))
	}
	return out, nil
}

// historyClient is the client of an activity-history item.
type historyClient struct {
	ID          string  `json:"id"`
	CompanyName *string `json:"company_name"`
}

// historyReport is the report of an activity-history item.
type historyReport struct {
	ID         string  `json:"id"`
	ReportType *string `json:"report_type"`
	Status     *string `json:"status"`
}

// historyItem is one activity of the activity-history and entity-history
// routes: the user-activity item plus the request details.
type historyItem struct {
	activityItem
	IPAddress  *string        `json:"ip_address"`
	UserAgent  string         `json:"user_agent"`
	Method     string         `json:"method"`
	Path       string         `json:"path"`
	Client     *historyClient `json:"client"`
	Report     *historyReport `json:"report"`
	StatusCode int            `json:"status_code"`
	DurationMS int64          `json:"duration_ms"`
}

// HistoryPage is the body of the activity-history route.
type HistoryPage struct {
	Activities []historyItem `json:"activities"`
	pageInfo
}

// historyItems converts activities, looking up each distinct client and
// report once.
func (s *Service) historyItems(ctx context.Context, acts []store.Activity) ([]historyItem, error) {
	clients := map[string]*historyClient{}
	reports := map[string]*historyReport{}
	out := make([]historyItem, 0, len(acts))
	for i := range acts {
		a := &acts[i]
		it := historyItem{activityItem: toActivityItem(a), IPAddress: nullable(a.IPAddress), UserAgent: a.UserAgent,
			Method: a.Method, Path: a.Path, StatusCode: a.StatusCode, DurationMS: a.Duration.Milliseconds()}
		var err error
		if a.ClientID != "" {
			if it.Client, err = memoized(ctx, clients, a.ClientID, s.historyClient); err != nil {
				return nil, err
			}
		}
		if a.ReportID != "" {
			if it.Report, err = memoized(ctx, reports, a.ReportID, s.historyReport); err != nil {
				return nil, err
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// memoized returns cache[id], loading and keeping it on the first call.
func memoized[T any](ctx context.Context, cache map[string]*T, id string, load func(context.Context, string) (*T, error)) (*T, error) {
	if v, ok := cache[id]; ok {
		return v, nil
	}
	v, err := load(ctx, id)
	if err != nil {
		return nil, err
	}
	cache[id] = v
	return v, nil
}

// historyClient is the client of an activity; only its id when it no
// longer exists.
func (s *Service) historyClient(ctx context.Context, id string) (*historyClient, error) {
	c, ok, err := stored(ctx, s.st.ClientGet, "client", id)
	if err != nil || !ok {
		return &historyClient{ID: id}, err
	}
	return &historyClient{ID: id, CompanyName: &c.CompanyName}, nil
}

// historyReport is the report of an activity; only its id when it no
// longer exists.
func (s *Service) historyReport(ctx context.Context, id string) (*historyReport, error) {
	r, ok, err := stored(ctx, s.st.ReportGet, "report", id)
	if err != nil || !ok {
		return &historyReport{ID: id}, err
	}
	rt, st := string(r.ReportType), string(r.Status)
	return &historyReport{ID: id, ReportType: &rt, Status: &st}, nil
}

// stored reads the entity id with get; ok is false when it does not
// exist.
func stored[T any](ctx context.Context, get func(context.Context, string) (T, error), what, id string) (v T, ok bool, err error) {
	v, err = get(ctx, id)
	ok, err = found(err, what+" "+id)
	return v, ok, err
}

// listHistory is listActivities with the history item of each activity.
func (s *Service) listHistory(ctx context.Context, p Principal, q UserActivityQuery) (*store.ActivityPage, UserActivityQuery, []historyItem, error) {
	page, q, err := s.listActivities(ctx, p, q)
	if err != nil {
		return nil, q, nil, err
	}
	items, err := s.historyItems(ctx, page.Activities)
	return page, q, items, err
}

// ActivityHistory is UserActivity with the request details of each
// activity and its client and report. Admin or manager.
func (s *Service) ActivityHistory(ctx context.Context, p Principal, q UserActivityQuery) (*HistoryPage, error) {
	if err := require(p, RoleManager); err != nil {
		return nil, err
	}
	page, q, items, err := s.listHistory(ctx, p, q)
	if err != nil {
		return nil, err
	}
	return &HistoryPage{Activities: items, pageInfo: newPageInfo(page, q)}, nil
}

// EntityHistory is the body of the entity-history route.
type EntityHistory struct {
	EntityType string        `json:"entity_type"`
	EntityID   string        `json:"entity_id"`
	Activities []historyItem `json:"activities"`
	Count      int           `json:"count"`
	TotalCount int64         `json:"total_count"`
}

// EntityHistory returns the newest activities about one client or report
// (entityType "client" or "report"); limit as in UserActivity. Admin or
// manager.
func (s *Service) EntityHistory(ctx context.Context, p Principal, entityType, entityID string, limit int) (*EntityHistory, error) {
	if err := require(p, RoleManager); err != nil {
		return nil, err
	}
	q := UserActivityQuery{Limit: limit}
	switch entityType {
	case "client":
		q.ClientID = entityID
	case "report":
		q.ReportID = entityID
	default:
		return nil, badParam("entity_type", "Invalid entity_type. Must be one of: client, report")
	}
	id, ok := store.NormalizeUUID(entityID)
	if !ok {
		return nil, badParam("entity_id", "entity_id must be a UUID")
	}
	page, _, items, err := s.listHistory(ctx, p, q)
	if err != nil {
		return nil, err
	}
	return &EntityHistory{EntityType: entityType, EntityID: id, Activities: items, Count: len(items), TotalCount: page.Total}, nil
}

// SummaryItem is one group of the activity-summary route; only the keys of
// the grouping are present.
type SummaryItem struct {
	ActivityType *string `json:"activity_type,omitempty"`
	UserID       *string `json:"user_id,omitempty"`
	Username     *string `json:"username,omitempty"`
	Date         *string `json:"date,omitempty"`
	Count        int64   `json:"count"`
	Percentage   Decimal `json:"percentage"`
}

// dateRangeEcho echoes the date parameters of a summary.
type dateRangeEcho struct {
	From *string `json:"from"`
	To   *string `json:"to"`
}

// ActivitySummary is the body of the activity-summary route.
type ActivitySummary struct {
	Summary         []SummaryItem `json:"summary"`
	TotalActivities int64         `json:"total_activities"`
	DateRange       dateRangeEcho `json:"date_range"`
	GroupBy         string        `json:"group_by"`
}

// checkGroupBy refuses a group_by other than "" (the default),
// activity_type, user and day.
func checkGroupBy(groupBy string) error {
	switch store.SummaryGroup(groupBy) {
	case "", store.GroupByType, store.GroupByUser, store.GroupByDay:
		return nil
	}
	return badParam("group_by", "Invalid group_by. Must be one of: activity_type, user, day")
}

// ActivitySummary groups activities by type, user (top 20)
// or local day. Admins and managers aggregate everyone; other roles their
// own activity. Not cached. groupBy "" means by activity type.
func (s *Service) ActivitySummary(ctx context.Context, p Principal, groupBy string, dr DateRange) (*ActivitySummary, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	if err := checkGroupBy(groupBy); err != nil {
		return nil, err
	}
	if groupBy == "" {
		groupBy = string(store.GroupByType)
	}
	g := store.SummaryGroup(groupBy)
	f, err := s.scopedFilter(p, UserActivityQuery{From: dr.From, To: dr.To})
	if err != nil {
		return nil, err
	}
	done, err := s.reads.wait(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	sum, err := s.st.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: g, Limit: summaryTopUsers, Location: s.loc})
	done()
	if err != nil {
		return nil, fmt.Errorf("activity summary: %w", err)
	}
	out := &ActivitySummary{Summary: make([]SummaryItem, 0, len(sum.Rows)), TotalActivities: sum.Total,
		DateRange: dateRangeEcho{From: nullable(dr.FromText), To: nullable(dr.ToText)}, GroupBy: groupBy}
	for _, r := range sum.Rows {
		it := SummaryItem{Count: r.Count, Percentage: percentOf(float64(r.Count), float64(sum.Total), 1)}
		switch g {
		case store.GroupByType:
			it.ActivityType = &r.ActivityType
		case store.GroupByUser:
			it.UserID, it.Username = &r.UserID, &r.Username
		case store.GroupByDay:
			it.Date = &r.Day
		}
		out.Summary = append(out.Summary, it)
	}
	return out, nil
}

// ErasedActivities is the body of the erase route.
type ErasedActivities struct {
	UserID  string `json:"user_id"`
	Deleted int64  `json:"deleted"`
}

// EraseUserActivities deletes every activity of one user (right to
// erasure). Admin only.
func (s *Service) EraseUserActivities(ctx context.Context, p Principal, userID string) (*ErasedActivities, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	if !s.cfg.ValidUserID(userID) {
		return nil, badParam("id", "user id is not valid")
	}
	// Events of the user still queued or spooled are dropped first, so
	// they cannot reappear after the deletion.
	s.track.rec.Forget(userID)
	n, err := s.st.ActivityDeleteByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("erase activities of a user: %w", err)
	}
	s.log.InfoContext(ctx, "analytics: erased user activities", "user_id", userID, "deleted", n, "by", p.ID)
	s.audit(ctx, p, AdminAction{Action: ActionEraseUserActivity, Description: "Erased the activity of user " + userID,
		Targets: map[string]any{"target_user_id": userID, "deleted": n}})
	return &ErasedActivities{UserID: userID, Deleted: n}, nil
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
	mc := c.Middleware
	switch {
	case mc.Recorder != nil || mc.Identify != nil:
		return nil, errors.New("analytics: Config.Tracking.Middleware: Recorder and Identify are set by the Service; leave them nil")
	case c.AnalyticsPath != "" && !strings.HasPrefix(c.AnalyticsPath, "/"):
		return nil, fmt.Errorf("analytics: Config.Tracking.AnalyticsPath %q must start with /", c.AnalyticsPath)
	case c.AnalyticsPath != "" && mc.Rules != nil:
		return nil, errors.New("analytics: Config.Tracking.AnalyticsPath cannot be combined with Middleware.Rules; build Rules with tracking.DefaultRulesAt")
	case mc.Rules == nil:
		mc.Rules = tracking.DefaultRulesAt(c.AnalyticsPath)
	}
	if mc.IP == nil {
		mc.IP, _ = tracking.NewIPResolver(tracking.IPConfig{}) // cannot fail: no proxies to parse
	}
	ips, err := tracking.NewIPStore(mc.IPStorage, mc.IPHashKey)
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking.Middleware: %w", err)
	}
	rec, err := tracking.NewRecorder(s.st, rc)
	if err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking.Recorder: %w", err)
	}
	if mc.Stats == nil {
		mc.Stats = &tracking.HTTPStats{}
	}
	t := &trackingParts{rec: rec, stats: mc.Stats, ip: mc.IP, ips: ips}
	mc.Recorder, mc.Identify = rec, s.identifyForTracking
	if mc.Logger == nil {
		mc.Logger = s.log
	}
	if mc.NowFunc == nil {
		mc.NowFunc = s.cfg.NowFunc
	}
	if t.mw, err = tracking.NewMiddleware(mc); err != nil {
		return nil, fmt.Errorf("analytics: Config.Tracking.Middleware: %w", err)
	}
	return t, nil
}

// identifyForTracking tells the Middleware who made a request: the
// principal the Handler stored, or IdentifyFunc's answer.
func (s *Service) identifyForTracking(r *http.Request) (tracking.Identity, bool) {
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

// HTTPStats returns the request figures of the last 24 hours that the
// Middleware (or the host, through Config.Tracking.Middleware.Stats)
// counted: a snapshot, taken now.
func (s *Service) HTTPStats() tracking.HTTPFigures { return s.track.stats.Snapshot(s.now()) }

// fillFromRequest sets the request details of an activity recorded through
// the activities route, and keeps the middleware from recording the call
// itself as a second activity.
func (s *Service) fillFromRequest(a *store.Activity, r *http.Request) {
	tracking.Skip(r)
	a.UserAgent = r.UserAgent()
	a.IPAddress = s.track.ips.Apply(s.track.ip.ClientIP(r))
}
