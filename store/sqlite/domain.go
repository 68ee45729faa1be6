package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ClientUpsert creates or updates a client by id. Updating a client without
// a CreatedAt keeps its stored creation time (written back into c).
func (s *Store) ClientUpsert(ctx context.Context, c *store.Client) error {
	const op = "upsert client"
	keepCreated := c.CreatedAt.IsZero()
	now := s.now()
	if err := storedriver.PrepareClient(c, now); err != nil {
		return s.wrap(ctx, op, err)
	}
	updated := now.UTC().Truncate(time.Microsecond)
	var created int64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO clients (id, company_name, industry, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET company_name = excluded.company_name, industry = excluded.industry,
				status = excluded.status, updated_at = excluded.updated_at,
				created_at = CASE WHEN ? THEN clients.created_at ELSE excluded.created_at END
			RETURNING created_at`,
			c.ID, c.CompanyName, string(c.Industry), string(c.Status), micro(c.CreatedAt), micro(updated), keepCreated).Scan(&created)
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = fromMicro(created), updated
	return nil
}

// storedAggregate reads the counts of the recommendations a report has now
// (none for a new report).
func storedAggregate(ctx context.Context, tx *sql.Tx, reportID string) (recagg.Aggregate, error) {
	a := recagg.New()
	rows, err := tx.QueryContext(ctx, `SELECT category, COALESCE(business_impact, ''), COUNT(*)
		FROM recommendations WHERE report_id = ? GROUP BY 1, 2`, reportID)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		var cat, impact string
		var n int64
		if err := rows.Scan(&cat, &impact, &n); err != nil {
			return a, err
		}
		a.Add(cat, impact, n)
	}
	return a, rows.Err()
}

func int64Ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// ClientGet returns one client.
func (s *Store) ClientGet(ctx context.Context, id string) (*store.Client, error) {
	const op = "get client"
	nid, err := storedriver.ID("id", id)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	c, err := scanClient(s.read().QueryRowContext(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ?", nid))
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
	where, args := "", []any{limit, offset}
	if pattern != "" {
		// LIKE compares ASCII letters without case, other characters as
		// they are: what the contract asks.
		where, args = ` WHERE company_name LIKE ? ESCAPE '\'`, []any{pattern, limit, offset}
	}
	out, err := sqlexec.Query(ctx, s.read(), scanClient, "SELECT "+clientColumns+
		" FROM clients"+where+" ORDER BY company_name, id LIMIT ? OFFSET ?", args...)
	return out, s.wrap(ctx, op, err)
}

const clientColumns = "id, company_name, industry, status, created_at, updated_at"

func scanClient(sc sqlexec.Scanner) (store.Client, error) {
	var c store.Client
	var industry, status string
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.CompanyName, &industry, &status, &created, &updated); err != nil {
		return c, err
	}
	c.Industry, c.Status = store.Industry(industry), store.ClientStatus(status)
	c.CreatedAt, c.UpdatedAt = fromMicro(created), fromMicro(updated)
	return c, nil
}

const reportColumns = `r.id, r.client_id, r.created_by, r.report_type, r.status, r.created_at,
	r.processing_started_at, r.processing_completed_at, r.csv_size_bytes`

