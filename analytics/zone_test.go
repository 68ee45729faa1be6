package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone database, whatever the machine has

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestReportingTimeZone checks day buckets, "today" and month starts in a
// zone with daylight saving time, on both stores.
func TestReportingTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2025-03-10 01:30 in New York, the day after the switch to summer time.
	now := time.Date(2025, 3, 10, 1, 30, 0, 0, ny)
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := store.Client{ID: client1, CompanyName: "Contoso", CreatedAt: tp("2025-01-01T00:00:00Z")}
		if err := st.ClientUpsert(ctx, &c); err != nil {
			t.Fatal(err)
		}
		reports := map[string]string{
			// 2025-03-10 00:30 local (EDT, UTC−4): today.
			"22222222-1111-4000-8000-000000000001": "2025-03-10T04:30:00Z",
			// 2025-03-09 23:30 local (EDT): yesterday, although already the 10th in UTC.
			"22222222-1111-4000-8000-000000000002": "2025-03-10T03:30:00Z",
			// 2025-03-09 00:30 local (EST, UTC−5), on the short day.
			"22222222-1111-4000-8000-000000000003": "2025-03-09T05:30:00Z",
			// 2025-02-28 22:00 local: the previous month, although March in UTC.
			"22222222-1111-4000-8000-000000000004": "2025-03-01T03:00:00Z",
		}
		for id, at := range reports {
			r := store.Report{ID: id, ClientID: client1, ReportType: store.ReportCost, CreatedAt: tp(at),
				Recommendations: []store.Recommendation{{Category: store.CategoryCost, Recommendation: "x", PotentialSavings: 10}}}
			if err := st.ReportUpsert(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
		e := newEnv(t, st, func(c *Config) {
			c.Location = ny
			c.NowFunc = func() time.Time { return now }
		})
		tr, err := e.svc.Trends(ctx, bob, 2)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, p := range tr.Data {
			got[p.Date] = p.Total
		}
		want := map[string]int64{"2025-03-08": 0, "2025-03-09": 2, "2025-03-10": 1}
		if len(tr.Data) != 3 || got["2025-03-08"] != want["2025-03-08"] || got["2025-03-09"] != want["2025-03-09"] || got["2025-03-10"] != want["2025-03-10"] {
			t.Errorf("trend points %+v, want %v", tr.Data, want)
		}
		m, err := e.svc.Metrics(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		if m.ReportsGeneratedThisMonth != 3 || m.Trends.Reports != 200 {
			t.Errorf("reports this month %d (trend %v), want 3 (200.0)", m.ReportsGeneratedThisMonth, m.Trends.Reports)
		}
		ci, err := e.svc.CostInsights(ctx, bob, CostQuery{})
		if err != nil {
			t.Fatal(err)
		}
		last, prev := ci.Trends[11], ci.Trends[10]
		if last.Month != "2025-03" || last.Cost != 150 || prev.Month != "2025-02" || prev.Cost != 50 {
			t.Errorf("cost months %v %v, want 2025-02 50.0 and 2025-03 150.0", prev, last)
		}
		// A date-only date_to covers the whole local day.
		page := e.get(t, "cost-insights/?date_from=2025-03-09&date_to=2025-03-09", "bob")
		if !strings.Contains(string(page.body), `"potential_savings":20.0`) {
			t.Errorf("cost of 2025-03-09 local: %s", page.body)
		}
	})
}

func TestErrorFuncAndIdentifyErrors(t *testing.T) {
	st := openSQLite(t)
	var logs syncbuf.Buffer
	e := newEnv(t, st, func(c *Config) {
		c.Logger = textLogger(&logs)
		c.IdentifyFunc = func(r *http.Request) (Principal, error) {
			switch r.Header.Get("Authorization") {
			case "Bearer broken":
				return Principal{}, errors.New("token service: connection refused to 10.1.2.3")
			case "Bearer limited":
				return Principal{}, &Error{Status: http.StatusTooManyRequests, Detail: "Too many requests.", Summary: "Rate limited"}
			case "Bearer empty":
				return Principal{Username: "nobody"}, nil
			}
			return identify(r)
		}
		c.ErrorFunc = func(w http.ResponseWriter, r *http.Request, status int, body ErrorBody) {
			w.Header().Set("X-Custom", "1")
			WriteErrorJSON(w, status, body)
		}
	})
	r := e.get(t, "metrics/", "broken")
	if r.status != 500 || r.header.Get("X-Custom") != "1" || strings.Contains(string(r.body), "10.1.2.3") || errBody(t, r).Message != "Failed to authenticate" {
		t.Errorf("identify failure: %d %v %s", r.status, r.header, r.body)
	}
	if !strings.Contains(logs.String(), "10.1.2.3") {
		t.Error("identify failure not logged")
	}
	if r := e.get(t, "metrics/", "limited"); r.status != 429 {
		t.Errorf("identify *Error: %d", r.status)
	}
	if r := e.get(t, "metrics/", "empty"); r.status != 401 || r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("principal without id: %d", r.status)
	}
}

