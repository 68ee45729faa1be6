// Package sqlrows runs a query and collects its rows for the drivers, so
// that each driver writes only its SQL and the scan of one row.
package sqlrows

import (
	"context"
	"database/sql"
)

// Queryer is what both drivers read through (*sql.DB, *sql.Tx, *sqlx.DB).
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Scanner is one result row.
type Scanner interface{ Scan(dest ...any) error }

// Query runs query and returns every row as scanned by scan, an empty (not
// nil) slice when there is none.
func Query[T any](ctx context.Context, q Queryer, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// Collect scans and closes rows.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
