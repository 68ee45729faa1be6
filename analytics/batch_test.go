package analytics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// batchBody is an ingest/reports/batch body of reports given as JSON objects.
func batchBody(reports ...string) string {
	return `{"reports":[` + strings.Join(reports, ",") + `]}`
}

func TestIngestReportsBatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, nil)
		ctx := t.Context()
		before, err := e.svc.Metrics(ctx, dave)
		if err != nil {
			t.Fatal(err)
		}
		newID := func(n int) string { return fmt.Sprintf("33333333-0000-4000-8000-%012d", n) }
		rep := func(id, client, extra string) string {
			return `{"id":"` + id + `","client_id":"` + client + `","report_type":"cost","status":"completed"` + extra + `}`
		}
		recs := `,"recommendations":[{"category":"cost","business_impact":"High","potential_savings":250.5},{"category":"security","potential_savings":0}]`

		// An analyst writes two new reports and replaces one of their own.
		r := e.postJSON(t, "ingest/reports/batch/", "alice", batchBody(
			rep(newID(1), client1, recs), rep(newID(2), client2, ""), rep(report1, client1, recs)))
		if r.status != http.StatusCreated {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		var out ReportsIngested
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		if out.Count != 3 || out.Created != 2 || len(out.Reports) != 3 || out.Reports[0].ID != newID(1) || out.Reports[2].ID != report1 ||
			out.Reports[0].Recommendations != 2 || out.Reports[1].CreatedBy == nil || *out.Reports[1].CreatedBy != alice.ID {
			t.Errorf("batch result %s", r.body)
		}
		after, err := e.svc.Metrics(ctx, dave)
		if err != nil {
			t.Fatal(err)
		}
		if after.TotalReports != before.TotalReports+2 {
			t.Errorf("total reports %d after a batch with 2 new, was %d (cache not invalidated or counters wrong)", after.TotalReports, before.TotalReports)
		}

		// All or nothing: a bad report names its index and nothing is written.
		for _, tc := range []struct {
			name, token, body string
			status            int
			field             string
		}{
			{"unknown client", "alice", batchBody(rep(newID(3), client1, ""), rep(newID(4), unknown, "")), 400, "reports[1].client_id"},
			{"bad recommendation", "alice", batchBody(rep(newID(3), client1, `,"recommendations":[{"category":"cost","potential_savings":-1}]`)), 400,
				"reports[0].recommendations[0].potential_savings"},
			{"duplicate id", "alice", batchBody(rep(newID(3), client1, ""), rep(newID(3), client2, "")), 400, "reports[1].id"},
			{"another user's report", "alice", batchBody(rep(newID(3), client1, ""), rep(report2, client1, "")), 403, "reports[1].id"},
			{"in another user's name", "alice", batchBody(rep(newID(3), client1, `,"created_by":"`+bob.ID+`"`)), 403, "reports[0].created_by"},
			{"empty", "alice", batchBody(), 400, "reports"},
			{"viewer", "bob", batchBody(rep(newID(3), client1, "")), 403, ""},
		} {
			r := e.postJSON(t, "ingest/reports/batch/", tc.token, tc.body)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			if tc.field != "" {
				if eb := errBody(t, r); eb.Field != tc.field {
					t.Errorf("%s: field %q, want %q (%s)", tc.name, eb.Field, tc.field, r.body)
				}
			}
		}
		if _, err := st.ReportGet(ctx, newID(3)); err == nil {
			t.Error("a report of a refused batch was written")
		}

		// Too many reports.
		many := make([]string, MaxIngestReports+1)
		for i := range many {
			many[i] = rep(newID(100+i), client1, "")
		}
		if r := e.postJSON(t, "ingest/reports/batch/", "carol", batchBody(many...)); r.status != 400 || errBody(t, r).Field != "reports" {
			t.Errorf("%d reports: %d %s", len(many), r.status, r.body)
		}
		// A manager may replace anyone's report in a full batch.
		r = e.postJSON(t, "ingest/reports/batch/", "carol", batchBody(append(many[:MaxIngestReports-1], rep(report2, client1, recs))...))
		if r.status != http.StatusCreated {
			t.Fatalf("full batch: %d %.300s", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &out); err != nil || out.Count != MaxIngestReports || out.Created != MaxIngestReports-1 {
			t.Errorf("full batch: count %d created %d (%v)", out.Count, out.Created, err)
		}
		got, err := st.ReportGet(ctx, report2)
		if err != nil || len(got.Recommendations) != 2 || got.CreatedBy != carol.ID {
			t.Errorf("report replaced by a manager: %+v %v", got, err)
		}
	})
}
