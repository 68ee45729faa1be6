package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/internal/text"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Defaults and limits of the read routes.
const (
	trendsDaysDefault  = 30
	trendsDaysMax      = 366
	recentLimitDefault = 10
	clientLimitDefault = 25 // the clients route's page
	clientLimitMax     = 100
	recentLimitMax     = 100
	generationSample   = 100
	dashboardTrendDays = 30
	dashboardRecent    = 10
)

// metricTrends are the month-over-month changes of the metrics route.
type metricTrends struct {
	Recommendations Decimal `json:"recommendations"`
	Savings         Decimal `json:"savings"`
	Clients         Decimal `json:"clients"`
	Reports         Decimal `json:"reports"`
}

// Metrics is the body of the metrics route (current and legacy keys).
type Metrics struct {
	TotalReports              int64        `json:"total_reports"`
	TotalReportsChange        Decimal      `json:"total_reports_change"`
	ActiveUsers               int64        `json:"active_users"`
	ActiveUsersChange         Decimal      `json:"active_users_change"`
	TotalCostAnalyzed         Decimal      `json:"total_cost_analyzed"`
	TotalCostAnalyzedChange   Decimal      `json:"total_cost_analyzed_change"`
	AvgGenerationTime         Decimal      `json:"avg_generation_time"`
	AvgGenerationTimeChange   Decimal      `json:"avg_generation_time_change"`
	StorageUsed               int64        `json:"storage_used"`
	StorageUsedFormatted      string       `json:"storage_used_formatted"`
	SuccessRate               Decimal      `json:"success_rate"`
	TotalRecommendations      int64        `json:"totalRecommendations"`
	TotalPotentialSavings     Decimal      `json:"totalPotentialSavings"`
	ReportsGeneratedThisMonth int64        `json:"reportsGeneratedThisMonth"`
	ActiveClients             int64        `json:"activeClients"`
	Trends                    metricTrends `json:"trends"`
}

// monthStart returns the start of t's month in the reporting zone, and of
// the month before, both in UTC.
func (s *Service) monthStarts(t time.Time) (cur, prev time.Time) {
	l := t.In(s.loc)
	c := dates.DayStart(l.Year(), l.Month(), 1, s.loc)
	p := dates.DayStart(l.Year(), l.Month()-1, 1, s.loc)
	return c.UTC(), p.UTC()
}

// localMidnight returns the start of t's day in the reporting zone plus
// days days.
func (s *Service) localMidnight(t time.Time, days int) time.Time {
	l := t.In(s.loc)
	return dates.DayStart(l.Year(), l.Month(), l.Day()+days, s.loc)
}

// Metrics returns the dashboard metrics (cached 15 minutes). Any
// authenticated principal.
func (s *Service) Metrics(ctx context.Context, p Principal) (*Metrics, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	return decodeCached[Metrics](s.metricsJSON(ctx))
}

func (s *Service) metricsJSON(ctx context.Context) (cachedJSON, error) {
	return s.cached(ctx, "metrics", ttlMetrics, func(ctx context.Context) (any, error) { return s.computeMetrics(ctx) })
}

func (s *Service) computeMetrics(ctx context.Context) (*Metrics, error) {
	cur, prev := s.monthStarts(s.now())
	m, err := s.st.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: cur, PrevMonthStart: prev, GenerationSample: generationSample})
	if err != nil {
		return nil, fmt.Errorf("report metrics: %w", err)
	}
	rate := s.cfg.SavingsRate
	size, _, _ := s.sizer.size()
	out := &Metrics{
		TotalReports:              m.TotalReports,
		TotalReportsChange:        percentChange(float64(m.TotalReports), float64(m.ReportsBeforeMonth)),
		ActiveUsers:               m.ActiveUsers,
		ActiveUsersChange:         percentChange(float64(m.ActiveUsers), float64(m.ActiveUsersBeforeMonth)),
		TotalCostAnalyzed:         round(m.TotalSavings/rate, 2),
		TotalCostAnalyzedChange:   percentChange(m.TotalSavings/rate, m.SavingsBeforeMonth/rate),
		AvgGenerationTime:         round(m.AvgGenerationSeconds, 2),
		AvgGenerationTimeChange:   percentChange(m.AvgGenerationSeconds, m.AvgGenerationSecondsBeforeMonth),
		StorageUsed:               size,
		StorageUsedFormatted:      formatBytes(size),
		SuccessRate:               percentOf(float64(m.CompletedReports), float64(m.TotalReports), 1),
		TotalRecommendations:      m.RecommendationsThisMonth,
		TotalPotentialSavings:     round(m.SavingsThisMonth, 2),
		ReportsGeneratedThisMonth: m.ReportsThisMonth,
		ActiveClients:             m.ActiveClients,
		Trends: metricTrends{
			Recommendations: percentChange(float64(m.RecommendationsThisMonth), float64(m.RecommendationsPrevMonth)),
			Savings:         percentChange(m.SavingsThisMonth, m.SavingsPrevMonth),
			Clients:         percentChange(float64(m.ClientsThisMonth), float64(m.ClientsPrevMonth)),
			Reports:         percentChange(float64(m.ReportsThisMonth), float64(m.ReportsPrevMonth)),
		},
	}
	return out, nil
}

