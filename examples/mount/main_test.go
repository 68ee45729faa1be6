package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func TestMountedBehindTheHostsAuth(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.ClientUpsert(ctx, &store.Client{ID: store.NewID(), CompanyName: "Northwind"}); err != nil {
		t.Fatal(err)
	}
	app, svc, err := newApp(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(ctx)
	srv := httptest.NewServer(app)
	defer srv.Close()

	client := func(user string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if user != "" {
			resp, err := c.PostForm(srv.URL+"/login", url.Values{"user": {user}, "password": {accounts[user].Password}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("login %s = %d", user, resp.StatusCode)
			}
		}
		return c
	}
	get := func(c *http.Client, path string) (int, string, string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}

	admin, viewer, anonymous := client("dana"), client("vic"), client("")
	tests := []struct {
		name     string
		c        *http.Client
		path     string
		want     int
		contains string
	}{
		{"host refuses without a session", anonymous, "/admin/analytics/metrics/", http.StatusUnauthorized, "please sign in"},
		{"viewer reads metrics", viewer, "/admin/analytics/metrics/", http.StatusOK, `"activeClients":1`},
		{"without trailing slash", viewer, "/admin/analytics/metrics", http.StatusOK, `"total_reports":0`},
		{"viewer denied system-health by the analytics", viewer, "/admin/analytics/system-health/", http.StatusForbidden, "permission"},
		{"admin reads system-health", admin, "/admin/analytics/system-health/", http.StatusOK, `"status":`},
		{"unknown analytics route", admin, "/admin/analytics/nope/", http.StatusNotFound, `"error"`},
		{"outside the mount", admin, "/api/v1/analytics/metrics/", http.StatusNotFound, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get(tt.c, tt.path)
			if code != tt.want || !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s = %d %s; want %d containing %q", tt.path, code, body, tt.want, tt.contains)
			}
		})
	}

	// The analytics see the host's user: its activity is its own.
	req, _ := http.NewRequest("POST", srv.URL+"/admin/analytics/activities/", strings.NewReader(`{"activity_type":"view_dashboard"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := viewer.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST activities/ = %d", resp.StatusCode)
	}
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Activities) != 1 || page.Activities[0].UserID != accounts["vic"].ID || page.Activities[0].Username != "vic" {
		t.Errorf("recorded activities %+v, want one by vic", page.Activities)
	}
}
