// Package teststandby starts a PostgreSQL hot standby of the test database
// for tests of reads from replicas: a base backup of the primary taken with
// pg_basebackup -R, started on a free loopback port, stopped and removed
// when the test ends.
package teststandby

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver of Exec
)

// Standby is a running hot standby.
type Standby struct {
	// URL is the primary's test URL with the standby's address.
	URL     string
	dir     string
	bin     string
	stopped bool
}

// reserveSlot creates a physical replication slot on the primary that
// reserves the write-ahead log from now on, so that neither the base
// backup (other tests write meanwhile, and the primary may recycle the
// segments a backup without a slot still has to stream) nor the standby
// behind it can fall off the log. The slot is dropped when the test ends,
// after the standby stopped.
func reserveSlot(t testing.TB, primaryURL string) string {
	t.Helper()
	db, err := sql.Open("postgres", primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	slot := fmt.Sprintf("analytics_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.Exec("SELECT pg_create_physical_replication_slot($1, true)", slot); err != nil {
		_ = db.Close()
		t.Fatalf("teststandby: reserve a replication slot: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		// The standby's WAL sender may take a moment to exit after it
		// stopped; the slot can only go once it is inactive.
		var err error
		for range 50 {
			if _, err = db.Exec("SELECT pg_drop_replication_slot($1)", slot); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("teststandby: drop replication slot %s: %v", slot, err)
	})
	return slot
}

// Start takes a base backup of the primary that primaryURL (such as one
// from testdb.PostgresURL) points at and starts it as a standby. Without the
// PostgreSQL server programs it skips, or fails under CI.
func Start(t testing.TB, primaryURL string) *Standby {
	t.Helper()
	bin := serverBin()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("teststandby: the PostgreSQL server programs (pg_basebackup, pg_ctl) are not installed")
		}
		t.Skip("teststandby: the PostgreSQL server programs are not installed")
	}
	u, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		t.Skipf("teststandby: the primary (%s) is not on this machine", h)
	}
	slot := reserveSlot(t, primaryURL)
	dir, err := os.MkdirTemp("", "analytics-standby-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Standby{dir: dir, bin: bin}
	t.Cleanup(func() { s.Stop(t); _ = os.RemoveAll(dir) })
	if err := s.own(); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	userName := "postgres"
	if u.User != nil && u.User.Username() != "" {
		userName = u.User.Username()
	}
	// -R with --slot makes the standby stream through the slot too.
	s.run(t, "pg_basebackup", "-h", u.Hostname(), "-p", u.Port(), "-U", userName, "-D", filepath.Join(dir, "data"),
		"-R", "-X", "stream", "--slot", slot, "-c", "fast", "--no-sync")
	s.run(t, "pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c hot_standby=on -c max_connections=1000 -c fsync=off", port, dir), "start")
	su := *u
	su.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = su.String()
	return s
}

// Exec runs a statement on the standby (such as pg_wal_replay_pause()).
func (s *Standby) Exec(ctx context.Context, query string) (sql.Result, error) {
	db, err := sql.Open("postgres", s.URL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.ExecContext(ctx, query)
}

// Stop stops the standby at once (as a crash would). It is idempotent.
func (s *Standby) Stop(t testing.TB) {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := s.command(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		t.Logf("teststandby: stop: %v: %s", err, out)
	}
}

// run runs a server program and fails the test when it fails.
func (s *Standby) run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := s.command(ctx, name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("teststandby: %s: %v\n%s\n%s", name, err, out, log)
	}
}

// command runs a server program, as the postgres user when this process
// is root (PostgreSQL refuses to run as root).
func (s *Standby) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if os.Geteuid() == 0 {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// own gives the standby's directory to the postgres user when this
// process is root.
func (s *Standby) own() error {
	if os.Geteuid() != 0 {
		return nil
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("teststandby: %w", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	return os.Chown(s.dir, uid, gid)
}

// serverBin is the directory of the newest installed PostgreSQL server
// programs, "" when there is none.
func serverBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_basebackup")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("pg_basebackup"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

// freePort returns a loopback TCP port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
