package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ClientUpsert creates or updates a client by id. On update a zero
// CreatedAt keeps the stored creation time. c receives the stored
// CreatedAt and UpdatedAt.
func (s *Store) ClientUpsert(ctx context.Context, c *store.Client) error {
	const op = "upsert client"
	keepCreated := c.CreatedAt.IsZero()
	now := s.now().UTC().Truncate(time.Microsecond)
	if err := storedriver.PrepareClient(c, now); err != nil {
		return s.wrap(ctx, op, err)
	}
	err := s.db.QueryRowContext(ctx, `INSERT INTO clients AS c (id, company_name, industry, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET company_name = EXCLUDED.company_name, industry = EXCLUDED.industry,
			status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
			created_at = CASE WHEN $7 THEN c.created_at ELSE EXCLUDED.created_at END
		RETURNING created_at, updated_at`,
		c.ID, clean(c.CompanyName), string(c.Industry), string(c.Status), c.CreatedAt, now, keepCreated,
	).Scan(&c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

// ClientGet returns one client.
func (s *Store) ClientGet(ctx context.Context, id string) (*store.Client, error) {
	const op = "get client"
	nid, err := storedriver.ID("id", id)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, nid))
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return &c, nil
}

// ClientList returns a page of clients in name order, those whose name
// contains match when it is not empty.
func (s *Store) ClientList(ctx context.Context, match string, limit, offset int) ([]store.Client, error) {
	const op = "list clients"
	pattern, limit, err := storedriver.PrepareClientList(match, limit, offset)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	where, and, args := "", "", []any{limit, offset}
	if pattern != "" {
		// lower() in the C collation lower-cases ASCII letters alone, as
		// the pattern's are: other letters compare as they are, whatever
		// the database's locale (translate() of A-Z took 15 times longer).
		const matches = ` lower(company_name COLLATE "C") LIKE $3`
		where, and, args = " WHERE"+matches, " AND"+matches, append(args, pattern)
	}
	// The page starts at the key found at the offset from the name index
	// alone: an OFFSET of the page itself reads every row it skips from the
	// table. Past the last client the key is NULL and the page empty.
	out, err := sqlexec.Query(ctx, s.read(), scanClient, `SELECT `+clientColumns+` FROM clients
		WHERE (company_name::text COLLATE "C", id) >= (SELECT company_name::text COLLATE "C", id FROM clients`+where+`
			ORDER BY company_name COLLATE "C", id OFFSET $2 LIMIT 1)`+and+`
		ORDER BY company_name COLLATE "C", id LIMIT $1`, args...)
	return out, s.wrap(ctx, op, err)
}

const clientColumns = "id, company_name, industry, status, created_at, updated_at"

