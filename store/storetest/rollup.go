package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func runRollup(t *testing.T, open OpenFunc) {
	parallel(t, open, "MetricsSnapshot", testMetricsSnapshot)
	parallel(t, open, "UsageStats", testUsageStats)
	parallel(t, open, "HealthSample", testHealthSample)
	parallel(t, open, "JobRun", testJobRun)
	parallel(t, open, "JobRunStartRace", testJobRunStartRace)
	parallel(t, open, "WeeklyReport", testWeeklyReport)
	parallel(t, open, "RollupValidation", testRollupValidation)
}

// testRollupValidation checks that every driver refuses the same rollup
// records and list parameters, naming the same field, and writes nothing.
func testRollupValidation(t *testing.T, s store.Store) {
	c := ctx(t)
	badDay := snapshot(store.PeriodDaily, "2025-03-03", 1)
	badDay.PeriodStart = "03/03/2025"
	listErr := func(_ any, err error) error { return err }
	cases := []struct {
		name, field string
		err         error
	}{
		{"SnapshotPeriodStart", "period_start", s.MetricsSnapshotUpsert(c, &badDay)},
		{"SnapshotListPeriod", "period", listErr(s.MetricsSnapshotList(c, "hourly", "", ""))},
		{"SnapshotListFrom", "from", listErr(s.MetricsSnapshotList(c, store.PeriodDaily, "2025-3-1", ""))},
		{"SnapshotListTo", "to", listErr(s.MetricsSnapshotList(c, store.PeriodDaily, "", "tomorrow"))},
		{"HealthSampleStatus", "status", s.HealthSampleInsert(c, &store.HealthSample{})},
		{"HealthSampleListLimit", "limit", listErr(s.HealthSampleList(c, -1))},
		{"JobRunStartJob", "job", s.JobRunStart(c, &store.JobRun{})},
		{"JobRunStartID", "id", s.JobRunStart(c, &store.JobRun{Job: "j", ID: "not-a-uuid"})},
		{"JobRunFinishID", "id", s.JobRunFinish(c, &store.JobRun{ID: "not-a-uuid"})},
		{"JobRunListLimit", "limit", listErr(s.JobRunList(c, "", -1))},
		{"WeeklyReportWeekStart", "week_start", s.WeeklyReportUpsert(c, &store.WeeklyReport{WeekStart: "2025-W10"})},
		{"WeeklyReportListLimit", "limit", listErr(s.WeeklyReportList(c, -1))},
		{"ReportRecentLimit", "limit", listErr(s.ReportRecent(c, "", -1))},
		{"DeleteBatchSize", "batch_size", listErr(s.ActivityDeleteBefore(c, ts("2025-03-03T00:00:00Z"), -1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantValidation(t, tc.err, tc.field, false) })
	}
	snaps, err := s.MetricsSnapshotList(c, store.PeriodDaily, "", "")
	must(t, err, "MetricsSnapshotList")
	runs, err := s.JobRunLatest(c)
	must(t, err, "JobRunLatest")
	samples, err := s.HealthSampleList(c, 0)
	must(t, err, "HealthSampleList")
	weeks, err := s.WeeklyReportList(c, 0)
	must(t, err, "WeeklyReportList")
	if len(snaps)+len(runs)+len(samples)+len(weeks) != 0 {
		t.Errorf("refused records were written: %d snapshots, %d runs, %d samples, %d weeks",
			len(snaps), len(runs), len(samples), len(weeks))
	}
}

func snapshot(period store.Period, day string, n int64) store.MetricsSnapshot {
	from, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	to := from.AddDate(0, 0, 1)
	switch period {
	case store.PeriodWeekly:
		to = from.AddDate(0, 0, 7)
	case store.PeriodMonthly:
		to = from.AddDate(0, 1, 0)
	}
	return store.MetricsSnapshot{
		Period: period, PeriodStart: day, From: from, To: to,
		TotalReports: 100 + n, ReportsCreated: n, ReportsCompleted: n - 1, ReportsFailed: 1, ActiveUsers: 3,
		NewClients: 2, TotalRecommendations: 10 * n, TotalPotentialSavings: 1234.56 + float64(n),
		Activities: 50 * n, Logins: 5, Uploads: 4, Downloads: 3, Shares: 2,
		AvgGenerationSeconds: 12.5, SuccessRate: 87.5,
		CategoryCounts:   map[string]int64{"cost": n, "security": 2},
		ReportTypeCounts: map[string]int64{"cost": 1, "detailed": n},
		ComputedAt:       to.Add(2*time.Hour + 123456*time.Microsecond),
	}
}

func testMetricsSnapshot(t *testing.T, s store.Store) {
	first := snapshot(store.PeriodDaily, "2025-03-03", 5)
	must(t, s.MetricsSnapshotUpsert(ctx(t), &first), "MetricsSnapshotUpsert")
	second := snapshot(store.PeriodDaily, "2025-03-03", 9)
	second.CategoryCounts = map[string]int64{"reliability": 1}
	second.ReportTypeCounts = map[string]int64{}
	must(t, s.MetricsSnapshotUpsert(ctx(t), &second), "MetricsSnapshotUpsert again")
	got, err := s.MetricsSnapshotList(ctx(t), store.PeriodDaily, "", "")
	must(t, err, "MetricsSnapshotList")
	diff(t, "one key upserted twice", []store.MetricsSnapshot{second}, got, cmpopts.EquateEmpty())
	for _, g := range got {
		wantUTC(t, "snapshot", g.From, g.To, g.ComputedAt)
	}

	for _, sn := range []store.MetricsSnapshot{
		snapshot(store.PeriodDaily, "2025-03-05", 2),
		snapshot(store.PeriodDaily, "2025-03-01", 3),
		snapshot(store.PeriodDaily, "2025-03-04", 4),
		snapshot(store.PeriodWeekly, "2025-03-03", 20),
		snapshot(store.PeriodWeekly, "2025-02-24", 21),
		snapshot(store.PeriodMonthly, "2025-03-01", 60),
	} {
		must(t, s.MetricsSnapshotUpsert(ctx(t), &sn), "MetricsSnapshotUpsert "+sn.PeriodStart)
	}
	cases := []struct {
		name     string
		period   store.Period
		from, to string
		want     []store.MetricsSnapshot
	}{
		{"DailyAll", store.PeriodDaily, "", "", []store.MetricsSnapshot{
			snapshot(store.PeriodDaily, "2025-03-01", 3), second, snapshot(store.PeriodDaily, "2025-03-04", 4), snapshot(store.PeriodDaily, "2025-03-05", 2)}},
		{"DailyInclusiveRange", store.PeriodDaily, "2025-03-03", "2025-03-04", []store.MetricsSnapshot{second, snapshot(store.PeriodDaily, "2025-03-04", 4)}},
		{"DailyFromOnly", store.PeriodDaily, "2025-03-04", "", []store.MetricsSnapshot{snapshot(store.PeriodDaily, "2025-03-04", 4), snapshot(store.PeriodDaily, "2025-03-05", 2)}},
		{"DailyToOnly", store.PeriodDaily, "", "2025-03-02", []store.MetricsSnapshot{snapshot(store.PeriodDaily, "2025-03-01", 3)}},
		{"Weekly", store.PeriodWeekly, "", "", []store.MetricsSnapshot{snapshot(store.PeriodWeekly, "2025-02-24", 21), snapshot(store.PeriodWeekly, "2025-03-03", 20)}},
		{"Monthly", store.PeriodMonthly, "2025-03-01", "2025-03-31", []store.MetricsSnapshot{snapshot(store.PeriodMonthly, "2025-03-01", 60)}},
		{"None", store.PeriodMonthly, "2025-04-01", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.MetricsSnapshotList(ctx(t), tc.period, tc.from, tc.to)
			must(t, err, "MetricsSnapshotList")
			diff(t, "snapshots", tc.want, got, cmpopts.EquateEmpty())
		})
	}
	bad := snapshot("hourly", "2025-03-03", 1)
	wantValidation(t, s.MetricsSnapshotUpsert(ctx(t), &bad), "period", false)
}

