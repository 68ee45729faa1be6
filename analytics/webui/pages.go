package webui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// pageNames are the templates under templates/, one per page.
var pageNames = []string{"overview", "activity", "clients", "client", "cost", "health", "error", "signin"}

func (h *Handler) parseTemplates() error {
	loc := h.cfg.Location
	funcs := template.FuncMap{
		"num":       func(n int64) string { return thousands(n) },
		"int":       func(n int) string { return thousands(int64(n)) },
		"dec":       func(d analytics.Decimal, places int) string { return decimalText(float64(d), places) },
		"money":     func(d analytics.Decimal) string { return money(h.cfg.Currency, float64(d)) },
		"pct":       func(d analytics.Decimal) string { return percent(float64(d)) },
		"change":    func(d analytics.Decimal) string { return change(float64(d)) },
		"chclass":   func(d analytics.Decimal) string { return changeClass(float64(d)) },
		"bytes":     bytesText,
		"seconds":   func(d analytics.Decimal) string { return seconds(float64(d)) },
		"meter":     func(d analytics.Decimal, color string) template.HTML { return meter(float64(d), color) },
		"rel":       func(t time.Time) string { return relative(t, h.cfg.Now(), loc) },
		"exact":     func(t time.Time) string { return exactTime(t, loc) },
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ts":        func(t analytics.Timestamp) time.Time { return t.Time() },
		"deref":     func(s *string) string { return deref(s) },
		"isoDate":   func(t time.Time) string { return t.In(loc).Format(time.DateOnly) },
		"title":     titleText,
		"nonzero":   func(t time.Time) bool { return !t.IsZero() },
		"pageLink":  func(prefix, p string) string { return prefix + p },
		"breakable": breakable,
	}
	h.pages = make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("webui: parse template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// titleText turns "report_generated" into "Report generated".
func titleText(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8] + "…"
	}
	return s
}

// card is one metric of the overview.
type card struct {
	Key       string // the JSON key of the figure, for tests
	Label     string
	Value     string
	Raw       string // the figure as the API writes it
	Change    analytics.Decimal
	HasChange bool
	// ChangeOf names what Change measures when it is not the figure
	// itself ("new clients" beside the active clients).
	ChangeOf string
	Note     string
}

type overviewData struct {
	Cards      []card
	Days       int
	Trend      []analytics.TrendPoint
	TrendTotal int64
	TrendPeak  int64
	TrendAvg   analytics.Decimal
	TrendChart template.HTML
	Categories []analytics.CategoryShare
	Impact     *analytics.BusinessImpact
	Recent     []analytics.RecentItem
}

