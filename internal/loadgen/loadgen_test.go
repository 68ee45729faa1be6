package loadgen_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
)

// countingServer answers with the status named by the request body (200
// without a body) and records every body it saw and every connection.
type countingServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string]int
	conns  atomic.Int64
	hits   atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{bodies: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer secret" {
			http.Error(w, "bad authorization "+got, http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		status := http.StatusOK
		if len(b) > 0 {
			i, err := strconv.Atoi(string(b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.mu.Lock()
			s.bodies[string(b)]++
			s.mu.Unlock()
			status = []int{http.StatusOK, http.StatusAccepted, http.StatusNotFound}[i%3]
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "hello")
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestRunSendsExactlyRequests(t *testing.T) {
	for _, tc := range []struct {
		name        string
		requests    int
		concurrency int
	}{
		{"many", 3000, 8},
		{"fewer than workers", 3, 16},
		{"one", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newCountingServer(t)
			var callbacks atomic.Int64
			res, err := loadgen.Run(context.Background(), loadgen.Config{
				URL:         srv.URL + "/x",
				Method:      http.MethodPost,
				Header:      http.Header{"Authorization": {"Bearer secret"}},
				Body:        func(i int) []byte { return []byte(strconv.Itoa(i)) },
				Concurrency: tc.concurrency,
				Requests:    tc.requests,
				ResultFunc:  func(int, int, error) { callbacks.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[int]int64{}
			wantBodies := map[string]int{}
			for i := range tc.requests {
				want[[]int{200, 202, 404}[i%3]]++
				wantBodies[strconv.Itoa(i)] = 1
			}
			if diff := cmp.Diff(want, res.Statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantBodies, srv.bodies); diff != "" {
				t.Errorf("bodies seen by the server (-want +got):\n%s", diff)
			}
			if res.Requests != int64(tc.requests) || res.Errors != 0 || srv.hits.Load() != int64(tc.requests) {
				t.Errorf("requests = %d, errors = %d, server hits = %d; want %d, 0, %d",
					res.Requests, res.Errors, srv.hits.Load(), tc.requests, tc.requests)
			}
			if got := callbacks.Load(); got != int64(tc.requests) {
				t.Errorf("ResultFunc called %d times, want %d", got, tc.requests)
			}
			if res.Bytes != int64(5*tc.requests) {
				t.Errorf("bytes = %d, want %d", res.Bytes, 5*tc.requests)
			}
			// A worker may dial before the transport has put its previous
			// connection back in the idle pool, hence some slack.
			if conns := srv.conns.Load(); conns > 2*int64(min(tc.concurrency, tc.requests)) {
				t.Errorf("%d connections for %d workers: keep-alive connections were not reused", conns, tc.concurrency)
			}
			if res.Rate <= 0 || res.Elapsed <= 0 {
				t.Errorf("rate %v over %v, want positive", res.Rate, res.Elapsed)
			}
			l := res.Latency
			if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
				t.Errorf("latency percentiles out of order: %+v", l)
			}
		})
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := newCountingServer(t)
	const d = 300 * time.Millisecond
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL:         srv.URL,
		Header:      http.Header{"Authorization": {"Bearer secret"}},
		Concurrency: 4,
		Duration:    d,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Elapsed < d || res.Elapsed > d+5*time.Second {
		t.Errorf("elapsed %v, want %v and a little more", res.Elapsed, d)
	}
	if res.Requests == 0 || res.Status(http.StatusOK) != res.Requests {
		t.Errorf("requests %d, 200s %d: want every request answered 200", res.Requests, res.Status(http.StatusOK))
	}
	// Every request sent was completed and counted before Run returned.
	if hits := srv.hits.Load(); hits != res.Requests {
		t.Errorf("server saw %d requests, Run counted %d", hits, res.Requests)
	}
}

// roundTripFunc is an in-memory transport for tests on fake time.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRunStopsAtDurationOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(10 * time.Millisecond)
			return &http.Response{StatusCode: http.StatusNoContent, Body: io.NopCloser(strings.NewReader("ab")), Request: r}, nil
		})}
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: "http://127.0.0.1:1/", Concurrency: 4, Duration: time.Second, Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Each worker starts a request at 0, 10, …, 990 ms.
		want := loadgen.Result{
			Requests: 400, Statuses: map[int]int64{204: 400}, ErrorKinds: map[string]int64{}, Bytes: 800,
			Elapsed: time.Second, Rate: 400,
			Latency: loadgen.Latency{Mean: 10 * time.Millisecond, P50: 10 * time.Millisecond,
				P90: 10 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
}

func TestRunStopsAtTheFirstLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(time.Millisecond)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})}
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: "http://localhost:8080/", Concurrency: 2, Requests: 50, Duration: time.Hour, Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 50 || res.Elapsed != 25*time.Millisecond {
			t.Errorf("%d requests in %v, want 50 in 25ms", res.Requests, res.Elapsed)
		}
	})
}

func TestRunKeepsToRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent []time.Duration // send times since the start
		var mu sync.Mutex
		start := time.Now()
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			sent = append(sent, time.Since(start))
			mu.Unlock()
			time.Sleep(time.Millisecond)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})}
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: "http://127.0.0.1:1/", Concurrency: 4, Duration: time.Second, Rate: 100, Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Requests are due every 10 ms: 0, 10, …, 990 ms.
		if res.Requests != 100 || res.Elapsed != 991*time.Millisecond {
			t.Errorf("%d requests in %v, want 100 in 991ms", res.Requests, res.Elapsed)
		}
		if res.Latency.Mean != time.Millisecond || res.Latency.Max != time.Millisecond {
			t.Errorf("latency %+v, want 1ms throughout", res.Latency)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, at := range sent {
			if want := time.Duration(i) * 10 * time.Millisecond; at != want {
				t.Fatalf("request %d sent at %v, want %v", i, at, want)
			}
		}
	})
}

