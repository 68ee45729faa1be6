package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advisoranalytics/advisor-analytics/internal/auth/authtest"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// platformSecret is a Django-style secret key, the platform's JWT secret.
const platformSecret = "django-insecure-3x4mpl3-s3cr3t-k3y-for-the-platform-jwts"

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jwt-secret")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// platformJWT signs claims as the platform does: HS256 with its secret,
// a valid access token of user 42 (an analyst) for changes == nil; a nil
// value in changes deletes the claim.
func platformJWT(t *testing.T, secret string, m jwt.SigningMethod, changes map[string]any) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"token_type": "access", "type": "access", "user_id": 42, "email": "ada@example.com",
		"username": "ada", "first_name": "Ada", "last_name": "Lovelace", "role": "analyst", "is_staff": false,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "d6a1c0ffee"}
	authtest.Edit(c, changes)
	var key any = []byte(secret)
	if m == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIdentityFlagValidation(t *testing.T) {
	secret := writeSecret(t, platformSecret, 0o600)
	short := writeSecret(t, "  too-short \n", 0o600)
	empty := writeSecret(t, "\n", 0o600)
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing secret file", nil, []string{"-jwt-secret-file", missing}, "-jwt-secret-file: auth: read secret file: open " + missing},
		{"short secret", nil, []string{"-jwt-secret-file", short}, "-jwt-secret-file: the secret is 9 bytes; an HS256 secret needs at least 32"},
		{"empty secret from env", map[string]string{"ANALYTICS_JWT_SECRET_FILE": empty}, nil, "ANALYTICS_JWT_SECRET_FILE: auth: read secret file " + empty + ": empty"},
		{"issuer without audience", nil, []string{"-oidc-issuer", "https://login.example.com/t/v2.0"}, "-oidc-audience: required with -oidc-issuer"},
		{"issuer not a URL", map[string]string{"ANALYTICS_OIDC_ISSUER": "login.example.com", "ANALYTICS_OIDC_AUDIENCE": "api://x"}, nil, `ANALYTICS_OIDC_ISSUER: "login.example.com" is not an https:// URL`},
		{"audience without issuer", map[string]string{"ANALYTICS_OIDC_AUDIENCE": "api://x"}, nil, "ANALYTICS_OIDC_AUDIENCE: needs -oidc-issuer"},
		{"role map without issuer", nil, []string{"-jwt-secret-file", secret, "-oidc-role-map", "A=admin"}, "-oidc-role-map: needs -oidc-issuer"},
		{"role map target", map[string]string{"ANALYTICS_OIDC_ISSUER": "https://login.example.com/t/v2.0", "ANALYTICS_OIDC_AUDIENCE": "api://x", "ANALYTICS_OIDC_ROLE_MAP": "Analytics.Admin=root"},
			nil, `ANALYTICS_OIDC_ROLE_MAP: "Analytics.Admin=root": unknown role "root"`},
		{"role map syntax", nil, []string{"-oidc-issuer", "https://login.example.com/t/v2.0", "-oidc-audience", "api://x", "-oidc-role-map", "Analytics.Admin"}, `-oidc-role-map: "Analytics.Admin" is not AppRole=role`},
		{"role claim", map[string]string{"ANALYTICS_OIDC_ROLE_CLAIM": "realm_access..roles"}, []string{"-oidc-issuer", "https://login.example.com/t/v2.0", "-oidc-audience", "api://x"}, `ANALYTICS_OIDC_ROLE_CLAIM: "realm_access..roles" is not a claim name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tt.env, append([]string{"serve", "-database", testdb.SQLitePath(t)}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
		})
	}
}

func TestOIDCDiscoveryFailureStopsStart(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	issuer := down.URL + "/tenant/v2.0"
	code, _, stderr := runCmd(t, nil, "serve", "-addr", "127.0.0.1:0", "-database", testdb.SQLitePath(t),
		"-oidc-issuer", issuer, "-oidc-audience", "api://x")
	down.Close()
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := "-oidc-issuer: auth: oidc discovery at " + issuer + "/.well-known/openid-configuration: 404 Not Found"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, stderr)
	}
}

func TestIdentitySQLite(t *testing.T) { testIdentity(t, testdb.SQLitePath(t)) }

func TestIdentityPostgres(t *testing.T) { testIdentity(t, testdb.PostgresURL(t)) }

// testIdentity runs the server with the tokens file, the platform's JWTs
// and a local OIDC issuer enabled together (the JWT and OIDC settings from
// the environment), and checks each authenticator and each refusal
// through real HTTP, and that the identities reach the store.
func testIdentity(t *testing.T, database string) {
	is := authtest.NewIssuer(t)
	tokensFile := filepath.Join(t.TempDir(), "tokens.json")
	fileAdmin := tokenauth.NewToken()
	if err := tokenauth.WriteFile(tokensFile, []tokenauth.Entry{{Token: fileAdmin, ID: store.NewID(), Username: "ops", Role: "admin"}}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ANALYTICS_JWT_SECRET_FILE": writeSecret(t, "\n"+platformSecret+"\n", 0o600),
		"ANALYTICS_OIDC_ISSUER":     is.URL(),
		"ANALYTICS_OIDC_AUDIENCE":   "00000000-1111-2222-3333-444444444444," + authtest.Audience,
		"ANALYTICS_OIDC_ROLE_MAP":   "Analytics.Admin=admin, Analytics.Manager=manager, Analytics.Reader=viewer",
	}
	base, _, logs, stop := startServer(t, env, "-addr", "127.0.0.1:0", "-database", database, "-tokens", tokensFile,
		"-track-api", "-log-level", "debug")
	api := base + apiPrefix
	now := time.Now()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := is.Current()

	type check struct {
		name   string
		token  string
		route  string
		status int
	}
	checks := []check{
		// Accepted, each by its authenticator, with the role it gives.
		{"tokens file admin", fileAdmin, "system-health/", 200},
		{"platform analyst", platformJWT(t, platformSecret, jwt.SigningMethodHS256, nil), "dashboard/", 200},
		{"platform analyst, manager route", platformJWT(t, platformSecret, jwt.SigningMethodHS256, nil), "system-health/", 403},
		{"platform staff", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"is_staff": true, "role": "viewer"}), "system-health/", 200},
		{"platform string user_id", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"user_id": "u-42", "role": "manager"}), "system-health/", 200},
		{"OIDC reader", is.Token(is.Claims(now, nil)), "dashboard/", 200},
		{"OIDC reader, manager route", is.Token(is.Claims(now, nil)), "system-health/", 403},
		{"OIDC admin", is.Token(is.Claims(now, map[string]any{"roles": []string{"Analytics.Reader", "Analytics.Admin"}})), "system-health/", 200},

		// Platform JWTs refused.
		{"platform expired", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}), "dashboard/", 401},
		{"platform no exp", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"exp": nil}), "dashboard/", 401},
		{"platform bad signature", platformJWT(t, platformSecret+"!", jwt.SigningMethodHS256, nil), "dashboard/", 401},
		{"platform alg none", platformJWT(t, platformSecret, jwt.SigningMethodNone, nil), "dashboard/", 401},
		{"platform HS512", platformJWT(t, platformSecret, jwt.SigningMethodHS512, nil), "dashboard/", 401},
		{"platform refresh token", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"token_type": "refresh", "type": "refresh"}), "dashboard/", 401},
		{"platform missing user_id", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"user_id": nil}), "dashboard/", 401},
		{"platform no role", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"role": nil}), "dashboard/", 403},
		{"platform unknown role", platformJWT(t, platformSecret, jwt.SigningMethodHS256, map[string]any{"role": "advisor"}), "dashboard/", 403},

		// OIDC tokens refused.
		{"OIDC expired", is.Token(is.Claims(now, map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), "dashboard/", 401},
		{"OIDC other audience", is.Token(is.Claims(now, map[string]any{"aud": "api://someone-else"})), "dashboard/", 401},
		{"OIDC other issuer", is.Token(is.Claims(now, map[string]any{"iss": "https://login.example.com/other/v2.0"})), "dashboard/", 401},
		{"OIDC key not published", authtest.SignRS256(t, other, kid, is.Claims(now, nil)), "dashboard/", 401},
		{"OIDC no mapped role", is.Token(is.Claims(now, map[string]any{"roles": []string{"Analytics.Unknown"}})), "dashboard/", 403},
		{"OIDC no roles", is.Token(is.Claims(now, map[string]any{"roles": nil})), "dashboard/", 403},

		// Neither.
		{"no token", "", "dashboard/", 401},
		{"unknown opaque token", tokenauth.NewToken(), "dashboard/", 401},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", api+c.route, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("GET %s = %d, want %d", c.route, resp.StatusCode, c.status)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q on a 401", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// The refusals are logged at debug level with their reason, never with
	// the token.
	for _, want := range []string{"token is expired", "a \\\"refresh\\\" token", "no mapped role"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not give the reason %q", want)
		}
	}
	for _, c := range checks {
		if c.token != "" && strings.Contains(logs.String(), c.token) {
			t.Errorf("the log holds the token of %q", c.name)
		}
	}

	// A key rotation at the issuer: tokens of the new key are accepted.
	is.Rotate(false)
	rotated := is.Token(is.Claims(now, map[string]any{"roles": "Analytics.Manager"}))
	if code, body := request(t, "GET", api+"system-health/", rotated, nil); code != 200 {
		t.Errorf("token of the rotated key = %d %s", code, body)
	}

	// The identities reach the store: each user sees its own tracked
	// requests under its Principal id.
	own := func(token, wantID, wantUsername string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body := request(t, "GET", api+"user-activity/?activity_type=view_dashboard", token, nil)
			if code != 200 {
				t.Fatalf("user-activity = %d %s", code, body)
			}
			var page struct {
				Activities []struct {
					User struct{ ID, Username string } `json:"user"`
				} `json:"activities"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Activities) > 0 {
				for _, a := range page.Activities {
					if a.User.ID != wantID || a.User.Username != wantUsername {
						t.Errorf("activity of %+v, want id %s username %s", a.User, wantID, wantUsername)
					}
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no tracked dashboard view of %s", wantID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	own(platformJWT(t, platformSecret, jwt.SigningMethodHS256, nil), "42", "ada")
	own(is.Token(is.Claims(now, nil)), "5f0c2b8e-6d3a-4f7e-9b1c-2a4d6e8f0a1b", "grace@contoso.example")

	if code := stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if n := is.DiscoveryHits(); n != 1 {
		t.Errorf("discovery fetched %d times, want once at start", n)
	}
}
