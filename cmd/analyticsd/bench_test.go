package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// BenchmarkServerCachedMetrics measures the cached metrics route through
// the whole reference server (bearer authentication, request log, API
// handler) over loopback HTTP with keep-alive connections, on the demo
// data. It reports requests per second across all client goroutines.
//
//	go test -run '^$' -bench ServerCachedMetrics -benchtime 20000x ./cmd/analyticsd
func BenchmarkServerCachedMetrics(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, "analytics.db")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		// A budget far above b.N keeps the rate limiter in the path without
		// refusing requests.
		done <- run(ctx, []string{"-demo", "-addr", "127.0.0.1:0", "-database", db, "-log-level", "error", "-spool-dir", filepath.Join(dir, "spool")},
			envOf(map[string]string{"ANALYTICS_RATE_LIMIT": "1000000000"}), out, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			b.Errorf("server exit status %d", code)
		}
	}()
	re := regexp.MustCompile(`URL\s+(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			b.Fatal("server did not start")
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	entries, err := tokenauth.ReadEntries(db + demoTokensSuffix)
	if err != nil {
		b.Fatal(err)
	}
	url := base + apiPrefix + "metrics/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+entries[0].Token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("metrics = %d", resp.StatusCode)
		}
		return err
	}
	if err := get(); err != nil { // fills the cache
		b.Fatal(err)
	}

	const clients = 16
	var next sync.Mutex
	remaining := b.N
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				if remaining == 0 {
					next.Unlock()
					return
				}
				remaining--
				next.Unlock()
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
