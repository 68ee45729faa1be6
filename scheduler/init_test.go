package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string // "" = valid
	}{
		{"zero value", Config{}, ""},
		{"six-field schedule", Config{Schedules: map[string]string{JobSampleHealth: "*/10 * * * * *"}}, ""},
		{"descriptor", Config{Schedules: map[string]string{JobUsageStats: "@hourly"}}, ""},
		{"bad cron names the job", Config{Schedules: map[string]string{JobWeeklyReport: "0 9 * * funday"}}, "generate_weekly_report"},
		{"too many fields", Config{Schedules: map[string]string{JobDailyMetrics: "0 0 2 * * * *"}}, "calculate_daily_metrics"},
		{"unknown job", Config{Schedules: map[string]string{"send_invoices": "0 1 * * *"}}, `unknown job "send_invoices"`},
		{"negative retention", Config{ActivityRetentionDays: -1}, "ActivityRetentionDays"},
		{"negative health retention", Config{HealthRetentionDays: -5}, "HealthRetentionDays"},
		{"negative batch", Config{DeleteBatchSize: -1}, "DeleteBatchSize"},
		{"unnamed zone", Config{Location: time.FixedZone("Somewhere", 3600)}, "Location"},
		{"named zone", Config{Location: mustLoad(t, "Asia/Kolkata")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(st, tc.cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("New error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil store) succeeded")
	}
}

func TestRunNowErrors(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, teststore.SQLite(t), Config{})
	if _, err := s.RunNow(context.Background(), "nope"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("RunNow(unknown) = %v, want ErrUnknownJob", err)
	}
}

func TestBackfill(t *testing.T) {
	t.Parallel()
	eachDSTStore(t, func(t *testing.T, st store.Store, ny *time.Location) {
		ctx := context.Background()
		s := newScheduler(t, st, Config{Location: ny})
		var progress [][2]int
		// 2025-02-27 … 2025-03-10: two months, three weeks, twelve days.
		err := s.Backfill(ctx, time.Date(2025, 2, 27, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC),
			func(done, total int) { progress = append(progress, [2]int{done, total}) })
		if err != nil {
			t.Fatalf("Backfill: %v", err)
		}
		if len(progress) != 17 || progress[16] != [2]int{17, 17} {
			t.Errorf("progress = %v, want 1/17 … 17/17", progress)
		}
		starts := map[store.Period][]string{}
		for _, p := range []store.Period{store.PeriodDaily, store.PeriodWeekly, store.PeriodMonthly} {
			snaps, err := st.MetricsSnapshotList(ctx, p, "", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, sn := range snaps {
				starts[p] = append(starts[p], sn.PeriodStart)
				if p == store.PeriodDaily && sn.PeriodStart == "2025-03-09" {
					if diff := cmp.Diff(wantMar9, sn, snapshotCmp...); diff != "" {
						t.Errorf("backfilled 2025-03-09 (-want +got):\n%s", diff)
					}
				}
			}
		}
		want := map[store.Period][]string{
			store.PeriodDaily: {"2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04",
				"2025-03-05", "2025-03-06", "2025-03-07", "2025-03-08", "2025-03-09", "2025-03-10"},
			store.PeriodWeekly:  {"2025-02-24", "2025-03-03", "2025-03-10"},
			store.PeriodMonthly: {"2025-02-01", "2025-03-01"},
		}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("snapshot period starts (-want +got):\n%s", diff)
		}
		if err := s.Backfill(ctx, time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), nil); err == nil {
			t.Error("Backfill with toDay before fromDay succeeded")
		}
	})
}

