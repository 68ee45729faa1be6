// Package auth authenticates the reference server's API requests with
// signed bearer tokens, next to the static tokens file of package
// tokenauth:
//
//   - JWT checks the platform's own access tokens, HS256 JWTs signed with
//     a shared secret (golang-jwt/jwt/v5);
//   - OIDC checks access tokens of an OpenID Connect issuer such as
//     Microsoft Entra ID, with discovery and a cached, rotating JWKS
//     (coreos/go-oidc/v3), and maps the issuer's app roles to the API's
//     roles;
//   - Chain tries each configured authenticator in turn.
//
// Every authenticator returns a tokenauth.Identity. A token it does not
// accept is ErrInvalidToken (the caller answers 401); a valid token whose
// holder has no API role is ErrNoRole (403).
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// Errors of the authenticators (test with errors.Is; the returned errors
// wrap them with the reason).
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("auth: no bearer token")
	// ErrInvalidToken: the token is not accepted (unknown, malformed,
	// badly signed, expired, of the wrong type or missing a required
	// claim). Answer 401.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrNoRole: the token is valid but gives its holder none of the API's
	// roles. Answer 403.
	ErrNoRole = errors.New("auth: no role")
)

// maxIDLen is the longest user id accepted from a token (the analytics
// API's limit on user ids).
const maxIDLen = 150

// Authenticator checks one bearer token.
type Authenticator interface {
	// Authenticate returns the identity of token, or an error wrapping
	// ErrInvalidToken or ErrNoRole.
	Authenticate(ctx context.Context, token string) (tokenauth.Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (tokenauth.Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (tokenauth.Identity, error) {
	return f(ctx, token)
}

// Tokens adapts a tokens file to Authenticator. set returns the tokens
// currently in use (the file may be reloaded); a nil set knows no token.
func Tokens(set func() *tokenauth.Set) Authenticator {
	return AuthenticatorFunc(func(_ context.Context, token string) (tokenauth.Identity, error) {
		if id, ok := set().Lookup(token); ok {
			return id, nil
		}
		return tokenauth.Identity{}, fmt.Errorf("%w: not in the tokens file", ErrInvalidToken)
	})
}

// Chain tries authenticators in order; the first that accepts the token
// wins. A chain of none accepts nothing.
type Chain []Authenticator

// Authenticate returns the identity from the first authenticator that
// accepts token. An authenticator that finds the token valid but without a
// role ends the chain with its ErrNoRole error (the token is its issuer's,
// no other can accept it). When none accepts it, the error joins every
// authenticator's reason and wraps ErrInvalidToken.
func (c Chain) Authenticate(ctx context.Context, token string) (tokenauth.Identity, error) {
	if token == "" {
		return tokenauth.Identity{}, ErrNoToken
	}
	var errs []error
	for _, a := range c {
		id, err := a.Authenticate(ctx, token)
		if err == nil {
			return id, nil
		}
		if errors.Is(err, ErrNoRole) {
			// A signature check passed: this is the token's issuer.
			return tokenauth.Identity{}, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return tokenauth.Identity{}, fmt.Errorf("%w: no authenticator configured", ErrInvalidToken)
	}
	return tokenauth.Identity{}, errors.Join(errs...)
}

// AuthenticateRequest authenticates the request's
// "Authorization: Bearer <token>".
func (c Chain) AuthenticateRequest(r *http.Request) (tokenauth.Identity, error) {
	tok, ok := tokenauth.BearerToken(r)
	if !ok {
		return tokenauth.Identity{}, ErrNoToken
	}
	return c.Authenticate(r.Context(), tok)
}

// validID reports whether s can be a Principal id: non-empty, at most
// maxIDLen bytes, no control characters.
func validID(s string) bool {
	if strings.TrimSpace(s) == "" || len(s) > maxIDLen {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// apiRole returns s as one of the API's roles.
func apiRole(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, r := range tokenauth.Roles {
		if s == r {
			return r, true
		}
	}
	return "", false
}

// leewayOf is the clock leeway a configured one means: zero is
// DefaultLeeway, a negative one none.
func leewayOf(configured time.Duration) time.Duration {
	switch {
	case configured == 0:
		return DefaultLeeway
	case configured < 0:
		return 0
	}
	return configured
}
