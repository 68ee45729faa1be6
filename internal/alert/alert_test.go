package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a local incoming webhook that records what it is sent.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	bodies []map[string]any
	types  []string
	// answer returns the status of the n-th request (from 0).
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b map[string]any
		if err := json.NewDecoder(req.Body).Decode(&b); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		n := len(r.bodies)
		r.bodies = append(r.bodies, b)
		r.types = append(r.types, req.Method+" "+req.Header.Get("Content-Type"))
		r.mu.Unlock()
		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func closeWebhook(t *testing.T, w *Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookPostsSlackAndTeamsText(t *testing.T) {
	rcv := newReceiver(t, nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w, err := New(Config{URL: rcv.srv.URL + "/services/T000/B000/secret", Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Notify(Alert{Kind: KindJobFailed, Key: "job_failed:cleanup_old_activities", Message: "job cleanup_old_activities failed: database is locked"}) {
		t.Fatal("Notify refused the first alert")
	}
	closeWebhook(t, w)
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("received %d posts, want 1", len(got))
	}
	if rcv.types[0] != "POST application/json" {
		t.Errorf("request %q", rcv.types[0])
	}
	if got[0]["text"] != "analyticsd: job cleanup_old_activities failed: database is locked" {
		t.Errorf("text = %q", got[0]["text"])
	}
	a, _ := got[0]["alert"].(map[string]any)
	if a["kind"] != KindJobFailed || a["key"] != "job_failed:cleanup_old_activities" || a["time"] != "2026-03-01T12:00:00Z" || a["suppressed"] != 0.0 {
		t.Errorf("alert = %v", a)
	}
	if s := w.Stats(); s != (Stats{Sent: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestWebhookRateLimit(t *testing.T) {
	rcv := newReceiver(t, nil)
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	w, err := New(Config{URL: rcv.srv.URL, Interval: 10 * time.Minute, Now: c.now, Source: "analytics-eu"})
	if err != nil {
		t.Fatal(err)
	}
	dropped := Alert{Kind: KindEventsDropped, Message: "5 activity events dropped"}
	if !w.Notify(dropped) {
		t.Fatal("first alert refused")
	}
	c.add(time.Minute)
	for range 3 {
		if w.Notify(dropped) {
			t.Error("an alert of the same key within the interval was queued")
		}
	}
	if !w.Notify(Alert{Kind: KindHealthDegraded, Key: "health", Message: "health is degraded"}) {
		t.Error("an alert of another key was held back")
	}
	c.add(10 * time.Minute)
	if !w.Notify(dropped) {
		t.Error("an alert after the interval was held back")
	}
	closeWebhook(t, w)
	var texts []string
	for _, b := range rcv.received() {
		texts = append(texts, b["text"].(string))
	}
	want := []string{
		"analytics-eu: 5 activity events dropped",
		"analytics-eu: health is degraded",
		"analytics-eu: 5 activity events dropped (3 similar alerts suppressed since the last one)",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("texts:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if s := w.Stats(); s != (Stats{Sent: 3, Suppressed: 3}) {
		t.Errorf("stats %+v", s)
	}
}

func TestWebhookRetriesOnceOnServerError(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w, err := New(Config{URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(Alert{Kind: KindHealthDegraded, Message: "health is degraded"})
	closeWebhook(t, w)
	if n := len(rcv.received()); n != 2 {
		t.Errorf("received %d posts, want 2 (one retry)", n)
	}
	if s := w.Stats(); s != (Stats{Sent: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestWebhookFailureIsLoggedWithoutTheSecret(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusNotFound })
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil))
	w, err := New(Config{URL: rcv.srv.URL + "/hook/very-secret-path", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(Alert{Kind: KindJobFailed, Message: "job x failed"})
	closeWebhook(t, w)
	if n := len(rcv.received()); n != 1 {
		t.Errorf("received %d posts, want 1 (a 404 is not retried)", n)
	}
	if s := w.Stats(); s != (Stats{Failed: 1}) {
		t.Errorf("stats %+v", s)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "alert not delivered") || !strings.Contains(out, "404 Not Found") {
		t.Errorf("the failure is not logged:\n%s", out)
	}
	if strings.Contains(out, "very-secret-path") {
		t.Errorf("the log holds the webhook's secret path:\n%s", out)
	}

	// An unreachable receiver: the error names the host only.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	w2, err := New(Config{URL: deadURL + "/hook/very-secret-path", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w2.Notify(Alert{Kind: KindJobFailed, Message: "job y failed"})
	closeWebhook(t, w2)
	mu.Lock()
	out = logs.String()
	mu.Unlock()
	if strings.Contains(out, "very-secret-path") || !strings.Contains(out, "job y failed") {
		t.Errorf("log:\n%s", out)
	}
	if s := w2.Stats(); s != (Stats{Failed: 1}) {
		t.Errorf("stats %+v", s)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestWebhookQueueBoundAndClose(t *testing.T) {
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(rcv.Close)
	w, err := New(Config{URL: rcv.URL, QueueSize: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for i := range 10 {
		if w.Notify(Alert{Kind: KindJobFailed, Key: string(rune('a' + i)), Message: "job failed"}) {
			queued++
		}
	}
	// One in flight, two queued, at most one more taken before the sender
	// blocks: the rest are dropped, never blocking Notify.
	if queued < 2 || queued > 3 {
		t.Errorf("queued %d of 10, want 2 or 3", queued)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if err := w.Close(ctx); err == nil {
		t.Error("Close returned before the queued alerts were posted")
	}
	cancel()
	close(release)
	closeWebhook(t, w)
	if w.Notify(Alert{Kind: KindJobFailed, Key: "late", Message: "late"}) {
		t.Error("Notify after Close queued an alert")
	}
	s := w.Stats()
	if s.Sent != int64(queued) || s.Dropped != int64(10-queued)+1 {
		t.Errorf("stats %+v with %d queued", s, queued)
	}
}

func TestNewErrors(t *testing.T) {
	for _, u := range []string{"", "hooks.slack.com/services/x", "ftp://example.com/x", "https://"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	if _, err := New(Config{URL: "https://example.com/x", Interval: -time.Second}); err == nil {
		t.Error("a negative interval was accepted")
	}
}
