package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// attempt is one scheduled run observed through the afterRun hook.
type attempt struct {
	name string
	run  *store.JobRun
	err  error
}

// observe installs a hook that sends every scheduled attempt on the
// returned channel.
func observe(s *Scheduler) <-chan attempt {
	ch := make(chan attempt, 64)
	s.afterRun = func(name string, run *store.JobRun, err error) { ch <- attempt{name, run, err} }
	return ch
}

// startBlocked starts a scheduler of every job each minute on a new
// SQLite store, whose health sample blocks until an.block is closed
// (entered holds queue of its starts), and waits until the first sample
// runs.
func startBlocked(t *testing.T, queue int) (store.Store, *Scheduler, *fakeAnalytics, <-chan attempt) {
	t.Helper()
	st := teststore.SQLite(t)
	an := &fakeAnalytics{block: make(chan struct{}), entered: make(chan struct{}, queue)}
	s := newScheduler(t, st, Config{Analytics: an, Schedules: everyMinute()})
	runs := observe(s)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-an.entered
	return st, s, an, runs
}

// everyMinute schedules only sample_system_health, every minute; the other
// jobs are pushed to a date that does not come during the test.
func everyMinute() map[string]string {
	m := map[string]string{}
	for _, n := range JobNames {
		m[n] = "0 0 1 1 *"
	}
	m[JobSampleHealth] = "* * * * *"
	return m
}

// TestFailedRunRetriedAtNextTick runs the real gocron scheduler on the
// synctest clock: the first tick fails and is recorded as failed, the next
// tick runs again and succeeds.
func TestFailedRunRetriedAtNextTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := teststore.SQLite(t)
		an := &fakeAnalytics{sampleErrs: []error{errBoom}}
		s := newScheduler(t, st, Config{Analytics: an, Schedules: everyMinute()})
		runs := observe(s)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		first, second := <-runs, <-runs
		if err := s.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if !errors.Is(first.err, errBoom) || second.err != nil {
			t.Fatalf("attempt errors = %v, %v; want boom then nil", first.err, second.err)
		}
		if got := second.run.ScheduledAt.Sub(first.run.ScheduledAt); got != time.Minute {
			t.Errorf("retry scheduled %v after the failure, want 1m", got)
		}
		recorded, err := st.JobRunList(ctx, JobSampleHealth, 10)
		if err != nil {
			t.Fatal(err)
		}
		type rec struct {
			Key     string
			Outcome store.JobOutcome
			Failed  bool
		}
		var got []rec
		for _, r := range recorded {
			got = append(got, rec{r.RunKey, r.Outcome, strings.Contains(r.Error, "boom")})
		}
		want := []rec{
			{JobSampleHealth + "@" + second.run.ScheduledAt.Format(time.RFC3339), store.JobSucceeded, false},
			{JobSampleHealth + "@" + first.run.ScheduledAt.Format(time.RFC3339), store.JobFailed, true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("recorded runs (-want +got):\n%s", diff)
		}
		if first.run.ScheduledAt.Second() != 0 || first.run.ScheduledAt.Nanosecond() != 0 {
			t.Errorf("scheduled at %v, want a whole minute", first.run.ScheduledAt)
		}
	})
}

