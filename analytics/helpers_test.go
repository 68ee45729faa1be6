package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of every test: Sunday 15 June 2025, 12:00 UTC.
var fixedNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// Users of the test dataset.
var (
	alice = Principal{ID: "a1111111-1111-4111-8111-111111111111", Username: "alice", FullName: "Alice Archer", Role: RoleAnalyst}
	bob   = Principal{ID: "b2222222-2222-4222-8222-222222222222", Username: "bob", FullName: "Bob Baker", Role: RoleViewer}
	carol = Principal{ID: "c3333333-3333-4333-8333-333333333333", Username: "carol", Role: RoleManager}
	dave  = Principal{ID: "d4444444-4444-4444-8444-444444444444", Username: "dave", FullName: "Dave Dunn", Role: RoleAdmin}
	erin  = Principal{ID: "e5555555-5555-4555-8555-555555555555", Username: "erin", Role: RoleViewer, Staff: true}
)

// principals maps bearer tokens to principals.
var principals = map[string]Principal{"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}

func identify(r *http.Request) (Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	p, ok := principals[tok]
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// Fixed ids of the dataset.
const (
	client1 = "11111111-0000-4000-8000-000000000001"
	client2 = "11111111-0000-4000-8000-000000000002"
	client3 = "11111111-0000-4000-8000-000000000003"
	report1 = "22222222-0000-4000-8000-000000000001"
	report2 = "22222222-0000-4000-8000-000000000002"
	report3 = "22222222-0000-4000-8000-000000000003"
	report4 = "22222222-0000-4000-8000-000000000004"
	report5 = "22222222-0000-4000-8000-000000000005"
	unknown = "99999999-0000-4000-8000-000000000009"
)

type storeKind struct {
	name string
	open func(t *testing.T) store.Store
}

func openSQLite(t *testing.T) store.Store { return teststore.SQLite(t) }

func openSQLiteF(t testing.TB) store.Store { return teststore.SQLite(t) }

func openPostgresURL(t testing.TB, url string) store.Store { return teststore.PostgresAt(t, url) }

func openPostgres(t *testing.T) store.Store { return teststore.Postgres(t) }

var storeKinds = []storeKind{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// forEachStore runs fn as a subtest on every store driver.
func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			fn(t, k.open(t))
		})
	}
}

func tp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tptr(s string) *time.Time { t := tp(s); return &t }

func i64(n int64) *int64 { return &n }

