package analytics

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// adminActions returns the admin_action activities, oldest first.
func adminActions(t *testing.T, st store.Store) []store.Activity {
	t.Helper()
	page, err := st.ActivityList(context.Background(), store.ActivityListParams{
		ActivityFilter: store.ActivityFilter{ActivityType: ActivityAdminAction}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := page.Activities
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func TestAdminActionsAreAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, nil)
		csvData := advisorSample(t, "advisor_export_example.csv")
		newClient := "11111111-0000-4000-8000-0000000000aa"
		newReport := "22222222-0000-4000-8000-0000000000aa"
		ingested := "33333333-0000-4000-8000-0000000000aa"

		calls := []struct {
			method, path, token, body string
			ctype                     string
			want                      int
		}{
			{"POST", "cache/invalidate/", "dave", "", "", 200},
			{"DELETE", "users/" + bob.ID + "/activities/", "dave", "", "", 200},
			{"POST", "ingest/activities/", "dave", `{"activities":[{"id":"` + ingested + `","user":{"id":"u-9"},"activity_type":"login"}]}`, "application/json", 201},
			{"POST", "ingest/clients/", "carol", `{"id":"` + newClient + `","company_name":"Tailspin"}`, "application/json", 201},
			{"POST", "ingest/reports/", "alice", `{"id":"` + newReport + `","client_id":"` + newClient + `","report_type":"cost","status":"completed"}`, "application/json", 201},
			{"POST", "ingest/advisor-csv/?client_id=" + client1, "alice", string(csvData), "text/csv", 201},
			// Refused calls are not admin actions.
			{"POST", "cache/invalidate/", "bob", "", "", 403},
			{"POST", "ingest/clients/", "carol", `{"company_name":""}`, "application/json", 400},
		}
		for _, c := range calls {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype, "User-Agent", "audit-test"}
			}
			r := e.do(t, c.method, c.path, c.token, strings.NewReader(c.body), hdr...)
			if r.status != c.want {
				t.Fatalf("%s %s = %d, want %d: %s", c.method, c.path, r.status, c.want, r.body)
			}
		}

		acts := adminActions(t, st)
		if len(acts) != 6 {
			t.Fatalf("%d admin actions recorded, want 6: %+v", len(acts), acts)
		}
		type want struct {
			user, action, client, report string
			md                           map[string]any
		}
		wants := []want{
			{dave.ID, ActionCacheInvalidate, "", "", map[string]any{}},
			{dave.ID, ActionEraseUserActivity, "", "", map[string]any{"target_user_id": bob.ID, "deleted": float64(3)}},
			{dave.ID, ActionIngestActivities, "", "", map[string]any{"count": float64(1), "activity_ids": []any{ingested}, "activity_ids_truncated": false}},
			{carol.ID, ActionIngestClient, newClient, "", map[string]any{"client_id": newClient, "created": true}},
			{alice.ID, ActionIngestReport, newClient, newReport, map[string]any{"client_id": newClient, "report_id": newReport, "created": true}},
			{alice.ID, ActionImportAdvisorCSV, client1, "*", map[string]any{"client_id": client1}},
		}
		byAction := map[any]store.Activity{}
		for _, a := range acts {
			byAction[a.Metadata["action"]] = a
		}
		for i, w := range wants {
			a := byAction[w.action]
			if a.UserID != w.user || a.Metadata["action"] != w.action || a.ClientID != w.client || (w.report != "*" && a.ReportID != w.report) {
				t.Errorf("action %d = user %s action %v client %s report %s, want %+v", i, a.UserID, a.Metadata["action"], a.ClientID, a.ReportID, w)
				continue
			}
			for k, v := range w.md {
				got := a.Metadata[k]
				if s, ok := v.([]any); ok {
					g, _ := got.([]any)
					if len(g) != len(s) || g[0] != s[0] {
						t.Errorf("%s metadata %s = %v, want %v", w.action, k, got, v)
					}
					continue
				}
				if got != v {
					t.Errorf("%s metadata %s = %v (%T), want %v", w.action, k, got, got, v)
				}
			}
			if a.Method == "" || !strings.HasPrefix(a.Path, basePath+"/") || a.IPAddress != "127.0.0.1" {
				t.Errorf("%s request details: method %q path %q ip %q", w.action, a.Method, a.Path, a.IPAddress)
			}
		}
		csv := byAction[ActionImportAdvisorCSV]
		if n, _ := csv.Metadata["rows_imported"].(float64); !store.ValidUUID(csv.ReportID) || csv.Metadata["report_id"] != csv.ReportID || n < 1 {
			t.Errorf("import action %+v", csv)
		}
		if ua := byAction[ActionIngestActivities].UserAgent; ua != "audit-test" {
			t.Errorf("user agent %q", ua)
		}
		// The erase route deleted bob's activities, not the record of it.
		page, err := st.ActivityList(t.Context(), store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: bob.ID}})
		if err != nil || page.Total != 0 {
			t.Errorf("bob still has %v activities (%v)", page.Total, err)
		}
	})
}