// typeCounts counts reports by type, in the order the trends route lists
// them.
type typeCounts struct {
	Cost       int64 `json:"cost"`
	Security   int64 `json:"security"`
	Operations int64 `json:"operations"`
	Detailed   int64 `json:"detailed"`
	Executive  int64 `json:"executive"`
}

func (c *typeCounts) add(t store.ReportType, n int64) {
	switch t {
	case store.ReportCost:
		c.Cost += n
	case store.ReportSecurity:
		c.Security += n
	case store.ReportOperations:
		c.Operations += n
	case store.ReportDetailed:
		c.Detailed += n
	case store.ReportExecutive:
		c.Executive += n
	}
}

// TrendPoint is the reports of one local day.
type TrendPoint struct {
	Date   string     `json:"date"`
	Total  int64      `json:"total"`
	ByType typeCounts `json:"by_type"`
	Value  int64      `json:"value"`
	Label  string     `json:"label"`
}

// TrendSummary sums a trend.
type TrendSummary struct {
	Total   int64   `json:"total"`
	Average Decimal `json:"average"`
	Peak    int64   `json:"peak"`
}

// Trends is the body of the trends route.
type Trends struct {
	Data    []TrendPoint `json:"data"`
	Summary TrendSummary `json:"summary"`
}

// Trends returns one point per local day from today − days to today (days
// + 1 points), cached 15 minutes per days. days must be 1…366.
func (s *Service) Trends(ctx context.Context, p Principal, days int) (*Trends, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	if days < 1 || days > trendsDaysMax {
		return nil, badParam("days", "days must be an integer between 1 and %d", trendsDaysMax)
	}
	return decodeCached[Trends](s.trendsJSON(ctx, days))
}

func (s *Service) trendsJSON(ctx context.Context, days int) (cachedJSON, error) {
	return s.cached(ctx, fmt.Sprintf("trends:%d", days), ttlTrends, func(ctx context.Context) (any, error) {
		return s.computeTrends(ctx, days)
	})
}

func (s *Service) computeTrends(ctx context.Context, days int) (*Trends, error) {
	now := s.now()
	from := s.localMidnight(now, -days)
	to := s.localMidnight(now, 1)
	counts, err := s.st.ReportDailyCounts(ctx, from.UTC(), to.UTC(), s.loc)
	if err != nil {
		return nil, fmt.Errorf("report daily counts: %w", err)
	}
	byDay := make(map[string]*typeCounts)
	totals := make(map[string]int64)
	for _, c := range counts {
		tc := byDay[c.Day]
		if tc == nil {
			tc = &typeCounts{}
			byDay[c.Day] = tc
		}
		tc.add(c.ReportType, c.Count)
		totals[c.Day] += c.Count
	}
	out := &Trends{Data: make([]TrendPoint, 0, days+1)}
	for i := 0; i <= days; i++ {
		d := s.localMidnight(from, i)
		key := d.Format(time.DateOnly)
		pt := TrendPoint{Date: key, Total: totals[key], Value: totals[key], Label: d.Format("Jan 02")}
		if tc := byDay[key]; tc != nil {
			pt.ByType = *tc
		}
		out.Data = append(out.Data, pt)
		out.Summary.Total += pt.Total
		out.Summary.Peak = max(out.Summary.Peak, pt.Total)
	}
	out.Summary.Average = round(float64(out.Summary.Total)/float64(len(out.Data)), 1)
	return out, nil
}

// CategoryShare is one recommendation category of the categories route.
type CategoryShare struct {
	Name       string  `json:"name"`
	Value      int64   `json:"value"`
	Percentage Decimal `json:"percentage"`
	Color      string  `json:"color"`
}

