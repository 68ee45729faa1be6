package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Fixed ids of the DST dataset.
const (
	client0 = "00000000-0000-4000-8000-000000000000"
	client1 = "00000000-0000-4000-8000-000000000001"
)

func reportID(n int) string { return "10000000-0000-4000-8000-00000000000" + string(rune('0'+n)) }

// seedDST writes a dataset around the spring-forward day of
// eachDSTStore runs fn on each store seeded by seedDST, with the zone of
// its data.
func eachDSTStore(t *testing.T, fn func(t *testing.T, st store.Store, ny *time.Location)) {
	ny := mustLoad(t, "America/New_York")
	eachStore(t, func(t *testing.T, st store.Store) {
		seedDST(t, st)
		fn(t, st, ny)
	})
}

// America/New_York, 2025-03-09, a local day of 23 hours:
// [2025-03-09T05:00Z, 2025-03-10T04:00Z). Events just outside it on both
// sides (and in the hour a 24-hour day would wrongly add) must not count.
func seedDST(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []store.Client{
		{ID: client0, CompanyName: "Contoso", Industry: store.IndustryFinance, Status: store.ClientActive, CreatedAt: utc("2025-03-01T12:00:00Z")},
		{ID: client1, CompanyName: "Fabrikam", Industry: store.IndustryRetail, Status: store.ClientActive, CreatedAt: utc("2025-03-09T12:00:00Z")},
	} {
		if err := st.ClientUpsert(ctx, &c); err != nil {
			t.Fatalf("ClientUpsert: %v", err)
		}
	}
	reports := []store.Report{
		// r1: first instant of the local day; completed in 100 s; two recommendations.
		{ID: reportID(1), ClientID: client0, CreatedBy: "u1", ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: utc("2025-03-09T05:00:00Z"), ProcessingStartedAt: ptime("2025-03-09T05:00:00Z"),
			ProcessingCompletedAt: ptime("2025-03-09T05:01:40Z"), CSVSizeBytes: pint(1000),
			Recommendations: []store.Recommendation{
				{Category: store.CategoryCost, BusinessImpact: store.ImpactHigh, Recommendation: "Resize", PotentialSavings: 100},
				{Category: store.CategorySecurity, BusinessImpact: store.ImpactLow, Recommendation: "MFA", PotentialSavings: 50.5},
			}},
		// r2: last microsecond of the local day; failed.
		{ID: reportID(2), ClientID: client0, ReportType: store.ReportSecurity, Status: store.StatusFailed,
			CreatedAt: utc("2025-03-10T03:59:59.999999Z"), CSVSizeBytes: pint(3000)},
		// r3: first instant of the next local day (inside a naive 24-hour day).
		{ID: reportID(3), ClientID: client0, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: utc("2025-03-10T04:00:00Z"), ProcessingStartedAt: ptime("2025-03-10T04:00:00Z"),
			ProcessingCompletedAt: ptime("2025-03-10T04:10:00Z")},
		// r4: last second of the previous local day.
		{ID: reportID(4), ClientID: client0, ReportType: store.ReportExecutive, Status: store.StatusCompleted,
			CreatedAt: utc("2025-03-09T04:59:59Z")},
		// r5: after the transition (03:30 EDT); completed in 300 s.
		{ID: reportID(5), ClientID: client0, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: utc("2025-03-09T07:30:00Z"), ProcessingStartedAt: ptime("2025-03-09T07:30:00Z"),
			ProcessingCompletedAt: ptime("2025-03-09T07:35:00Z")},
		// r6, r7: in the hour 06:00–07:00Z (01:00–02:00 EST).
		{ID: reportID(6), ClientID: client1, ReportType: store.ReportDetailed, Status: store.StatusFailed,
			CreatedAt: utc("2025-03-09T06:10:00Z"), CSVSizeBytes: pint(2000)},
		{ID: reportID(7), ClientID: client1, ReportType: store.ReportDetailed, Status: store.StatusCompleted,
			CreatedAt: utc("2025-03-09T06:20:00Z"), ProcessingStartedAt: ptime("2025-03-09T06:20:00Z"),
			ProcessingCompletedAt: ptime("2025-03-09T06:26:00Z"), CSVSizeBytes: pint(4000)},
	}
	for i := range reports {
		if err := st.ReportUpsert(ctx, &reports[i]); err != nil {
			t.Fatalf("ReportUpsert %d: %v", i+1, err)
		}
	}
	act := func(user, typ string, status int, at string) store.Activity {
		return store.Activity{UserID: user, Username: user, ActivityType: typ, StatusCode: status, CreatedAt: utc(at)}
	}
	activities := []store.Activity{
		act("u1", "login", 200, "2025-03-09T04:59:59Z"),               // a1: previous local day
		act("u1", "login", 200, "2025-03-09T05:00:00Z"),               // a2
		act("u2", "upload_csv", 201, "2025-03-09T06:30:00Z"),          // a3
		act("u2", "upload_csv", 500, "2025-03-09T06:45:00Z"),          // a4: failed upload
		act("u3", "download_report", 200, "2025-03-09T07:00:00Z"),     // a5: first instant of the next hour
		act("u1", "share_report", 201, "2025-03-10T03:59:59.999999Z"), // a6: last microsecond of the day
		act("", "view_dashboard", 200, "2025-03-09T12:00:00Z"),        // a7: anonymous
		act("u4", "download_report", 200, "2025-03-10T04:00:00Z"),     // a8: next local day
		act("u5", "login", 200, "2025-03-10T04:30:00Z"),               // a9: next local day
		act("u3", "download_report", 200, "2025-03-09T06:00:00Z"),     // a10: first instant of the hour
	}
	if err := st.ActivityInsertMany(ctx, activities); err != nil {
		t.Fatalf("ActivityInsertMany: %v", err)
	}
}

