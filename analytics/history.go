package analytics

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// snapshot is one stored dashboard snapshot of the metrics/history route.
type snapshot struct {
	Period                store.Period     `json:"period"`
	PeriodStart           string           `json:"period_start"`
	From                  Timestamp        `json:"from"`
	To                    Timestamp        `json:"to"`
	TotalReports          int64            `json:"total_reports"`
	ReportsCreated        int64            `json:"reports_created"`
	ReportsCompleted      int64            `json:"reports_completed"`
	ReportsFailed         int64            `json:"reports_failed"`
	ActiveUsers           int64            `json:"active_users"`
	NewClients            int64            `json:"new_clients"`
	TotalRecommendations  int64            `json:"total_recommendations"`
	TotalPotentialSavings Decimal          `json:"total_potential_savings"`
	Activities            int64            `json:"activities"`
	Logins                int64            `json:"logins"`
	Uploads               int64            `json:"uploads"`
	Downloads             int64            `json:"downloads"`
	Shares                int64            `json:"shares"`
	AvgGenerationSeconds  Decimal          `json:"avg_generation_seconds"`
	SuccessRate           Decimal          `json:"success_rate"`
	CategoryCounts        map[string]int64 `json:"category_counts"`
	ReportTypeCounts      map[string]int64 `json:"report_type_counts"`
	ComputedAt            Timestamp        `json:"computed_at"`
}

// MetricsHistory is the body of the metrics/history route.
type MetricsHistory struct {
	Period    store.Period  `json:"period"`
	DateRange dateRangeEcho `json:"date_range"`
	Snapshots []snapshot    `json:"snapshots"`
}

// checkPeriod refuses a period other than "" (the default), daily, weekly
// and monthly.
func checkPeriod(period string) error {
	if period != "" && !store.Period(period).Valid() {
		return badParam("period", "Invalid period. Must be one of: daily, weekly, monthly")
	}
	return nil
}

// MetricsHistory returns the stored dashboard snapshots of one period
// ("" means daily) whose period starts within dr (local days), oldest
// first. Any authenticated principal.
func (s *Service) MetricsHistory(ctx context.Context, p Principal, period string, dr DateRange) (*MetricsHistory, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	if err := checkPeriod(period); err != nil {
		return nil, err
	}
	if period == "" {
		period = string(store.PeriodDaily)
	}
	per := store.Period(period)
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(s.loc).Format(time.DateOnly)
	}
	rows, err := s.st.MetricsSnapshotList(ctx, per, day(dr.From), day(dr.To))
	if err != nil {
		return nil, fmt.Errorf("list metrics snapshots: %w", err)
	}
	out := &MetricsHistory{Period: per, DateRange: dateRangeEcho{From: nullable(dr.FromText), To: nullable(dr.ToText)},
		Snapshots: make([]snapshot, 0, len(rows))}
	nz := func(m map[string]int64) map[string]int64 {
		if m == nil {
			return map[string]int64{}
		}
		return m
	}
	for _, r := range rows {
		out.Snapshots = append(out.Snapshots, snapshot{
			Period: r.Period, PeriodStart: r.PeriodStart, From: ts(r.From), To: ts(r.To),
			TotalReports: r.TotalReports, ReportsCreated: r.ReportsCreated, ReportsCompleted: r.ReportsCompleted,
			ReportsFailed: r.ReportsFailed, ActiveUsers: r.ActiveUsers, NewClients: r.NewClients,
			TotalRecommendations: r.TotalRecommendations, TotalPotentialSavings: round(r.TotalPotentialSavings, 2),
			Activities: r.Activities, Logins: r.Logins, Uploads: r.Uploads, Downloads: r.Downloads, Shares: r.Shares,
			AvgGenerationSeconds: round(r.AvgGenerationSeconds, 2), SuccessRate: round(r.SuccessRate, 1),
			CategoryCounts: nz(r.CategoryCounts), ReportTypeCounts: nz(r.ReportTypeCounts), ComputedAt: ts(r.ComputedAt),
		})
	}
	return out, nil
}

// JobLister lists the background jobs; *scheduler.Scheduler implements
// it.
type JobLister interface {
	Jobs(ctx context.Context) ([]scheduler.JobInfo, error)
}

// SetJobs makes the jobs route list j's jobs, typically a
// *scheduler.Scheduler created with this Service as its
// scheduler.Config.Analytics. Until it is called (or with nil) the route
// lists the latest recorded run of each job, without schedules. When j is
// also has StartRun(ctx, name) (*store.JobRun, error) (the Scheduler has), the jobs/{name}/run route and
// RunJob start its jobs on demand.
func (s *Service) SetJobs(j JobLister) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = j
}

// jobRunInfoDoc is the last run of a job on the jobs route.
type jobRunInfoDoc struct {
	StartedAt    Timestamp  `json:"started_at"`
	FinishedAt   *Timestamp `json:"finished_at"`
	DurationMS   int64      `json:"duration_ms"`
	Outcome      string     `json:"outcome"`
	Error        string     `json:"error"`
	RowsAffected int64      `json:"rows_affected"`
	Message      string     `json:"message"`
	Instance     string     `json:"instance"`
}

// jobInfoDoc is one job of the jobs route.
type jobInfoDoc struct {
	Name        string         `json:"name"`
	Schedule    string         `json:"schedule"`
	Description string         `json:"description"`
	NextRun     *Timestamp     `json:"next_run"`
	LastRun     *jobRunInfoDoc `json:"last_run"`
}

// jobsDoc is the body of the jobs route.
type jobsDoc struct {
	Jobs []jobInfoDoc `json:"jobs"`
}

// Jobs lists the background jobs with their schedule, last run and next
// run. Without SetJobs it lists the latest recorded run of each job
// that has run (without schedule and next run). Admin only.
func (s *Service) Jobs(ctx context.Context, p Principal) ([]scheduler.JobInfo, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	s.mu.Lock()
	j := s.jobs
	s.mu.Unlock()
	if j != nil {
		list, err := j.Jobs(ctx)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		return list, nil
	}
	runs, err := s.st.JobRunLatest(ctx)
	if err != nil {
		return nil, fmt.Errorf("latest job runs: %w", err)
	}
	list := make([]scheduler.JobInfo, 0, len(runs))
	for i := range runs {
		list = append(list, scheduler.JobInfo{Name: runs[i].Job, LastRun: &runs[i]})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

// jobsBody is the jobs route's JSON body for list.
func jobsBody(list []scheduler.JobInfo) jobsDoc {
	out := jobsDoc{Jobs: make([]jobInfoDoc, 0, len(list))}
	for _, j := range list {
		ji := jobInfoDoc{Name: j.Name, Schedule: j.Schedule, Description: j.Description}
		if !j.NextRun.IsZero() {
			n := ts(j.NextRun)
			ji.NextRun = &n
		}
		if r := j.LastRun; r != nil {
			ji.LastRun = &jobRunInfoDoc{StartedAt: ts(r.StartedAt), FinishedAt: tsPtr(r.FinishedAt), DurationMS: r.Duration().Milliseconds(),
				Outcome: string(r.Outcome), Error: r.Error, RowsAffected: r.RowsAffected, Message: r.Message, Instance: r.Instance}
		}
		out.Jobs = append(out.Jobs, ji)
	}
	return out
}
