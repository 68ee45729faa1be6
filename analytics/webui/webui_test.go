package webui_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// firstClient returns a client id the demo activities refer to.
func (e *env) firstClient(t testing.TB) string {
	t.Helper()
	page, err := e.svc.UserActivity(context.Background(), e.users["admin"], analytics.UserActivityQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Activities {
		if a.ClientID != nil {
			return *a.ClientID
		}
	}
	t.Fatal("no demo activity refers to a client")
	return ""
}

// pages are the dashboard's pages, with the lowest role that may see them.
func pages(client string) []struct {
	path string
	min  analytics.Role
} {
	return []struct {
		path string
		min  analytics.Role
	}{
		{"/ui/", analytics.RoleViewer},
		{"/ui/?days=90", analytics.RoleViewer},
		{"/ui/activity", analytics.RoleViewer},
		{"/ui/activity?activity_type=login&date_from=2025-06-01&date_to=2025-06-15", analytics.RoleViewer},
		{"/ui/clients", analytics.RoleViewer},
		{"/ui/clients/" + client, analytics.RoleViewer},
		{"/ui/cost", analytics.RoleViewer},
		{"/ui/cost?report_type=cost&report_type=security&date_from=2025-01-01", analytics.RoleViewer},
		{"/ui/health", analytics.RoleManager},
	}
}

func rank(r analytics.Role) int {
	for i, x := range roles {
		if x == r {
			return len(roles) - i
		}
	}
	return 0
}

func TestPagesByRole(t *testing.T) {
	for _, k := range teststore.Drivers {
		t.Run(k.Name, func(t *testing.T) {
			e := newEnv(t, k.Open(t), webui.Config{})
			client := e.firstClient(t)
			for _, role := range roles {
				for _, pg := range pages(client) {
					res, body := e.get(t, pg.path, string(role))
					want := http.StatusOK
					if rank(role) < rank(pg.min) {
						want = http.StatusForbidden
					}
					if res.StatusCode != want {
						t.Errorf("%s %s: status %d, want %d\n%s", role, pg.path, res.StatusCode, want, body)
						continue
					}
					if got := res.Header.Get("Content-Security-Policy"); got != webui.ContentSecurityPolicy {
						t.Errorf("%s %s: CSP %q", role, pg.path, got)
					}
					if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
						t.Errorf("%s %s: Content-Type %q", role, pg.path, ct)
					}
					seesHealth := strings.Contains(body, `href="/ui/health"`)
					if seesHealth != (rank(role) >= rank(analytics.RoleManager)) {
						t.Errorf("%s %s: Health link shown = %v", role, pg.path, seesHealth)
					}
					checkSameOrigin(t, role, pg.path, body)
				}
			}
			// Jobs and the cache form are the admin's.
			_, admin := e.get(t, "/ui/health", "admin")
			_, manager := e.get(t, "/ui/health", "manager")
			for _, marker := range []string{`id="jobs"`, `action="/ui/health/invalidate-cache"`} {
				if !strings.Contains(admin, marker) {
					t.Errorf("admin health page lacks %s", marker)
				}
				if strings.Contains(manager, marker) {
					t.Errorf("manager health page shows %s", marker)
				}
			}
		})
	}
}

