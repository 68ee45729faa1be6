package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Job names, as recorded in job runs and listed by Jobs.
const (
	// JobDailyMetrics finalises yesterday's daily dashboard snapshot,
	// catches up the daily snapshots of the six days before it that are
	// missing or were computed before their day ended, and refreshes the
	// cached analytics.
	JobDailyMetrics = "calculate_daily_metrics"
	// JobPeriodicMetrics upserts the daily, weekly and monthly snapshots of
	// the periods containing yesterday.
	JobPeriodicMetrics = "calculate_dashboard_metrics_periodic"
	// JobUsageStats finalises the report usage statistics of the previous
	// complete hour (UTC hours) and catches up the 23 hours before it that
	// are missing or were computed before the hour ended. Reports generated,
	// failed, the average CSV size and processing time and the type
	// breakdown come from the reports created in the hour; CSV uploads
	// (upload_csv), failed uploads (upload_csv with a status ≥ 400),
	// downloads (download_report) and shares (share_report) from the
	// activities.
	JobUsageStats = "update_report_usage_stats"
	// JobCleanupActivities deletes activities older than the retention.
	JobCleanupActivities = "cleanup_old_activities"
	// JobCleanupHealth deletes system-health samples older than the
	// retention.
	JobCleanupHealth = "cleanup_old_system_metrics"
	// JobWeeklyReport builds the summary of the previous Monday–Sunday
	// week and delivers it to the weekly sink. The summary has the keys
	// week_start, week_end (YYYY-MM-DD), timezone, from, to (RFC 3339 UTC),
	// activities {total, active_users, logins, uploads, downloads, shares,
	// top_types [{activity_type, count, percentage}], top_users [{user_id,
	// username, count, percentage}]} (top 10 each), reports {total_reports,
	// created, completed, failed, success_rate, by_type, categories,
	// recommendations, potential_savings, new_clients,
	// avg_processing_seconds, avg_csv_size_bytes} and health (the latest
	// sample {taken_at, status, data}, or null).
	JobWeeklyReport = "generate_weekly_report"
	// JobSampleHealth records a system-health sample.
	JobSampleHealth = "sample_system_health"
)

// Default schedules, in cron syntax evaluated in the reporting time zone.
// A schedule may also have six fields (the first being seconds) or be a
// descriptor such as "@hourly" or "@every 10m".
const (
	DailyMetricsScheduleDefault      = "0 2 * * *"   // daily 02:00
	PeriodicMetricsScheduleDefault   = "0 1 * * *"   // daily 01:00
	UsageStatsScheduleDefault        = "5 * * * *"   // hourly at :05
	CleanupActivitiesScheduleDefault = "0 3 * * 0"   // Sunday 03:00
	CleanupHealthScheduleDefault     = "0 4 * * 0"   // Sunday 04:00
	WeeklyReportScheduleDefault      = "0 9 * * 1"   // Monday 09:00
	SampleHealthScheduleDefault      = "*/5 * * * *" // every 5 minutes, on the clock
)

// Retention and batching defaults.
const (
	ActivityRetentionDaysDefault = 90
	HealthRetentionDaysDefault   = 30
	DeleteBatchSizeDefault       = store.DeleteBatchDefault
)

const (
	lockKeyPrefix   = "advisor-analytics/scheduler/"
	finishTimeout   = 30 * time.Second
	stopGrace       = 5 * time.Second
	shutdownTimeout = 10 * time.Second
	weeklyTopN      = 10
	// usageCatchUpHours is how many hours, the previous one included,
	// update_report_usage_stats looks back for hours to catch up.
	usageCatchUpHours = 24
	// dailyCatchUpDays is how many days, yesterday included,
	// calculate_daily_metrics looks back for days to catch up.
	dailyCatchUpDays = 7

	activityTypeUpload   = "upload_csv"
	activityTypeDownload = "download_report"
	activityTypeShare    = "share_report"
	activityTypeLogin    = "login"
)

// JobNames lists every job in the order Jobs reports them.
var JobNames = []string{
	JobDailyMetrics, JobPeriodicMetrics, JobUsageStats, JobCleanupActivities,
	JobCleanupHealth, JobWeeklyReport, JobSampleHealth,
}