func usage(hour string, n int64) store.UsageStats {
	h := ts(hour)
	return store.UsageStats{
		HourStart: h, ReportsGenerated: n, ReportsFailed: 1, CSVUploads: n + 1, FailedUploads: 2, Downloads: 3, Shares: 4,
		AvgCSVSizeBytes: 2048.5, AvgProcessingMinutes: 1.25, ReportTypeCounts: map[string]int64{"cost": n},
		ComputedAt: h.Add(65 * time.Minute),
	}
}

func testUsageStats(t *testing.T, s store.Store) {
	for _, u := range []store.UsageStats{usage("2025-03-03T12:00:00Z", 1), usage("2025-03-03T10:00:00Z", 2), usage("2025-03-03T11:00:00Z", 3), usage("2025-03-03T11:00:00Z", 7)} {
		must(t, s.UsageStatsUpsert(ctx(t), &u), "UsageStatsUpsert")
	}
	got, err := s.UsageStatsList(ctx(t), ts("2025-03-03T10:00:00Z"), ts("2025-03-03T12:00:00Z"))
	must(t, err, "UsageStatsList")
	diff(t, "hours [10:00, 12:00)", []store.UsageStats{usage("2025-03-03T10:00:00Z", 2), usage("2025-03-03T11:00:00Z", 7)}, got, cmpopts.EquateEmpty())
	for _, g := range got {
		wantUTC(t, "usage", g.HourStart, g.ComputedAt)
	}
	got, err = s.UsageStatsList(ctx(t), ts("2025-03-03T00:00:00Z"), ts("2025-03-04T00:00:00Z"))
	must(t, err, "UsageStatsList")
	diff(t, "whole day", []store.UsageStats{usage("2025-03-03T10:00:00Z", 2), usage("2025-03-03T11:00:00Z", 7), usage("2025-03-03T12:00:00Z", 1)}, got, cmpopts.EquateEmpty())

	// HourStart is "on the hour": a time within an hour, in any zone,
	// replaces that hour's row and is reported back truncated.
	within := usage("2025-03-03T11:00:00Z", 8)
	within.HourStart = ts("2025-03-03T11:42:17.123456Z").In(newYork())
	must(t, s.UsageStatsUpsert(ctx(t), &within), "UsageStatsUpsert within the hour")
	if want := ts("2025-03-03T11:00:00Z"); !within.HourStart.Equal(want) || within.HourStart.Location() != time.UTC {
		t.Errorf("UsageStatsUpsert set HourStart to %v, want %v", within.HourStart, want)
	}
	got, err = s.UsageStatsList(ctx(t), ts("2025-03-03T11:00:00Z"), ts("2025-03-03T12:00:00Z"))
	must(t, err, "UsageStatsList")
	diff(t, "hour replaced by a time within it", []store.UsageStats{usage("2025-03-03T11:00:00Z", 8)}, got, cmpopts.EquateEmpty())

	var zero store.UsageStats
	wantValidation(t, s.UsageStatsUpsert(ctx(t), &zero), "hour_start", false)
}

