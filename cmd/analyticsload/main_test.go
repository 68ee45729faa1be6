package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
)

func TestRunReportsTheLoad(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Extra")+" "+string(b)]++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"activity_type":"login"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // the key every request was seen under
		head string // the report's first line
	}{
		{"inline body", []string{"-method", "post", "-token", "tok", "-body", `{"a":1}`, "-H", "X-Extra: yes"},
			`POST Bearer tok application/json yes {"a":1}`, "4 workers, until 40 requests\n"},
		{"body file", []string{"-method", "PUT", "-body", "@" + bodyFile, "-content-type", "text/plain"},
			`PUT  text/plain  {"activity_type":"login"}`, "4 workers, until 40 requests\n"},
		{"get", nil, "GET    ", "4 workers, until 40 requests\n"},
		{"paced", []string{"-rate", "4000", "-d", "1m"}, "GET    ", "4 workers at 4000 req/s, until 40 requests or 1m0s\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			var stdout, stderr bytes.Buffer
			args := append([]string{"-url", srv.URL + "/api/", "-c", "4", "-n", "40"}, tc.args...)
			if code := run(context.Background(), args, &stdout, &stderr); code != cli.ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
			}
			mu.Lock()
			if len(seen) != 1 || seen[tc.want] != 40 {
				t.Errorf("server saw %v, want 40 × %q", seen, tc.want)
			}
			mu.Unlock()
			for _, w := range []string{tc.head, "requests  40 in", "202×40", "p99"} {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

func TestRunRefusesBadInvocations(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no url", nil, cli.ExitUsage, "-url is required"},
		{"remote target", []string{"-url", "http://192.0.2.1/", "-n", "1"}, cli.ExitUsage, "not a loopback address"},
		{"bad header", []string{"-url", "http://127.0.0.1/", "-H", "novalue"}, cli.ExitUsage, "Name: value"},
		{"missing body file", []string{"-url", "http://127.0.0.1/", "-body", "@/nonexistent/body.json"}, cli.ExitUsage, "-body"},
		{"negative rate", []string{"-url", "http://127.0.0.1/", "-rate", "-5"}, cli.ExitUsage, "Rate must be"},
		{"negative count", []string{"-url", "http://127.0.0.1/", "-n", "-1"}, cli.ExitUsage, "Requests must not be negative"},
		{"arguments", []string{"-url", "http://127.0.0.1/", "extra"}, cli.ExitUsage, "unexpected arguments"},
		{"help", []string{"-h"}, cli.ExitOK, "Usage: analyticsload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

func TestRunWritesCPUProfile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-url", srv.URL, "-n", "50", "-cpuprofile", prof}, &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	fi, err := os.Stat(prof)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Errorf("profile %s is empty", prof)
	}
}
