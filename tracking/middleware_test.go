package tracking

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	reportID = "3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8"
	clientID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
)

var alice = Identity{UserID: "u-1", Username: "alice", FullName: "Alice Doe"}

// identifyHeader identifies requests by their X-User header.
func identifyHeader(r *http.Request) (Identity, bool) {
	if u := r.Header.Get("X-User"); u != "" {
		return Identity{UserID: "id-" + u, Username: u, FullName: strings.ToUpper(u)}, true
	}
	return Identity{}, false
}

// statusHandler answers with the status in the X-Status request header
// (200 by default) and a small body.
var statusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	switch r.Header.Get("X-Status") {
	case "201":
		status = 201
	case "404":
		status = 404
	case "500":
		status = 500
	}
	w.Header().Set("X-Handler", "yes")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "hello")
})

type harness struct {
	w   *memWriter
	rec *Recorder
	h   http.Handler
}

func newHarness(t *testing.T, cfg MiddlewareConfig, next http.Handler) *harness {
	t.Helper()
	w := newMemWriter()
	rec := newTestRecorder(t, w, RecorderConfig{})
	cfg.Recorder = rec
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	mw, err := NewMiddleware(cfg)
	if err != nil {
		t.Fatalf("NewMiddleware: %v", err)
	}
	return &harness{w: w, rec: rec, h: mw(next)}
}

func (h *harness) do(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "203.0.113.9:4567"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rr := httptest.NewRecorder()
	h.h.ServeHTTP(rr, req)
	return rr
}

// rows closes the Recorder and returns what it wrote.
func (h *harness) rows(t *testing.T) []store.Activity {
	t.Helper()
	mustClose(t, h.rec)
	return h.w.all()
}