// TestSingleton keeps a slow run from overlapping itself: ticks that come
// while it runs are skipped, not queued.
func TestSingleton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		_, s, an, runs := startBlocked(t, 16)
		time.Sleep(3*time.Minute + time.Second) // three ticks pass on the bubble's clock
		synctest.Wait()
		if _, samples := an.counts(); samples != 1 {
			t.Errorf("health samples started while the first ran = %d, want 1", samples)
		}
		close(an.block)
		if a := <-runs; a.err != nil {
			t.Fatalf("slow run: %v", a.err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCloseWaitsForRunningJob stops the scheduler while a job runs: Close
// returns only once it finished, and its record is complete.
func TestCloseWaitsForRunningJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, s, an, runs := startBlocked(t, 1)

		stopCtx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		var stopErr error
		var wg sync.WaitGroup
		wg.Go(func() { stopErr = s.Close(stopCtx) })
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if a := len(runs); a != 0 {
			t.Fatalf("Close returned before the running job finished (%d attempts done)", a)
		}
		close(an.block)
		wg.Wait()
		if stopErr != nil {
			t.Fatalf("Close: %v", stopErr)
		}
		a := <-runs
		if a.err != nil || a.run.Outcome != store.JobSucceeded {
			t.Fatalf("run = %+v, %v", a.run, a.err)
		}
		got, err := st.JobRunList(ctx, JobSampleHealth, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Outcome != store.JobSucceeded || got[0].FinishedAt == nil || got[0].RowsAffected != 1 {
			t.Fatalf("recorded runs = %+v, want one finished success", got)
		}
		if d := got[0].Duration(); d < 30*time.Second {
			t.Errorf("recorded duration %v, want at least the 30s the job ran", d)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := s.Start(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Start after Close = %v, want ErrClosed", err)
		}
		if _, err := s.RunNow(ctx, JobSampleHealth); !errors.Is(err, ErrClosed) {
			t.Errorf("RunNow after Close = %v, want ErrClosed", err)
		}
	})
}

// TestCloseDeadline cancels a job that outlives Close's deadline and records
// it as failed.
func TestCloseDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, s, _, runs := startBlocked(t, 1)
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := s.Close(stopCtx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want deadline exceeded", err)
		}
		a := <-runs
		if !errors.Is(a.err, context.Canceled) {
			t.Errorf("run error = %v, want context canceled", a.err)
		}
		got, err := st.JobRunList(ctx, JobSampleHealth, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Outcome != store.JobFailed || got[0].FinishedAt == nil || !strings.Contains(got[0].Error, "context canceled") {
			t.Fatalf("recorded runs = %+v, want one failed with context canceled", got)
		}
	})
}

// TestStartCloseIdempotent covers the lifecycle edges.
func TestStartCloseIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newScheduler(t, teststore.SQLite(t), Config{})
		for range 2 {
			if err := s.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
		}
		for range 2 {
			if err := s.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	})
}

func TestJobsListing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ny := mustLoad(t, "America/New_York")
		st := teststore.SQLite(t)
		// The bubble starts at 2000-01-01T00:00:00Z, a Saturday: 1999-12-31 19:00 EST.
		s := newScheduler(t, st, Config{Location: ny, Analytics: &fakeAnalytics{}})
		if _, err := s.RunNow(ctx, JobSampleHealth); err != nil {
			t.Fatal(err)
		}
		check := func(t *testing.T, stage string) {
			infos, err := s.Jobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				Name, Schedule string
				Next           time.Time
				HasLast        bool
			}
			var got []row
			for _, i := range infos {
				if i.Description == "" {
					t.Errorf("%s has no description", i.Name)
				}
				got = append(got, row{i.Name, i.Schedule, i.NextRun.UTC(), i.LastRun != nil})
			}
			want := []row{
				{JobDailyMetrics, "0 2 * * *", utc("2000-01-01T07:00:00Z"), false},
				{JobPeriodicMetrics, "0 1 * * *", utc("2000-01-01T06:00:00Z"), false},
				{JobUsageStats, "5 * * * *", utc("2000-01-01T00:05:00Z"), false},
				{JobCleanupActivities, "0 3 * * 0", utc("2000-01-02T08:00:00Z"), false},
				{JobCleanupHealth, "0 4 * * 0", utc("2000-01-02T09:00:00Z"), false},
				{JobWeeklyReport, "0 9 * * 1", utc("2000-01-03T14:00:00Z"), false},
				{JobSampleHealth, "*/5 * * * *", utc("2000-01-01T00:05:00Z"), true},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: jobs (-want +got):\n%s", stage, diff)
			}
		}
		check(t, "before start")
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		check(t, "started")
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
