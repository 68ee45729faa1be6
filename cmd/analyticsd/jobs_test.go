package main

import (
	"context"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

func TestJobsCommand(t *testing.T) {
	for _, db := range testDatabases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			if code, _, stderr := runCmd(t, nil, "migrate", "-database", dsn); code != 0 {
				t.Fatalf("migrate: %s", stderr)
			}
			code, out, stderr := runCmd(t, map[string]string{"ANALYTICS_DATABASE_URL": dsn}, "jobs", "list", "-schedule", scheduler.JobSampleHealth+"=*/10 * * * *")
			if code != 0 {
				t.Fatalf("jobs list exit %d: %s", code, stderr)
			}
			for _, name := range scheduler.JobNames {
				if !strings.Contains(out, name) {
					t.Errorf("jobs list lacks %s:\n%s", name, out)
				}
			}
			if !strings.Contains(out, "*/10 * * * *") || !strings.Contains(out, "never") {
				t.Errorf("jobs list:\n%s", out)
			}

			code, out, stderr = runCmd(t, nil, "jobs", "run", scheduler.JobSampleHealth, "-database", dsn, "-as", "ops-oncall")
			if code != 0 {
				t.Fatalf("jobs run exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, scheduler.JobSampleHealth+" succeeded in ") || !strings.Contains(out, "1 rows affected") {
				t.Errorf("jobs run output:\n%s", out)
			}
			_, out, _ = runCmd(t, nil, "jobs", "list", "-database", dsn)
			if line := lineWith(out, scheduler.JobSampleHealth); !strings.Contains(line, "succeeded") {
				t.Errorf("list after the run: %q", line)
			}
			// The run is in the audit trail, as the -as user.
			code, out, stderr = runCmd(t, nil, "export", "-database", dsn, "-format", "ndjson", "-activity-type", "admin_action")
			if code != 0 {
				t.Fatalf("export: %s", stderr)
			}
			if !strings.Contains(out, `"action":"job_run"`) || !strings.Contains(out, `"job":"`+scheduler.JobSampleHealth+`"`) || !strings.Contains(out, `"id":"ops-oncall"`) {
				t.Errorf("audit trail: %s", out)
			}

			// On PostgreSQL a job running elsewhere (its cluster lock held)
			// is not started twice.
			if db.name == "postgres" {
				st, err := postgres.Open(context.Background(), dsn, postgres.Config{})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				unlock, ok, err := st.TryLock(context.Background(), "advisor-analytics/scheduler/"+scheduler.JobCleanupHealth)
				if err != nil || !ok {
					t.Fatalf("lock: %v %v", ok, err)
				}
				code, _, stderr = runCmd(t, nil, "jobs", "run", scheduler.JobCleanupHealth, "-database", dsn)
				if code != cli.ExitFailure || !strings.Contains(stderr, "is already running") {
					t.Errorf("run of a locked job: exit %d, %s", code, stderr)
				}
				_ = unlock(context.Background())
				runs, err := st.JobRunList(context.Background(), scheduler.JobCleanupHealth, 5)
				if err != nil || len(runs) != 0 {
					t.Errorf("locked job recorded runs %v (%v)", runs, err)
				}
			}
		})
	}
}

func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestJobsCommandUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs"}, "say what to do"},
		{[]string{"jobs", "frob"}, `unknown action "frob"`},
		{[]string{"jobs", "run"}, "run takes one job name"},
		{[]string{"jobs", "run", "nope"}, `unknown job "nope"`},
		{[]string{"jobs", "list", "extra"}, "list takes no arguments"},
		{[]string{"jobs", "run", scheduler.JobSampleHealth, "-as", " "}, "-as: must not be empty"},
	} {
		code, _, stderr := runCmd(t, nil, c.args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
}
