package analytics

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

func TestWriteRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, func(c *Config) { c.MaxBodyBytes = 2048 })
		ctx := t.Context()

		t.Run("record activity 202 and written on Close", func(t *testing.T) {
			r := e.do(t, "POST", "activities/", "bob", strings.NewReader(`{"activity_type":"view_dashboard","description":"Viewed","metadata":{"tab":"cost"},"client_id":"`+strings.ToUpper(client1)+`"}`),
				"User-Agent", "test-agent")
			if r.status != http.StatusAccepted {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var acc ActivityAccepted
			if err := json.Unmarshal(r.body, &acc); err != nil || !store.ValidUUID(acc.ID) || acc.Status != "accepted" {
				t.Fatalf("body %s", r.body)
			}
			// Drain the Recorder: the activity must be stored.
			if err := e.svc.Close(ctx); err != nil {
				t.Fatal(err)
			}
			page, err := st.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: bob.ID, ActivityType: "view_dashboard"}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var found *store.Activity
			for i := range page.Activities {
				if page.Activities[i].ID == acc.ID {
					found = &page.Activities[i]
				}
			}
			if found == nil {
				t.Fatalf("recorded activity %s not stored", acc.ID)
			}
			if found.Username != "bob" || found.ClientID != client1 || found.UserAgent != "test-agent" || found.IPAddress != "127.0.0.1" || found.Metadata["tab"] != "cost" {
				t.Errorf("stored %+v", *found)
			}
			// The middleware must not have recorded the POST itself.
			if n := page.Total; n != 2 {
				t.Errorf("bob has %d view_dashboard activities, want 2 (seeded + recorded)", n)
			}
			if err := e.svc.Record(ctx, store.Activity{ActivityType: "login"}); err != ErrQueueFull {
				t.Errorf("Record after Close = %v, want ErrQueueFull", err)
			}
		})

		e = newEnv(t, st, func(c *Config) { c.MaxBodyBytes = 2048 })
		t.Run("bad bodies", func(t *testing.T) {
			cases := []struct{ path, body, field string }{
				{"activities/", `{"activity_type":"x","extra":1}`, "extra"},
				{"activities/", `{"activity_type":""}`, "activity_type"},
				{"activities/", `{"activity_type":"x","client_id":"nope"}`, "client_id"},
				{"activities/", `{"activity_type":5}`, "activity_type"},
				{"activities/", `[1,2]`, ""},
				{"activities/", `{"activity_type":"x"} {}`, ""},
				{"activities/", `{"activity_type":"x"`, ""},
				{"activities/", ``, ""},
				{"ingest/activities/", `{"activities":[]}`, "activities"},
				{"ingest/activities/", `{"activities":[{"activity_type":"a"},{"activity_type":""}]}`, "activities[1].activity_type"},
				{"ingest/activities/", `{"activities":[{"activity_type":"a","ip_address":"999.1.1.1"}]}`, "activities[0].ip_address"},
				{"ingest/activities/", `{"activities":[{"activity_type":"a","created_at":"yesterday"}]}`, ""},
				{"ingest/clients/", `{"company_name":""}`, "company_name"},
				{"ingest/clients/", `{"company_name":"X","industry":"mining"}`, "industry"},
				{"ingest/reports/", `{"client_id":"` + unknown + `","report_type":"cost"}`, "client_id"},
				{"ingest/reports/", `{"client_id":"` + client1 + `","report_type":"weekly"}`, "report_type"},
				{"ingest/reports/", `{"client_id":"` + client1 + `","report_type":"cost","recommendations":[{"category":"cost","potential_savings":-1}]}`, "recommendations[0].potential_savings"},
				{"ingest/reports/", `{"client_id":"` + client1 + `","report_type":"cost","created_by":5}`, "created_by"},
			}
			for _, c := range cases {
				r := e.do(t, "POST", c.path, "dave", strings.NewReader(c.body))
				if r.status != 400 {
					t.Errorf("%s %s: status %d: %s", c.path, c.body, r.status, r.body)
					continue
				}
				if eb := errBody(t, r); eb.Field != c.field {
					t.Errorf("%s %s: field %q, want %q (%s)", c.path, c.body, eb.Field, c.field, r.body)
				}
			}
			big := `{"activity_type":"x","description":"` + strings.Repeat("a", 4096) + `"}`
			if r := e.do(t, "POST", "activities/", "bob", strings.NewReader(big)); r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized body: status %d", r.status)
			}
		})

		t.Run("ingest activities all or nothing", func(t *testing.T) {
			before, _ := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
			r := e.postJSON(t, "ingest/activities/", "dave", `{"activities":[{"activity_type":"login","user":{"id":"`+alice.ID+`","username":"alice"}},{"activity_type":"login","client_id":"bad"}]}`)
			if r.status != 400 {
				t.Fatalf("status %d", r.status)
			}
			after, _ := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
			if after.Total != before.Total {
				t.Errorf("a rejected batch wrote %d rows", after.Total-before.Total)
			}
			var acts []ActivityRecord
			for i := range 3 {
				acts = append(acts, ActivityRecord{ActivityType: "legacy", User: UserInput{ID: alice.ID, Username: "alice"}, DurationMS: 1.5,
					IPAddress: "198.51.100.1", CreatedAt: tptr("2024-01-0" + string(rune('1'+i)) + "T00:00:00Z")})
			}
			r = e.postJSON(t, "ingest/activities/", "dave", IngestActivitiesInput{Activities: acts})
			if r.status != 201 || strings.TrimSpace(string(r.body)) != `{"count":3}` {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			page, _ := st.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{ActivityType: "legacy"}, Limit: 10})
			if page.Total != 3 || !page.Activities[0].CreatedAt.Equal(tp("2024-01-03T00:00:00Z")) {
				t.Errorf("ingested %d, newest %v", page.Total, page.Activities[0].CreatedAt)
			}
			too := IngestActivitiesInput{Activities: make([]ActivityRecord, MaxIngestActivities+1)}
			if _, err := e.svc.IngestActivities(ctx, dave, too); err == nil {
				t.Error("10,001 activities accepted")
			}
		})

		t.Run("ingest client and report invalidate the cache", func(t *testing.T) {
			m1, err := e.svc.Metrics(ctx, bob)
			if err != nil {
				t.Fatal(err)
			}
			r := e.postJSON(t, "ingest/clients/", "carol", ClientInput{CompanyName: "Tailspin", Industry: "consulting", CreatedAt: tptr("2025-06-01T00:00:00Z")})
			if r.status != 201 {
				t.Fatalf("client: %d %s", r.status, r.body)
			}
			var c ClientOut
			_ = json.Unmarshal(r.body, &c)
			if c.Status != "active" || c.CreatedAt.Time() != tp("2025-06-01T00:00:00Z") {
				t.Errorf("client %+v", c)
			}
			if r := e.postJSON(t, "ingest/clients/", "carol", ClientInput{ID: c.ID, CompanyName: "Tailspin Toys"}); r.status != 200 {
				t.Errorf("update client: %d %s", r.status, r.body)
			}
			got, _ := st.ClientGet(ctx, c.ID)
			if got.CompanyName != "Tailspin Toys" || !got.CreatedAt.Equal(tp("2025-06-01T00:00:00Z")) {
				t.Errorf("updated client %+v", got)
			}
			body := `{"client_id":"` + c.ID + `","report_type":"cost","status":"completed","created_at":"2025-06-15T10:00:00Z",
				"processing_started_at":"2025-06-15T10:00:00Z","processing_completed_at":"2025-06-15T10:00:10Z","csv_size_bytes":10,
				"recommendations":[{"category":"cost","business_impact":"High","recommendation":"Delete idle disks","potential_savings":1000}]}`
			r = e.postJSON(t, "ingest/reports/", "alice", body)
			if r.status != 201 {
				t.Fatalf("report: %d %s", r.status, r.body)
			}
			var rep ReportOut
			_ = json.Unmarshal(r.body, &rep)
			if rep.CreatedBy == nil || *rep.CreatedBy != alice.ID || rep.Recommendations != 1 {
				t.Errorf("report %s", r.body)
			}
			m2, err := e.svc.Metrics(ctx, bob)
			if err != nil {
				t.Fatal(err)
			}
			if m2.TotalReports != m1.TotalReports+1 || m2.ActiveClients != m1.ActiveClients+1 || m2.TotalPotentialSavings != m1.TotalPotentialSavings+1000 {
				t.Errorf("metrics not refreshed after ingestion: before %+v after %+v", m1, m2)
			}
			// Re-posting the same id replaces it (200), and created_by null clears it.
			body2 := `{"id":"` + rep.ID + `","client_id":"` + c.ID + `","report_type":"cost","created_by":null}`
			if r := e.postJSON(t, "ingest/reports/", "carol", body2); r.status != 200 || !strings.Contains(string(r.body), `"created_by":null`) {
				t.Errorf("replace report: %d %s", r.status, r.body)
			}
		})

		t.Run("advisor csv import", func(t *testing.T) {
			for _, name := range []string{"advisor_export_example.csv", "mcp_advisor_recommendation_metadata.csv"} {
				data := advisorSample(t, name)
				for _, multi := range []bool{false, true} {
					var body bytes.Buffer
					ctype := "text/csv"
					if multi {
						mw := multipart.NewWriter(&body)
						_ = mw.WriteField("note", "ignored")
						fw, _ := mw.CreateFormFile("file", name)
						_, _ = fw.Write(data)
						_ = mw.Close()
						ctype = mw.FormDataContentType()
					} else {
						body.Write(data)
					}
					r := e.do(t, "POST", "ingest/advisor-csv/?client_id="+client2+"&report_type=cost", "alice", &body, "Content-Type", ctype)
					if r.status != 201 {
						t.Fatalf("%s multipart=%v: %d %s", name, multi, r.status, r.body)
					}
					var out CSVImported
					if err := json.Unmarshal(r.body, &out); err != nil {
						t.Fatal(err)
					}
					rep, err := st.ReportGet(ctx, out.ReportID)
					if err != nil {
						t.Fatal(err)
					}
					if len(rep.Recommendations) != out.RowsImported || out.RowsImported == 0 || rep.CreatedBy != alice.ID ||
						rep.ReportType != store.ReportCost || rep.Status != store.StatusCompleted || rep.CSVSizeBytes == nil || *rep.CSVSizeBytes != int64(len(data)) {
						t.Errorf("%s: imported %d, stored %+v", name, out.RowsImported, rep)
					}
					if out.RowsSkipped == nil {
						t.Error("rows_skipped must be an array")
					}
				}
			}
			bad := []struct{ query, body, ctype, field string }{
				{"client_id=" + client2, `{"not":"csv"}`, "text/csv", "file"},
				{"client_id=" + client2, "", "text/csv", "file"},
				{"", "Category,Recommendation\ncost,x\n", "text/csv", "client_id"},
				{"client_id=bad", "Category,Recommendation\ncost,x\n", "text/csv", "client_id"},
				{"client_id=" + unknown, "Category,Recommendation\ncost,x\n", "text/csv", "client_id"},
				{"client_id=" + client2 + "&report_type=weekly", "Category,Recommendation\ncost,x\n", "text/csv", "report_type"},
				{"client_id=" + client2, "--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x", "file"},
			}
			for _, c := range bad {
				r := e.do(t, "POST", "ingest/advisor-csv/?"+c.query, "alice", strings.NewReader(c.body), "Content-Type", c.ctype)
				if r.status != 400 || errBody(t, r).Field != c.field {
					t.Errorf("%s %q: %d %s", c.query, c.body, r.status, r.body)
				}
			}
		})

		t.Run("erase", func(t *testing.T) {
			r := e.do(t, "DELETE", "users/"+bob.ID+"/activities/", "erin", nil)
			var out ErasedActivities
			if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if diff := cmp.Diff(ErasedActivities{UserID: bob.ID, Deleted: 4}, out); diff != "" {
				t.Errorf("erase (-want +got):\n%s", diff)
			}
			page, _ := st.ActivityList(ctx, store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: alice.ID}, Limit: 1})
			if page.Total < 4 {
				t.Errorf("erasing bob removed alice's activity: %d left", page.Total)
			}
		})
	})
}

