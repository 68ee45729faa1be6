package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/auth/authtest"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

func TestChain(t *testing.T) {
	is := authtest.NewIssuer(t)
	o := newTestOIDC(t, is, nil)
	j, err := NewJWT(JWTConfig{Key: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	const fileToken = "file-token-0123456789abcdef"
	set, err := tokenauth.New([]tokenauth.Entry{{Token: fileToken, ID: "svc", Role: "manager"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := Chain{Tokens(func() *tokenauth.Set { return set }), j, o}
	now := time.Now()
	platformClaims := func(changes map[string]any) map[string]any {
		c := access(map[string]any{"exp": now.Add(time.Minute).Unix(), "iat": now.Unix()})
		return authtest.Edit(c, changes)
	}

	tests := []struct {
		name    string
		token   string
		wantID  string
		wantErr error
		reasons []string
	}{
		{"tokens file", fileToken, "svc", nil, nil},
		{"platform JWT", platformToken(t, testSecret, platformClaims(nil)), "42", nil, nil},
		{"OIDC", is.Token(is.Claims(now, nil)), "5f0c2b8e-6d3a-4f7e-9b1c-2a4d6e8f0a1b", nil, nil},
		{"platform JWT without role", platformToken(t, testSecret, platformClaims(map[string]any{"role": nil})), "", ErrNoRole, []string{"jwt: user 42 has no role"}},
		{"OIDC without mapped role", is.Token(is.Claims(now, map[string]any{"roles": nil})), "", ErrNoRole, []string{"oidc: user"}},
		{"unknown opaque token", "unknown-token-0123456789", "", ErrInvalidToken, []string{"not in the tokens file", "jwt: token is malformed", "oidc: malformed jwt"}},
		{"expired platform JWT", platformToken(t, testSecret, platformClaims(map[string]any{"exp": now.Add(-time.Hour).Unix()})), "", ErrInvalidToken,
			[]string{"not in the tokens file", "jwt: token has invalid claims: token is expired", "oidc: malformed jwt"}},
		{"empty", "", "", ErrNoToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := chain.Authenticate(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil || id.ID != tt.wantID {
					t.Fatalf("Authenticate = %+v, %v; want id %s", id, err, tt.wantID)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate = %+v, %v; want %v", id, err, tt.wantErr)
			}
			for _, r := range tt.reasons {
				if !strings.Contains(err.Error(), r) {
					t.Errorf("error %q does not mention %q", err, r)
				}
			}
		})
	}

	r := httptest.NewRequest("GET", "/", nil)
	if _, err := chain.AuthenticateRequest(r); !errors.Is(err, ErrNoToken) {
		t.Errorf("no Authorization header: %v", err)
	}
	r.Header.Set("Authorization", "bearer "+fileToken)
	if id, err := chain.AuthenticateRequest(r); err != nil || id.ID != "svc" {
		t.Errorf("bearer token from the tokens file: %+v, %v", id, err)
	}
	if _, err := (Chain{}).Authenticate(context.Background(), fileToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("empty chain: %v", err)
	}
	if _, err := Tokens(func() *tokenauth.Set { return nil }).Authenticate(context.Background(), fileToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("nil tokens set: %v", err)
	}
}
