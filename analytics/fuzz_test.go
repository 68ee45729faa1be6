package analytics

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/dates"
)

var fuzzGetRoutes = []string{"user-activity", "activity-summary", "cost-insights", "trends", "recent-activity", "clients",
	"client-performance", "entity-history", "metrics/history", "activity-history", "user-activity/export"}

func fuzzService(f *testing.F) *Service {
	f.Helper()
	st := openSQLiteF(f)
	svc, err := New(st, Config{IdentifyFunc: identify, NowFunc: func() time.Time { return fixedNow }, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	return svc
}

// FuzzParseQuery sends arbitrary query strings to the read routes: no
// panic, no 500, and every 400 names a field.
func FuzzParseQuery(f *testing.F) {
	for i, s := range querySeeds {
		f.Add(uint8(i), s)
	}
	svc := fuzzService(f)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string) {
		_, _, _ = dates.Parse(rawQuery, time.UTC)
		checkQuery(t, h, route, rawQuery)
	})
}

// querySeeds are query strings for the read routes.
var querySeeds = []string{
	"limit=5&offset=2", "limit=-1", "limit=99999999999999999999", "days=0", "days=366", "days=1e3",
	"date_from=2025-01-15&date_to=2025-01-14", "date_from=2025-01-15T10:30:00.123456+05:30", "date_to=2025-01-15 10:30",
	"date_from=0000-01-01", "date_to=9999-12-31T23:59:59.999999999Z", "client_id=11111111-0000-4000-8000-00000000000G",
	"cursor=AAAA&offset=0", "cursor=%00", "group_by=day&date_from=2025-06-01", "report_type=cost,,security,",
	"entity_type=report&entity_id=" + report1, "period=weekly&date_from=x", "format=ndjson", "user_id=%01",
	"activity_type=a%00b", "user_id=a%00", "cursor=%00%00", "report_type=cost%00", "group_by=day%00",
	"date_from=2025-01-01;x", "days=%zz", "%zz=1&days=3", "=%", ";;",
}

// checkQuery sends GET /<route>/?rawQuery and fails on a 5xx or on a 400
// that names no field.
func checkQuery(t *testing.T, h http.Handler, route uint8, rawQuery string) {
	t.Helper()
	{
		path := fuzzGetRoutes[int(route)%len(fuzzGetRoutes)]
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/" + path + "/", RawQuery: rawQuery},
			Header: http.Header{"Authorization": {"Bearer dave"}}, Body: http.NoBody}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET /%s/?%s: %d %s", path, rawQuery, rec.Code, rec.Body)
		}
		if rec.Code == 400 && !bytes.Contains(rec.Body.Bytes(), []byte(`"field"`)) {
			t.Fatalf("GET /%s/?%s: 400 without field: %s", path, rawQuery, rec.Body)
		}
	}
}

// TestQuerySeedsOnPostgres runs the FuzzParseQuery seeds on every read
// route against PostgreSQL.
func TestQuerySeedsOnPostgres(t *testing.T) {
	st := openPostgres(t)
	seed(t, st)
	h := newEnv(t, st, nil).svc.Handler()
	for _, q := range querySeeds {
		for route := range fuzzGetRoutes {
			checkQuery(t, h, uint8(route), q)
		}
	}
}

var fuzzPostRoutes = []string{"activities", "ingest/activities", "ingest/clients", "ingest/reports"}

// ingestSeeds are bodies for the write routes.
var ingestSeeds = []string{
	`{"activity_type":"login","metadata":{"a":[1,2,{"b":null}]}}`,
	`{"activities":[{"activity_type":"x","user":{"id":"u"},"created_at":"2025-01-01T00:00:00Z","duration_ms":1e308}]}`,
	`{"id":"` + client1 + `","company_name":"Contoso","industry":"retail"}`,
	`{"client_id":"` + client1 + `","report_type":"cost","recommendations":[{"category":"cost","potential_savings":1e400}]}`,
	`{"client_id":"` + client1 + `","report_type":"cost","csv_size_bytes":-1}`,
	`{"client_id":"` + client1 + `","report_type":"cost","processing_started_at":"2025-01-02T00:00:00Z","processing_completed_at":"2025-01-01T00:00:00Z"}`,
	`{"client_id":"` + client1 + `","report_type":"cost","recommendations":[{"category":"cost","recommendation":"r\u0000","currency":"US\u0000"}]}`,
	`{"activities":[{"activity_type":"a\u0000b","description":"x\u0000","metadata":{"k\u0000":"v"}}]}`,
	`{"company_name":"A\u0000B"}`, `{"activity_type":"a\\u0000b"}`, `{"company_name":"\u00e9\ud800"}`,
	`{"activity_type":"\u0000\ud800"}`, `null`, `[]`, `{"activities":null}`, "\xff\xfe{",
}

// FuzzIngestBody posts arbitrary bodies to the write routes: no panic and
// no 500.
func FuzzIngestBody(f *testing.F) {
	for i, s := range ingestSeeds {
		f.Add(uint8(i), []byte(s))
	}
	svc := fuzzService(f)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		checkIngestBody(t, h, route, body)
	})
}

// checkIngestBody posts body to one of the write routes and fails on a
// 5xx other than 503 (the Recorder's queue full).
func checkIngestBody(t *testing.T, h http.Handler, route uint8, body []byte) {
	t.Helper()
	{
		path := fuzzPostRoutes[int(route)%len(fuzzPostRoutes)]
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/"+path+"/", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer dave")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("POST /%s/ %q: %d %s", path, body, rec.Code, rec.Body)
		}
	}
}

// TestIngestSeedsOnPostgres runs the FuzzIngestBody seeds (NUL characters
// among them) against PostgreSQL, whose text type refuses what SQLite
// stores.
func TestIngestSeedsOnPostgres(t *testing.T) {
	st := openPostgres(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	h := e.svc.Handler()
	for _, b := range ingestSeeds {
		for route := range fuzzPostRoutes {
			checkIngestBody(t, h, uint8(route), []byte(b))
		}
	}
	for _, csvBody := range []string{"Category,Recommendation\ncost,a\x00b\n", "Category,Recommendation,Subscription Name\ncost,ok,s\x00\n"} {
		r := e.do(t, "POST", "ingest/advisor-csv/?client_id="+client1, "alice", strings.NewReader(csvBody))
		if r.status >= 500 {
			t.Errorf("CSV with NUL: %d %s", r.status, r.body)
		}
	}
}
