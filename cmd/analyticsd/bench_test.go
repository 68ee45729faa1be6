package main

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkServerCachedMetrics measures the cached metrics route through
// the whole reference server (bearer authentication, request log, API
// handler) over loopback HTTP with keep-alive connections, on the demo
// data. It reports requests per second across all client goroutines.
//
//	go test -run '^$' -bench ServerCachedMetrics -benchtime 20000x ./cmd/analyticsd
func BenchmarkServerCachedMetrics(b *testing.B) {
	// A budget far above b.N keeps the rate limiter in the path without
	// refusing requests.
	url, token := benchServer(b, "-rate-limit", "1000000000")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
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
