package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// testDatabases name a new database of each driver for the command's
// -database flag.
var testDatabases = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return testdb.SQLitePath(t) }},
	{"postgres", func(t *testing.T) string { return testdb.PostgresURL(t) }},
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// withSpoolDir gives each test's server a spool of its own (the default,
// ./analytics-spool, would be shared by the tests of the package) unless
// env names one.
func withSpoolDir(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	if _, ok := env["ANALYTICS_SPOOL_DIR"]; ok {
		return env
	}
	out := map[string]string{"ANALYTICS_SPOOL_DIR": filepath.Join(t.TempDir(), "spool")}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// runCmd runs the program with args and env and returns its exit status
// and output.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncbuf.Buffer
	code = run(context.Background(), args, envOf(withSpoolDir(t, env)), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidationMessages(t *testing.T) {
	missingDir := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // substring of stderr
	}{
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"-nope"}, "flag provided but not defined: -nope"},
		{"stray argument", nil, []string{"serve", "extra"}, `serve takes no arguments`},
		{"ip mode", nil, []string{"-ip-mode", "bogus"}, `-ip-mode: unknown mode "bogus"; use full, truncate, hash or none`},
		{"ip mode from env", map[string]string{"ANALYTICS_IP_MODE": "bogus"}, nil, `ANALYTICS_IP_MODE: unknown mode "bogus"`},
		{"flag wins over env", map[string]string{"ANALYTICS_IP_MODE": "bogus"}, []string{"-ip-mode", "none", "-log-format", "xml"}, `-log-format: unknown format "xml"; use text or json`},
		{"hash without key", nil, []string{"-ip-mode", "hash"}, "-ip-hash-key: -ip-mode hash needs a secret key of at least 16 bytes"},
		{"short hash key", nil, []string{"-ip-mode", "hash", "-ip-hash-key", "short"}, "-ip-hash-key: -ip-mode hash needs a secret key"},
		{"retention", nil, []string{"-retention", "0"}, "-retention: must be a number of days between 1 and 36500, got 0"},
		{"retention not a number", map[string]string{"ANALYTICS_RETENTION_DAYS": "ninety"}, nil, `invalid value "ninety" for ANALYTICS_RETENTION_DAYS`},
		{"timezone", nil, []string{"-timezone", "Mars/Olympus"}, `-timezone: unknown time zone "Mars/Olympus"`},
		{"log level", nil, []string{"-log-level", "loud"}, `-log-level: unknown level "loud"`},
		{"partition interval", map[string]string{"ANALYTICS_PARTITION_INTERVAL": "year"}, nil, `ANALYTICS_PARTITION_INTERVAL: must be month, week or day, got "year"`},
		{"partition compactions", nil, []string{"-partition-compactions", "-1"}, "-partition-compactions: must not be negative, got -1"},
		{"addr", nil, []string{"-addr", "localhost"}, `-addr: "localhost" is not host:port`},
		{"addr from env", map[string]string{"ANALYTICS_ADDR": "127.0.0.1:99999"}, nil, `ANALYTICS_ADDR: "127.0.0.1:99999" is not host:port`},
		{"trusted proxies", nil, []string{"-trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}, `-trusted-proxies: "10.0.0.0/33" is not an IP address or CIDR prefix`},
		{"trusted hops", nil, []string{"-trusted-hops", "-1"}, "-trusted-hops: must be between 0 and 32, got -1"},
		{"trusted hops with proxies", map[string]string{"ANALYTICS_TRUSTED_HOPS": "2"}, []string{"-trusted-proxies", "10.0.0.1"}, "ANALYTICS_TRUSTED_HOPS: cannot be combined with -trusted-proxies or -client-ip-header"},
		{"client ip header", nil, []string{"-client-ip-header", "X Real IP"}, `-client-ip-header: "X Real IP" is not a header name`},
		{"storage dir", nil, []string{"-storage-dir", missingDir}, "-storage-dir: stat " + missingDir},
		{"schedule syntax", nil, []string{"-schedule", "cleanup_old_activities"}, `-schedule: "cleanup_old_activities" is not name=cron`},
		{"schedule job", nil, []string{"-schedule", "backup=0 1 * * *"}, `-schedule: unknown job "backup"; jobs: calculate_daily_metrics`},
		{"schedule cron", nil, []string{"-schedule", "sample_system_health=every now and then"}, `-schedule: sample_system_health: "every now and then" is not a cron schedule`},
		{"schedule twice", map[string]string{"ANALYTICS_SCHEDULES": "sample_system_health=@every 1m;sample_system_health=@every 2m"}, nil, "ANALYTICS_SCHEDULES: job sample_system_health is scheduled twice"},
		{"database scheme", nil, []string{"-database", "mysql://db/analytics"}, `-database: "mysql://db/analytics" is neither a file path nor a postgres:// URL`},
		{"database url without host", map[string]string{"ANALYTICS_DATABASE_URL": "postgres:///analytics"}, nil, "ANALYTICS_DATABASE_URL: postgres:///analytics names no host"},
		{"tokens file", nil, []string{"-tokens", missingDir + ".json"}, "-tokens: stat " + missingDir + ".json"},
		{"shutdown timeout", nil, []string{"-shutdown-timeout", "0s"}, "-shutdown-timeout: must be positive"},
		{"export per user", nil, []string{"-export-per-user", "0"}, "-export-per-user: must be between 1 and 10000, got 0"},
		{"export total from env", map[string]string{"ANALYTICS_EXPORT_TOTAL": "-3"}, nil, "ANALYTICS_EXPORT_TOTAL: must be between 1 and 10000, got -3"},
		{"export stall", nil, []string{"-export-stall-timeout", "10ms"}, "-export-stall-timeout: must be at least 1s, got 10ms"},
		{"import total", nil, []string{"-import-total", "0"}, "-import-total: must be between 1 and 10000, got 0"},
		{"read per user", nil, []string{"-read-per-user", "-1"}, "-read-per-user: must be between 0 and 10000, got -1"},
		{"read per user from the environment", map[string]string{"ANALYTICS_READ_PER_USER": "10001"}, nil, "ANALYTICS_READ_PER_USER: must be between 0 and 10000, got 10001"},
		{"max connections", nil, []string{"-max-connections", "-1"}, "-max-connections: must not be negative, got -1"},
		{"body timeout", map[string]string{"ANALYTICS_BODY_TIMEOUT": "0s"}, nil, "ANALYTICS_BODY_TIMEOUT: must be positive"},
		{"rate limit", nil, []string{"-rate-limit", "-5"}, "-rate-limit: must not be negative, got -5"},
		{"auth fail limit", nil, []string{"-auth-fail-limit", "-1"}, "-auth-fail-limit: must not be negative"},
		{"rate limit roles syntax", nil, []string{"-rate-limit-roles", "admin:0"}, `-rate-limit-roles: "admin:0" is not role=requests per hour`},
		{"rate limit roles role", map[string]string{"ANALYTICS_RATE_LIMIT_ROLES": "admin=0,root=10"}, nil, `ANALYTICS_RATE_LIMIT_ROLES: unknown role "root"`},
		{"database key=value", nil, []string{"-database", "host=db password=x"}, "-database: looks like a key=value connection string; write it as a postgres:// URL"},
		{"import without file", nil, []string{"import-advisor", "-client-id", store.NewID()}, "import-advisor needs exactly one FILE argument, got 0"},
		{"import without client", nil, []string{"import-advisor", "x.csv"}, "-client-id: is required"},
		{"import bad client", nil, []string{"import-advisor", "x.csv", "-client-id", "42"}, `-client-id: "42" is not a UUID`},
		{"import report type", nil, []string{"import-advisor", "-client-id", store.NewID(), "-report-type", "weekly", "x.csv"}, `-report-type: unknown report type "weekly"`},
		{"export format", nil, []string{"export", "-format", "xml"}, `-format: unknown format "xml"; use csv or ndjson`},
		{"export dates", nil, []string{"export", "-date-from", "2025-13-01"}, `-date-from: "2025-13-01" is not a date`},
		{"export date order", nil, []string{"export", "-date-from", "2025-02-01", "-date-to", "2025-01-01"}, "-date-from: is after -date-to"},
		{"init days", nil, []string{"init", "-days", "0"}, "-days: must be between 1 and 3660, got 0"},
		{"version arguments", nil, []string{"version", "now"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.env, tt.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, cli.ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Commands:", "import-advisor", "Usage: analyticsd [serve] [flags]", "-addr", "ANALYTICS_ADDR", "ANALYTICS_TOKENS_FILE", "ANALYTICS_TRACK_API"}},
		{[]string{"help"}, []string{"Commands:", "migrate"}},
		{[]string{"serve", "-h"}, []string{"Usage: analyticsd [serve] [flags]", "-ip-mode", "ANALYTICS_IP_MODE", "-schedule", "-demo"}},
		{[]string{"migrate", "-h"}, []string{"Usage: analyticsd migrate", "ANALYTICS_DATABASE_URL"}},
		{[]string{"init", "-h"}, []string{"Usage: analyticsd init", "-days"}},
		{[]string{"import-advisor", "-h"}, []string{"Usage: analyticsd import-advisor [flags] FILE", "-client-id", "-report-type"}},
		{[]string{"export", "-h"}, []string{"Usage: analyticsd export", "-format", "-date-from"}},
		{[]string{"version", "-h"}, []string{"Usage: analyticsd version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCmd(t, nil, tt.args...)
			if code != cli.ExitOK {
				t.Errorf("exit status %d, want 0", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("help does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 12_185: "11.9 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCmd(t, nil, "version")
	if code != cli.ExitOK {
		t.Fatalf("exit status %d", code)
	}
	if !regexp.MustCompile(`^analyticsd \S+.* go1\.\S+ \w+/\w+\n$`).MatchString(stdout) {
		t.Errorf("version output %q", stdout)
	}
}

func TestMigrate(t *testing.T) {
	db := testdb.SQLitePath(t)
	code, stdout, stderr := runCmd(t, nil, "migrate", "-database", db)
	if code != cli.ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(db) + `: migrated from version 0 to \d+ \(latest \d+\)\n$`).MatchString(stdout) {
		t.Errorf("first migrate printed %q", stdout)
	}
	code, stdout, _ = runCmd(t, map[string]string{"ANALYTICS_DATABASE_URL": db}, "migrate")
	if code != cli.ExitOK || !strings.Contains(stdout, "schema is up to date") {
		t.Errorf("second migrate: exit %d, output %q", code, stdout)
	}
	st, err := sqlite.Open(context.Background(), db, sqlite.Config{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied, latest, err := st.MigrationStatus(context.Background())
	if err != nil || applied != latest || applied == 0 {
		t.Errorf("MigrationStatus = %d, %d, %v; want applied == latest > 0", applied, latest, err)
	}
}

func TestInit(t *testing.T) {
	db := testdb.SQLitePath(t)
	code, stdout, stderr := runCmd(t, map[string]string{"ANALYTICS_TIMEZONE": "Europe/Paris"}, "init", "-database", db, "-days", "3")
	if code != cli.ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{"reporting time zone Europe/Paris", "Backfilling 3 days", "✓ migrations applied", "✓ cache warmed",
		"✓ database reachable", "✓ migrations current", "Ready: schema version"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("init output does not contain %q:\n%s", w, stdout)
		}
	}
	st, err := sqlite.Open(context.Background(), db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snaps, err := st.MetricsSnapshotList(context.Background(), store.PeriodDaily, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 {
		t.Errorf("%d daily snapshots, want 3", len(snaps))
	}

	// A database that cannot be opened fails init with status 1.
	code, _, stderr = runCmd(t, nil, "init", "-database", t.TempDir())
	if code != cli.ExitFailure || !strings.Contains(stderr, "open SQLite database") {
		t.Errorf("init on a directory: exit %d, want 1; stderr:\n%s", code, stderr)
	}
}

const sampleCSV = "../../internal/advisorcsv/testdata/advisor_export_example.csv"

func TestImportAdvisor(t *testing.T) {
	db := testdb.SQLitePath(t)
	client := store.NewID()

	code, _, stderr := runCmd(t, nil, "import-advisor", "-database", db, "-client-id", client, sampleCSV)
	if code != cli.ExitFailure || !strings.Contains(stderr, "client "+client+" does not exist: pass -client-name") {
		t.Fatalf("import for a missing client: exit %d, stderr:\n%s", code, stderr)
	}

	code, stdout, stderr := runCmd(t, nil, "import-advisor", sampleCSV, "-database", db, "-client-id", client,
		"-client-name", "Contoso", "-industry", "retail", "-report-type", "cost")
	if code != cli.ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	m := regexp.MustCompile(`Imported (\d+) recommendations from .* into report (\S+) \(cost, client (\S+)\); (\d+) rows skipped`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("unexpected output:\n%s", stdout)
	}
	fi, err := os.Stat(sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Created client " + client, "Reading " + sampleCSV, "  read " + humanBytes(fi.Size()) + " in "} {
		if !strings.Contains(stderr, w) {
			t.Errorf("progress output does not contain %q:\n%s", w, stderr)
		}
	}
	imported, _ := strconv.Atoi(m[1])

	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.ReportGet(ctx, m[2])
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Client, Type, Status string
		Recs                 int
	}{rep.ClientID, string(rep.ReportType), string(rep.Status), len(rep.Recommendations)}
	want := struct {
		Client, Type, Status string
		Recs                 int
	}{client, "cost", "completed", imported}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored report (-want +got):\n%s", diff)
	}
	// The sample has one data row per record; every one is accounted for.
	rows := csvRecords(t, sampleCSV)
	skipped, _ := strconv.Atoi(m[4])
	if imported+skipped != rows || imported == 0 {
		t.Errorf("imported %d + skipped %d, want %d rows in all", imported, skipped, rows)
	}
	c, err := st.ClientGet(ctx, client)
	if err != nil || c.CompanyName != "Contoso" || c.Industry != store.IndustryRetail {
		t.Errorf("client = %+v, %v", c, err)
	}

	code, _, stderr = runCmd(t, nil, "import-advisor", "-database", db, "-client-id", client, "main_test.go")
	if code != cli.ExitFailure || !strings.Contains(stderr, "not an Azure Advisor CSV export") {
		t.Errorf("import of a Go file: exit %d, stderr:\n%s", code, stderr)
	}
}

// csvRecords counts the data records of a CSV file.
func csvRecords(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, inQuote := 0, false
	for _, c := range string(b) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '\n' && !inQuote:
			n++
		}
	}
	return n - 1 // header
}

// startServer runs the server with args until the returned stop function
// is called, which returns its exit status.
func startServer(t *testing.T, env map[string]string, args ...string) (base string, stdout, stderr *syncbuf.Buffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	done := make(chan int, 1)
	env = withSpoolDir(t, env)
	go func() { done <- run(ctx, args, envOf(env), stdout, stderr) }()
	re := regexp.MustCompile(`URL\s+(http://127\.0\.0\.1:\d+)|listening on (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1] + m[2]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("server exited with %d before listening; stderr:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not listen; stderr:\n%s", stderr.String())
		}
	}
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("server did not stop")
			}
			if code != 0 {
				t.Logf("server stderr:\n%s", stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stdout, stderr, stop
}

func request(t *testing.T, method, url, token string, body io.Reader, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// demoTokensAt reads the tokens -demo wrote next to the database at db, by
// role.
func demoTokensAt(t *testing.T, db string) map[string]string {
	t.Helper()
	entries, err := tokenauth.ReadEntries(db + "-demo-tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, e := range entries {
		tokens[e.Role] = e.Token
	}
	return tokens
}

func TestServeDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "analytics.db")
	base, stdout, _, stop := startServer(t, map[string]string{"ANALYTICS_LOG_LEVEL": "warn"},
		"-demo", "-addr", "127.0.0.1:0", "-database", db)

	// The demo tokens file is written next to the database (and, as
	// ./analytics.db-demo-tokens.json, is ignored by git).
	tokens := demoTokensAt(t, db)
	for role, token := range tokens {
		if !strings.Contains(stdout.String(), token) {
			t.Errorf("the %s token is not printed", role)
		}
	}
	if len(tokens) != 4 {
		t.Fatalf("demo tokens for roles %v, want one per role", tokens)
	}
	for _, w := range []string{"(change with -addr)", "(change with -database", "change with -tokens)",
		"curl -H 'Authorization: Bearer " + tokens["admin"] + "' " + base + "/api/v1/analytics/metrics/"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("output does not contain %q:\n%s", w, stdout.String())
		}
	}

	api := base + apiPrefix
	if code, body := request(t, "GET", base+"/readyz", "", nil); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, _ := request(t, "GET", base+"/healthz", "", nil); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := request(t, "GET", api+"metrics/", "", nil); code != http.StatusUnauthorized {
		t.Errorf("metrics without a token = %d, want 401", code)
	}
	if code, _ := request(t, "GET", api+"metrics/", "not-a-demo-token-at-all", nil); code != http.StatusUnauthorized {
		t.Errorf("metrics with a wrong token = %d, want 401", code)
	}
	code, body := request(t, "GET", api+"metrics/", tokens["viewer"], nil)
	if code != 200 {
		t.Fatalf("metrics = %d %s", code, body)
	}
	var metrics struct {
		TotalReports int64 `json:"total_reports"`
	}
	if err := json.Unmarshal(body, &metrics); err != nil || metrics.TotalReports == 0 {
		t.Errorf("metrics body %s (%v): want demo reports", body, err)
	}
	// The search the output suggests finds the demo's bank.
	if !strings.Contains(stdout.String(), "clients/?search=bank'") {
		t.Errorf("output does not suggest the client search:\n%s", stdout.String())
	}
	if code, body := request(t, "GET", api+"clients/?search=bank", tokens["viewer"], nil); code != 200 || !strings.Contains(string(body), `"company_name":"Woodgrove Bank"`) {
		t.Errorf("clients/?search=bank = %d %s", code, body)
	}
	code, body = request(t, "GET", api+"metrics/history/?period=daily", tokens["viewer"], nil)
	var history struct {
		Snapshots []json.RawMessage `json:"snapshots"`
	}
	if err := json.Unmarshal(body, &history); code != 200 || err != nil || len(history.Snapshots) < 90 {
		t.Errorf("metrics/history = %d with %d daily snapshots (%v), want the demo's 91", code, len(history.Snapshots), err)
	}
	code, body = request(t, "GET", api+"jobs/", tokens["admin"], nil)
	var jobs struct {
		Jobs []struct {
			Name    string `json:"name"`
			LastRun *struct {
				Outcome string `json:"outcome"`
			} `json:"last_run"`
		} `json:"jobs"`
	}
	ran := map[string]string{}
	if err := json.Unmarshal(body, &jobs); code != 200 || err != nil {
		t.Errorf("jobs = %d %s (%v)", code, body, err)
	}
	for _, j := range jobs.Jobs {
		if j.LastRun != nil {
			ran[j.Name] = j.LastRun.Outcome
		}
	}
	if diff := cmp.Diff(map[string]string{"update_report_usage_stats": "succeeded", "sample_system_health": "succeeded"}, ran); diff != "" {
		t.Errorf("jobs run by -demo (-want +got):\n%s", diff)
	}
	if code, _ := request(t, "GET", api+"system-health/", tokens["viewer"], nil); code != http.StatusForbidden {
		t.Errorf("system-health as viewer = %d, want 403", code)
	}

	// An accepted activity is written by the time the server has stopped.
	code, body = request(t, "POST", api+"activities/", tokens["analyst"],
		strings.NewReader(`{"activity_type":"view_dashboard","description":"end-to-end test"}`))
	if code != http.StatusAccepted {
		t.Fatalf("POST activities/ = %d %s", code, body)
	}
	if got := stop(); got != 0 {
		t.Fatalf("exit status %d, want 0", got)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 5, ActivityFilter: store.ActivityFilter{ActivityType: "view_dashboard"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Activities) == 0 || page.Activities[0].Description != "end-to-end test" {
		t.Errorf("the accepted activity was not written before exit: newest %+v", page.Activities)
	}
	total, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// export streams every activity.
	code2, out, stderr := runCmd(t, nil, "export", "-database", db, "-format", "ndjson")
	if code2 != 0 {
		t.Fatalf("export: exit %d, stderr:\n%s", code2, stderr)
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("export line %d is not JSON: %v", lines+1, err)
		}
		lines++
	}
	if int64(lines) != total.Total {
		t.Errorf("export wrote %d lines, the store holds %d activities", lines, total.Total)
	}
	code2, out, _ = runCmd(t, nil, "export", "-database", db, "-activity-type", "login", "-date-from", time.Now().AddDate(0, 0, -7).Format("2006-01-02"))
	if code2 != 0 || !strings.HasPrefix(out, "id,") || strings.Count(out, "\n") < 2 {
		t.Errorf("filtered CSV export: exit %d, %d lines", code2, strings.Count(out, "\n"))
	}
	for i, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !strings.Contains(l, ",login,") {
			t.Errorf("CSV line %d is not a login: %s", i+2, l)
			break
		}
	}

	// A second -demo run on the same database keeps the data and the tokens.
	base2, stdout2, _, stop2 := startServer(t, nil, "-demo", "-addr", "127.0.0.1:0", "-database", db, "-log-level", "error")
	if !strings.Contains(stdout2.String(), "not loaded: the database already holds data") {
		t.Errorf("second demo run output:\n%s", stdout2.String())
	}
	if code, body := request(t, "GET", base2+apiPrefix+"metrics/", tokens["admin"], nil); code != 200 {
		t.Errorf("metrics with the reused admin token = %d %s", code, body)
	}
	if got := stop2(); got != 0 {
		t.Errorf("second run exit status %d", got)
	}
}

func TestDemoReportWithDigestTokens(t *testing.T) {
	var out bytes.Buffer
	d := &demoReport{database: "./analytics.db", tokensFile: "tokens.json", tokensExist: true,
		tokens: []tokenauth.Entry{{TokenSHA256: tokenauth.Digest("secret-token-0123456789"), ID: "u1", Username: "ops", Role: "admin"}}}
	d.print(&out, "http://127.0.0.1:8080")
	for _, w := range []string{"already there, reused; change with -tokens", "(stored as a SHA-256 digest; not shown)",
		"use one of yours", "curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8080/api/v1/analytics/metrics/"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output does not contain %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), tokenauth.Digest("secret-token-0123456789")) {
		t.Error("the digest is printed as if it were a token")
	}
}

func TestServePostgres(t *testing.T) {
	url := testdb.PostgresURL(t)
	tokensFile := filepath.Join(t.TempDir(), "tokens.json")
	admin := tokenauth.NewToken()
	if err := tokenauth.WriteFile(tokensFile, []tokenauth.Entry{{Token: admin, ID: store.NewID(), Username: "root", Role: "admin"}}); err != nil {
		t.Fatal(err)
	}
	base, stdout, _, stop := startServer(t, map[string]string{"ANALYTICS_DATABASE_URL": url, "ANALYTICS_TOKENS_FILE": tokensFile},
		"-addr", "127.0.0.1:0", "-log-level", "warn", "-track-api", "-trusted-proxies", "127.0.0.0/8", "-ip-mode", "truncate")
	if !strings.Contains(stdout.String(), "analyticsd listening on "+base+" (change with -addr)") {
		t.Errorf("startup line: %q", stdout.String())
	}
	if code, body := request(t, "GET", base+"/readyz", "", nil); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	client := store.NewID()
	code, body := request(t, "POST", base+apiPrefix+"ingest/clients/", admin,
		strings.NewReader(fmt.Sprintf(`{"id":%q,"company_name":"Fabrikam"}`, client)))
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("ingest client = %d %s", code, body)
	}
	// Through a trusted proxy (the loopback peer), the client is the
	// rightmost untrusted X-Forwarded-For address, stored truncated.
	if code, body := request(t, "GET", base+apiPrefix+"dashboard/", admin, nil,
		"X-Forwarded-For", "198.51.100.77, 203.0.113.9", "X-Forwarded-For", "127.0.0.2"); code != 200 {
		t.Errorf("dashboard = %d %s", code, body)
	}
	if got := stop(); got != 0 {
		t.Fatalf("exit status %d", got)
	}
	// With -track-api, the API's own requests were recorded and written
	// before exit.
	var out syncbuf.Buffer
	if code := run(context.Background(), []string{"export", "-database", url, "-format", "ndjson", "-activity-type", "view_dashboard"},
		envOf(nil), &out, io.Discard); code != 0 {
		t.Fatalf("export exit %d", code)
	}
	var rec struct {
		Path      string `json:"path"`
		IPAddress string `json:"ip_address"`
		User      struct {
			Username string `json:"username"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &rec); err != nil {
		t.Fatalf("want one tracked dashboard view, got %q: %v", out.String(), err)
	}
	if diff := cmp.Diff(struct{ Path, IPAddress, Username string }{"/api/v1/analytics/dashboard/", "203.0.113.0", "root"},
		struct{ Path, IPAddress, Username string }{rec.Path, rec.IPAddress, rec.User.Username}); diff != "" {
		t.Errorf("tracked dashboard view (-want +got):\n%s", diff)
	}
}

// waitFor polls ok every 10 ms for up to 10 seconds and fails the test
// with what (and the server's log, when given) if it never holds.
func waitFor(t *testing.T, what string, log *syncbuf.Buffer, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			if log != nil {
				what += "; log:\n" + log.String()
			}
			t.Fatal(what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
