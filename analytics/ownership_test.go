package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestReportOwnership checks that a caller below manager can only create
// reports in their own name and only replace reports they created, while
// managers and admins may do both for anyone; the Advisor CSV import
// always creates the report in the caller's name.
func TestReportOwnership(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, untracked)
		ctx := context.Background()
		report := func(id, createdBy string) string {
			b := `{"client_id":"` + client1 + `","report_type":"cost"`
			if id != "" {
				b += `,"id":"` + id + `"`
			}
			if createdBy != "" {
				b += `,"created_by":` + createdBy
			}
			return b + "}"
		}
		cases := []struct {
			name, token, body string
			status            int
		}{
			{"analyst creates in another user's name", "alice", report("", `"`+bob.ID+`"`), http.StatusForbidden},
			{"analyst creates in nobody's name", "alice", report("", "null"), http.StatusForbidden},
			{"analyst replaces another user's report", "alice", report(report2, ""), http.StatusForbidden},
			{"analyst replaces another user's report naming themself", "alice", report(report5, `"`+alice.ID+`"`), http.StatusForbidden},
			{"analyst replaces a report of nobody", "alice", report(report4, ""), http.StatusForbidden},
			{"analyst gives their report away", "alice", report(report1, `"`+bob.ID+`"`), http.StatusForbidden},
			{"analyst creates in their own name", "alice", report("", `"`+alice.ID+`"`), http.StatusCreated},
			{"analyst creates without created_by", "alice", report("", ""), http.StatusCreated},
			{"analyst replaces their own report", "alice", report(report1, ""), http.StatusOK},
			{"manager creates in another user's name", "carol", report("", `"`+bob.ID+`"`), http.StatusCreated},
			{"manager replaces another user's report", "carol", report(report2, "null"), http.StatusOK},
			{"admin replaces another user's report", "dave", report(report3, `"`+bob.ID+`"`), http.StatusOK},
		}
		for _, c := range cases {
			r := e.postJSON(t, "ingest/reports/", c.token, c.body)
			if r.status != c.status {
				t.Errorf("%s: got %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			if c.status == http.StatusForbidden {
				if eb := errBody(t, r); eb.Error == "" || eb.Message == "" {
					t.Errorf("%s: error body %s", c.name, r.body)
				}
			}
		}
		// The refused writes changed nothing.
		if rep, err := st.ReportGet(ctx, report2); err != nil || rep.CreatedBy != "" {
			// report2 was handed to nobody by the manager above.
			t.Errorf("report2 after the writes: %+v, %v", rep, err)
		}
		if rep, err := st.ReportGet(ctx, report5); err != nil || rep.CreatedBy != carol.ID || rep.ReportType != "operations" {
			t.Errorf("report5 was replaced by an analyst: %+v, %v", rep, err)
		}

		// The Advisor CSV import is always in the caller's name; a
		// created_by parameter does not change it.
		r := e.do(t, "POST", "ingest/advisor-csv/?client_id="+client1+"&created_by="+bob.ID, "alice",
			bytes.NewReader(advisorSample(t, "advisor_export_example.csv")), "Content-Type", "text/csv")
		if r.status != http.StatusCreated {
			t.Fatalf("csv import: %d %s", r.status, r.body)
		}
		var imp CSVImported
		if err := json.Unmarshal(r.body, &imp); err != nil {
			t.Fatal(err)
		}
		if rep, err := st.ReportGet(ctx, imp.ReportID); err != nil || rep.CreatedBy != alice.ID {
			t.Errorf("imported report: %+v, %v", rep, err)
		}
	})
}
