// Package alert posts operational alerts of the reference server to an
// incoming webhook: a job failed, activity events were dropped or given
// up, health turned degraded.
//
// The body is JSON with a "text" field, which Slack and Microsoft Teams
// incoming webhooks both display, and an "alert" object for receivers that
// want the fields:
//
//	{"text": "analyticsd: job cleanup_old_activities failed: …",
//	 "alert": {"kind": "job_failed", "key": "job_failed:cleanup_old_activities",
//	           "message": "…", "time": "2026-03-01T12:00:00Z", "suppressed": 0}}
//
// Alerts are rate-limited per key: after one is sent, others with the same
// key within the interval are counted, not sent, and the next one sent
// says how many were suppressed. Posting happens in the background and
// never blocks the caller.
package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/webhook"
)

// Kinds of alerts.
const (
	KindJobFailed       = "job_failed"
	KindEventsDropped   = "events_dropped"
	KindEventsGivenUp   = "events_given_up"
	KindHealthDegraded  = "health_degraded"
	KindHealthRecovered = "health_recovered"
)

// Defaults of Config.
const (
	DefaultInterval  = 15 * time.Minute
	DefaultTimeout   = 10 * time.Second
	DefaultQueueSize = 64
)

// Alert is one alert.
type Alert struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Key groups alerts for rate limiting, e.g. "job_failed:<job>".
	// Defaults to Kind.
	Key string `json:"key"`
	// Message says what happened.
	Message string `json:"message"`
	// Time is when it was noticed. Defaults to the current time.
	Time time.Time `json:"time"`
	// Suppressed counts the alerts of the same key not sent since the
	// previous one (set by the Webhook).
	Suppressed int `json:"suppressed"`
}

// Config configures a Webhook.
type Config struct {
	// URL is the incoming webhook's URL (http or https). Required.
	URL string
	// Interval is the minimum time between two alerts of one key. Zero
	// means DefaultInterval.
	Interval time.Duration
	// Source prefixes the text, e.g. "analyticsd"; it names the sender in
	// a shared channel. Defaults to "analyticsd".
	Source string
	// Client posts the alerts. Defaults to a client with DefaultTimeout.
	Client *http.Client
	// QueueSize bounds the alerts waiting to be posted; further ones are
	// dropped and logged. Zero means DefaultQueueSize.
	QueueSize int
	// Logger receives delivery failures. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Webhook posts alerts to an incoming webhook. Create it with New and
// Close it when done.
type Webhook struct {
	cfg   Config
	queue chan Alert
	done  chan struct{}

	mu         sync.Mutex
	lastSent   map[string]time.Time
	suppressed map[string]int
	closed     bool
	stats      Stats
}

// Stats counts what a Webhook did.
type Stats struct {
	Sent       int64 // posted and answered 2xx
	Suppressed int64 // held back by the rate limit
	Failed     int64 // posted and refused, or not delivered
	Dropped    int64 // refused because the queue was full or it was closed
}

// New validates cfg and starts the Webhook's sender.
func New(cfg Config) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("alert: webhook url: %q is not an http(s) URL", redact(cfg.URL))
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("alert: interval: must not be negative, got %v", cfg.Interval)
	}
	if cfg.Source == "" {
		cfg.Source = "analyticsd"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Webhook{cfg: cfg, queue: make(chan Alert, cfg.QueueSize), done: make(chan struct{}),
		lastSent: map[string]time.Time{}, suppressed: map[string]int{}}
	go w.send()
	return w, nil
}

// Notify queues a for posting unless the rate limit holds it back. It
// never blocks; it reports whether a was queued.
func (w *Webhook) Notify(a Alert) bool {
	if a.Key == "" {
		a.Key = a.Kind
	}
	now := w.cfg.Now()
	if a.Time.IsZero() {
		a.Time = now
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.stats.Dropped++
		return false
	}
	if last, ok := w.lastSent[a.Key]; ok && now.Sub(last) < w.cfg.Interval {
		w.suppressed[a.Key]++
		w.stats.Suppressed++
		return false
	}
	a.Suppressed = w.suppressed[a.Key]
	select {
	case w.queue <- a:
		w.lastSent[a.Key] = now
		delete(w.suppressed, a.Key)
		return true
	default:
		w.stats.Dropped++
		w.cfg.Logger.Warn("alert dropped: the webhook queue is full", "kind", a.Kind, "message", a.Message)
		return false
	}
}

// Stats returns the Webhook's counters.
func (w *Webhook) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close stops accepting alerts and waits until the queued ones are posted
// or ctx ends.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alert: close: %w", ctx.Err())
	}
}

func (w *Webhook) send() {
	defer close(w.done)
	for a := range w.queue {
		err := w.post(a)
		w.mu.Lock()
		if err != nil {
			w.stats.Failed++
		} else {
			w.stats.Sent++
		}
		w.mu.Unlock()
		if err != nil {
			w.cfg.Logger.Error("alert not delivered", "kind", a.Kind, "message", a.Message, "err", err)
		}
	}
}

// body is the JSON posted for an alert.
type body struct {
	Text  string `json:"text"`
	Alert Alert  `json:"alert"`
}

// Text returns the text shown in the channel.
func (w *Webhook) text(a Alert) string {
	t := w.cfg.Source + ": " + a.Message
	if a.Suppressed > 0 {
		t += fmt.Sprintf(" (%d similar alerts suppressed since the last one)", a.Suppressed)
	}
	return t
}

// post sends one alert; a 429 or 5xx answer is retried once after a
// second.
func (w *Webhook) post(a Alert) error {
	b, err := json.Marshal(body{Text: w.text(a), Alert: a})
	if err != nil {
		return fmt.Errorf("alert: encode: %w", err)
	}
	var lastErr error
	for attempt := range 2 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		retry, err := w.postOnce(b)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return lastErr
}

func (w *Webhook) postOnce(b []byte) (retry bool, err error) {
	retry, err = webhook.Post(context.Background(), w.cfg.Client, w.cfg.URL, nil, b)
	if err != nil {
		return retry, fmt.Errorf("alert: %s: %w", redact(w.cfg.URL), err)
	}
	return false, nil
}

// redact returns the scheme and host of a webhook URL: its path and query
// are the secret.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid URL>"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
