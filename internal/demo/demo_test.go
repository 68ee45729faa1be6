package demo

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

var testNow = time.Date(2025, 11, 20, 15, 4, 5, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(Config{Now: testNow, Seed: 7})
	b := Generate(Config{Now: testNow, Seed: 7})
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different data (-first +second):\n%s", cmp.Diff(a, b))
	}
	c := Generate(Config{Now: testNow, Seed: 8})
	if a.Users[0].ID == c.Users[0].ID || len(a.Activities) == len(c.Activities) && a.Activities[0].ID == c.Activities[0].ID {
		t.Fatal("different seeds gave the same identifiers")
	}
	if diff := cmp.Diff(a.Users, Users(7)); diff != "" {
		t.Errorf("Users(seed) differs from the generated users (-generated +Users):\n%s", diff)
	}
}

func TestGenerateIsValidAndRealistic(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d := Generate(Config{Now: testNow, Seed: 1, Location: loc})

	if n := len(d.Clients); n < 10 || n > 15 {
		t.Errorf("%d clients, want about 12", n)
	}
	if n := len(d.Reports); n < 200 || n > 800 {
		t.Errorf("%d reports, want a few hundred over a year", n)
	}
	if n := len(d.Activities); n < 2000 || n > 20000 {
		t.Errorf("%d activities, want a few thousand over 90 days", n)
	}

	seen := map[string]map[string]bool{}
	mark := func(kind, v string) {
		if seen[kind] == nil {
			seen[kind] = map[string]bool{}
		}
		seen[kind][v] = true
	}
	for _, u := range d.Users {
		mark("role", u.Role)
		if !store.ValidUUID(u.ID) {
			t.Errorf("user %s id %q is not a UUID", u.Username, u.ID)
		}
	}
	clientCreated := map[string]time.Time{}
	for i := range d.Clients {
		c := d.Clients[i]
		if err := storedriver.PrepareClient(&c, testNow); err != nil {
			t.Errorf("client %d: %v", i, err)
		}
		if c.CreatedAt.After(testNow) {
			t.Errorf("client %s created in the future", c.CompanyName)
		}
		clientCreated[c.ID] = c.CreatedAt
		mark("industry", string(c.Industry))
		mark("client status", string(c.Status))
	}
	var recs, savingsRows int
	for i := range d.Reports {
		r := d.Reports[i]
		if err := storedriver.PrepareReport(&r, testNow); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		if r.CreatedAt.After(testNow) || r.CreatedAt.Before(testNow.AddDate(0, 0, -ReportDays-1)) {
			t.Errorf("report %d created at %v, outside the year", i, r.CreatedAt)
		}
		if created, ok := clientCreated[r.ClientID]; !ok || r.CreatedAt.Before(created) {
			t.Errorf("report %d predates its client or has an unknown client", i)
		}
		if r.Status == store.StatusCompleted && (r.ProcessingStartedAt == nil || r.ProcessingCompletedAt == nil) {
			t.Errorf("completed report %d lacks processing timestamps", i)
		}
		if r.Status != store.StatusCompleted && len(r.Recommendations) > 0 {
			t.Errorf("%s report %d has recommendations", r.Status, i)
		}
		if r.CSVSizeBytes == nil || *r.CSVSizeBytes <= 0 {
			t.Errorf("report %d has no CSV size", i)
		}
		mark("report type", string(r.ReportType))
		mark("report status", string(r.Status))
		for _, rec := range r.Recommendations {
			recs++
			mark("category", string(rec.Category))
			mark("impact", string(rec.BusinessImpact))
			if rec.PotentialSavings > 0 {
				savingsRows++
				if rec.Category != store.CategoryCost {
					t.Errorf("savings on a %s recommendation", rec.Category)
				}
			}
			if rec.SubscriptionID == "" || rec.ResourceName == "" || rec.ResourceType == "" || rec.Recommendation == "" {
				t.Errorf("incomplete recommendation %+v", rec)
			}
		}
	}
	if recs < 1000 {
		t.Errorf("%d recommendations, want thousands", recs)
	}
	if savingsRows == 0 {
		t.Error("no recommendation carries savings")
	}
	from := testNow.AddDate(0, 0, -ActivityDays)
	for i := range d.Activities {
		a := d.Activities[i]
		if err := storedriver.PrepareActivity(&a, testNow); err != nil {
			t.Fatalf("activity %d: %v", i, err)
		}
		if a.CreatedAt.Before(from) || !a.CreatedAt.Before(testNow) {
			t.Errorf("activity %d at %v is outside the 90 days", i, a.CreatedAt)
		}
		if i > 0 && a.CreatedAt.Before(d.Activities[i-1].CreatedAt) {
			t.Errorf("activity %d is out of order", i)
		}
		if a.UserID == "" || a.IPAddress == "" || a.UserAgent == "" || a.Path == "" || a.Method == "" || a.StatusCode == 0 {
			t.Errorf("incomplete activity %+v", a)
		}
		if a.Metadata["path"] != a.Path || a.Metadata["method"] != a.Method {
			t.Errorf("activity %d metadata %v does not match its request", i, a.Metadata)
		}
		mark("activity type", a.ActivityType)
		mark("activity user", a.Username)
	}

	want := map[string][]string{
		"role":          {"admin", "analyst", "manager", "viewer"},
		"report type":   strs(store.ReportTypes),
		"category":      strs(store.Categories),
		"impact":        {"", "high", "low", "medium"},
		"client status": strs([]store.ClientStatus{store.ClientActive, store.ClientInactive, store.ClientSuspended}),
		"activity type": {"create_client", "delete_report", "download_report", "generate_report", "login", "logout",
			"other", "share_report", "update_client", "upload_csv", "view_dashboard"},
	}
	for kind, values := range want {
		for _, v := range values {
			if !seen[kind][v] {
				t.Errorf("no %s %q in the data (have %v)", kind, v, keys(seen[kind]))
			}
		}
	}
	for _, st := range []string{"completed", "failed", "cancelled"} {
		if !seen["report status"][st] {
			t.Errorf("no report with status %s", st)
		}
	}
	if n := len(seen["activity user"]); n != len(d.Users) {
		t.Errorf("%d users have activity, want all %d", n, len(d.Users))
	}
	if n := len(seen["industry"]); n < 7 {
		t.Errorf("%d industries, want most of them", n)
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}