var snapshotCmp = []cmp.Option{
	cmpopts.IgnoreFields(store.MetricsSnapshot{}, "ComputedAt"),
	cmpopts.EquateApprox(0, 1e-6),
	cmpopts.EquateEmpty(),
}

// wantMar9 is the daily snapshot of 2025-03-09 in America/New_York,
// counted by hand from seedDST.
var wantMar9 = store.MetricsSnapshot{
	Period: store.PeriodDaily, PeriodStart: "2025-03-09",
	From: utc("2025-03-09T05:00:00Z"), To: utc("2025-03-10T04:00:00Z"),
	TotalReports:     6, // r1 r2 r4 r5 r6 r7
	ReportsCreated:   5, // r1 r2 r5 r6 r7
	ReportsCompleted: 3, ReportsFailed: 2,
	ActiveUsers:          3, // u1 u2 u3 (anonymous not counted)
	NewClients:           1,
	TotalRecommendations: 2, TotalPotentialSavings: 150.5,
	Activities: 7, // a2 a3 a4 a5 a6 a7 a10
	Logins:     1, Uploads: 2, Downloads: 2, Shares: 1,
	AvgGenerationSeconds: (100.0 + 300 + 360) / 3,
	SuccessRate:          60,
	CategoryCounts:       map[string]int64{"cost": 1, "security": 1},
	ReportTypeCounts:     map[string]int64{"cost": 2, "security": 1, "detailed": 2},
}

