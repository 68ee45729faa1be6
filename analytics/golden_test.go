package analytics

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// goldenRoutes are the GET requests whose bodies are compared with
// testdata; both stores must produce the same bytes.
var goldenRoutes = []struct{ file, path, token string }{
	{"dashboard.json", "dashboard/", "alice"},
	{"metrics.json", "metrics/", "alice"},
	{"trends_7.json", "trends/?days=7", "alice"},
	{"categories.json", "categories/", "alice"},
	{"recent_activity.json", "recent-activity/?limit=3", "alice"},
	{"clients.json", "clients/?limit=2&offset=1", "bob"},
	{"recent_activity_client1.json", "recent-activity/?client_id=" + client1, "bob"},
	{"client_performance_all.json", "client-performance/", "alice"},
	{"client_performance_client1.json", "client-performance/?client_id=" + client1, "alice"},
	{"business_impact.json", "business-impact/", "alice"},
	{"user_activity_admin.json", "user-activity/?limit=4", "dave"},
	{"user_activity_page2.json", "user-activity/?limit=4&offset=4", "dave"},
	{"user_activity_viewer.json", "user-activity/?date_from=2025-06-14&date_to=2025-06-14", "bob"},
	{"activity_summary_type.json", "activity-summary/", "carol"},
	{"activity_summary_user.json", "activity-summary/?group_by=user&date_from=2025-06-01", "carol"},
	{"activity_summary_day.json", "activity-summary/?group_by=day", "carol"},
	{"activity_summary_own.json", "activity-summary/", "alice"},
	{"cost_insights.json", "cost-insights/", "alice"},
	{"cost_insights_filtered.json", "cost-insights/?report_type=security,cost&date_from=2025-05-01&date_to=2025-06-14", "alice"},
	{"activity_history.json", "activity-history/?limit=3", "carol"},
	{"entity_history_client.json", "entity-history/?entity_type=client&entity_id=" + client1, "dave"},
	{"metrics_history.json", "metrics/history/?period=daily&date_from=2025-06-01", "bob"},
	{"jobs.json", "jobs/", "dave"},
	{"system_health.json", "system-health/", "carol"},
	{"export.csv", "user-activity/export/?format=csv", "dave"},
	{"export.ndjson", "user-activity/export/?format=ndjson&user_id=" + alice.ID, "dave"},
}

// volatile matches the system-health figures that depend on the machine.
var volatile = regexp.MustCompile(`"(database_size|database_size_formatted|cpu_percent|rss_bytes|goroutines|memory_used_bytes|memory_total_bytes|memory_limited|ping_ms|driver|open_connections|in_use|idle|enqueued|written|queue_depth)":("[^"]*"|[0-9.]+|true|false)`)

func TestGoldenRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		// No tracking: activities recorded in the background would make
		// the counts depend on timing.
		e := newEnv(t, st, untracked)
		for _, g := range goldenRoutes {
			t.Run(g.file, func(t *testing.T) {
				r := e.get(t, g.path, g.token)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: status %d: %s", g.path, r.status, r.body)
				}
				body := r.body
				if g.file == "system_health.json" {
					body = volatile.ReplaceAll(body, []byte(`"$1":"<varies>"`))
				}
				checkGolden(t, g.file, body)
			})
		}
	})
}