func TestInit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := fixedNow(time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))

	t.Run("all checks pass", func(t *testing.T) {
		t.Parallel()
		st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{SkipMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		an := &fakeAnalytics{}
		var out bytes.Buffer
		rep, err := Init(ctx, st, InitConfig{
			Days: 3, Progress: lineTo(&out), Check: checkTo(&out), Analytics: an,
			CacheCheck: func(context.Context) error { return nil },
			Scheduler:  Config{NowFunc: now, Logger: discardLogger()},
		})
		if err != nil {
			t.Fatalf("Init: %v\n%s", err, out.String())
		}
		wantOut := "Applying migrations…\n" +
			"✓ migrations applied\n" +
			"Backfilling 3 days of snapshots (2025-03-08 to 2025-03-10)…\n" + // 3 days, 2 weeks, 1 month
			"  snapshots 1/6\n  snapshots 2/6\n  snapshots 3/6\n  snapshots 4/6\n  snapshots 5/6\n  snapshots 6/6\n" +
			"✓ snapshots backfilled\n" +
			"✓ cache warmed\n" +
			"Checking the setup…\n" +
			"✓ database reachable\n" +
			"✓ migrations current\n" +
			"✓ jobs registered\n" +
			"✓ cache round-trip\n"
		if diff := cmp.Diff(wantOut, out.String()); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
		if rep.Snapshots != 6 || rep.MigrationsApplied == 0 || rep.MigrationsApplied != rep.MigrationsLatest {
			t.Errorf("report = %+v", rep)
		}
		if refreshes, _ := an.counts(); refreshes != 1 {
			t.Errorf("cache refreshes = %d, want 1", refreshes)
		}
		daily, err := st.MetricsSnapshotList(ctx, store.PeriodDaily, "", "")
		if err != nil || len(daily) != 3 {
			t.Errorf("daily snapshots = %d, %v; want 3", len(daily), err)
		}
	})

	t.Run("failed checks", func(t *testing.T) {
		t.Parallel()
		st := teststore.SQLite(t)
		var out bytes.Buffer
		rep, err := Init(ctx, st, InitConfig{
			Progress:   lineTo(&out),
			Check:      checkTo(&out),
			Analytics:  &fakeAnalytics{refreshErr: errBoom},
			CacheCheck: func(context.Context) error { return errors.New("value read back differs") },
			Scheduler:  Config{NowFunc: now, Logger: discardLogger(), Schedules: map[string]string{JobUsageStats: "bad"}},
		})
		if err == nil {
			t.Fatalf("Init succeeded:\n%s", out.String())
		}
		for _, want := range []string{
			"✓ migrations applied\n",
			"✗ snapshots backfilled: scheduler configuration: scheduler: invalid schedule \"bad\" for job update_report_usage_stats",
			"✗ cache warmed: boom\n",
			"✓ database reachable\n",
			"✗ jobs registered: scheduler: invalid schedule",
			"✗ cache round-trip: value read back differs\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		var failed []string
		for _, c := range rep.Failed() {
			failed = append(failed, c.Name)
		}
		if diff := cmp.Diff([]string{"snapshots backfilled", "cache warmed", "jobs registered", "cache round-trip"}, failed); diff != "" {
			t.Errorf("failed checks (-want +got):\n%s", diff)
		}
		if !strings.Contains(err.Error(), "4 check(s) failed") || !errors.Is(err, errBoom) {
			t.Errorf("error = %v", err)
		}
	})

	t.Run("bad days", func(t *testing.T) {
		t.Parallel()
		if _, err := Init(ctx, teststore.SQLite(t), InitConfig{Days: -1}); err == nil || !strings.Contains(err.Error(), "Days") {
			t.Errorf("Init(Days: -1) = %v, want an error naming Days", err)
		}
	})
}

// lineTo and checkTo print Init's progress and checks the way the
// reference server's init command does.
func lineTo(w io.Writer) func(string) { return func(l string) { fmt.Fprintln(w, l) } }

func checkTo(w io.Writer) func(CheckResult) {
	return func(c CheckResult) {
		if c.Err != nil {
			fmt.Fprintf(w, "✗ %s: %v\n", c.Name, c.Err)
			return
		}
		fmt.Fprintf(w, "✓ %s\n", c.Name)
	}
}
