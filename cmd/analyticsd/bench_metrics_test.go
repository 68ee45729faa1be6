package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
)

// benchServer starts analyticsd -demo with extra args for the length of
// the benchmark and returns the cached metrics URL and an admin token.
func benchServer(b *testing.B, extra ...string) (url, token string) {
	b.Helper()
	dir := b.TempDir()
	db := filepath.Join(dir, "analytics.db")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan int, 1)
	// No per-user rate limit unless extra sets one: the benchmark sends more
	// requests per token than an hour's budget.
	args := append([]string{"-demo", "-addr", "127.0.0.1:0", "-database", db, "-log-level", "error", "-rate-limit", "0",
		"-spool-dir", filepath.Join(dir, "spool")}, extra...)
	go func() { done <- run(ctx, args, envOf(nil), out, io.Discard) }()
	b.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			b.Errorf("server exit status %d", code)
		}
	})
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
	return base + apiPrefix + "metrics/", entries[0].Token
}

// load sends n GETs of url with 16 concurrent keep-alive clients and
// returns the requests per second.
func load(b *testing.B, client *http.Client, url, token string, n int) float64 {
	b.Helper()
	const clients = 16
	var remaining atomic.Int64
	remaining.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for remaining.Add(-1) >= 0 {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("metrics = %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkServerMetricsCost measures what the Prometheus metrics cost the
// cached metrics route through the whole reference server over loopback:
// two servers on the demo data, one with the metrics (the default) and one
// with -metrics=false, loaded in alternating rounds so that both see the
// same machine. b.N requests go to each server, in 20 rounds. It reports
// the throughput of each and the change with the metrics on.
//
//	go test -run '^$' -bench ServerMetricsCost -benchtime 200000x ./cmd/analyticsd
func BenchmarkServerMetricsCost(b *testing.B) {
	onURL, onTok := benchServer(b)
	offURL, offTok := benchServer(b, "-metrics=false")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	load(b, client, onURL, onTok, 2000) // fill the caches and the connection pool
	load(b, client, offURL, offTok, 2000)
	const rounds = 20
	per := max(b.N/rounds, 1)
	var on, off time.Duration
	b.ResetTimer()
	for i := range rounds {
		measure := func(url, tok string, total *time.Duration) {
			start := time.Now()
			load(b, client, url, tok, per)
			*total += time.Since(start)
		}
		if i%2 == 0 {
			measure(onURL, onTok, &on)
			measure(offURL, offTok, &off)
		} else {
			measure(offURL, offTok, &off)
			measure(onURL, onTok, &on)
		}
	}
	b.StopTimer()
	onRate := float64(per*rounds) / on.Seconds()
	offRate := float64(per*rounds) / off.Seconds()
	b.ReportMetric(onRate, "req/s-metrics-on")
	b.ReportMetric(offRate, "req/s-metrics-off")
	b.ReportMetric(100*(onRate-offRate)/offRate, "change-%")
}
