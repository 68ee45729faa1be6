package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

// dayCountersVersion is the migration that creates the per-day report
// counters.
const dayCountersVersion = 4

// errUpsertRaced is returned inside a report upsert transaction that found
// no report to lock but then updated one another transaction had just
// inserted: the transaction is rolled back and run again.
var errUpsertRaced = errors.New("report inserted concurrently")

// writeAuthors recomputes the report_authors rows of the given authors
// (empty ones are skipped) in key order. Each row is locked first, so the
// recomputation (a new snapshot) sees every upsert committed before.
func writeAuthors(ctx context.Context, tx *sqlx.Tx, authors ...string) error {
	for _, a := range recagg.Authors(authors...) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_authors AS t (created_by, first_created_at) VALUES ($1, now())
			ON CONFLICT (created_by) DO UPDATE SET first_created_at = t.first_created_at`, a); err != nil {
			return fmt.Errorf("report authors: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `WITH m AS (SELECT min(created_at) AS first FROM reports WHERE created_by = $1),
				u AS (UPDATE report_authors SET first_created_at = m.first FROM m WHERE created_by = $1 AND m.first IS NOT NULL)
			DELETE FROM report_authors WHERE created_by = $1 AND (SELECT first FROM m) IS NULL`, a); err != nil {
			return fmt.Errorf("report authors: %w", err)
		}
	}
	return nil
}

// writeDayDeltas moves the per-day counters by d, in key order (after the
// category and impact counters, so concurrent upserts take the shared rows
// in one global order).
func writeDayDeltas(ctx context.Context, tx *sqlx.Tx, d recagg.DayDeltas) error {
	rows := d.Sorted()
	if len(rows) == 0 {
		return nil
	}
	days, types := make([]string, len(rows)), make([]string, len(rows))
	cols := make([][]int64, 7) // reports, completed, failed, timed, processing_us, recommendations, savings_cents
	for j := range cols {
		cols[j] = make([]int64, len(rows))
	}
	for i, r := range rows {
		c := r.Counts
		days[i], types[i] = r.Key.Day, r.Key.ReportType
		for j, v := range []int64{c.Reports, c.Completed, c.Failed, c.Timed, c.ProcessingMicros, c.Recommendations, c.Cents} {
			cols[j][i] = v
		}
	}
	args := []any{pq.Array(days), pq.Array(types)}
	for _, c := range cols {
		args = append(args, pq.Array(c))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO report_day_counts AS t (day, report_type, reports, completed, failed, timed,
			processing_us, recommendations, savings_cents)
		SELECT d::date, ty, r, c, f, tm, p, n, s
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
			$8::bigint[], $9::bigint[]) WITH ORDINALITY AS u (d, ty, r, c, f, tm, p, n, s, i)
		ORDER BY i
		ON CONFLICT (day, report_type) DO UPDATE SET reports = t.reports + EXCLUDED.reports,
			completed = t.completed + EXCLUDED.completed, failed = t.failed + EXCLUDED.failed,
			timed = t.timed + EXCLUDED.timed, processing_us = t.processing_us + EXCLUDED.processing_us,
			recommendations = t.recommendations + EXCLUDED.recommendations,
			savings_cents = t.savings_cents + EXCLUDED.savings_cents`, args...)
	if err != nil {
		return fmt.Errorf("report day counters: %w", err)
	}
	return nil
}

// factsColumns are the columns of reports that scanFacts reads.
const factsColumns = `created_at, report_type, status, processing_started_at, processing_completed_at,
	recommendation_count, savings_cents`

// scanFacts scans factsColumns, then extra.
func scanFacts(sc sqlexec.Scanner, extra ...any) (recagg.Facts, error) {
	var f recagg.Facts
	var started, completed sql.NullTime
	if err := sc.Scan(append([]any{&f.Created, &f.ReportType, &f.Status, &started, &completed,
		&f.Recommendations, &f.Cents}, extra...)...); err != nil {
		return f, err
	}
	f.Created, f.Started, f.Completed = f.Created.UTC(), started.Time, completed.Time
	return f, nil
}

// syncDayCounters fills the per-day report counters when they were built
// in another zone than the configured one (or never), from the reports,
// in one transaction that keeps report upserts out meanwhile. It does
// nothing before the counters' migration.
func (s *Store) syncDayCounters(ctx context.Context) error {
	const op = "fill report day counters"
	if ok, err := sqlexec.Applied(ctx, s.MigrationStatus, dayCountersVersion); !ok {
		return err
	}
	want := recagg.ZoneName(s.loc)
	var zone string
	if err := s.db.QueryRowContext(ctx, "SELECT zone FROM report_day_zone WHERE id = 1").Scan(&zone); err != nil {
		return s.wrap(ctx, op, err)
	}
	if zone == want {
		return nil
	}
	rebuilt := false
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		// Upserts hold ROW EXCLUSIVE on reports: this waits for those under
		// way and keeps new ones (and other fills) out until the commit.
		if _, err := tx.ExecContext(ctx, "LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var ferr error
		rebuilt, ferr = sqlexec.RefillDayCounters(ctx, tx, s.loc, factsColumns, func(sc sqlexec.Scanner) (recagg.Facts, error) { return scanFacts(sc) },
			func(d recagg.DayDeltas) error { return writeDayDeltas(ctx, tx, d) }, "UPDATE report_day_zone SET zone = $1 WHERE id = 1")
		return ferr
	})
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if rebuilt {
		s.log.InfoContext(ctx, "postgres: filled the per-day report counters", "zone", want, "schema", s.schema)
	}
	return nil
}

// dayCounterBounds returns the local days [fromDay, toDay) of the counters
// that cover [from, to) exactly, and ok false when the counters cannot
// answer (another zone, or a bound that is not a local midnight).
func (s *Store) dayCounterBounds(loc *time.Location, from, to time.Time) (fromDay, toDay string, ok bool) {
	if !recagg.SameZone(loc, s.loc, from, to) {
		return "", "", false
	}
	fromDay, ok1 := recagg.LocalMidnightDay(from, s.loc)
	toDay, ok2 := recagg.LocalMidnightDay(to, s.loc)
	return fromDay, toDay, ok1 && ok2
}

// reportDailyCountsFromCounters answers ReportDailyCounts from the per-day
// counters: at most one row per day and type.
func (s *Store) reportDailyCountsFromCounters(ctx context.Context, fromDay, toDay string) ([]store.ReportDayCount, error) {
	return sqlexec.Query(ctx, s.read(), sqlexec.ScanReportDayCount, `SELECT day - DATE '1970-01-01', report_type, reports
		FROM report_day_counts WHERE day >= $1::date AND day < $2::date AND reports > 0 ORDER BY day, report_type`,
		fromDay, toDay)
}
