package webui_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/demo"
	"github.com/advisoranalytics/advisor-analytics/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of the tests: Sunday 15 June 2025, 12:00 UTC.
var fixedNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// roles are tested from the most to the least privileged.
var roles = []analytics.Role{analytics.RoleAdmin, analytics.RoleManager, analytics.RoleAnalyst, analytics.RoleViewer}

// demoPrincipals maps each role to the first non-staff demo user with it;
// the tests send the role name as the bearer token.
func demoPrincipals() map[string]analytics.Principal {
	out := map[string]analytics.Principal{}
	for _, u := range demo.Users(1) {
		if _, ok := out[u.Role]; ok || u.Staff {
			continue
		}
		out[u.Role] = analytics.Principal{ID: u.ID, Username: u.Username, FullName: u.FullName, Email: u.Email, Role: analytics.Role(u.Role)}
	}
	return out
}

func bearerIdentify(users map[string]analytics.Principal) func(*http.Request) (analytics.Principal, error) {
	return func(r *http.Request) (analytics.Principal, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return analytics.Principal{}, analytics.ErrUnauthenticated
		}
		p, ok := users[tok]
		if !ok {
			return analytics.Principal{}, analytics.ErrUnauthenticated
		}
		return p, nil
	}
}

// env is a dashboard over a Service over a store holding the demo data.
type env struct {
	svc   *analytics.Service
	users map[string]analytics.Principal
	ui    http.Handler
	srv   *httptest.Server // the dashboard at /ui/ and the JSON API at /api/
}

func newEnv(t testing.TB, st store.Store, cfg webui.Config) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Load(ctx, st, demo.Config{Now: fixedNow, Seed: 1}); err != nil {
		t.Fatalf("load demo data: %v", err)
	}
	users := demoPrincipals()
	ident := bearerIdentify(users)
	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: ident, NowFunc: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("start service: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Close(cctx)
	})
	if cfg.Identify == nil {
		cfg.Identify = ident
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/ui"
	}
	ui, err := webui.New(svc, cfg)
	if err != nil {
		t.Fatalf("webui.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Prefix+"/", http.StripPrefix(cfg.Prefix, ui))
	mux.Handle("/api/", http.StripPrefix("/api", svc.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{svc: svc, users: users, ui: ui, srv: srv}
}

// get requests path of the test server as role ("" for nobody), without
// following redirects.
func (e *env) do(t testing.TB, method, path, role string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+role)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return res, string(b)
}

func (e *env) get(t testing.TB, path, role string) (*http.Response, string) {
	t.Helper()
	return e.do(t, http.MethodGet, path, role, nil)
}
