package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/metrics"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

const secretUser = "u-secret-7f3a"

var admin = analytics.Principal{ID: secretUser, Username: "root@example.com", Role: analytics.RoleAdmin}

func identify(r *http.Request) (analytics.Principal, error) {
	if r.Header.Get("Authorization") == "Bearer tok-admin" {
		return admin, nil
	}
	return analytics.Principal{}, analytics.ErrUnauthenticated
}

func openSQLite(t *testing.T) store.Store { return teststore.SQLite(t) }

func newService(t *testing.T, st store.Store) *analytics.Service { return newServiceB(t, st) }

func newServiceB(t testing.TB, st store.Store) *analytics.Service {
	t.Helper()
	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: identify, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	return svc
}

// sample is one gathered sample: its labels and value (the sample count
// for histograms).
type sample struct {
	labels map[string]string
	value  float64
}

func gather(t *testing.T, reg *prometheus.Registry) map[string][]sample {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string][]sample{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.value = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out[f.GetName()] = append(out[f.GetName()], s)
		}
	}
	return out
}

// value returns the sample of family name with exactly the given labels
// (pairs), or -1 when there is none.
func value(fams map[string][]sample, name string, labels ...string) float64 {
	for _, s := range fams[name] {
		if len(s.labels) != len(labels)/2 {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				ok = false
			}
		}
		if ok {
			return s.value
		}
	}
	return -1
}

func get(t *testing.T, url string, auth bool) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth {
		req.Header.Set("Authorization", "Bearer tok-admin")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// copying passes on a copy of the request, as a request log adding a
// context value does.
func copying(next http.Handler) http.Handler {
	type k struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), k{}, 1)))
	})
}

func TestHTTPMiddlewareRouteTemplates(t *testing.T) {
	svc := newService(t, openSQLite(t))
	mux := http.NewServeMux()
	mux.Handle("/api/v1/analytics/", svc.HandlerWithPrefix("/api/v1/analytics"))
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		_ = http.NewResponseController(w).Flush()
	})

	for _, tc := range []struct {
		name string
		wrap func(h *metrics.HTTP) http.Handler
	}{
		{"direct", func(h *metrics.HTTP) http.Handler { return h.Middleware(mux) }},
		{"through a copying handler", func(h *metrics.HTTP) http.Handler { return h.Middleware(copying(metrics.Route(mux))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := metrics.NewHTTP(metrics.HTTPConfig{})
			reg := prometheus.NewRegistry()
			reg.MustRegister(h)
			srv := httptest.NewServer(tc.wrap(h))
			defer srv.Close()
			srv.Config.ErrorLog = nil

			calls := []struct {
				path string
				auth bool
				want int
			}{
				{"/api/v1/analytics/metrics/", true, 200},
				{"/api/v1/analytics/metrics", true, 200},
				{"/api/v1/analytics/metrics/", false, 401},
				{"/api/v1/analytics/users/" + secretUser + "/activities/", true, 405},
				{"/api/v1/analytics/no-such-route/", true, 404},
				{"/users/" + secretUser, false, 204},
				{"/nowhere/" + secretUser, false, 404},
				{"/stream", false, 200},
			}
			for _, c := range calls {
				if got := get(t, srv.URL+c.path, c.auth); got != c.want {
					t.Fatalf("GET %s = %d, want %d", c.path, got, c.want)
				}
			}
			func() {
				defer func() { _ = recover() }()
				// No keep-alive: a client would retry the GET on a reused
				// connection the panic closed.
				c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
				resp, err := c.Get(srv.URL + "/boom")
				if err == nil {
					resp.Body.Close()
				}
			}()

			fams := gather(t, reg)
			want := map[[2]string]float64{
				{"/api/v1/analytics/metrics", "200"}:               2,
				{"/api/v1/analytics/metrics", "401"}:               1,
				{"/api/v1/analytics/users/{id}/activities", "405"}: 1,
				{metrics.UnmatchedRoute, "404"}:                    2,
				{"GET /users/{id}", "204"}:                         1,
				{"GET /stream", "200"}:                             1,
				{"GET /boom", "500"}:                               1,
			}
			got := map[[2]string]float64{}
			for _, s := range fams["analytics_http_requests_total"] {
				got[[2]string{s.labels["route"], s.labels["code"]}] = s.value
			}
			if len(got) != len(want) {
				t.Errorf("requests_total series = %v, want %v", got, want)
			}
			for k, v := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("unexpected series %v = %v", k, v)
				}
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("requests_total%v = %v, want %v", k, got[k], v)
				}
			}
			if n := value(fams, "analytics_http_request_duration_seconds", "route", "/api/v1/analytics/metrics"); n != 3 {
				t.Errorf("duration count of the metrics route = %v, want 3", n)
			}
			for name, ss := range fams {
				for _, s := range ss {
					for _, v := range s.labels {
						if strings.Contains(v, secretUser) || strings.Contains(v, "@") || strings.Contains(v, "tok-") {
							t.Errorf("%s has a label value holding a user id, e-mail or token: %q", name, v)
						}
					}
				}
			}
		})
	}
}