func testHealthSample(t *testing.T, s store.Store) {
	samples := []store.HealthSample{
		{TakenAt: ts("2025-03-03T10:00:00Z"), Status: "healthy", Data: map[string]any{"cpu": 12.5, "ok": true}},
		{TakenAt: ts("2025-03-03T10:05:00Z"), Status: "degraded", Data: map[string]any{"reasons": []any{"disk"}}},
		{TakenAt: ts("2025-03-03T10:10:00.5Z"), Status: "healthy"},
	}
	for i := range samples {
		h := samples[i]
		must(t, s.HealthSampleInsert(ctx(t), &h), "HealthSampleInsert")
	}
	got, err := s.HealthSampleList(ctx(t), 2)
	must(t, err, "HealthSampleList")
	ignoreID := cmpopts.IgnoreFields(store.HealthSample{}, "ID")
	diff(t, "newest two", []store.HealthSample{samples[2], samples[1]}, got, ignoreID, cmpopts.EquateEmpty())
	got, err = s.HealthSampleList(ctx(t), 10)
	must(t, err, "HealthSampleList")
	ids := map[int64]bool{}
	for _, h := range got {
		if h.ID <= 0 || ids[h.ID] {
			t.Errorf("sample id %d: want distinct positive ids", h.ID)
		}
		ids[h.ID] = true
		wantUTC(t, "sample", h.TakenAt)
	}
	n, err := s.HealthSampleDeleteBefore(ctx(t), samples[1].TakenAt)
	must(t, err, "HealthSampleDeleteBefore")
	if n != 1 {
		t.Errorf("deleted %d samples, want 1", n)
	}
	got, err = s.HealthSampleList(ctx(t), 10)
	must(t, err, "HealthSampleList")
	diff(t, "after delete", []store.HealthSample{samples[2], samples[1]}, got, ignoreID, cmpopts.EquateEmpty())
}

