package analytics

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// callers of the matrix, least privileged first; "" is anonymous.
var callers = []struct {
	token string
	p     Principal
}{{"", Principal{}}, {"bob", bob}, {"alice", alice}, {"carol", carol}, {"dave", dave}, {"erin", erin}}

func advisorSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "advisorcsv", "testdata", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

func TestRoleMatrix(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	csvBody := advisorSample(t, "advisor_export_example.csv")
	type tc struct {
		method, path string
		body         func() []byte
		minRole      Role // "" = any authenticated
		public       bool
		ok           int
	}
	js := func(s string) func() []byte { return func() []byte { return []byte(s) } }
	cases := []tc{
		{method: "GET", path: "dashboard/", ok: 200},
		{method: "GET", path: "metrics/", ok: 200},
		{method: "GET", path: "metrics/history/", ok: 200},
		{method: "GET", path: "trends/", ok: 200},
		{method: "GET", path: "categories/", ok: 200},
		{method: "GET", path: "recent-activity/", ok: 200},
		{method: "GET", path: "client-performance/", ok: 200},
		{method: "GET", path: "business-impact/", ok: 200},
		{method: "GET", path: "user-activity/", ok: 200},
		{method: "GET", path: "user-activity/export/", ok: 200},
		{method: "GET", path: "activity-summary/", ok: 200},
		{method: "GET", path: "cost-insights/", ok: 200},
		{method: "GET", path: "system-health/", minRole: RoleManager, ok: 200},
		{method: "GET", path: "activity-history/", minRole: RoleManager, ok: 200},
		{method: "GET", path: "entity-history/?entity_type=report&entity_id=" + report1, minRole: RoleManager, ok: 200},
		{method: "GET", path: "jobs/", minRole: RoleAdmin, ok: 200},
		{method: "POST", path: "cache/invalidate/", minRole: RoleAdmin, ok: 200},
		{method: "DELETE", path: "users/" + unknown + "/activities/", minRole: RoleAdmin, ok: 200},
		{method: "POST", path: "activities/", body: js(`{"activity_type":"view_dashboard"}`), ok: 202},
		{method: "POST", path: "ingest/activities/", body: js(`{"activities":[{"activity_type":"login","user":{"id":"` + alice.ID + `","username":"alice"},"created_at":"2025-01-02T03:04:05Z"}]}`), minRole: RoleAdmin, ok: 201},
		{method: "POST", path: "ingest/clients/", body: js(`{"id":"` + client3 + `","company_name":"Northwind","industry":"retail","status":"inactive"}`), minRole: RoleManager, ok: 200},
		{method: "POST", path: "ingest/reports/", body: func() []byte {
			return []byte(`{"id":"` + store.NewID() + `","client_id":"` + client3 + `","report_type":"cost","status":"completed"}`)
		}, minRole: RoleAnalyst, ok: 201},
		{method: "POST", path: "ingest/advisor-csv/?client_id=" + client3, body: func() []byte { return csvBody }, minRole: RoleAnalyst, ok: 201},
		{method: "GET", path: "openapi.json", public: true, ok: 200},
		{method: "HEAD", path: "metrics/", ok: 200},
		{method: "HEAD", path: "openapi.json", public: true, ok: 200},
	}
	for _, c := range cases {
		for _, who := range callers {
			name := c.method + " " + c.path + " as " + who.token
			if who.token == "" {
				name += "anonymous"
			}
			t.Run(name, func(t *testing.T) {
				want := c.ok
				switch {
				case c.public:
				case who.token == "":
					want = http.StatusUnauthorized
				case c.minRole != "" && !who.p.AtLeast(c.minRole):
					want = http.StatusForbidden
				}
				var body io.Reader
				if c.body != nil {
					body = bytes.NewReader(c.body())
				}
				r := e.do(t, c.method, c.path, who.token, body)
				if r.status != want {
					t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
				}
				if want == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want Bearer", r.header.Get("WWW-Authenticate"))
				}
				if c.path != "user-activity/export/" || want != 200 {
					if ct := r.header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q, want application/json", ct)
					}
				}
			})
		}
	}
}

// TestActivityScoping checks that only admins and managers read other
// users' activity.
func TestActivityScoping(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	paths := []string{"user-activity/?user_id=", "user-activity/export/?user_id="}
	for _, p := range paths {
		for _, who := range callers[1:] {
			t.Run(p+" as "+who.token, func(t *testing.T) {
				want := http.StatusForbidden
				if who.p.AtLeast(RoleManager) {
					want = http.StatusOK
				}
				if r := e.get(t, p+carol.ID, who.token); r.status != want && !(who.p.ID == carol.ID && r.status == 200) {
					t.Errorf("other user's id: status %d, want %d", r.status, want)
				}
				if r := e.get(t, p+who.p.ID, who.token); r.status != http.StatusOK {
					t.Errorf("own id: status %d, want 200: %s", r.status, r.body)
				}
			})
		}
	}
	// A viewer sees only their own rows, whatever the filter.
	page, err := e.svc.UserActivity(t.Context(), bob, UserActivityQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 3 {
		t.Errorf("bob sees %d activities, want his 3", page.TotalCount)
	}
	for _, a := range page.Activities {
		if a.User.ID != bob.ID {
			t.Errorf("bob sees activity %s of %s", a.ID, a.User.ID)
		}
	}
	sum, err := e.svc.ActivitySummary(t.Context(), bob, "", DateRange{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalActivities != 3 {
		t.Errorf("bob's summary counts %d activities, want 3", sum.TotalActivities)
	}
}