// DefaultSchedules returns the default schedule of every job, by name.
func DefaultSchedules() map[string]string {
	return map[string]string{
		JobDailyMetrics:      DailyMetricsScheduleDefault,
		JobPeriodicMetrics:   PeriodicMetricsScheduleDefault,
		JobUsageStats:        UsageStatsScheduleDefault,
		JobCleanupActivities: CleanupActivitiesScheduleDefault,
		JobCleanupHealth:     CleanupHealthScheduleDefault,
		JobWeeklyReport:      WeeklyReportScheduleDefault,
		JobSampleHealth:      SampleHealthScheduleDefault,
	}
}

// Analytics is what the jobs need from the analytics service: refreshing
// its cache and taking a system-health sample. *analytics.Service
// implements it.
type Analytics interface {
	// RefreshCache recomputes the cached analytics (not only clears them).
	RefreshCache(ctx context.Context) error
	// HealthSample measures the system's health now.
	HealthSample(ctx context.Context) (*store.HealthSample, error)
}

// Config configures a Scheduler. The zero value is valid: every field
// defaults as documented.
type Config struct {
	// Location is the reporting time zone: schedules, day, week (Monday)
	// and month boundaries are computed in it. It must be a named zone
	// (time.LoadLocation), not a time.FixedZone. Defaults to UTC.
	Location *time.Location
	// Schedules overrides the schedule of jobs by name (see JobNames); a
	// job not listed keeps its default (see DefaultSchedules). Five-field
	// cron, six-field cron with seconds, or a descriptor ("@hourly",
	// "@every 10m"). A bad schedule or an unknown job name fails New.
	Schedules map[string]string
	// ActivityRetentionDays is how long activities are kept. Defaults to
	// ActivityRetentionDaysDefault (90).
	ActivityRetentionDays int
	// HealthRetentionDays is how long system-health samples are kept.
	// Defaults to HealthRetentionDaysDefault (30).
	HealthRetentionDays int
	// DeleteBatchSize bounds each delete transaction of the clean-up jobs.
	// Defaults to DeleteBatchSizeDefault (store.DeleteBatchDefault, 5000).
	DeleteBatchSize int
	// Analytics refreshes the cache and takes health samples. Nil skips
	// those parts of the jobs (with a logged note).
	Analytics Analytics
	// Sink receives the weekly report. Defaults to StoreSink(store).
	Sink WeeklySink
	// Locker runs each tick on one process of a cluster. Defaults to the
	// store when it implements store.Locker (PostgreSQL), else none: a
	// single-process store (SQLite) needs no lock. The job-run key guard
	// (store.JobRun.RunKey) applies in every case.
	Locker store.Locker
	// Instance names this process in job runs. Defaults to
	// "<hostname>:<pid>".
	Instance string
	// Logger receives job outcomes. Defaults to slog.Default().
	Logger *slog.Logger
	// Observe, when not nil, is called after every run this process
	// finishes (scheduled or on demand) with its final record: outcome
	// succeeded or failed, start and finish times. It is called on the
	// run's goroutine and must not block; metrics.Jobs.Observe fits.
	Observe func(run store.JobRun)
	// NowFunc returns the current time for the job computations, run
	// records and run keys. Defaults to time.Now. Schedules fire on the
	// real clock.
	NowFunc func() time.Time
}

// jobSpec is a job's static definition.
type jobSpec struct {
	name        string
	description string
	schedule    string
	withSeconds bool
	cron        gocron.Cron // parsed schedule, in the reporting time zone
	granularity time.Duration
	run         func(ctx context.Context, s *Scheduler, ref time.Time) (result, error)
}

// result is what a job reports for its run record.
type result struct {
	rows    int64
	message string
}

