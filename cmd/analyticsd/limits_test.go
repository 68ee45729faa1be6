package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// limitsServer starts the server on the store named by database with one
// admin and one viewer token and the extra args.
func limitsServer(t *testing.T, database string, env map[string]string, args ...string) (base, admin, viewer string, stderr *syncbuf.Buffer) {
	t.Helper()
	tokensFile := filepath.Join(t.TempDir(), "tokens.json")
	admin, viewer = tokenauth.NewToken(), tokenauth.NewToken()
	if err := tokenauth.WriteFile(tokensFile, []tokenauth.Entry{
		{Token: admin, ID: store.NewID(), Username: "root", Role: "admin"},
		{Token: viewer, ID: store.NewID(), Username: "val", Role: "viewer"},
	}); err != nil {
		t.Fatal(err)
	}
	if env == nil {
		env = map[string]string{}
	}
	env["ANALYTICS_DATABASE_URL"] = database
	env["ANALYTICS_TOKENS_FILE"] = tokensFile
	base, _, stderr, _ = startServer(t, env, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...)...)
	return base, admin, viewer, stderr
}

// eachStore runs f against SQLite and PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, testdb.SQLitePath(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, testdb.PostgresURL(t)) })
}

// slowRequest opens a connection, sends the head of a POST declaring a
// body of declared bytes and the first sent bytes of it, then stalls. It
// returns the status line and how long the server took to close the
// connection (or fails after limit).
func slowRequest(t *testing.T, base, path, token string, declared, sent int, limit time.Duration) (status string, closedAfter time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, declared)
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"+strings.Repeat(" ", sent)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(start.Add(limit))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer within %v: %v", limit, err)
	}
	// Read until the server closes the connection.
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("answer %q, but the connection was still open after %v: %v", strings.TrimSpace(line), limit, err)
	}
	return strings.TrimSpace(line), time.Since(start)
}

// A client trickling a declared body it never finishes cannot hold a
// connection: an early 4xx closes it at once, and a small JSON route
// stops waiting for its body after -body-timeout.
func TestSlowBodies(t *testing.T) {
	eachStore(t, func(t *testing.T, database string) {
		base, _, viewer, _ := limitsServer(t, database, nil, "-body-timeout", "1s")
		// No token: 401 decided at once, then the connection is closed
		// instead of reading the 200,000 bytes announced.
		status, took := slowRequest(t, base, apiPrefix+"activities/", "", 200000, 10, 5*time.Second)
		if !strings.Contains(status, " 401 ") || took > 3*time.Second {
			t.Errorf("without a token: %q, connection closed after %v; want a 401 and a close within 3s", status, took)
		}
		// An unknown route does the same.
		status, took = slowRequest(t, base, apiPrefix+"nowhere/", viewer, 200000, 10, 5*time.Second)
		if !strings.Contains(status, " 404 ") || took > 3*time.Second {
			t.Errorf("unknown route: %q, closed after %v", status, took)
		}
		// A valid token on a small JSON route: the body must arrive
		// within -body-timeout (1s here).
		status, took = slowRequest(t, base, apiPrefix+"activities/", viewer, 5000, 10, 8*time.Second)
		if !strings.Contains(status, " 400 ") && !strings.Contains(status, " 408 ") || took > 5*time.Second {
			t.Errorf("stalled small body: %q, closed after %v; want 400 or 408 within 5s", status, took)
		}
	})
}

// -max-connections caps the open connections: the one over the cap waits
// until another closes.
func TestMaxConnections(t *testing.T) {
	base, _, _, _ := limitsServer(t, testdb.SQLitePath(t), nil, "-max-connections", "2")
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr) // accepted by the kernel, not by the server
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = third.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	if b, err := io.ReadAll(third); err == nil || len(b) > 0 {
		t.Fatalf("third connection answered over the cap of 2: %q, %v", b, err)
	}
	held[0].Close()
	_ = third.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("third connection not served once one closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
}

// get sends a GET with token and extra headers and returns the response
// with its body read.
func get(t *testing.T, url, token string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Each user has a request budget (per-role overrides), answered 429 with
// Retry-After once spent; failed authentications are limited per client
// address, which a forged X-Forwarded-For does not change.
func TestRateLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, database string) {
		base, admin, viewer, _ := limitsServer(t, database, map[string]string{"ANALYTICS_RATE_LIMIT": "5"},
			"-rate-limit-roles", "admin=0", "-auth-fail-limit", "3")
		url := base + apiPrefix + "categories/"
		for i := range 5 {
			resp := get(t, url, viewer)
			h := resp.Header
			if resp.StatusCode != 200 || h.Get("RateLimit-Limit") != "5" || h.Get("RateLimit-Remaining") != strconv.Itoa(4-i) || h.Get("RateLimit-Reset") == "" {
				t.Fatalf("viewer request %d: %d, RateLimit-Limit %q, -Remaining %q, -Reset %q", i+1, resp.StatusCode,
					h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"))
			}
		}
		resp := get(t, url, viewer)
		if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || ra < 700 || ra > 721 {
			t.Errorf("6th viewer request: %d, Retry-After %q; want 429 and 720s (5 per hour)", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// admin=0: no limit for admins.
		for i := range 8 {
			if resp := get(t, url, admin); resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "" {
				t.Fatalf("admin request %d: %d, RateLimit-Limit %q", i+1, resp.StatusCode, resp.Header.Get("RateLimit-Limit"))
			}
		}
		// Three wrong tokens are 401s; then the address is refused, whatever
		// X-Forwarded-For it claims (no trusted proxy is configured).
		for i := range 3 {
			if resp := get(t, url, "wrong-token", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)); resp.StatusCode != 401 {
				t.Fatalf("wrong token %d: %d", i+1, resp.StatusCode)
			}
		}
		resp = get(t, url, "wrong-token", "X-Forwarded-For", "203.0.113.50")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("4th wrong token: %d, Retry-After %q; want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
}

// With ANALYTICS_RATE_LIMIT=0 and -auth-fail-limit 0 nothing is limited.
func TestRateLimitsOff(t *testing.T) {
	base, _, viewer, _ := limitsServer(t, testdb.SQLitePath(t), map[string]string{"ANALYTICS_RATE_LIMIT": "0", "ANALYTICS_AUTH_FAIL_LIMIT": "0"})
	for i := range 120 {
		if resp := get(t, base+apiPrefix+"categories/", viewer); resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "" {
			t.Fatalf("request %d: %d, RateLimit-Limit %q", i+1, resp.StatusCode, resp.Header.Get("RateLimit-Limit"))
		}
		if resp := get(t, base+apiPrefix+"categories/", "wrong"); resp.StatusCode != 401 {
			t.Fatalf("wrong token %d: %d", i+1, resp.StatusCode)
		}
	}
}