func scanReport(sc sqlexec.Scanner, extra ...any) (store.Report, error) {
	var r store.Report
	var createdBy sql.NullString
	var typ, status string
	var created int64
	var started, completed sql.NullInt64
	dest := append([]any{&r.ID, &r.ClientID, &createdBy, &typ, &status, &created, &started, &completed,
		&r.CSVSizeBytes}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.CreatedBy, r.ReportType, r.Status = createdBy.String, store.ReportType(typ), store.ReportStatus(status)
	r.CreatedAt = fromMicro(created)
	r.ProcessingStartedAt, r.ProcessingCompletedAt = timePtr(started), timePtr(completed)
	return r, nil
}

// ReportGet returns a report with its recommendations in their stored order.
func (s *Store) ReportGet(ctx context.Context, id string) (*store.Report, error) {
	const op = "get report"
	nid, err := storedriver.ID("id", id)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	var r store.Report
	err = s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var err error
		if r, err = scanReport(tx.QueryRowContext(ctx, "SELECT "+reportColumns+" FROM reports r WHERE r.id = ?", nid)); err != nil {
			return err
		}
		r.Recommendations, err = sqlexec.Query(ctx, tx, scanRecommendation, `SELECT id, report_id, category,
			business_impact, recommendation, subscription_id, subscription_name, resource_group, resource_name,
			resource_type, potential_savings_cents, currency
			FROM recommendations WHERE report_id = ? ORDER BY position`, nid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func scanRecommendation(sc sqlexec.Scanner) (rec store.Recommendation, err error) {
	var impact, text, subID, subName, rg, rn, rt sql.NullString
	var cents int64
	if err := sc.Scan(&rec.ID, &rec.ReportID, &rec.Category, &impact, &text, &subID, &subName, &rg, &rn, &rt, &cents,
		&rec.Currency); err != nil {
		return rec, err
	}
	rec.BusinessImpact, rec.Recommendation = store.Impact(impact.String), text.String
	rec.SubscriptionID, rec.SubscriptionName = subID.String, subName.String
	rec.ResourceGroup, rec.ResourceName, rec.ResourceType = rg.String, rn.String, rt.String
	rec.PotentialSavings = amount(cents)
	return rec, nil
}

// ReportMetrics computes the figures of the metrics route in one read
// transaction.
func (s *Store) ReportMetrics(ctx context.Context, p store.ReportMetricsParams) (*store.ReportMetrics, error) {
	const op = "report metrics"
	if p.GenerationSample < 0 {
		return nil, fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("generation_sample", "must not be negative"))
	}
	if p.GenerationSample == 0 {
		p.GenerationSample = 100
	}
	ms, pms := micro(p.MonthStart), micro(p.PrevMonthStart)
	m := &store.ReportMetrics{}
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var total, before, this, prev int64
		// On month starts at local midnights of the counters' zone, the
		// per-day counters hold every figure of the reports query.
		query, args := `SELECT COUNT(*),
				COALESCE(SUM(created_at < ?1), 0),
				COALESCE(SUM(status = 'completed'), 0),
				COALESCE(SUM(created_at >= ?1), 0),
				COALESCE(SUM(created_at >= ?2 AND created_at < ?1), 0),
				COALESCE(SUM(savings_cents), 0),
				COALESCE(SUM(CASE WHEN created_at < ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN created_at >= ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN created_at >= ?2 AND created_at < ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN created_at >= ?1 THEN recommendation_count END), 0),
				COALESCE(SUM(CASE WHEN created_at >= ?2 AND created_at < ?1 THEN recommendation_count END), 0)
			FROM reports`, []any{ms, pms}
		if prevDay, monthDay, ok := s.dayCounterBounds(s.opts.Location, p.PrevMonthStart, p.MonthStart); ok {
			query, args = `SELECT COALESCE(SUM(reports), 0),
				COALESCE(SUM(CASE WHEN day < ?1 THEN reports END), 0),
				COALESCE(SUM(completed), 0),
				COALESCE(SUM(CASE WHEN day >= ?1 THEN reports END), 0),
				COALESCE(SUM(CASE WHEN day >= ?2 AND day < ?1 THEN reports END), 0),
				COALESCE(SUM(savings_cents), 0),
				COALESCE(SUM(CASE WHEN day < ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN day >= ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN day >= ?2 AND day < ?1 THEN savings_cents END), 0),
				COALESCE(SUM(CASE WHEN day >= ?1 THEN recommendations END), 0),
				COALESCE(SUM(CASE WHEN day >= ?2 AND day < ?1 THEN recommendations END), 0)
			FROM report_day_counts`, []any{monthDay, prevDay}
		}
		if err := tx.QueryRowContext(ctx, query, args...).Scan(&m.TotalReports, &m.ReportsBeforeMonth, &m.CompletedReports,
			&m.ReportsThisMonth, &m.ReportsPrevMonth, &total, &before, &this, &prev,
			&m.RecommendationsThisMonth, &m.RecommendationsPrevMonth); err != nil {
			return err
		}
		// A user was active before the month when their first report was.
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(first_created_at < ?), 0) FROM report_authors`,
			ms).Scan(&m.ActiveUsers, &m.ActiveUsersBeforeMonth); err != nil {
			return err
		}
		m.TotalSavings, m.SavingsBeforeMonth = amount(total), amount(before)
		m.SavingsThisMonth, m.SavingsPrevMonth = amount(this), amount(prev)
		const sample = `SELECT AVG(d) FROM (SELECT processing_completed_at - processing_started_at AS d FROM reports
			WHERE status = 'completed' AND processing_started_at IS NOT NULL AND processing_completed_at IS NOT NULL %s
			ORDER BY processing_completed_at DESC, id DESC LIMIT ?)`
		var avg, avgBefore sql.NullFloat64
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(sample, ""), p.GenerationSample).Scan(&avg); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(sample, "AND processing_completed_at < ?"), ms, p.GenerationSample).Scan(&avgBefore); err != nil {
			return err
		}
		m.AvgGenerationSeconds, m.AvgGenerationSecondsBeforeMonth = secondsFromMicros(avg), secondsFromMicros(avgBefore)
		return tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(status = 'active'), 0),
				COALESCE(SUM(created_at >= ?1), 0),
				COALESCE(SUM(created_at >= ?2 AND created_at < ?1), 0)
			FROM clients`, ms, pms).Scan(&m.ActiveClients, &m.ClientsThisMonth, &m.ClientsPrevMonth)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// countByKey runs a two-column (key, count) query and sorts the result by
// count descending, ties by key.
func countByKey(ctx context.Context, q queryer, query string, args ...any) ([]store.CountByKey, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.CountByKey{}
	for rows.Next() {
		var c store.CountByKey
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortCounts(out)
	return out, nil
}

func sortCounts(out []store.CountByKey) {
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || (out[i].Count == out[j].Count && out[i].Key < out[j].Key)
	})
}