func TestServiceCollector(t *testing.T) {
	teststore.Each(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st)
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewServiceCollector(svc))
		srv := httptest.NewServer(svc.Handler())
		defer srv.Close()
		for range 3 {
			if code := get(t, srv.URL+"/categories/", true); code != 200 {
				t.Fatalf("categories = %d", code)
			}
		}
		for i := range 4 {
			if err := svc.Record(context.Background(), store.Activity{UserID: "u1", ActivityType: "login", Description: strings.Repeat("x", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = svc.Record(context.Background(), store.Activity{UserID: "u1", ActivityType: "login"}) // refused: closed

		fams := gather(t, reg)
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"analytics_cache_requests_total", []string{"result", "miss"}, 1},
			{"analytics_cache_requests_total", []string{"result", "hit"}, 2},
			{"analytics_recorder_events_total", []string{"result", "enqueued"}, 4},
			{"analytics_recorder_events_total", []string{"result", "written"}, 4},
			{"analytics_recorder_events_total", []string{"result", "failed"}, 0},
			{"analytics_recorder_events_total", []string{"result", "dropped_closed"}, 1},
			{"analytics_recorder_events_total", []string{"result", "dropped_queue_full"}, 0},
			{"analytics_recorder_queue_depth", nil, 0},
			{"analytics_recorder_retries_total", nil, 0},
		} {
			if got := value(fams, c.name, c.labels...); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
		if got := value(fams, "analytics_recorder_queue_capacity"); got <= 0 {
			t.Errorf("queue capacity = %v", got)
		}
		if got := value(fams, "analytics_db_connections", "state", "idle"); got < 0 {
			t.Errorf("no idle connections gauge")
		}
	})
}

