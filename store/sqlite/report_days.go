package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

// dayCountersVersion is the migration that creates the per-day report
// counters.
const dayCountersVersion = 3

// writeAuthors recomputes the report_authors rows of the given authors
// (empty ones are skipped) from the reports as they are now.
func writeAuthors(ctx context.Context, tx *sql.Tx, authors ...string) error {
	for _, a := range recagg.Authors(authors...) {
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MIN(created_at) FROM reports WHERE created_by = ?", a).Scan(&first); err != nil {
			return fmt.Errorf("report authors: %w", err)
		}
		var err error
		if first.Valid {
			_, err = tx.ExecContext(ctx, `INSERT INTO report_authors (created_by, first_created_at) VALUES (?, ?)
				ON CONFLICT (created_by) DO UPDATE SET first_created_at = excluded.first_created_at`, a, first.Int64)
		} else {
			_, err = tx.ExecContext(ctx, "DELETE FROM report_authors WHERE created_by = ?", a)
		}
		if err != nil {
			return fmt.Errorf("report authors: %w", err)
		}
	}
	return nil
}

// storedReport reads the per-day counter row a stored report counts in and
// its author (ok false for a new report), with stmt prepared from
// storedReportSQL.
func (s *Store) storedReport(ctx context.Context, stmt *sql.Stmt, id string) (d recagg.ReportDay, author string, ok bool, err error) {
	var by sql.NullString
	f, err := scanFacts(stmt.QueryRowContext(ctx, id), &by)
	if err == sql.ErrNoRows {
		return d, "", false, nil
	}
	if err != nil {
		return d, "", false, err
	}
	return recagg.DayOf(f, s.opts.Location), by.String, true, nil
}

// factsColumns are the columns of reports that scanFacts reads.
const factsColumns = `created_at, report_type, status, processing_started_at, processing_completed_at,
	recommendation_count, savings_cents`

// scanFacts scans factsColumns, then extra.
func scanFacts(sc sqlexec.Scanner, extra ...any) (recagg.Facts, error) {
	var f recagg.Facts
	var created int64
	var started, completed sql.NullInt64
	if err := sc.Scan(append([]any{&created, &f.ReportType, &f.Status, &started, &completed,
		&f.Recommendations, &f.Cents}, extra...)...); err != nil {
		return f, err
	}
	f.Created = fromMicro(created)
	if started.Valid {
		f.Started = fromMicro(started.Int64)
	}
	if completed.Valid {
		f.Completed = fromMicro(completed.Int64)
	}
	return f, nil
}

// storedReportSQL is the statement of storedReport.
const storedReportSQL = `SELECT ` + factsColumns + `, created_by FROM reports WHERE id = ?`

const dayCountsUpsert = `INSERT INTO report_day_counts (day, report_type, reports, completed, failed, timed,
		processing_us, recommendations, savings_cents)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (day, report_type) DO UPDATE SET reports = reports + excluded.reports,
		completed = completed + excluded.completed, failed = failed + excluded.failed, timed = timed + excluded.timed,
		processing_us = processing_us + excluded.processing_us,
		recommendations = recommendations + excluded.recommendations, savings_cents = savings_cents + excluded.savings_cents`

// writeDayDeltas moves the per-day counters by d, in key order.
func writeDayDeltas(ctx context.Context, tx *sql.Tx, d recagg.DayDeltas) error {
	for _, r := range d.Sorted() {
		c := r.Counts
		if _, err := tx.ExecContext(ctx, dayCountsUpsert, r.Key.Day, r.Key.ReportType, c.Reports, c.Completed, c.Failed,
			c.Timed, c.ProcessingMicros, c.Recommendations, c.Cents); err != nil {
			return fmt.Errorf("report day counters: %w", err)
		}
	}
	return nil
}

// syncDayCounters fills the per-day report counters when they were built
// in another zone than the configured one (or never), from the reports, in
// one write transaction. It does nothing before the counters' migration.
func (s *Store) syncDayCounters(ctx context.Context) error {
	const op = "fill report day counters"
	if ok, err := sqlexec.Applied(ctx, s.MigrationStatus, dayCountersVersion); !ok {
		return err
	}
	rebuilt := false
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		var ferr error
		rebuilt, ferr = sqlexec.RefillDayCounters(ctx, tx, s.opts.Location, factsColumns, func(sc sqlexec.Scanner) (recagg.Facts, error) { return scanFacts(sc) },
			func(d recagg.DayDeltas) error { return writeDayDeltas(ctx, tx, d) }, "UPDATE report_day_zone SET zone = ? WHERE id = 1")
		return ferr
	})
	if err != nil {
		return err
	}
	if rebuilt {
		s.opts.Logger.InfoContext(ctx, "filled the per-day report counters", "driver", "sqlite", "zone", recagg.ZoneName(s.opts.Location))
	}
	return nil
}

// dayCounterBounds returns the local days [fromDay, toDay) of the counters
// that cover [from, to) exactly, and ok false when the counters cannot
// answer (another zone, or a bound that is not a local midnight).
func (s *Store) dayCounterBounds(loc *time.Location, from, to time.Time) (fromDay, toDay string, ok bool) {
	if !recagg.SameZone(loc, s.opts.Location, from, to) {
		return "", "", false
	}
	fromDay, ok1 := recagg.LocalMidnightDay(from, s.opts.Location)
	toDay, ok2 := recagg.LocalMidnightDay(to, s.opts.Location)
	return fromDay, toDay, ok1 && ok2
}

// reportDailyCountsFromCounters answers ReportDailyCounts from the per-day
// counters: at most one row per day and type.
func (s *Store) reportDailyCountsFromCounters(ctx context.Context, fromDay, toDay string) ([]store.ReportDayCount, error) {
	return sqlexec.Query(ctx, s.read(), func(sc sqlexec.Scanner) (d store.ReportDayCount, err error) {
		err = sc.Scan(&d.Day, &d.ReportType, &d.Count)
		return d, err
	}, `SELECT day, report_type, reports FROM report_day_counts
		WHERE day >= ? AND day < ? AND reports > 0 ORDER BY day, report_type`, fromDay, toDay)
}