// RecommendationCategoryCounts counts recommendations by category.
func (s *Store) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	out, err := countByKey(ctx, s.read(), "SELECT category, n FROM recommendation_category_counts WHERE n > 0")
	if err != nil {
		return nil, s.wrap(ctx, "count recommendations by category", err)
	}
	return out, nil
}

// RecommendationImpactCounts counts recommendations by business impact.
func (s *Store) RecommendationImpactCounts(ctx context.Context) ([]store.CountByKey, error) {
	out, err := countByKey(ctx, s.read(),
		"SELECT business_impact, n FROM recommendation_impact_counts WHERE n > 0")
	if err != nil {
		return nil, s.wrap(ctx, "count recommendations by impact", err)
	}
	return out, nil
}

// ReportDailyCounts counts reports created in [from, to) by local day and
// type, ordered by day then type.
func (s *Store) ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.ReportDayCount, error) {
	const op = "count reports by day"
	lo, hi := micro(from), micro(to)
	if hi <= lo {
		return []store.ReportDayCount{}, nil
	}
	if fromDay, toDay, ok := s.dayCounterBounds(loc, from, to); ok {
		out, err := s.reportDailyCountsFromCounters(ctx, fromDay, toDay)
		return out, s.wrap(ctx, op, err)
	}
	out, err := sqlexec.Query(ctx, s.read(), sqlexec.ScanReportDayCount, "SELECT "+localDayExpr("created_at", loc, lo, hi-1)+
		` AS day, report_type, COUNT(*) FROM reports WHERE created_at >= ? AND created_at < ?
		GROUP BY 1, 2 ORDER BY 1, 2`, lo, hi)
	return out, s.wrap(ctx, op, err)
}

