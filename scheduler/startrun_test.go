package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestStartRun starts a job on demand: it returns at once with the started
// run, refuses a second start of the same job while it runs (here and,
// with the PostgreSQL cluster lock, through the lock), records and observes
// the run like a scheduled one, and Close waits for it.
func TestStartRun(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		an := &fakeAnalytics{block: make(chan struct{}), entered: make(chan struct{}, 4)}
		var mu sync.Mutex
		var observed []store.JobRun
		s := newScheduler(t, st, Config{Analytics: an, Observe: func(r store.JobRun) {
			mu.Lock()
			observed = append(observed, r)
			mu.Unlock()
		}})

		run, err := s.StartRun(ctx, JobSampleHealth)
		if err != nil {
			t.Fatal(err)
		}
		if run.Outcome != store.JobRunning || run.Job != JobSampleHealth || !strings.HasPrefix(run.RunKey, JobSampleHealth+"@manual@") {
			t.Fatalf("started run %+v", run)
		}
		<-an.entered
		if _, err := s.StartRun(ctx, JobSampleHealth); !errors.Is(err, ErrJobRunning) {
			t.Errorf("second StartRun = %v, want ErrJobRunning", err)
		}
		if _, err := s.RunNow(ctx, JobSampleHealth); !errors.Is(err, ErrJobRunning) {
			t.Errorf("RunNow while it runs = %v, want ErrJobRunning", err)
		}
		if _, err := s.StartRun(ctx, "no_such_job"); !errors.Is(err, ErrUnknownJob) {
			t.Errorf("unknown job = %v, want ErrUnknownJob", err)
		}
		close(an.block)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := st.JobRunList(ctx, JobSampleHealth, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != run.ID || got[0].Outcome != store.JobSucceeded || got[0].FinishedAt == nil {
			t.Fatalf("recorded runs %+v, want the started run finished", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(observed) != 1 || observed[0].ID != run.ID || observed[0].Outcome != store.JobSucceeded {
			t.Errorf("observed %+v", observed)
		}
		if _, err := s.StartRun(ctx, JobSampleHealth); !errors.Is(err, ErrClosed) {
			t.Errorf("StartRun after Close = %v, want ErrClosed", err)
		}
	})
}
