package alert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// TestWatcherRecorder watches a real recorder over a real SQLite store and
// posts to a local receiver.
func TestWatcherRecorder(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec, err := tracking.NewRecorder(st, tracking.RecorderConfig{QueueSize: 2, BatchSize: 2, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	hook, err := New(Config{URL: rcv.srv.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(Sources{Recorder: rec.Stats}, hook.Notify, nil)

	// Not started: the queue of two fills and three events are dropped.
	act := store.Activity{UserID: store.NewID(), Username: "ada", ActivityType: "login", Description: "signed in"}
	for range 5 {
		rec.Enqueue(act)
	}
	w.Check(ctx)
	w.Check(ctx) // nothing new: no second alert
	// Started, an event the store refuses is given up.
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); rec.Stats().Written < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the queued events were not written: %+v", rec.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	bad := act
	bad.ActivityType = ""
	if !rec.Enqueue(bad) {
		t.Fatal("the invalid event was not accepted")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rec.Close(cctx); err != nil {
		t.Fatal(err)
	}
	w.Check(ctx)
	closeWebhook(t, hook)

	var texts []string
	for _, b := range rcv.received() {
		texts = append(texts, b["text"].(string))
	}
	if len(texts) != 2 {
		t.Fatalf("alerts:\n%s\nwant 2", strings.Join(texts, "\n"))
	}
	if want := "analyticsd: 3 activity events dropped (queue full: 3, recorder closed: 0, timeout: 0); queue 2 of 2"; texts[0] != want {
		t.Errorf("first alert %q, want %q", texts[0], want)
	}
	if !strings.HasPrefix(texts[1], "analyticsd: 1 accepted activity events given up") {
		t.Errorf("second alert %q", texts[1])
	}
}

func TestWatcherJobsAndHealth(t *testing.T) {
	rcv := newReceiver(t, nil)
	hook, err := New(Config{URL: rcv.srv.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	before, after := start.Add(-time.Hour), start.Add(time.Minute)
	var jobs []scheduler.JobInfo
	var jobsErr error
	status, reasons := "healthy", []string(nil)
	var healthErr error
	w := NewWatcher(Sources{
		Jobs:   func(context.Context) ([]scheduler.JobInfo, error) { return jobs, jobsErr },
		Health: func(context.Context) (string, []string, error) { return status, reasons, healthErr },
	}, hook.Notify, func() time.Time { return start })
	ctx := context.Background()

	jobs = []scheduler.JobInfo{
		{Name: "cleanup_old_activities", LastRun: &store.JobRun{ID: "r1", Outcome: store.JobFailed, FinishedAt: &before, Error: "old failure"}},
		{Name: "calculate_daily_metrics", LastRun: &store.JobRun{ID: "r2", Outcome: store.JobSucceeded, FinishedAt: &after}},
		{Name: "generate_weekly_report"},
	}
	w.Check(ctx) // a failure from before the start is not news
	jobs[0].LastRun = &store.JobRun{ID: "r3", Outcome: store.JobFailed, FinishedAt: &after, Error: "database is locked", Instance: "web-1"}
	w.Check(ctx)
	w.Check(ctx) // the same run again: no second alert
	status, reasons = "degraded", []string{"recorder queue above 80%", "error rate 12.5%"}
	w.Check(ctx)
	w.Check(ctx) // still degraded: no second alert
	jobsErr, healthErr = errors.New("store unavailable"), errors.New("store unavailable")
	w.Check(ctx) // failing sources are skipped
	jobsErr, healthErr = nil, nil
	status, reasons = "healthy", nil
	w.Check(ctx)
	closeWebhook(t, hook)

	var got []string
	for _, b := range rcv.received() {
		got = append(got, b["text"].(string))
	}
	want := []string{
		"analyticsd: job cleanup_old_activities failed: database is locked (on web-1)",
		"analyticsd: health is degraded: recorder queue above 80%; error rate 12.5%",
		"analyticsd: health is healthy again",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWatcherRunStopsWithContext(t *testing.T) {
	calls := make(chan struct{}, 10)
	w := NewWatcher(Sources{Health: func(context.Context) (string, []string, error) {
		calls <- struct{}{}
		return "healthy", nil, nil
	}}, func(Alert) bool { return true }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, 5*time.Millisecond); close(done) }()
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not look")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