// ReportRecent returns the newest reports with their client's name.
func (s *Store) ReportRecent(ctx context.Context, clientID string, limit int) ([]store.ReportWithClient, error) {
	const op = "list recent reports"
	limit, clientID, err := storedriver.RecentParams(limit, clientID)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	where, args := "", []any{limit}
	if clientID != "" {
		where, args = " WHERE r.client_id = ?", []any{clientID, limit}
	}
	out, err := sqlexec.Query(ctx, s.read(), scanReportWithClient, "SELECT "+reportColumns+`, c.company_name
		FROM reports r JOIN clients c ON c.id = r.client_id`+where+`
		ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, args...)
	return out, s.wrap(ctx, op, err)
}

func scanReportWithClient(sc sqlexec.Scanner) (rc store.ReportWithClient, err error) {
	rc.Report, err = scanReport(sc, &rc.ClientName)
	return rc, err
}

// ClientPerformance aggregates one client's reports, or all of them when
// clientID is empty.
func (s *Store) ClientPerformance(ctx context.Context, clientID string) (*store.ClientPerformance, error) {
	const op = "client performance"
	where, args := "1", []any{}
	if clientID != "" {
		id, err := storedriver.ID("client_id", clientID)
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		where, args = "r.client_id = ?", []any{id}
	}
	out := &store.ClientPerformance{}
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		if clientID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM clients WHERE id = ?", args...).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return store.ErrNotFound
			}
		}
		if clientID == "" {
			return allClientsPerformance(ctx, tx, out)
		}
		var avg sql.NullFloat64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(r.status = 'completed'), 0),
				COALESCE(SUM(r.status = 'failed'), 0),
				AVG(CASE WHEN r.status = 'completed' AND r.processing_started_at IS NOT NULL
					AND r.processing_completed_at IS NOT NULL
					THEN r.processing_completed_at - r.processing_started_at END)
			FROM reports r WHERE `+where, args...).Scan(&out.TotalReports, &out.CompletedReports,
			&out.FailedReports, &avg); err != nil {
			return err
		}
		out.AvgProcessingSeconds = secondsFromMicros(avg)
		var savings int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(r.recommendation_count), 0),
				COALESCE(SUM(r.savings_cents), 0)
			FROM reports r WHERE `+where, args...).Scan(&out.TotalRecommendations, &savings); err != nil {
			return err
		}
		out.TotalSavings = amount(savings)
		var err error
		out.Categories, err = countByKey(ctx, tx, `SELECT k.category, SUM(k.n)
			FROM reports r JOIN report_category_counts k ON k.report_id = r.id WHERE `+where+` GROUP BY k.category`, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// allClientsPerformance fills out for every report from the per-day report
// counters and the category counters, not from the reports.
func allClientsPerformance(ctx context.Context, tx queryer, out *store.ClientPerformance) error {
	var timed, processing, savings int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(reports), 0), COALESCE(SUM(completed), 0),
			COALESCE(SUM(failed), 0), COALESCE(SUM(timed), 0), COALESCE(SUM(processing_us), 0),
			COALESCE(SUM(recommendations), 0), COALESCE(SUM(savings_cents), 0)
		FROM report_day_counts`).Scan(&out.TotalReports, &out.CompletedReports, &out.FailedReports, &timed,
		&processing, &out.TotalRecommendations, &savings); err != nil {
		return err
	}
	if timed > 0 {
		out.AvgProcessingSeconds = float64(processing) / float64(timed) / 1e6
	}
	out.TotalSavings = amount(savings)
	var err error
	out.Categories, err = countByKey(ctx, tx, "SELECT category, n FROM recommendation_category_counts WHERE n > 0")
	return err
}

// CostFigures sums the potential savings of the matching reports and their
// monthly trend in the Location.
func (s *Store) CostFigures(ctx context.Context, p store.CostParams) (*store.CostFigures, error) {
	const op = "cost figures"
	for i, t := range p.Types {
		if !t.Valid() {
			return nil, fmt.Errorf("sqlite: %s: %w", op, storedriver.Invalid("report_type", "unknown report type %q (item %d)", t, i))
		}
	}
	var c conds
	c.andIf(!p.From.IsZero(), "r.created_at >= ?", micro(p.From))
	c.andIf(!p.To.IsZero(), "r.created_at <= ?", micro(p.To))
	c.andIf(len(p.Types) > 0, "r.report_type IN ("+placeholders(len(p.Types))+")", typeArgs(p.Types)...)
	where, args := c.sql(), c.args
	out := &store.CostFigures{Months: []store.MonthAmount{}}
	if fromDay, monthsDay, lastDay, ok := recagg.CostDays(p, s.opts.Location, s.now()); ok {
		err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
			return s.costFromCounters(ctx, tx, p, fromDay, monthsDay, lastDay, out)
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var total int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(r.savings_cents), 0)
			FROM reports r WHERE `+where, args...).Scan(&total); err != nil {
			return err
		}
		out.TotalSavings = amount(total)
		end := p.To
		if end.IsZero() {
			end = s.now()
		}
		lo, hi := micro(p.MonthsFrom), micro(end)
		if hi < lo {
			return nil
		}
		month := "strftime('%Y-%m', (" + localDayExpr("r.created_at", p.Location, lo, hi) + ") * 86400, 'unixepoch')"
		rows, err := tx.QueryContext(ctx, "SELECT "+month+`, SUM(r.savings_cents)
			FROM reports r
			WHERE `+where+` AND r.created_at >= ? AND r.created_at <= ?
			GROUP BY 1 HAVING SUM(r.savings_cents) > 0 ORDER BY 1`, append(args, lo, hi)...)
		if err != nil {
			return err
		}
		out.Months, err = sqlexec.Collect(rows, scanMonthCents)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// costFromCounters answers CostFigures from the per-day report counters
// (days fromDay and on; months monthsDay to lastDay): at most one row per
// day and type instead of every report.
func (s *Store) costFromCounters(ctx context.Context, tx queryer, p store.CostParams, fromDay, monthsDay, lastDay string, out *store.CostFigures) error {
	var c conds
	c.andIf(fromDay != "", "day >= ?", fromDay)
	c.andIf(len(p.Types) > 0, "report_type IN ("+placeholders(len(p.Types))+")", typeArgs(p.Types)...)
	where, args := c.sql(), c.args
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(savings_cents), 0) FROM report_day_counts WHERE `+where, args...).Scan(&total); err != nil {
		return err
	}
	out.TotalSavings = amount(total)
	where += " AND day <= ? AND day >= ?"
	args = append(args, lastDay, monthsDay)
	rows, err := tx.QueryContext(ctx, `SELECT substr(day, 1, 7), SUM(savings_cents) FROM report_day_counts
		WHERE `+where+` GROUP BY 1 HAVING SUM(savings_cents) > 0 ORDER BY 1`, args...)
	if err != nil {
		return err
	}
	out.Months, err = sqlexec.Collect(rows, scanMonthCents)
	return err
}

