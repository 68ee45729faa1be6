package analytics

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks the served document against the route
// table and the router: every documented path and method is served, and
// every route is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	r := e.get(t, "openapi.json", "")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	if len(doc.Paths) != len(e.svc.Routes()) {
		t.Errorf("%d documented paths, %d routes", len(doc.Paths), len(e.svc.Routes()))
	}
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !strings.HasPrefix(p, basePath+"/") {
			t.Errorf("path %s outside %s", p, basePath)
			continue
		}
		rel := strings.ReplaceAll(strings.TrimPrefix(p, basePath+"/"), "{id}", unknown)
		for method := range doc.Paths[p] {
			m := strings.ToUpper(method)
			res := e.do(t, m, rel, "dave", nil)
			if m == http.MethodHead && res.status == http.StatusNotFound {
				// HEAD has no body to tell an unknown entity from an
				// unknown route: GET's has.
				if get := e.do(t, http.MethodGet, rel, "dave", nil); get.status == res.status {
					res.body = get.body
				}
			}
			if res.status == http.StatusNotFound && !strings.Contains(string(res.body), "not found") || res.status == http.StatusMethodNotAllowed {
				t.Errorf("documented %s %s answers %d: %s", m, p, res.status, res.body)
			}
			if res.status == http.StatusNotFound && strings.Contains(string(res.body), "No analytics route") {
				t.Errorf("documented %s %s is not routed", m, p)
			}
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(doc.Paths[p][method], &op); err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			if _, documented := op.Responses["404"]; res.status == http.StatusNotFound && !documented {
				t.Errorf("%s %s answers 404 for an unknown id, and its 404 is not documented", m, p)
			}
		}
	}
	for _, rt := range e.svc.Routes() {
		ops, ok := doc.Paths[basePath+"/"+rt.Path+"/"]
		if !ok {
			t.Errorf("route %s undocumented", rt.Path)
			continue
		}
		for _, m := range rt.Methods {
			if _, ok := ops[strings.ToLower(m)]; !ok {
				t.Errorf("%s %s undocumented", m, rt.Path)
			}
		}
	}
}