func testJobRun(t *testing.T, s store.Store) {
	start := func(job, key, at string) store.JobRun {
		return store.JobRun{Job: job, RunKey: key, ScheduledAt: ts(at), StartedAt: ts(at).Add(250 * time.Millisecond),
			Outcome: store.JobRunning, Instance: "host-1"}
	}
	r1 := start("cleanup", "cleanup@2025-03-03T01:00", "2025-03-03T01:00:00Z")
	must(t, s.JobRunStart(ctx(t), &r1), "JobRunStart")
	if !store.ValidUUID(r1.ID) {
		t.Fatalf("JobRunStart left ID %q, want an assigned UUID", r1.ID)
	}
	dup := start("cleanup", "cleanup@2025-03-03T01:00", "2025-03-03T01:00:00Z")
	dup.Instance = "host-2"
	wantIs(t, s.JobRunStart(ctx(t), &dup), store.ErrConflict, "JobRunStart with a taken RunKey")

	got, err := s.JobRunList(ctx(t), "cleanup", 10)
	must(t, err, "JobRunList")
	diff(t, "running job", []store.JobRun{r1}, got)

	r1.FinishedAt = ptr(r1.StartedAt.Add(1500 * time.Millisecond))
	r1.Outcome, r1.RowsAffected, r1.Message = store.JobSucceeded, 42, "Deleted 42 activities older than 90 days"
	must(t, s.JobRunFinish(ctx(t), &r1), "JobRunFinish")

	r2 := start("cleanup", "cleanup@2025-03-03T02:00", "2025-03-03T02:00:00Z")
	must(t, s.JobRunStart(ctx(t), &r2), "JobRunStart")
	r2.FinishedAt = ptr(r2.StartedAt.Add(time.Second))
	r2.Outcome, r2.Error = store.JobFailed, "database is locked"
	must(t, s.JobRunFinish(ctx(t), &r2), "JobRunFinish")
	r3 := start("sample_health", "sample_health@2025-03-03T03:00", "2025-03-03T03:00:00Z")
	r3.ID = ID('d', 3)
	must(t, s.JobRunStart(ctx(t), &r3), "JobRunStart with an id")

	got, err = s.JobRunList(ctx(t), "", 10)
	must(t, err, "JobRunList all")
	diff(t, "all runs newest first", []store.JobRun{r3, r2, r1}, got)
	for _, g := range got {
		wantUTC(t, "run", g.ScheduledAt, g.StartedAt)
	}
	if d := got[2].Duration(); d != 1500*time.Millisecond {
		t.Errorf("run 1 lasted %v, want 1.5s", d)
	}
	got, err = s.JobRunList(ctx(t), "cleanup", 1)
	must(t, err, "JobRunList limit 1")
	diff(t, "latest cleanup", []store.JobRun{r2}, got)

	got, err = s.JobRunLatest(ctx(t))
	must(t, err, "JobRunLatest")
	diff(t, "latest run of each job, by job name", []store.JobRun{r2, r3}, got)

	unknown := r1
	unknown.ID = ID('d', 99)
	wantIs(t, s.JobRunFinish(ctx(t), &unknown), store.ErrNotFound, "JobRunFinish of an unknown run")
}

