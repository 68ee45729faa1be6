package analytics

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestExportHeadersAndScope(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	r := e.get(t, "user-activity/export/?format=csv", "bob")
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.header.Get("Content-Disposition") != `attachment; filename="user-activity-20250615T120000Z.csv"` {
		t.Fatalf("%d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(exportColumns, ",") {
		t.Fatalf("bob's export has %d rows: %v", len(rows), rows)
	}
	for _, row := range rows[1:] {
		if row[2] != bob.ID {
			t.Errorf("bob's export holds a row of %s", row[2])
		}
	}
	r = e.get(t, "user-activity/export/?format=ndjson&activity_type=login", "dave")
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" || bytes.Count(r.body, []byte("\n")) != 2 {
		t.Errorf("ndjson: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	h := e.do(t, http.MethodHead, "user-activity/export/", "dave", nil)
	if h.status != 200 || len(h.body) != 0 || h.header.Get("Content-Disposition") == "" {
		t.Errorf("HEAD export: %d %v", h.status, h.header)
	}
	if csvSafe("=HYPERLINK(1)") != "'=HYPERLINK(1)" || csvSafe("plain") != "plain" {
		t.Error("csvSafe does not neutralise formulas")
	}
}

// TestMiddlewareTracksDashboardViews checks the Middleware wiring: a GET
// of the dashboard by a user becomes a view_dashboard activity, and the
// request is counted in the HTTP figures.
func TestMiddlewareTracksDashboardViews(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	if r := e.get(t, "dashboard/", "alice"); r.status != 200 {
		t.Fatalf("dashboard: %d %s", r.status, r.body)
	}
	e.srv.Close() // the middleware records once the handler has returned
	if err := e.svc.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	page, err := e.svc.UserActivity(t.Context(), alice, UserActivityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 1 || page.Activities[0].ActivityType != "view_dashboard" || page.Activities[0].User.Username != "alice" {
		t.Fatalf("tracked activities: %+v", page)
	}
	if st := e.svc.RecorderStats(); st.Written != 1 {
		t.Errorf("recorder stats %+v", st)
	}
	if f := e.svc.HTTPStats(); f.Requests != 1 {
		t.Errorf("HTTP figures %+v", f)
	}
}

// TestMiddlewareTracksDashboardViewsAtAnalyticsPath checks that the
// dashboard rule follows Config.Tracking.AnalyticsPath.
func TestMiddlewareTracksDashboardViewsAtAnalyticsPath(t *testing.T) {
	tests := []struct {
		name          string
		analyticsPath string
		mount         string
		want          []string // activity types recorded
	}{
		{"default mount", "", "/api/v1/analytics", []string{"view_dashboard"}},
		{"mounted elsewhere", "/admin/analytics", "/admin/analytics", []string{"view_dashboard"}},
		{"mounted elsewhere, trailing slash", "/admin/analytics/", "/admin/analytics", []string{"view_dashboard"}},
		{"mounted elsewhere without AnalyticsPath", "", "/admin/analytics", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openSQLite(t)
			svc, err := New(st, Config{IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger(),
				Tracking: TrackingConfig{AnalyticsPath: tt.analyticsPath}})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle(tt.mount+"/", svc.HandlerWithPrefix(tt.mount))
			srv := httptest.NewServer(svc.Middleware()(mux))
			t.Cleanup(srv.Close)
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.mount+"/dashboard/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer alice")
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("dashboard: status %d", res.StatusCode)
			}
			// The middleware records after the response is written: wait for
			// the handler to return, then flush the Recorder.
			srv.Close()
			if err := svc.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			page, err := st.ActivityList(t.Context(), store.ActivityListParams{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range page.Activities {
				got = append(got, a.ActivityType)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("recorded activity types (-want +got):\n%s", diff)
			}
		})
	}
}
