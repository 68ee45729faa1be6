package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// failingSink refuses every delivery.
type failingSink struct{}

func (failingSink) Deliver(context.Context, *store.WeeklyReport) error { return errBoom }

// panicky panics when asked for a health sample.
type panicky struct{ fakeAnalytics }

func (*panicky) HealthSample(context.Context) (*store.HealthSample, error) { panic("sensor on fire") }

// brokenLocker cannot reach the database.
type brokenLocker struct{}

func (brokenLocker) TryLock(context.Context, string) (func(context.Context) error, bool, error) {
	return nil, false, store.ErrUnavailable
}

func TestFailuresAreRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		cfg       Config
		job       string
		wantError string
	}{
		{"sink refuses the weekly report", Config{Sink: failingSink{}}, JobWeeklyReport, "deliver weekly report"},
		{"job panics", Config{Analytics: &panicky{}}, JobSampleHealth, "panic: sensor on fire"},
		{"sink in a multi sink fails", Config{Sink: MultiSink(LogSink(discardLogger()), failingSink{})}, JobWeeklyReport, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := teststore.SQLite(t)
			s := newScheduler(t, st, tc.cfg)
			run, err := s.RunNow(ctx, tc.job)
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("RunNow error = %v, want one containing %q", err, tc.wantError)
			}
			runs, lerr := st.JobRunList(ctx, tc.job, 10)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(runs) != 1 || runs[0].ID != run.ID || runs[0].Outcome != store.JobFailed ||
				runs[0].FinishedAt == nil || !strings.Contains(runs[0].Error, tc.wantError) {
				t.Errorf("recorded runs = %+v, want the failed run", runs)
			}
		})
	}
}

func TestRunNowLockUnavailable(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	s := newScheduler(t, st, Config{Locker: brokenLocker{}})
	if _, err := s.RunNow(context.Background(), JobCleanupHealth); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("RunNow = %v, want ErrUnavailable", err)
	}
}

// TestTickSkippedWhenLockUnavailable: a tick whose cluster lock cannot be
// taken is skipped (and reported), nothing is recorded, and the next tick
// tries again.
func TestTickSkippedWhenLockUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := teststore.SQLite(t)
		an := &fakeAnalytics{}
		s := newScheduler(t, st, Config{Analytics: an, Schedules: everyMinute(), Locker: brokenLocker{}})
		runs := observe(s)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			a := <-runs
			if a.name != JobSampleHealth || a.run != nil || !errors.Is(a.err, store.ErrUnavailable) {
				t.Errorf("attempt = %+v, want a skipped tick with ErrUnavailable", a)
			}
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		recorded, err := st.JobRunList(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, samples := an.counts(); len(recorded) != 0 || samples != 0 {
			t.Errorf("recorded %d runs and took %d samples, want none", len(recorded), samples)
		}
	})
}
