package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// JobsConfig configures NewJobs; the zero value is the default.
type JobsConfig struct {
	// Buckets are the job duration histogram's upper bounds in seconds.
	// Defaults to JobBucketsDefault.
	Buckets []float64
	// Jobs are the job names whose counters start at zero (so that rate
	// and increase work from the first run). Defaults to
	// scheduler.JobNames.
	Jobs []string
}

// Jobs counts finished job runs by job and status (succeeded or failed)
// and observes their duration. It is a prometheus.Collector; give its
// Observe method to scheduler.Config.Observe.
type Jobs struct {
	countsAndDurations
}

// NewJobs returns the job collectors.
func NewJobs(cfg JobsConfig) *Jobs {
	if len(cfg.Buckets) == 0 {
		cfg.Buckets = JobBucketsDefault
	}
	if cfg.Jobs == nil {
		cfg.Jobs = scheduler.JobNames
	}
	j := &Jobs{countsAndDurations{
		counts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("job_runs_total"),
			Help: "Finished background job runs of this process, by job and status (succeeded or failed)."}, []string{"job", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("job_duration_seconds"),
			Help: "Duration of finished background job runs, by job.", Buckets: cfg.Buckets}, []string{"job"}),
	}}
	for _, n := range cfg.Jobs {
		j.counts.WithLabelValues(n, string(store.JobSucceeded))
		j.counts.WithLabelValues(n, string(store.JobFailed))
	}
	return j
}

// Observe records a finished run.
func (j *Jobs) Observe(run store.JobRun) {
	j.counts.WithLabelValues(run.Job, string(run.Outcome)).Inc()
	j.durations.WithLabelValues(run.Job).Observe(run.Duration().Seconds())
}
