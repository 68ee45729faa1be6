package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// grantAll is a Locker that always grants: with it only the run-key guard
// keeps replicas from running a tick twice.
type grantAll struct{}

func (grantAll) TryLock(context.Context, string) (func(context.Context) error, bool, error) {
	return func(context.Context) error { return nil }, true, nil
}

// TestJobsRunOncePerCluster runs three schedulers, each with its own
// connection pool, on one PostgreSQL schema, with a job due every second:
// every tick runs exactly once across the three.
func TestJobsRunOncePerCluster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		locker store.Locker // nil: the store's advisory locks
	}{
		{"advisory lock and run key", nil},
		{"run key alone", grantAll{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const replicas, ticks = 3, 4
			url := testdb.PostgresURL(t)
			ctx := context.Background()
			schedules := everyMinute()
			schedules[JobSampleHealth] = "* * * * * *" // every second

			an := &fakeAnalytics{}
			done := make(chan attempt, 256)
			var stores []store.Store
			var scheds []*Scheduler
			for i := range replicas {
				st := teststore.PostgresAt(t, url)
				stores = append(stores, st)
				s := newScheduler(t, st, Config{
					Analytics: an, Schedules: schedules, Locker: tc.locker,
					Instance: fmt.Sprintf("replica-%d", i),
				})
				s.afterRun = func(name string, run *store.JobRun, err error) { done <- attempt{name, run, err} }
				scheds = append(scheds, s)
			}
			for _, s := range scheds {
				if err := s.Start(ctx); err != nil {
					t.Fatal(err)
				}
			}
			bound := time.NewTimer(30 * time.Second)
			defer bound.Stop()
			for ran := 0; ran < ticks; {
				select {
				case a := <-done:
					if a.err == nil {
						ran++
					}
				case <-bound.C:
					t.Fatalf("only %d of %d ticks ran within 30s", ran, ticks)
				}
			}
			var wg sync.WaitGroup
			for _, s := range scheds {
				wg.Go(func() {
					if err := s.Close(ctx); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
			}
			wg.Wait()
			close(done)
			for a := range done {
				if a.err != nil && a.run != nil {
					t.Errorf("attempt %s failed: %v", a.run.RunKey, a.err)
				}
			}

			runs, err := stores[0].JobRunList(ctx, JobSampleHealth, 1000)
			if err != nil {
				t.Fatal(err)
			}
			samples, err := stores[0].HealthSampleList(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			_, calls := an.counts()
			if len(runs) < ticks || calls != len(runs) || len(samples) != len(runs) {
				t.Fatalf("runs %d, health sample calls %d, stored samples %d: want equal and ≥ %d", len(runs), calls, len(samples), ticks)
			}
			slots := map[time.Time]int{}
			took := map[time.Time]time.Duration{}
			instances := map[string]bool{}
			for _, r := range runs {
				slots[r.ScheduledAt]++
				took[r.ScheduledAt] = r.Duration()
				instances[r.Instance] = true
				if r.Outcome != store.JobSucceeded {
					t.Errorf("run %s outcome %s (%s)", r.RunKey, r.Outcome, r.Error)
				}
			}
			var ordered []time.Time
			for slot, n := range slots {
				if n != 1 {
					t.Errorf("tick %s ran %d times", slot.Format(time.RFC3339), n)
				}
				ordered = append(ordered, slot)
			}
			sort.Slice(ordered, func(i, j int) bool { return ordered[i].Before(ordered[j]) })
			for i := 1; i < len(ordered); i++ {
				gap := ordered[i].Sub(ordered[i-1])
				if gap == time.Second {
					continue
				}
				// A run still going at the next tick holds the job's cluster
				// lock, so that tick is skipped everywhere by design (a job
				// never overlaps itself); any other gap is a lost tick.
				if d := took[ordered[i-1]]; d < 500*time.Millisecond {
					t.Errorf("ticks %s and %s are %v apart, the first ran %v: a tick was missed",
						ordered[i-1].Format(time.RFC3339), ordered[i].Format(time.RFC3339), gap, d)
				}
			}
			t.Logf("%d ticks run by %d of %d replicas", len(ordered), len(instances), replicas)
		})
	}
}

// TestClusterLock checks the gocron locker adapter on PostgreSQL advisory
// locks: a held lock refuses other processes (and RunNow there), and a
// lock released with an already cancelled context is really released.
func TestClusterLock(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	ctx := context.Background()
	a, b := teststore.PostgresAt(t, url), teststore.PostgresAt(t, url)
	la, lb := lockerAdapter{a}, lockerAdapter{b}

	held, err := la.Lock(ctx, JobWeeklyReport)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	if _, err := lb.Lock(ctx, JobWeeklyReport); !errors.Is(err, errLockHeld) {
		t.Fatalf("Lock from another process = %v, want errLockHeld", err)
	}
	other, err := lb.Lock(ctx, JobSampleHealth)
	if err != nil {
		t.Fatalf("Lock of another job: %v", err)
	}
	if err := other.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	s := newScheduler(t, b, Config{})
	if _, err := s.RunNow(ctx, JobWeeklyReport); !errors.Is(err, ErrJobRunning) {
		t.Errorf("RunNow while another process holds the lock = %v, want ErrJobRunning", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := held.Unlock(cancelled); err != nil {
		t.Fatalf("Unlock with a cancelled context: %v", err)
	}
	again, err := lb.Lock(ctx, JobWeeklyReport)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	if err := again.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if run, err := s.RunNow(ctx, JobWeeklyReport); err != nil || run.Outcome != store.JobSucceeded {
		t.Errorf("RunNow after release = %+v, %v", run, err)
	}
}
