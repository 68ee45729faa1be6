package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/auth"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// identityFlags are the settings of the signed-token authenticators that
// work next to the -tokens file: the platform's HS256 JWTs and an OpenID
// Connect issuer's access tokens.
type identityFlags struct {
	jwtSecretFile string
	oidcIssuer    string
	oidcAudience  string
	oidcRoleClaim string
	oidcRoleMap   string

	jwtKey        []byte            // the -jwt-secret-file's key
	jwtKeyExposed bool              // the file is group- or world-readable
	oidcAudiences []string          // -oidc-audience, split
	roleMap       map[string]string // -oidc-role-map, parsed
}

func (f *identityFlags) register(fs *flagSet) {
	fs.stringVarEnv(&f.jwtSecretFile, "jwt-secret-file", "", "file holding the platform's JWT signing secret (its text, white space trimmed, at least 32 bytes): accept the platform's HS256 access tokens; SIGHUP rereads it", "ANALYTICS_JWT_SECRET_FILE")
	fs.stringVarEnv(&f.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL whose access tokens are accepted, e.g. https://login.microsoftonline.com/TENANT/v2.0 (discovery at start)", "ANALYTICS_OIDC_ISSUER")
	fs.stringVarEnv(&f.oidcAudience, "oidc-audience", "", "accepted aud values of -oidc-issuer tokens (comma-separated): the API's client id or application id URI; required with -oidc-issuer", "ANALYTICS_OIDC_AUDIENCE")
	fs.stringVarEnv(&f.oidcRoleClaim, "oidc-role-claim", auth.DefaultRoleClaim, "claim of -oidc-issuer tokens holding the user's roles (a dotted path reaches into objects)", "ANALYTICS_OIDC_ROLE_CLAIM")
	fs.stringVarEnv(&f.oidcRoleMap, "oidc-role-map", "", "issuer roles to API roles, AppRole=role,… (roles: admin, manager, analyst, viewer); empty: the API's role names map to themselves", "ANALYTICS_OIDC_ROLE_MAP")
}

// enabled reports whether a signed-token authenticator is configured.
func (f *identityFlags) enabled() bool { return f.jwtSecretFile != "" || f.oidcIssuer != "" }

func (f *identityFlags) validate(fs *flagSet) error {
	if f.jwtSecretFile != "" {
		key, exposed, err := auth.ReadSecretFile(f.jwtSecretFile)
		if err != nil {
			return fs.invalid("jwt-secret-file", "%v", err)
		}
		if len(key) < auth.MinKeyLen {
			return fs.invalid("jwt-secret-file", "the secret is %d bytes; an HS256 secret needs at least %d", len(key), auth.MinKeyLen)
		}
		f.jwtKey, f.jwtKeyExposed = key, exposed
	}
	f.oidcAudiences = nil
	for _, a := range strings.Split(f.oidcAudience, ",") {
		if a = strings.TrimSpace(a); a != "" {
			f.oidcAudiences = append(f.oidcAudiences, a)
		}
	}
	m, err := auth.ParseRoleMap(f.oidcRoleMap)
	if err != nil {
		return fs.invalid("oidc-role-map", "%v", strings.TrimPrefix(err.Error(), "auth: role map: "))
	}
	f.roleMap = m
	if f.oidcIssuer == "" {
		switch {
		case len(f.oidcAudiences) > 0:
			return fs.invalid("oidc-audience", "needs -oidc-issuer (ANALYTICS_OIDC_ISSUER)")
		case len(f.roleMap) > 0:
			return fs.invalid("oidc-role-map", "needs -oidc-issuer (ANALYTICS_OIDC_ISSUER)")
		}
		return nil
	}
	if !strings.HasPrefix(f.oidcIssuer, "https://") && !strings.HasPrefix(f.oidcIssuer, "http://") {
		return fs.invalid("oidc-issuer", "%q is not an https:// URL", f.oidcIssuer)
	}
	if len(f.oidcAudiences) == 0 {
		return fs.invalid("oidc-audience", "required with -oidc-issuer: the aud value of the tokens meant for this API (its client id or application id URI)")
	}
	if slices.Contains(strings.Split(f.oidcRoleClaim, "."), "") {
		return fs.invalid("oidc-role-claim", "%q is not a claim name", f.oidcRoleClaim)
	}
	return nil
}

// identity authenticates API requests: the -tokens file, then the
// platform's JWTs, then the OIDC issuer's tokens, whichever are enabled.
type identity struct {
	log   *slog.Logger
	jwt   *auth.JWT // nil without -jwt-secret-file
	file  string    // -jwt-secret-file
	chain auth.Chain
}

// newIdentity builds the authenticators. With -oidc-issuer it reads the
// issuer's discovery document and fails when it cannot (the server does
// not start half-configured).
func newIdentity(ctx context.Context, f *identityFlags, tokens *atomic.Pointer[tokenauth.Set], log *slog.Logger) (*identity, error) {
	id := &identity{log: log, file: f.jwtSecretFile, chain: auth.Chain{auth.Tokens(tokens.Load)}}
	if f.jwtSecretFile != "" {
		if f.jwtKeyExposed {
			log.Warn("the JWT secret file can be read by other users; make it readable by the server only (chmod 600)", "file", f.jwtSecretFile)
		}
		j, err := auth.NewJWT(auth.JWTConfig{Key: f.jwtKey})
		if err != nil {
			return nil, fmt.Errorf("-jwt-secret-file: %w", err)
		}
		id.jwt = j
		id.chain = append(id.chain, j)
		log.Info("platform JWTs accepted (HS256)", "secret_file", f.jwtSecretFile)
	}
	if f.oidcIssuer != "" {
		o, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: f.oidcIssuer, Audiences: f.oidcAudiences,
			RoleClaim: f.oidcRoleClaim, RoleMap: f.roleMap})
		if err != nil {
			return nil, fmt.Errorf("-oidc-issuer: %w", err)
		}
		id.chain = append(id.chain, o)
		log.Info("OIDC access tokens accepted", "issuer", f.oidcIssuer, "audience", f.oidcAudiences,
			"role_claim", f.oidcRoleClaim, "mapped_roles", len(f.roleMap))
	}
	return id, nil
}