// seed writes the fixed dataset.
func seed(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	clients := []store.Client{
		{ID: client1, CompanyName: "Contoso", Industry: store.IndustryTechnology, Status: store.ClientActive, CreatedAt: tp("2025-04-10T08:00:00Z")},
		{ID: client2, CompanyName: "Fabrikam", Industry: store.IndustryFinance, Status: store.ClientActive, CreatedAt: tp("2025-06-02T09:30:00Z")},
		{ID: client3, CompanyName: "Northwind", Industry: store.IndustryRetail, Status: store.ClientInactive, CreatedAt: tp("2025-05-20T14:00:00Z")},
	}
	for i := range clients {
		if err := st.ClientUpsert(ctx, &clients[i]); err != nil {
			t.Fatalf("seed client: %v", err)
		}
	}
	reports := []store.Report{
		{ID: report1, ClientID: client1, CreatedBy: alice.ID, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: tp("2025-05-10T09:00:00Z"), ProcessingStartedAt: tptr("2025-05-10T09:00:00Z"), ProcessingCompletedAt: tptr("2025-05-10T09:00:30Z"),
			CSVSizeBytes: i64(1000), Recommendations: []store.Recommendation{
				{Category: store.CategoryCost, BusinessImpact: store.ImpactHigh, Recommendation: "Right-size underutilised virtual machines", SubscriptionID: "sub-1", ResourceName: "vm-1", PotentialSavings: 1200.5},
				{Category: store.CategoryCost, BusinessImpact: store.ImpactMedium, Recommendation: "Buy reserved instances", PotentialSavings: 300},
				{Category: store.CategorySecurity, BusinessImpact: store.ImpactHigh, Recommendation: "Enable MFA"},
			}},
		{ID: report2, ClientID: client1, CreatedBy: bob.ID, ReportType: store.ReportSecurity, Status: store.StatusCompleted,
			CreatedAt: tp("2025-06-14T10:00:00Z"), ProcessingStartedAt: tptr("2025-06-14T10:00:00Z"), ProcessingCompletedAt: tptr("2025-06-14T10:01:00Z"),
			CSVSizeBytes: i64(3000), Recommendations: []store.Recommendation{
				{Category: store.CategorySecurity, BusinessImpact: store.ImpactLow, Recommendation: "Rotate keys"},
				{Category: store.CategoryReliability, Recommendation: "Add a second zone", PotentialSavings: 50},
			}},
		{ID: report3, ClientID: client2, CreatedBy: alice.ID, ReportType: store.ReportDetailed, Status: store.StatusFailed,
			CreatedAt: tp("2025-06-15T08:00:00Z"), Recommendations: []store.Recommendation{
				{Category: store.CategoryPerformance, BusinessImpact: store.ImpactMedium, Recommendation: "Enable accelerated networking", PotentialSavings: 99.99},
			}},
		{ID: report4, ClientID: client2, ReportType: store.ReportExecutive, Status: store.StatusProcessing,
			CreatedAt: tp("2025-06-10T11:00:00Z"), ProcessingStartedAt: tptr("2025-06-10T11:00:05Z")},
		{ID: report5, ClientID: client3, CreatedBy: carol.ID, ReportType: store.ReportOperations, Status: store.StatusPending,
			CreatedAt: tp("2025-04-01T07:00:00Z"), Recommendations: []store.Recommendation{
				{Category: store.CategoryOperationalExcellence, BusinessImpact: store.ImpactLow, Recommendation: "Tag resources", PotentialSavings: 10.25, Currency: "EUR"},
			}},
	}
	for i := range reports {
		for j := range reports[i].Recommendations {
			reports[i].Recommendations[j].ID = recID(i, j)
		}
		if err := st.ReportUpsert(ctx, &reports[i]); err != nil {
			t.Fatalf("seed report %d: %v", i, err)
		}
	}
	acts := []store.Activity{
		{ID: actID(1), UserID: alice.ID, Username: "alice", FullName: "Alice Archer", ActivityType: "login", Description: "Logged in",
			IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0", Method: "POST", Path: "/api/v1/auth/login/", StatusCode: 200, Duration: 12 * time.Millisecond,
			Metadata: map[string]any{"path": "/api/v1/auth/login/"}, CreatedAt: tp("2025-06-15T09:00:00Z")},
		{ID: actID(2), UserID: alice.ID, Username: "alice", FullName: "Alice Archer", ActivityType: "upload_csv", Description: "Uploaded CSV for client " + client2,
			ClientID: client2, IPAddress: "203.0.113.7", Method: "POST", Path: "/api/v1/clients/" + client2 + "/upload-csv/", StatusCode: 201, Duration: 340 * time.Millisecond,
			CreatedAt: tp("2025-06-15T09:05:00Z")},
		{ID: actID(3), UserID: alice.ID, Username: "alice", FullName: "Alice Archer", ActivityType: "generate_report", Description: "Generated report " + report3,
			ClientID: client2, ReportID: report3, Method: "POST", Path: "/api/v1/reports/" + report3 + "/generate/", StatusCode: 202, Duration: 40 * time.Millisecond,
			CreatedAt: tp("2025-06-15T09:05:00Z")},
		{ID: actID(4), UserID: bob.ID, Username: "bob", FullName: "Bob Baker", ActivityType: "view_dashboard", Description: "Viewed dashboard",
			IPAddress: "2001:db8::1", Method: "GET", Path: "/api/v1/analytics/dashboard/", StatusCode: 200, Duration: 8 * time.Millisecond,
			CreatedAt: tp("2025-06-14T16:30:00.123456Z")},
		{ID: actID(5), UserID: bob.ID, Username: "bob", FullName: "Bob Baker", ActivityType: "download_report", Description: "Downloaded report " + report2,
			ClientID: client1, ReportID: report2, Method: "GET", Path: "/api/v1/reports/" + report2 + "/download/pdf/", StatusCode: 200,
			Metadata: map[string]any{"format": "pdf"}, CreatedAt: tp("2025-06-14T17:00:00Z")},
		{ID: actID(6), UserID: carol.ID, Username: "carol", ActivityType: "create_client", Description: "Created a new client",
			Method: "POST", Path: "/api/v1/clients/", StatusCode: 201, CreatedAt: tp("2025-06-02T09:30:00Z")},
		{ID: actID(7), UserID: carol.ID, Username: "carol", ActivityType: "share_report", Description: "Shared report " + report1,
			ReportID: report1, ClientID: client1, Method: "POST", Path: "/api/v1/reports/" + report1 + "/share/", StatusCode: 200, CreatedAt: tp("2025-06-05T11:00:00Z")},
		{ID: actID(8), UserID: alice.ID, Username: "alice", FullName: "Alice Archer", ActivityType: "login", Description: "Logged in",
			Method: "POST", Path: "/api/v1/auth/login/", StatusCode: 200, CreatedAt: tp("2025-05-30T08:00:00Z")},
		{ID: actID(9), UserID: dave.ID, Username: "dave", FullName: "Dave Dunn", ActivityType: "delete_report", Description: "Deleted report " + unknown,
			ReportID: unknown, Method: "DELETE", Path: "/api/v1/reports/" + unknown + "/", StatusCode: 204, CreatedAt: tp("2025-06-12T13:00:00Z")},
		{ID: actID(10), UserID: bob.ID, Username: "bob", FullName: "Bob Baker", ActivityType: "logout", Description: "Logged out",
			Method: "POST", Path: "/api/v1/auth/logout/", StatusCode: 200, CreatedAt: tp("2025-06-15T11:59:59.999999Z")},
	}
	if err := st.ActivityInsertMany(ctx, acts); err != nil {
		t.Fatalf("seed activities: %v", err)
	}
	snaps := []store.MetricsSnapshot{
		{Period: store.PeriodDaily, PeriodStart: "2025-06-13", From: tp("2025-06-13T00:00:00Z"), To: tp("2025-06-14T00:00:00Z"),
			TotalReports: 3, ReportsCreated: 0, ActiveUsers: 0, SuccessRate: 66.66666, CategoryCounts: map[string]int64{}, ComputedAt: tp("2025-06-14T02:00:00Z")},
		{Period: store.PeriodDaily, PeriodStart: "2025-06-14", From: tp("2025-06-14T00:00:00Z"), To: tp("2025-06-15T00:00:00Z"),
			TotalReports: 4, ReportsCreated: 1, ReportsCompleted: 1, ActiveUsers: 1, TotalRecommendations: 2, TotalPotentialSavings: 50,
			Activities: 2, Downloads: 1, AvgGenerationSeconds: 60, SuccessRate: 75, CategoryCounts: map[string]int64{"security": 1, "reliability": 1},
			ReportTypeCounts: map[string]int64{"security": 1}, ComputedAt: tp("2025-06-15T02:00:00Z")},
		{Period: store.PeriodWeekly, PeriodStart: "2025-06-09", From: tp("2025-06-09T00:00:00Z"), To: tp("2025-06-16T00:00:00Z"),
			TotalReports: 5, ComputedAt: tp("2025-06-15T02:00:00Z")},
	}
	for i := range snaps {
		if err := st.MetricsSnapshotUpsert(ctx, &snaps[i]); err != nil {
			t.Fatalf("seed snapshot: %v", err)
		}
	}
	fin := tp("2025-06-15T02:00:03.5Z")
	run := store.JobRun{ID: "33333333-0000-4000-8000-000000000001", Job: "calculate_daily_metrics", RunKey: "calculate_daily_metrics@2025-06-15T02:00:00Z",
		ScheduledAt: tp("2025-06-15T02:00:00Z"), StartedAt: tp("2025-06-15T02:00:00Z"), Outcome: store.JobRunning, Instance: "test"}
	if err := st.JobRunStart(ctx, &run); err != nil {
		t.Fatalf("seed job run: %v", err)
	}
	run.FinishedAt, run.Outcome, run.RowsAffected, run.Message = &fin, store.JobSucceeded, 3, "Finalised 2025-06-14"
	if err := st.JobRunFinish(ctx, &run); err != nil {
		t.Fatalf("finish job run: %v", err)
	}
}