// resolve applies the defaults and validates the configuration.
func (c Config) resolve(st store.Store) (Config, error) {
	if c.Location == nil {
		c.Location = time.UTC
	}
	if _, err := time.LoadLocation(c.Location.String()); err != nil {
		return c, fmt.Errorf("scheduler: invalid Location %q: must be a named time zone (see time.LoadLocation)", c.Location)
	}
	if c.ActivityRetentionDays == 0 {
		c.ActivityRetentionDays = ActivityRetentionDaysDefault
	}
	if c.ActivityRetentionDays < 0 {
		return c, fmt.Errorf("scheduler: invalid ActivityRetentionDays %d: must be positive", c.ActivityRetentionDays)
	}
	if c.HealthRetentionDays == 0 {
		c.HealthRetentionDays = HealthRetentionDaysDefault
	}
	if c.HealthRetentionDays < 0 {
		return c, fmt.Errorf("scheduler: invalid HealthRetentionDays %d: must be positive", c.HealthRetentionDays)
	}
	if c.DeleteBatchSize == 0 {
		c.DeleteBatchSize = DeleteBatchSizeDefault
	}
	if c.DeleteBatchSize < 0 {
		return c, fmt.Errorf("scheduler: invalid DeleteBatchSize %d: must be positive", c.DeleteBatchSize)
	}
	for name := range c.Schedules {
		if !slices.Contains(JobNames, name) {
			return c, fmt.Errorf("scheduler: invalid Schedules: unknown job %q (known: %s)", name, strings.Join(JobNames, ", "))
		}
	}
	if c.Sink == nil {
		c.Sink = StoreSink(st)
	}
	if v, ok := c.Sink.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return c, fmt.Errorf("scheduler: invalid Sink: %w", err)
		}
	}
	if c.Locker == nil {
		if l, ok := st.(store.Locker); ok {
			c.Locker = l
		}
	}
	if c.Instance == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		c.Instance = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	return c, nil
}

// buildJobs parses every job's schedule in the reporting time zone.
func buildJobs(c Config) ([]*jobSpec, error) {
	defs := []jobSpec{
		{name: JobDailyMetrics, run: runDailyMetrics,
			description: "Finalises yesterday's daily dashboard snapshot and refreshes the cached analytics"},
		{name: JobPeriodicMetrics, run: runPeriodicMetrics,
			description: "Upserts the daily, weekly and monthly dashboard snapshots of the periods containing yesterday"},
		{name: JobUsageStats, run: runUsageStats,
			description: "Finalises the report usage statistics of the previous hour"},
		{name: JobCleanupActivities, run: runCleanupActivities,
			description: fmt.Sprintf("Deletes activities older than %d days", c.ActivityRetentionDays)},
		{name: JobCleanupHealth, run: runCleanupHealth,
			description: fmt.Sprintf("Deletes system-health samples older than %d days", c.HealthRetentionDays)},
		{name: JobWeeklyReport, run: runWeeklyReport,
			description: "Builds the previous week's summary and delivers it to the weekly sink"},
		{name: JobSampleHealth, run: runSampleHealth,
			description: "Records a system-health sample"},
	}
	defaults := DefaultSchedules()
	now := c.NowFunc()
	var errs []error
	out := make([]*jobSpec, 0, len(defs))
	for i := range defs {
		j := defs[i]
		j.schedule = defaults[j.name]
		if s, ok := c.Schedules[j.name]; ok {
			j.schedule = strings.TrimSpace(s)
		}
		fields := strings.Fields(stripTZ(j.schedule))
		j.withSeconds = len(fields) == 6
		j.granularity = time.Minute
		if j.withSeconds || strings.HasPrefix(j.schedule, "@every") {
			j.granularity = time.Second
		}
		j.cron = gocron.NewDefaultCron(j.withSeconds)
		if err := j.cron.IsValid(j.schedule, c.Location, now); err != nil {
			errs = append(errs, fmt.Errorf("scheduler: invalid schedule %q for job %s: %w", j.schedule, j.name, err))
			continue
		}
		out = append(out, &j)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// stripTZ removes a leading TZ= or CRON_TZ= prefix from a cron schedule.
func stripTZ(s string) string {
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		if i := strings.IndexByte(s, ' '); i >= 0 {
			return strings.TrimSpace(s[i+1:])
		}
	}
	return s
}