func TestDailyMetricsDSTDay(t *testing.T) {
	t.Parallel()
	eachDSTStore(t, func(t *testing.T, st store.Store, ny *time.Location) {
		ctx := context.Background()
		// A final snapshot (computed after its day ended) is kept; a partial
		// one (computed during its day) is recomputed.
		for _, sn := range []store.MetricsSnapshot{
			{Period: store.PeriodDaily, PeriodStart: "2025-03-06", From: utc("2025-03-06T05:00:00Z"), To: utc("2025-03-07T05:00:00Z"),
				Activities: 999, ComputedAt: utc("2025-03-07T06:00:00Z")},
			{Period: store.PeriodDaily, PeriodStart: "2025-03-08", From: utc("2025-03-08T05:00:00Z"), To: utc("2025-03-09T05:00:00Z"),
				Activities: 42, ComputedAt: utc("2025-03-08T18:00:00Z")},
		} {
			if err := st.MetricsSnapshotUpsert(ctx, &sn); err != nil {
				t.Fatal(err)
			}
		}
		an := &fakeAnalytics{}
		// 02:00 EDT on the 10th finalises the 23-hour 9th.
		s := newScheduler(t, st, Config{Location: ny, Analytics: an,
			NowFunc: fixedNow(time.Date(2025, 3, 10, 2, 0, 0, 0, ny))})

		for i, want := range []struct {
			rows    int64
			message string
		}{
			// 3, 4, 5, 7 and 8 March caught up; the 6th was final.
			{6, "Finalised daily snapshot for 2025-03-09; caught up 5 earlier days; cache refreshed"},
			// A re-run recomputes yesterday only and replaces its row.
			{1, "Finalised daily snapshot for 2025-03-09; cache refreshed"},
		} {
			run, err := s.RunNow(ctx, JobDailyMetrics)
			if err != nil {
				t.Fatalf("RunNow: %v", err)
			}
			if run.Outcome != store.JobSucceeded || run.RowsAffected != want.rows || run.Message != want.message {
				t.Errorf("run %d: outcome %s rows %d message %q, want succeeded %d %q", i+1, run.Outcome, run.RowsAffected, run.Message, want.rows, want.message)
			}
		}
		got, err := st.MetricsSnapshotList(ctx, store.PeriodDaily, "2025-03-09", "2025-03-09")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.MetricsSnapshot{wantMar9}, got, snapshotCmp...); diff != "" {
			t.Errorf("daily snapshot of 2025-03-09 (-want +got):\n%s", diff)
		}
		if len(got) == 1 && got[0].To.Sub(got[0].From) != 23*time.Hour {
			t.Errorf("day length = %v, want 23h", got[0].To.Sub(got[0].From))
		}
		all, err := st.MetricsSnapshotList(ctx, store.PeriodDaily, "", "")
		if err != nil {
			t.Fatal(err)
		}
		activities := map[string]int64{}
		for _, sn := range all {
			activities[sn.PeriodStart] = sn.Activities
		}
		wantActivities := map[string]int64{
			"2025-03-03": 0, "2025-03-04": 0, "2025-03-05": 0,
			"2025-03-06": 999, // final: kept
			"2025-03-07": 0,
			"2025-03-08": 1, // partial: recomputed (a1)
			"2025-03-09": 7,
		}
		if diff := cmp.Diff(wantActivities, activities); diff != "" {
			t.Errorf("daily activities by day (-want +got):\n%s", diff)
		}
		if refreshes, _ := an.counts(); refreshes != 2 {
			t.Errorf("cache refreshes = %d, want 2", refreshes)
		}
	})
}

