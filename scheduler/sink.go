package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/webhook"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// WeeklySink receives the weekly report built by generate_weekly_report.
type WeeklySink interface {
	// Deliver hands over one week's report. An error fails the run, which
	// is retried at the job's next tick.
	Deliver(ctx context.Context, r *store.WeeklyReport) error
}

// WeeklyReportWriter stores weekly reports; every store.Store is one.
type WeeklyReportWriter interface {
	WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error
}

// StoreSink returns a sink that upserts the report into w (one row per
// week). It is the default sink.
func StoreSink(w WeeklyReportWriter) WeeklySink { return storeSink{w} }

type storeSink struct{ w WeeklyReportWriter }

func (s storeSink) Deliver(ctx context.Context, r *store.WeeklyReport) error {
	if err := s.w.WeeklyReportUpsert(ctx, r); err != nil {
		return fmt.Errorf("store sink: %w", err)
	}
	return nil
}

func (s storeSink) validate() error {
	if s.w == nil {
		return errors.New("store sink: no store")
	}
	return nil
}

// LogSink returns a sink that logs the report at info level on l (or
// slog.Default() when l is nil).
func LogSink(l *slog.Logger) WeeklySink { return logSink{l} }

type logSink struct{ l *slog.Logger }

func (s logSink) Deliver(ctx context.Context, r *store.WeeklyReport) error {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	l.InfoContext(ctx, "weekly report", "week_start", r.WeekStart, "summary", r.Summary)
	return nil
}

// MultiSink returns a sink that delivers to every sink in turn and joins
// their errors.
func MultiSink(sinks ...WeeklySink) WeeklySink { return multiSink(sinks) }

type multiSink []WeeklySink

func (m multiSink) Deliver(ctx context.Context, r *store.WeeklyReport) error {
	var errs []error
	for _, s := range m {
		if err := s.Deliver(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m multiSink) validate() error {
	for _, s := range m {
		if s == nil {
			return errors.New("multi sink: nil sink")
		}
		if v, ok := s.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Webhook defaults.
const (
	WebhookTimeoutDefault = 10 * time.Second
	WebhookRetriesDefault = 3
	WebhookBackoffDefault = time.Second
)

// WebhookSink POSTs the report as JSON to URL:
//
//	{"week_start":"2025-01-06","summary":{…},"created_at":"2025-01-13T09:00:00Z"}
//
// A network error, a 429 or a 5xx response is retried with exponential
// backoff; any other non-2xx response fails at once.
type WebhookSink struct {
	// URL is the http or https endpoint; required.
	URL string
	// Client sends the requests. Defaults to http.DefaultClient.
	Client *http.Client
	// Timeout bounds each attempt. Defaults to WebhookTimeoutDefault.
	Timeout time.Duration
	// Retries is the number of attempts after the first. Zero means
	// WebhookRetriesDefault; a negative value means no retry.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// following one. Defaults to WebhookBackoffDefault.
	Backoff time.Duration
	// Header is added to every request (for example Authorization).
	Header http.Header
}

// webhookBody is the JSON document a WebhookSink sends.
type webhookBody struct {
	WeekStart string         `json:"week_start"`
	Summary   map[string]any `json:"summary"`
	CreatedAt time.Time      `json:"created_at"`
}

func (w *WebhookSink) validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook sink: invalid URL %q: want an http or https URL", w.URL)
	}
	return nil
}

// Deliver implements WeeklySink.
func (w *WebhookSink) Deliver(ctx context.Context, r *store.WeeklyReport) error {
	if err := w.validate(); err != nil {
		return err
	}
	body, err := json.Marshal(webhookBody{WeekStart: r.WeekStart, Summary: r.Summary, CreatedAt: r.CreatedAt.UTC()})
	if err != nil {
		return fmt.Errorf("webhook sink: encode report %s: %w", r.WeekStart, err)
	}
	retries := w.Retries
	if retries == 0 {
		retries = WebhookRetriesDefault
	}
	if retries < 0 {
		retries = 0
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = WebhookBackoffDefault
	}
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook sink: deliver %s: %w (last error: %w)", r.WeekStart, ctx.Err(), lastErr)
			case <-t.C:
			}
			backoff *= 2
		}
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook sink: deliver %s: %w", r.WeekStart, lastErr)
}

// post makes one attempt and reports whether a failure is worth retrying.
func (w *WebhookSink) post(ctx context.Context, body []byte) (retry bool, err error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = WebhookTimeoutDefault
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return webhook.Post(actx, w.Client, w.URL, w.Header, body)
}