func TestInstrumentStoreCountsFailures(t *testing.T) {
	teststore.Each(t, func(t *testing.T, inner store.Store) {
		ctx := context.Background()
		st, m := metrics.InstrumentStore(inner)
		reg := prometheus.NewRegistry()
		reg.MustRegister(m)

		_, isB := inner.(store.Broadcaster)
		_, isL := inner.(store.Locker)
		_, wB := st.(store.Broadcaster)
		_, wL := st.(store.Locker)
		if isB != wB || isL != wL {
			t.Fatalf("wrapper Broadcaster/Locker = %v/%v, store %v/%v", wB, wL, isB, isL)
		}
		if l, ok := st.(store.Locker); ok {
			unlock, ok, err := l.TryLock(ctx, "metrics-test")
			if err != nil || !ok {
				t.Fatalf("TryLock through the wrapper: %v %v", ok, err)
			}
			if err := unlock(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// Answers are not failures.
		if _, err := st.ClientGet(ctx, "99999999-0000-4000-8000-000000000009"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ClientGet unknown: %v", err)
		}
		if err := st.ClientUpsert(ctx, &store.Client{}); err == nil {
			t.Fatal("invalid client accepted")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := st.ReportRecent(cctx, "", 5); err == nil {
			t.Fatal("a cancelled call succeeded")
		}
		stop := errors.New("stop")
		if err := st.ActivityInsertMany(ctx, []store.Activity{{UserID: "u", ActivityType: "login", CreatedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		if err := st.ActivityIterate(ctx, store.ActivityFilter{}, func(*store.Activity) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("iterate: %v", err)
		}
		if err := st.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		fams := gather(t, reg)
		var nonzero []string
		for _, s := range fams["analytics_store_errors_total"] {
			if s.value != 0 {
				nonzero = append(nonzero, s.labels["op"])
			}
		}
		if len(nonzero) > 0 {
			t.Fatalf("errors counted for answers: %v", nonzero)
		}
		if n := len(fams["analytics_store_errors_total"]); n < 30 {
			t.Errorf("%d operations initialised, want every store operation", n)
		}

		// A closed database fails.
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Ping(ctx); err == nil {
			t.Fatal("ping of a closed store succeeded")
		}
		if _, err := st.ReportRecent(ctx, "", 5); err == nil {
			t.Fatal("read of a closed store succeeded")
		}
		fams = gather(t, reg)
		got := map[string]float64{}
		for _, s := range fams["analytics_store_errors_total"] {
			if s.value != 0 {
				got[s.labels["op"]] = s.value
			}
		}
		if len(got) != 2 || got["Ping"] != 1 || got["ReportRecent"] != 1 {
			t.Errorf("store errors = %v, want Ping and ReportRecent once each", got)
		}
	})
}

// TestInstrumentStoreCountsDeadlines counts a call whose deadline passed
// (a slow database), unlike one its caller cancelled.
func TestInstrumentStoreCountsDeadlines(t *testing.T) {
	teststore.Each(t, func(t *testing.T, inner store.Store) {
		st, m := metrics.InstrumentStore(inner)
		reg := prometheus.NewRegistry()
		reg.MustRegister(m)
		dctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		if _, err := st.ReportRecent(dctx, "", 5); err == nil {
			t.Fatal("a call past its deadline succeeded")
		}
		if got := value(gather(t, reg), "analytics_store_errors_total", "op", "ReportRecent"); got != 1 {
			t.Errorf("ReportRecent errors = %v, want 1", got)
		}
	})
}

func TestJobsObserveScheduledAndManualRuns(t *testing.T) {
	teststore.Each(t, func(t *testing.T, st store.Store) {
		jobs := metrics.NewJobs(metrics.JobsConfig{})
		reg := prometheus.NewRegistry()
		reg.MustRegister(jobs)
		svc := newService(t, st)
		sc, err := scheduler.New(st, scheduler.Config{Analytics: svc, Observe: jobs.Observe,
			Schedules: map[string]string{scheduler.JobSampleHealth: "@every 1s"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.RunNow(context.Background(), scheduler.JobCleanupHealth); err != nil {
			t.Fatal(err)
		}
		if err := sc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for value(gather(t, reg), "analytics_job_runs_total", "job", scheduler.JobSampleHealth, "status", "succeeded") < 1 {
			if time.Now().After(deadline) {
				t.Fatal("no scheduled run observed within 10s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := sc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		fams := gather(t, reg)
		if got := value(fams, "analytics_job_runs_total", "job", scheduler.JobCleanupHealth, "status", "succeeded"); got != 1 {
			t.Errorf("cleanup runs = %v, want 1", got)
		}
		if got := value(fams, "analytics_job_duration_seconds", "job", scheduler.JobCleanupHealth); got != 1 {
			t.Errorf("cleanup duration count = %v, want 1", got)
		}
		var jobsSeen []string
		for _, s := range fams["analytics_job_runs_total"] {
			if s.labels["status"] == "failed" {
				if s.value != 0 {
					t.Errorf("%s failed %v times", s.labels["job"], s.value)
				}
				jobsSeen = append(jobsSeen, s.labels["job"])
			}
		}
		sort.Strings(jobsSeen)
		want := append([]string(nil), scheduler.JobNames...)
		sort.Strings(want)
		if strings.Join(jobsSeen, ",") != strings.Join(want, ",") {
			t.Errorf("failed series for %v, want every job %v", jobsSeen, want)
		}
	})
}
