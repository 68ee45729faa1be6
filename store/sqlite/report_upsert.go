package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ReportUpsert creates or replaces a report and all its recommendations in
// one transaction. Replacing a report without a CreatedAt keeps its stored
// creation time (written back into r).
func (s *Store) ReportUpsert(ctx context.Context, r *store.Report) error {
	op := fmt.Sprintf("upsert report with %d recommendations", len(r.Recommendations))
	_, err := storedriver.UpsertReports([]*store.Report{r}, s.now(), func(keep []bool) (int, error) {
		return s.writeReports(ctx, []*store.Report{r}, keep, "")
	}, func(err error) error { return s.wrap(ctx, op, err) })
	return storedriver.Unbatch(err)
}

// ReportUpsertMany creates or replaces reports and their recommendations in
// one transaction, all or nothing; the shared counters are written once.
func (s *Store) ReportUpsertMany(ctx context.Context, reports []*store.Report, owner string) (int, error) {
	op := fmt.Sprintf("upsert %d reports", len(reports))
	return storedriver.UpsertReports(reports, s.now(), func(keep []bool) (int, error) {
		return s.writeReports(ctx, reports, keep, owner)
	}, func(err error) error { return s.wrap(ctx, op, err) })
}

// writeReports stores prepared reports; keep tells which keep their stored
// creation time. Errors are as the database gave them.
func (s *Store) writeReports(ctx context.Context, reports []*store.Report, keep []bool, owner string) (int, error) {
	created := 0
	createdAt := make([]int64, len(reports))
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		created = 0
		w, err := newReportWriter(ctx, tx, s)
		if err != nil {
			return err
		}
		defer w.close()
		for i, r := range reports {
			existed, at, err := w.upsert(r, keep[i], owner)
			if err != nil {
				return &store.BatchError{Index: i, Err: err}
			}
			createdAt[i] = at
			if !existed {
				created++
			}
		}
		return w.flush()
	})
	if err != nil {
		return 0, err
	}
	for i, r := range reports {
		r.CreatedAt = fromMicro(createdAt[i])
	}
	return created, nil
}

// reportWriter writes the reports of one transaction with statements
// prepared once, and gathers the shared counters' changes to write them
// once at the end.
type reportWriter struct {
	ctx     context.Context
	tx      *sql.Tx
	s       *Store
	batch   *recagg.Batch
	clients map[string]bool
	report  *sql.Stmt
	stored  *sql.Stmt
	cat     *sql.Stmt
	recs    []*sql.Stmt // multi-row recommendation inserts by log2 of their row count, prepared on first use
}

const upsertReportSQL = `INSERT INTO reports (id, client_id, created_by, report_type, status, created_at,
		processing_started_at, processing_completed_at, csv_size_bytes, recommendation_count, savings_cents)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, created_by = excluded.created_by,
		report_type = excluded.report_type, status = excluded.status,
		created_at = CASE WHEN ? THEN reports.created_at ELSE excluded.created_at END,
		processing_started_at = excluded.processing_started_at,
		processing_completed_at = excluded.processing_completed_at, csv_size_bytes = excluded.csv_size_bytes,
		recommendation_count = excluded.recommendation_count, savings_cents = excluded.savings_cents
	RETURNING created_at`

const recommendationColumns = 13

// insertRecommendationsSQL inserts rows recommendations.
func insertRecommendationsSQL(rows int) string {
	return `INSERT INTO recommendations (id, report_id, position, category, business_impact, recommendation,
		subscription_id, subscription_name, resource_group, resource_name, resource_type, potential_savings_cents,
		currency) VALUES ` + valuesSQL(rows, recommendationColumns)
}

