package analytics

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestClientsRoute checks the clients route's order, window, parameters
// and roles, and that a client written through the Service is listed.
func TestClientsRoute(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, nil)
		names := func(path string) []string {
			t.Helper()
			r := e.get(t, path, "bob")
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			var cs []ClientOut
			if err := json.Unmarshal(r.body, &cs); err != nil {
				t.Fatalf("GET %s: %v in %s", path, err, r.body)
			}
			out := make([]string, len(cs))
			for i, c := range cs {
				out[i] = c.CompanyName
			}
			return out
		}
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"clients/", []string{"Contoso", "Fabrikam", "Northwind"}},
			{"clients", []string{"Contoso", "Fabrikam", "Northwind"}},
			{"clients/?limit=1", []string{"Contoso"}},
			{"clients/?limit=2&offset=2", []string{"Northwind"}},
			{"clients/?offset=3", []string{}},
			{"clients/?limit=0&offset=-5", []string{"Contoso", "Fabrikam", "Northwind"}},
			{"clients/?limit=100000", []string{"Contoso", "Fabrikam", "Northwind"}},
			{"clients/?search=o", []string{"Contoso", "Northwind"}},
			{"clients/?search=+NORTH+", []string{"Northwind"}},
			{"clients/?search=o&offset=1", []string{"Northwind"}},
			{"clients/?search=%25", []string{}},
			{"clients/?search=", []string{"Contoso", "Fabrikam", "Northwind"}},
		} {
			if got := names(tc.path); !slices.Equal(got, tc.want) {
				t.Errorf("GET %s = %q, want %q", tc.path, got, tc.want)
			}
		}
		for _, tc := range []struct{ path, field string }{
			{"clients/?limit=ten", "limit"},
			{"clients/?offset=1.5", "offset"},
			{"clients/?search=" + strings.Repeat("x", 256), "search"},
			{"clients/?search=%FF", "search"},
		} {
			r := e.get(t, tc.path, "bob")
			if r.status != http.StatusBadRequest || errBody(t, r).Field != tc.field {
				t.Errorf("GET %s: %d %s, want 400 with field %s", tc.path, r.status, r.body, tc.field)
			}
		}
		// One client by id, upper-case ids included.
		for _, path := range []string{"clients/" + client3 + "/", "clients/" + strings.ToUpper(client3)} {
			r := e.get(t, path, "bob")
			var c ClientOut
			if r.status != http.StatusOK || json.Unmarshal(r.body, &c) != nil {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			want := ClientOut{ID: client3, CompanyName: "Northwind", Industry: "retail", Status: "inactive", CreatedAt: Timestamp(tp("2025-05-20T14:00:00Z"))}
			if c != want {
				t.Errorf("GET %s = %+v, want %+v", path, c, want)
			}
		}
		if r := e.get(t, "clients/"+unknown+"/", "bob"); r.status != http.StatusNotFound || errBody(t, r).Error != "Client not found" {
			t.Errorf("unknown client: %d %s", r.status, r.body)
		}
		if r := e.get(t, "clients/nope/", "bob"); r.status != http.StatusBadRequest || errBody(t, r).Field != "id" {
			t.Errorf("malformed id: %d %s", r.status, r.body)
		}
		// A client's recent reports: that client's alone, newest first.
		all := e.get(t, "recent-activity/?limit=100", "bob")
		var every, mine []RecentItem
		if err := json.Unmarshal(all.body, &every); err != nil {
			t.Fatal(err)
		}
		r := e.get(t, "recent-activity/?limit=100&client_id="+strings.ToUpper(client1), "bob")
		if err := json.Unmarshal(r.body, &mine); r.status != http.StatusOK || err != nil {
			t.Fatalf("recent-activity of client1: %d %s", r.status, r.body)
		}
		var want []RecentItem
		for _, it := range every {
			if it.ClientName == "Contoso" {
				want = append(want, it)
			}
		}
		if len(want) == 0 || !slices.Equal(mine, want) {
			t.Errorf("recent-activity of client1 = %+v, want %+v", mine, want)
		}
		if r := e.get(t, "recent-activity/?client_id="+unknown, "bob"); r.status != http.StatusNotFound {
			t.Errorf("recent-activity of an unknown client: %d %s", r.status, r.body)
		}
		if r := e.get(t, "recent-activity/?client_id=nope", "bob"); r.status != http.StatusBadRequest || errBody(t, r).Field != "client_id" {
			t.Errorf("recent-activity of a malformed client id: %d %s", r.status, r.body)
		}
		if r := e.get(t, "clients/", ""); r.status != http.StatusUnauthorized {
			t.Errorf("GET clients/ without a token: %d, want 401", r.status)
		}
		if r := e.postJSON(t, "ingest/clients/", "carol", map[string]any{"company_name": "Aardvark Ltd"}); r.status != http.StatusCreated {
			t.Fatalf("ingest client: %d %s", r.status, r.body)
		}
		if got := names("clients/?limit=2"); !slices.Equal(got, []string{"Aardvark Ltd", "Contoso"}) {
			t.Errorf("after a new client: %q", got)
		}
	})
}
