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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// The bounds of every wait in the shutdown tests.
const (
	buildTimeout = 5 * time.Minute
	startTimeout = 2 * time.Minute // -demo loads its data first
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
func analyticsdBinary(t testing.TB) string {
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

// startServer runs analyticsd serve on a free loopback port with database,
// a tokens file holding loadToken and the extra flags, and waits until
// /readyz answers 200. The server is stopped when the test ends.
func startServer(t testing.TB, database string, extra ...string) *server {
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
	args := []string{"serve", "-addr", "127.0.0.1:0", "-database", database,
		"-tokens", tokens, "-log-level", "warn", "-shutdown-timeout", "30s"}
	if !slices.Contains(extra, "-spool-dir") {
		// Not the default ./analytics-spool in the package directory.
		args = append(args, "-spool-dir", filepath.Join(t.TempDir(), "spool"))
	}
	args = append(args, extra...)
	s.cmd = exec.Command(analyticsdBinary(t), args...)
	// Load tests send far more than the default 1000 requests per hour of
	// one user.
	s.cmd.Env = append(os.Environ(), "ANALYTICS_RATE_LIMIT=0")
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
		re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)`) // the first URL printed
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
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		stop := time.NewTimer(exitTimeout)
		defer stop.Stop()
		select {
		case <-s.exited:
		case <-stop.C:
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
