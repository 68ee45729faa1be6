//go:build unix

package main

import (
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
)

func TestSIGHUPReloadsJWTSecret(t *testing.T) {
	next := strings.Repeat("rotated-secret-", 4)
	file := writeSecret(t, platformSecret, 0o644)
	base, _, logs, stop := startServer(t, nil, "-addr", "127.0.0.1:0", "-database", testdb.SQLitePath(t),
		"-jwt-secret-file", file, "-log-level", "info")
	if !strings.Contains(logs.String(), "the JWT secret file can be read by other users") {
		t.Errorf("no warning about a world-readable secret file:\n%s", logs.String())
	}
	url := base + apiPrefix + "dashboard/"
	status := func(secret string) int {
		code, _ := request(t, "GET", url, platformJWT(t, secret, jwt.SigningMethodHS256, nil), nil)
		return code
	}
	if got := status(platformSecret); got != http.StatusOK {
		t.Fatalf("token of the secret = %d", got)
	}
	if got := status(next); got != http.StatusUnauthorized {
		t.Fatalf("token of the next secret = %d before the reload, want 401", got)
	}
	replace := func(content string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	replace(next + "\n")
	waitFor(t, "the new secret was not used after SIGHUP", nil, func() bool { return status(next) == http.StatusOK })
	if got := status(platformSecret); got != http.StatusUnauthorized {
		t.Errorf("token of the replaced secret = %d, want 401", got)
	}

	// A secret too short keeps the current one.
	replace("short")
	waitFor(t, "the short secret was not reported", logs, func() bool { return strings.Contains(logs.String(), "JWT secret not reloaded") })
	if got := status(next); got != http.StatusOK {
		t.Errorf("current secret after a refused reload = %d, want 200", got)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