func TestMiddlewareWhatIsTracked(t *testing.T) {
	user := map[string]string{"X-User": "alice"}
	type want struct {
		Type, Desc, ReportID, ClientID string
		Status                         int
	}
	tests := []struct {
		name         string
		cfg          MiddlewareConfig
		method, path string
		hdr          map[string]string
		want         *want
	}{
		{name: "tracked POST rule", method: "POST", path: "/api/v1/clients/", hdr: user,
			want: &want{"create_client", "Created a new client", "", "", 200}},
		{name: "query string dropped", method: "POST", path: "/api/v1/reports/" + reportID + "/share/?to=bob&token=secret", hdr: user,
			want: &want{"share_report", "Shared report " + reportID, reportID, "", 200}},
		{name: "client id from rule", method: "PATCH", path: "/api/v1/clients/" + strings.ToUpper(clientID), hdr: user,
			want: &want{"update_client", "Updated client " + strings.ToUpper(clientID), "", clientID, 200}},
		{name: "GET download rule", method: "GET", path: "/api/v1/reports/" + reportID + "/download/xlsx/", hdr: user,
			want: &want{"download_report", "Downloaded report " + reportID + " as xlsx", reportID, "", 200}},
		{name: "GET dashboard rule", method: "GET", path: "/api/v1/analytics/dashboard", hdr: user,
			want: &want{"view_dashboard", "Viewed dashboard", "", "", 200}},
		{name: "other with ids from path", method: "PUT", path: "/api/v1/clients/" + clientID + "/reports/" + reportID + "/notes", hdr: user,
			want: &want{"other", "PUT /api/v1/clients/" + clientID + "/reports/" + reportID + "/notes", reportID, clientID, 200}},
		{name: "other 201", method: "DELETE", path: "/api/v1/things/7", hdr: map[string]string{"X-User": "alice", "X-Status": "201"},
			want: &want{"other", "DELETE /api/v1/things/7", "", "", 201}},
		{name: "GET without rule", method: "GET", path: "/api/v1/reports/", hdr: user},
		{name: "HEAD without rule", method: "HEAD", path: "/api/v1/clients/", hdr: user},
		{name: "anonymous", method: "POST", path: "/api/v1/clients/"},
		{name: "anonymous tracked when asked", cfg: MiddlewareConfig{TrackAnonymous: true}, method: "POST", path: "/api/v1/auth/login/",
			want: &want{"login", "Logged in", "", "", 200}},
		{name: "failed", method: "POST", path: "/api/v1/clients/", hdr: map[string]string{"X-User": "alice", "X-Status": "404"}},
		{name: "server error", method: "POST", path: "/api/v1/clients/", hdr: map[string]string{"X-User": "alice", "X-Status": "500"}},
		{name: "failed tracked when asked", cfg: MiddlewareConfig{TrackFailed: true}, method: "POST", path: "/api/v1/clients/",
			hdr: map[string]string{"X-User": "alice", "X-Status": "404"}, want: &want{"create_client", "Created a new client", "", "", 404}},
		{name: "skipped path", cfg: MiddlewareConfig{SkipPaths: []string{"/api/v1/auth/"}}, method: "POST", path: "/api/v1/auth/login/", hdr: user},
		{name: "custom rules replace defaults", cfg: MiddlewareConfig{Rules: []Rule{{Methods: []string{"GET"}, Pattern: "/export/{format}", ActivityType: "export", Description: "Exported {format}"}}},
			method: "GET", path: "/export/csv", hdr: user, want: &want{"export", "Exported csv", "", "", 200}},
		{name: "custom rules drop defaults", cfg: MiddlewareConfig{Rules: []Rule{}}, method: "POST", path: "/api/v1/clients/", hdr: user,
			want: &want{"other", "POST /api/v1/clients/", "", "", 200}},
		{name: "added rule before defaults", cfg: MiddlewareConfig{Rules: append([]Rule{{Methods: []string{"POST"}, Pattern: "/api/v1/clients/", ActivityType: "onboard_client"}}, DefaultRules()...)},
			method: "POST", path: "/api/v1/clients/", hdr: user, want: &want{"onboard_client", "POST /api/v1/clients/", "", "", 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Identify = identifyHeader
			h := newHarness(t, cfg, statusHandler)
			rr := h.do(tt.method, tt.path, tt.hdr)
			if rr.Body.String() != "hello" && tt.method != "HEAD" {
				t.Errorf("body = %q", rr.Body.String())
			}
			rows := h.rows(t)
			var got *want
			if len(rows) > 1 {
				t.Fatalf("%d rows, want at most 1", len(rows))
			}
			if len(rows) == 1 {
				a := rows[0]
				got = &want{a.ActivityType, a.Description, a.ReportID, a.ClientID, a.StatusCode}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("activity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareActivityFields(t *testing.T) {
	start := time.Date(2025, 1, 15, 10, 30, 0, 123456789, time.UTC)
	clock := start
	now := func() time.Time { t := clock; clock = clock.Add(1500 * time.Microsecond); return t }
	stats := &HTTPStats{}
	h := newHarness(t, MiddlewareConfig{
		Identify: func(*http.Request) (Identity, bool) { return alice, true },
		NowFunc:  now,
		Stats:    stats,
	}, statusHandler)
	longUA := strings.Repeat("é", 600)
	h.do("GET", "/api/v1/reports/"+reportID+"/download/pdf/?x=1", map[string]string{"User-Agent": longUA})
	rows := h.rows(t)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	got := rows[0]
	want := store.Activity{
		UserID: "u-1", Username: "alice", FullName: "Alice Doe",
		ActivityType: "download_report", Description: "Downloaded report " + reportID + " as pdf",
		ReportID: reportID, IPAddress: "203.0.113.9", UserAgent: strings.Repeat("é", 500),
		Method: "GET", Path: "/api/v1/reports/" + reportID + "/download/pdf/", StatusCode: 200,
		Duration: 1500 * time.Microsecond,
		Metadata: map[string]any{"path": "/api/v1/reports/" + reportID + "/download/pdf/", "method": "GET", "status": 200,
			"duration_ms": 1.5, "bytes": int64(5), "report_id": reportID, "format": "pdf"},
		CreatedAt: start.Truncate(time.Microsecond),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Activity{}, "ID")); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	if !store.ValidUUID(got.ID) {
		t.Errorf("ID = %q", got.ID)
	}
	if f := stats.Snapshot(clock); f.Requests != 1 || f.AvgLatencyMS != 1.5 {
		t.Errorf("HTTP figures = %+v", f)
	}
}

func TestMiddlewareLongPath(t *testing.T) {
	h := newHarness(t, MiddlewareConfig{Identify: identifyHeader}, statusHandler)
	path := "/" + strings.Repeat("a", 400)
	h.do("POST", path, map[string]string{"X-User": "bob"})
	rows := h.rows(t)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	if want := ("POST " + path)[:255]; rows[0].Description != want {
		t.Errorf("description has %d characters, want the first 255 of %q", len(rows[0].Description), "POST "+path)
	}
	if rows[0].Path != path {
		t.Errorf("path cut to %d characters", len(rows[0].Path))
	}
}

func TestMiddlewareContextHelpers(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		handler func(r *http.Request)
		want    func(t *testing.T, rows []store.Activity)
	}{
		{"metadata added", "POST", "/api/v1/clients/", func(r *http.Request) {
			AddMetadata(r, "company", "Contoso")
			AddMetadataContext(r.Context(), "status", "overridden by the middleware")
		}, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 1 || rows[0].Metadata["company"] != "Contoso" || rows[0].Metadata["status"] != 200 {
				t.Errorf("rows = %+v", rows)
			}
		}},
		{"activity overridden", "POST", "/api/v1/reports/shares/", func(r *http.Request) {
			SetActivity(r, "", "Shared report "+reportID)
		}, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 1 || rows[0].ActivityType != "share_report" || rows[0].Description != "Shared report "+reportID {
				t.Errorf("rows = %+v", rows)
			}
		}},
		{"type overridden on GET rule", "GET", "/api/v1/analytics/dashboard/", func(r *http.Request) {
			SetActivityContext(r.Context(), "view_cost_dashboard", "")
		}, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 1 || rows[0].ActivityType != "view_cost_dashboard" || rows[0].Description != "Viewed dashboard" {
				t.Errorf("rows = %+v", rows)
			}
		}},
		{"skipped", "POST", "/api/v1/clients/", func(r *http.Request) { Skip(r) }, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 0 {
				t.Errorf("rows = %+v, want none", rows)
			}
		}},
		{"identity set by login handler", "POST", "/api/v1/auth/login/", func(r *http.Request) {
			SetIdentity(r, Identity{UserID: "u-9", Username: "carol"})
		}, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 1 || rows[0].UserID != "u-9" || rows[0].ActivityType != "login" {
				t.Errorf("rows = %+v", rows)
			}
		}},
		{"helpers are no-ops on untracked requests", "GET", "/api/v1/reports/", func(r *http.Request) {
			AddMetadata(r, "k", "v")
			SetActivity(r, "x", "y")
			SetIdentity(r, alice)
			Skip(r)
		}, func(t *testing.T, rows []store.Activity) {
			if len(rows) != 0 {
				t.Errorf("rows = %+v, want none", rows)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, MiddlewareConfig{Identify: identifyHeader}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.handler(r)
			}))
			h.do(tt.method, tt.path, map[string]string{"X-User": "alice"})
			rows := h.rows(t)
			tt.want(t, rows)
		})
	}
}

