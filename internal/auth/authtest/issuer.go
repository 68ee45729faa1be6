// Package authtest runs a local OpenID Connect issuer for tests: a
// discovery document and a JWKS served over HTTP, with RSA keys generated
// for the test, that signs access tokens and rotates its keys.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud of the tokens Claims returns.
const Audience = "api://advisor-analytics"

// Issuer is a local OpenID Connect issuer.
type Issuer struct {
	t   testing.TB
	srv *httptest.Server

	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // published keys by kid
	cur  string                     // kid that signs
	n    int                        // keys generated

	discoveryHits atomic.Int32
	jwksHits      atomic.Int32
}

// NewIssuer starts an issuer with one signing key; it stops with the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{t: t, keys: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discoveryHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                is.srv.URL,
			"jwks_uri":                              is.srv.URL + "/keys",
			"authorization_endpoint":                is.srv.URL + "/authorize",
			"token_endpoint":                        is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwksHits.Add(1)
		is.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.Rotate(false)
	return is
}

// URL is the issuer URL (the iss of its tokens).
func (is *Issuer) URL() string { return is.srv.URL }

// DiscoveryHits and JWKSHits count the requests for the discovery
// document and for the key set.
func (is *Issuer) DiscoveryHits() int { return int(is.discoveryHits.Load()) }

// JWKSHits counts the requests for the key set.
func (is *Issuer) JWKSHits() int { return int(is.jwksHits.Load()) }

// Rotate generates a new signing key and publishes it, returning its kid;
// keepOld keeps the previous keys published.
func (is *Issuer) Rotate(keepOld bool) string {
	is.t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		is.t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if !keepOld {
		clear(is.keys)
	}
	is.n++
	is.cur = fmt.Sprintf("key-%d", is.n)
	is.keys[is.cur] = k
	return is.cur
}

// Current returns the signing key and its kid.
func (is *Issuer) Current() (kid string, key *rsa.PrivateKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.cur, is.keys[is.cur]
}

// Claims returns the claims of a valid access token at now for Audience,
// with changes applied (a nil value deletes the claim). The holder has the
// app role "Analytics.Reader".
func (is *Issuer) Claims(now time.Time, changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":                is.srv.URL,
		"aud":                Audience,
		"sub":                "pairwise-subject-1",
		"oid":                "5f0c2b8e-6d3a-4f7e-9b1c-2a4d6e8f0a1b",
		"preferred_username": "grace@contoso.example",
		"name":               "Grace Hopper",
		"email":              "grace@example.com",
		"roles":              []string{"Analytics.Reader"},
		"iat":                now.Add(-time.Minute).Unix(),
		"nbf":                now.Add(-time.Minute).Unix(),
		"exp":                now.Add(time.Hour).Unix(),
	}
	return Edit(c, changes)
}

// Token signs claims with the current key (RS256), announcing its kid.
func (is *Issuer) Token(c jwt.MapClaims) string {
	is.t.Helper()
	kid, key := is.Current()
	return SignRS256(is.t, key, kid, c)
}

// SignRS256 signs claims with key, announcing kid.
func SignRS256(t testing.TB, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Edit applies changes to the claims c and returns them: a nil value
// deletes the claim, any other value sets it.
func Edit(c jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}
