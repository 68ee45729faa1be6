package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
)

func TestAlertWebhookFlag(t *testing.T) {
	for name, tt := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"not a URL":     {nil, []string{"-alert-webhook", "hooks.slack.com/services/T0/B0/secret"}, `-alert-webhook: alert: webhook url: "<invalid URL>" is not an http(s) URL`},
		"wrong scheme":  {map[string]string{"ANALYTICS_ALERT_WEBHOOK": "ftp://hooks.example.com/secret"}, nil, `ANALYTICS_ALERT_WEBHOOK: alert: webhook url: "ftp://hooks.example.com/…" is not an http(s) URL`},
		"host required": {nil, []string{"-alert-webhook", "https:///secret"}, "-alert-webhook: alert: webhook url"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tt.env, append([]string{"serve", "-database", testdb.SQLitePath(t)}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "secret") {
				t.Errorf("stderr holds the webhook's secret path:\n%s", stderr)
			}
		})
	}
}

// TestAlertWebhookServe starts the server with alerts on, from the
// environment: it starts, says so without the secret URL, and stops
// cleanly.
func TestAlertWebhookServe(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(rcv.Close)
	url := rcv.URL + "/services/T0/B0/very-secret"
	_, _, logs, stop := startServer(t, map[string]string{"ANALYTICS_ALERT_WEBHOOK": url},
		"-addr", "127.0.0.1:0", "-database", testdb.SQLitePath(t), "-log-level", "info")
	if code := stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if !strings.Contains(logs.String(), "alerts enabled") {
		t.Errorf("the log does not say alerts are enabled:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "very-secret") {
		t.Errorf("the log holds the webhook URL:\n%s", logs.String())
	}
}