func TestMiddlewareLateHelperCallsIgnored(t *testing.T) {
	saved := make(chan *http.Request, 1)
	h := newHarness(t, MiddlewareConfig{Identify: identifyHeader}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saved <- r
	}))
	h.do("POST", "/api/v1/clients/", map[string]string{"X-User": "alice"})
	r := <-saved
	AddMetadata(r, "late", true) // after the response: must not race with the writer
	SetActivity(r, "late", "late")
	rows := h.rows(t)
	if len(rows) != 1 || rows[0].ActivityType != "create_client" || rows[0].Metadata["late"] != nil {
		t.Errorf("rows = %+v", rows)
	}
}

func TestMiddlewareIPStorage(t *testing.T) {
	proxy, err := NewIPResolver(IPConfig{TrustedProxies: []string{"203.0.113.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg  MiddlewareConfig
		xff  string
		want string
	}{
		{MiddlewareConfig{}, "198.51.100.4", "203.0.113.9"},
		{MiddlewareConfig{IP: proxy}, "198.51.100.4", "198.51.100.4"},
		{MiddlewareConfig{IP: proxy, IPStorage: IPTruncate}, "198.51.100.4", "198.51.100.0"},
		{MiddlewareConfig{IP: proxy, IPStorage: IPTruncate}, "2001:db8:1:2::3", "2001:db8:1::"},
		{MiddlewareConfig{IP: proxy, IPStorage: IPNone}, "198.51.100.4", ""},
		{MiddlewareConfig{IP: proxy}, "garbage", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.cfg.IPStorage)+"/"+tt.xff, func(t *testing.T) {
			tt.cfg.Identify = identifyHeader
			h := newHarness(t, tt.cfg, statusHandler)
			h.do("POST", "/x", map[string]string{"X-User": "alice", "X-Forwarded-For": tt.xff})
			rows := h.rows(t)
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1 (an invalid IP never loses the event)", len(rows))
			}
			if rows[0].IPAddress != tt.want {
				t.Errorf("IPAddress = %q, want %q", rows[0].IPAddress, tt.want)
			}
		})
	}
}

