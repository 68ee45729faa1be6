package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/auth"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

const (
	adminToken  = "admin-token-0123456789abcdefghijklmnop"
	viewerToken = "viewer-token-0123456789abcdefghijklmno"
)

// dashboardServer serves routes with the dashboard over an empty SQLite
// store, with an admin and a viewer token.
func dashboardServer(t *testing.T, sf *serveFlags) (*httptest.Server, *dashboard) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	set, err := tokenauth.New([]tokenauth.Entry{
		{Token: adminToken, ID: "a1111111-1111-4111-8111-111111111111", Username: "ada", FullName: "Ada Admin", Role: "admin"},
		{Token: viewerToken, ID: "b2222222-2222-4222-8222-222222222222", Username: "vic", FullName: "Vic Viewer", Role: "viewer"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tokens atomic.Pointer[tokenauth.Set]
	tokens.Store(set)
	log := slog.New(slog.DiscardHandler)
	ident := &identity{log: log, chain: auth.Chain{auth.Tokens(tokens.Load)}}
	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: ident.identify, Logger: log,
		RateLimit: analytics.RateLimitConfig{FailedAuth: sf.authFailLimit}})
	if err != nil {
		t.Fatal(err)
	}
	sf.logger = log
	if sf.sessionTTL == 0 {
		sf.sessionTTL = sessionTTLDefault
	}
	if sf.location == nil {
		sf.location = time.UTC
	}
	fails := authFailures{limiter: analytics.NewMemoryRateLimiter(), limit: sf.authFailLimit}
	dash, err := newDashboard(sf, svc, ident, fails, log)
	if err != nil {
		t.Fatal(err)
	}
	var stopping atomic.Bool
	srv := httptest.NewServer(routes(sf, svc, st, &stopping, dash))
	t.Cleanup(srv.Close)
	return srv, dash
}

func noRedirect() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr map[string]string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return send(t, c, req, cookies)
}

func getWith(t *testing.T, c *http.Client, u string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, c, req, cookies)
}