// scanMonthCents scans a month and its savings in cents.
func scanMonthCents(sc sqlexec.Scanner) (m store.MonthAmount, err error) {
	var c int64
	err = sc.Scan(&m.Month, &c)
	m.Amount = amount(c)
	return m, err
}

// ReportWindowStats computes the report figures of [from, to).
func (s *Store) ReportWindowStats(ctx context.Context, from, to time.Time) (*store.WindowStats, error) {
	const op = "report window stats"
	lo, hi := micro(from), micro(to)
	w := &store.WindowStats{ReportTypeCounts: map[string]int64{}, CategoryCounts: map[string]int64{}}
	err := s.readTx(ctx, op, func(tx *sqlexec.StmtTx) error {
		var csv sql.NullFloat64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(status = 'completed'), 0),
				COALESCE(SUM(status = 'failed'), 0), AVG(csv_size_bytes)
			FROM reports WHERE created_at >= ? AND created_at < ?`, lo, hi).Scan(
			&w.ReportsCreated, &w.ReportsCompleted, &w.ReportsFailed, &csv); err != nil {
			return err
		}
		if csv.Valid {
			w.AvgCSVSizeBytes = csv.Float64
		}
		if err := sqlexec.AddCounts(ctx, tx, w.ReportTypeCounts, `SELECT report_type, COUNT(*) FROM reports
			WHERE created_at >= ? AND created_at < ? GROUP BY 1`, lo, hi); err != nil {
			return err
		}
		if err := sqlexec.AddCounts(ctx, tx, w.CategoryCounts, `SELECT k.category, SUM(k.n)
			FROM reports r JOIN report_category_counts k ON k.report_id = r.id
			WHERE r.created_at >= ? AND r.created_at < ? GROUP BY 1`, lo, hi); err != nil {
			return err
		}
		var savings int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(recommendation_count), 0), COALESCE(SUM(savings_cents), 0)
			FROM reports WHERE created_at >= ? AND created_at < ?`, lo, hi).Scan(&w.Recommendations, &savings); err != nil {
			return err
		}
		w.Savings = amount(savings)
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM clients WHERE created_at >= ? AND created_at < ?",
			lo, hi).Scan(&w.NewClients); err != nil {
			return err
		}
		var avg sql.NullFloat64
		if err := tx.QueryRowContext(ctx, `SELECT AVG(processing_completed_at - processing_started_at) FROM reports
			WHERE status = 'completed' AND processing_started_at IS NOT NULL
				AND processing_completed_at >= ? AND processing_completed_at < ?`, lo, hi).Scan(&avg); err != nil {
			return err
		}
		w.AvgProcessingSeconds = secondsFromMicros(avg)
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM reports WHERE created_at < ?", hi).Scan(&w.TotalReports)
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}