func recID(i, j int) string { return fmt.Sprintf("44444444-0000-4000-8000-%012d", i*10+j) }

func actID(n int) string { return fmt.Sprintf("55555555-0000-4000-8000-%012d", n) }

// testEnv is a Service over a store, served by httptest under the default
// prefix.
type testEnv struct {
	svc *Service
	st  store.Store
	srv *httptest.Server
}

const basePath = "/api/v1/analytics"

func newEnv(t *testing.T, st store.Store, mut func(*Config)) *testEnv {
	t.Helper()
	cfg := Config{IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger()}
	if mut != nil {
		mut(&cfg)
	}
	svc, err := New(st, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	mux := http.NewServeMux()
	mux.Handle(basePath+"/", http.StripPrefix(basePath, svc.Handler()))
	srv := httptest.NewServer(svc.Middleware()(mux))
	t.Cleanup(srv.Close)
	return &testEnv{svc: svc, st: st, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(t *testing.T, method, path, token string, body io.Reader, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+basePath+"/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (e *testEnv) get(t *testing.T, path, token string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, token, nil)
}

func (e *testEnv) postJSON(t *testing.T, path, token string, v any) response {
	t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return e.do(t, http.MethodPost, path, token, bytes.NewReader(b), "Content-Type", "application/json")
}

// errBody decodes an error response.
func errBody(t *testing.T, r response) ErrorBody {
	t.Helper()
	var eb ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return eb
}

// checkGolden compares got (JSON) with testdata/name, indenting it so the
// number text is kept as sent.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if strings.HasSuffix(name, ".json") {
		if err := json.Indent(&buf, bytes.TrimSpace(got), "", "  "); err != nil {
			t.Fatalf("%s: response is not JSON: %v\n%s", name, err, got)
		}
		buf.WriteByte('\n')
	} else {
		buf.Write(got)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

var errInjected = errors.New("pq: relation \"secret_table\" does not exist at 10.0.0.5")

// untracked turns the tracking middleware off (every path skipped).
func untracked(c *Config) { c.Tracking.Middleware.SkipPaths = []string{"/"} }
