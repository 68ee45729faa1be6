package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

var sampleWeek = &store.WeeklyReport{
	WeekStart: "2025-03-03",
	Summary:   map[string]any{"activities": map[string]any{"total": float64(8)}},
	CreatedAt: time.Date(2025, 3, 10, 13, 0, 0, 0, time.UTC),
}

// flakyServer answers the first failures requests with status, then 204.
type flakyServer struct {
	mu       sync.Mutex
	failures int
	status   int
	bodies   []string
	headers  []http.Header
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, string(b))
	f.headers = append(f.headers, r.Header.Clone())
	if len(f.bodies) <= f.failures {
		w.WriteHeader(f.status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestWebhookSink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		failures     int
		status       int
		retries      int
		wantAttempts int
		wantErr      string
	}{
		{"first try", 0, 0, 0, 1, ""},
		{"fails twice then succeeds", 2, http.StatusServiceUnavailable, 0, 3, ""},
		{"rate limited then succeeds", 1, http.StatusTooManyRequests, 0, 2, ""},
		{"retries exhausted", 10, http.StatusBadGateway, 2, 3, "502 Bad Gateway"},
		{"client error is not retried", 10, http.StatusBadRequest, 0, 1, "400 Bad Request"},
		{"no retry", 10, http.StatusInternalServerError, -1, 1, "500 Internal Server Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := &flakyServer{failures: tc.failures, status: tc.status}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			sink := &WebhookSink{URL: srv.URL, Client: srv.Client(), Retries: tc.retries, Backoff: time.Millisecond,
				Header: http.Header{"Authorization": {"Bearer s3cret"}}}
			err := sink.Deliver(context.Background(), sampleWeek)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Deliver error = %v, want one containing %q", err, tc.wantErr)
			}
			fs.mu.Lock()
			defer fs.mu.Unlock()
			if len(fs.bodies) != tc.wantAttempts {
				t.Fatalf("attempts = %d, want %d", len(fs.bodies), tc.wantAttempts)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(fs.bodies[len(fs.bodies)-1]), &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			want := map[string]any{
				"week_start": "2025-03-03",
				"summary":    map[string]any{"activities": map[string]any{"total": float64(8)}},
				"created_at": "2025-03-10T13:00:00Z",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			h := fs.headers[0]
			if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer s3cret" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

func TestWebhookSinkTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	sink := &WebhookSink{URL: srv.URL, Client: srv.Client(), Timeout: 20 * time.Millisecond, Retries: 1, Backoff: time.Millisecond}
	err := sink.Deliver(context.Background(), sampleWeek)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Deliver = %v, want a deadline error", err)
	}
}

func TestWebhookSinkValidation(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	for _, u := range []string{"", "ftp://example.com/x", "not a url", "http://"} {
		_, err := New(st, Config{Sink: &WebhookSink{URL: u}})
		if err == nil || !strings.Contains(err.Error(), "Sink") {
			t.Errorf("New with webhook URL %q = %v, want an error naming Sink", u, err)
		}
	}
}

func TestLogSink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	if err := LogSink(l).Deliver(context.Background(), sampleWeek); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if got["msg"] != "weekly report" || got["week_start"] != "2025-03-03" {
		t.Errorf("log record = %v", got)
	}
	if _, ok := got["summary"].(map[string]any); !ok {
		t.Errorf("log record has no summary object: %v", got)
	}
}

func TestStoreSinkUpserts(t *testing.T) {
	t.Parallel()
	st := teststore.SQLite(t)
	ctx := context.Background()
	sink := StoreSink(st)
	for _, total := range []float64{1, 2} {
		w := *sampleWeek
		w.Summary = map[string]any{"total": total}
		if err := sink.Deliver(ctx, &w); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.WeeklyReportList(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Summary["total"] != float64(2) {
		t.Errorf("stored = %+v, want one row with the latest summary", got)
	}
}
