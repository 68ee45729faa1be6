package analytics

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

var uuidRE = regexp.MustCompile(`"(id|report_id)":"[0-9a-f-]{36}"`)

// TestGoldenWrites compares the bodies of the write and admin routes with
// testdata on both stores (generated ids are masked).
func TestGoldenWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		// No tracking: activities recorded in the background would make
		// the counts depend on timing.
		e := newEnv(t, st, untracked)
		csvData := advisorSample(t, "advisor_export_example.csv")
		cases := []struct {
			file, method, path, token string
			body                      []byte
			status                    int
			mask                      bool
		}{
			{"post_activities.json", "POST", "activities/", "bob", []byte(`{"activity_type":"view_dashboard"}`), 202, true},
			{"ingest_activities.json", "POST", "ingest/activities/", "dave", []byte(`{"activities":[{"activity_type":"login","user":{"id":"` + alice.ID + `"}},{"activity_type":"logout"}]}`), 201, false},
			{"ingest_client.json", "POST", "ingest/clients/", "carol", []byte(`{"id":"11111111-0000-4000-8000-00000000000A","company_name":" Tailspin ","industry":"consulting","created_at":"2025-06-01T10:00:00+02:00"}`), 201, false},
			{"ingest_report.json", "POST", "ingest/reports/", "alice", []byte(`{"id":"22222222-0000-4000-8000-00000000000A","client_id":"` + client1 + `","report_type":"cost","status":"completed","created_at":"2025-06-15T10:00:00Z","processing_started_at":"2025-06-15T10:00:00Z","processing_completed_at":"2025-06-15T10:00:01.5Z","csv_size_bytes":2048,"recommendations":[{"category":"cost","business_impact":"HIGH","recommendation":"Delete idle disks","potential_savings":12.345}]}`), 201, false},
			{"ingest_advisor_csv.json", "POST", "ingest/advisor-csv/?client_id=" + client2, "alice", csvData, 201, true},
			{"cache_invalidate.json", "POST", "cache/invalidate/", "dave", nil, 200, false},
			// carol's two seeded activities and the audit entry of her
			// ingest_client above.
			{"erase.json", "DELETE", "users/" + carol.ID + "/activities/", "dave", nil, 200, false},
			{"error_400.json", "GET", "user-activity/?date_from=15-01-2025", "dave", nil, 400, false},
			{"error_401.json", "GET", "metrics/", "", nil, 401, false},
			{"error_403.json", "GET", "system-health/", "alice", nil, 403, false},
			{"error_404.json", "GET", "client-performance/?client_id=" + unknown, "alice", nil, 404, false},
			{"error_405.json", "PATCH", "metrics/", "alice", nil, 405, false},
		}
		for _, c := range cases {
			t.Run(c.file, func(t *testing.T) {
				var body *bytes.Reader
				if c.body != nil {
					body = bytes.NewReader(c.body)
				} else {
					body = bytes.NewReader(nil)
				}
				r := e.do(t, c.method, c.path, c.token, body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				got := r.body
				if c.mask {
					got = uuidRE.ReplaceAll(got, []byte(`"$1":"<generated>"`))
				}
				checkGolden(t, c.file, got)
			})
		}
		t.Run("openapi.json", func(t *testing.T) {
			r := e.do(t, http.MethodGet, "openapi.json", "", nil)
			checkGolden(t, "openapi.json", r.body)
		})
	})
}
