package scheduler_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// A scheduler over an embedded SQLite store: started with the application
// and stopped, with a deadline, when it shuts down. RunNow runs one job on
// demand and returns its run record.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "analytics")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "analytics.db"), sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	loc, _ := time.LoadLocation("Europe/Paris")
	s, err := scheduler.New(st, scheduler.Config{
		Location:              loc,
		ActivityRetentionDays: 180,
		Schedules:             map[string]string{scheduler.JobSampleHealth: "*/1 * * * *"},
		Logger:                slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = s.Close(stopCtx)
	}()

	run, err := s.RunNow(ctx, scheduler.JobCleanupActivities)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Outcome, run.Message)
	// Output: succeeded Deleted 0 activities older than 180 days
}

// Init migrates a store, backfills snapshots and checks the setup, as the
// reference server's init command does.
func ExampleInit() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "analytics")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "analytics.db"), sqlite.Config{SkipMigrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	_, err = scheduler.Init(ctx, st, scheduler.InitConfig{
		Days:     2,
		Progress: func(line string) { fmt.Println(line) },
		Check:    func(c scheduler.CheckResult) { fmt.Println("✓", c.Name) }, // no check fails here
		Scheduler: scheduler.Config{
			NowFunc: func() time.Time { return time.Date(2025, 3, 12, 10, 0, 0, 0, time.UTC) },
			Logger:  slog.New(slog.DiscardHandler),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// Applying migrations…
	// ✓ migrations applied
	// Backfilling 2 days of snapshots (2025-03-11 to 2025-03-12)…
	//   snapshots 1/4
	//   snapshots 2/4
	//   snapshots 3/4
	//   snapshots 4/4
	// ✓ snapshots backfilled
	// Checking the setup…
	// ✓ database reachable
	// ✓ migrations current
	// ✓ jobs registered
}