func scanClient(sc sqlexec.Scanner) (store.Client, error) {
	var c store.Client
	if err := sc.Scan(&c.ID, &c.CompanyName, &c.Industry, &c.Status, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

const copyRecommendationsSQL = `COPY recommendations (id, report_id, position, category, business_impact, recommendation,
	subscription_id, subscription_name, resource_group, resource_name, resource_type, potential_savings, currency) FROM STDIN`

// checkReportText refuses a currency PostgreSQL's char(3) cannot hold as
// given: one with NUL characters or bytes that are not UTF-8 (other text is
// repaired by clean).
func checkReportText(r *store.Report) error {
	for i := range r.Recommendations {
		if c := r.Recommendations[i].Currency; !utf8.ValidString(c) || strings.IndexByte(c, 0) >= 0 {
			return storedriver.Invalid(fmt.Sprintf("recommendations[%d].currency", i), "must be a 3-letter ISO 4217 code")
		}
	}
	return nil
}

// keysAndCounts returns the keys of m in byte order and their counts.
func keysAndCounts(m map[string]int64) ([]string, []int64) {
	keys := recagg.SortedKeys(m)
	ns := make([]int64, len(keys))
	for i, k := range keys {
		ns[i] = m[k]
	}
	return keys, ns
}

const reportColumns = `r.id, r.client_id, r.created_by, r.report_type, r.status, r.created_at,
	r.processing_started_at, r.processing_completed_at, r.csv_size_bytes`

func scanReport(sc sqlexec.Scanner, extra ...any) (store.Report, error) {
	var r store.Report
	var createdBy sql.NullString
	dest := append([]any{&r.ID, &r.ClientID, &createdBy, &r.ReportType, &r.Status, &r.CreatedAt,
		&r.ProcessingStartedAt, &r.ProcessingCompletedAt, &r.CSVSizeBytes}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.CreatedBy, r.CreatedAt = createdBy.String, r.CreatedAt.UTC()
	r.ProcessingStartedAt, r.ProcessingCompletedAt = utcPtr(r.ProcessingStartedAt), utcPtr(r.ProcessingCompletedAt)
	return r, nil
}

// utcPtr returns *t in UTC, nil for nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ReportGet returns a report with its recommendations in their stored
// order.
func (s *Store) ReportGet(ctx context.Context, id string) (*store.Report, error) {
	const op = "get report"
	nid, err := storedriver.ID("id", id)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	var r store.Report
	err = s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var err error
		r, err = sqlexec.QueryOne(ctx, tx, scanReportOnly, `SELECT `+reportColumns+` FROM reports r WHERE r.id = $1`, nid)
		if err != nil {
			return err
		}
		r.Recommendations, err = sqlexec.Query(ctx, tx, scanRecommendation, `SELECT id, report_id, category,
			COALESCE(business_impact, ''), COALESCE(recommendation, ''), COALESCE(subscription_id, ''),
			COALESCE(subscription_name, ''), COALESCE(resource_group, ''), COALESCE(resource_name, ''),
			COALESCE(resource_type, ''), potential_savings, currency
			FROM recommendations WHERE report_id = $1 ORDER BY position, id`, nid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// scanReportOnly is scanReport of a row without extra columns.
func scanReportOnly(sc sqlexec.Scanner) (store.Report, error) { return scanReport(sc) }

func scanRecommendation(sc sqlexec.Scanner) (rec store.Recommendation, err error) {
	err = sc.Scan(&rec.ID, &rec.ReportID, &rec.Category, &rec.BusinessImpact, &rec.Recommendation, &rec.SubscriptionID,
		&rec.SubscriptionName, &rec.ResourceGroup, &rec.ResourceName, &rec.ResourceType, &rec.PotentialSavings,
		&rec.Currency)
	return rec, err
}

// reportMetricsSQL computes every figure of the metrics route in one
// statement (one snapshot, one round trip). $1 is the month start, $2 the
// previous month start, $3 the generation sample size.
// reportMetricsScan is the report figures of the metrics over the reports;
// reportMetricsCounters the same over the per-day counters ($4 and $5 are
// the local days of $1 and $2).
const (
	reportMetricsScan = `r AS (
		SELECT count(*) AS total,
			count(*) FILTER (WHERE created_at < $1) AS before,
			count(*) FILTER (WHERE status = 'completed') AS completed,
			count(*) FILTER (WHERE created_at >= $1) AS this,
			count(*) FILTER (WHERE created_at >= $2 AND created_at < $1) AS prev,
			(COALESCE(sum(savings_cents), 0) / 100)::float8 AS savings,
			(COALESCE(sum(savings_cents) FILTER (WHERE created_at < $1), 0) / 100)::float8 AS savings_before,
			COALESCE(sum(recommendation_count) FILTER (WHERE created_at >= $1), 0) AS recs_this,
			COALESCE(sum(recommendation_count) FILTER (WHERE created_at >= $2 AND created_at < $1), 0) AS recs_prev,
			(COALESCE(sum(savings_cents) FILTER (WHERE created_at >= $1), 0) / 100)::float8 AS savings_this,
			(COALESCE(sum(savings_cents) FILTER (WHERE created_at >= $2 AND created_at < $1), 0) / 100)::float8 AS savings_prev
		FROM reports),`
	reportMetricsCounters = `r AS (
		SELECT COALESCE(sum(reports), 0)::bigint AS total,
			COALESCE(sum(reports) FILTER (WHERE day < $4::date), 0)::bigint AS before,
			COALESCE(sum(completed), 0)::bigint AS completed,
			COALESCE(sum(reports) FILTER (WHERE day >= $4::date), 0)::bigint AS this,
			COALESCE(sum(reports) FILTER (WHERE day >= $5::date AND day < $4::date), 0)::bigint AS prev,
			(COALESCE(sum(savings_cents), 0) / 100)::float8 AS savings,
			(COALESCE(sum(savings_cents) FILTER (WHERE day < $4::date), 0) / 100)::float8 AS savings_before,
			COALESCE(sum(recommendations) FILTER (WHERE day >= $4::date), 0)::bigint AS recs_this,
			COALESCE(sum(recommendations) FILTER (WHERE day >= $5::date AND day < $4::date), 0)::bigint AS recs_prev,
			(COALESCE(sum(savings_cents) FILTER (WHERE day >= $4::date), 0) / 100)::float8 AS savings_this,
			(COALESCE(sum(savings_cents) FILTER (WHERE day >= $5::date AND day < $4::date), 0) / 100)::float8 AS savings_prev
		FROM report_day_counts),`
)

const reportMetricsSQL = `WITH ` + reportMetricsScan + `
	-- A user was active before the month when their first report was.
	u AS (
		SELECT count(*) AS users, count(*) FILTER (WHERE first_created_at < $1) AS users_before FROM report_authors),
	g AS (
		SELECT COALESCE(avg(EXTRACT(EPOCH FROM processing_completed_at - processing_started_at)), 0)::float8 AS avg FROM (
			SELECT processing_started_at, processing_completed_at FROM reports
			WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL
			ORDER BY processing_completed_at DESC LIMIT $3) x),
	gb AS (
		SELECT COALESCE(avg(EXTRACT(EPOCH FROM processing_completed_at - processing_started_at)), 0)::float8 AS avg FROM (
			SELECT processing_started_at, processing_completed_at FROM reports
			WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL
				AND processing_completed_at < $1
			ORDER BY processing_completed_at DESC LIMIT $3) x),
	c AS (
		SELECT count(*) FILTER (WHERE status = 'active') AS active,
			count(*) FILTER (WHERE created_at >= $1) AS this,
			count(*) FILTER (WHERE created_at >= $2 AND created_at < $1) AS prev
		FROM clients)
	SELECT r.total, r.before, r.completed, r.this, r.prev, r.savings, r.savings_before, r.recs_this, r.recs_prev,
		r.savings_this, r.savings_prev, u.users, u.users_before, g.avg, gb.avg, c.active, c.this, c.prev
	FROM r, u, g, gb, c`

// ReportMetrics computes the figures of the metrics route in one query.
func (s *Store) ReportMetrics(ctx context.Context, p store.ReportMetricsParams) (*store.ReportMetrics, error) {
	const op = "report metrics"
	sample := p.GenerationSample
	if sample < 0 {
		return nil, s.wrap(ctx, op, storedriver.Invalid("generation_sample", "must not be negative"))
	}
	if sample == 0 {
		sample = 100
	}
	var m store.ReportMetrics
	query, a := reportMetricsSQL, []any{p.MonthStart.UTC(), p.PrevMonthStart.UTC(), sample}
	if prevDay, monthDay, ok := s.dayCounterBounds(s.loc, p.PrevMonthStart, p.MonthStart); ok {
		// On month starts at local midnights of the counters' zone, the
		// per-day counters hold every figure of the reports scan.
		query, a = strings.Replace(reportMetricsSQL, reportMetricsScan, reportMetricsCounters, 1), append(a, monthDay, prevDay)
	}
	err := sqlexec.QueryRowScan(ctx, s.read(), []any{
		&m.TotalReports, &m.ReportsBeforeMonth, &m.CompletedReports, &m.ReportsThisMonth, &m.ReportsPrevMonth,
		&m.TotalSavings, &m.SavingsBeforeMonth, &m.RecommendationsThisMonth, &m.RecommendationsPrevMonth,
		&m.SavingsThisMonth, &m.SavingsPrevMonth, &m.ActiveUsers, &m.ActiveUsersBeforeMonth,
		&m.AvgGenerationSeconds, &m.AvgGenerationSecondsBeforeMonth, &m.ActiveClients, &m.ClientsThisMonth, &m.ClientsPrevMonth}, query, a...)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return &m, nil
}

func (s *Store) countByKey(ctx context.Context, op, query string, a ...any) ([]store.CountByKey, error) {
	rows, err := s.read().QueryContext(ctx, query, a...)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []store.CountByKey{}
	for rows.Next() {
		var c store.CountByKey
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// RecommendationCategoryCounts counts recommendations by category.
func (s *Store) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	return s.countByKey(ctx, "count recommendations by category",
		`SELECT category, n FROM recommendation_category_counts WHERE n > 0 ORDER BY n DESC, 1`)
}

// RecommendationImpactCounts counts recommendations by business impact.
func (s *Store) RecommendationImpactCounts(ctx context.Context) ([]store.CountByKey, error) {
	return s.countByKey(ctx, "count recommendations by impact",
		`SELECT business_impact, n FROM recommendation_impact_counts WHERE n > 0 ORDER BY n DESC, 1`)
}

// zone is how a *time.Location is given to PostgreSQL's AT TIME ZONE: by
// its IANA name when it has one, else (fixed zones such as
// time.FixedZone("UTC+5:30", …), or time.Local) as a UTC offset interval,
// taken at the current time.
type zone struct {
	name   string // IANA name, or "" for an offset
	offset string // ISO-sign offset such as "+05:30:00"
}

func zoneOf(loc *time.Location) zone {
	if loc == nil || loc == time.UTC {
		return zone{name: "UTC"}
	}
	if name := loc.String(); name != "Local" && name != "" {
		if l, err := loadLocation(name); err == nil && sameZone(l, loc) {
			return zone{name: name}
		}
	}
	_, off := time.Now().In(loc).Zone()
	if off == 0 {
		return zone{name: "UTC"}
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return zone{offset: fmt.Sprintf("%c%02d:%02d:%02d", sign, off/3600, off/60%60, off%60)}
}

// sameZone reports whether a and b agree on the offset at a few instants,
// which tells a real zone from a fixed one that borrowed its name.
func sameZone(a, b *time.Location) bool {
	for _, t := range []time.Time{time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC), time.Date(2025, 7, 15, 12, 0, 0, 0, time.UTC), time.Now()} {
		_, oa := t.In(a).Zone()
		_, ob := t.In(b).Zone()
		if oa != ob {
			return false
		}
	}
	return true
}

// locations caches time.LoadLocation, which reads the zone database on
// every call.
var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

func (z zone) utc() bool { return z.name == "UTC" }

// wholeHours reports whether the zone's offset is a whole number of hours
// all over [from, to] (zero bounds: the last five years up to now), checked
// once a day: offsets that are not whole hours last months, not hours.
func (z zone) wholeHours(from, to time.Time) bool {
	if z.name == "" {
		return strings.HasSuffix(z.offset, ":00:00")
	}
	loc, err := loadLocation(z.name)
	if err != nil {
		return false
	}
	now := time.Now()
	if to.IsZero() || to.After(now) {
		to = now
	}
	if floor := to.AddDate(-5, 0, 0); from.IsZero() || from.Before(floor) {
		from = floor
	}
	for t := from; ; t = t.Add(24 * time.Hour) {
		if t.After(to) {
			t = to
		}
		if _, off := t.In(loc).Zone(); off%3600 != 0 {
			return false
		}
		if !t.Before(to) {
			return true
		}
	}
}

// expr adds the zone to a and returns the SQL expression standing for it.
func (z zone) expr(a *args) string {
	if z.name != "" {
		return a.add(z.name) + "::text"
	}
	return a.add(z.offset) + "::interval"
}

// check refuses a zone name PostgreSQL does not know, whatever the data.
func (z zone) check(ctx context.Context, q sqlexec.Queryer) error {
	if z.name == "" || z.utc() {
		return nil
	}
	var t time.Time
	return sqlexec.QueryRowScan(ctx, q, []any{&t}, `SELECT now() AT TIME ZONE $1`, z.name)
}

// ReportDailyCounts counts the reports created in [from, to) by local day
// and type, ordered by day then type.
func (s *Store) ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.ReportDayCount, error) {
	const op = "count reports by day"
	if fromDay, toDay, ok := s.dayCounterBounds(loc, from, to); ok {
		if !to.After(from) {
			return []store.ReportDayCount{}, nil
		}
		out, err := s.reportDailyCountsFromCounters(ctx, fromDay, toDay)
		return out, s.wrap(ctx, op, err)
	}
	z := zoneOf(loc)
	if err := z.check(ctx, s.db); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	a := args{from.UTC(), to.UTC()}
	out, err := sqlexec.Query(ctx, s.db, sqlexec.ScanReportDayCount, `SELECT
		(created_at AT TIME ZONE `+z.expr(&a)+`)::date - DATE '1970-01-01' AS day, report_type, count(*)
		FROM reports WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`, a...)
	return out, s.wrap(ctx, op, err)
}

// ReportRecent returns the newest reports with their client's name; limit
// 0 means 10.
func (s *Store) ReportRecent(ctx context.Context, clientID string, limit int) ([]store.ReportWithClient, error) {
	const op = "list recent reports"
	limit, clientID, err := storedriver.RecentParams(limit, clientID)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	where, args := "", []any{limit}
	if clientID != "" {
		where, args = " WHERE r.client_id = $2", append(args, clientID)
	}
	out, err := sqlexec.Query(ctx, s.read(), scanReportWithClient, `SELECT `+reportColumns+`, c.company_name
		FROM reports r JOIN clients c ON c.id = r.client_id`+where+` ORDER BY r.created_at DESC, r.id DESC LIMIT $1`, args...)
	return out, s.wrap(ctx, op, err)
}

func scanReportWithClient(sc sqlexec.Scanner) (rc store.ReportWithClient, err error) {
	rc.Report, err = scanReport(sc, &rc.ClientName)
	return rc, err
}

// ClientPerformance aggregates one client's reports, or all reports when
// clientID is empty.
func (s *Store) ClientPerformance(ctx context.Context, clientID string) (*store.ClientPerformance, error) {
	const op = "client performance"
	var id any
	if clientID != "" {
		nid, err := storedriver.ID("client_id", clientID)
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		id = nid
	}
	var p store.ClientPerformance
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		if id != nil {
			var one int
			if err := sqlexec.QueryRowScan(ctx, tx, []any{&one}, `SELECT 1 FROM clients WHERE id = $1`, id); err != nil {
				return err
			}
		}
		// Every client's figures come from the per-day report counters.
		query := `SELECT COALESCE(sum(reports), 0), COALESCE(sum(completed), 0), COALESCE(sum(failed), 0),
				COALESCE(sum(processing_us)::float8 / NULLIF(sum(timed), 0) / 1e6, 0)::float8,
				COALESCE(sum(recommendations), 0), (COALESCE(sum(savings_cents), 0) / 100)::float8
			FROM report_day_counts`
		var args []any
		if id != nil {
			query = `SELECT count(*), count(*) FILTER (WHERE status = 'completed'),
				count(*) FILTER (WHERE status = 'failed'),
				COALESCE(avg(EXTRACT(EPOCH FROM processing_completed_at - processing_started_at))
					FILTER (WHERE status = 'completed'), 0)::float8,
				COALESCE(sum(recommendation_count), 0), (COALESCE(sum(savings_cents), 0) / 100)::float8
			FROM reports WHERE client_id = $1`
			args = []any{id}
		}
		err := sqlexec.QueryRowScan(ctx, tx, []any{&p.TotalReports, &p.CompletedReports, &p.FailedReports,
			&p.AvgProcessingSeconds, &p.TotalRecommendations, &p.TotalSavings}, query, args...)
		if err != nil {
			return err
		}
		q := `SELECT category, n FROM recommendation_category_counts WHERE n > 0 ORDER BY n DESC, 1`
		var qa []any
		if id != nil {
			q = `SELECT k.category, sum(k.n)::bigint AS n FROM reports r JOIN report_category_counts k ON k.report_id = r.id
				WHERE r.client_id = $1 GROUP BY 1 ORDER BY n DESC, 1`
			qa = []any{id}
		}
		rows, err := tx.QueryContext(ctx, q, qa...)
		if err != nil {
			return err
		}
		defer rows.Close()
		p.Categories = []store.CountByKey{}
		for rows.Next() {
			var c store.CountByKey
			if err := rows.Scan(&c.Key, &c.Count); err != nil {
				return err
			}
			p.Categories = append(p.Categories, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// CostFigures sums the potential savings of the matching reports, in
// total and per calendar month in p.Location from p.MonthsFrom.
func (s *Store) CostFigures(ctx context.Context, p store.CostParams) (*store.CostFigures, error) {
	const op = "cost figures"
	var a args
	var c []string
	if !p.From.IsZero() {
		c = append(c, "r.created_at >= "+a.add(p.From.UTC()))
	}
	if !p.To.IsZero() {
		c = append(c, "r.created_at <= "+a.add(p.To.UTC()))
	}
	if len(p.Types) > 0 {
		types := make([]string, len(p.Types))
		for i, t := range p.Types {
			if !t.Valid() {
				return nil, s.wrap(ctx, op, storedriver.Invalid("report_type", "unknown report type %q", t))
			}
			types[i] = string(t)
		}
		c = append(c, "r.report_type = ANY("+a.add(pq.Array(types))+"::text[])")
	}
	from := "FROM reports r"
	var out store.CostFigures
	out.Months = []store.MonthAmount{}
	if fromDay, monthsDay, lastDay, ok := recagg.CostDays(p, s.loc, s.now()); ok {
		if err := s.costFromCounters(ctx, op, p, fromDay, monthsDay, lastDay, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		if err := zoneOf(p.Location).check(ctx, tx); err != nil {
			return err
		}
		if err := sqlexec.QueryRowScan(ctx, tx, []any{&out.TotalSavings},
			`SELECT (COALESCE(sum(r.savings_cents), 0) / 100)::float8 `+from+whereSQL(c), a...); err != nil {
			return err
		}
		ma := append(args{}, a...)
		// A month is listed when a report of it has recommendations.
		mc := append([]string{"r.recommendation_count > 0"}, c...)
		if !p.MonthsFrom.IsZero() {
			mc = append(mc, "r.created_at >= "+ma.add(p.MonthsFrom.UTC()))
		}
		if p.To.IsZero() {
			mc = append(mc, "r.created_at <= "+ma.add(s.now().UTC()))
		}
		tz := zoneOf(p.Location).expr(&ma)
		rows, err := tx.QueryContext(ctx, `SELECT to_char(r.created_at AT TIME ZONE `+tz+`, 'YYYY-MM') AS m,
			(COALESCE(sum(r.savings_cents), 0) / 100)::float8 `+from+whereSQL(mc)+` GROUP BY 1 ORDER BY 1`, ma...)
		if err != nil {
			return err
		}
		out.Months, err = sqlexec.Collect(rows, scanMonth)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// scanMonth scans a month and its savings.
func scanMonth(sc sqlexec.Scanner) (m store.MonthAmount, err error) {
	err = sc.Scan(&m.Month, &m.Amount)
	return m, err
}

// costFromCounters answers CostFigures from the per-day report counters
// (days fromDay and on; months monthsDay to lastDay): at most one row per
// day and type instead of every report.
func (s *Store) costFromCounters(ctx context.Context, op string, p store.CostParams, fromDay, monthsDay, lastDay string, out *store.CostFigures) error {
	var a args
	var c []string
	if fromDay != "" {
		c = append(c, "day >= "+a.add(fromDay)+"::date")
	}
	if len(p.Types) > 0 {
		types := make([]string, len(p.Types))
		for i, t := range p.Types {
			types[i] = string(t)
		}
		c = append(c, "report_type = ANY("+a.add(pq.Array(types))+"::text[])")
	}
	return s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		if err := sqlexec.QueryRowScan(ctx, tx, []any{&out.TotalSavings},
			`SELECT (COALESCE(sum(savings_cents), 0) / 100)::float8 FROM report_day_counts`+whereSQL(c), a...); err != nil {
			return err
		}
		mc := append(c, "day <= "+a.add(lastDay)+"::date")
		if monthsDay != "" {
			mc = append(mc, "day >= "+a.add(monthsDay)+"::date")
		}
		rows, err := tx.QueryContext(ctx, `SELECT to_char(day, 'YYYY-MM'), (sum(savings_cents) / 100)::float8 FROM report_day_counts`+
			whereSQL(mc)+` GROUP BY 1 HAVING sum(recommendations) > 0 ORDER BY 1`, a...)
		if err != nil {
			return err
		}
		out.Months, err = sqlexec.Collect(rows, scanMonth)
		return err
	})
}

// ReportWindowStats computes the report figures of [from, to).
func (s *Store) ReportWindowStats(ctx context.Context, from, to time.Time) (*store.WindowStats, error) {
	const op = "report window stats"
	from, to = from.UTC(), to.UTC()
	var w store.WindowStats
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		w = store.WindowStats{ReportTypeCounts: map[string]int64{}, CategoryCounts: map[string]int64{}}
		err := sqlexec.QueryRowScan(ctx, tx, []any{&w.ReportsCreated, &w.ReportsCompleted, &w.ReportsFailed,
			&w.AvgCSVSizeBytes, &w.AvgProcessingSeconds, &w.TotalReports, &w.NewClients}, `SELECT
				count(*) FILTER (WHERE created_at >= $1 AND created_at < $2),
				count(*) FILTER (WHERE created_at >= $1 AND created_at < $2 AND status = 'completed'),
				count(*) FILTER (WHERE created_at >= $1 AND created_at < $2 AND status = 'failed'),
				COALESCE(avg(csv_size_bytes) FILTER (WHERE created_at >= $1 AND created_at < $2), 0)::float8,
				COALESCE(avg(EXTRACT(EPOCH FROM processing_completed_at - processing_started_at)) FILTER (
					WHERE status = 'completed' AND processing_completed_at >= $1 AND processing_completed_at < $2), 0)::float8,
				count(*) FILTER (WHERE created_at < $2),
				(SELECT count(*) FROM clients WHERE created_at >= $1 AND created_at < $2)
			FROM reports`, from, to)
		if err != nil {
			return err
		}
		if err := sqlexec.AddCounts(ctx, tx, w.ReportTypeCounts, `SELECT report_type, count(*) FROM reports
			WHERE created_at >= $1 AND created_at < $2 GROUP BY 1`, from, to); err != nil {
			return err
		}
		if err := sqlexec.QueryRowScan(ctx, tx, []any{&w.Recommendations, &w.Savings}, `SELECT COALESCE(sum(recommendation_count), 0),
				(COALESCE(sum(savings_cents), 0) / 100)::float8
			FROM reports WHERE created_at >= $1 AND created_at < $2`, from, to); err != nil {
			return err
		}
		return sqlexec.AddCounts(ctx, tx, w.CategoryCounts, `SELECT k.category, sum(k.n)::bigint
			FROM reports r JOIN report_category_counts k ON k.report_id = r.id
			WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY 1 HAVING sum(k.n) > 0`, from, to)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}
