//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// The database, its WAL files, the demo tokens and export files hold user
// data or secrets: they are readable by their owner only, whatever the
// umask.
func TestFilesCreatedOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	db := filepath.Join(dir, "analytics.db")
	_, _, _, stop := startServer(t, map[string]string{"ANALYTICS_LOG_LEVEL": "error"}, "-demo", "-addr", "127.0.0.1:0", "-database", db)
	if code := stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	out := filepath.Join(dir, "export.csv")
	if code, _, stderr := runCmd(t, nil, "export", "-database", db, "-o", out); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	files := []string{db, db + demoTokensSuffix, out}
	entries, _ := filepath.Glob(db + "-*")
	files = append(files, entries...)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s created with mode %v, want 0600", filepath.Base(f), perm)
		}
	}
}

// A tokens file others can read is warned about, at start and on reload.
func TestTokensFileModeWarning(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.json")
	if err := tokenauth.WriteFile(file, []tokenauth.Entry{{Token: tokenauth.NewToken(), ID: store.NewID(), Username: "u", Role: "viewer"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stderr, stop := startServer(t, nil, "-addr", "127.0.0.1:0", "-database", filepath.Join(t.TempDir(), "a.db"), "-tokens", file, "-log-level", "warn")
	stop()
	if !strings.Contains(stderr.String(), "tokens file is readable by other users") || !strings.Contains(stderr.String(), "chmod 600") {
		t.Errorf("no warning about a world-readable tokens file; log:\n%s", stderr.String())
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, stderr, stop = startServer(t, nil, "-addr", "127.0.0.1:0", "-database", filepath.Join(t.TempDir(), "b.db"), "-tokens", file, "-log-level", "warn")
	stop()
	if strings.Contains(stderr.String(), "readable by other users") {
		t.Errorf("warning about a 0600 tokens file:\n%s", stderr.String())
	}
}
