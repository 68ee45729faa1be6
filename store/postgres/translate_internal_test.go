package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

func TestTranslate(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	tests := []struct {
		name  string
		ctx   context.Context
		err   error
		want  error  // errors.Is target, or nil with field
		field string // *store.ValidationError field
	}{
		{"no rows", bg, sql.ErrNoRows, store.ErrNotFound, ""},
		{"unique", bg, &pq.Error{Code: "23505", Message: "duplicate key"}, store.ErrConflict, ""},
		{"unknown client", bg, &pq.Error{Code: "23503", Constraint: "reports_client_id_fkey"}, nil, "client_id"},
		{"other foreign key", bg, &pq.Error{Code: "23503", Constraint: "x_fkey"}, store.ErrNotFound, ""},
		{"time zone", bg, &pq.Error{Code: "22023", Message: `time zone "Nowhere" not recognized`}, nil, "location"},
		{"not in repertoire", bg, &pq.Error{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}, nil, "text"},
		{"connection class", bg, &pq.Error{Code: "08006"}, store.ErrUnavailable, ""},
		{"admin shutdown", bg, &pq.Error{Code: "57P01"}, store.ErrUnavailable, ""},
		{"cannot connect now", bg, &pq.Error{Code: "57P03"}, store.ErrUnavailable, ""},
		{"deadlock", bg, &pq.Error{Code: "40P01"}, store.ErrUnavailable, ""},
		{"cancelled query", cancelled, &pq.Error{Code: "57014"}, context.Canceled, ""},
		{"context", bg, fmt.Errorf("x: %w", context.DeadlineExceeded), context.DeadlineExceeded, ""},
		{"refused", bg, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, store.ErrUnavailable, ""},
		{"bad conn", bg, driver.ErrBadConn, store.ErrUnavailable, ""},
		{"validation kept", bg, storedriver.Invalid("limit", "bad"), nil, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Store{}
			got := s.wrap(tt.ctx, "do it", tt.err)
			if got == nil || got.Error()[:len("postgres: do it: ")] != "postgres: do it: " {
				t.Fatalf("got %v, want an error prefixed with the operation", got)
			}
			if tt.field != "" {
				ve, ok := errors.AsType[*store.ValidationError](got)
				if !ok || ve.Field != tt.field {
					t.Fatalf("got %v, want a *store.ValidationError on %q", got, tt.field)
				}
				return
			}
			if !errors.Is(got, tt.want) {
				t.Fatalf("got %v, want one wrapping %v", got, tt.want)
			}
		})
	}
	if (&Store{}).wrap(bg, "x", nil) != nil {
		t.Error("wrap(nil) is not nil")
	}
}