// identify is the Service's IdentifyFunc: 401 without a valid token, 403
// for a valid token that gives no API role.
func (id *identity) identify(r *http.Request) (analytics.Principal, error) {
	who, err := id.chain.AuthenticateRequest(r)
	if err != nil {
		if !errors.Is(err, auth.ErrNoToken) {
			id.log.Debug("bearer token refused", "request_id", requestIDFrom(r.Context()), "reason", err)
		}
		if errors.Is(err, auth.ErrNoRole) {
			return analytics.Principal{}, analytics.ErrForbidden
		}
		return analytics.Principal{}, analytics.ErrUnauthenticated
	}
	return analytics.Principal{ID: who.ID, Username: who.Username, FullName: who.FullName, Email: who.Email,
		Role: analytics.Role(who.Role), Staff: who.Staff}, nil
}

// reloadSecret rereads the -jwt-secret-file (on SIGHUP); a file that
// cannot be read or is too short leaves the current secret in place. It
// reports whether the secret was replaced.
func (id *identity) reloadSecret() bool {
	if id == nil || id.jwt == nil {
		return false
	}
	key, exposed, err := auth.ReadSecretFile(id.file)
	if err == nil {
		err = id.jwt.SetKey(key)
	}
	if err != nil {
		id.log.Error("SIGHUP: JWT secret not reloaded; the previous secret stays in use", "file", id.file, "err", err)
		return false
	}
	if exposed {
		id.log.Warn("the JWT secret file can be read by other users; make it readable by the server only (chmod 600)", "file", id.file)
	}
	id.log.Info("JWT secret reloaded", "file", id.file)
	return true
}

// identify returns an IdentifyFunc that knows only the tokens currently
// loaded from the tokens file.
func identify(tokens *atomic.Pointer[tokenauth.Set]) func(*http.Request) (analytics.Principal, error) {
	id := &identity{log: slog.New(slog.DiscardHandler), chain: auth.Chain{auth.Tokens(tokens.Load)}}
	return id.identify
}
