package main

import (
	"os"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
)

// A database password, in a URL's user info, in a password= query
// parameter or in a key=value connection string, never reaches a log line,
// an error message or the startup output.
func TestDatabasePasswordNeverShown(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct{ name, dsn string }{
		{"user info", "postgres://analytics:" + pw + "@127.0.0.1:1/analytics?sslmode=disable"},
		{"query parameter", "postgres://analytics@127.0.0.1:1/analytics?sslmode=disable&password=" + pw},
		{"both", "postgresql://analytics:" + pw + "@127.0.0.1:1/analytics?PassWord=" + pw},
		{"no host", "postgres:///analytics?password=" + pw},
		{"key=value", "host=127.0.0.1 port=1 user=analytics password=" + pw + " dbname=analytics"},
		{"key=value quoted", "host=127.0.0.1 password='" + pw + " x' dbname=analytics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{"-addr", "127.0.0.1:0"}, {"migrate"}, {"init"}} {
				code, stdout, stderr := runCmd(t, map[string]string{"ANALYTICS_DATABASE_URL": tc.dsn}, append(args, "-log-level", "debug")...)
				if code == 0 {
					t.Errorf("%v: exit status 0", args)
				}
				if strings.Contains(stdout+stderr, pw) {
					t.Errorf("%v: the password is shown:\n%s%s", args, stdout, stderr)
				}
			}
		})
	}
	// Nothing was created under a connection string taken for a file name.
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("files created: %v", entries)
	}
}

// A running server logs its database without the password.
func TestDatabasePasswordNotLogged(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	url := testdb.PostgresURL(t) + "&password=" + pw
	if !strings.Contains(url, "?") {
		t.Fatalf("test URL without query: %s", url)
	}
	_, stdout, stderr, stop := startServer(t, map[string]string{"ANALYTICS_DATABASE_URL": url}, "-addr", "127.0.0.1:0", "-log-level", "debug")
	stop()
	if !strings.Contains(stderr.String(), "database=") {
		t.Fatalf("no database in the log:\n%s", stderr.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), pw) {
		t.Errorf("the password is logged:\n%s", stderr.String())
	}
}
