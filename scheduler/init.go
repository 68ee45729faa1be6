package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// InitDaysDefault is how many days Init backfills by default.
const InitDaysDefault = 7

// InitConfig configures Init. The zero value is valid.
type InitConfig struct {
	// Days is how many daily snapshots to backfill, ending today (in the
	// reporting time zone). Defaults to InitDaysDefault (7); negative
	// values are refused.
	Days int
	// Progress, when set, receives a line of progress as Init goes
	// ("Applying migrations…", "  snapshots 3/9").
	Progress func(line string)
	// Check, when set, receives the result of each step and check as it
	// completes; the report lists them all as well.
	Check func(CheckResult)
	// Analytics warms the cache. Nil skips that step. It is also passed to
	// the scheduler built for the checks.
	Analytics Analytics
	// CacheCheck, when set, verifies a cache round trip (a value written
	// can be read back).
	CacheCheck func(ctx context.Context) error
	// Scheduler is the configuration the jobs will run with: its schedules
	// are validated, its Location sets the days to backfill.
	Scheduler Config
}

// CheckResult is the outcome of one Init step or check.
type CheckResult struct {
	Name string
	Err  error // nil when it passed
}

// InitReport is what Init did.
type InitReport struct {
	// MigrationsApplied and MigrationsLatest are the schema versions after
	// migrating.
	MigrationsApplied, MigrationsLatest int
	// Snapshots is the number of snapshots backfilled (daily, weekly and
	// monthly).
	Snapshots int
	// Checks lists every step and check in order.
	Checks []CheckResult
}

// Failed returns the checks that failed.
func (r *InitReport) Failed() []CheckResult {
	var out []CheckResult
	for _, c := range r.Checks {
		if c.Err != nil {
			out = append(out, c)
		}
	}
	return out
}

// Init prepares a store for use: it applies the migrations, backfills the
// daily snapshots of the last opts.Days days (and the weekly and monthly
// snapshots they touch), warms the cache, then checks the setup —
// database reachable, migrations current, jobs registered, cache round
// trip. Each step and check is a CheckResult of the report (and is passed
// to opts.Check as it completes). It returns an error naming the failed
// checks when any fails; the report is returned in every case but a bad
// configuration.
func Init(ctx context.Context, st store.Store, opts InitConfig) (*InitReport, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	days := opts.Days
	if days == 0 {
		days = InitDaysDefault
	}
	if days < 0 {
		return nil, fmt.Errorf("scheduler: init: invalid Days %d: must be positive", opts.Days)
	}
	cfg := opts.Scheduler
	if cfg.Analytics == nil {
		cfg.Analytics = opts.Analytics
	}
	rep := &InitReport{}
	check := func(name string, err error) {
		c := CheckResult{Name: name, Err: err}
		rep.Checks = append(rep.Checks, c)
		if opts.Check != nil {
			opts.Check(c)
		}
	}

	progress("Applying migrations…")
	if err := st.Migrate(ctx); err != nil {
		check("migrations applied", err)
		return rep, fmt.Errorf("scheduler: init: migrate: %w", err)
	}
	check("migrations applied", nil)

	sch, schErr := New(st, cfg)
	if schErr == nil {
		loc := sch.cfg.Location
		today := sch.cfg.NowFunc().In(loc)
		y, m, d := today.Date()
		from := civilNoon(y, m, d-(days-1), loc)
		progress(fmt.Sprintf("Backfilling %d days of snapshots (%s to %s)…", days, from.Format(dateLayout), today.Format(dateLayout)))
		err := sch.Backfill(ctx, from, today, func(done, total int) {
			rep.Snapshots = done
			progress(fmt.Sprintf("  snapshots %d/%d", done, total))
		})
		check("snapshots backfilled", err)
	} else {
		check("snapshots backfilled", fmt.Errorf("scheduler configuration: %w", schErr))
	}

	if opts.Analytics != nil {
		check("cache warmed", opts.Analytics.RefreshCache(ctx))
	}

	progress("Checking the setup…")
	check("database reachable", st.Ping(ctx))
	applied, latest, err := st.MigrationStatus(ctx)
	rep.MigrationsApplied, rep.MigrationsLatest = applied, latest
	if err == nil && applied != latest {
		err = fmt.Errorf("schema at version %d, latest is %d", applied, latest)
	}
	check("migrations current", err)
	if schErr == nil {
		check("jobs registered", nil)
	} else {
		check("jobs registered", schErr)
	}
	if opts.CacheCheck != nil {
		check("cache round-trip", opts.CacheCheck(ctx))
	}

	failed := rep.Failed()
	if len(failed) == 0 {
		return rep, nil
	}
	names := make([]string, len(failed))
	errs := make([]error, len(failed))
	for i, c := range failed {
		names[i] = c.Name
		errs[i] = c.Err
	}
	return rep, fmt.Errorf("scheduler: init: %d check(s) failed (%s): %w", len(failed), strings.Join(names, ", "), errors.Join(errs...))
}
