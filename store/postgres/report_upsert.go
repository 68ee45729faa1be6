package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ReportUpsert creates or replaces a report and all its recommendations in
// one transaction. On update a zero CreatedAt keeps the stored creation
// time. An unknown client is a *store.ValidationError on "client_id". Text
// is stored as clean makes it (without NUL characters, invalid UTF-8
// replaced); a currency that would need that is a *store.ValidationError.
func (s *Store) ReportUpsert(ctx context.Context, r *store.Report) error {
	_, err := storedriver.UpsertReports([]*store.Report{r}, s.now(), func(keep []bool) (int, error) {
		return s.writeReports(ctx, []*store.Report{r}, keep, "")
	}, func(err error) error { return s.wrap(ctx, "upsert report", err) })
	return storedriver.Unbatch(err)
}

// ReportUpsertMany creates or replaces reports and their recommendations in
// one transaction, all or nothing, with a few set-based statements: the
// reports are locked and read in id order, written with one INSERT, their
// recommendations replaced with one DELETE and one COPY, and every shared
// counter row is written once.
func (s *Store) ReportUpsertMany(ctx context.Context, reports []*store.Report, owner string) (int, error) {
	const op = "upsert reports"
	return storedriver.UpsertReports(reports, s.now(), func(keep []bool) (int, error) {
		return s.writeReports(ctx, reports, keep, owner)
	}, func(err error) error { return s.wrap(ctx, op, err) })
}

// writeReports stores prepared reports; keep tells which keep their stored
// creation time. Errors are as the database gave them.
func (s *Store) writeReports(ctx context.Context, reports []*store.Report, keep []bool, owner string) (int, error) {
	for i, r := range reports {
		if err := checkReportText(r); err != nil {
			return 0, &store.BatchError{Index: i, Err: err}
		}
	}
	if len(reports) == 0 {
		return 0, nil
	}
	// Rows are locked in id order, so concurrent batches cannot deadlock.
	order := make([]int, len(reports))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if reports[a].ID < reports[b].ID {
			return -1
		}
		return 1
	})
	var (
		created int
		at      []time.Time
		err     error
	)
	for range 3 {
		created, at, err = s.reportBatchTx(ctx, reports, order, keep, owner)
		if !errors.Is(err, errUpsertRaced) {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	for i, r := range reports {
		r.CreatedAt = at[i].UTC()
	}
	return created, nil
}

// storedReport is what a batch needs of a report that exists already.
type storedReport struct {
	day       recagg.ReportDay
	author    string
	createdAt time.Time
}

// reportBatchTx is one attempt of a batch upsert, in one transaction. It
// returns how many reports were new and each report's creation time.
func (s *Store) reportBatchTx(ctx context.Context, reports []*store.Report, order []int, keep []bool, owner string) (int, []time.Time, error) {
	created := 0
	at := make([]time.Time, len(reports))
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		if err := checkClients(ctx, tx, reports); err != nil {
			return err
		}
		ids := make([]string, len(order))
		for k, i := range order {
			ids[k] = reports[i].ID
		}
		old, err := s.lockReports(ctx, tx, ids)
		if err != nil {
			return err
		}
		if owner != "" {
			for i, r := range reports {
				if o, ok := old[r.ID]; ok && o.author != owner {
					return &store.BatchError{Index: i, Err: store.ErrNotOwner}
				}
			}
		}
		written, err := insertReports(ctx, tx, reports, order, keep, old)
		if err != nil {
			return err
		}
		batch := recagg.NewBatch()
		oldAgg, err := deleteRecommendations(ctx, tx, old)
		if err != nil {
			return err
		}
		created = 0
		var catIDs, cats []string
		var catNs []int64
		for i, r := range reports {
			w := written[r.ID]
			o, existed := old[r.ID]
			if w.updated && !existed {
				return errUpsertRaced
			}
			if !existed {
				created++
			}
			at[i] = w.createdAt
			cur := recagg.Of(r.Recommendations)
			for _, k := range recagg.SortedKeys(cur.Categories) {
				catIDs, cats, catNs = append(catIDs, r.ID), append(cats, k), append(catNs, cur.Categories[k])
			}
			newDay := recagg.DayOf(recagg.FactsOf(r, w.createdAt, cur.Cents), s.loc)
			batch.Move(recagg.New(), cur)
			batch.Report(o.day, existed, newDay, o.author, clean(r.CreatedBy))
		}
		// The recommendations the batch deleted leave the shared counters.
		batch.Move(oldAgg, recagg.New())
		if err := copyRecommendations(ctx, tx, reports); err != nil {
			return err
		}
		if err := replaceReportCategories(ctx, tx, ids, catIDs, cats, catNs); err != nil {
			return err
		}
		return writeBatch(ctx, tx, batch)
	})
	return created, at, err
}

