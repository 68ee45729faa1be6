package tracking

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRuleMatch(t *testing.T) {
	const id = "3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8"
	rules, err := compileRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	type result struct{ Type, Desc, ID, Format string }
	tests := []struct {
		method, path string
		want         *result
	}{
		{"POST", "/api/v1/reports/", &result{"generate_report", "Generated a new report", "", ""}},
		{"POST", "/api/v1/reports", &result{"generate_report", "Generated a new report", "", ""}},
		{"POST", "/api/v1/reports/" + id + "/generate/", &result{"generate_report", "Generated report " + id, id, ""}},
		{"POST", "/api/v1/reports/" + id + "/generate", &result{"generate_report", "Generated report " + id, id, ""}},
		{"GET", "/api/v1/reports/" + id + "/download/", &result{"download_report", "Downloaded report " + id, id, ""}},
		{"GET", "/api/v1/reports/" + id + "/download/pdf/", &result{"download_report", "Downloaded report " + id + " as pdf", id, "pdf"}},
		{"GET", "/api/v1/reports/" + id + "/download/pdf", &result{"download_report", "Downloaded report " + id + " as pdf", id, "pdf"}},
		{"DELETE", "/api/v1/reports/" + id + "/", &result{"delete_report", "Deleted report " + id, id, ""}},
		{"POST", "/api/v1/reports/" + id + "/share/", &result{"share_report", "Shared report " + id, id, ""}},
		{"POST", "/api/v1/reports/shares/", &result{"share_report", "Shared a report", "", ""}},
		{"POST", "/api/v1/clients/", &result{"create_client", "Created a new client", "", ""}},
		{"PUT", "/api/v1/clients/" + id + "/", &result{"update_client", "Updated client " + id, id, ""}},
		{"PATCH", "/api/v1/clients/" + id, &result{"update_client", "Updated client " + id, id, ""}},
		{"DELETE", "/api/v1/clients/" + id + "/", &result{"delete_client", "Deleted client " + id, id, ""}},
		{"POST", "/api/v1/clients/" + id + "/upload-csv/", &result{"upload_csv", "Uploaded CSV for client " + id, id, ""}},
		{"POST", "/api/v1/reports/upload/", &result{"upload_csv", "Uploaded CSV", "", ""}},
		{"POST", "/api/v1/auth/login/", &result{"login", "Logged in", "", ""}},
		{"POST", "/api/v1/auth/logout", &result{"logout", "Logged out", "", ""}},
		{"GET", "/api/v1/analytics/dashboard/", &result{"view_dashboard", "Viewed dashboard", "", ""}},

		{"GET", "/api/v1/reports/", nil},
		{"GET", "/api/v1/reports/" + id + "/", nil},
		{"POST", "/api/v1/reports/not-a-uuid/generate/", nil},
		{"POST", "/api/v1/reports/" + id + "/generate/extra/", nil},
		{"GET", "/api/v1/reports/" + id + "/download//", nil},
		{"GET", "/api/v1/reports/" + id + "/download/pdf/x/", nil},
		{"POST", "/api/v1/reports//", nil},
		{"POST", "/api/v1/reports//generate/", nil},
		{"POST", "/API/v1/reports/", nil},
		{"POST", "/api/v1/auth/login/extra", nil},
		{"POST", "api/v1/clients/", nil},
		{"POST", "", nil},
		{"POST", "/", nil},
		{"PUT", "/api/v1/clients/", nil},
		{"DELETE", "/api/v1/analytics/dashboard/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, gotID, gotFormat := rules.match(tt.method, tt.path)
			var got *result
			if r != nil {
				got = &result{r.ActivityType, r.describe(tt.method, tt.path, gotID, gotFormat), gotID, gotFormat}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("match (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleIDField(t *testing.T) {
	rules, err := compileRules([]Rule{
		{Methods: []string{"POST"}, Pattern: "/reports/{id}/x", ActivityType: "a"},
		{Methods: []string{"POST"}, Pattern: "/clients/{id}/x", ActivityType: "b"},
		{Methods: []string{"POST"}, Pattern: "/things/{id}/x", ActivityType: "c"},
		{Methods: []string{"POST"}, Pattern: "/things/{id}/y", ActivityType: "d", IDField: IDClient},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []IDField
	for _, r := range rules.all {
		got = append(got, r.idField)
	}
	if diff := cmp.Diff([]IDField{IDReport, IDClient, "", IDClient}, got); diff != "" {
		t.Errorf("id fields (-want +got):\n%s", diff)
	}
	if got := rules.all[0].describe("POST", "/p", "", ""); got != "POST /p" {
		t.Errorf("default description = %q, want %q", got, "POST /p")
	}
}

func TestRuleRoot(t *testing.T) {
	rules, err := compileRules([]Rule{{Methods: []string{"GET"}, Pattern: "/", ActivityType: "home", Description: "{method} home"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/": true, "": false, "/x": false, "//": false} {
		if r, _, _ := rules.match("GET", path); (r != nil) != want {
			t.Errorf("match(%q) = %v, want %v", path, r != nil, want)
		}
	}
}

func TestRuleValidation(t *testing.T) {
	ok := Rule{Methods: []string{"POST"}, Pattern: "/x/{id}/", ActivityType: "x", Description: "did {id}"}
	tests := []struct {
		name    string
		mutate  func(*Rule)
		wantErr string
	}{
		{"no methods", func(r *Rule) { r.Methods = nil }, "methods"},
		{"lower-case method", func(r *Rule) { r.Methods = []string{"post"} }, "upper case"},
		{"no type", func(r *Rule) { r.ActivityType = " " }, "activity type"},
		{"long type", func(r *Rule) { r.ActivityType = strings.Repeat("x", 51) }, "longer"},
		{"relative pattern", func(r *Rule) { r.Pattern = "x/" }, "must start with /"},
		{"empty segment", func(r *Rule) { r.Pattern = "/x//y" }, "empty segment"},
		{"unknown placeholder", func(r *Rule) { r.Pattern = "/x/{name}" }, "unknown placeholder"},
		{"unknown template placeholder", func(r *Rule) { r.Description = "did {what}" }, "unknown placeholder"},
		{"unclosed template", func(r *Rule) { r.Description = "did {id" }, "unclosed"},
		{"bad id field", func(r *Rule) { r.IDField = "user_id" }, "id field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mutate(&r)
			_, err := compileRules([]Rule{ok, r})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Rules[1]") {
				t.Fatalf("compileRules = %v, want an error naming Rules[1] and %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultRulesIsACopy(t *testing.T) {
	a := DefaultRules()
	a[0].ActivityType = "changed"
	a[0].Methods[0] = "PUT"
	if b := DefaultRules(); b[0].ActivityType != TypeGenerateReport || b[0].Methods[0] != "POST" {
		t.Errorf("DefaultRules shares state between calls: %+v", b[0])
	}
}

func TestDefaultRulesAt(t *testing.T) {
	tests := []struct {
		analyticsPath string
		path          string
		want          bool // a view_dashboard activity
	}{
		{"", "/api/v1/analytics/dashboard/", true},
		{"/api/v1/analytics", "/api/v1/analytics/dashboard", true},
		{"/admin/analytics", "/admin/analytics/dashboard/", true},
		{"/admin/analytics/", "/admin/analytics/dashboard", true},
		{"/admin/analytics", "/api/v1/analytics/dashboard/", false},
		{"/admin/analytics", "/admin/analytics/dashboard/extra/", false},
		{"/admin/analytics", "/other/admin/analytics/dashboard/", false},
		{"/", "/dashboard/", true},
		{"/", "/api/v1/analytics/dashboard/", false},
	}
	for _, tt := range tests {
		t.Run(tt.analyticsPath+" "+tt.path, func(t *testing.T) {
			rules, err := compileRules(DefaultRulesAt(tt.analyticsPath))
			if err != nil {
				t.Fatal(err)
			}
			r, _, _ := rules.match("GET", tt.path)
			if got := r != nil && r.ActivityType == TypeViewDashboard; got != tt.want {
				t.Errorf("GET %s is a dashboard view = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestDefaultRulesAtMovesOnlyTheDashboardRule(t *testing.T) {
	want := DefaultRules()
	for i := range want {
		if want[i].ActivityType == TypeViewDashboard {
			want[i].Pattern = "/admin/analytics/dashboard/"
		}
	}
	if diff := cmp.Diff(want, DefaultRulesAt("/admin/analytics")); diff != "" {
		t.Errorf("DefaultRulesAt (-want +got):\n%s", diff)
	}
}

func TestRuleMatchDoesNotAllocate(t *testing.T) {
	rules, err := compileRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/reports/3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8/download/csv/"
	if n := testing.AllocsPerRun(100, func() { rules.match("GET", path) }); n != 0 {
		t.Errorf("match allocates %v times", n)
	}
}
