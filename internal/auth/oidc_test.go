package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/auth/authtest"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

const testAudience = authtest.Audience

var testRoleMap = map[string]string{
	"Analytics.Admin":   "admin",
	"Analytics.Manager": "manager",
	"Analytics.Analyst": "analyst",
	"Analytics.Reader":  "viewer",
}

func newTestOIDC(t *testing.T, is *authtest.Issuer, change func(*OIDCConfig)) *OIDC {
	t.Helper()
	cfg := OIDCConfig{Issuer: is.URL(), Audiences: []string{testAudience}, RoleMap: testRoleMap}
	if change != nil {
		change(&cfg)
	}
	o, err := NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return o
}

func TestOIDCAccepts(t *testing.T) {
	is := authtest.NewIssuer(t)
	now := time.Now()
	grace := tokenauth.Identity{ID: "5f0c2b8e-6d3a-4f7e-9b1c-2a4d6e8f0a1b", Username: "grace@contoso.example",
		FullName: "Grace Hopper", Email: "grace@example.com", Role: "viewer"}
	with := func(f func(*tokenauth.Identity)) tokenauth.Identity {
		id := grace
		f(&id)
		return id
	}
	tests := []struct {
		name    string
		config  func(*OIDCConfig)
		changes map[string]any
		want    tokenauth.Identity
	}{
		{"mapped app role", nil, nil, grace},
		{"highest mapped role wins", nil, map[string]any{"roles": []string{"Analytics.Reader", "Other.Role", "Analytics.Manager", "Analytics.Analyst"}},
			with(func(id *tokenauth.Identity) { id.Role = "manager" })},
		{"sub without oid", nil, map[string]any{"oid": nil},
			with(func(id *tokenauth.Identity) { id.ID = "pairwise-subject-1" })},
		{"username falls back to email", nil, map[string]any{"preferred_username": nil},
			with(func(id *tokenauth.Identity) { id.Username = "grace@example.com" })},
		{"username falls back to the id", nil, map[string]any{"preferred_username": nil, "email": nil, "name": nil},
			tokenauth.Identity{ID: grace.ID, Username: grace.ID, Role: "viewer"}},
		{"role claim as a string", nil, map[string]any{"roles": "Analytics.Admin"},
			with(func(id *tokenauth.Identity) { id.Role = "admin" })},
		{"audience among several", nil, map[string]any{"aud": []string{"other", testAudience}}, grace},
		{"second accepted audience", func(c *OIDCConfig) { c.Audiences = []string{"11111111-2222-3333-4444-555555555555", testAudience} }, nil, grace},
		{"other role claim", func(c *OIDCConfig) { c.RoleClaim = "groups" },
			map[string]any{"roles": nil, "groups": []string{"Analytics.Analyst"}},
			with(func(id *tokenauth.Identity) { id.Role = "analyst" })},
		{"nested role claim", func(c *OIDCConfig) { c.RoleClaim = "realm_access.roles" },
			map[string]any{"roles": nil, "realm_access": map[string]any{"roles": []string{"Analytics.Admin"}}},
			with(func(id *tokenauth.Identity) { id.Role = "admin" })},
		{"no role map: the API's role names", func(c *OIDCConfig) { c.RoleMap = nil },
			map[string]any{"roles": []string{"offline_access", "analyst"}},
			with(func(id *tokenauth.Identity) { id.Role = "analyst" })},
		{"expired within the leeway", nil, map[string]any{"exp": now.Add(-10 * time.Second).Unix()}, grace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOIDC(t, is, tt.config)
			got, err := o.Authenticate(context.Background(), is.Token(is.Claims(now, tt.changes)))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOIDCRefuses(t *testing.T) {
	is := authtest.NewIssuer(t)
	o := newTestOIDC(t, is, nil)
	now := time.Now()
	valid := is.Claims(now, nil)
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, key := is.Current()
	pub := &key.PublicKey
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	hs := func(key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		wantErr error
		reason  string
	}{
		{"expired", is.Token(is.Claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()})), ErrInvalidToken, "expired"},
		{"other issuer", is.Token(is.Claims(now, map[string]any{"iss": "https://login.example.com/other/v2.0"})), ErrInvalidToken, "different provider"},
		{"other audience", is.Token(is.Claims(now, map[string]any{"aud": "api://another-api"})), ErrInvalidToken, "audience"},
		{"no audience", is.Token(is.Claims(now, map[string]any{"aud": nil})), ErrInvalidToken, "audience"},
		{"key not in the JWKS", authtest.SignRS256(t, stranger, kid, valid), ErrInvalidToken, "signature"},
		{"unknown kid", authtest.SignRS256(t, stranger, "forged-kid", valid), ErrInvalidToken, "signature"},
		{"HS256 with the public key as secret", hs(pubDER), ErrInvalidToken, "malformed"},
		{"HS256", hs([]byte(testSecret)), ErrInvalidToken, "malformed"},
		{"alg none", none, ErrInvalidToken, "malformed"},
		{"not a JWT", "opaque-access-token-0123456789", ErrInvalidToken, "malformed"},
		{"neither oid nor sub", is.Token(is.Claims(now, map[string]any{"oid": nil, "sub": nil})), ErrInvalidToken, "neither oid nor sub"},
		{"no roles claim", is.Token(is.Claims(now, map[string]any{"roles": nil})), ErrNoRole, "no mapped role"},
		{"empty roles", is.Token(is.Claims(now, map[string]any{"roles": []string{}})), ErrNoRole, "no mapped role"},
		{"unmapped roles only", is.Token(is.Claims(now, map[string]any{"roles": []string{"Other.Role", "viewer"}})), ErrNoRole, `no mapped role in roles ["Other.Role" "viewer"]`},
		{"roles of numbers", is.Token(is.Claims(now, map[string]any{"roles": []int{1, 2}})), ErrNoRole, "holds a number"},
		{"roles as an object", is.Token(is.Claims(now, map[string]any{"roles": map[string]any{"a": 1}})), ErrNoRole, "is a object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := o.Authenticate(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate = %+v, %v; want %v", got, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	is := authtest.NewIssuer(t)
	o := newTestOIDC(t, is, nil)
	now := time.Now()
	ctx := context.Background()
	if n := is.JWKSHits(); n != 0 {
		t.Fatalf("JWKS fetched %d times before the first token", n)
	}
	first := is.Token(is.Claims(now, nil))
	for i := range 3 {
		if _, err := o.Authenticate(ctx, first); err != nil {
			t.Fatalf("token %d of the first key: %v", i, err)
		}
	}
	if n := is.JWKSHits(); n != 1 {
		t.Errorf("JWKS fetched %d times for three tokens of one key, want 1 (cached)", n)
	}

	// The issuer adds a key and signs with it; the old key stays
	// published for a while.
	is.Rotate(true)
	second := is.Token(is.Claims(now, nil))
	if _, err := o.Authenticate(ctx, second); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if n := is.JWKSHits(); n != 2 {
		t.Errorf("JWKS fetched %d times after the rotation, want 2 (one refresh for the new kid)", n)
	}
	if _, err := o.Authenticate(ctx, first); err != nil {
		t.Errorf("token of the old key while it is still published: %v", err)
	}
	if n := is.JWKSHits(); n != 2 {
		t.Errorf("JWKS fetched %d times, want still 2", n)
	}

	// The old key is withdrawn: its tokens fail after the next refresh.
	is.Rotate(false)
	third := is.Token(is.Claims(now, nil))
	if _, err := o.Authenticate(ctx, third); err != nil {
		t.Fatalf("token of the third key: %v", err)
	}
	// The refreshed set replaces the cache just after the verification
	// that fetched it returns; until then the withdrawn key still counts.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := o.Authenticate(ctx, first)
		if errors.Is(err, ErrInvalidToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of a withdrawn key = %v, want ErrInvalidToken", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := is.DiscoveryHits(); n != 1 {
		t.Errorf("discovery document fetched %d times, want 1", n)
	}
}

func TestNewOIDCErrors(t *testing.T) {
	is := authtest.NewIssuer(t)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name string
		cfg  OIDCConfig
		want string
	}{
		{"no issuer", OIDCConfig{Audiences: []string{testAudience}}, "is not an http(s) URL"},
		{"not a URL", OIDCConfig{Issuer: "login.example.com", Audiences: []string{testAudience}}, "is not an http(s) URL"},
		{"no audience", OIDCConfig{Issuer: is.URL(), Audiences: []string{" "}}, "audience: missing"},
		{"bad role claim", OIDCConfig{Issuer: is.URL(), Audiences: []string{testAudience}, RoleClaim: "a..b"}, "role claim"},
		{"bad role map", OIDCConfig{Issuer: is.URL(), Audiences: []string{testAudience}, RoleMap: map[string]string{"X": "root"}}, "unknown role"},
		{"unreachable", OIDCConfig{Issuer: downURL, Audiences: []string{testAudience}}, "oidc discovery at " + downURL + "/.well-known/openid-configuration"},
		{"issuer mismatch", OIDCConfig{Issuer: is.URL() + "/", Audiences: []string{testAudience}}, "did not match the issuer URL"},
		{"no discovery document", OIDCConfig{Issuer: is.URL() + "/tenant", Audiences: []string{testAudience}}, "404"},
		{"timeout", OIDCConfig{Issuer: slow.URL, Audiences: []string{testAudience}, DiscoveryTimeout: 200 * time.Millisecond}, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := NewOIDC(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewOIDC = %v, want an error mentioning %q", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestParseRoleMap(t *testing.T) {
	got, err := ParseRoleMap(" Analytics.Admin=admin, Analytics.Reader = Viewer ,,")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"Analytics.Admin": "admin", "Analytics.Reader": "viewer"}, got); diff != "" {
		t.Errorf("ParseRoleMap (-want +got):\n%s", diff)
	}
	if got, err := ParseRoleMap(""); err != nil || len(got) != 0 {
		t.Errorf("ParseRoleMap(\"\") = %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"Admin":               "is not AppRole=role",
		"=admin":              "is not AppRole=role",
		"Admin=":              "is not AppRole=role",
		"Admin=root":          `unknown role "root"`,
		"Admin=admin,Admin=x": "", // either error is fine
		"A=admin,A=viewer":    `"A" is mapped twice`,
	} {
		if _, err := ParseRoleMap(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRoleMap(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
}