// checkClients refuses a batch naming a client that does not exist, with
// the index of the first report that names it.
func checkClients(ctx context.Context, tx *sqlx.Tx, reports []*store.Report) error {
	var want []string
	for _, r := range reports {
		if !slices.Contains(want, r.ClientID) {
			want = append(want, r.ClientID)
		}
	}
	var have []string
	if err := tx.SelectContext(ctx, &have, `SELECT id::text FROM clients WHERE id = ANY($1::uuid[])`, pq.Array(want)); err != nil {
		return err
	}
	for i, r := range reports {
		if !slices.Contains(have, r.ClientID) {
			return &store.BatchError{Index: i, Err: storedriver.Invalid("client_id", "unknown client %s", r.ClientID)}
		}
	}
	return nil
}

// lockReports locks the stored reports among ids (in id order) and reads
// the per-day counter row each counts in and its author.
func (s *Store) lockReports(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]storedReport, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+factsColumns+`, created_by, id::text
		FROM reports WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]storedReport)
	for rows.Next() {
		var id string
		var by sql.NullString
		f, err := scanFacts(rows, &by, &id)
		if err != nil {
			return nil, err
		}
		out[id] = storedReport{day: recagg.DayOf(f, s.loc), author: by.String, createdAt: f.Created}
	}
	return out, rows.Err()
}

// writtenReport is what the INSERT returned for one report.
type writtenReport struct {
	createdAt time.Time
	updated   bool
}

// insertReports writes every report row with one INSERT … ON CONFLICT, in
// id order.
// A report replaced without a creation time keeps the stored one.
func insertReports(ctx context.Context, tx *sqlx.Tx, reports []*store.Report, order []int, keep []bool,
	old map[string]storedReport) (map[string]writtenReport, error) {
	n := len(order)
	ids, clients, types, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	by, started, completed := make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n)
	createdAt := make([]string, n)
	size := make([]sql.NullInt64, n)
	recs, cents := make([]int64, n), make([]int64, n)
	for k, i := range order {
		r := reports[i]
		ids[k], clients[k], types[k], statuses[k] = r.ID, r.ClientID, string(r.ReportType), string(r.Status)
		by[k] = sql.NullString{String: clean(r.CreatedBy), Valid: r.CreatedBy != ""}
		created := r.CreatedAt
		if o, ok := old[r.ID]; ok && keep[i] {
			created = o.createdAt
		}
		createdAt[k] = created.UTC().Format(time.RFC3339Nano)
		started[k], completed[k] = timeText(r.ProcessingStartedAt), timeText(r.ProcessingCompletedAt)
		if r.CSVSizeBytes != nil {
			size[k] = sql.NullInt64{Int64: *r.CSVSizeBytes, Valid: true}
		}
		recs[k], cents[k] = int64(len(r.Recommendations)), recagg.Of(r.Recommendations).Cents
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO reports AS r (id, client_id, created_by, report_type, status, created_at,
			processing_started_at, processing_completed_at, csv_size_bytes, recommendation_count, savings_cents)
		SELECT id, client_id, created_by, report_type, status, created_at, started, completed, size, recs, cents
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
			$8::timestamptz[], $9::bigint[], $10::int[], $11::bigint[]) WITH ORDINALITY
			AS u (id, client_id, created_by, report_type, status, created_at, started, completed, size, recs, cents, i)
		ORDER BY i
		ON CONFLICT (id) DO UPDATE SET client_id = EXCLUDED.client_id, created_by = EXCLUDED.created_by,
			report_type = EXCLUDED.report_type, status = EXCLUDED.status,
			processing_started_at = EXCLUDED.processing_started_at,
			processing_completed_at = EXCLUDED.processing_completed_at, csv_size_bytes = EXCLUDED.csv_size_bytes,
			recommendation_count = EXCLUDED.recommendation_count, savings_cents = EXCLUDED.savings_cents,
			created_at = EXCLUDED.created_at
		RETURNING id::text, created_at, xmax <> 0`,
		pq.Array(ids), pq.Array(clients), pq.Array(by), pq.Array(types), pq.Array(statuses), pq.Array(createdAt),
		pq.Array(started), pq.Array(completed), pq.Array(size), pq.Array(recs), pq.Array(cents))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]writtenReport, n)
	for rows.Next() {
		var id string
		var w writtenReport
		if err := rows.Scan(&id, &w.createdAt, &w.updated); err != nil {
			return nil, err
		}
		out[id] = w
	}
	return out, rows.Err()
}

