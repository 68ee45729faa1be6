package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func TestMiddlewareTracksTheApplication(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app, svc, err := newApp(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()

	report := "6f1c9c53-3f5e-4a7e-9f53-2b1f7c0e4d11"
	requests := []struct {
		method, path, user string
		want               int
	}{
		{"POST", "/api/v1/clients/", "alice", http.StatusCreated},
		{"GET", "/api/v1/reports/" + report + "/download/pdf/", "bob", http.StatusOK},
		{"GET", "/api/v1/reports/" + report + "/download/pdf/", "", http.StatusUnauthorized}, // failed: not tracked
		{"GET", "/healthz", "alice", http.StatusOK},                                          // skipped path
	}
	for _, r := range requests {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
		if r.user != "" {
			req.SetBasicAuth(r.user, users[r.user].Password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Errorf("%s %s = %d, want %d", r.method, r.path, resp.StatusCode, r.want)
		}
	}
	// Close drains the recorder: every tracked request is in the store.
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ User, Type, Description, ReportID string }
	var got []row
	for _, a := range page.Activities {
		got = append(got, row{a.Username, a.ActivityType, a.Description, a.ReportID})
		if a.Metadata["path"] != a.Path || a.Path == "" {
			t.Errorf("activity %s: metadata %v, path %q", a.ActivityType, a.Metadata, a.Path)
		}
		if a.ActivityType == "create_client" && a.Metadata["client_id"] == nil {
			t.Errorf("the handler's metadata is missing: %v", a.Metadata)
		}
	}
	want := []row{
		{"bob", "download_report", "Downloaded report " + report + " as pdf", report},
		{"alice", "create_client", "Created a new client", ""},
	}
	opt := cmp.Transformer("sorted", func(rs []row) map[string]row {
		m := map[string]row{}
		for _, r := range rs {
			m[r.Type] = r
		}
		return m
	})
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("tracked activities (-want +got):\n%s", diff)
	}
	if len(got) != len(want) {
		t.Errorf("%d activities tracked, want %d", len(got), len(want))
	}
}