func TestRunChargesLateRequestsFromTheirDueTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(20 * time.Millisecond)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})}
		// One worker, due every 10 ms, each request taking 20 ms: request k
		// is due at 10k ms, sent at 20k ms and answered at 20k+20 ms.
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: "http://127.0.0.1:1/", Concurrency: 1, Requests: 5, Rate: 100, Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := []time.Duration{res.Elapsed, res.Latency.Mean, res.Latency.Max}
		want := []time.Duration{100 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("elapsed, mean and max latency (-want +got):\n%s", diff)
		}
	})
}

func TestRunWithRateStopsAtDurationWhenBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(30 * time.Millisecond)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})}
		// Due every 10 ms, each taking 30 ms: sent at 0, 30, 60 and 90 ms;
		// the fifth (due at 40 ms) would start at 120 ms, past the end.
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: "http://127.0.0.1:1/", Concurrency: 1, Duration: 100 * time.Millisecond, Rate: 100, Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := []time.Duration{time.Duration(res.Requests), res.Elapsed, res.Latency.Mean, res.Latency.Max}
		want := []time.Duration{4, 120 * time.Millisecond, 60 * time.Millisecond, 90 * time.Millisecond}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("requests, elapsed, mean and max latency (-want +got):\n%s", diff)
		}
	})
}

func TestRunRefusesTargetsOffThisMachine(t *testing.T) {
	for _, url := range []string{
		"http://example.com/",
		"http://10.0.0.1:8080/api/",
		"http://192.168.1.20/",
		"https://[2001:db8::1]:443/",
		"http://0.0.0.0:8080/",
		"http://localhost.example.com/",
		"http://127.0.0.1.nip.io/",
		"http:///no-host",
	} {
		t.Run(url, func(t *testing.T) {
			var sent atomic.Int64
			client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent.Add(1)
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
			})}
			res, err := loadgen.Run(context.Background(), loadgen.Config{URL: url, Requests: 10, Client: client})
			if !errors.Is(err, loadgen.ErrNotLoopback) || !errors.Is(err, loadgen.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrNotLoopback and ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %q does not say why", err)
			}
			if sent.Load() != 0 || res.Requests != 0 {
				t.Errorf("%d requests sent, want none", sent.Load())
			}
		})
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadgen.Config
		want string
	}{
		{"no URL", loadgen.Config{}, "URL is required"},
		{"scheme", loadgen.Config{URL: "ftp://127.0.0.1/"}, "URL scheme"},
		{"concurrency", loadgen.Config{URL: "http://127.0.0.1/", Concurrency: -1}, "Concurrency"},
		{"too many workers", loadgen.Config{URL: "http://127.0.0.1/", Concurrency: loadgen.MaxConcurrency + 1}, "Concurrency"},
		{"requests", loadgen.Config{URL: "http://127.0.0.1/", Requests: -5}, "Requests"},
		{"duration", loadgen.Config{URL: "http://127.0.0.1/", Duration: -time.Second}, "Duration"},
		{"rate", loadgen.Config{URL: "http://127.0.0.1/", Rate: -1}, "Rate"},
		{"method", loadgen.Config{URL: "http://127.0.0.1/", Method: "NOT A METHOD", Requests: 1}, "method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadgen.Run(context.Background(), tc.cfg)
			if !errors.Is(err, loadgen.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRunCountsConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: "http://" + addr + "/", Requests: 20, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"connection refused": 20}, res.ErrorKinds); diff != "" {
		t.Errorf("error kinds (-want +got):\n%s", diff)
	}
	if res.Requests != 20 || res.Errors != 20 || len(res.Statuses) != 0 || len(res.ErrorSamples) == 0 {
		t.Errorf("requests %d, errors %d, statuses %v, samples %q", res.Requests, res.Errors, res.Statuses, res.ErrorSamples)
	}
	if !strings.Contains(res.String(), "connection refused×20") {
		t.Errorf("report does not show the errors:\n%s", res.String())
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	srv := newCountingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int64
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL:         srv.URL,
		Header:      http.Header{"Authorization": {"Bearer secret"}},
		Concurrency: 4,
		Duration:    time.Minute,
		ResultFunc: func(int, int, error) {
			if done.Add(1) == 100 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if res.Requests < 100 || res.Errors != 0 || res.Status(http.StatusOK) != res.Requests {
		t.Errorf("requests %d, errors %d, 200s %d: want at least 100 answered 200 and no errors",
			res.Requests, res.Errors, res.Status(http.StatusOK))
	}
	if res.Elapsed > 30*time.Second {
		t.Errorf("Run took %v after cancellation", res.Elapsed)
	}
}

func TestResultString(t *testing.T) {
	r := loadgen.Result{Requests: 3, Statuses: map[int]int64{202: 2, 503: 1}, Elapsed: 1500 * time.Millisecond, Rate: 2,
		Latency: loadgen.Latency{P50: 1234567, P99: 3 * time.Millisecond, Max: 120 * time.Millisecond}}
	got := r.String()
	for _, want := range []string{"requests  3 in 1.5s, 2 req/s", "202×2 503×1", "p50 1.235ms", "p99 3ms", "max 120ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
