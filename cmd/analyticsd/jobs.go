package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

const jobsAbout = `List the background jobs, or run one now.

  analyticsd jobs list [flags]        each job with its schedule, next and last run
  analyticsd jobs run [flags] NAME    run NAME once, now, and wait for it

A run goes through the same guard as the server's scheduled runs (on
PostgreSQL, the job's cluster-wide lock: a job running on a server is not
started twice), is recorded in the job runs like them, and is recorded in the
audit trail as a job_run admin action. Exits with status 1 when the job fails
or is already running.`

// jobsArgs are the settings of the jobs command.
type jobsArgs struct {
	c         commonFlags
	schedules listValue
	retention int
	as        string
	action    string
	name      string

	scheduleByJob map[string]string
}

func runJobs(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	a, err := parseJobs(args, env, stderr)
	if err != nil {
		return err
	}
	return withService(ctx, &a.c, false, func(st store.Store, svc *analytics.Service) error {
		sched, err := scheduler.New(st, scheduler.Config{Location: a.c.location, Schedules: a.scheduleByJob,
			ActivityRetentionDays: a.retention, Analytics: svc, Logger: a.c.logger})
		if err != nil {
			return fmt.Errorf("-schedule: %w", err)
		}
		defer sched.Close(context.WithoutCancel(ctx))
		if a.action == "list" {
			return listJobs(ctx, sched, a.c.location, stdout)
		}
		return runJob(ctx, sched, svc, a, stdout)
	})
}

func parseJobs(args []string, env func(string) string, stderr io.Writer) (*jobsArgs, error) {
	a := &jobsArgs{}
	fs := newFlagSet("jobs", "analyticsd jobs list|run [flags] [NAME]", jobsAbout, env, stderr)
	a.c.register(fs)
	fs.varEnv(&a.schedules, "schedule", "job schedule as name=cron, as given to serve (repeatable)", "ANALYTICS_SCHEDULES")
	fs.intVarEnv(&a.retention, "retention", scheduler.ActivityRetentionDaysDefault, "days activities are kept, as given to serve (used by cleanup_old_activities)", "ANALYTICS_RETENTION_DAYS")
	fs.StringVar(&a.as, "as", "analyticsd", "user id a run is recorded as in the audit trail")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := fs.parse(args); err != nil {
			return nil, err
		}
		return nil, fs.invalid("jobs", "say what to do: analyticsd jobs list, or analyticsd jobs run NAME")
	}
	a.action = args[0]
	if err := fs.parse(interleave(args[1:])); err != nil {
		return nil, err
	}
	switch a.action {
	case "list":
		if fs.NArg() > 0 {
			return nil, fs.invalid("jobs", "list takes no arguments, got %q", fs.Args())
		}
	case "run":
		if fs.NArg() != 1 {
			return nil, fs.invalid("jobs", "run takes one job name; jobs: %s", strings.Join(scheduler.JobNames, ", "))
		}
		a.name = fs.Arg(0)
		if !isJob(a.name) {
			return nil, fs.invalid("jobs", "unknown job %q; jobs: %s", a.name, strings.Join(scheduler.JobNames, ", "))
		}
	default:
		return nil, fs.invalid("jobs", "unknown action %q; use list or run", a.action)
	}
	if err := a.c.validate(fs, stderr); err != nil {
		return nil, err
	}
	if a.retention < 1 || a.retention > 36500 {
		return nil, fs.invalid("retention", "must be a number of days between 1 and 36500, got %d", a.retention)
	}
	if strings.TrimSpace(a.as) == "" {
		return nil, fs.invalid("as", "must not be empty")
	}
	sf := serveFlags{commonFlags: a.c, schedules: a.schedules}
	if err := sf.validateSchedules(fs); err != nil {
		return nil, err
	}
	a.scheduleByJob = sf.scheduleByJob
	return a, nil
}

func isJob(name string) bool { return slices.Contains(scheduler.JobNames, name) }

func listJobs(ctx context.Context, sched *scheduler.Scheduler, loc *time.Location, stdout io.Writer) error {
	jobs, err := sched.Jobs(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSCHEDULE\tNEXT RUN\tLAST RUN\tOUTCOME\tDURATION")
	const layout = "2006-01-02 15:04 MST"
	for _, j := range jobs {
		last, outcome, took := "never", "-", "-"
		if r := j.LastRun; r != nil {
			last, outcome = r.StartedAt.In(loc).Format(layout), string(r.Outcome)
			if r.FinishedAt != nil {
				took = r.Duration().Round(time.Millisecond).String()
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Schedule, j.NextRun.In(loc).Format(layout), last, outcome, took)
	}
	return tw.Flush()
}

func runJob(ctx context.Context, sched *scheduler.Scheduler, svc *analytics.Service, a *jobsArgs, stdout io.Writer) error {
	fmt.Fprintf(stdout, "Running %s on %s\n", a.name, displayDSN(a.c.database))
	run, err := sched.RunNow(ctx, a.name)
	if errors.Is(err, scheduler.ErrJobRunning) {
		return fmt.Errorf("%s is already running (here or on a server sharing the database); try again later", a.name)
	}
	if run != nil {
		p := cliPrincipal(a.as)
		if aerr := svc.RecordAdminAction(ctx, p, analytics.AdminAction{Action: analytics.ActionJobRun,
			Description: "Ran job " + a.name + " from the command line",
			Targets:     map[string]any{"job": a.name, "run_id": run.ID, "run_key": run.RunKey}}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("record the run in the audit trail: %w", aerr))
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s in %s: %d rows affected; %s\n", a.name, run.Outcome, run.Duration().Round(time.Millisecond), run.RowsAffected, run.Message)
	return nil
}