var externalRef = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`)

// checkSameOrigin fails when the page refers to another origin or has
// inline script or style.
func checkSameOrigin(t *testing.T, role analytics.Role, path, body string) {
	t.Helper()
	if m := externalRef.FindString(body); m != "" {
		t.Errorf("%s %s: refers to another origin: %s", role, path, m)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<style") || strings.Contains(body, " style=") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
		t.Errorf("%s %s: inline script or style (the CSP refuses it)", role, path)
	}
}

func TestViewerSeesOnlyOwnActivity(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	viewer, admin := e.users["viewer"], e.users["admin"]
	own, err := e.svc.UserActivity(context.Background(), viewer, analytics.UserActivityQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.svc.UserActivity(context.Background(), admin, analytics.UserActivityQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if own.TotalCount == 0 || own.TotalCount >= all.TotalCount {
		t.Fatalf("demo data: the viewer has %d of %d activities", own.TotalCount, all.TotalCount)
	}
	// Asking for someone else's activity still shows the viewer's own.
	for _, path := range []string{"/ui/activity", "/ui/activity?user_id=" + admin.ID} {
		_, body := e.get(t, path, "viewer")
		if got := dataValue(t, body, "activity-total"); got != strconv.FormatInt(own.TotalCount, 10) {
			t.Errorf("%s: total %s, want the viewer's %d", path, got, own.TotalCount)
		}
		if strings.Contains(body, `name="user_id"`) {
			t.Errorf("%s: the viewer is offered a user filter", path)
		}
		if strings.Contains(body, admin.FullName) {
			t.Errorf("%s: the viewer sees the admin's activity", path)
		}
	}
	_, body := e.get(t, "/ui/activity", "admin")
	if got := dataValue(t, body, "activity-total"); got != strconv.FormatInt(all.TotalCount, 10) {
		t.Errorf("admin total %s, want %d", got, all.TotalCount)
	}
	// The export follows the same scope.
	res, body := e.get(t, "/ui/activity/export?format=csv&user_id="+admin.ID, "viewer")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if int64(len(rows)-1) != own.TotalCount {
		t.Errorf("export: %d rows, want the viewer's %d", len(rows)-1, own.TotalCount)
	}
	if res, _ := e.get(t, "/ui/activity/export?format=xml", "viewer"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("export format=xml: %d, want 400", res.StatusCode)
	}
}

var dataValueRE = regexp.MustCompile(`id="([a-z-]+)" data-value="([^"]*)"`)

func dataValue(t *testing.T, body, id string) string {
	t.Helper()
	for _, m := range dataValueRE.FindAllStringSubmatch(body, -1) {
		if m[1] == id {
			return m[2]
		}
	}
	t.Fatalf("no element %s with data-value", id)
	return ""
}

func TestSignedOut(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	res, body := e.get(t, "/ui/activity", "")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sign in required") {
		t.Errorf("signed out: %d\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, `href="/ui/activity"`) {
		t.Error("signed out: the navigation is shown")
	}
	res, _ = e.get(t, "/ui/activity", "nobody")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: %d", res.StatusCode)
	}

	e2 := newEnv(t, teststore.SQLite(t), webui.Config{SignInURL: "/login", SignOutURL: "/logout"})
	res, _ = e2.get(t, "/ui/cost?date_from=2025-01-01", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fui%2Fcost%3Fdate_from%3D2025-01-01" {
		t.Errorf("signed out with SignInURL: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = e2.get(t, "/ui/", "viewer")
	if !strings.Contains(body, `<form method="post" action="/logout">`) {
		t.Error("no sign-out form with SignOutURL")
	}
}

func TestInvalidateCacheCrossOrigin(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	const path = "/ui/health/invalidate-cache"
	for _, tc := range []struct {
		name, role string
		hdr        map[string]string
		want       int
	}{
		{"cross-site", "admin", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"other origin", "admin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin manager", "manager", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"same-origin viewer", "viewer", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"signed out", "", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusUnauthorized},
		{"same-origin admin", "admin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no browser headers admin", "admin", nil, http.StatusSeeOther},
	} {
		res, body := e.do(t, http.MethodPost, path, tc.role, tc.hdr)
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.name, res.StatusCode, tc.want, body)
		}
		if tc.want == http.StatusSeeOther {
			if loc := res.Header.Get("Location"); loc != "/ui/health?done=cache-invalidated" {
				t.Errorf("%s: Location %q", tc.name, loc)
			}
		}
	}
	_, body := e.get(t, "/ui/health?done=cache-invalidated", "admin")
	if !strings.Contains(body, "The cache was invalidated.") {
		t.Error("no confirmation after invalidating")
	}
	if res, _ := e.get(t, path, "admin"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
	}
}