func timeText(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: t.UTC().Format(time.RFC3339Nano), Valid: true}
}

// deleteRecommendations deletes the recommendations of the stored reports
// (locked, so the deleted rows are exactly what the counters hold for
// them) and returns what they added to the counters.
func deleteRecommendations(ctx context.Context, tx *sqlx.Tx, old map[string]storedReport) (recagg.Aggregate, error) {
	agg := recagg.New()
	if len(old) == 0 {
		return agg, nil
	}
	ids := make([]string, 0, len(old))
	for id := range old {
		ids = append(ids, id)
	}
	rows, err := tx.QueryContext(ctx, `WITH d AS (DELETE FROM recommendations WHERE report_id = ANY($1::uuid[])
			RETURNING category, COALESCE(business_impact, '') AS impact)
		SELECT category, impact, count(*) FROM d GROUP BY 1, 2`, pq.Array(ids))
	if err != nil {
		return agg, err
	}
	defer rows.Close()
	for rows.Next() {
		var cat, impact string
		var n int64
		if err := rows.Scan(&cat, &impact, &n); err != nil {
			return agg, err
		}
		agg.Add(cat, impact, n)
	}
	return agg, rows.Err()
}

// copyRecommendations writes every recommendation of the batch with one COPY.
func copyRecommendations(ctx context.Context, tx *sqlx.Tx, reports []*store.Report) error {
	total := 0
	for _, r := range reports {
		total += len(r.Recommendations)
	}
	if total == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, copyRecommendationsSQL)
	if err != nil {
		return err
	}
	for _, r := range reports {
		for i := range r.Recommendations {
			rec := &r.Recommendations[i]
			if _, err := stmt.ExecContext(ctx, rec.ID, r.ID, i, string(rec.Category), null(string(rec.BusinessImpact)),
				null(rec.Recommendation), null(rec.SubscriptionID), null(rec.SubscriptionName), null(rec.ResourceGroup),
				null(rec.ResourceName), null(rec.ResourceType), rec.PotentialSavings, rec.Currency); err != nil {
				_ = stmt.Close()
				return err
			}
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		_ = stmt.Close()
		return err
	}
	return stmt.Close()
}

// replaceReportCategories replaces the per-report category counts of the
// reports ids with the rows (report, category, n).
func replaceReportCategories(ctx context.Context, tx *sqlx.Tx, ids, reportIDs, cats []string, ns []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM report_category_counts WHERE report_id = ANY($1::uuid[])`, pq.Array(ids)); err != nil {
		return err
	}
	if len(reportIDs) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO report_category_counts (report_id, category, n)
		SELECT r, k, n FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS u (r, k, n)`,
		pq.Array(reportIDs), pq.Array(cats), pq.Array(ns))
	return err
}

// writeBatch writes the batch's changes of the shared counters, each row
// once and in key order: recommendations by category and by impact, then
// the per-day counters, then the authors.
func writeBatch(ctx context.Context, tx *sqlx.Tx, b *recagg.Batch) error {
	for _, c := range []struct {
		query string
		d     map[string]int64
	}{
		{`INSERT INTO recommendation_category_counts AS t (category, n)
			SELECT k, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u (k, n, i) ORDER BY i
			ON CONFLICT (category) DO UPDATE SET n = t.n + EXCLUDED.n`, b.Categories},
		{`INSERT INTO recommendation_impact_counts AS t (business_impact, n)
			SELECT k, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u (k, n, i) ORDER BY i
			ON CONFLICT (business_impact) DO UPDATE SET n = t.n + EXCLUDED.n`, b.Impacts},
	} {
		d := recagg.Changed(c.d)
		if len(d) == 0 {
			continue
		}
		keys, ns := keysAndCounts(d)
		if _, err := tx.ExecContext(ctx, c.query, pq.Array(keys), pq.Array(ns)); err != nil {
			return err
		}
	}
	if err := writeDayDeltas(ctx, tx, b.Days); err != nil {
		return err
	}
	return writeAuthors(ctx, tx, b.Authors()...)
}
