package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/alert"
)

// alertFlags are the settings of the operational alerts.
type alertFlags struct {
	alertWebhook string
}

func (f *alertFlags) register(fs *flagSet) {
	fs.stringVarEnv(&f.alertWebhook, "alert-webhook", "", "incoming webhook URL (Slack or Teams) posted to when a job fails, activity events are dropped or given up, or health turns degraded; at most one alert of a kind per 15 minutes (prefer the environment variable: the URL is a secret)", "ANALYTICS_ALERT_WEBHOOK")
}

func (f *alertFlags) validate(fs *flagSet) error {
	if f.alertWebhook == "" {
		return nil
	}
	// New checks the URL; the webhook is closed again at once.
	w, err := alert.New(alert.Config{URL: f.alertWebhook})
	if err != nil {
		return fs.invalid("alert-webhook", "%v", err)
	}
	return w.Close(context.Background())
}

// alerter watches the running server and posts its alerts.
type alerter struct {
	hook   *alert.Webhook
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startAlerts starts the watcher when -alert-webhook is set; it returns
// nil otherwise.
func (s *server) startAlerts(ctx context.Context) (*alerter, error) {
	if s.sf.alertWebhook == "" {
		return nil, nil
	}
	hook, err := alert.New(alert.Config{URL: s.sf.alertWebhook, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("-alert-webhook: %w", err)
	}
	// The watcher reads the health figures as an admin would.
	watcherPrincipal := analytics.Principal{ID: "analyticsd-alerts", Username: "analyticsd-alerts", Role: analytics.RoleAdmin}
	w := alert.NewWatcher(alert.Sources{
		Recorder: s.svc.RecorderStats,
		Jobs:     s.sched.Jobs,
		Health: func(ctx context.Context) (string, []string, error) {
			h, err := s.svc.SystemHealth(ctx, watcherPrincipal)
			if err != nil {
				return "", nil, err
			}
			return h.Status, h.Reasons, nil
		},
	}, hook.Notify, nil)
	ctx, cancel := context.WithCancel(ctx)
	a := &alerter{hook: hook, cancel: cancel}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); w.Run(ctx, alert.DefaultPollInterval) }()
	s.log.Info("alerts enabled", "poll", alert.DefaultPollInterval, "interval", alert.DefaultInterval)
	return a, nil
}

// close stops the watcher and posts the alerts still queued, within ctx.
func (a *alerter) close(ctx context.Context) error {
	if a == nil {
		return nil
	}
	a.cancel()
	a.wg.Wait()
	if err := a.hook.Close(ctx); err != nil {
		return fmt.Errorf("close alerts: %w", err)
	}
	return nil
}