// send sends req with cookies and returns the response with its body read.
func send(t *testing.T, c *http.Client, req *http.Request, cookies []*http.Cookie) (*http.Response, string) {
	t.Helper()
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func sessionOf(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", sessionCookie, res.Header.Values("Set-Cookie"))
	return nil
}

func TestDashboardSignIn(t *testing.T) {
	srv, _ := dashboardServer(t, &serveFlags{})
	c := noRedirect()

	// GET / without a session is the sign-in page with one token field.
	res, body := getWith(t, c, srv.URL+"/")
	if res.StatusCode != http.StatusOK || strings.Count(body, "<input") != 1 || !strings.Contains(body, `name="token"`) || !strings.Contains(body, `action="/login"`) {
		t.Fatalf("GET / signed out: %d\n%s", res.StatusCode, body)
	}
	// Other pages send the browser to the sign-in page and back.
	res, _ = getWith(t, c, srv.URL+"/cost?date_from=2025-01-01")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fcost%3Fdate_from%3D2025-01-01" {
		t.Fatalf("GET /cost signed out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = getWith(t, c, srv.URL+"/login?next=%2Fcost")
	if !strings.Contains(body, `name="next" value="/cost"`) {
		t.Errorf("sign-in page lacks next:\n%s", body)
	}

	// Wrong and empty tokens.
	for _, tok := range []string{"", "not-a-token"} {
		res, body := post(t, c, srv.URL+"/login", url.Values{"token": {tok}}, nil)
		if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 || !strings.Contains(body, `role="alert"`) {
			t.Errorf("token %q: %d, cookies %v", tok, res.StatusCode, res.Cookies())
		}
	}

	// The right token: a session cookie with every flag, and back to next.
	res, _ = post(t, c, srv.URL+"/login", url.Values{"token": {viewerToken}, "next": {"/activity"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/activity" {
		t.Fatalf("sign in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	ck := sessionOf(t, res)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie flags: HttpOnly %v SameSite %v Path %q Secure %v", ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure)
	}
	if ck.MaxAge != int(sessionTTLDefault.Seconds()) || time.Until(ck.Expires) < sessionTTLDefault-time.Minute || time.Until(ck.Expires) > sessionTTLDefault+time.Minute {
		t.Errorf("cookie expiry: MaxAge %d Expires %v", ck.MaxAge, ck.Expires)
	}
	if strings.Contains(ck.Value, viewerToken) {
		t.Error("the cookie holds the token")
	}
	res, body = getWith(t, c, srv.URL+"/", ck)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Vic Viewer") || strings.Contains(body, `href="/health"`) {
		t.Errorf("overview as the viewer: %d", res.StatusCode)
	}
	if res, _ := getWith(t, c, srv.URL+"/health", ck); res.StatusCode != http.StatusForbidden {
		t.Errorf("health as the viewer: %d, want 403", res.StatusCode)
	}
	// Signed in, /login goes straight on.
	if res, _ := getWith(t, c, srv.URL+"/login?next=/cost", ck); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/cost" {
		t.Errorf("/login signed in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	// A forged or tampered cookie is no session.
	payload, sig, _ := strings.Cut(ck.Value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !strings.Contains(string(raw), `"r":"viewer"`) {
		t.Fatalf("cookie payload %q: %v", raw, err)
	}
	admin := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"r":"viewer"`, `"r":"admin"`, 1)))
	for name, v := range map[string]string{
		"tampered payload": admin + "." + sig,
		"no signature":     payload,
		"bad signature":    payload + ".AAAA",
	} {
		if res, _ := getWith(t, c, srv.URL+"/health", &http.Cookie{Name: sessionCookie, Value: v}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d, want a redirect to sign in", name, res.StatusCode)
		}
	}

	// Sign out clears the cookie.
	res, _ = post(t, c, srv.URL+"/logout", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}, ck)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Errorf("sign out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if out := sessionOf(t, res); out.MaxAge >= 0 || out.Value != "" {
		t.Errorf("sign out cookie: %+v", out)
	}

	// The API and the health checks are unchanged; the API takes no cookie.
	if res, _ := getWith(t, c, srv.URL+"/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
	if res, _ := getWith(t, c, srv.URL+apiPrefix+"metrics/", ck); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the session cookie: %d, want 401", res.StatusCode)
	}
}

func TestDashboardSessionExpiry(t *testing.T) {
	srv, dash := dashboardServer(t, &serveFlags{uiFlags: uiFlags{sessionTTL: time.Hour}})
	c := noRedirect()
	res, _ := post(t, c, srv.URL+"/login", url.Values{"token": {adminToken}}, nil)
	ck := sessionOf(t, res)
	if res, _ := getWith(t, c, srv.URL+"/health", ck); res.StatusCode != http.StatusOK {
		t.Fatalf("health as the admin: %d", res.StatusCode)
	}
	dash.now = func() time.Time { return time.Now().Add(time.Hour + time.Second) }
	if res, _ := getWith(t, c, srv.URL+"/health", ck); res.StatusCode != http.StatusSeeOther {
		t.Errorf("expired session: %d, want a redirect to sign in", res.StatusCode)
	}
	// Another process's key does not sign this one's sessions.
	_, other := dashboardServer(t, &serveFlags{})
	if _, ok := other.verify(ck.Value); ok {
		t.Error("a session verified with another random key")
	}
}

func TestDashboardCrossOrigin(t *testing.T) {
	srv, _ := dashboardServer(t, &serveFlags{})
	c := noRedirect()
	res, _ := post(t, c, srv.URL+"/login", url.Values{"token": {adminToken}}, nil)
	ck := sessionOf(t, res)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		hdr        map[string]string
	}{
		{"login cross-site", "/login", url.Values{"token": {adminToken}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"login other origin", "/login", url.Values{"token": {adminToken}}, map[string]string{"Origin": "https://evil.example"}},
		{"logout cross-site", "/logout", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"invalidate cross-site", "/health/invalidate-cache", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"invalidate other origin", "/health/invalidate-cache", nil, map[string]string{"Origin": "https://evil.example"}},
	} {
		res, _ := post(t, c, srv.URL+tc.path, tc.form, tc.hdr, ck)
		if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
			t.Errorf("%s: %d, cookies %v; want 403 and none", tc.name, res.StatusCode, res.Cookies())
		}
	}
	res, _ = post(t, c, srv.URL+"/health/invalidate-cache", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}, ck)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin invalidate: %d", res.StatusCode)
	}
}

func TestDashboardSecureCookie(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sf     serveFlags
		header string
		want   bool
	}{
		{"plain http", serveFlags{}, "", false},
		{"forwarded https from an untrusted peer", serveFlags{}, "https", false},
		{"forwarded https from a trusted proxy", serveFlags{proxies: []string{"127.0.0.1"}}, "https", true},
		{"forwarded https from a trusted prefix", serveFlags{proxies: []string{"127.0.0.0/8"}}, "https", true},
		{"forwarded http from a trusted proxy", serveFlags{proxies: []string{"127.0.0.1"}}, "http", false},
		{"forwarded https behind trusted hops", serveFlags{trustedHops: 1}, "https", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := dashboardServer(t, &tc.sf)
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["X-Forwarded-Proto"] = tc.header
			}
			res, _ := post(t, noRedirect(), srv.URL+"/login", url.Values{"token": {adminToken}}, hdr)
			if got := sessionOf(t, res).Secure; got != tc.want {
				t.Errorf("Secure = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("tls", func(t *testing.T) {
		_, dash := dashboardServer(t, &serveFlags{})
		r := httptest.NewRequest(http.MethodPost, "https://example.test/login", nil)
		r.TLS = &tls.ConnectionState{}
		if !dash.secure(r) {
			t.Error("a TLS request is not secure")
		}
	})
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/activity?x=1":         "/activity?x=1",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"activity":              "/",
		"/login?next=/":         "/",
		"/cost\r\nX: y":         "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDashboardFlags(t *testing.T) {
	var stderr strings.Builder
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-session-ttl", "10s"}, "-session-ttl: must be between 1m and 720h"},
		{[]string{"-session-key-file", "/nonexistent/key"}, "-session-key-file"},
	} {
		stderr.Reset()
		code := run(context.Background(), append([]string{"serve"}, tc.args...), envOf(withSpoolDir(t, nil)), io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestDashboardFailedSignInsAreLimited(t *testing.T) {
	srv, _ := dashboardServer(t, &serveFlags{authFailLimit: 3})
	c := noRedirect()
	for i := range 3 {
		if res, _ := post(t, c, srv.URL+"/login", url.Values{"token": {"wrong-token-" + strconv.Itoa(i)}}, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	// The budget is spent: even the right token waits.
	res, body := post(t, c, srv.URL+"/login", url.Values{"token": {adminToken}}, nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || len(res.Cookies()) != 0 {
		t.Errorf("after 3 failures: %d, Retry-After %q, cookies %v\n%s", res.StatusCode, res.Header.Get("Retry-After"), res.Cookies(), body)
	}
	if !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("no explanation:\n%s", body)
	}
}