func TestPeriodicMetrics(t *testing.T) {
	t.Parallel()
	eachDSTStore(t, func(t *testing.T, st store.Store, ny *time.Location) {
		ctx := context.Background()
		s := newScheduler(t, st, Config{Location: ny, NowFunc: fixedNow(time.Date(2025, 3, 10, 1, 0, 0, 0, ny))})
		for range 2 {
			run, err := s.RunNow(ctx, JobPeriodicMetrics)
			if err != nil {
				t.Fatalf("RunNow: %v", err)
			}
			if want := "Upserted daily 2025-03-09, weekly 2025-03-03 and monthly 2025-03-01 snapshots"; run.Message != want || run.RowsAffected != 3 {
				t.Errorf("run message %q rows %d, want %q rows 3", run.Message, run.RowsAffected, want)
			}
		}
		type key struct {
			Start            string
			From, To         time.Time
			Created, Actions int64
			Users            int64
		}
		for _, tc := range []struct {
			period store.Period
			want   key
		}{
			{store.PeriodDaily, key{"2025-03-09", utc("2025-03-09T05:00:00Z"), utc("2025-03-10T04:00:00Z"), 5, 7, 3}},
			// Monday 2025-03-03 EST to Monday 2025-03-10 EDT: r4 and a1 (the 8th) join.
			{store.PeriodWeekly, key{"2025-03-03", utc("2025-03-03T05:00:00Z"), utc("2025-03-10T04:00:00Z"), 6, 8, 3}},
			// March: every report and activity of the dataset.
			{store.PeriodMonthly, key{"2025-03-01", utc("2025-03-01T05:00:00Z"), utc("2025-04-01T04:00:00Z"), 7, 10, 5}},
		} {
			t.Run(string(tc.period), func(t *testing.T) {
				got, err := st.MetricsSnapshotList(ctx, tc.period, "", "")
				if err != nil {
					t.Fatal(err)
				}
				var keys []key
				for _, g := range got {
					keys = append(keys, key{g.PeriodStart, g.From, g.To, g.ReportsCreated, g.Activities, g.ActiveUsers})
				}
				if diff := cmp.Diff([]key{tc.want}, keys); diff != "" {
					t.Errorf("snapshots (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestUsageStats(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		seedDST(t, st)
		// 03:00Z was finalised (computed after the hour): kept. 05:00Z was
		// computed during the hour: recomputed.
		for _, u := range []store.UsageStats{
			{HourStart: utc("2025-03-09T03:00:00Z"), ReportsGenerated: 99, ComputedAt: utc("2025-03-09T04:05:00Z")},
			{HourStart: utc("2025-03-09T05:00:00Z"), ReportsGenerated: 42, ComputedAt: utc("2025-03-09T05:30:00Z")},
		} {
			if err := st.UsageStatsUpsert(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		// At 07:05Z the previous complete hour is [06:00Z, 07:00Z).
		s := newScheduler(t, st, Config{NowFunc: fixedNow(utc("2025-03-09T07:05:00Z"))})
		const hourMsg = "Recorded usage for hour 2025-03-09T06:00:00Z: 2 reports generated (1 failed), 2 CSV uploads (1 failed), 1 downloads, 0 shares"
		for i, want := range []struct {
			rows    int64
			message string
		}{
			// The 23 hours before it are caught up but for the final 03:00Z.
			{23, hourMsg + "; caught up 22 earlier hours"},
			{1, hourMsg},
		} {
			run, err := s.RunNow(ctx, JobUsageStats)
			if err != nil {
				t.Fatalf("RunNow: %v", err)
			}
			if run.Message != want.message || run.RowsAffected != want.rows {
				t.Errorf("run %d: message %q rows %d, want %q rows %d", i+1, run.Message, run.RowsAffected, want.message, want.rows)
			}
		}
		got, err := st.UsageStatsList(ctx, utc("2025-03-08T07:00:00Z"), utc("2025-03-09T07:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 24 {
			t.Fatalf("usage rows = %d, want 24 (one per hour)", len(got))
		}
		want := []store.UsageStats{
			{HourStart: utc("2025-03-09T03:00:00Z"), ReportsGenerated: 99},
			{HourStart: utc("2025-03-09T04:00:00Z"), ReportsGenerated: 1, ReportTypeCounts: map[string]int64{"executive": 1}}, // r4
			{ // r1 and a2 (a login)
				HourStart: utc("2025-03-09T05:00:00Z"), ReportsGenerated: 1, AvgCSVSizeBytes: 1000,
				AvgProcessingMinutes: 100.0 / 60, ReportTypeCounts: map[string]int64{"cost": 1},
			},
			{
				HourStart:            utc("2025-03-09T06:00:00Z"),
				ReportsGenerated:     2, // r6 r7
				ReportsFailed:        1, // r6
				CSVUploads:           2, // a3 a4
				FailedUploads:        1, // a4
				Downloads:            1, // a10 (a5 is at 07:00, the next hour)
				Shares:               0,
				AvgCSVSizeBytes:      3000,
				AvgProcessingMinutes: 6, // r7
				ReportTypeCounts:     map[string]int64{"detailed": 2},
			},
		}
		if diff := cmp.Diff(want, got[20:], cmpopts.IgnoreFields(store.UsageStats{}, "ComputedAt"),
			cmpopts.EquateApprox(0, 1e-9), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("usage stats of 03:00–07:00Z (-want +got):\n%s", diff)
		}
	})
}

func TestCleanupJobs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := utc("2025-06-08T03:00:00Z")
		var acts []store.Activity
		for _, age := range []int{200, 100, 91, 89, 1} {
			acts = append(acts, store.Activity{UserID: "u1", ActivityType: "login", CreatedAt: now.AddDate(0, 0, -age)})
		}
		if err := st.ActivityInsertMany(ctx, acts); err != nil {
			t.Fatal(err)
		}
		for _, age := range []int{40, 31, 29} {
			if err := st.HealthSampleInsert(ctx, &store.HealthSample{TakenAt: now.AddDate(0, 0, -age), Status: "healthy", Data: map[string]any{}}); err != nil {
				t.Fatal(err)
			}
		}
		s := newScheduler(t, st, Config{NowFunc: fixedNow(now), DeleteBatchSize: 1})

		for _, tc := range []struct {
			job         string
			wantMessage []string // first run, re-run
			wantRows    []int64
		}{
			{JobCleanupActivities, []string{"Deleted 3 activities older than 90 days", "Deleted 0 activities older than 90 days"}, []int64{3, 0}},
			{JobCleanupHealth, []string{"Deleted 2 system metrics older than 30 days", "Deleted 0 system metrics older than 30 days"}, []int64{2, 0}},
		} {
			for i := range 2 {
				run, err := s.RunNow(ctx, tc.job)
				if err != nil {
					t.Fatalf("%s: %v", tc.job, err)
				}
				if run.Message != tc.wantMessage[i] || run.RowsAffected != tc.wantRows[i] {
					t.Errorf("%s run %d: message %q rows %d, want %q rows %d", tc.job, i+1, run.Message, run.RowsAffected, tc.wantMessage[i], tc.wantRows[i])
				}
			}
		}
		page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 2 {
			t.Errorf("activities left = %d, want 2", page.Total)
		}
		samples, err := st.HealthSampleList(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 1 {
			t.Errorf("health samples left = %d, want 1", len(samples))
		}
	})
}

// captureSink records the delivered reports.
type captureSink struct{ got []*store.WeeklyReport }

func (c *captureSink) Deliver(_ context.Context, r *store.WeeklyReport) error {
	c.got = append(c.got, r)
	return nil
}

func TestWeeklyReport(t *testing.T) {
	t.Parallel()
	eachDSTStore(t, func(t *testing.T, st store.Store, ny *time.Location) {
		ctx := context.Background()
		if err := st.HealthSampleInsert(ctx, &store.HealthSample{TakenAt: utc("2025-03-10T12:00:00Z"), Status: "degraded", Data: map[string]any{"reasons": "disk"}}); err != nil {
			t.Fatal(err)
		}
		capture := &captureSink{}
		// Monday 2025-03-10 09:00 EDT: the previous week is 3–9 March.
		s := newScheduler(t, st, Config{Location: ny, Sink: MultiSink(StoreSink(st), capture),
			NowFunc: fixedNow(time.Date(2025, 3, 10, 9, 0, 0, 0, ny))})
		for range 2 {
			run, err := s.RunNow(ctx, JobWeeklyReport)
			if err != nil {
				t.Fatalf("RunNow: %v", err)
			}
			if want := "Delivered weekly report for the week of 2025-03-03"; run.Message != want {
				t.Errorf("message %q, want %q", run.Message, want)
			}
		}
		stored, err := st.WeeklyReportList(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].WeekStart != "2025-03-03" {
			t.Fatalf("stored weekly reports = %+v, want one for 2025-03-03", stored)
		}
		if len(capture.got) != 2 {
			t.Fatalf("deliveries = %d, want 2", len(capture.got))
		}
		sum := capture.got[0].Summary
		want := map[string]any{
			"week_start": "2025-03-03",
			"week_end":   "2025-03-09",
			"timezone":   "America/New_York",
			"from":       "2025-03-03T05:00:00Z",
			"to":         "2025-03-10T04:00:00Z",
			"activities": map[string]any{
				"total": int64(8), "active_users": int64(3), "logins": int64(2), "uploads": int64(2),
				"downloads": int64(2), "shares": int64(1),
				"top_types": []any{
					map[string]any{"activity_type": "download_report", "count": int64(2), "percentage": 25.0},
					map[string]any{"activity_type": "login", "count": int64(2), "percentage": 25.0},
					map[string]any{"activity_type": "upload_csv", "count": int64(2), "percentage": 25.0},
					map[string]any{"activity_type": "share_report", "count": int64(1), "percentage": 12.5},
					map[string]any{"activity_type": "view_dashboard", "count": int64(1), "percentage": 12.5},
				},
				"top_users": []any{
					map[string]any{"user_id": "u1", "username": "u1", "count": int64(3), "percentage": 37.5},
					map[string]any{"user_id": "u2", "username": "u2", "count": int64(2), "percentage": 25.0},
					map[string]any{"user_id": "u3", "username": "u3", "count": int64(2), "percentage": 25.0},
				},
			},
			"reports": map[string]any{
				"total_reports": int64(6), "created": int64(6), "completed": int64(4), "failed": int64(2),
				"success_rate":    66.7,
				"by_type":         map[string]int64{"cost": 2, "security": 1, "detailed": 2, "executive": 1},
				"categories":      map[string]int64{"cost": 1, "security": 1},
				"recommendations": int64(2), "potential_savings": 150.5, "new_clients": int64(1),
				"avg_processing_seconds": 253.3, "avg_csv_size_bytes": 2500.0,
			},
			"health": map[string]any{"taken_at": "2025-03-10T12:00:00Z", "status": "degraded", "data": map[string]any{"reasons": "disk"}},
		}
		if diff := cmp.Diff(want, sum); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
	})
}

func TestSampleHealth(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		an := &fakeAnalytics{sampleErrs: []error{errBoom}}
		s := newScheduler(t, st, Config{Analytics: an})

		run, err := s.RunNow(ctx, JobSampleHealth)
		if !errors.Is(err, errBoom) {
			t.Fatalf("first run error = %v, want %v", err, errBoom)
		}
		if run == nil || run.Outcome != store.JobFailed || !strings.Contains(run.Error, "boom") || run.FinishedAt == nil {
			t.Fatalf("failed run record = %+v", run)
		}
		run, err = s.RunNow(ctx, JobSampleHealth)
		if err != nil || run.Outcome != store.JobSucceeded || run.RowsAffected != 1 {
			t.Fatalf("second run = %+v, %v", run, err)
		}
		samples, err := st.HealthSampleList(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 1 || samples[0].Status != "healthy" {
			t.Errorf("samples = %+v, want one healthy", samples)
		}
		runs, err := st.JobRunList(ctx, JobSampleHealth, 10)
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []store.JobOutcome
		for _, r := range runs {
			outcomes = append(outcomes, r.Outcome)
		}
		if diff := cmp.Diff([]store.JobOutcome{store.JobSucceeded, store.JobFailed}, outcomes); diff != "" {
			t.Errorf("recorded outcomes, newest first (-want +got):\n%s", diff)
		}
		if len(runs) == 2 && !strings.Contains(runs[1].Error, "take health sample: boom") {
			t.Errorf("recorded error = %q", runs[1].Error)
		}
	})
}

func TestJobsWithoutAnalytics(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	s := newScheduler(t, st, Config{NowFunc: fixedNow(utc("2025-03-10T12:00:00Z"))})
	ctx := context.Background()
	for _, tc := range []struct{ job, message string }{
		{JobSampleHealth, "Skipped: no analytics service configured"},
		{JobDailyMetrics, "Finalised daily snapshot for 2025-03-09; caught up 6 earlier days; cache refresh skipped (no analytics service configured)"},
	} {
		run, err := s.RunNow(ctx, tc.job)
		if err != nil {
			t.Fatalf("%s: %v", tc.job, err)
		}
		if run.Outcome != store.JobSucceeded || run.Message != tc.message {
			t.Errorf("%s: outcome %s message %q, want succeeded %q", tc.job, run.Outcome, run.Message, tc.message)
		}
	}
}

func TestRefreshFailureIsRecorded(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	an := &fakeAnalytics{refreshErr: errBoom}
	s := newScheduler(t, st, Config{Analytics: an, NowFunc: fixedNow(utc("2025-03-10T12:00:00Z"))})
	run, err := s.RunNow(context.Background(), JobDailyMetrics)
	if !errors.Is(err, errBoom) {
		t.Fatalf("error = %v, want %v", err, errBoom)
	}
	if run.Outcome != store.JobFailed || run.RowsAffected != 7 || !strings.Contains(run.Error, "refresh cache: boom") {
		t.Errorf("run = %+v", run)
	}
	// The snapshot itself was written before the refresh failed.
	got, err := st.MetricsSnapshotList(context.Background(), store.PeriodDaily, "2025-03-09", "2025-03-09")
	if err != nil || len(got) != 1 {
		t.Errorf("snapshots = %v, %v; want one", got, err)
	}
}
