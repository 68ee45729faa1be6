package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/auth/authtest"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// testSecret is a platform-like secret (a Django SECRET_KEY).
const testSecret = "django-insecure-k3y-for-tests-0123456789-abcdefghijklmnop"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// platformToken signs claims as the platform does (HS256).
func platformToken(t testing.TB, key string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// access returns the claims of a valid access token at t0, with changes
// applied (a nil value deletes the claim).
func access(changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"token_type": "access",
		"type":       "access",
		"user_id":    42,
		"email":      "ada@example.com",
		"username":   "ada",
		"first_name": "Ada",
		"last_name":  "Lovelace",
		"role":       "analyst",
		"is_staff":   false,
		"exp":        t0.Add(5 * time.Minute).Unix(),
		"iat":        t0.Add(-time.Minute).Unix(),
		"jti":        "0f1e2d3c4b5a",
	}
	return authtest.Edit(c, changes)
}

func newTestJWT(t *testing.T) *JWT {
	t.Helper()
	j, err := NewJWT(JWTConfig{Key: []byte(testSecret), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJWTAccepts(t *testing.T) {
	j := newTestJWT(t)
	tests := []struct {
		name    string
		changes map[string]any
		want    tokenauth.Identity
	}{
		{"integer user_id", nil,
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
		{"string user_id", map[string]any{"user_id": "9b2c6a9e-5d4e-4c1f-9a57-1f2e3d4c5b6a"},
			tokenauth.Identity{ID: "9b2c6a9e-5d4e-4c1f-9a57-1f2e3d4c5b6a", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
		{"large integer user_id", map[string]any{"user_id": uint64(18446744073709551615)},
			tokenauth.Identity{ID: "18446744073709551615", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
		{"minimal claims", map[string]any{"email": nil, "username": nil, "first_name": nil, "last_name": nil, "type": nil, "token_type": nil, "iat": nil, "jti": nil, "is_staff": nil, "role": "viewer"},
			tokenauth.Identity{ID: "42", Username: "42", Role: "viewer"}},
		{"username falls back to email", map[string]any{"username": nil},
			tokenauth.Identity{ID: "42", Username: "ada@example.com", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
		{"staff is admin", map[string]any{"is_staff": true, "role": "viewer"},
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "admin", Staff: true}},
		{"staff without role", map[string]any{"is_staff": true, "role": nil},
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "admin", Staff: true}},
		{"role case", map[string]any{"role": "Manager"},
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "manager"}},
		{"expired within the leeway", map[string]any{"exp": t0.Add(-20 * time.Second).Unix()},
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
		{"issued just ahead of the clock", map[string]any{"iat": t0.Add(20 * time.Second).Unix()},
			tokenauth.Identity{ID: "42", Username: "ada", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "analyst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Authenticate(context.Background(), platformToken(t, testSecret, access(tt.changes)))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJWTRefuses(t *testing.T) {
	j := newTestJWT(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := platformToken(t, testSecret, access(nil))
	parts := strings.Split(valid, ".")
	tests := []struct {
		name    string
		token   string
		wantErr error
		reason  string // substring of the error
	}{
		{"expired beyond the leeway", platformToken(t, testSecret, access(map[string]any{"exp": t0.Add(-40 * time.Second).Unix()})), ErrInvalidToken, "expired"},
		{"no exp", platformToken(t, testSecret, access(map[string]any{"exp": nil})), ErrInvalidToken, "exp claim is required"},
		{"issued in the future", platformToken(t, testSecret, access(map[string]any{"iat": t0.Add(time.Hour).Unix()})), ErrInvalidToken, "before issued"},
		{"not valid yet", platformToken(t, testSecret, access(map[string]any{"nbf": t0.Add(time.Hour).Unix()})), ErrInvalidToken, "not valid yet"},
		{"other key", platformToken(t, testSecret+"x", access(nil)), ErrInvalidToken, "signature is invalid"},
		{"tampered payload", parts[0] + "." + strings.TrimRight(parts[1], "A") + "A." + parts[2], ErrInvalidToken, ""},
		{"alg none", signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, access(nil)), ErrInvalidToken, "signing method none is invalid"},
		{"HS384", signed(jwt.SigningMethodHS384, []byte(testSecret), access(nil)), ErrInvalidToken, "signing method HS384 is invalid"},
		{"HS512", signed(jwt.SigningMethodHS512, []byte(testSecret), access(nil)), ErrInvalidToken, "signing method HS512 is invalid"},
		{"RS256", signed(jwt.SigningMethodRS256, rsaKey, access(nil)), ErrInvalidToken, "signing method RS256 is invalid"},
		{"refresh token (type)", platformToken(t, testSecret, access(map[string]any{"type": "refresh"})), ErrInvalidToken, `"refresh" token`},
		{"refresh token (token_type)", platformToken(t, testSecret, access(map[string]any{"type": nil, "token_type": "refresh"})), ErrInvalidToken, `"refresh" token`},
		{"missing user_id", platformToken(t, testSecret, access(map[string]any{"user_id": nil})), ErrInvalidToken, "user_id missing"},
		{"empty user_id", platformToken(t, testSecret, access(map[string]any{"user_id": ""})), ErrInvalidToken, "user_id missing"},
		{"blank user_id", platformToken(t, testSecret, access(map[string]any{"user_id": "  "})), ErrInvalidToken, "user_id is blank"},
		{"fractional user_id", platformToken(t, testSecret, access(map[string]any{"user_id": 4.5})), ErrInvalidToken, "neither a string nor an integer"},
		{"boolean user_id", platformToken(t, testSecret, access(map[string]any{"user_id": true})), ErrInvalidToken, "neither a string nor an integer"},
		{"over-long user_id", platformToken(t, testSecret, access(map[string]any{"user_id": strings.Repeat("x", 151)})), ErrInvalidToken, "longer than 150"},
		{"not a JWT", "not-a-jwt", ErrInvalidToken, "malformed"},
		{"no role", platformToken(t, testSecret, access(map[string]any{"role": nil})), ErrNoRole, "has no role"},
		{"unknown role", platformToken(t, testSecret, access(map[string]any{"role": "superuser"})), ErrNoRole, `unknown role "superuser"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Authenticate(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate = %+v, %v; want %v", got, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
			if got != (tokenauth.Identity{}) {
				t.Errorf("identity %+v returned with the error", got)
			}
		})
	}
}

func TestJWTSetKeyRotates(t *testing.T) {
	j := newTestJWT(t)
	next := strings.Repeat("n", MinKeyLen)
	oldTok, newTok := platformToken(t, testSecret, access(nil)), platformToken(t, next, access(nil))
	if _, err := j.Authenticate(context.Background(), newTok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of the next key before rotation: %v", err)
	}
	if err := j.SetKey([]byte(next)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Authenticate(context.Background(), newTok); err != nil {
		t.Errorf("token of the new key: %v", err)
	}
	if _, err := j.Authenticate(context.Background(), oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of the old key after rotation: %v", err)
	}
	if err := j.SetKey([]byte("short")); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("SetKey(short) = %v", err)
	}
	if _, err := j.Authenticate(context.Background(), newTok); err != nil {
		t.Errorf("a refused key replaced the current one: %v", err)
	}
}

func TestNewJWTLeeway(t *testing.T) {
	now := func() time.Time { return t0 }
	tok := platformToken(t, testSecret, access(map[string]any{"exp": t0.Add(-5 * time.Second).Unix()}))
	strict, err := NewJWT(JWTConfig{Key: []byte(testSecret), Leeway: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("no leeway: token 5 s past exp = %v, want refused", err)
	}
	wide, err := NewJWT(JWTConfig{Key: []byte(testSecret), Leeway: 10 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wide.Authenticate(context.Background(), tok); err != nil {
		t.Errorf("10 s leeway: token 5 s past exp = %v, want accepted", err)
	}
	if _, err := NewJWT(JWTConfig{}); err == nil {
		t.Error("NewJWT without a key succeeded")
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	key, exposed, err := ReadSecretFile(write("secret", "\n  "+testSecret+" \r\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if string(key) != testSecret || exposed {
		t.Errorf("ReadSecretFile = %q, exposed %v; want the trimmed secret, not exposed", key, exposed)
	}
	// The key is the text's bytes: a token signed with the platform's
	// secret string verifies.
	j, err := NewJWT(JWTConfig{Key: key, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Authenticate(context.Background(), platformToken(t, testSecret, access(nil))); err != nil {
		t.Errorf("token signed with the secret text: %v", err)
	}
	if runtime.GOOS != "windows" {
		for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
			if _, exposed, err := ReadSecretFile(write("loose", testSecret, mode)); err != nil || !exposed {
				t.Errorf("mode %v: exposed = %v, %v; want true", mode, exposed, err)
			}
		}
	}
	for name, p := range map[string]string{
		"empty":     write("empty", " \n\t", 0o600),
		"missing":   filepath.Join(dir, "nope"),
		"directory": dir,
		"too large": write("large", strings.Repeat("k", 65<<10), 0o600),
	} {
		if _, _, err := ReadSecretFile(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