// Categories is the body of the categories route.
type Categories struct {
	Categories []CategoryShare `json:"categories"`
	Total      int64           `json:"total"`
}

var categoryStyles = map[string][2]string{
	"cost":                   {"Cost", "#f59e0b"},
	"security":               {"Security", "#ef4444"},
	"reliability":            {"Reliability", "#3b82f6"},
	"operational_excellence": {"Operational Excellence", "#8b5cf6"},
	"performance":            {"Performance", "#10b981"},
}

// Categories returns the recommendations by category (cached 15 minutes).
func (s *Service) Categories(ctx context.Context, p Principal) (*Categories, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	return decodeCached[Categories](s.categoriesJSON(ctx))
}

func (s *Service) categoriesJSON(ctx context.Context) (cachedJSON, error) {
	return s.cached(ctx, "categories", ttlCategories, func(ctx context.Context) (any, error) {
		counts, err := s.st.RecommendationCategoryCounts(ctx)
		if err != nil {
			return nil, fmt.Errorf("recommendation category counts: %w", err)
		}
		shares, total := countShares(counts, func(c store.CountByKey, pct Decimal) CategoryShare {
			st, ok := categoryStyles[c.Key]
			if !ok {
				st = [2]string{text.TitleCase(c.Key), "#6b7280"}
				if st[0] == "" {
					st[0] = "Unknown"
				}
			}
			return CategoryShare{Name: st[0], Value: c.Count, Percentage: pct, Color: st[1]}
		}, func(s CategoryShare) (int64, string) { return s.Value, s.Name })
		return &Categories{Categories: shares, Total: total}, nil
	})
}

// countShares turns counts into items (built by item with the count's
// percentage of the total, to one decimal place), most frequent first and
// by name among equals, and returns the total.
func countShares[T any](counts []store.CountByKey, item func(store.CountByKey, Decimal) T, key func(T) (count int64, name string)) ([]T, int64) {
	var total int64
	for _, c := range counts {
		total += c.Count
	}
	out := make([]T, 0, len(counts))
	for _, c := range counts {
		out = append(out, item(c, percentOf(float64(c.Count), float64(total), 1)))
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, ni := key(out[i])
		cj, nj := key(out[j])
		if ci != cj {
			return ci > cj
		}
		return ni < nj
	})
	return out, total
}

// RecentItem is one report of the recent-activity route.
type RecentItem struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Timestamp   Timestamp `json:"timestamp"`
	ClientName  string    `json:"clientName"`
	ReportType  string    `json:"reportType"` // the type label, such as "Detailed Report"
	ReportID    string    `json:"reportId"`
	Status      string    `json:"status"`
}

func statusText(st store.ReportStatus) string {
	switch st {
	case store.StatusCompleted:
		return "Successfully generated"
	case store.StatusProcessing:
		return "Processing"
	case store.StatusPending:
		return "Pending"
	case store.StatusFailed:
		return "Failed to process"
	}
	return text.TitleCase(string(st))
}