func TestRecordAdminActionByHost(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		sys := Principal{ID: "system", Username: "system"}
		if err := e.svc.RecordAdminAction(ctx, sys, AdminAction{Action: ActionTokensReload, Targets: map[string]any{"tokens": 3}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RecordAdminAction(ctx, sys, AdminAction{}); err == nil {
			t.Error("an action without a name was recorded")
		}
		// A cancelled caller still gets its action recorded.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := e.svc.RecordAdminAction(cctx, dave, AdminAction{Action: ActionJobRun, Targets: map[string]any{"job": "x"}}); err != nil {
			t.Fatal(err)
		}
		acts := adminActions(t, st)
		if len(acts) == 2 && acts[0].Metadata["action"] != ActionTokensReload {
			acts[0], acts[1] = acts[1], acts[0]
		}
		if len(acts) != 2 || acts[0].UserID != "system" || acts[0].Metadata["action"] != ActionTokensReload || acts[0].Metadata["tokens"] != float64(3) ||
			acts[0].Description != "Admin action: tokens_reload" || acts[1].Metadata["action"] != ActionJobRun {
			t.Fatalf("recorded %+v", acts)
		}
	})
}

// writeCounter counts the writes made through a real store that hold
// ingested activities or admin actions (not the Recorder's writes of
// tracked requests).
type writeCounter struct {
	store.Store
	writes atomic.Int64
}

func (w *writeCounter) count(acts []store.Activity) bool {
	for _, a := range acts {
		if a.ActivityType == ActivityAdminAction || strings.HasPrefix(a.ID, "66666666-") {
			return true
		}
	}
	return false
}

func (w *writeCounter) ActivityInsertMany(ctx context.Context, a []store.Activity) error {
	if w.count(a) {
		w.writes.Add(1)
	}
	return w.Store.ActivityInsertMany(ctx, a)
}

func (w *writeCounter) ActivityInsertChunks(ctx context.Context, next func() ([]store.Activity, error)) error {
	counted := false
	defer func() {
		if counted {
			w.writes.Add(1)
		}
	}()
	return storedriver.InsertChunks(ctx, w.Store, func() ([]store.Activity, error) {
		chunk, err := next()
		counted = counted || w.count(chunk)
		return chunk, err
	})
}

// TestIngestAuditInTheSameWrite checks that an ingest/activities call and
// its audit entry are one store write, whole or streamed: the entry is
// stored exactly when the activities are.
func TestIngestAuditInTheSameWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		counted := &writeCounter{Store: st}
		e := newEnv(t, counted, nil)
		for _, whole := range []bool{false, true} {
			e.svc.wholeIngest = whole
			before := len(adminActions(t, st))
			body := ingestBody(t, 2345, func(i int, r map[string]any) {
				r["id"] = fmt.Sprintf("66666666-0000-4000-8000-%012d", i+map[bool]int{false: 0, true: 10000}[whole])
			})
			counted.writes.Store(0)
			if r := e.postJSON(t, "ingest/activities/", "dave", body); r.status != http.StatusCreated {
				t.Fatalf("whole %v: %d %s", whole, r.status, r.body)
			}
			if n := counted.writes.Load(); n != 1 {
				t.Errorf("whole %v: %d store writes, want 1", whole, n)
			}
			acts := adminActions(t, st)
			if len(acts) != before+1 {
				t.Fatalf("whole %v: %d admin actions, want %d", whole, len(acts), before+1)
			}
			a := acts[len(acts)-1]
			if a.Metadata["action"] != ActionIngestActivities || a.Metadata["count"] != float64(2345) ||
				a.Metadata["activity_ids_truncated"] != true {
				t.Errorf("whole %v: audit entry %+v", whole, a.Metadata)
			}
			if got, _ := a.Metadata["activity_ids"].([]any); len(got) != auditMaxIDs {
				t.Errorf("whole %v: %d activity ids, want %d", whole, len(got), auditMaxIDs)
			}
			// The same body again is a conflict: nothing is written, the
			// audit entry neither.
			if r := e.postJSON(t, "ingest/activities/", "dave", body); r.status != http.StatusConflict {
				t.Fatalf("whole %v: replay %d %s", whole, r.status, r.body)
			}
			if n := len(adminActions(t, st)); n != before+1 {
				t.Errorf("whole %v: %d admin actions after the replay, want %d", whole, n, before+1)
			}
		}
	})
}