func (h *Handler) overview(r *http.Request, p analytics.Principal) (string, any, error) {
	ctx := r.Context()
	d, err := h.svc.Dashboard(ctx, p)
	if err != nil {
		return "", nil, err
	}
	days := 30
	if r.URL.Query().Get("days") == "90" {
		days = 90
	}
	trend := d.TrendData
	var sum analytics.TrendSummary
	if days != 30 {
		t, err := h.svc.Trends(ctx, p, days)
		if err != nil {
			return "", nil, err
		}
		trend, sum = t.Data, t.Summary
	} else {
		for _, pt := range trend {
			sum.Total += pt.Total
			sum.Peak = max(sum.Peak, pt.Total)
		}
		if len(trend) > 0 {
			sum.Average = analytics.Decimal(float64(sum.Total) / float64(len(trend)))
		}
	}
	impact, err := h.svc.BusinessImpact(ctx, p)
	if err != nil {
		return "", nil, err
	}
	m := d.Metrics
	cur := h.cfg.Currency
	out := &overviewData{Days: days, Trend: trend, TrendTotal: sum.Total, TrendPeak: sum.Peak, TrendAvg: sum.Average,
		Categories: d.CategoryDistribution, Impact: impact, Recent: d.RecentActivity}
	out.Cards = []card{
		{Key: "total_reports", Label: "Reports", Value: thousands(m.TotalReports), Raw: strconv.FormatInt(m.TotalReports, 10), Change: m.TotalReportsChange, HasChange: true, Note: "all time"},
		{Key: "reportsGeneratedThisMonth", Label: "Reports this month", Value: thousands(m.ReportsGeneratedThisMonth), Raw: strconv.FormatInt(m.ReportsGeneratedThisMonth, 10), Change: m.Trends.Reports, HasChange: true},
		{Key: "active_users", Label: "Active users", Value: thousands(m.ActiveUsers), Raw: strconv.FormatInt(m.ActiveUsers, 10), Change: m.ActiveUsersChange, HasChange: true, Note: "this month"},
		{Key: "activeClients", Label: "Active clients", Value: thousands(m.ActiveClients), Raw: strconv.FormatInt(m.ActiveClients, 10), Change: m.Trends.Clients, HasChange: true, ChangeOf: "new clients"},
		{Key: "total_cost_analyzed", Label: "Cost analysed", Value: money(cur, float64(m.TotalCostAnalyzed)), Raw: m.TotalCostAnalyzed.String(), Change: m.TotalCostAnalyzedChange, HasChange: true},
		{Key: "totalPotentialSavings", Label: "Potential savings this month", Value: money(cur, float64(m.TotalPotentialSavings)), Raw: m.TotalPotentialSavings.String(), Change: m.Trends.Savings, HasChange: true},
		{Key: "totalRecommendations", Label: "Recommendations this month", Value: thousands(m.TotalRecommendations), Raw: strconv.FormatInt(m.TotalRecommendations, 10), Change: m.Trends.Recommendations, HasChange: true},
		{Key: "avg_generation_time", Label: "Average generation time", Value: seconds(float64(m.AvgGenerationTime)), Raw: m.AvgGenerationTime.String(), Change: m.AvgGenerationTimeChange, HasChange: true},
		{Key: "success_rate", Label: "Success rate", Value: percent(float64(m.SuccessRate)), Raw: m.SuccessRate.String(), Note: "completed reports"},
	}
	pts := make([]point, len(trend))
	for i, t := range trend {
		pts[i] = point{Label: shortDate(t.Date), Value: float64(t.Total), Text: thousands(t.Total) + " reports"}
	}
	out.TrendChart = lineChart("trend-chart", fmt.Sprintf("Reports per day over the last %d days", days), pts,
		countTick)
	return "Overview", out, nil
}

// countTick labels a count axis: whole numbers, or one decimal between.
func countTick(v float64) string {
	if v == float64(int64(v)) {
		return decimalText(v, 0)
	}
	return decimalText(v, 1)
}

// shortDate turns "2025-06-15" into "15 Jun".
func shortDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2 Jan")
}

// filters are the activity page's parameters, as given.
type filters struct {
	UserID, Type, From, To, ClientID string
}

