package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// runDailyMetrics finalises yesterday's daily snapshot, catches up the
// daily snapshots of the days before it that are missing or were computed
// before their day ended (a failed or missed run), and refreshes the cached
// analytics.
func runDailyMetrics(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	loc := s.cfg.Location
	y, m, d := yesterday(ref, loc)
	target := periodOf(store.PeriodDaily, y, m, d, loc)
	first := periodOf(store.PeriodDaily, y, m, d-(dailyCatchUpDays-1), loc)
	existing, err := s.st.MetricsSnapshotList(ctx, store.PeriodDaily, first.startDay, target.startDay)
	if err != nil {
		return result{}, fmt.Errorf("list daily snapshots: %w", err)
	}
	final := map[string]bool{}
	for _, sn := range existing {
		final[sn.PeriodStart] = !sn.ComputedAt.Before(sn.To)
	}
	var res result
	for i := dailyCatchUpDays - 1; i >= 1; i-- {
		sp := periodOf(store.PeriodDaily, y, m, d-i, loc)
		if final[sp.startDay] {
			continue
		}
		if err := s.upsertSnapshot(ctx, sp); err != nil {
			return res, err
		}
		res.rows++
	}
	caughtUp := res.rows
	if err := s.upsertSnapshot(ctx, target); err != nil {
		return res, err
	}
	res.rows++
	res.message = "Finalised daily snapshot for " + target.startDay
	if caughtUp > 0 {
		res.message += fmt.Sprintf("; caught up %d earlier days", caughtUp)
	}
	if s.cfg.Analytics == nil {
		s.log.Info("cache refresh skipped: no analytics service configured", "job", JobDailyMetrics)
		res.message += "; cache refresh skipped (no analytics service configured)"
		return res, nil
	}
	if err := s.cfg.Analytics.RefreshCache(ctx); err != nil {
		return res, fmt.Errorf("refresh cache: %w", err)
	}
	res.message += "; cache refreshed"
	return res, nil
}

// runPeriodicMetrics upserts the daily, weekly and monthly snapshots of the
// periods containing yesterday.
func runPeriodicMetrics(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	loc := s.cfg.Location
	y, m, d := yesterday(ref, loc)
	spans := []span{
		periodOf(store.PeriodDaily, y, m, d, loc),
		periodOf(store.PeriodWeekly, y, m, d, loc),
		periodOf(store.PeriodMonthly, y, m, d, loc),
	}
	var res result
	for _, sp := range spans {
		if err := s.upsertSnapshot(ctx, sp); err != nil {
			return res, err
		}
		res.rows++
	}
	res.message = fmt.Sprintf("Upserted daily %s, weekly %s and monthly %s snapshots",
		spans[0].startDay, spans[1].startDay, spans[2].startDay)
	return res, nil
}

// upsertSnapshot computes and stores the snapshot of one period.
func (s *Scheduler) upsertSnapshot(ctx context.Context, sp span) error {
	snap, err := s.snapshot(ctx, sp)
	if err != nil {
		return err
	}
	if err := s.st.MetricsSnapshotUpsert(ctx, snap); err != nil {
		return fmt.Errorf("upsert %s snapshot %s: %w", sp.period, sp.startDay, err)
	}
	return nil
}

// activityFigures are the activity counts of a window.
type activityFigures struct {
	total       int64
	byType      []store.SummaryRow // count descending
	users       []store.SummaryRow // count descending, non-empty user ids only
	activeUsers int64
}

// count returns the number of activities of one type.
func (a *activityFigures) count(activityType string) int64 {
	for _, r := range a.byType {
		if r.ActivityType == activityType {
			return r.Count
		}
	}
	return 0
}

// activities aggregates the activities of [from, to) in the database.
func (s *Scheduler) activities(ctx context.Context, from, to time.Time, withUsers bool) (*activityFigures, error) {
	f := store.ActivityFilter{From: from, To: inclusiveEnd(to)}
	byType, err := s.st.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: store.GroupByType})
	if err != nil {
		return nil, fmt.Errorf("activity summary by type: %w", err)
	}
	out := &activityFigures{total: byType.Total, byType: byType.Rows}
	if !withUsers {
		return out, nil
	}
	byUser, err := s.st.ActivitySummary(ctx, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: store.GroupByUser})
	if err != nil {
		return nil, fmt.Errorf("activity summary by user: %w", err)
	}
	for _, r := range byUser.Rows {
		if r.UserID != "" {
			out.users = append(out.users, r)
		}
	}
	out.activeUsers = int64(len(out.users))
	return out, nil
}