// RecentActivity returns the newest reports, newest first; limit < 1
// means 10 and is capped at 100. Cached 5 minutes per limit.
func (s *Service) RecentActivity(ctx context.Context, p Principal, limit int) ([]RecentItem, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	v, err := decodeCached[[]RecentItem](s.recentJSON(ctx, "", clampRecent(limit)))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func clampRecent(limit int) int {
	if limit < 1 {
		return recentLimitDefault
	}
	return min(limit, recentLimitMax)
}

// ClientRecentActivity is RecentActivity over the reports of one client
// (a UUID; unknown → 404). Cached 5 minutes per client and limit.
func (s *Service) ClientRecentActivity(ctx context.Context, p Principal, clientID string, limit int) ([]RecentItem, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	id, ok := store.NormalizeUUID(clientID)
	if !ok {
		return nil, badParam("client_id", "client_id must be a UUID")
	}
	v, err := decodeCached[[]RecentItem](s.recentJSON(ctx, id, clampRecent(limit)))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

// recentJSON is the recent-activity body: the newest reports of clientID,
// or of every client when it is empty.
func (s *Service) recentJSON(ctx context.Context, clientID string, limit int) (cachedJSON, error) {
	key := fmt.Sprintf("recent-activity:%d", limit)
	if clientID != "" {
		key += ":" + clientID
	}
	return s.cached(ctx, key, ttlRecentActivity, func(ctx context.Context) (any, error) {
		if clientID != "" {
			if _, err := s.knownClient(ctx, clientID); err != nil {
				return nil, err
			}
		}
		rows, err := s.st.ReportRecent(ctx, clientID, limit)
		if err != nil {
			return nil, fmt.Errorf("recent reports: %w", err)
		}
		out := make([]RecentItem, 0, len(rows))
		for _, r := range rows {
			typ := "report_" + string(r.Status)
			if r.Status == store.StatusCompleted {
				typ = "report_generated"
			}
			label, text := r.ReportType.Label(), statusText(r.Status)
			out = append(out, RecentItem{
				ID:          r.ID,
				Type:        typ,
				Title:       label + " " + text,
				Description: text + " " + strings.ToLower(label) + " for " + r.ClientName + ".",
				Timestamp:   ts(r.CreatedAt),
				ClientName:  r.ClientName,
				ReportType:  label,
				ReportID:    r.ID,
				Status:      string(r.Status),
			})
		}
		return out, nil
	})
}

// categoryCount is one category of a client-performance breakdown.
type categoryCount struct {
	Category string `json:"category"`
	Count    int64  `json:"count"`
}

// ClientPerformance is the body of the client-performance route.
type ClientPerformance struct {
	TotalReports             int64           `json:"totalReports"`
	CompletedReports         int64           `json:"completedReports"`
	FailedReports            int64           `json:"failedReports"`
	SuccessRate              Decimal         `json:"successRate"`
	AvgProcessingTimeSeconds Decimal         `json:"avgProcessingTimeSeconds"`
	TotalRecommendations     int64           `json:"totalRecommendations"`
	TotalPotentialSavings    Decimal         `json:"totalPotentialSavings"`
	CategoryBreakdown        []categoryCount `json:"categoryBreakdown"`
}

// Clients returns a page of clients ordered by company name (compared byte
// by byte), then id: limit < 1 → 25, > 100 → 100; offset < 0 → 0. A
// non-empty match (surrounding spaces ignored) keeps the clients whose name
// contains it, ASCII letters compared without case. Any authenticated role;
// not cached.
func (s *Service) Clients(ctx context.Context, p Principal, match string, limit, offset int) ([]ClientOut, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	if limit < 1 {
		limit = clientLimitDefault
	}
	match = strings.TrimSpace(match)
	if _, err := storedriver.ClientMatch(match); err != nil {
		return nil, badParam("search", "search must be UTF-8 text of at most %d bytes without NUL characters", store.MaxCompanyNameLen)
	}
	cs, err := s.st.ClientList(ctx, match, min(limit, clientLimitMax), max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out := make([]ClientOut, len(cs))
	for i := range cs {
		out[i] = *toClientOut(&cs[i])
	}
	return out, nil
}

// Client returns one client by id (a UUID). Any authenticated role; an
// unknown client is a 404.
func (s *Service) Client(ctx context.Context, p Principal, id string) (*ClientOut, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	nid, ok := store.NormalizeUUID(id)
	if !ok {
		return nil, badParam("id", "id must be a UUID")
	}
	c, err := s.knownClient(ctx, nid)
	if err != nil {
		return nil, err
	}
	return toClientOut(c), nil
}

// knownClient reads the client id; an unknown client is a 404.
func (s *Service) knownClient(ctx context.Context, id string) (*store.Client, error) {
	c, ok, err := stored(ctx, s.st.ClientGet, "client", id)
	if err == nil && !ok {
		err = notFound("Client")
	}
	return c, err
}

// ClientPerformance aggregates one client's reports (clientID a UUID) or
// every report (clientID empty). Cached 15 minutes per client; an unknown
// client is a 404.
func (s *Service) ClientPerformance(ctx context.Context, p Principal, clientID string) (*ClientPerformance, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	if clientID != "" {
		id, ok := store.NormalizeUUID(clientID)
		if !ok {
			return nil, badParam("client_id", "client_id must be a UUID")
		}
		clientID = id
	}
	return decodeCached[ClientPerformance](s.clientPerformanceJSON(ctx, clientID))
}

func (s *Service) clientPerformanceJSON(ctx context.Context, clientID string) (cachedJSON, error) {
	return s.cached(ctx, "client-performance:"+clientID, ttlClientPerformance, func(ctx context.Context) (any, error) {
		cp, err := s.st.ClientPerformance(ctx, clientID)
		if err != nil {
			if isNotFound(err) {
				return nil, notFound("Client")
			}
			return nil, fmt.Errorf("client performance: %w", err)
		}
		out := &ClientPerformance{
			TotalReports:             cp.TotalReports,
			CompletedReports:         cp.CompletedReports,
			FailedReports:            cp.FailedReports,
			SuccessRate:              percentOf(float64(cp.CompletedReports), float64(cp.TotalReports), 1),
			AvgProcessingTimeSeconds: round(cp.AvgProcessingSeconds, 1),
			TotalRecommendations:     cp.TotalRecommendations,
			TotalPotentialSavings:    round(cp.TotalSavings, 2),
			CategoryBreakdown:        make([]categoryCount, 0, len(cp.Categories)),
		}
		for _, c := range cp.Categories {
			out.CategoryBreakdown = append(out.CategoryBreakdown, categoryCount{Category: c.Key, Count: c.Count})
		}
		return out, nil
	})
}

// impactShare is one business impact of the business-impact route.
type impactShare struct {
	Impact     string  `json:"impact"`
	Count      int64   `json:"count"`
	Percentage Decimal `json:"percentage"`
}

// BusinessImpact is the body of the business-impact route.
type BusinessImpact struct {
	Distribution []impactShare `json:"distribution"`
	Total        int64         `json:"total"`
}

// BusinessImpact returns the recommendations by business impact (cached
// 15 minutes).
func (s *Service) BusinessImpact(ctx context.Context, p Principal) (*BusinessImpact, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	return decodeCached[BusinessImpact](s.businessImpactJSON(ctx))
}

func (s *Service) businessImpactJSON(ctx context.Context) (cachedJSON, error) {
	return s.cached(ctx, "business-impact", ttlBusinessImpact, func(ctx context.Context) (any, error) {
		counts, err := s.st.RecommendationImpactCounts(ctx)
		if err != nil {
			return nil, fmt.Errorf("recommendation impact counts: %w", err)
		}
		shares, total := countShares(counts, func(c store.CountByKey, pct Decimal) impactShare {
			name := c.Key
			if name == "" {
				name = "Unknown"
			}
			return impactShare{Impact: name, Count: c.Count, Percentage: pct}
		}, func(s impactShare) (int64, string) { return s.Count, s.Impact })
		return &BusinessImpact{Distribution: shares, Total: total}, nil
	})
}

// CostQuery filters the cost-insights route.
type CostQuery struct {
	From, To time.Time // on the report's created_at, inclusive; zero = unbounded
	Types    []store.ReportType
}

// normalise validates q and returns it with sorted, de-duplicated types and
// times in UTC at microsecond precision, and its cache key.
func (q CostQuery) normalise() (CostQuery, string, error) {
	seen := map[store.ReportType]bool{}
	var types []store.ReportType
	for _, t := range q.Types {
		t = store.ReportType(strings.ToLower(strings.TrimSpace(string(t))))
		if !t.Valid() {
			return q, "", badParam("report_type", "Invalid report_type %q. Must be one of: cost, security, operations, detailed, executive", string(t))
		}
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	if len(types) == len(store.ReportTypes) {
		types = nil // every type: the same as no filter
	}
	norm := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	q = CostQuery{From: norm(q.From), To: norm(q.To), Types: types}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return q, "", badParam("date_from", "date_from must not be after date_to")
	}
	key := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprint(t.UnixMicro())
	}
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = string(t)
	}
	return q, "cost-insights:" + key(q.From) + ":" + key(q.To) + ":" + strings.Join(parts, ","), nil
}

// monthCost is one calendar month of the cost-insights trend.
type monthCost struct {
	Month string  `json:"month"`
	Cost  Decimal `json:"cost"`
}

// CostInsights is the body of the cost-insights route.
type CostInsights struct {
	TotalCostAnalyzed Decimal     `json:"total_cost_analyzed"`
	PotentialSavings  Decimal     `json:"potential_savings"`
	SavingsPercentage Decimal     `json:"savings_percentage"`
	Trends            []monthCost `json:"trends"`
}

// CostInsights returns the cost figures of the reports matching q, and the
// cost analysed in each of the last 12 calendar months. Cached 15 minutes
// per normalised filter.
func (s *Service) CostInsights(ctx context.Context, p Principal, q CostQuery) (*CostInsights, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	return decodeCached[CostInsights](s.costInsightsJSON(ctx, q))
}

func (s *Service) costInsightsJSON(ctx context.Context, q CostQuery) (cachedJSON, error) {
	q, key, err := q.normalise()
	if err != nil {
		return cachedJSON{}, err
	}
	return s.cachedAdmit(ctx, key, ttlCostInsights, s.costKeys.admit, func(ctx context.Context) (any, error) {
		now := s.now().In(s.loc)
		first := dates.DayStart(now.Year(), now.Month()-11, 1, s.loc)
		f, err := s.st.CostFigures(ctx, store.CostParams{From: q.From, To: q.To, Types: q.Types, MonthsFrom: first.UTC(), Location: s.loc})
		if err != nil {
			return nil, fmt.Errorf("cost figures: %w", err)
		}
		rate := s.cfg.SavingsRate
		byMonth := make(map[string]float64, len(f.Months))
		for _, m := range f.Months {
			byMonth[m.Month] += m.Amount
		}
		out := &CostInsights{
			TotalCostAnalyzed: round(f.TotalSavings/rate, 2),
			PotentialSavings:  round(f.TotalSavings, 2),
			SavingsPercentage: round(rate*100, 1),
			Trends:            make([]monthCost, 0, 12),
		}
		for i := 0; i < 12; i++ {
			m := time.Date(now.Year(), now.Month()-11+time.Month(i), 1, 12, 0, 0, 0, time.UTC).Format("2006-01")
			out.Trends = append(out.Trends, monthCost{Month: m, Cost: round(byMonth[m]/rate, 2)})
		}
		return out, nil
	})
}

// Dashboard is the body of the dashboard route.
type Dashboard struct {
	Metrics              Metrics         `json:"metrics"`
	CategoryDistribution []CategoryShare `json:"categoryDistribution"`
	TrendData            []TrendPoint    `json:"trendData"`
	RecentActivity       []RecentItem    `json:"recentActivity"`
}

// dashboardRaw is the dashboard body as the cached JSON of its parts,
// which the route writes without decoding them.
type dashboardRaw struct {
	Metrics              json.RawMessage `json:"metrics"`
	CategoryDistribution json.RawMessage `json:"categoryDistribution"`
	TrendData            json.RawMessage `json:"trendData"`
	RecentActivity       json.RawMessage `json:"recentActivity"`
}

// Dashboard returns the metrics, the category distribution, the 30-day
// trend and the 10 most recent reports, each from its own cache entry.
func (s *Service) Dashboard(ctx context.Context, p Principal) (*Dashboard, error) {
	parts, err := s.dashboardParts(ctx, p)
	if err != nil {
		return nil, err
	}
	m, err := decodeCached[Metrics](parts.metrics, nil)
	if err != nil {
		return nil, err
	}
	c, err := decodeCached[Categories](parts.categories, nil)
	if err != nil {
		return nil, err
	}
	t, err := decodeCached[Trends](parts.trends, nil)
	if err != nil {
		return nil, err
	}
	r, err := decodeCached[[]RecentItem](parts.recent, nil)
	if err != nil {
		return nil, err
	}
	return &Dashboard{Metrics: *m, CategoryDistribution: c.Categories, TrendData: t.Data, RecentActivity: *r}, nil
}

// dashboardParts are the dashboard's parts, each its own cache entry.
type dashboardParts struct {
	metrics, categories, trends, recent cachedJSON
}

func (s *Service) dashboardParts(ctx context.Context, p Principal) (*dashboardParts, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	// On a cold cache the parts are computed concurrently.
	var d dashboardParts
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { d.metrics, err = s.metricsJSON(gctx); return err })
	g.Go(func() (err error) { d.categories, err = s.categoriesJSON(gctx); return err })
	g.Go(func() (err error) { d.trends, err = s.trendsJSON(gctx, dashboardTrendDays); return err })
	g.Go(func() (err error) { d.recent, err = s.recentJSON(gctx, "", dashboardRecent); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &d, nil
}

// dashboardJSON returns the dashboard as the cached JSON of its parts.
func (s *Service) dashboardJSON(ctx context.Context, p Principal) (*dashboardRaw, error) {
	d, err := s.dashboardParts(ctx, p)
	if err != nil {
		return nil, err
	}
	var cats struct {
		Categories json.RawMessage `json:"categories"`
	}
	var tr struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(d.categories.b, &cats); err != nil {
		return nil, fmt.Errorf("analytics: decode cached categories: %w", err)
	}
	if err := json.Unmarshal(d.trends.b, &tr); err != nil {
		return nil, fmt.Errorf("analytics: decode cached trends: %w", err)
	}
	return &dashboardRaw{Metrics: d.metrics.b, CategoryDistribution: cats.Categories, TrendData: tr.Data, RecentActivity: d.recent.b}, nil
}
