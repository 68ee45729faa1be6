package sqlexec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestTranslate(t *testing.T) {
	invalid := &store.ValidationError{Field: "id", Reason: "must be a UUID"}
	driverErr := errors.New("disk I/O error")
	for _, tt := range []struct {
		in     error
		want   error
		wantOK bool
	}{
		{sql.ErrNoRows, store.ErrNotFound, true},
		{fmt.Errorf("scan: %w", sql.ErrNoRows), store.ErrNotFound, true},
		{fmt.Errorf("x: %w", store.ErrConflict), store.ErrConflict, true},
		{store.ErrUnavailable, store.ErrUnavailable, true},
		{context.Canceled, context.Canceled, true},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), context.DeadlineExceeded, true},
		{fmt.Errorf("x: %w", invalid), invalid, true},
		{driverErr, driverErr, false},
	} {
		got, ok := Translate(tt.in)
		if ok != tt.wantOK || !errors.Is(got, tt.want) {
			t.Errorf("Translate(%v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// execLog records the statements it is given and fails the one named fail.
type execLog struct {
	ran  []string
	fail string
}

func (e *execLog) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	e.ran = append(e.ran, fmt.Sprint(query, args))
	if query == e.fail {
		return nil, errors.New("failed: " + query)
	}
	return nil, nil
}

func TestExecAll(t *testing.T) {
	stmts := []Stmt{{SQL: "a", Args: []any{1}}, {SQL: "b"}, {SQL: "c", Args: []any{2, 3}}}
	e := &execLog{}
	if err := ExecAll(context.Background(), e, stmts...); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(e.ran); got != "[a[1] b[] c[2 3]]" {
		t.Errorf("ran %s, want every statement in order with its arguments", got)
	}
	e = &execLog{fail: "b"}
	if err := ExecAll(context.Background(), e, stmts...); err == nil || err.Error() != "failed: b" {
		t.Errorf("error %v, want the failing statement's", err)
	}
	if got := fmt.Sprint(e.ran); got != "[a[1] b[]]" {
		t.Errorf("ran %s, want it to stop at the failing statement", got)
	}
}
