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
