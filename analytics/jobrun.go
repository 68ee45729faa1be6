package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// jobRunner starts a background job on demand; *scheduler.Scheduler
// implements it. StartRun returns the started run, or an error wrapping
// scheduler.ErrUnknownJob, scheduler.ErrJobRunning or scheduler.ErrClosed.
type jobRunner interface {
	StartRun(ctx context.Context, name string) (*store.JobRun, error)
}

// JobRunStarted is the body of a 202 from the job run route.
type JobRunStarted struct {
	Job       string    `json:"job"`
	RunID     string    `json:"run_id"`
	RunKey    string    `json:"run_key"`
	Status    string    `json:"status"`
	StartedAt Timestamp `json:"started_at"`
}

// RunJob starts the named background job once, now: the JobLister given
// to SetJobs must also have a StartRun method (the *scheduler.Scheduler has). The
// run goes through the scheduler's once-per-cluster guard and is recorded
// like a scheduled run; it is recorded in the audit trail as a job_run
// admin action of p. An unknown job is a 404, a job already running a
// 409, a Service without one a 501. Admin only.
func (s *Service) RunJob(ctx context.Context, p Principal, name string) (*JobRunStarted, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	s.mu.Lock()
	runner, ok := s.jobs.(jobRunner)
	s.mu.Unlock()
	if !ok {
		return nil, &Error{Status: http.StatusNotImplemented, Summary: "Not implemented",
			Detail: "No scheduler runs jobs in this process."}
	}
	run, err := runner.StartRun(ctx, name)
	switch {
	case errors.Is(err, scheduler.ErrUnknownJob):
		return nil, &Error{Status: http.StatusNotFound, Summary: "Not found",
			Detail: fmt.Sprintf("Unknown job %q. Jobs: %s", name, strings.Join(scheduler.JobNames, ", "))}
	case errors.Is(err, scheduler.ErrJobRunning):
		return nil, &Error{Status: http.StatusConflict, Summary: "Conflict", Detail: fmt.Sprintf("Job %s is already running.", name)}
	case errors.Is(err, scheduler.ErrClosed):
		return nil, fmt.Errorf("run job %s: %w", name, store.ErrUnavailable)
	case err != nil:
		return nil, fmt.Errorf("run job %s: %w", name, err)
	}
	s.audit(ctx, p, AdminAction{Action: ActionJobRun, Description: "Ran job " + name + " on demand",
		Targets: map[string]any{"job": name, "run_id": run.ID, "run_key": run.RunKey}})
	return &JobRunStarted{Job: run.Job, RunID: run.ID, RunKey: run.RunKey, Status: string(run.Outcome), StartedAt: ts(run.StartedAt)}, nil
}

func (s *Service) serveRunJob(w http.ResponseWriter, r *http.Request, p Principal) error {
	name := r.PathValue("name")
	if name == "" {
		name = pathID(r, "jobs/{name}/run")
	}
	out, err := s.RunJob(r.Context(), p, name)
	return writeJSONResult(w, http.StatusAccepted, out, err)
}
