// Command replicas runs two replicas of an application on one PostgreSQL
// database, as two processes behind a load balancer would: each has its
// own Service (with its own in-process cache) and its own Scheduler.
//
// It shows the two things replicas share through the database:
//
//   - cache invalidation: a report written through one replica clears the
//     cached analytics of both (PostgreSQL LISTEN/NOTIFY), so the other
//     replica's next answer includes it;
//
//   - background jobs: every scheduled tick runs on exactly one replica
//     (an advisory lock and a unique run key), and both list the same runs.
//
//     ANALYTICS_DATABASE_URL='postgres://user@localhost:5432/analytics?sslmode=disable' go run ./examples/replicas
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// replica is one process of the application.
type replica struct {
	name  string
	st    *postgres.Store
	svc   *analytics.Service
	sched *scheduler.Scheduler
}

// healthEverySecond makes the health sample job tick every second, so the
// example shows several ticks quickly (six fields: the first is seconds).
const healthEverySecond = "* * * * * *"

func startReplica(ctx context.Context, url, name string, log *slog.Logger) (*replica, error) {
	st, err := postgres.Open(ctx, url, postgres.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	r := &replica{name: name, st: st}
	r.svc, err = analytics.New(st, analytics.Config{Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	r.sched, err = scheduler.New(st, scheduler.Config{
		Instance:  name,
		Analytics: r.svc,
		Schedules: map[string]string{scheduler.JobSampleHealth: healthEverySecond},
		Logger:    log,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	r.svc.SetJobs(r.sched) // the jobs/ route lists this scheduler's jobs
	if err := r.svc.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := r.sched.Start(ctx); err != nil {
		_ = r.svc.Close(ctx)
		st.Close()
		return nil, err
	}
	return r, nil
}

// close stops the replica in the documented order.
func (r *replica) close(ctx context.Context) error {
	return errors.Join(r.svc.Close(ctx), r.sched.Close(ctx), r.st.Close())
}

// admin is the caller of the example's Service calls.
var admin = analytics.Principal{ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", Username: "admin", Role: analytics.RoleAdmin}

// result is what the example observed.
type result struct {
	ReportsBefore, ReportsAfter int64
	// InvalidationDelay is how long replica A took to see a report
	// written through replica B.
	InvalidationDelay time.Duration
	// Runs are the health-sample runs recorded by either replica.
	Runs []store.JobRun
}

// run starts two replicas on url, shows the shared cache invalidation,
// waits for ticks job ticks, stops both and reports what happened.
func run(ctx context.Context, url string, ticks int, out io.Writer, log *slog.Logger) (res *result, err error) {
	a, err := startReplica(ctx, url, "replica-a", log)
	if err != nil {
		return nil, fmt.Errorf("start replica-a: %w", err)
	}
	defer func() { err = errors.Join(err, a.close(context.WithoutCancel(ctx))) }()
	b, err := startReplica(ctx, url, "replica-b", log)
	if err != nil {
		return nil, fmt.Errorf("start replica-b: %w", err)
	}
	defer func() { err = errors.Join(err, b.close(context.WithoutCancel(ctx))) }()
	res = &result{}

	// Replica A answers (and caches) the metrics.
	m, err := a.svc.Metrics(ctx, admin)
	if err != nil {
		return nil, err
	}
	res.ReportsBefore = m.TotalReports
	fmt.Fprintf(out, "replica-a: total_reports = %d (now cached)\n", m.TotalReports)

	// A report is written through replica B.
	clientID := store.NewID()
	if _, _, err := b.svc.IngestClient(ctx, admin, analytics.ClientInput{ID: clientID, CompanyName: "Tailspin Toys"}); err != nil {
		return nil, err
	}
	if _, _, err := b.svc.IngestReport(ctx, admin, analytics.ReportInput{ClientID: clientID, ReportType: "cost", Status: "completed",
		Recommendations: []analytics.RecommendationInput{{Category: "cost", BusinessImpact: "high",
			Recommendation: "Right-size or shutdown underutilized virtual machines", PotentialSavings: 1200}}}); err != nil {
		return nil, err
	}
	written := time.Now()
	fmt.Fprintln(out, "replica-b: wrote a report")

	// Replica A's cache is cleared by the notification from B.
	for {
		m, err := a.svc.Metrics(ctx, admin)
		if err != nil {
			return nil, err
		}
		if m.TotalReports != res.ReportsBefore {
			res.ReportsAfter = m.TotalReports
			res.InvalidationDelay = time.Since(written)
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "replica-a: total_reports = %d, %s after the write\n", res.ReportsAfter, res.InvalidationDelay.Round(time.Millisecond))

	// Both replicas schedule the health sample every second; each tick
	// runs once.
	fmt.Fprintf(out, "waiting for %d health-sample ticks…\n", ticks)
	for {
		runs, err := a.st.JobRunList(ctx, scheduler.JobSampleHealth, 100)
		if err != nil {
			return nil, err
		}
		done := 0
		for _, r := range runs {
			if r.Outcome != store.JobRunning {
				done++
			}
		}
		if done >= ticks {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := errors.Join(a.sched.Close(ctx), b.sched.Close(ctx)); err != nil {
		return nil, err
	}
	if res.Runs, err = a.st.JobRunList(ctx, scheduler.JobSampleHealth, 100); err != nil {
		return nil, err
	}
	for i := len(res.Runs) - 1; i >= 0; i-- {
		r := res.Runs[i]
		fmt.Fprintf(out, "  tick %s ran on %s: %s\n", r.ScheduledAt.Format(time.TimeOnly), r.Instance, r.Outcome)
	}
	jobs, err := b.sched.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Name == scheduler.JobSampleHealth && j.LastRun != nil {
			fmt.Fprintf(out, "replica-b lists the last run of %s: %s on %s\n", j.Name, j.LastRun.Outcome, j.LastRun.Instance)
		}
	}
	return res, nil
}

func main() {
	ticks := flag.Int("ticks", 3, "health-sample ticks to wait for")
	flag.Parse()
	url := os.Getenv("ANALYTICS_DATABASE_URL")
	if url == "" {
		log.Fatal("set ANALYTICS_DATABASE_URL to a postgres:// URL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := run(ctx, url, *ticks, os.Stdout, logger); err != nil {
		log.Fatal(err)
	}
}
