package analytics

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestRunJobOnDemand(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, untracked)
		ctx := context.Background()

		// Without a scheduler nothing can run.
		if r := e.do(t, "POST", "jobs/"+scheduler.JobSampleHealth+"/run/", "dave", nil); r.status != http.StatusNotImplemented {
			t.Fatalf("without SetJobs = %d %s, want 501", r.status, r.body)
		}

		sched, err := scheduler.New(st, scheduler.Config{Analytics: e.svc, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sched.Close(ctx) })
		e.svc.SetJobs(sched)

		r := e.do(t, "POST", "jobs/"+scheduler.JobSampleHealth+"/run/", "dave", nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("run = %d %s, want 202", r.status, r.body)
		}
		var started JobRunStarted
		if err := json.Unmarshal(r.body, &started); err != nil {
			t.Fatal(err)
		}
		if started.Job != scheduler.JobSampleHealth || started.Status != "running" || !store.ValidUUID(started.RunID) ||
			!strings.HasPrefix(started.RunKey, scheduler.JobSampleHealth+"@manual@") {
			t.Errorf("202 body %s", r.body)
		}

		// The run is recorded like a scheduled one and finishes.
		var run store.JobRun
		for deadline := time.Now().Add(10 * time.Second); ; {
			runs, err := st.JobRunList(ctx, scheduler.JobSampleHealth, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) == 1 && runs[0].Outcome != store.JobRunning {
				run = runs[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run not finished: %+v", runs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if run.ID != started.RunID || run.Outcome != store.JobSucceeded || run.RowsAffected != 1 {
			t.Errorf("recorded run %+v", run)
		}

		for _, c := range []struct {
			method, path, token string
			want                int
		}{
			{"POST", "jobs/no_such_job/run/", "dave", http.StatusNotFound},
			{"POST", "jobs/" + scheduler.JobSampleHealth + "/run", "carol", http.StatusForbidden},
			{"POST", "jobs/" + scheduler.JobSampleHealth + "/run/", "", http.StatusUnauthorized},
			{"GET", "jobs/" + scheduler.JobSampleHealth + "/run/", "dave", http.StatusMethodNotAllowed},
		} {
			if r := e.do(t, c.method, c.path, c.token, nil); r.status != c.want {
				t.Errorf("%s %s as %q = %d %s, want %d", c.method, c.path, c.token, r.status, r.body, c.want)
			}
		}

		// With a cluster lock (PostgreSQL), a job another process is
		// running is refused.
		if l, ok := st.(store.Locker); ok {
			unlock, ok, err := l.TryLock(ctx, "advisor-analytics/scheduler/"+scheduler.JobCleanupHealth)
			if err != nil || !ok {
				t.Fatalf("lock: %v %v", ok, err)
			}
			r := e.do(t, "POST", "jobs/"+scheduler.JobCleanupHealth+"/run/", "dave", nil)
			if r.status != http.StatusConflict {
				t.Errorf("run while another process holds the job = %d %s, want 409", r.status, r.body)
			}
			if err := unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if r := e.do(t, "POST", "jobs/"+scheduler.JobCleanupHealth+"/run/", "dave", nil); r.status != http.StatusAccepted {
				t.Errorf("run after the lock is released = %d %s", r.status, r.body)
			}
		}
		if err := sched.Close(ctx); err != nil {
			t.Fatal(err)
		}

		// Each accepted run is an admin action of the caller.
		var runs []store.Activity
		for _, a := range adminActions(t, st) {
			if a.Metadata["action"] == ActionJobRun {
				runs = append(runs, a)
			}
		}
		want := 1
		if _, ok := st.(store.Locker); ok {
			want = 2
		}
		if len(runs) != want {
			t.Fatalf("%d job_run admin actions, want %d", len(runs), want)
		}
		for _, a := range runs {
			if a.UserID != dave.ID || a.Path == "" {
				t.Errorf("job_run action %+v", a)
			}
			if a.Metadata["job"] == scheduler.JobSampleHealth && (a.Metadata["run_id"] != started.RunID || a.Metadata["run_key"] != started.RunKey) {
				t.Errorf("job_run targets %v, want run %s", a.Metadata, started.RunID)
			}
		}
	})
}
