package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/periodic"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// DefaultPollInterval is how often a Watcher looks by default.
const DefaultPollInterval = 30 * time.Second

// Sources are what a Watcher looks at; a nil source is not watched.
type Sources struct {
	// Recorder returns the activity recorder's counters.
	Recorder func() tracking.RecorderStats
	// Jobs returns the jobs with their latest run.
	Jobs func(context.Context) ([]scheduler.JobInfo, error)
	// Health returns the health status ("healthy" or "degraded") and the
	// reasons of a degraded status.
	Health func(context.Context) (status string, reasons []string, err error)
}

// Watcher turns changes of its sources into alerts: a job run that failed
// after the Watcher started, events dropped or given up since the previous
// look, and health turning degraded (and back).
type Watcher struct {
	src    Sources
	notify func(Alert) bool
	now    func() time.Time

	started  time.Time
	jobsSeen map[string]string // job → id of the last failed run alerted
	rec      tracking.RecorderStats
	degraded bool
}

// NewWatcher returns a Watcher that passes its alerts to notify (usually
// (*Webhook).Notify). now defaults to time.Now.
func NewWatcher(src Sources, notify func(Alert) bool, now func() time.Time) *Watcher {
	if now == nil {
		now = time.Now
	}
	w := &Watcher{src: src, notify: notify, now: now, started: now(), jobsSeen: map[string]string{}}
	if src.Recorder != nil {
		w.rec = src.Recorder()
	}
	return w
}

// Run looks every interval (DefaultPollInterval when zero or negative)
// until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	periodic.Run(ctx, interval, w.Check)
}

// Check looks at every source once and sends the alerts of what changed.
// A source that fails is skipped until the next look.
func (w *Watcher) Check(ctx context.Context) {
	w.checkRecorder()
	w.checkJobs(ctx)
	w.checkHealth(ctx)
}

func (w *Watcher) checkRecorder() {
	if w.src.Recorder == nil {
		return
	}
	cur := w.src.Recorder()
	prev := w.rec
	w.rec = cur
	if d := cur.Dropped.Total() - prev.Dropped.Total(); d > 0 {
		w.notify(Alert{Kind: KindEventsDropped, Message: fmt.Sprintf(
			"%d activity events dropped (queue full: %d, recorder closed: %d, timeout: %d); queue %d of %d",
			d, cur.Dropped.QueueFull-prev.Dropped.QueueFull, cur.Dropped.Closed-prev.Dropped.Closed,
			cur.Dropped.Timeout-prev.Dropped.Timeout, cur.QueueDepth, cur.QueueCapacity)})
	}
	d, q := cur.Failed-prev.Failed, cur.Quarantined-prev.Quarantined
	if d > 0 || q > 0 {
		var parts []string
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%d accepted activity events given up (refused by the store or unwritten at shutdown)", d))
		}
		if q > 0 {
			parts = append(parts, fmt.Sprintf("%d activity events quarantined to the dead-letter file (the store kept refusing them)", q))
		}
		msg := strings.Join(parts, "; ")
		if cur.LastError != "" {
			msg += "; last store error: " + cur.LastError
		}
		w.notify(Alert{Kind: KindEventsGivenUp, Message: msg})
	}
}

func (w *Watcher) checkJobs(ctx context.Context) {
	if w.src.Jobs == nil {
		return
	}
	jobs, err := w.src.Jobs(ctx)
	if err != nil {
		return
	}
	for _, j := range jobs {
		r := j.LastRun
		if r == nil || r.Outcome != store.JobFailed || r.FinishedAt == nil || r.FinishedAt.Before(w.started) {
			continue
		}
		if w.jobsSeen[j.Name] == r.ID {
			continue
		}
		w.jobsSeen[j.Name] = r.ID
		msg := "job " + j.Name + " failed"
		if r.Error != "" {
			msg += ": " + r.Error
		}
		if r.Instance != "" {
			msg += " (on " + r.Instance + ")"
		}
		w.notify(Alert{Kind: KindJobFailed, Key: KindJobFailed + ":" + j.Name, Message: msg, Time: *r.FinishedAt})
	}
}

func (w *Watcher) checkHealth(ctx context.Context) {
	if w.src.Health == nil {
		return
	}
	status, reasons, err := w.src.Health(ctx)
	if err != nil {
		return
	}
	degraded := status == "degraded"
	switch {
	case degraded && !w.degraded:
		msg := "health is degraded"
		if len(reasons) > 0 {
			msg += ": " + strings.Join(reasons, "; ")
		}
		w.notify(Alert{Kind: KindHealthDegraded, Key: "health", Message: msg})
	case !degraded && w.degraded:
		w.notify(Alert{Kind: KindHealthRecovered, Key: "health_recovered", Message: "health is " + status + " again"})
	}
	w.degraded = degraded
}
