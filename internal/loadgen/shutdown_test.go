//go:build !windows

package loadgen_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// The bounds of every wait in the shutdown tests.
const (
	buildTimeout = 5 * time.Minute
	startTimeout = time.Minute
	loadTimeout  = 2 * time.Minute
	exitTimeout  = time.Minute
)

const loadToken = "load-test-token-0123456789abcdef"

var serverBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if serverBin.dir != "" {
		os.RemoveAll(serverBin.dir)
	}
	os.Exit(code)
}

// analyticsdBinary builds ./cmd/analyticsd once per test run.
func analyticsdBinary(t *testing.T) string {
	t.Helper()
	serverBin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			serverBin.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			serverBin.err = errors.New("go env GOMOD: not inside the module")
			return
		}
		if serverBin.dir, err = os.MkdirTemp("", "analyticsd-bin-"); err != nil {
			serverBin.err = err
			return
		}
		path := filepath.Join(serverBin.dir, "analyticsd")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/analyticsd")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			serverBin.err = fmt.Errorf("go build ./cmd/analyticsd: %w\n%s", err, out)
			return
		}
		serverBin.path = path
	})
	if serverBin.err != nil {
		t.Fatal(serverBin.err)
	}
	return serverBin.path
}

// tailBuffer keeps the last bytes written to it, for failure messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	const keep = 32 << 10
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > keep {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-keep:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// server is a running analyticsd process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *tailBuffer
	exited chan struct{}
	err    error // cmd.Wait's result, set when exited is closed
}

// startServer runs analyticsd serve on a free loopback port with database
// and waits until /readyz answers 200.
func startServer(t *testing.T, database string) *server {
	t.Helper()
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	data, err := json.Marshal([]map[string]any{{"token": loadToken, "id": store.NewID(), "username": "loader",
		"full_name": "Load Test", "email": "loader@example.com", "role": "analyst", "staff": false}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokens, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{stderr: &tailBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(analyticsdBinary(t), "serve", "-addr", "127.0.0.1:0", "-database", database,
		"-tokens", tokens, "-log-level", "warn", "-shutdown-timeout", "30s")
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	select {
	case s.url = <-urls:
	case <-s.exited:
		t.Fatalf("analyticsd exited before listening: %v\n%s", s.err, s.stderr)
	case <-timeout.C:
		t.Fatalf("analyticsd did not print its address within %v\n%s", startTimeout, s.stderr)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-tick.C:
		case <-s.exited:
			t.Fatalf("analyticsd exited before it was ready: %v\n%s", s.err, s.stderr)
		case <-timeout.C:
			t.Fatalf("analyticsd not ready within %v (last: %v)\n%s", startTimeout, err, s.stderr)
		}
	}
}

// countActivities opens the database after the server has gone and counts
// its activities, all of them and those of the load.
func countActivities(t *testing.T, database string) (all, load int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var st store.Store
	var err error
	if strings.HasPrefix(database, "postgres://") {
		st, err = postgres.Open(ctx, database, postgres.Options{SkipMigrate: true})
	} else {
		st, err = sqlite.Open(ctx, database, sqlite.Options{SkipMigrate: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	loadPage, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1,
		ActivityFilter: store.ActivityFilter{ActivityType: "load_test"}})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total, loadPage.Total
}

// testSIGTERMUnderLoad posts activities to a server on database and
// terminates it once half of them were accepted: every activity answered
// 202 must be in the database afterwards, and no other.
func testSIGTERMUnderLoad(t *testing.T, database string) {
	const (
		requests    = 10_000
		concurrency = 32
		signalAt    = requests / 2
	)
	srv := startServer(t, database)

	var accepted atomic.Int64
	var signalled sync.Once
	var signalErr error
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL:    srv.url + "/api/v1/analytics/activities/",
		Method: http.MethodPost,
		Header: http.Header{"Authorization": {"Bearer " + loadToken}, "Content-Type": {"application/json"}},
		Body: func(i int) []byte {
			return fmt.Appendf(nil, `{"activity_type":"load_test","description":"request %d","metadata":{"i":%d}}`, i, i)
		},
		Concurrency: concurrency,
		Requests:    requests,
		ResultFunc: func(_ int, status int, _ error) {
			if status == http.StatusAccepted && accepted.Add(1) == signalAt {
				signalled.Do(func() { signalErr = srv.cmd.Process.Signal(syscall.SIGTERM) })
			}
		},
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	signalled.Do(func() { signalErr = errors.New("never sent: fewer than half the requests were accepted") })
	if signalErr != nil {
		t.Fatalf("SIGTERM: %v\n%s\n%s", signalErr, res.String(), srv.stderr)
	}
	t.Logf("load:\n%s", res.String())

	exit := time.NewTimer(exitTimeout)
	defer exit.Stop()
	select {
	case <-srv.exited:
	case <-exit.C:
		t.Fatalf("analyticsd still running %v after SIGTERM\n%s", exitTimeout, srv.stderr)
	}
	if srv.err != nil || srv.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("analyticsd exit: %v (status %d), want status 0\n%s", srv.err, srv.cmd.ProcessState.ExitCode(), srv.stderr)
	}

	got202 := res.Status(http.StatusAccepted)
	if got202 != accepted.Load() {
		t.Errorf("Result counts %d 202s, ResultFunc saw %d", got202, accepted.Load())
	}
	// The signal arrived under load: part of the requests were refused.
	if got202 < signalAt || got202 >= requests {
		t.Errorf("%d of %d requests accepted, want at least %d and not all", got202, requests, signalAt)
	}
	for code, n := range res.Statuses {
		if code != http.StatusAccepted && code != http.StatusServiceUnavailable {
			t.Errorf("%d responses with status %d; only 202 and 503 are expected", n, code)
		}
	}
	all, load := countActivities(t, database)
	if load != got202 || all != got202 {
		t.Errorf("database holds %d activities (%d of the load); %d requests were answered 202\n%s\n%s",
			all, load, got202, res.String(), srv.stderr)
	}
}

func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	testSIGTERMUnderLoad(t, testdb.SQLitePath(t))
}

func TestSIGTERMUnderLoadLosesNothingPostgres(t *testing.T) {
	testSIGTERMUnderLoad(t, testdb.PostgresURL(t))
}