// snapshot computes the dashboard figures of one period.
func (s *Scheduler) snapshot(ctx context.Context, sp span) (*store.MetricsSnapshot, error) {
	ws, err := s.st.ReportWindowStats(ctx, sp.from, sp.to)
	if err != nil {
		return nil, fmt.Errorf("%s %s report figures: %w", sp.period, sp.startDay, err)
	}
	act, err := s.activities(ctx, sp.from, sp.to, true)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", sp.period, sp.startDay, err)
	}
	return &store.MetricsSnapshot{
		Period:                sp.period,
		PeriodStart:           sp.startDay,
		From:                  sp.from,
		To:                    sp.to,
		TotalReports:          ws.TotalReports,
		ReportsCreated:        ws.ReportsCreated,
		ReportsCompleted:      ws.ReportsCompleted,
		ReportsFailed:         ws.ReportsFailed,
		ActiveUsers:           act.activeUsers,
		NewClients:            ws.NewClients,
		TotalRecommendations:  ws.Recommendations,
		TotalPotentialSavings: ws.Savings,
		Activities:            act.total,
		Logins:                act.count(activityTypeLogin),
		Uploads:               act.count(activityTypeUpload),
		Downloads:             act.count(activityTypeDownload),
		Shares:                act.count(activityTypeShare),
		AvgGenerationSeconds:  ws.AvgProcessingSeconds,
		SuccessRate:           percent(ws.ReportsCompleted, ws.ReportsCreated),
		CategoryCounts:        nonNilMap(ws.CategoryCounts),
		ReportTypeCounts:      nonNilMap(ws.ReportTypeCounts),
		ComputedAt:            s.cfg.NowFunc().UTC(),
	}, nil
}

// runUsageStats finalises the report usage of the previous complete hour,
// and catches up the hours of the day before it whose row is missing or was
// computed before the hour ended (a failed or missed run, or the hour a
// daylight-saving fall-back repeats on the wall clock).
func runUsageStats(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	from, _ := previousHour(ref)
	first := from.Add(-(usageCatchUpHours - 1) * time.Hour)
	existing, err := s.st.UsageStatsList(ctx, first, from)
	if err != nil {
		return result{}, fmt.Errorf("list usage stats: %w", err)
	}
	final := map[time.Time]bool{}
	for _, u := range existing {
		final[u.HourStart.UTC()] = !u.ComputedAt.Before(u.HourStart.Add(time.Hour))
	}
	var res result
	for h := first; h.Before(from); h = h.Add(time.Hour) {
		if final[h] {
			continue
		}
		if _, err := s.usageHour(ctx, h); err != nil {
			return res, err
		}
		res.rows++
	}
	caughtUp := res.rows
	u, err := s.usageHour(ctx, from)
	if err != nil {
		return res, err
	}
	res.rows++
	res.message = fmt.Sprintf(
		"Recorded usage for hour %s: %d reports generated (%d failed), %d CSV uploads (%d failed), %d downloads, %d shares",
		from.Format(time.RFC3339), u.ReportsGenerated, u.ReportsFailed, u.CSVUploads, u.FailedUploads, u.Downloads, u.Shares)
	if caughtUp > 0 {
		res.message += fmt.Sprintf("; caught up %d earlier hours", caughtUp)
	}
	return res, nil
}

