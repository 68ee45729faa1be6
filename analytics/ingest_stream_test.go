package analytics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// ingestBody is an ingest/activities body of n activities (several chunks
// of ingestChunk), each changed by edit (when not nil), as JSON.
func ingestBody(t *testing.T, n int, edit func(i int, r map[string]any)) string {
	t.Helper()
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	records := make([]map[string]any, n)
	for i := range records {
		r := map[string]any{
			"id":            fmt.Sprintf("66666666-0000-4000-8000-%012d", i),
			"user":          map[string]any{"id": fmt.Sprintf("user-%d", i%37), "username": fmt.Sprintf("name-%d", i%37)},
			"activity_type": []string{"login", "view_report", "export"}[i%3],
			"description":   fmt.Sprint("backfilled ", i),
			"ip_address":    "198.51.100.7",
			"status_code":   200,
			"duration_ms":   1.25,
			"metadata":      map[string]any{"i": i},
			"created_at":    start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano),
		}
		if edit != nil {
			edit(i, r)
		}
		records[i] = r
	}
	b, err := json.Marshal(map[string]any{"activities": records})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIngestActivitiesStreamed checks the streamed write of
// ingest/activities bodies (decoded and written chunk by chunk) against
// the whole-body path: the same answer to every body, nothing written on
// a refusal, and every activity written on success.
func TestIngestActivitiesStreamed(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		streamed := newEnv(t, st, nil)
		whole := newEnv(t, st, nil)
		whole.svc.wholeIngest = true
		total := func() int64 {
			t.Helper()
			page, err := st.ActivityList(t.Context(), store.ActivityListParams{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return page.Total
		}

		// A stored activity, for the conflicts.
		stored := ingestBody(t, 1, func(_ int, r map[string]any) { r["id"] = "77777777-0000-4000-8000-000000000001" })
		if r := streamed.postJSON(t, "ingest/activities/", "dave", stored); r.status != http.StatusCreated {
			t.Fatalf("seeding: %d %s", r.status, r.body)
		}
		conflict := func(i int, r map[string]any) {
			if i == 5 {
				r["id"], r["created_at"] = "77777777-0000-4000-8000-000000000001", "2025-03-01T00:00:00Z"
			}
		}
		edits := func(fns ...func(i int, r map[string]any)) func(i int, r map[string]any) {
			return func(i int, r map[string]any) {
				for _, fn := range fns {
					fn(i, r)
				}
			}
		}
		at := func(k int, key string, v any) func(i int, r map[string]any) {
			return func(i int, r map[string]any) {
				if i == k {
					r[key] = v
				}
			}
		}
		refused := []struct {
			name, token, body string
			status            int
		}{
			{"invalid in a later chunk", "dave", ingestBody(t, 2300, at(1500, "ip_address", "999.1.1.1")), 400},
			{"invalid first, undecodable later", "dave",
				ingestBody(t, 2300, edits(at(10, "ip_address", "bad"), at(2100, "status_code", "x"))), 400},
			{"unknown field later", "dave", ingestBody(t, 2300, at(1800, "colour", "red")), 400},
			{"stored activity", "dave", ingestBody(t, 2300, conflict), 409},
			{"stored activity, undecodable later", "dave", ingestBody(t, 2300, edits(conflict, at(2200, "duration_ms", "slow"))), 400},
			{"stored activity, invalid later", "dave", ingestBody(t, 2300, edits(conflict, at(2299, "activity_type", ""))), 400},
			{"not an admin", "alice", ingestBody(t, 1200, nil), 403},
			{"too many", "dave", ingestBody(t, MaxIngestActivities+1, nil), 400},
			{"another member", "dave", strings.TrimSuffix(ingestBody(t, 1200, nil), "}") + `,"more":1}`, 400},
			{"trailing data", "dave", ingestBody(t, 1200, nil) + `{}`, 400},
			{"empty element", "dave", strings.Replace(ingestBody(t, 1200, nil), "},{", "},,{", 1), 400},
		}
		for _, c := range refused {
			before := total()
			rs := streamed.postJSON(t, "ingest/activities/", c.token, c.body)
			rw := whole.postJSON(t, "ingest/activities/", c.token, c.body)
			if rs.status != c.status || rw.status != c.status {
				t.Errorf("%s: status %d streamed, %d whole, want %d: %s", c.name, rs.status, rw.status, c.status, rs.body)
				continue
			}
			es, ew := errBody(t, rs), errBody(t, rw)
			es.RequestID, ew.RequestID = "", ""
			if diff := cmp.Diff(ew, es); diff != "" {
				t.Errorf("%s: answers differ (-whole +streamed):\n%s", c.name, diff)
			}
			if n := total(); n != before {
				t.Errorf("%s: %d activities written", c.name, n-before)
			}
		}

		// Success: every activity written as sent, in one answer.
		before := total()
		body := ingestBody(t, 2345, func(i int, r map[string]any) {
			if i%2 == 1 {
				delete(r, "id") // assigned by the store
			}
		})
		r := streamed.postJSON(t, "ingest/activities/", "dave", body)
		if r.status != http.StatusCreated || strings.TrimSpace(string(r.body)) != `{"count":2345}` {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if n := total(); n != before+2346 {
			t.Fatalf("%d activities written, want 2345 and the admin action's", n-before)
		}
		var in IngestActivitiesInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		var got []string
		err := st.ActivityIterate(t.Context(), store.ActivityFilter{From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			To: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)}, func(a *store.Activity) error {
			if a.ID != "77777777-0000-4000-8000-000000000001" {
				got = append(got, fmt.Sprintf("%s %s %s %s %v", a.CreatedAt.Format(time.RFC3339), a.UserID, a.ActivityType,
					a.Description, a.Metadata["i"]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		var want []string
		for _, rec := range in.Activities {
			if rec.CreatedAt.Before(time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)) {
				want = append(want, fmt.Sprintf("%s %s %s %s %v", rec.CreatedAt.Format(time.RFC3339), rec.User.ID, rec.ActivityType,
					rec.Description, rec.Metadata["i"]))
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored activities (-sent +stored):\n%s", diff)
		}
	})
}

// FuzzIngestActivitiesStreamed posts the same body to two Services over
// two stores alike, one writing ingest/activities bodies chunk by chunk
// and one decoding them whole: the answers must be the same. A body is
// either body as given or, when elem is not empty, n copies of elem in an
// activities array (over several chunks when n is large).
func FuzzIngestActivitiesStreamed(f *testing.F) {
	elems := []string{
		`{"activity_type":"login","user":{"id":"u1","username":"a"},"created_at":"2025-01-01T00:00:00Z"}`,
		`{"activity_type":"x","ip_address":"1.2.3.4","metadata":{"a":[1,{"b":"],"}]}}`,
		`{"activity_type":"x","status_code":"200"}`,
		`{"activity_type":"x","id":"66666666-0000-4000-8000-000000000001","created_at":"2025-01-01T00:00:00Z"}`,
		`{"activity_type":"x","extra":1}`, `null`, `{}`, `{"activity_type":"x"} `, `1`,
	}
	for i, e := range elems {
		f.Add([]byte(nil), []byte(e), uint16(i*700+1))
	}
	for _, s := range ingestSeeds {
		f.Add([]byte(s), []byte(nil), uint16(0))
	}
	f.Add([]byte(`{"activities":[{"activity_type":"a"},,{"activity_type":"b"}]}`), []byte(nil), uint16(0))
	f.Add([]byte(` {"activities" : [ {"activity_type":"a"} ] } `), []byte(nil), uint16(0))
	streamed, whole := fuzzService(f), fuzzService(f)
	whole.wholeIngest = true
	hs, hw := streamed.Handler(), whole.Handler()
	f.Fuzz(func(t *testing.T, body, elem []byte, n uint16) {
		if len(elem) > 0 {
			n = n%2500 + 1
			b := []byte(`{"activities":[`)
			for i := range int(n) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, elem...)
			}
			body = append(b, "]}"...)
		}
		post := func(h http.Handler) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/ingest/activities/", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer dave")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		rs, rw := post(hs), post(hw)
		if rs.Code != rw.Code {
			t.Fatalf("%.200q: status %d streamed, %d whole: %s / %s", body, rs.Code, rw.Code, rs.Body, rw.Body)
		}
		var es, ew ErrorBody
		_ = json.Unmarshal(rs.Body.Bytes(), &es)
		_ = json.Unmarshal(rw.Body.Bytes(), &ew)
		es.RequestID, ew.RequestID = "", ""
		if es != ew {
			t.Fatalf("%.200q: answers differ: %s / %s", body, rs.Body, rw.Body)
		}
	})
}
