//go:build unix

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestSIGHUPReloadsTokens(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.json")
	oldTok, newTok := tokenauth.NewToken(), tokenauth.NewToken()
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(tok string) string {
		return `{"token":"` + tok + `","id":"` + store.NewID() + `","role":"viewer"}`
	}
	write("[" + entry(oldTok) + "]")
	db := testdb.SQLitePath(t)
	base, _, logs, stop := startServer(t, nil, "-addr", "127.0.0.1:0", "-database", db, "-tokens", file, "-log-level", "error")
	url := base + apiPrefix + "metrics/"
	status := func(tok string) int {
		code, _ := request(t, "GET", url, tok, nil)
		return code
	}
	if got := status(oldTok); got != http.StatusOK {
		t.Fatalf("old token = %d before the reload", got)
	}
	if got := status(newTok); got != http.StatusUnauthorized {
		t.Fatalf("new token = %d before the reload, want 401", got)
	}

	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	write("[" + entry(newTok) + "]")
	hup()
	waitFor(t, "the new token was not accepted after SIGHUP", nil, func() bool { return status(newTok) == http.StatusOK })
	if got := status(oldTok); got != http.StatusUnauthorized {
		t.Errorf("removed token = %d after the reload, want 401", got)
	}

	// An invalid file keeps the current tokens.
	write(`[{"token":"` + oldTok + `","id":"x"}]`) // no role
	hup()
	waitFor(t, "the invalid file was not reported", logs, func() bool { return strings.Contains(logs.String(), "tokens not reloaded") })
	if !strings.Contains(logs.String(), "entry 0: role: missing") {
		t.Errorf("the log does not say what is wrong:\n%s", logs.String())
	}
	if got := status(newTok); got != http.StatusOK {
		t.Errorf("current token after an invalid file = %d, want 200", got)
	}
	marker := tokenauth.NewToken()
	write("[" + entry(newTok) + "," + entry(marker) + "]")
	hup()
	waitFor(t, "the marker token was not accepted after the last SIGHUP", nil, func() bool { return status(marker) == http.StatusOK })
	if got := status(newTok); got != http.StatusOK {
		t.Errorf("token kept across an invalid file = %d, want 200", got)
	}
	if got := status(oldTok); got != http.StatusUnauthorized {
		t.Errorf("the invalid file's token = %d, want 401", got)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	// Each reload that replaced the tokens is in the audit trail.
	code, out, errOut := runCmd(t, nil, "export", "-database", db, "-format", "ndjson", "-activity-type", "admin_action")
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d admin actions, want 2 (the invalid file is not a reload):\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"action":"tokens_reload"`) || !strings.Contains(l, `"id":"system"`) {
			t.Errorf("admin action %s", l)
		}
	}
}