// usageHour computes and stores the usage of the hour starting at from.
func (s *Scheduler) usageHour(ctx context.Context, from time.Time) (*store.UsageStats, error) {
	to := from.Add(time.Hour)
	ws, err := s.st.ReportWindowStats(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("hour %s report figures: %w", from.Format(time.RFC3339), err)
	}
	act, err := s.activities(ctx, from, to, false)
	if err != nil {
		return nil, fmt.Errorf("hour %s: %w", from.Format(time.RFC3339), err)
	}
	failedUploads, err := s.failedActivities(ctx, activityTypeUpload, from, to)
	if err != nil {
		return nil, fmt.Errorf("hour %s: %w", from.Format(time.RFC3339), err)
	}
	u := &store.UsageStats{
		HourStart:            from,
		ReportsGenerated:     ws.ReportsCreated,
		ReportsFailed:        ws.ReportsFailed,
		CSVUploads:           act.count(activityTypeUpload),
		FailedUploads:        failedUploads,
		Downloads:            act.count(activityTypeDownload),
		Shares:               act.count(activityTypeShare),
		AvgCSVSizeBytes:      ws.AvgCSVSizeBytes,
		AvgProcessingMinutes: ws.AvgProcessingSeconds / 60,
		ReportTypeCounts:     nonNilMap(ws.ReportTypeCounts),
		ComputedAt:           s.cfg.NowFunc().UTC(),
	}
	if err := s.st.UsageStatsUpsert(ctx, u); err != nil {
		return nil, fmt.Errorf("upsert usage stats %s: %w", from.Format(time.RFC3339), err)
	}
	return u, nil
}