func TestStorageMeasuredInBackground(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), make([]byte, 3000), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openSQLite(t)
	e := newEnv(t, st, func(c *Config) { c.StorageDirs = []string{dir} })
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := e.svc.computeHealth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if h.StorageMeasuredAt != nil {
			if h.StorageUsed != 3000 || h.StorageUsedFormatted != "0.00 MB" {
				t.Errorf("storage %d %q", h.StorageUsed, h.StorageUsedFormatted)
			}
			break
		}
		if len(h.Reasons) != 1 || h.Status != statusDegraded {
			t.Errorf("unmeasured storage: status %s reasons %v", h.Status, h.Reasons)
		}
		if time.Now().After(deadline) {
			t.Fatal("storage not measured within 10s of Start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMidnightSkippedByDaylightSaving checks date-only ranges on a day
// whose midnight does not exist: in Santiago, 2021-09-05 began at 01:00
// (-03), straight after 23:59 of the 4th (-04). The 5th must not take the
// last hour of the 4th, nor the 4th lose it.
func TestMidnightSkippedByDaylightSaving(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	forEachStore(t, func(t *testing.T, st store.Store) {
		var acts []store.Activity
		for i, at := range []string{
			"2021-09-05T02:30:00Z", // 22:30 on the 4th
			"2021-09-05T03:30:00Z", // 23:30 on the 4th
			"2021-09-05T04:30:00Z", // 01:30 on the 5th
			"2021-09-05T10:00:00Z", // 07:00 on the 5th
			"2021-09-06T03:30:00Z", // 00:30 on the 6th
		} {
			acts = append(acts, store.Activity{ID: actID(100 + i), UserID: bob.ID, Username: "bob", ActivityType: "login", CreatedAt: tp(at)})
		}
		if err := st.ActivityInsertMany(context.Background(), acts); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, st, func(c *Config) { c.Location = santiago })
		for _, c := range []struct {
			from, to string
			days     map[string]int64
		}{
			{"2021-09-05", "2021-09-05", map[string]int64{"2021-09-05": 2}},
			{"2021-09-04", "2021-09-04", map[string]int64{"2021-09-04": 2}},
			{"2021-09-05", "", map[string]int64{"2021-09-05": 2, "2021-09-06": 1}},
			{"", "2021-09-04", map[string]int64{"2021-09-04": 2}},
		} {
			dates := "date_from=" + c.from + "&date_to=" + c.to
			var sum struct {
				Summary []struct {
					Date  string
					Count int64
				}
				TotalActivities int64 `json:"total_activities"`
			}
			decodeOK(t, e.get(t, "activity-summary/?group_by=day&"+dates, "bob"), &sum)
			got := map[string]int64{}
			var total int64
			for _, it := range sum.Summary {
				got[it.Date] = it.Count
				total += it.Count
			}
			if !maps.Equal(got, c.days) || sum.TotalActivities != total {
				t.Errorf("summary by day from %q to %q: %v (total %d), want %v", c.from, c.to, got, sum.TotalActivities, c.days)
			}
			var page struct {
				TotalCount int64 `json:"total_count"`
			}
			decodeOK(t, e.get(t, "user-activity/?"+dates, "bob"), &page)
			if page.TotalCount != total {
				t.Errorf("user-activity from %q to %q: total %d, want %d", c.from, c.to, page.TotalCount, total)
			}
		}
	})
}

// decodeOK decodes a 200 response's JSON body into v.
func decodeOK(t *testing.T, r response, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}