func TestNewValidatesConfig(t *testing.T) {
	st := openSQLite(t)
	cases := []struct {
		cfg   Config
		field string
	}{
		{Config{SavingsRate: -1}, "SavingsRate"},
		{Config{SavingsRate: 2}, "SavingsRate"},
		{Config{StorageRefresh: time.Millisecond}, "StorageRefresh"},
		{Config{MaxBodyBytes: -1}, "MaxBodyBytes"},
		{Config{StorageDirs: []string{""}}, "StorageDirs"},
		{Config{Tracking: TrackingConfig{Middleware: tracking.MiddlewareConfig{IPStorage: "weird"}}}, "IPStorage"},
		{Config{Tracking: TrackingConfig{Middleware: tracking.MiddlewareConfig{IPStorage: "hash"}}}, "IPHashKey"},
		{Config{Tracking: TrackingConfig{Middleware: tracking.MiddlewareConfig{Identify: func(*http.Request) (tracking.Identity, bool) { return tracking.Identity{}, false }}}}, "Identify"},
		{Config{Tracking: TrackingConfig{AnalyticsPath: "admin/analytics"}}, "AnalyticsPath"},
		{Config{Tracking: TrackingConfig{AnalyticsPath: "/admin/analytics", Middleware: tracking.MiddlewareConfig{Rules: tracking.DefaultRules()}}}, "AnalyticsPath"},
	}
	for _, c := range cases {
		if _, err := New(st, c.cfg); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("New(%+v) = %v, want an error naming %s", c.cfg, err, c.field)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil store) succeeded")
	}
	svc, err := New(st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.cfg.SavingsRate != SavingsRateDefault || svc.loc != time.UTC || svc.cfg.MaxBodyBytes != MaxBodyBytesDefault {
		t.Errorf("defaults not applied: %+v", svc.cfg)
	}
	// Close without Start, twice.
	if err := svc.Close(t.Context()); err != nil {
		t.Error(err)
	}
	if err := svc.Close(t.Context()); err != nil {
		t.Error(err)
	}
	if err := svc.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestUploadLimits(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, func(c *Config) { c.MaxIngestBytes = 1000 })
	data := advisorSample(t, "advisor_export_example.csv")
	r := e.do(t, "POST", "ingest/advisor-csv/?client_id="+client1, "alice", bytes.NewReader(data), "Content-Type", "text/csv")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("raw CSV over the limit: %d %s", r.status, r.body)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "export.csv")
	_, _ = fw.Write(data)
	_ = mw.Close()
	r = e.do(t, "POST", "ingest/advisor-csv/?client_id="+client1, "alice", &body, "Content-Type", mw.FormDataContentType())
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart CSV over the limit: %d %s", r.status, r.body)
	}
	big := `{"activities":[` + strings.Repeat(`{"activity_type":"login"},`, 100) + `{"activity_type":"login"}]}`
	if r := e.postJSON(t, "ingest/activities/", "dave", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("ingest over the limit: %d", r.status)
	}
}