func TestStaticAssets(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	_, page := e.get(t, "/ui/", "viewer")
	for name, ctype := range map[string]string{"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"} {
		m := regexp.MustCompile(`"(/ui/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]{12})"`).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("the page does not link %s with its hash", name)
			continue
		}
		res, body := e.get(t, m[1], "")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != ctype || body == "" {
			t.Errorf("%s: %d %q %d bytes", name, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
		if res, _ := e.get(t, "/ui/static/"+name+"?v=old", ""); res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s with a stale hash: Cache-Control %q", name, res.Header.Get("Cache-Control"))
		}
	}
	if res, _ := e.get(t, "/ui/static/missing.js", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
	if res, _ := e.get(t, "/ui/favicon.ico", ""); res.StatusCode != http.StatusMovedPermanently {
		t.Errorf("favicon.ico: %d", res.StatusCode)
	}
	if res, body := e.get(t, "/ui/nowhere", "viewer"); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") {
		t.Errorf("unknown page: %d", res.StatusCode)
	}
}

func TestBadParameters(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	for _, path := range []string{
		"/ui/activity?date_from=yesterday",
		"/ui/activity?date_from=2025-06-10&date_to=2025-06-01",
		"/ui/cost?report_type=nope",
		"/ui/clients/not-a-uuid",
		"/ui/clients?client_id=nope",
		"/ui/clients?offset=ten",
	} {
		if res, body := e.get(t, path, "admin"); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400\n%s", path, res.StatusCode, body)
		}
	}
	if res, _ := e.get(t, "/ui/clients/99999999-0000-4000-8000-000000000009", "admin"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown client: %d, want 404", res.StatusCode)
	}
	client := e.firstClient(t)
	if res, _ := e.get(t, "/ui/clients?client_id="+strings.ToUpper(client), "admin"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/clients/"+client {
		t.Errorf("client_id form: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestNew(t *testing.T) {
	if _, err := webui.New(nil, webui.Config{}); err == nil {
		t.Error("nil Service accepted")
	}
	st := teststore.SQLite(t)
	svc, err := analytics.New(st, analytics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webui.New(svc, webui.Config{}); err == nil {
		t.Error("missing Identify accepted")
	}
	id := func(*http.Request) (analytics.Principal, error) { return analytics.Principal{}, nil }
	if _, err := webui.New(svc, webui.Config{Identify: id, Prefix: "ui"}); err == nil {
		t.Error("prefix without a slash accepted")
	}
	_ = store.ReportTypes
}

// TestOverviewChangesSayWhatTheyMeasure: each card's change is the change of
// its own figure, except the active clients', which is the change in new
// clients and must say so.
func TestOverviewChangesSayWhatTheyMeasure(t *testing.T) {
	e := newEnv(t, teststore.Drivers[0].Open(t), webui.Config{})
	_, body := e.get(t, "/ui/", "admin")
	cardRE := regexp.MustCompile(`(?s)data-metric="([^"]+)".*?</li>`)
	changeRE := regexp.MustCompile(`(?s)<span class="change [^"]*" title="([^"]*)">([^<]*)<`)
	seen := 0
	for _, m := range cardRE.FindAllStringSubmatch(body, -1) {
		c := changeRE.FindStringSubmatch(m[0])
		if c == nil {
			continue
		}
		seen++
		title, text := c[1], strings.TrimSpace(c[2])
		if m[1] == "activeClients" {
			if title != "change in new clients from last month" || !strings.HasPrefix(text, "new clients ") {
				t.Errorf("activeClients: change %q titled %q, want it to name new clients", text, title)
			}
		} else if title != "change from last month" || strings.Contains(text, "new clients") {
			t.Errorf("%s: change %q titled %q", m[1], text, title)
		}
	}
	if seen < 5 {
		t.Fatalf("%d cards with a change found in the overview", seen)
	}
}
