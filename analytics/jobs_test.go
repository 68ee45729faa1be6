package analytics

import (
	"encoding/json"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
)

// TestSetJobs plugs a real scheduler into the jobs route: every job is
// listed with its schedule and next run, and SetJobs(nil) goes back to the
// recorded runs alone.
func TestSetJobs(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, untracked)
	sched, err := scheduler.New(st, scheduler.Config{Analytics: e.svc, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	type body struct {
		Jobs []struct {
			Name     string  `json:"name"`
			Schedule string  `json:"schedule"`
			NextRun  *string `json:"next_run"`
		} `json:"jobs"`
	}
	get := func() body {
		t.Helper()
		r := e.get(t, "jobs/", "dave")
		var b body
		if err := json.Unmarshal(r.body, &b); r.status != 200 || err != nil {
			t.Fatalf("jobs/ = %d %s (%v)", r.status, r.body, err)
		}
		return b
	}

	e.svc.SetJobs(sched)
	b := get()
	if len(b.Jobs) != len(scheduler.JobNames) {
		t.Fatalf("jobs/ lists %d jobs, want %d: %+v", len(b.Jobs), len(scheduler.JobNames), b.Jobs)
	}
	for i, j := range b.Jobs {
		if j.Name != scheduler.JobNames[i] || j.Schedule == "" || j.NextRun == nil {
			t.Errorf("job %d = %+v, want %s with a schedule and a next run", i, j, scheduler.JobNames[i])
		}
	}

	e.svc.SetJobs(nil)
	b = get()
	if len(b.Jobs) == 0 || len(b.Jobs) == len(scheduler.JobNames) {
		t.Errorf("without a lister, jobs/ lists %d jobs, want the seeded runs' jobs", len(b.Jobs))
	}
	for _, j := range b.Jobs {
		if j.Schedule != "" || j.NextRun != nil {
			t.Errorf("without a lister, job %+v has a schedule or next run", j)
		}
	}
}
