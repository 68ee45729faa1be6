package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
)

// usPerDay is the number of microseconds in a UTC day.
const usPerDay = 86_400_000_000

// daysPerBlock is the number of UTC days in a block of the per-user block
// counters; usPerBlock the microseconds.
const (
	daysPerBlock = 32
	usPerBlock   = daysPerBlock * usPerDay
)

// usPerHour is the number of microseconds in an hour.
const usPerHour = 3_600_000_000

// queryer is what the read helpers need: a *sql.Tx or a *sql.DB.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micro converts t to unix microseconds.
func micro(t time.Time) int64 { return t.UnixMicro() }

// fromMicro converts unix microseconds to a UTC time.
func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func microPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

// nullString maps the empty string to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// dayOf is the UTC day number (days since 1970-01-01) of us.
func dayOf(us int64) int64 { return floorDiv(us, usPerDay) }

// dayExpr is the SQL for the day number of the microsecond expression e,
// exact (floor) for every time after 1696.
func dayExpr(e string) string {
	return "((" + e + ") + 8640000000000000) / 86400000000 - 100000"
}

// hourExpr is the SQL for the unix hour number of the microsecond
// expression e, exact (floor) for every time after 1696.
func hourExpr(e string) string {
	return "((" + e + ") + 8640000000000000) / 3600000000 - 2400000"
}

// blockExpr is the SQL for the block number of the microsecond expression
// e, exact (floor) for every time after 1696.
func blockExpr(e string) string {
	return "((" + e + ") + 8640000000000000) / 2764800000000 - 3125"
}

// cents converts an amount to integer cents.
func cents(v float64) int64 { return recagg.Cents(v) }

// amount converts integer cents to an amount.
func amount(c int64) float64 { return float64(c) / 100 }

// secondsFromMicros converts an average in microseconds to seconds.
func secondsFromMicros(v sql.NullFloat64) float64 {
	if !v.Valid {
		return 0
	}
	return v.Float64 / 1e6
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// typeArgs returns report types as query arguments.
func typeArgs(types []store.ReportType) []any {
	out := make([]any, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}
