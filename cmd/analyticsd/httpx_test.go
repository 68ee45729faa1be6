package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

func TestRequestLog(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var seenID string
	var readErr error
	h := withRequestLog(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenID = requestIDFrom(r.Context())
		_, readErr = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	}))

	// The request id is always the server's own, so that no caller can
	// reuse another request's id in the logs; a sane X-Request-ID of the
	// caller is kept beside it: logged as client_request_id and echoed in
	// X-Client-Request-ID.
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"caller's id kept beside the server's", "abc-123_XYZ", true},
		{"missing id", "", false},
		{"id with spaces dropped", "two words", false},
		{"id with a quote dropped", `x"y`, false},
		{"overlong id dropped", strings.Repeat("a", 65), false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest("POST", "/api/v1/analytics/activities/", strings.NewReader("{}"))
			if tt.sent != "" {
				req.Header.Set(requestIDHeader, tt.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(requestIDHeader)
			if got == tt.sent || !validRequestID(got) || seen[got] {
				t.Errorf("response id %q for sent %q: want a new server id", got, tt.sent)
			}
			seen[got] = true
			client := rec.Header().Get("X-Client-Request-ID")
			if tt.keep && client != tt.sent || !tt.keep && client != "" {
				t.Errorf("X-Client-Request-ID %q for sent %q", client, tt.sent)
			}
			if seenID != got || req.Header.Get(requestIDHeader) != got {
				t.Errorf("handler saw id %q (header %q), response has %q", seenID, req.Header.Get(requestIDHeader), got)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", logs.String(), err)
			}
			if line["request_id"] != got || line["status"] != float64(http.StatusTeapot) || line["bytes"] != float64(15) ||
				line["path"] != "/api/v1/analytics/activities/" || line["method"] != "POST" {
				t.Errorf("log line %v", line)
			}
			if cid, ok := line["client_request_id"]; tt.keep && cid != tt.sent || !tt.keep && ok {
				t.Errorf("client_request_id %v for sent %q", cid, tt.sent)
			}
		})
	}

	// Bodies over the hard cap are cut off.
	big := io.MultiReader(strings.NewReader("{"), io.LimitReader(zeros{}, maxBodyBytes+1))
	req := httptest.NewRequest("POST", "/x", big)
	h.ServeHTTP(httptest.NewRecorder(), req)
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) {
		t.Errorf("reading an oversized body: err = %v, want *http.MaxBytesError", readErr)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHealthAndReadiness(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tokens atomic.Pointer[tokenauth.Set]
	tokens.Store(&tokenauth.Set{})
	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: identify(&tokens)})
	if err != nil {
		t.Fatal(err)
	}
	sf := &serveFlags{}
	sf.logger = slog.New(slog.DiscardHandler)
	var stopping atomic.Bool
	srv := httptest.NewServer(routes(sf, svc, st, &stopping, nil))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	type answer struct {
		Code int
		Body string
	}
	check := func(path string, want answer) {
		t.Helper()
		code, body := get(path)
		if diff := cmp.Diff(want, answer{code, body}); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
	check("/healthz", answer{200, `{"status":"ok"}`})
	check("/readyz", answer{200, `{"status":"ready"}`})
	check("/elsewhere", answer{404, `{"error":"not found","message":"No route /elsewhere; the API is under /api/v1/analytics/"}`})
	if code, _ := get("/api/v1/analytics/metrics/"); code != http.StatusUnauthorized {
		t.Errorf("metrics without a token = %d, want 401", code)
	}
	if code, _ := get("/api/v1/analytics/openapi.json"); code != http.StatusOK {
		t.Errorf("openapi.json = %d, want 200", code)
	}

	stopping.Store(true)
	check("/readyz", answer{503, `{"status":"stopping"}`})
	stopping.Store(false)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	check("/readyz", answer{503, `{"error":"database unreachable","status":"unavailable"}`})
	check("/healthz", answer{200, `{"status":"ok"}`})
}

func TestRequestLogFeedsSystemHealthFigures(t *testing.T) {
	var stats tracking.HTTPStats
	fail := false
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := withRequestLog(log, &stats, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok")) // implicit 200
	}))
	for i := 0; i < 4; i++ {
		fail = i == 3
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/analytics/metrics/", nil))
	}
	// Outside the API: logged, not counted.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	got := stats.Snapshot(time.Now())
	if got.Requests != 4 || got.ErrorRatePercent != 25 {
		t.Errorf("Snapshot = %+v, want 4 requests and a 25%% error rate", got)
	}
}