// failedActivities counts the activities of one type in [from, to) whose
// response status was an error (≥ 400). The store has no status filter, so
// the hour's activities of that type are streamed (constant memory).
func (s *Scheduler) failedActivities(ctx context.Context, activityType string, from, to time.Time) (int64, error) {
	var n int64
	f := store.ActivityFilter{From: from, To: inclusiveEnd(to), ActivityType: activityType}
	err := s.st.ActivityIterate(ctx, f, func(a *store.Activity) error {
		if a.StatusCode >= 400 {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count failed %s activities: %w", activityType, err)
	}
	return n, nil
}

// runCleanupActivities deletes activities older than the retention.
func runCleanupActivities(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	days := s.cfg.ActivityRetentionDays
	cutoff := ref.In(s.cfg.Location).AddDate(0, 0, -days)
	n, err := s.st.ActivityDeleteBefore(ctx, cutoff, s.cfg.DeleteBatchSize)
	res := result{rows: n, message: fmt.Sprintf("Deleted %d activities older than %d days", n, days)}
	if err != nil {
		return res, fmt.Errorf("delete activities before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return res, nil
}

// runCleanupHealth deletes health samples older than the retention.
func runCleanupHealth(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	days := s.cfg.HealthRetentionDays
	cutoff := ref.In(s.cfg.Location).AddDate(0, 0, -days)
	n, err := s.st.HealthSampleDeleteBefore(ctx, cutoff)
	res := result{rows: n, message: fmt.Sprintf("Deleted %d system metrics older than %d days", n, days)}
	if err != nil {
		return res, fmt.Errorf("delete health samples before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return res, nil
}

// runSampleHealth stores a system-health sample.
func runSampleHealth(ctx context.Context, s *Scheduler, _ time.Time) (result, error) {
	if s.cfg.Analytics == nil {
		s.log.Info("health sample skipped: no analytics service configured", "job", JobSampleHealth)
		return result{message: "Skipped: no analytics service configured"}, nil
	}
	h, err := s.cfg.Analytics.HealthSample(ctx)
	if err != nil {
		return result{}, fmt.Errorf("take health sample: %w", err)
	}
	if h == nil {
		return result{}, errors.New("take health sample: no sample returned")
	}
	if h.TakenAt.IsZero() {
		h.TakenAt = s.cfg.NowFunc().UTC()
	}
	if err := s.st.HealthSampleInsert(ctx, h); err != nil {
		return result{}, fmt.Errorf("insert health sample: %w", err)
	}
	return result{rows: 1, message: fmt.Sprintf("Recorded system health sample (%s)", h.Status)}, nil
}

// runWeeklyReport builds the previous week's summary and delivers it.
func runWeeklyReport(ctx context.Context, s *Scheduler, ref time.Time) (result, error) {
	wr, err := s.weeklyReport(ctx, previousWeek(ref, s.cfg.Location))
	if err != nil {
		return result{}, err
	}
	if err := s.cfg.Sink.Deliver(ctx, wr); err != nil {
		return result{}, fmt.Errorf("deliver weekly report %s: %w", wr.WeekStart, err)
	}
	return result{rows: 1, message: "Delivered weekly report for the week of " + wr.WeekStart}, nil
}

// weeklyReport builds the summary of one week.
func (s *Scheduler) weeklyReport(ctx context.Context, wk span) (*store.WeeklyReport, error) {
	loc := s.cfg.Location
	act, err := s.activities(ctx, wk.from, wk.to, true)
	if err != nil {
		return nil, fmt.Errorf("weekly report %s: %w", wk.startDay, err)
	}
	ws, err := s.st.ReportWindowStats(ctx, wk.from, wk.to)
	if err != nil {
		return nil, fmt.Errorf("weekly report %s: report figures: %w", wk.startDay, err)
	}
	samples, err := s.st.HealthSampleList(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("weekly report %s: latest health sample: %w", wk.startDay, err)
	}

	byType := make([]any, 0, weeklyTopN)
	for i, r := range act.byType {
		if i == weeklyTopN {
			break
		}
		byType = append(byType, map[string]any{
			"activity_type": r.ActivityType, "count": r.Count, "percentage": percent(r.Count, act.total)})
	}
	topUsers := make([]any, 0, weeklyTopN)
	for i, r := range act.users {
		if i == weeklyTopN {
			break
		}
		topUsers = append(topUsers, map[string]any{
			"user_id": r.UserID, "username": r.Username, "count": r.Count, "percentage": percent(r.Count, act.total)})
	}
	var health any
	if len(samples) > 0 {
		h := samples[0]
		health = map[string]any{
			"taken_at": h.TakenAt.UTC().Format(time.RFC3339Nano),
			"status":   h.Status,
			"data":     h.Data,
		}
	}
	wy, wm, wd := wk.from.In(loc).Date()
	weekEnd := civilNoon(wy, wm, wd+6, loc)
	summary := map[string]any{
		"week_start": wk.startDay,
		"week_end":   weekEnd.Format(dateLayout),
		"timezone":   loc.String(),
		"from":       wk.from.Format(time.RFC3339),
		"to":         wk.to.Format(time.RFC3339),
		"activities": map[string]any{
			"total":        act.total,
			"active_users": act.activeUsers,
			"logins":       act.count(activityTypeLogin),
			"uploads":      act.count(activityTypeUpload),
			"downloads":    act.count(activityTypeDownload),
			"shares":       act.count(activityTypeShare),
			"top_types":    byType,
			"top_users":    topUsers,
		},
		"reports": map[string]any{
			"total_reports":          ws.TotalReports,
			"created":                ws.ReportsCreated,
			"completed":              ws.ReportsCompleted,
			"failed":                 ws.ReportsFailed,
			"success_rate":           percent(ws.ReportsCompleted, ws.ReportsCreated),
			"by_type":                nonNilMap(ws.ReportTypeCounts),
			"categories":             nonNilMap(ws.CategoryCounts),
			"recommendations":        ws.Recommendations,
			"potential_savings":      round(ws.Savings, 2),
			"new_clients":            ws.NewClients,
			"avg_processing_seconds": round(ws.AvgProcessingSeconds, 1),
			"avg_csv_size_bytes":     round(ws.AvgCSVSizeBytes, 1),
		},
		"health": health,
	}
	return &store.WeeklyReport{WeekStart: wk.startDay, Summary: summary, CreatedAt: s.cfg.NowFunc().UTC()}, nil
}

// percent returns part ÷ total × 100 rounded to one decimal (half to even on
// the decimal value); 0 when total is 0.
func percent(part, total int64) float64 {
	if total == 0 {
		return 0
	}
	return round(float64(part)/float64(total)*100, 1)
}

// round rounds x to dp decimals the way Python's round does on the decimal
// representation (12.25 → 12.2).
func round(x float64, dp int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', dp, 64), 64)
	return v
}

// nonNilMap returns m, or an empty map when m is nil.
func nonNilMap(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}
