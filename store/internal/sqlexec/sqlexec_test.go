package sqlexec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

// TestEachPageSlots runs more iterations than slots at once and checks
// that no more loads than slots ever run together, that every row of
// every iteration is delivered in order, and that an iteration waiting
// for a slot stops with its context.
func TestEachPageSlots(t *testing.T) {
	const iterations, rows, size = 8, 25, 4
	slots := PoolSlots(5)
	if cap(slots) != 2 {
		t.Fatalf("PoolSlots(5) = %d slots, want 2", cap(slots))
	}
	if n := cap(PoolSlots(1)); n != 1 {
		t.Fatalf("PoolSlots(1) = %d slots, want 1", n)
	}
	var mu sync.Mutex
	running, most := 0, 0
	load := func(after *int) ([]int, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		first := 0
		if after != nil {
			first = *after + 1
		}
		var page []int
		for v := first; v < rows && len(page) < size; v++ {
			page = append(page, v)
		}
		return page, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, iterations)
	for i := range iterations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := 0
			errs[i] = EachPage(context.Background(), slots, size, load, func(v *int) error {
				if *v != next {
					return fmt.Errorf("row %d, want %d", *v, next)
				}
				next++
				return nil
			}, func(err error) error { return err })
			if errs[i] == nil && next != rows {
				errs[i] = fmt.Errorf("%d rows, want %d", next, rows)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if most > cap(slots) || most == 0 {
		t.Fatalf("%d loads ran at once with %d slots", most, cap(slots))
	}

	// Nil slots bound nothing.
	n := 0
	if err := EachPage(context.Background(), nil, size, load, func(*int) error { n++; return nil }, func(err error) error { return err }); err != nil || n != rows {
		t.Fatalf("nil slots: %d rows, %v", n, err)
	}

	// Every slot taken: an iteration waits and ends with its context.
	for range cap(slots) {
		slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := EachPage(ctx, slots, size, load, func(*int) error { return nil }, func(err error) error { return fmt.Errorf("wrapped: %w", err) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot: %v, want the context's deadline", err)
	}
}