func (f filters) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"user_id": f.UserID, "activity_type": f.Type, "date_from": f.From, "date_to": f.To, "client_id": f.ClientID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// clientNames names the clients of the activities of page, and the client
// of the filter, by their company names; a client that cannot be read
// (deleted since, say) keeps the start of its id. Names read in the last
// minute come from h.names.
func (h *Handler) clientNames(ctx context.Context, p analytics.Principal, page *analytics.ActivityPage, filtered string) map[string]string {
	names := map[string]string{}
	if filtered != "" {
		names[filtered] = ""
	}
	for _, a := range page.Activities {
		if a.ClientID != nil {
			names[*a.ClientID] = ""
		}
	}
	var missing []string
	for id := range names {
		if name, ok := h.names.get(id); ok {
			names[id] = name
		} else {
			names[id] = shortID(id)
			missing = append(missing, id)
		}
	}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(4)
	for _, id := range missing {
		g.Go(func() error {
			if c, err := h.svc.Client(ctx, p, id); err == nil {
				h.names.put(id, c.CompanyName)
				mu.Lock()
				names[id] = c.CompanyName
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return names
}

// clientNameCache keeps the company names the Activity page read, for a
// minute: a renamed client shows its new name within a minute.
type clientNameCache struct {
	mu sync.Mutex
	m  map[string]cachedName
}

type cachedName struct {
	name string
	at   time.Time
}

const (
	clientNameTTL  = time.Minute
	clientNamesMax = 10_000 // past this many, the cache starts again empty
)

func (c *clientNameCache) get(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[id]
	if !ok || time.Since(n.at) > clientNameTTL {
		return "", false
	}
	return n.name, true
}

func (c *clientNameCache) put(id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= clientNamesMax {
		c.m = make(map[string]cachedName)
	}
	c.m[id] = cachedName{name, time.Now()}
}

type activityData struct {
	ClientNames map[string]string // client id → company name
	Filters     filters
	SeesAll     bool
	Page        *analytics.ActivityPage
	NextURL     string
	FirstURL    string
	CSVURL      string
	NDJSONURL   string
	Types       []string
	ByDay       *analytics.ActivitySummary
	ByDayChart  template.HTML
	ByType      *analytics.ActivitySummary
	FilterError string
}

// dateRange parses date_from and date_to (YYYY-MM-DD, a date_to covering
// its whole day) in the dashboard's zone.
func (h *Handler) dateRange(from, to string) (analytics.DateRange, error) {
	dr := analytics.DateRange{FromText: from, ToText: to}
	if from != "" {
		t, err := time.Parse(time.DateOnly, from)
		if err != nil {
			return dr, &analytics.Error{Status: http.StatusBadRequest, Detail: "The start date must be a date (YYYY-MM-DD).", Summary: "Invalid filter", Field: "date_from"}
		}
		dr.From = dates.DayStart(t.Year(), t.Month(), t.Day(), h.cfg.Location).UTC()
	}
	if to != "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return dr, &analytics.Error{Status: http.StatusBadRequest, Detail: "The end date must be a date (YYYY-MM-DD).", Summary: "Invalid filter", Field: "date_to"}
		}
		dr.To = dates.DayStart(t.Year(), t.Month(), t.Day()+1, h.cfg.Location).Add(-time.Microsecond).UTC()
	}
	return dr, nil
}

func (h *Handler) activityFilters(r *http.Request, p analytics.Principal) (filters, analytics.UserActivityQuery, analytics.DateRange, error) {
	qv := r.URL.Query()
	f := filters{UserID: strings.TrimSpace(qv.Get("user_id")), Type: strings.TrimSpace(qv.Get("activity_type")),
		From: strings.TrimSpace(qv.Get("date_from")), To: strings.TrimSpace(qv.Get("date_to")),
		ClientID: strings.TrimSpace(qv.Get("client_id"))}
	if !p.AtLeast(analytics.RoleManager) {
		f.UserID = "" // the Service scopes the others to themselves
	}
	dr, err := h.dateRange(f.From, f.To)
	q := analytics.UserActivityQuery{From: dr.From, To: dr.To, UserID: f.UserID, ActivityType: f.Type, ClientID: f.ClientID}
	return f, q, dr, err
}

func (h *Handler) activity(r *http.Request, p analytics.Principal) (string, any, error) {
	ctx := r.Context()
	f, q, dr, err := h.activityFilters(r, p)
	if err != nil {
		return "", nil, err
	}
	q.Cursor = r.URL.Query().Get("cursor")
	q.Limit = 25
	// The page and the two summaries are independent queries: run them
	// concurrently (PostgreSQL answers them on separate connections).
	var page *analytics.ActivityPage
	var byDay, byType *analytics.ActivitySummary
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { page, err = h.svc.UserActivity(gctx, p, q); return err })
	g.Go(func() (err error) { byDay, err = h.svc.ActivitySummary(gctx, p, "day", dr); return err })
	g.Go(func() (err error) { byType, err = h.svc.ActivitySummary(gctx, p, "activity_type", dr); return err })
	if err := g.Wait(); err != nil {
		return "", nil, err
	}
	base := h.cfg.Prefix + "/activity"
	fq := f.query()
	out := &activityData{Filters: f, SeesAll: p.AtLeast(analytics.RoleManager), Page: page, ByDay: byDay, ByType: byType,
		ClientNames: h.clientNames(ctx, p, page, f.ClientID)}
	out.FirstURL = base + "?" + fq.Encode()
	if page.NextCursor != nil {
		nq := f.query()
		nq.Set("cursor", *page.NextCursor)
		out.NextURL = base + "?" + nq.Encode()
	}
	for _, format := range []string{"csv", "ndjson"} {
		eq := f.query()
		eq.Set("format", format)
		if format == "csv" {
			out.CSVURL = base + "/export?" + eq.Encode()
		} else {
			out.NDJSONURL = base + "/export?" + eq.Encode()
		}
	}
	for _, it := range byType.Summary {
		out.Types = append(out.Types, deref(it.ActivityType))
	}
	if f.Type != "" && !slices.Contains(out.Types, f.Type) {
		out.Types = append(out.Types, f.Type)
	}
	slices.Sort(out.Types)
	days := slices.Clone(byDay.Summary)
	slices.SortFunc(days, func(a, b analytics.SummaryItem) int { return strings.Compare(deref(a.Date), deref(b.Date)) })
	pts := make([]point, len(days))
	for i, d := range days {
		pts[i] = point{Label: shortDate(deref(d.Date)), Value: float64(d.Count), Text: thousands(d.Count) + " activities"}
	}
	out.ByDayChart = barChart("activity-day-chart", "Activities per day", pts, countTick)
	return "Activity", out, nil
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request, p analytics.Principal) {
	format := r.URL.Query().Get("format")
	if format != analytics.FormatCSV && format != analytics.FormatNDJSON {
		h.fail(w, r, p, &analytics.Error{Status: http.StatusBadRequest, Detail: "The format must be csv or ndjson.", Summary: "Invalid parameter", Field: "format"})
		return
	}
	_, q, _, err := h.activityFilters(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	// Check the scope and filters before the status line goes out.
	probe := q
	probe.Limit = 1
	if _, err := h.svc.UserActivity(r.Context(), p, probe); err != nil {
		h.fail(w, r, p, err)
		return
	}
	ctype := "text/csv; charset=utf-8"
	if format == analytics.FormatNDJSON {
		ctype = "application/x-ndjson"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="user-activity-%s.%s"`, h.cfg.Now().UTC().Format("20060102T150405Z"), format))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := h.svc.ExportUserActivity(r.Context(), p, q, w, format); err != nil {
		h.cfg.Logger.Error("dashboard export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
}

type clientsData struct {
	List      []analytics.ClientOut // the page of the client directory
	Search    string                // the text its clients' names contain, if any
	PrevURL   string                // the directory's previous page, when there is one
	NextURL   string                // and its next
	Perf      *analytics.ClientPerformance
	Client    *analytics.ClientOut   // the client of a client's page
	Reports   []analytics.RecentItem // and its newest reports
	ClientID  string
	History   *analytics.EntityHistory
	SeesAll   bool
	Breakdown []share
}

// share is one row of a share table.
type share struct {
	Name  string
	Count int64
	Pct   analytics.Decimal
	Color string
}

func breakdown(perf *analytics.ClientPerformance) []share {
	var total int64
	for _, c := range perf.CategoryBreakdown {
		total += c.Count
	}
	out := make([]share, 0, len(perf.CategoryBreakdown))
	for _, c := range perf.CategoryBreakdown {
		pct := 0.0
		if total > 0 {
			pct = float64(c.Count) * 100 / float64(total)
		}
		out = append(out, share{Name: titleText(c.Category), Count: c.Count, Pct: analytics.Decimal(pct)})
	}
	return out
}

func (h *Handler) clients(r *http.Request, p analytics.Principal) (string, any, error) {
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("search"))
	// An id, given in the id field of older links or found elsewhere and
	// pasted into the search, opens that client.
	for _, id := range []string{strings.TrimSpace(q.Get("client_id")), search} {
		if norm, ok := store.NormalizeUUID(id); ok {
			return "", nil, redirectTo(h.cfg.Prefix + "/clients/" + norm)
		}
	}
	if q.Get("client_id") != "" {
		return "", nil, &analytics.Error{Status: http.StatusBadRequest, Detail: "The client id must be a UUID.", Summary: "Invalid parameter", Field: "client_id"}
	}
	offset := 0
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", nil, &analytics.Error{Status: http.StatusBadRequest, Detail: "The offset must be a whole number.", Summary: "Invalid parameter", Field: "offset"}
		}
		offset = max(n, 0)
	}
	// One client more than the page shows tells whether there is a next page.
	list, err := h.svc.Clients(r.Context(), p, search, clientsPerPage+1, offset)
	if err != nil {
		return "", nil, err
	}
	perf, err := h.svc.ClientPerformance(r.Context(), p, "")
	if err != nil {
		return "", nil, err
	}
	out := &clientsData{List: list, Search: search, Perf: perf, SeesAll: p.AtLeast(analytics.RoleManager), Breakdown: breakdown(perf)}
	at := func(offset int) string {
		v := url.Values{}
		if search != "" {
			v.Set("search", search)
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		if len(v) == 0 {
			return h.cfg.Prefix + "/clients"
		}
		return h.cfg.Prefix + "/clients?" + v.Encode()
	}
	if len(list) > clientsPerPage {
		out.List = list[:clientsPerPage]
		out.NextURL = at(offset + clientsPerPage)
	}
	if offset > 0 {
		out.PrevURL = at(max(offset-clientsPerPage, 0))
	}
	return "Clients", out, nil
}

const (
	clientsPerPage = 50 // the length of a page of the client directory
	clientReports  = 10 // the newest reports a client's page lists
)

func (h *Handler) client(r *http.Request, p analytics.Principal) (string, any, error) {
	c, err := h.svc.Client(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return "", nil, err
	}
	perf, err := h.svc.ClientPerformance(r.Context(), p, c.ID)
	if err != nil {
		return "", nil, err
	}
	reports, err := h.svc.ClientRecentActivity(r.Context(), p, c.ID, clientReports)
	if err != nil {
		return "", nil, err
	}
	out := &clientsData{Client: c, Reports: reports, Perf: perf, ClientID: c.ID, SeesAll: p.AtLeast(analytics.RoleManager), Breakdown: breakdown(perf)}
	if out.SeesAll {
		if out.History, err = h.svc.EntityHistory(r.Context(), p, "client", c.ID, 10); err != nil {
			return "", nil, err
		}
	}
	return c.CompanyName, out, nil
}

type costData struct {
	From, To string
	Types    []typeOption
	Insights *analytics.CostInsights
	Chart    template.HTML
}

type typeOption struct {
	Value, Label string
	Checked      bool
}

func (h *Handler) cost(r *http.Request, p analytics.Principal) (string, any, error) {
	qv := r.URL.Query()
	from, to := strings.TrimSpace(qv.Get("date_from")), strings.TrimSpace(qv.Get("date_to"))
	dr, err := h.dateRange(from, to)
	if err != nil {
		return "", nil, err
	}
	cq := analytics.CostQuery{From: dr.From, To: dr.To}
	chosen := qv["report_type"]
	out := &costData{From: from, To: to}
	for _, t := range store.ReportTypes {
		on := slices.Contains(chosen, string(t))
		if on {
			cq.Types = append(cq.Types, t)
		}
		out.Types = append(out.Types, typeOption{Value: string(t), Label: titleText(string(t)), Checked: on})
	}
	if len(chosen) > len(store.ReportTypes) {
		return "", nil, &analytics.Error{Status: http.StatusBadRequest, Detail: "Too many report types.", Summary: "Invalid parameter", Field: "report_type"}
	}
	for _, c := range chosen {
		if !store.ReportType(c).Valid() {
			return "", nil, &analytics.Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("%q is not a report type.", c), Summary: "Invalid parameter", Field: "report_type"}
		}
	}
	if out.Insights, err = h.svc.CostInsights(r.Context(), p, cq); err != nil {
		return "", nil, err
	}
	pts := make([]point, len(out.Insights.Trends))
	for i, m := range out.Insights.Trends {
		pts[i] = point{Label: monthLabel(m.Month), Value: float64(m.Cost), Text: money(h.cfg.Currency, float64(m.Cost))}
	}
	out.Chart = barChart("cost-chart", "Cost analysed per month, last 12 months", pts, func(v float64) string { return compactMoney(h.cfg.Currency, v) })
	return "Cost", out, nil
}

// monthLabel turns "2025-06" into "Jun 2025".
func monthLabel(s string) string {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return s
	}
	return t.Format("Jan 2006")
}

type healthData struct {
	Health   *analytics.SystemHealth
	Recorder tracking.RecorderStats
	Jobs     []scheduler.JobInfo
	IsAdmin  bool
}

func (h *Handler) health(r *http.Request, p analytics.Principal) (string, any, error) {
	sh, err := h.svc.SystemHealth(r.Context(), p)
	if err != nil {
		return "", nil, err
	}
	out := &healthData{Health: sh, Recorder: h.svc.RecorderStats(), IsAdmin: p.IsAdmin()}
	if out.IsAdmin {
		if out.Jobs, err = h.svc.Jobs(r.Context(), p); err != nil {
			return "", nil, err
		}
	}
	return "Health", out, nil
}

func (h *Handler) invalidate(w http.ResponseWriter, r *http.Request, p analytics.Principal) {
	if _, err := h.svc.InvalidateCache(r.Context(), p); err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, h.cfg.Prefix+"/health?done=cache-invalidated", http.StatusSeeOther)
}

// redirect is a page result that sends the browser elsewhere.
type redirect struct{ to string }

func (r *redirect) Error() string { return "webui: redirect to " + r.to }

func redirectTo(to string) error { return &redirect{to: to} }

// asRedirect reports whether err is a redirect.
func asRedirect(err error) (string, bool) {
	var r *redirect
	if errors.As(err, &r) {
		return r.to, true
	}
	return "", false
}
