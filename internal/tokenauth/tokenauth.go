// Package tokenauth authenticates API requests with bearer tokens listed in
// a JSON file, for the reference server.
//
// The file is an array of entries:
//
//	[
//	  {"token": "…", "id": "…", "username": "alice", "full_name": "Alice Doe",
//	   "email": "alice@example.com", "role": "admin", "staff": false},
//	  {"token_sha256": "<64 hex digits>", "id": "…", "role": "viewer"}
//	]
//
// Each entry gives exactly one of "token" (the token itself, at least
// MinTokenLen characters) or "token_sha256" (the hexadecimal SHA-256 digest
// of the token, so the file need not hold secrets). Lookups hash the
// presented token and compare it with every digest in constant time. There
// is no open mode: a request without a known token is unauthenticated.
package tokenauth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// MinTokenLen is the minimum length of a plain token in the file.
const MinTokenLen = 16

// Roles are the roles an entry may have, highest first.
var Roles = []string{"admin", "manager", "analyst", "viewer"}

// Identity is who a token belongs to.
type Identity struct {
	ID       string
	Username string
	FullName string
	Email    string
	Role     string
	Staff    bool
}

// Entry is one element of a tokens file.
type Entry struct {
	Token       string `json:"token,omitempty"`
	TokenSHA256 string `json:"token_sha256,omitempty"`
	ID          string `json:"id"`
	Username    string `json:"username,omitempty"`
	FullName    string `json:"full_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        string `json:"role"`
	Staff       bool   `json:"staff,omitempty"`
}

type credential struct {
	digest   [sha256.Size]byte
	identity Identity
}

// Set is a validated set of tokens. The zero Set authenticates nobody.
type Set struct {
	creds []credential
}

// LoadFile reads and validates the tokens file at path.
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenauth: read tokens file: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// Parse validates a tokens file's content. Errors name the entry index and
// the field at fault.
func Parse(data []byte) (*Set, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []Entry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("tokenauth: parse tokens file: %w", err)
	}
	if dec.More() {
		return nil, errors.New("tokenauth: parse tokens file: unexpected data after the JSON array")
	}
	return New(entries)
}

// New validates entries and returns their Set.
func New(entries []Entry) (*Set, error) {
	s := &Set{creds: make([]credential, 0, len(entries))}
	seen := make(map[[sha256.Size]byte]int, len(entries))
	for i, e := range entries {
		c, err := e.credential()
		if err != nil {
			return nil, fmt.Errorf("tokenauth: entry %d: %w", i, err)
		}
		if j, dup := seen[c.digest]; dup {
			return nil, fmt.Errorf("tokenauth: entry %d: token: same token as entry %d", i, j)
		}
		seen[c.digest] = i
		s.creds = append(s.creds, c)
	}
	return s, nil
}

func (e Entry) credential() (credential, error) {
	var c credential
	switch {
	case e.Token != "" && e.TokenSHA256 != "":
		return c, errors.New(`token, token_sha256: give exactly one of "token" and "token_sha256", not both`)
	case e.Token == "" && e.TokenSHA256 == "":
		return c, errors.New(`token: missing; give "token" or "token_sha256"`)
	case e.Token != "":
		if len(e.Token) < MinTokenLen {
			return c, fmt.Errorf("token: must be at least %d characters", MinTokenLen)
		}
		if strings.TrimSpace(e.Token) != e.Token || strings.ContainsAny(e.Token, " \t\r\n") {
			return c, errors.New("token: must not contain white space")
		}
		c.digest = sha256.Sum256([]byte(e.Token))
	default:
		b, err := hex.DecodeString(e.TokenSHA256)
		if err != nil || len(b) != sha256.Size {
			return c, errors.New("token_sha256: must be 64 hexadecimal digits (the SHA-256 of the token)")
		}
		copy(c.digest[:], b)
	}
	if strings.TrimSpace(e.ID) == "" {
		return c, errors.New("id: missing")
	}
	if e.Role == "" {
		return c, errors.New("role: missing; one of admin, manager, analyst, viewer")
	}
	if !validRole(e.Role) {
		return c, fmt.Errorf("role: unknown role %q; one of admin, manager, analyst, viewer", e.Role)
	}
	c.identity = Identity{ID: e.ID, Username: e.Username, FullName: e.FullName, Email: e.Email, Role: e.Role, Staff: e.Staff}
	if c.identity.Username == "" {
		c.identity.Username = e.ID
	}
	return c, nil
}

func validRole(r string) bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Len returns the number of tokens in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.creds)
}

// Lookup returns the identity of token. Every digest is compared in
// constant time, so the time taken does not reveal which entry matched or
// how close a guess was. An empty token never matches.
func (s *Set) Lookup(token string) (Identity, bool) {
	if s == nil || token == "" {
		return Identity{}, false
	}
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.creds {
		eq := subtle.ConstantTimeCompare(d[:], s.creds[i].digest[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return Identity{}, false
	}
	return s.creds[found].identity, true
}

// Authenticate returns the identity of the request's bearer token
// (Authorization: Bearer <token>).
func (s *Set) Authenticate(r *http.Request) (Identity, bool) {
	tok, ok := BearerToken(r)
	if !ok {
		return Identity{}, false
	}
	return s.Lookup(tok)
}

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive).
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Digest returns the hexadecimal SHA-256 of token, the value of a
// "token_sha256" field.
func Digest(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

// NewToken returns a new random token (32 random bytes, URL-safe base64).
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// WriteFile validates entries and writes them as a tokens file readable
// only by its owner. It refuses to overwrite an existing file.
func WriteFile(path string, entries []Entry) error {
	if _, err := New(entries); err != nil {
		return err
	}
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return fmt.Errorf("tokenauth: encode tokens: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tokenauth: write tokens file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("tokenauth: write tokens file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tokenauth: write tokens file: %w", err)
	}
	return nil
}

// ReadEntries reads a tokens file's entries as written, after validating
// them (used to show the plain tokens of a demo file again).
func ReadEntries(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenauth: read tokens file: %w", err)
	}
	if _, err := Parse(data); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	var entries []Entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("tokenauth: parse tokens file: %w", err)
	}
	return entries, nil
}
