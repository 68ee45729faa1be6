package auth

import (
	"context"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/auth/authtest"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// BenchmarkAuthenticate measures one authentication by each authenticator
// through a Chain of all three (the reference server's order), the tokens
// file first being the baseline.
func BenchmarkAuthenticate(b *testing.B) {
	is := authtest.NewIssuer(b)
	o, err := NewOIDC(context.Background(), OIDCConfig{Issuer: is.URL(), Audiences: []string{authtest.Audience}, RoleMap: testRoleMap})
	if err != nil {
		b.Fatal(err)
	}
	j, err := NewJWT(JWTConfig{Key: []byte(testSecret)})
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]tokenauth.Entry, 20)
	for i := range entries {
		entries[i] = tokenauth.Entry{Token: tokenauth.NewToken(), ID: "svc", Role: "viewer"}
	}
	set, err := tokenauth.New(entries)
	if err != nil {
		b.Fatal(err)
	}
	chain := Chain{Tokens(func() *tokenauth.Set { return set }), j, o}
	now := time.Now()
	platform := access(map[string]any{"exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	for _, bc := range []struct{ name, token string }{
		{"tokens_file_20_entries", entries[19].Token},
		{"platform_jwt_hs256", platformToken(b, testSecret, platform)},
		{"oidc_rs256", is.Token(is.Claims(now, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := chain.Authenticate(ctx, bc.token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chain.Authenticate(ctx, bc.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
