package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// DefaultLeeway is the clock skew allowed on a token's exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// MinKeyLen is the shortest HMAC key accepted: 256 bits, the size of the
// HS256 hash (RFC 7518, section 3.2).
const MinKeyLen = 32

// JWTConfig configures a JWT authenticator.
type JWTConfig struct {
	// Key is the HMAC key (at least MinKeyLen bytes). Required.
	Key []byte
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway; a negative value allows none.
	Leeway time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// JWT authenticates the platform's access tokens: HS256 JWTs signed with
// a shared secret and carrying the claims
//
//	user_id     the Principal id, an integer or a string (required)
//	exp         expiry (required); iat and nbf are checked when present
//	role        admin, manager, analyst or viewer
//	is_staff    true makes the holder admin
//	email, username, first_name, last_name
//	type        must be "access" when present (so must token_type)
//	jti         ignored
//
// A token signed with any other algorithm (never "none"), with another
// key, expired beyond the leeway, of another type (a refresh token) or
// without user_id is ErrInvalidToken; a valid token without a known role
// and not staff is ErrNoRole.
type JWT struct {
	key    atomic.Pointer[[]byte]
	parser *jwt.Parser
}

// NewJWT returns a JWT authenticator.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	leeway := leewayOf(cfg.Leeway)
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	j := &JWT{parser: jwt.NewParser(opts...)}
	if err := j.SetKey(cfg.Key); err != nil {
		return nil, err
	}
	return j, nil
}

// SetKey replaces the HMAC key (to rotate the secret without a restart).
func (j *JWT) SetKey(key []byte) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("auth: jwt key: must be at least %d bytes, got %d", MinKeyLen, len(key))
	}
	k := bytes.Clone(key)
	j.key.Store(&k)
	return nil
}

// ReadSecretFile reads an HMAC key file: its content with surrounding
// white space trimmed, as bytes. exposed reports a file that its group or
// other users may read (the caller should warn).
func ReadSecretFile(path string) (key []byte, exposed bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("auth: read secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("auth: read secret file: %w", err)
	}
	if fi.IsDir() {
		return nil, false, fmt.Errorf("auth: read secret file: %s is a directory", path)
	}
	const maxSize = 64 << 10 // a secret is short; a larger file is not one
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("auth: read secret file %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, false, fmt.Errorf("auth: read secret file %s: larger than 64 KiB", path)
	}
	key = bytes.TrimSpace(data)
	if len(key) == 0 {
		return nil, false, fmt.Errorf("auth: read secret file %s: empty", path)
	}
	return key, fi.Mode().Perm()&0o077 != 0, nil
}

// platformClaims are the claims of the platform's access tokens.
type platformClaims struct {
	UserID    flexID  `json:"user_id"`
	Email     string  `json:"email"`
	Role      string  `json:"role"`
	Username  string  `json:"username"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	IsStaff   bool    `json:"is_staff"`
	Type      *string `json:"type"`
	TokenType *string `json:"token_type"`
	jwt.RegisteredClaims
}

// flexID is a user id given as a JSON string or integer.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		if _, uerr := strconv.ParseUint(string(b), 10, 64); uerr != nil {
			return fmt.Errorf("user_id: %s is neither a string nor an integer", b)
		}
	}
	*f = flexID(b)
	return nil
}

// Authenticate verifies token and returns its holder.
func (j *JWT) Authenticate(_ context.Context, token string) (tokenauth.Identity, error) {
	key := *j.key.Load()
	var c platformClaims
	_, err := j.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		return tokenauth.Identity{}, fmt.Errorf("%w: jwt: %w", ErrInvalidToken, err)
	}
	for _, t := range []*string{c.Type, c.TokenType} {
		if t != nil && *t != "access" {
			return tokenauth.Identity{}, fmt.Errorf("%w: jwt: a %q token, not an access token", ErrInvalidToken, *t)
		}
	}
	id := string(c.UserID)
	if id == "" {
		return tokenauth.Identity{}, fmt.Errorf("%w: jwt: user_id missing", ErrInvalidToken)
	}
	if !validID(id) {
		return tokenauth.Identity{}, fmt.Errorf("%w: jwt: user_id is blank, longer than %d bytes or holds control characters", ErrInvalidToken, maxIDLen)
	}
	ident := tokenauth.Identity{
		ID:       id,
		Username: firstNonEmpty(c.Username, c.Email, id),
		FullName: strings.TrimSpace(strings.TrimSpace(c.FirstName) + " " + strings.TrimSpace(c.LastName)),
		Email:    c.Email,
		Staff:    c.IsStaff,
	}
	if c.IsStaff {
		ident.Role = "admin"
		return ident, nil
	}
	role, ok := apiRole(c.Role)
	if !ok {
		if c.Role == "" {
			return tokenauth.Identity{}, fmt.Errorf("%w: jwt: user %s has no role", ErrNoRole, id)
		}
		return tokenauth.Identity{}, fmt.Errorf("%w: jwt: user %s has the unknown role %q", ErrNoRole, id, c.Role)
	}
	ident.Role = role
	return ident, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