// TestServiceMatchesHandler checks that the Go methods return what the
// routes send.
func TestServiceMatchesHandler(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, untracked)
	ctx := t.Context()
	check := func(name string, v any, err error, path string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := json.Marshal(v)
		r := e.get(t, path, "dave")
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(r.body, &b)
		if diff := cmpJSON(a, b); diff != "" {
			t.Errorf("%s: method and route differ (-method +route):\n%s", name, diff)
		}
	}
	m, err := e.svc.Metrics(ctx, dave)
	check("Metrics", m, err, "metrics/")
	tr, err := e.svc.Trends(ctx, dave, 7)
	check("Trends", tr, err, "trends/?days=7")
	c, err := e.svc.Categories(ctx, dave)
	check("Categories", c, err, "categories/")
	ri, err := e.svc.RecentActivity(ctx, dave, 0)
	check("RecentActivity", ri, err, "recent-activity/")
	cr, err := e.svc.ClientRecentActivity(ctx, dave, client2, 0)
	check("ClientRecentActivity", cr, err, "recent-activity/?client_id="+client2)
	cl, err := e.svc.Clients(ctx, dave, "", 0, 1)
	check("Clients", cl, err, "clients/?offset=1")
	cp, err := e.svc.ClientPerformance(ctx, dave, client2)
	check("ClientPerformance", cp, err, "client-performance/?client_id="+client2)
	bi, err := e.svc.BusinessImpact(ctx, dave)
	check("BusinessImpact", bi, err, "business-impact/")
	ci, err := e.svc.CostInsights(ctx, dave, CostQuery{Types: []store.ReportType{"cost"}})
	check("CostInsights", ci, err, "cost-insights/?report_type=cost")
	ua, err := e.svc.UserActivity(ctx, dave, UserActivityQuery{Limit: 3})
	check("UserActivity", ua, err, "user-activity/?limit=3")
	d, err := e.svc.Dashboard(ctx, dave)
	check("Dashboard", d, err, "dashboard/")
	// The typed Dashboard encodes to the very bytes the route sends.
	rec := httptest.NewRecorder()
	if err := writeJSON(rec, http.StatusOK, d); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, "dashboard/", "dave"); !bytes.Equal(rec.Body.Bytes(), r.body) {
		t.Errorf("Dashboard encodes to\n%s\nthe route sends\n%s", rec.Body.Bytes(), r.body)
	}
}

// sameTimestamp compares Timestamps by instant and location.
var sameTimestamp = cmp.Comparer(func(a, b Timestamp) bool {
	x, y := time.Time(a), time.Time(b)
	return x.Equal(y) && x.Location() == y.Location()
})

// TestServiceMissMatchesHit checks that a method returns the same value
// when it computed it (a miss, no decoding) as when it decoded the cached
// JSON (a hit), and that a caller's value is its own.
func TestServiceMissMatchesHit(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, untracked)
	ctx := t.Context()
	twice := func(name string, call func() (any, error)) {
		t.Helper()
		e.svc.clearLocal(ctx)
		miss, err := call()
		if err != nil {
			t.Fatalf("%s (miss): %v", name, err)
		}
		hit, err := call()
		if err != nil {
			t.Fatalf("%s (hit): %v", name, err)
		}
		if diff := cmp.Diff(miss, hit, sameTimestamp); diff != "" {
			t.Errorf("%s: miss and hit differ (-miss +hit):\n%s", name, diff)
		}
	}
	twice("Metrics", func() (any, error) { return e.svc.Metrics(ctx, dave) })
	twice("Trends", func() (any, error) { return e.svc.Trends(ctx, dave, 7) })
	twice("Categories", func() (any, error) { return e.svc.Categories(ctx, dave) })
	twice("RecentActivity", func() (any, error) { return e.svc.RecentActivity(ctx, dave, 0) })
	twice("ClientPerformance", func() (any, error) { return e.svc.ClientPerformance(ctx, dave, client2) })
	twice("BusinessImpact", func() (any, error) { return e.svc.BusinessImpact(ctx, dave) })
	twice("CostInsights", func() (any, error) { return e.svc.CostInsights(ctx, dave, CostQuery{}) })
	twice("Dashboard", func() (any, error) { return e.svc.Dashboard(ctx, dave) })

	// A caller that changes its value changes neither the cache nor
	// another caller's value.
	e.svc.clearLocal(ctx)
	a, err := e.svc.Trends(ctx, dave, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := a.Data[0].Total
	a.Data[0].Total = -1
	b, err := e.svc.Trends(ctx, dave, 7)
	if err != nil {
		t.Fatal(err)
	}
	if b.Data[0].Total != want {
		t.Errorf("Trends after the first caller changed its value: total %d, want %d", b.Data[0].Total, want)
	}
	// Callers that share one computation get values of their own.
	e.svc.clearLocal(ctx)
	var wg sync.WaitGroup
	got := make([]*Trends, 8)
	start := make(chan struct{})
	for i := range got {
		wg.Go(func() {
			<-start
			got[i], _ = e.svc.Trends(ctx, dave, 7)
		})
	}
	close(start)
	wg.Wait()
	seen := map[*Trends]bool{}
	for i, v := range got {
		if v == nil || seen[v] {
			t.Fatalf("caller %d: value %p is nil or another caller's", i, v)
		}
		seen[v] = true
	}
}
