package analytics

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

func TestRound(t *testing.T) {
	cases := []struct {
		x      float64
		places int
		want   string
	}{
		{12.25, 1, "12.2"}, {26.75, 1, "26.8"}, {2.675, 2, "2.67"}, {0.125, 2, "0.12"}, {0.375, 1, "0.4"},
		{50, 1, "50.0"}, {-25, 1, "-25.0"}, {0, 1, "0.0"}, {-0.04, 1, "0.0"}, {1660.74, 2, "1660.74"},
		{8303.700000000001, 2, "8303.7"}, {1e21, 2, "1000000000000000000000.0"},
	}
	for _, c := range cases {
		b, err := json.Marshal(round(c.x, c.places))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("round(%v, %d) = %s, want %s", c.x, c.places, b, c.want)
		}
	}
}

func TestPercentChange(t *testing.T) {
	cases := []struct {
		cur, prev float64
		want      Decimal
	}{
		{150, 100, 50.0}, {75, 100, -25.0}, {100, 0, 100.0}, {0, 0, 0.0}, {0, 100, -100.0}, {1, 3, -66.7}, {100.25, 100, 0.2},
	}
	for _, c := range cases {
		if got := percentChange(c.cur, c.prev); got != c.want {
			t.Errorf("percentChange(%v, %v) = %v, want %v", c.cur, c.prev, got, c.want)
		}
	}
}

