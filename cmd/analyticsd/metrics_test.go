package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// adminTokens writes a tokens file with one admin token.
func adminTokens(t *testing.T) (file, token string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "tokens.json")
	token = tokenauth.NewToken()
	if err := tokenauth.WriteFile(file, []tokenauth.Entry{{Token: token, ID: store.NewID(), Username: "root", Email: "root@example.com", Role: "admin"}}); err != nil {
		t.Fatal(err)
	}
	return file, token
}

func TestMetricsOnTheMainListener(t *testing.T) {
	for _, db := range testDatabases {
		t.Run(db.name, func(t *testing.T) {
			tokens, admin := adminTokens(t)
			base, _, stderr, stop := startServer(t, map[string]string{"ANALYTICS_DATABASE_URL": db.dsn(t), "ANALYTICS_TOKENS_FILE": tokens},
				"-addr", "127.0.0.1:0", "-log-level", "info")
			// The server computes the dashboard's four cached parts once at
			// start (four misses); the categories below are one of them.
			waitFor(t, "the cache was not warmed", stderr, func() bool { return strings.Contains(stderr.String(), `msg="cache warmed"`) })
			for range 2 {
				if code, body := request(t, "GET", base+apiPrefix+"categories/", admin, nil); code != 200 {
					t.Fatalf("categories = %d %s", code, body)
				}
			}
			if code, _ := request(t, "GET", base+apiPrefix+"categories/", "wrong-token", nil); code != 401 {
				t.Fatalf("bad token = %d", code)
			}
			if code, _ := request(t, "GET", base+"/readyz", "", nil); code != 200 {
				t.Fatalf("/readyz = %d", code)
			}
			// A job run on demand goes through the server's scheduler and
			// is counted when it finishes.
			if code, body := request(t, "POST", base+apiPrefix+"jobs/sample_system_health/run/", admin, nil); code != http.StatusAccepted {
				t.Fatalf("job run = %d %s", code, body)
			}
			jobDone := `analytics_job_runs_total{job="sample_system_health",status="succeeded"} 1`
			waitFor(t, fmt.Sprintf("/metrics lacks %q after the run", jobDone), nil, func() bool {
				_, body := request(t, "GET", base+"/metrics", "", nil)
				return strings.Contains(string(body), jobDone)
			})
			code, body := request(t, "GET", base+"/metrics", "", nil)
			if code != 200 {
				t.Fatalf("/metrics = %d %s", code, body)
			}
			text := string(body)
			for _, want := range []string{
				`analytics_http_requests_total{code="200",route="/api/v1/analytics/categories"} 2`,
				`analytics_http_requests_total{code="401",route="/api/v1/analytics/categories"} 1`,
				`analytics_http_requests_total{code="200",route="/readyz"} 1`,
				`analytics_http_request_duration_seconds_bucket{route="/api/v1/analytics/categories",le="+Inf"} 3`,
				`analytics_cache_requests_total{result="hit"} 2`,
				`analytics_cache_requests_total{result="miss"} 4`,
				`analytics_recorder_events_total{result="written"}`,
				`analytics_recorder_queue_depth 0`,
				`analytics_recorder_events_total{result="replayed"} 0`,
				`analytics_spool_held_events 0`,
				`analytics_job_runs_total{job="sample_system_health",status="failed"} 0`,
				`analytics_job_duration_seconds_count{job="sample_system_health"} 1`,
				`analytics_http_requests_total{code="202",route="/api/v1/analytics/jobs/{name}/run"} 1`,
				`analytics_store_errors_total{op="Ping"} 0`,
				`go_goroutines `,
				`process_cpu_seconds_total `,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			for _, leak := range []string{admin, "root@example.com", "wrong-token"} {
				if strings.Contains(text, leak) {
					t.Errorf("/metrics holds %q", leak)
				}
			}
			if got := stop(); got != 0 {
				t.Fatalf("exit status %d", got)
			}
		})
	}
}

func TestMetricsOffAndOnTheirOwnAddress(t *testing.T) {
	tokens, _ := adminTokens(t)
	base, _, _, _ := startServer(t, map[string]string{"ANALYTICS_TOKENS_FILE": tokens, "ANALYTICS_METRICS": "false"},
		"-addr", "127.0.0.1:0", "-database", testdb.SQLitePath(t), "-log-level", "warn")
	if code, _ := request(t, "GET", base+"/metrics", "", nil); code != 404 {
		t.Errorf("/metrics with ANALYTICS_METRICS=false = %d, want 404", code)
	}

	base, stdout, _, stop := startServer(t, map[string]string{"ANALYTICS_TOKENS_FILE": tokens, "ANALYTICS_METRICS_ADDR": "127.0.0.1:0"},
		"-addr", "127.0.0.1:0", "-database", testdb.SQLitePath(t), "-log-level", "warn")
	m := regexp.MustCompile(`Prometheus metrics at (http://127\.0\.0\.1:\d+/metrics)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no metrics address printed:\n%s", stdout.String())
	}
	if code, _ := request(t, "GET", base+"/metrics", "", nil); code != 404 {
		t.Errorf("/metrics on the main listener with -metrics-addr = %d, want 404", code)
	}
	if code, _ := request(t, "GET", base+"/healthz", "", nil); code != 200 {
		t.Fatal("healthz")
	}
	code, body := request(t, "GET", m[1], "", nil)
	if code != 200 || !strings.Contains(string(body), `analytics_http_requests_total{code="200",route="/healthz"} 1`) {
		t.Errorf("metrics listener = %d:\n%s", code, body)
	}
	if got := stop(); got != 0 {
		t.Fatalf("exit status %d", got)
	}
}

func TestMetricsFlagValidation(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-metrics-addr", "nope"}, `-metrics-addr: "nope" is not host:port`},
		{[]string{"-metrics=false", "-metrics-addr", ":9090"}, "-metrics-addr: is set but -metrics=false turns the metrics off"},
	} {
		code, _, stderr := runCmd(t, nil, c.args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
}
