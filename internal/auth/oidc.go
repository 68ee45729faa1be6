package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// DefaultRoleClaim is the claim holding a token's app roles (Entra ID's).
const DefaultRoleClaim = "roles"

// DefaultDiscoveryTimeout bounds the discovery request of NewOIDC.
const DefaultDiscoveryTimeout = 15 * time.Second

// OIDCConfig configures an OIDC authenticator.
type OIDCConfig struct {
	// Issuer is the issuer URL, exactly as the tokens' iss claim and the
	// discovery document give it, e.g.
	// https://login.microsoftonline.com/<tenant id>/v2.0. Required.
	Issuer string
	// Audiences are the accepted aud values (the API's client id or
	// application id URI); a token must name one of them. Required.
	Audiences []string
	// RoleClaim is the claim holding the holder's roles: a string or an
	// array of strings. A dotted path reaches into objects
	// ("realm_access.roles"). Defaults to DefaultRoleClaim.
	RoleClaim string
	// RoleMap maps the issuer's role names (app roles) to the API's roles
	// (admin, manager, analyst, viewer). When the holder has several, the
	// highest wins. Nil or empty maps each of the API's role names to
	// itself.
	RoleMap map[string]string
	// HTTPClient fetches the discovery document and the JWKS. Defaults to
	// a client with a 10-second timeout.
	HTTPClient *http.Client
	// DiscoveryTimeout bounds discovery in NewOIDC. Zero means
	// DefaultDiscoveryTimeout.
	DiscoveryTimeout time.Duration
	// Leeway is the clock skew allowed on exp. Zero means DefaultLeeway;
	// a negative value allows none. (nbf is allowed 5 minutes.)
	Leeway time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// OIDC authenticates access tokens of an OpenID Connect issuer. NewOIDC
// reads the issuer's discovery document; the signing keys come from its
// jwks_uri, are cached, and are fetched again when a token names a key id
// not in the cache (key rotation). Only the asymmetric algorithms the
// issuer announces are accepted (RS256 when it announces none); never
// "none" or HMAC.
//
// The Principal id is the oid claim (Entra ID's object id), else sub; the
// username preferred_username, else email, else the id; the full name
// name; the e-mail email. A valid token whose role claim holds no mapped
// role is ErrNoRole.
type OIDC struct {
	verifier  *oidc.IDTokenVerifier
	audiences []string
	roleClaim []string
	roleMap   map[string]string
}

// roleRank orders the API's roles, highest first.
var roleRank = map[string]int{"admin": 4, "manager": 3, "analyst": 2, "viewer": 1}

// ParseRoleMap parses "AppRole=role,…" (white space around names is
// ignored) and checks that every target is one of the API's roles.
func ParseRoleMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		from, to, ok := strings.Cut(item, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("auth: role map: %q is not AppRole=role", item)
		}
		role, ok := apiRole(to)
		if !ok {
			return nil, fmt.Errorf("auth: role map: %q: unknown role %q; one of admin, manager, analyst, viewer", item, to)
		}
		if _, dup := m[from]; dup {
			return nil, fmt.Errorf("auth: role map: %q is mapped twice", from)
		}
		m[from] = role
	}
	return m, nil
}

// NewOIDC reads the issuer's discovery document and returns the
// authenticator. It fails when the issuer cannot be reached within the
// discovery timeout or its document names another issuer.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: oidc issuer: %q is not an http(s) URL", cfg.Issuer)
	}
	var auds []string
	for _, a := range cfg.Audiences {
		if a = strings.TrimSpace(a); a != "" {
			auds = append(auds, a)
		}
	}
	if len(auds) == 0 {
		return nil, errors.New("auth: oidc audience: missing; give the API's client id or application id URI")
	}
	rc := cfg.RoleClaim
	if rc == "" {
		rc = DefaultRoleClaim
	}
	path := strings.Split(rc, ".")
	if slices.Contains(path, "") {
		return nil, fmt.Errorf("auth: oidc role claim: %q is not a claim name or dotted path", rc)
	}
	roleMap := map[string]string{}
	for from, to := range cfg.RoleMap {
		role, ok := apiRole(to)
		if !ok {
			return nil, fmt.Errorf("auth: oidc role map: %q=%q: unknown role; one of admin, manager, analyst, viewer", from, to)
		}
		roleMap[from] = role
	}
	if len(roleMap) == 0 {
		for _, r := range tokenauth.Roles {
			roleMap[r] = r
		}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	timeout := cfg.DiscoveryTimeout
	if timeout <= 0 {
		timeout = DefaultDiscoveryTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	provider, err := oidc.NewProvider(oidc.ClientContext(dctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: oidc discovery at %s/.well-known/openid-configuration: %w",
			strings.TrimSuffix(cfg.Issuer, "/"), err)
	}
	leeway := leewayOf(cfg.Leeway)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	verifier := provider.Verifier(&oidc.Config{
		// The audience is checked below against every accepted value.
		SkipClientIDCheck: true,
		// go-oidc refuses a token once exp is before Now: the leeway moves
		// Now back.
		Now: func() time.Time { return now().Add(-leeway) },
	})
	return &OIDC{verifier: verifier, audiences: auds, roleClaim: path, roleMap: roleMap}, nil
}

// oidcClaims are the identity claims read from a token.
type oidcClaims struct {
	OID               string `json:"oid"`
	Subject           string `json:"sub"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Email             string `json:"email"`
}

// Authenticate verifies token and returns its holder.
func (o *OIDC) Authenticate(ctx context.Context, token string) (tokenauth.Identity, error) {
	t, err := o.verifier.Verify(ctx, token)
	if err != nil {
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: %w", ErrInvalidToken, err)
	}
	if !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(o.audiences, a) }) {
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: audience %q is not %q", ErrInvalidToken, t.Audience, o.audiences)
	}
	var c oidcClaims
	var all map[string]any
	if err := t.Claims(&c); err != nil {
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: %w", ErrInvalidToken, err)
	}
	if err := t.Claims(&all); err != nil {
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: %w", ErrInvalidToken, err)
	}
	id := firstNonEmpty(c.OID, c.Subject)
	if !validID(id) {
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: neither oid nor sub is a usable user id", ErrInvalidToken)
	}
	roles, err := o.roles(all)
	if err != nil {
		// The token is authentic; it just carries no usable role.
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: user %s: %w", ErrNoRole, id, err)
	}
	best := ""
	for _, r := range roles {
		if to, ok := o.roleMap[r]; ok && roleRank[to] > roleRank[best] {
			best = to
		}
	}
	if best == "" {
		sort.Strings(roles)
		return tokenauth.Identity{}, fmt.Errorf("%w: oidc: user %s: no mapped role in %s %q", ErrNoRole, id, strings.Join(o.roleClaim, "."), roles)
	}
	return tokenauth.Identity{
		ID:       id,
		Username: firstNonEmpty(c.PreferredUsername, c.Email, id),
		FullName: strings.TrimSpace(c.Name),
		Email:    c.Email,
		Role:     best,
	}, nil
}

// roles returns the values of the role claim: absent is none; a string is
// one role; an array must hold strings.
func (o *OIDC) roles(claims map[string]any) ([]string, error) {
	var v any = claims
	for _, name := range o.roleClaim {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, nil
		}
		if v, ok = obj[name]; !ok {
			return nil, nil
		}
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("role claim %s holds a %s, not strings", strings.Join(o.roleClaim, "."), jsonType(x))
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("role claim %s is a %s, not a string or an array of strings", strings.Join(o.roleClaim, "."), jsonType(v))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}