func TestNewMiddlewareValidation(t *testing.T) {
	rec, err := NewRecorder(newMemWriter(), RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     MiddlewareConfig
		wantErr string
	}{
		{"no recorder", MiddlewareConfig{}, "Recorder"},
		{"bad rule", MiddlewareConfig{Recorder: rec, Rules: []Rule{{Pattern: "/"}}}, "Rules[0]"},
		{"hash without key", MiddlewareConfig{Recorder: rec, IPStorage: IPHash}, "IPHashKey"},
		{"unknown storage", MiddlewareConfig{Recorder: rec, IPStorage: "partial"}, "IPStorage"},
		{"empty skip path", MiddlewareConfig{Recorder: rec, SkipPaths: []string{"/health", ""}}, "SkipPaths[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMiddleware(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewMiddleware = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

// TestMiddlewarePanickingIdentify: a panic in tracking code is logged and
// the response is untouched.
func TestMiddlewarePanickingIdentify(t *testing.T) {
	sink := &logSink{}
	h := newHarness(t, MiddlewareConfig{
		Identify: func(*http.Request) (Identity, bool) { panic("identify exploded") },
		Logger:   sink.logger(),
	}, statusHandler)
	rr := h.do("POST", "/api/v1/clients/", nil)
	if rr.Code != 200 || rr.Body.String() != "hello" || rr.Header().Get("X-Handler") != "yes" {
		t.Errorf("response = %d %q %v", rr.Code, rr.Body.String(), rr.Header())
	}
	if got := sink.messages(); !cmp.Equal(got, []string{"tracking: recording a request panicked"}) {
		t.Errorf("log = %q", got)
	}
}

// TestMiddlewareHandlerPanicPropagates: the middleware does not swallow the
// handler's own panic (the server or an outer recoverer handles it).
func TestMiddlewareHandlerPanicPropagates(t *testing.T) {
	h := newHarness(t, MiddlewareConfig{Identify: identifyHeader}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	h.do("POST", "/api/v1/clients/", map[string]string{"X-User": "alice"})
	t.Error("the handler's panic was swallowed")
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func fetch(t *testing.T, c *http.Client, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User", "alice")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Del("Date")
	return response{resp.StatusCode, resp.Header, string(b)}
}

// TestBrokenStoreNeverChangesResponse compares what clients get through
// the middleware over a failing, a panicking and a full-queue store with
// what they get from the bare handler.
func TestBrokenStoreNeverChangesResponse(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Kind", r.Method)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	bare := httptest.NewServer(app)
	defer bare.Close()
	want := fetch(t, bare.Client(), "POST", bare.URL+"/api/v1/clients/")

	writers := map[string]store.ActivityWriter{
		"unavailable": errWriter{errDown},
		"panicking":   panicWriter{},
		"invalid":     errWriter{storedriver.Invalid("activity_type", "nope")},
	}
	for name, sw := range writers {
		t.Run(name, func(t *testing.T) {
			rec := newTestRecorder(t, sw, RecorderConfig{QueueSize: 4, BatchSize: 1, RetryMin: time.Millisecond, RetryMax: time.Millisecond})
			mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Identify: identifyHeader, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw(app))
			defer srv.Close()
			for i := range 20 { // enough to fill the queue
				got := fetch(t, srv.Client(), "POST", srv.URL+"/api/v1/clients/")
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("request %d: response differs from the bare handler (-want +got):\n%s", i, diff)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_ = rec.Close(ctx)
			s := rec.Stats()
			if s.Enqueued+s.Dropped.Total() != 20 || s.Written != 0 || s.Failed+s.Quarantined != s.Enqueued {
				t.Errorf("stats = %+v: every event must be failed, quarantined or dropped", s)
			}
		})
	}
}

func TestFlusherHijackerResponseController(t *testing.T) {
	h := newHarness(t, MiddlewareConfig{Identify: identifyHeader}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flush":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "part1\n")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part2\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
		case "/deadline":
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline through the middleware: %v", err)
			}
			w.WriteHeader(http.StatusAccepted)
		case "/hijack":
			conn, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			_ = brw.Flush()
		case "/rc-hijack":
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("ResponseController.Hijack: %v", err)
				return
			}
			_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			conn.Close()
		}
	}))
	// A hijacked request may still be in the middleware after its client
	// has its answer (and httptest stops waiting for hijacked connections):
	// count the requests out so that all are recorded before rows.
	var inFlight sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Done()
		h.h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	for _, path := range []string{"/flush", "/deadline", "/hijack", "/rc-hijack"} {
		t.Run(path, func(t *testing.T) {
			got := fetch(t, srv.Client(), "POST", srv.URL+path)
			want := map[string]response{
				"/flush":     {200, nil, "part1\npart2\n"},
				"/deadline":  {202, nil, ""},
				"/hijack":    {200, nil, "hijacked"},
				"/rc-hijack": {204, nil, ""},
			}[path]
			if got.Status != want.Status || got.Body != want.Body {
				t.Errorf("got %d %q, want %d %q", got.Status, got.Body, want.Status, want.Body)
			}
		})
	}
	t.Run("streaming", func(t *testing.T) {
		// The first part reaches the client before the handler finishes.
		release := make(chan struct{})
		stream := httptest.NewServer(mustMiddleware(t, h.rec)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "second\n")
		})))
		defer stream.Close()
		resp, err := http.Post(stream.URL, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		close(release)
		if err != nil || line != "first\n" {
			t.Errorf("first line = %q, %v: flush did not reach the client", line, err)
		}
	})

	inFlight.Wait()
	rows := h.rows(t)
	var statuses []int
	for _, a := range rows {
		if a.Path != "/" {
			statuses = append(statuses, a.StatusCode)
		}
	}
	if diff := cmp.Diff([]int{200, 202, 101, 101}, statuses, cmpopts.SortSlices(func(a, b int) bool { return a < b })); diff != "" {
		t.Errorf("recorded statuses (-want +got):\n%s", diff)
	}
}

