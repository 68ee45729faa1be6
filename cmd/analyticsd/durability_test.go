package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // a second connection holding the write lock

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// The durability tests run the real program as a child process, put it
// under loopback load, kill it with SIGKILL and restart it, then check that
// every activity answered 202 is stored exactly once.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the program once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "analyticsd-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "analyticsd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running analyticsd.
type proc struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncbuf.Buffer
	exited chan struct{}
	err    error // valid once exited is closed
}

var listenRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "-addr", "127.0.0.1:0", "-log-level", "warn"}, args...)...)
	// The load is many requests from one user: no rate limit.
	cmd.Env = append(append(os.Environ(), "ANALYTICS_RATE_LIMIT=0"), env...)
	p := &proc{cmd: cmd, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	select {
	case p.base = <-found:
		return p
	case <-p.exited:
		t.Fatalf("analyticsd exited before listening (%v):\n%s", p.err, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("analyticsd did not listen:\n%s", p.stderr.String())
	}
	return nil
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop stops it with SIGTERM (a graceful shutdown that drains the spool)
// and fails the test unless it exits cleanly.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("analyticsd exit: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("analyticsd did not stop:\n%s", p.stderr.String())
	}
}

// loader posts activities from 16 clients and keeps the ids answered 202.
type loader struct {
	acked   sync.Map // id -> struct{}
	n       atomic.Int64
	refused atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(base, token string) *loader {
	l := &loader{stop: make(chan struct{})}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for c := range 16 {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"activity_type":"login","description":"load %d-%d","metadata":{"client":%d}}`, c, i, c)
				req, _ := http.NewRequest("POST", base+apiPrefix+"activities/", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(5 * time.Millisecond)
					continue // the server is down (killed): the request was not acknowledged
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					l.refused.Add(1)
					continue
				}
				var a struct{ ID string }
				if err := json.Unmarshal(b, &a); err == nil && a.ID != "" {
					l.acked.Store(a.ID, struct{}{})
					l.n.Add(1)
				}
			}
		})
	}
	return l
}

// waitFor waits until the loader has n acknowledgements.
func (l *loader) waitFor(t *testing.T, n int64, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.n.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d activities acknowledged (%d refused); stderr:\n%s", l.n.Load(), n, l.refused.Load(), p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *loader) end() {
	close(l.stop)
	l.wg.Wait()
}

// checkExactlyOnce fails unless every acknowledged id is stored once and
// no id is stored twice.
func checkExactlyOnce(t *testing.T, s store.ActivityReader, l *loader) {
	t.Helper()
	ids := map[string]int{}
	var cursor string
	for {
		page, err := s.ActivityList(context.Background(), store.ActivityListParams{Limit: 1000, Cursor: cursor,
			ActivityFilter: store.ActivityFilter{ActivityType: "login"}})
		if err != nil {
			t.Fatalf("ActivityList: %v", err)
		}
		for _, a := range page.Activities {
			ids[a.ID]++
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	acked, missing := 0, 0
	l.acked.Range(func(k, _ any) bool {
		acked++
		if ids[k.(string)] == 0 {
			missing++
		}
		return true
	})
	for id, n := range ids {
		if n != 1 {
			t.Errorf("activity %s stored %d times", id, n)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d activities answered 202 are not stored", missing, acked)
	}
	t.Logf("%d activities answered 202, all stored once (%d stored in all)", acked, len(ids))
}

func writeTokens(t *testing.T) (file, token string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "tokens.json")
	token = tokenauth.NewToken()
	if err := tokenauth.WriteFile(file, []tokenauth.Entry{{Token: token, ID: store.NewID(), Username: "loader", Role: "admin"}}); err != nil {
		t.Fatal(err)
	}
	return file, token
}

// TestSIGKILLUnderLoad: killed with SIGKILL under load, then restarted:
// every activity answered 202 is stored exactly once.
func TestSIGKILLUnderLoad(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			var database string
			if driver == "sqlite" {
				database = testdb.SQLitePath(t)
			} else {
				database = testdb.PostgresURL(t)
			}
			tokens, token := writeTokens(t)
			spoolDir := filepath.Join(t.TempDir(), "spool")
			args := []string{"-database", database, "-tokens", tokens, "-spool-dir", spoolDir}
			p := startProc(t, nil, args...)
			l := startLoad(p.base, token)
			l.waitFor(t, 1500, p)
			p.kill()
			l.end()

			p = startProc(t, nil, args...)
			p.stop(t)
			var s store.ActivityReader
			if driver == "sqlite" {
				s = teststore.SQLiteAt(t, database, sqlite.Config{})
			} else {
				s = teststore.PostgresAt(t, database)
			}
			checkExactlyOnce(t, s, l)
		})
	}
}

// TestSQLiteLockedThenSIGKILL: another connection holds SQLite's write
// lock; the server keeps answering 202 from its spool, is killed, and after
// the lock is released and a restart every 202 is stored exactly once. A
// torn tail left in the spool costs nothing acknowledged and is set aside.
func TestSQLiteLockedThenSIGKILL(t *testing.T) {
	database := testdb.SQLitePath(t)
	tokens, token := writeTokens(t)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	args := []string{"-database", database, "-tokens", tokens, "-spool-dir", spoolDir}
	p := startProc(t, nil, args...)
	l := startLoad(p.base, token)
	l.waitFor(t, 300, p)

	release := holdSQLiteLock(t, database)
	before := l.n.Load()
	l.waitFor(t, before+1000, p) // answered while the database is locked
	p.kill()
	l.end()
	release()

	// A crash in the middle of an append: garbage after the last record.
	segs, _ := filepath.Glob(filepath.Join(spoolDir, "*", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no spool segment left by the killed process")
	}
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7})
	f.Close()

	p = startProc(t, nil, args...)
	p.stop(t)
	checkExactlyOnce(t, teststore.SQLiteAt(t, database, sqlite.Config{}), l)
	if bad, _ := filepath.Glob(filepath.Join(spoolDir, "*", "corrupt", "*")); len(bad) != 1 {
		t.Errorf("torn tail not moved aside: %v", bad)
	}
}

// holdSQLiteLock takes the database's write lock on a connection of this
// process until the returned function is called.
func holdSQLiteLock(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "PRAGMA busy_timeout = 10000"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// TestSpoolByteCapReached: with the database locked, the spool fills up to
// -spool-max-bytes; past it the server answers 503 (never a 202 it cannot
// keep), and every 202 is stored once the lock is gone.
func TestSpoolByteCapReached(t *testing.T) {
	database := testdb.SQLitePath(t)
	tokens, token := writeTokens(t)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	p := startProc(t, nil, "-database", database, "-tokens", tokens, "-spool-dir", spoolDir, "-spool-max-bytes", "1048576")
	release := holdSQLiteLock(t, database)
	l := startLoad(p.base, token)
	deadline := time.Now().Add(40 * time.Second)
	for l.refused.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no 503 after %d acknowledgements with a 1 MiB spool", l.n.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.end()
	var size int64
	segs, _ := filepath.Glob(filepath.Join(spoolDir, "*", "*.seg"))
	for _, s := range segs {
		if fi, err := os.Stat(s); err == nil {
			size += fi.Size()
		}
	}
	if size > 1<<20 {
		t.Errorf("spool holds %d bytes, over its 1 MiB cap", size)
	}
	release()
	p.stop(t)
	checkExactlyOnce(t, teststore.SQLiteAt(t, database, sqlite.Config{}), l)
	t.Logf("%d refused with 503 while full", l.refused.Load())
}

// TestPostgresOutageThenSIGKILL runs a private PostgreSQL cluster, stops it
// under load (the server keeps answering 202), kills the server while the
// database is down, starts the database and the server again: every 202 is
// stored exactly once.
func TestPostgresOutageThenSIGKILL(t *testing.T) {
	pg := startCluster(t)
	tokens, token := writeTokens(t)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	args := []string{"-database", pg.url, "-tokens", tokens, "-spool-dir", spoolDir}
	p := startProc(t, nil, args...)
	l := startLoad(p.base, token)
	l.waitFor(t, 500, p)
	pg.ctl(t, "stop", "-m", "immediate")
	before := l.n.Load()
	l.waitFor(t, before+1500, p) // answered while the database is down
	p.kill()
	l.end()
	pg.ctl(t, "start", "-w", "-l", filepath.Join(pg.dir, "log"))

	p = startProc(t, nil, args...)
	p.stop(t)
	checkExactlyOnce(t, teststore.PostgresAt(t, pg.url), l)
}

// TestPostgresRestartThenSIGTERM restarts a private PostgreSQL cluster
// (an immediate stop, as in a crash) under a running server, which then
// answers again and stops on SIGTERM with exit status 0: its connections
// to the old server are gone, and closing them is no failure.
func TestPostgresRestartThenSIGTERM(t *testing.T) {
	pg := startCluster(t)
	tokens, token := writeTokens(t)
	p := startProc(t, nil, "-database", pg.url, "-tokens", tokens, "-spool-dir", filepath.Join(t.TempDir(), "spool"))
	get := func() int {
		req, err := http.NewRequest("GET", p.base+apiPrefix+"trends/?days=7", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("trends before the restart = %d", code)
	}
	pg.ctl(t, "stop", "-m", "immediate")
	pg.ctl(t, "start", "-w", "-l", filepath.Join(pg.dir, "log"))
	deadline := time.Now().Add(20 * time.Second)
	for get() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("trends did not answer 200 after the restart:\n%s", p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t)
}

type cluster struct {
	bin, dir, url string
	asPostgres    bool
}

// startCluster initialises and starts a PostgreSQL cluster of the test's
// own on a free loopback port.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL binaries (initdb, pg_ctl) not found: CI must run this test")
		}
		t.Skip("PostgreSQL binaries (initdb, pg_ctl) not found")
	}
	c := &cluster{bin: filepath.Dir(bins[len(bins)-1]), asPostgres: os.Geteuid() == 0}
	base, err := os.MkdirTemp("", "analyticsd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	c.dir = filepath.Join(base, "data")
	if c.asPostgres {
		os.Chmod(base, 0o777)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.run(t, "initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n", port, base)
	cf, err := os.OpenFile(filepath.Join(c.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cf.WriteString(conf)
	cf.Close()
	c.ctl(t, "start", "-w", "-l", filepath.Join(c.dir, "log"))
	t.Cleanup(func() { c.runErr("pg_ctl", "-D", c.dir, "stop", "-m", "immediate") })
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c
}

func (c *cluster) ctl(t *testing.T, args ...string) {
	t.Helper()
	c.run(t, "pg_ctl", append([]string{"-D", c.dir}, args...)...)
}

func (c *cluster) run(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := c.runErr(tool, args...); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func (c *cluster) runErr(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-ctx.Done():
		cmd.Process.Kill()
		return out.Bytes(), ctx.Err()
	}
}