func newReportWriter(ctx context.Context, tx *sql.Tx, s *Store) (*reportWriter, error) {
	w := &reportWriter{ctx: ctx, tx: tx, s: s, batch: recagg.NewBatch(), clients: map[string]bool{},
		recs: make([]*sql.Stmt, bits.Len(maxChunk))}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&w.report, upsertReportSQL}, {&w.stored, storedReportSQL},
		{&w.cat, "INSERT INTO report_category_counts (report_id, category, n) VALUES (?, ?, ?)"}} {
		var err error
		if *p.st, err = tx.PrepareContext(ctx, p.sql); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

func (w *reportWriter) close() {
	for _, st := range append([]*sql.Stmt{w.report, w.stored, w.cat}, w.recs...) {
		if st != nil {
			_ = st.Close()
		}
	}
}

// insertRecommendations inserts the recommendations of report r with
// multi-row statements.
func (w *reportWriter) insertRecommendations(r *store.Report) error {
	args := make([]any, 0, min(len(r.Recommendations), maxChunk)*recommendationColumns)
	done := 0
	for _, c := range chunks(len(r.Recommendations)) {
		i := bits.Len(uint(c)) - 1
		if w.recs[i] == nil {
			st, err := w.tx.PrepareContext(w.ctx, insertRecommendationsSQL(c))
			if err != nil {
				return err
			}
			w.recs[i] = st
		}
		args = args[:0]
		for j := done; j < done+c; j++ {
			rec := &r.Recommendations[j]
			args = append(args, rec.ID, r.ID, j, string(rec.Category), nullString(string(rec.BusinessImpact)),
				nullString(rec.Recommendation), nullString(rec.SubscriptionID), nullString(rec.SubscriptionName),
				nullString(rec.ResourceGroup), nullString(rec.ResourceName), nullString(rec.ResourceType),
				cents(rec.PotentialSavings), rec.Currency)
		}
		if _, err := w.recs[i].ExecContext(w.ctx, args...); err != nil {
			return fmt.Errorf("recommendations %d to %d: %w", done, done+c-1, err)
		}
		done += c
	}
	return nil
}

// upsert writes one report, its recommendations and its own category
// counts, and adds its share of the shared counters to the batch.
func (w *reportWriter) upsert(r *store.Report, keepCreated bool, owner string) (existed bool, createdAt int64, err error) {
	ctx, tx := w.ctx, w.tx
	known, checked := w.clients[r.ClientID]
	if !checked {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM clients WHERE id = ?", r.ClientID).Scan(&n); err != nil {
			return false, 0, err
		}
		known = n > 0
		w.clients[r.ClientID] = known
	}
	if !known {
		return false, 0, storedriver.Invalid("client_id", "unknown client %s", r.ClientID)
	}
	oldDay, oldAuthor, existed, err := w.s.storedReport(ctx, w.stored, r.ID)
	if err != nil {
		return false, 0, err
	}
	if existed && owner != "" && oldAuthor != owner {
		return false, 0, store.ErrNotOwner
	}
	old := recagg.New()
	if existed {
		if old, err = storedAggregate(ctx, tx, r.ID); err != nil {
			return false, 0, err
		}
	}
	cur := recagg.Of(r.Recommendations)
	if err := w.report.QueryRowContext(ctx, r.ID, r.ClientID, nullString(r.CreatedBy), string(r.ReportType), string(r.Status),
		micro(r.CreatedAt), microPtr(r.ProcessingStartedAt), microPtr(r.ProcessingCompletedAt), int64Ptr(r.CSVSizeBytes),
		len(r.Recommendations), cur.Cents, keepCreated).Scan(&createdAt); err != nil {
		return false, 0, err
	}
	if existed {
		if _, err := tx.ExecContext(ctx, "DELETE FROM report_category_counts WHERE report_id = ?", r.ID); err != nil {
			return false, 0, err
		}
	}
	for _, k := range recagg.SortedKeys(cur.Categories) {
		if _, err := w.cat.ExecContext(ctx, r.ID, k, cur.Categories[k]); err != nil {
			return false, 0, err
		}
	}
	newDay := recagg.DayOf(recagg.FactsOf(r, fromMicro(createdAt), cur.Cents), w.s.opts.Location)
	w.batch.Move(old, cur)
	w.batch.Report(oldDay, existed, newDay, oldAuthor, r.CreatedBy)
	if existed {
		if _, err := tx.ExecContext(ctx, "DELETE FROM recommendations WHERE report_id = ?", r.ID); err != nil {
			return false, 0, err
		}
	}
	if err := w.insertRecommendations(r); err != nil {
		return false, 0, err
	}
	return existed, createdAt, nil
}

// flush writes the batch's changes of the shared counters, each row once.
func (w *reportWriter) flush() error {
	ctx, tx := w.ctx, w.tx
	for _, c := range []struct {
		query string
		d     map[string]int64
	}{
		{`INSERT INTO recommendation_category_counts (category, n) VALUES (?, ?)
			ON CONFLICT (category) DO UPDATE SET n = n + excluded.n`, w.batch.Categories},
		{`INSERT INTO recommendation_impact_counts (business_impact, n) VALUES (?, ?)
			ON CONFLICT (business_impact) DO UPDATE SET n = n + excluded.n`, w.batch.Impacts},
	} {
		d := recagg.Changed(c.d)
		for _, k := range recagg.SortedKeys(d) {
			if _, err := tx.ExecContext(ctx, c.query, k, d[k]); err != nil {
				return err
			}
		}
	}
	if err := writeDayDeltas(ctx, tx, w.batch.Days); err != nil {
		return err
	}
	return writeAuthors(ctx, tx, w.batch.Authors()...)
}