// testJobRunStartRace starts one occurrence from several goroutines, as
// replicas sharing a database do: exactly one wins.
func testJobRunStartRace(t *testing.T, s store.Store) {
	const racers = 8
	var wg sync.WaitGroup
	results := make(chan error, racers)
	for i := range racers {
		wg.Go(func() {
			r := store.JobRun{Job: "daily", RunKey: "daily@2025-03-03T02:00", ScheduledAt: ts("2025-03-03T02:00:00Z"),
				StartedAt: ts("2025-03-03T02:00:00Z").Add(time.Duration(i) * time.Millisecond), Outcome: store.JobRunning,
				Instance: fmt.Sprintf("replica-%d", i)}
			results <- s.JobRunStart(ctx(t), &r)
		})
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("JobRunStart race: %v, want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d starts won, want exactly 1", won)
	}
	runs, err := s.JobRunList(ctx(t), "daily", 10)
	must(t, err, "JobRunList")
	if len(runs) != 1 {
		t.Errorf("%d runs recorded, want 1", len(runs))
	}

	// Concurrent upserts of one snapshot key leave one row.
	var sw sync.WaitGroup
	snapErrs := make(chan error, racers)
	for i := range racers {
		sw.Go(func() {
			sn := snapshot(store.PeriodDaily, "2025-03-03", int64(i+1))
			snapErrs <- s.MetricsSnapshotUpsert(ctx(t), &sn)
		})
	}
	sw.Wait()
	close(snapErrs)
	for err := range snapErrs {
		must(t, err, "concurrent MetricsSnapshotUpsert")
	}
	snaps, err := s.MetricsSnapshotList(ctx(t), store.PeriodDaily, "", "")
	must(t, err, "MetricsSnapshotList")
	if len(snaps) != 1 {
		t.Errorf("%d snapshots for one key, want 1", len(snaps))
	}
}

func testWeeklyReport(t *testing.T, s store.Store) {
	w1 := store.WeeklyReport{WeekStart: "2025-03-03", Summary: map[string]any{"activities": float64(10)}, CreatedAt: ts("2025-03-10T09:00:00Z")}
	w2 := store.WeeklyReport{WeekStart: "2025-03-10", Summary: map[string]any{"activities": float64(20), "top": []any{"login"}}, CreatedAt: ts("2025-03-17T09:00:00Z")}
	w1b := store.WeeklyReport{WeekStart: "2025-03-03", Summary: map[string]any{"activities": float64(11)}, CreatedAt: ts("2025-03-10T09:30:00Z")}
	for _, w := range []store.WeeklyReport{w1, w2, w1b} {
		must(t, s.WeeklyReportUpsert(ctx(t), &w), "WeeklyReportUpsert "+w.WeekStart)
	}
	got, err := s.WeeklyReportList(ctx(t), 10)
	must(t, err, "WeeklyReportList")
	diff(t, "weeks", []store.WeeklyReport{w2, w1b}, got)
	got, err = s.WeeklyReportList(ctx(t), 1)
	must(t, err, "WeeklyReportList limit 1")
	diff(t, "newest week", []store.WeeklyReport{w2}, got)
}