func TestFormatBytesAndUptime(t *testing.T) {
	bytesCases := map[int64]string{0: "0.00 MB", 12939428: "12.34 MB", 1<<30 - 1: "1024.00 MB", 1 << 30: "1.00 GB", 1320702444: "1.23 GB"}
	for n, want := range bytesCases {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	upCases := map[time.Duration]string{
		0: "0 minutes", 61 * time.Second: "1 minute", 3*time.Hour + 5*time.Minute: "3 hours, 5 minutes",
		76 * time.Hour: "3 days, 4 hours", 25 * time.Hour: "1 day, 1 hour",
	}
	for d, want := range upCases {
		if got := formatUptime(d); got != want {
			t.Errorf("formatUptime(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParameterRules(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	dateMsg := func(f string) string {
		return "Invalid " + f + " format. Use ISO format (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
	}
	bad := []struct {
		path, field, msg string
	}{
		{"trends/?days=0", "days", ""}, {"trends/?days=367", "days", ""}, {"trends/?days=abc", "days", "days must be an integer"},
		{"trends/?days=1.5", "days", ""}, {"recent-activity/?limit=ten", "limit", ""},
		{"user-activity/?limit=x", "limit", ""}, {"user-activity/?offset=-x", "offset", ""},
		{"user-activity/?date_from=2025-13-01", "date_from", dateMsg("date_from")},
		{"user-activity/?date_to=junk", "date_to", dateMsg("date_to")},
		{"user-activity/?date_from=2025-06-02&date_to=2025-06-01", "date_from", ""},
		{"user-activity/?client_id=nope", "client_id", ""}, {"user-activity/?report_id=123", "report_id", ""},
		{"user-activity/?cursor=abc&offset=0", "cursor", ""},
		{"user-activity/?cursor=" + storedriver.EncodeCursor(fixedNow, report1) + "&offset=5", "offset", ""},
		{"client-performance/?client_id=xyz", "client_id", ""},
		{"activity-summary/?group_by=month", "group_by", "Invalid group_by. Must be one of: activity_type, user, day"},
		{"cost-insights/?report_type=cost,bogus", "report_type", ""},
		{"cost-insights/?date_from=2025-06-01T10:00:00Zjunk", "date_from", dateMsg("date_from")},
		{"entity-history/?entity_type=user&entity_id=" + client1, "entity_type", ""},
		{"entity-history/?entity_type=client&entity_id=abc", "entity_id", ""},
		{"entity-history/?entity_type=client", "entity_id", ""},
		{"metrics/history/?period=yearly", "period", ""},
		{"user-activity/export/?format=xml", "format", ""},
		{"activity-history/?client_id=1", "client_id", ""},
		// net/http drops these pairs; the route must not answer without them.
		{"user-activity/?date_from=';drop%20table", "date_from", ""},
		{"user-activity/?limit=5;offset=2", "limit", ""},
		{"user-activity/?limit=5&date_from=%zz", "date_from", ""},
		{"user-activity/?%zz=1", "%zz", ""}, {"user-activity/?;", "query", ""},
	}
	for _, c := range bad {
		t.Run(c.path, func(t *testing.T) {
			r := e.get(t, c.path, "dave")
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			eb := errBody(t, r)
			if eb.Field != c.field {
				t.Errorf("field %q, want %q (%+v)", eb.Field, c.field, eb)
			}
			if c.msg != "" && eb.Error != c.msg {
				t.Errorf("error %q, want %q", eb.Error, c.msg)
			}
			if eb.Message == "" {
				t.Error("empty message")
			}
		})
	}

	clamps := []struct {
		path          string
		limit, offset int
	}{
		{"user-activity/?limit=0", 25, 0}, {"user-activity/?limit=-3", 25, 0}, {"user-activity/?limit=1000", 100, 0},
		{"user-activity/?limit=99999999999999999999999", 100, 0}, {"user-activity/?offset=-4", 25, 0},
		{"user-activity/?limit=7&offset=2", 7, 2},
		{"user-activity/?limit=7&offset=2&note=a%3Bb%25", 7, 2}, {"activity-history/?limit=500", 100, 0},
	}
	for _, c := range clamps {
		t.Run(c.path, func(t *testing.T) {
			r := e.get(t, c.path, "dave")
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var page struct{ Limit, Offset int }
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
			if page.Limit != c.limit || page.Offset != c.offset {
				t.Errorf("echoed limit %d offset %d, want %d %d", page.Limit, page.Offset, c.limit, c.offset)
			}
		})
	}

	t.Run("recent-activity limit clamps", func(t *testing.T) {
		for q, want := range map[string]int{"limit=0": 5, "limit=2": 2, "limit=1000": 5, "": 5} {
			var items []RecentItem
			r := e.get(t, "recent-activity/?"+q, "bob")
			if err := json.Unmarshal(r.body, &items); err != nil || len(items) != want {
				t.Errorf("%s: %d items (%v), want %d", q, len(items), err, want)
			}
		}
	})

	t.Run("trends points", func(t *testing.T) {
		for _, days := range []int{1, 30, 366} {
			tr, err := e.svc.Trends(t.Context(), bob, days)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Data) != days+1 || tr.Data[days].Date != "2025-06-15" {
				t.Errorf("days=%d: %d points ending %s", days, len(tr.Data), tr.Data[len(tr.Data)-1].Date)
			}
		}
	})

	t.Run("date-only date_to covers the whole day", func(t *testing.T) {
		page, err := e.svc.UserActivity(t.Context(), dave, UserActivityQuery{})
		if err != nil {
			t.Fatal(err)
		}
		r := e.get(t, "user-activity/?date_from=2025-06-15&date_to=2025-06-15", "dave")
		var got ActivityPage
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.TotalCount != 4 {
			t.Errorf("activities on 2025-06-15: %d, want 4 (including 11:59:59.999999); all: %d", got.TotalCount, page.TotalCount)
		}
		// The same day given with an offset (the reporting zone is UTC
		// here): "Z" is that day in UTC; at -12:00 it ends twelve hours
		// later; at +14:00 it ends at 09:59:59.999999 UTC, before the
		// activity of 11:59:59.999999 (the others are at 09:00 and 09:05).
		for _, tc := range []struct {
			query string
			want  int64
		}{
			{"date_from=2025-06-15Z&date_to=2025-06-15Z", 4},
			{"date_from=2025-06-15Z&date_to=2025-06-15-12:00", 4},
			{"date_from=2025-06-15Z&date_to=2025-06-15%2B14:00", 3},
		} {
			var p ActivityPage
			r := e.get(t, "user-activity/?"+tc.query, "dave")
			if err := json.Unmarshal(r.body, &p); r.status != http.StatusOK || err != nil || p.TotalCount != tc.want {
				t.Errorf("%s: %d, %d activities, want %d: %s", tc.query, r.status, p.TotalCount, tc.want, r.body)
			}
		}
	})

	t.Run("cursor pages", func(t *testing.T) {
		var ids []string
		path := "user-activity/?limit=3"
		for range 10 {
			var p ActivityPage
			if err := json.Unmarshal(e.get(t, path, "dave").body, &p); err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Activities {
				ids = append(ids, a.ID)
			}
			if len(ids) > 3 && !p.HasPrevious {
				t.Error("cursor page without has_previous")
			}
			if p.NextCursor == nil {
				if p.HasNext {
					t.Error("has_next without next_cursor")
				}
				break
			}
			path = "user-activity/?limit=3&cursor=" + *p.NextCursor
		}
		want := []string{actID(10), actID(3), actID(2), actID(1), actID(5), actID(4), actID(9), actID(7), actID(6), actID(8)}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
	})
}

func TestHTTPConventions(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	t.Run("trailing slash optional", func(t *testing.T) {
		a, b := e.get(t, "metrics", "bob"), e.get(t, "metrics/", "bob")
		if a.status != 200 || b.status != 200 || string(a.body) != string(b.body) {
			t.Errorf("metrics %d / metrics/ %d differ", a.status, b.status)
		}
		if r := e.do(t, "DELETE", "users/"+bob.ID+"/activities", "dave", nil); r.status != 200 {
			t.Errorf("DELETE without slash: %d", r.status)
		}
	})
	t.Run("405 with Allow", func(t *testing.T) {
		for path, allow := range map[string]string{"metrics/": "GET, HEAD", "cache/invalidate/": "POST", "users/" + bob.ID + "/activities/": "DELETE"} {
			r := e.do(t, http.MethodPut, path, "dave", nil)
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != allow {
				t.Errorf("PUT %s: %d Allow %q, want 405 %q", path, r.status, r.header.Get("Allow"), allow)
			}
			if r.header.Get("Content-Type") != "application/json" || errBody(t, r).Error == "" {
				t.Errorf("PUT %s: body %s", path, r.body)
			}
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		r := e.do(t, http.MethodHead, "categories/", "bob", nil)
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("HEAD: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("unknown route is a JSON 404", func(t *testing.T) {
		r := e.get(t, "nope/", "bob")
		if r.status != 404 || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("status %d %q", r.status, r.header.Get("Content-Type"))
		}
	})
	t.Run("unknown client is 404", func(t *testing.T) {
		r := e.get(t, "client-performance/?client_id="+unknown, "bob")
		if r.status != 404 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("HandlerWithPrefix", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle("/x/analytics/", e.svc.HandlerWithPrefix("/x/analytics/"))
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "/x/analytics/categories", nil)
		req.Header.Set("Authorization", "Bearer bob")
		rec := newRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("status %d: %s", rec.Code, rec.Body)
		}
	})
	t.Run("Routes registered one by one", func(t *testing.T) {
		mux := http.NewServeMux()
		for _, rt := range e.svc.Routes() {
			mux.Handle("/a/"+rt.Path, rt.Handler)
			mux.Handle("/a/"+rt.Path+"/", rt.Handler)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "DELETE", "/a/users/"+carol.ID+"/activities/", nil)
		req.Header.Set("Authorization", "Bearer dave")
		rec := newRecorder()
		mux.ServeHTTP(rec, req)
		var out ErasedActivities
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 || out.UserID != carol.ID || out.Deleted != 2 {
			t.Errorf("erase via Routes: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("request id echoed", func(t *testing.T) {
		r := e.do(t, "GET", "metrics/", "bob", nil, "X-Request-ID", "abc-123")
		if r.header.Get("X-Request-ID") != "abc-123" {
			t.Errorf("X-Request-ID %q", r.header.Get("X-Request-ID"))
		}
	})
}

// failingStore fails every read with an internal error (or the one given).
type failingStore struct {
	store.Store
	err error
}

func (f failingStore) ReportMetrics(context.Context, store.ReportMetricsParams) (*store.ReportMetrics, error) {
	return nil, f.err
}

func (f failingStore) ActivityList(context.Context, store.ActivityListParams) (*store.ActivityPage, error) {
	return nil, f.err
}

func (f failingStore) RecommendationCategoryCounts(context.Context) ([]store.CountByKey, error) {
	return nil, f.err
}

func TestInternalErrorsLeakNothing(t *testing.T) {
	st := openSQLite(t)
	var logs syncbuf.Buffer
	e := newEnv(t, failingStore{Store: st, err: errInjected}, func(c *Config) { c.Logger = textLogger(&logs) })
	for path, thing := range map[string]string{"metrics/": "retrieve metrics", "user-activity/": "retrieve user activity", "categories/": "retrieve categories", "dashboard/": "retrieve dashboard"} {
		r := e.get(t, path, "bob")
		if r.status != 500 {
			t.Fatalf("%s: status %d", path, r.status)
		}
		eb := errBody(t, r)
		if eb.Error != "internal error" || eb.Message != "Failed to "+thing || eb.RequestID == "" || eb.Field != "" {
			t.Errorf("%s: body %s", path, r.body)
		}
		if strings.Contains(string(r.body), "secret_table") || strings.Contains(string(r.body), "10.0.0.5") {
			t.Errorf("%s: body leaks the error: %s", path, r.body)
		}
		if !strings.Contains(logs.String(), eb.RequestID) || !strings.Contains(logs.String(), "secret_table") {
			t.Errorf("%s: the log lacks the request id and the detail:\n%s", path, logs.String())
		}
	}
	e2 := newEnv(t, failingStore{Store: st, err: store.ErrUnavailable}, nil)
	if r := e2.get(t, "metrics/", "bob"); r.status != 503 {
		t.Errorf("unavailable store: status %d", r.status)
	}
}