func mustMiddleware(t *testing.T, rec *Recorder) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Identify: identifyHeader, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func TestResponseWriterNotSupported(t *testing.T) {
	// A ResponseWriter without Flush or Hijack: the wrapper reports
	// ErrNotSupported instead of pretending.
	rw := getWriter(struct{ http.ResponseWriter }{httptest.NewRecorder()})
	if _, _, err := rw.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack = %v, want ErrNotSupported", err)
	}
	if err := http.NewResponseController(rw).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Flush = %v, want ErrNotSupported", err)
	}
	rw.Flush() // must not panic
}

// codeRecorder records every WriteHeader call and the body.
type codeRecorder struct {
	codes []int
	body  strings.Builder
	h     http.Header
}

func (c *codeRecorder) Header() http.Header         { return c.h }
func (c *codeRecorder) WriteHeader(code int)        { c.codes = append(c.codes, code) }
func (c *codeRecorder) Write(b []byte) (int, error) { return c.body.Write(b) }

func TestResponseWriterCounts(t *testing.T) {
	rr := &codeRecorder{h: http.Header{}}
	rw := getWriter(rr)
	rw.WriteHeader(http.StatusEarlyHints) // informational: not the final status
	rw.WriteHeader(http.StatusAccepted)
	_, _ = rw.Write([]byte("abc"))
	_, _ = rw.WriteString("de")
	_, _ = rw.ReadFrom(strings.NewReader("fgh"))
	if rw.statusCode() != 202 || rw.bytes != 8 || rr.body.String() != "abcdefgh" || !cmp.Equal(rr.codes, []int{103, 202}) {
		t.Errorf("status %d bytes %d body %q codes %v", rw.statusCode(), rw.bytes, rr.body.String(), rr.codes)
	}
	if rw.Unwrap() != rr {
		t.Error("Unwrap does not return the wrapped writer")
	}
	empty := getWriter(httptest.NewRecorder())
	if empty.statusCode() != 200 {
		t.Errorf("status with nothing written = %d, want 200", empty.statusCode())
	}
}
